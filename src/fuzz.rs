//! What the fuzz targets (`fuzz/`) reach: the decoder, the SQL and Sigma compilers, and the state reader.

use std::io::Read;
use std::path::Path;
use std::sync::OnceLock;

use chrono::{TimeZone, Utc};

use crate::bench::Queries;
use crate::decode::{self, Projection};

/// Decodes `bytes` whole (as a scan does, every query evaluated on every event), then again
/// streamed `step` bytes at a time; a document both read without a problem must give the
/// same events both ways.
pub fn decode(bytes: &[u8], step: usize) {
    static QUERIES: OnceLock<Queries> = OnceLock::new();
    let queries = QUERIES.get_or_init(|| Queries::builtin(None));
    let mut whole = Vec::new();
    let read = decode::decode(bytes.to_vec(), &Projection::everything(), 1 << 24, |r| {
        whole.push(r.to_json());
    });
    queries.evaluate(bytes.to_vec());
    let mut streamed = Vec::new();
    let trickle = Trickle {
        text: bytes,
        step: step.max(1),
    };
    let stream = decode::decode_stream(trickle, &Projection::everything(), 1 << 24, &mut |r| {
        streamed.push(r.to_json());
    });
    if let (Ok(a), Ok(b)) = (&read, &stream)
        && a.problems.is_empty()
        && b.problems.is_empty()
    {
        assert_eq!(whole, streamed, "whole and streamed reads differ");
    }
}

/// Compiles `sql` as a query file's body and as a whole query file.
pub fn compile(sql: &str) {
    let _ = crate::lang::sql::compile(sql);
    let origin = crate::meta::Origin::File("fuzz.sql".into());
    let _ = (crate::lang::sql::parse_file)(origin, sql);
}

/// Loads `text` as a Sigma rule file, through the rule language registered for `.yml`.
pub fn sigma(text: &str) {
    let path = Path::new("fuzz.yml");
    if let Some(language) = crate::lang::of(path) {
        let _ = (language.parse)(crate::meta::Origin::File(path.to_owned()), text);
    }
}

/// Reads `bytes` as a state file.
pub fn state(bytes: &[u8]) {
    let now = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
    let _ = crate::state::parse_bytes(Path::new("fuzz-state.json"), bytes, now);
}

/// Hands out `step` bytes at a time, to cut a document anywhere.
struct Trickle<'a> {
    text: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(out.len()).min(self.text.len());
        out[..n].copy_from_slice(&self.text[..n]);
        self.text = &self.text[n..];
        Ok(n)
    }
}
