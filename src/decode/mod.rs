//! Bytes to events: gzip or plain, then the shape found in the content, read keeping only the fields asked for.
//!
//! The surface is `decode` and `Projection` (built from the `Needs` it is given); how a
//! document is inflated, lexed, skipped and triaged stays inside.

mod inflate;
mod lexer;
mod projection;
mod shapes;
mod skip;
mod triage;
mod trie;

pub use projection::Projection;
pub use shapes::{DecodeError, decode};

/// Inflates `raw` when it is gzip (one member or several), and returns the bytes a decode
/// would read: what the benchmark's baseline costs.
pub fn inflated_len(raw: Vec<u8>) -> Result<usize, DecodeError> {
    shapes::with_inflated(raw, |bytes| bytes.len())
}

/// Decompresses a gzip file into a new buffer (the micro-benchmarks' inflate step).
pub fn gunzip(raw: &[u8]) -> Result<Vec<u8>, DecodeError> {
    inflate::gunzip(raw).map_err(DecodeError::Gzip)
}
