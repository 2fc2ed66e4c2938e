//! Bytes to events: gzip or plain, then the shape found in the content, read keeping only the fields asked for.
//!
//! The surface is `decode` and `Projection` (built from the `Needs` it is given); how a
//! document is inflated, lexed, skipped and triaged stays inside.

mod inflate;
mod lexer;
mod projection;
mod shapes;
mod skip;
mod stream;
mod triage;
mod trie;

pub use projection::Projection;
pub use shapes::{DecodeError, decode};
#[cfg(feature = "fuzzing")]
pub use stream::decode_stream;

/// Inflates `raw` when it is gzip (one member or several), and returns the bytes a decode
/// would read: what the benchmark's baseline costs.
pub fn inflated_len(raw: Vec<u8>) -> Result<usize, DecodeError> {
    shapes::with_inflated(raw, |bytes| bytes.len())
}

/// Decompresses a gzip file into a new buffer (the micro-benchmarks' inflate step).
pub fn gunzip(raw: &[u8]) -> Result<Vec<u8>, DecodeError> {
    inflate::gunzip(raw).map_err(DecodeError::Gzip)
}

/// Hands `each` the bytes a decode reads from `raw`, in order: inflated (every member) when
/// it is gzip, as they are otherwise. `verify` hashes exactly these, as CloudTrail's digests
/// hash the uncompressed log file. As the decode does, a usual delivery file is inflated
/// whole with libdeflate into a buffer kept for the thread's next file, anything else a
/// chunk at a time; past `limit` bytes it stops with `OverLimit`.
pub fn each_content_chunk(
    raw: &[u8],
    limit: u64,
    mut each: impl FnMut(&[u8]),
) -> Result<(), DecodeError> {
    use std::io::Read;
    if !inflate::is_gzip(raw) {
        if raw.len() as u64 > limit {
            return Err(DecodeError::OverLimit(limit));
        }
        each(raw);
        return Ok(());
    }
    thread_local! {
        static BUFFER: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
    }
    const WHOLE_UP_TO: usize = 64 << 20;
    let whole = WHOLE_UP_TO.min(usize::try_from(limit).unwrap_or(usize::MAX));
    let mut buffer = BUFFER.take();
    if let Some(size) = inflate::gunzip_small(raw, &mut buffer, whole) {
        each(&buffer[..size]);
        if buffer.capacity() <= WHOLE_UP_TO {
            BUFFER.set(buffer);
        }
        return Ok(());
    }
    BUFFER.set(buffer);
    let mut members = inflate::Members::new(raw);
    let mut chunk = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = members
            .read(&mut chunk)
            .map_err(|e| DecodeError::Gzip(e.to_string()))?;
        if n == 0 {
            return Ok(());
        }
        total += n as u64;
        if total > limit {
            return Err(DecodeError::OverLimit(limit));
        }
        each(&chunk[..n]);
    }
}
