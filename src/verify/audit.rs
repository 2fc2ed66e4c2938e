//! `verify --then-audit`: the audit over the log files that verified, each hashed again as read.
//!
//! Between verify and the audit an object is read twice (or downloaded twice, without
//! `--cache-dir`): the audit's source checks that the bytes it decodes are still the ones
//! that verified, so a file changed in between is an error, never a finding's evidence.

use std::collections::HashMap;
use std::sync::Arc;

use super::digest::{Sha256, content_sha256};
use super::report::Report;
use super::say;
use crate::config::Config;
use crate::exit::Exit;
use crate::job::Job;
use crate::pipeline;
use crate::results::Transfer;
use crate::source::{Fetches, Filter, Found, Listing, ReadError, Source, SourceObject, Sources};

/// Runs `job` over `verified`, after saying on stderr what did not verify; stdout carries
/// the audit's report alone, in its format.
pub fn run(
    config: &Config,
    job: &Job,
    sources: &Sources,
    (skipped_digest, pruned): (u64, u64),
    verified: Vec<(SourceObject, Sha256)>,
    report: &Report,
) -> anyhow::Result<Exit> {
    for problem in &report.problems {
        say(&format!(
            "verify: {}: {}: {}",
            problem.kind.as_str(),
            problem.object,
            problem.detail
        ))?;
    }
    for note in &report.notes {
        say(&format!("verify: note: {note}"))?;
    }
    let examined: u64 = report.accounts.iter().map(|c| c.log_files).sum();
    say(&format!(
        "verify: {} of {examined} log files verified: the audit reads those only",
        verified.len()
    ))?;

    let expected: Arc<HashMap<String, Sha256>> = Arc::new(
        (verified.iter())
            .map(|(object, hash)| (object.name.clone(), *hash))
            .collect(),
    );
    let max_bytes = config.max_object_bytes;
    let checked = sources.wrapped(|inner| {
        Arc::new(Checked {
            inner,
            expected: Arc::clone(&expected),
            max_bytes,
        })
    });
    let mut objects: Vec<SourceObject> = verified.into_iter().map(|(o, _)| o).collect();
    objects.sort_by(|a, b| a.name.cmp(&b.name));
    pipeline::run_over(config, job, &checked, move |_, _| Listing {
        objects,
        skipped_digest,
        pruned,
        ..Listing::default()
    })
}

/// A source whose objects must still hash to what verified.
struct Checked {
    inner: Arc<dyn Source>,
    expected: Arc<HashMap<String, Sha256>>,
    max_bytes: u64,
}

impl Source for Checked {
    fn list(&self, filter: &Filter, found: &mut Found) {
        self.inner.list(filter, found);
    }

    fn read(&self, object: &SourceObject) -> Result<Vec<u8>, ReadError> {
        let bytes = self.inner.read(object)?;
        still(&self.expected, &object.name, bytes, self.max_bytes)
    }

    fn fetch_ahead(&self, objects: &[(usize, &SourceObject)]) -> Option<Fetches> {
        let names: HashMap<usize, String> = (objects.iter())
            .map(|(index, object)| (*index, object.name.clone()))
            .collect();
        let expected = Arc::clone(&self.expected);
        let max_bytes = self.max_bytes;
        let arrivals = self.inner.fetch_ahead(objects)?;
        Some(Box::new(arrivals.map(move |(index, read)| {
            let name = names.get(&index).map(String::as_str).unwrap_or_default();
            let checked = read.and_then(|bytes| still(&expected, name, bytes, max_bytes));
            (index, checked)
        })))
    }

    fn transfer(&self) -> Option<Transfer> {
        self.inner.transfer()
    }
}

/// `bytes` when they hash to what `name` verified with.
fn still(
    expected: &HashMap<String, Sha256>,
    name: &str,
    bytes: Vec<u8>,
    max_bytes: u64,
) -> Result<Vec<u8>, ReadError> {
    let Some(expected) = expected.get(name) else {
        return Err(ReadError::Changed("it was not verified".into()));
    };
    match content_sha256(&bytes, max_bytes) {
        Ok(hash) if hash == *expected => Ok(bytes),
        Ok(hash) => Err(ReadError::Changed(format!(
            "its SHA-256 is now {}",
            hex::encode(hash)
        ))),
        Err(reason) => Err(ReadError::Changed(reason)),
    }
}
