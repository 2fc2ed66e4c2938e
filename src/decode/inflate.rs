//! Gunzip: libdeflate for the usual single-member file, flate2 for everything else.
//!
//! libdeflate decompresses a whole buffer at once, about a third faster than streaming
//! zlib here, but needs the output size (taken from the gzip trailer) and handles one member
//! only. Anything it does not decode completely (several members, a file over 4 GiB whose
//! trailer wrapped around, corrupt data, zero padding after the last member) goes through
//! flate2, member by member, which also words the error.

use std::io::Read;
use std::ptr::NonNull;

use flate2::bufread::GzDecoder;
use libdeflate_sys::{
    libdeflate_alloc_decompressor, libdeflate_decompressor, libdeflate_free_decompressor,
    libdeflate_gzip_decompress_ex, libdeflate_result_LIBDEFLATE_SUCCESS,
};

/// A trailer may claim any size: believe it only up to this multiple of the compressed size.
const MAX_RATIO: usize = 64;

pub fn is_gzip(raw: &[u8]) -> bool {
    raw.starts_with(&[0x1f, 0x8b])
}

/// Decompresses a gzip file (one member or several) into `out`, whose allocation is reused
/// from call to call, and returns the decompressed bytes (`out` may be longer); `Err`
/// carries flate2's reason.
pub fn gunzip_into<'o>(raw: &[u8], out: &'o mut Vec<u8>) -> Result<&'o mut [u8], String> {
    if let Some(size) = single_member(raw, out) {
        return Ok(&mut out[..size]);
    }
    out.clear();
    out.reserve(trailer_size(raw).min(raw.len().saturating_mul(MAX_RATIO)));
    Members::new(raw)
        .read_to_end(out)
        .map_err(|e| e.to_string())?;
    Ok(out.as_mut_slice())
}

/// Decompresses `raw` into the start of `out` when it is one gzip member whose trailer says
/// it inflates to at most `most` bytes, and returns that size; `None` otherwise.
pub fn gunzip_small(raw: &[u8], out: &mut Vec<u8>, most: usize) -> Option<usize> {
    if trailer_size(raw) > most {
        return None;
    }
    single_member(raw, out)
}

/// The inflated bytes of every gzip member of a file, one after the other, read as they are
/// asked for. Zero bytes after the last member (padding some copy tools add) end the file
/// rather than failing it as a member with a bad header.
pub struct Members<'a> {
    member: Option<GzDecoder<&'a [u8]>>,
}

impl<'a> Members<'a> {
    pub fn new(raw: &'a [u8]) -> Members<'a> {
        Members {
            member: Some(GzDecoder::new(raw)),
        }
    }
}

impl Read for Members<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let Some(member) = &mut self.member else {
                return Ok(0);
            };
            let n = member.read(out)?;
            if n > 0 || out.is_empty() {
                return Ok(n);
            }
            let rest = self.member.take().map(GzDecoder::into_inner);
            match rest {
                Some(rest) if rest.iter().any(|&b| b != 0) => {
                    self.member = Some(GzDecoder::new(rest));
                }
                _ => return Ok(0),
            }
        }
    }
}

/// Decompresses a gzip file into a new buffer.
pub fn gunzip(raw: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let size = gunzip_into(raw, &mut out)?.len();
    out.truncate(size);
    Ok(out)
}

fn trailer_size(raw: &[u8]) -> usize {
    match raw.len().checked_sub(4).map(|at| &raw[at..]) {
        Some(t) => u32::from_le_bytes([t[0], t[1], t[2], t[3]]) as usize,
        None => 0,
    }
}

/// Decodes the whole of `raw` as one gzip member of the size its trailer says into the start
/// of `out` (grown if need be), and returns that size; `None` if it is anything else.
fn single_member(raw: &[u8], out: &mut Vec<u8>) -> Option<usize> {
    let size = trailer_size(raw);
    if size > raw.len().saturating_mul(MAX_RATIO) {
        return None;
    }
    // Grown, never cleared: what lies past `size` is not read.
    if out.len() < size {
        out.resize(size, 0);
    }
    let (mut consumed, mut produced) = (0usize, 0usize);
    let ok = DECOMPRESSOR.with(|d| {
        // SAFETY: the decompressor is this thread's own and valid for its lifetime; the
        // input and output pointers and lengths come from live slices.
        let result = unsafe {
            libdeflate_gzip_decompress_ex(
                d.0.as_ptr(),
                raw.as_ptr().cast(),
                raw.len(),
                out.as_mut_ptr().cast(),
                size,
                &mut consumed,
                &mut produced,
            )
        };
        result == libdeflate_result_LIBDEFLATE_SUCCESS
    });
    // A second member after the first is left unread by libdeflate: only a complete
    // decode of the whole input counts.
    (ok && consumed == raw.len() && produced == size).then_some(size)
}

struct Decompressor(NonNull<libdeflate_decompressor>);

impl Drop for Decompressor {
    fn drop(&mut self) {
        // SAFETY: allocated by libdeflate_alloc_decompressor and freed once, here.
        unsafe { libdeflate_free_decompressor(self.0.as_ptr()) }
    }
}

thread_local! {
    static DECOMPRESSOR: Decompressor = Decompressor(
        // SAFETY: a plain allocation; NULL (out of memory) is turned into a panic like any
        // failed allocation.
        NonNull::new(unsafe { libdeflate_alloc_decompressor() }).expect("memory for a decompressor"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn single_and_multi_member_files_decode_whole() {
        let one = gzip(b"hello world");
        let mut out = b"longer leftovers from an earlier file".to_vec();
        assert_eq!(gunzip_into(&one, &mut out).unwrap(), b"hello world");
        // Two members of the same size: the trailer matches the first member too, so only
        // the consumed-input check keeps the second from being dropped.
        let mut two = gzip(b"first");
        two.extend(gzip(b"again"));
        assert_eq!(single_member(&two, &mut Vec::new()), None);
        assert_eq!(gunzip_into(&two, &mut out).unwrap(), b"firstagain");
        assert_eq!(gunzip(&two).unwrap(), b"firstagain");
    }

    #[test]
    fn corrupt_and_lying_files_are_errors() {
        let mut bad = gzip(b"some text to compress, some text to compress");
        let middle = bad.len() / 2;
        bad[middle] ^= 0xff;
        assert!(gunzip(&bad).is_err());
        let mut liar = gzip(b"x");
        let n = liar.len();
        liar[n - 4..].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            single_member(&liar, &mut Vec::new()),
            None,
            "an absurd trailer is not believed (no 4 GiB buffer)"
        );
        assert!(
            gunzip(&liar).is_err(),
            "and the size check still fails the file"
        );
        assert!(gunzip(&[0x1f, 0x8b, 8]).is_err());
        let mut garbage = gzip(b"x");
        garbage.extend(b"not gzip");
        assert!(
            gunzip(&garbage).is_err(),
            "what follows a member is a member"
        );
    }

    #[test]
    fn regression_gzip_with_trailing_zero_padding_is_read() {
        let mut padded = gzip(b"first");
        padded.extend(gzip(b"again"));
        padded.extend([0u8; 512]);
        assert_eq!(gunzip(&padded).unwrap(), b"firstagain");
        let mut one = gzip(b"alone");
        one.extend([0u8; 3]);
        assert_eq!(gunzip(&one).unwrap(), b"alone");
    }
}
