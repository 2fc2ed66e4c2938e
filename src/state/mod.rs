//! The cron checkpoint: objects read per account/region prefix, and findings already alerted.
//!
//! Per prefix the state keeps the newest delivery time (from CloudTrail's file names) of the
//! objects read successfully. A later run reads every object delivered after that time minus
//! the look-back, so files delivered late are still picked up and alarms over short windows
//! see all of their events; what was already alerted is recognised by its fingerprint and not
//! sent again. Objects that could not be read are retried by name. The file is versioned and
//! written atomically (temporary file, fsync, rename); a missing file is the first run, and a
//! file that cannot be understood is an error that leaves it untouched.

mod findings;

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::record::{format_time, parse_time};
use crate::results::ResultSet;
use crate::source::SourceObject;

pub const VERSION: u32 = 1;

/// How long unreadable objects are retried, and alerted fingerprints remembered.
const RETRY_FOR: TimeDelta = TimeDelta::days(7);
const REMEMBER_ALERTS_FOR: TimeDelta = TimeDelta::days(30);

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("state file {0}: cannot read it: {1}")]
    Unreadable(PathBuf, std::io::Error),
    #[error(
        "state file {0} is not a trailscan state file ({1}); it was left unchanged: fix it, or move it away to start afresh"
    )]
    Corrupt(PathBuf, String),
    #[error(
        "state file {0} has version {1}, which this trailscan does not know (it writes version {VERSION}); it was left unchanged"
    )]
    UnknownVersion(PathBuf, u32),
    #[error("state file {0}: cannot write it: {1}")]
    Unwritable(PathBuf, std::io::Error),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Contents {
    version: u32,
    /// Per `<source root>|<account>|<region>`.
    prefixes: BTreeMap<String, Prefix>,
    /// Finding fingerprint -> when it was first alerted (RFC 3339).
    alerted: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Prefix {
    /// The newest delivery time read successfully (RFC 3339).
    newest: Option<String>,
    /// Objects that could not be read -> their delivery time: read again until they can be.
    retry: BTreeMap<String, String>,
}

#[derive(Debug)]
pub struct State {
    path: PathBuf,
    lookback: TimeDelta,
    contents: Contents,
}

impl State {
    /// Loads `path`; a missing file is an empty state (the first run).
    pub fn load(path: &Path, lookback: TimeDelta) -> Result<State, StateError> {
        let contents = match fs::read(path) {
            Ok(bytes) => parse(path, &bytes)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Contents {
                version: VERSION,
                ..Contents::default()
            },
            Err(e) => return Err(StateError::Unreadable(path.to_owned(), e)),
        };
        Ok(State {
            path: path.to_owned(),
            lookback,
            contents,
        })
    }

    /// Whether a run should read `object`: not yet read, within the look-back, or to retry.
    pub fn wants(&self, object: &SourceObject) -> bool {
        let Some((key, delivered)) = tracking(object) else {
            return true;
        };
        let Some(prefix) = self.contents.prefixes.get(&key) else {
            return true;
        };
        if prefix.retry.contains_key(&object.name) {
            return true;
        }
        match prefix.newest.as_deref().and_then(parse_time) {
            Some(newest) => delivered >= newest - self.lookback,
            None => true,
        }
    }

    /// The earliest time a run still needs objects from: where listing can start when no
    /// `--since` is given. `None` before the first run.
    pub fn earliest_needed(&self) -> Option<DateTime<Utc>> {
        self.contents
            .prefixes
            .values()
            .flat_map(|p| {
                let watermark = p
                    .newest
                    .as_deref()
                    .and_then(parse_time)
                    .map(|t| t - self.lookback);
                watermark
                    .into_iter()
                    .chain(p.retry.values().filter_map(|t| parse_time(t)))
            })
            .min()
    }

    pub fn was_alerted(&self, fingerprint: &str) -> bool {
        self.contents.alerted.contains_key(fingerprint)
    }

    pub fn mark_alerted<'f>(
        &mut self,
        fingerprints: impl IntoIterator<Item = &'f String>,
        now: DateTime<Utc>,
    ) {
        for fingerprint in fingerprints {
            self.contents
                .alerted
                .entry(fingerprint.clone())
                .or_insert_with(|| format_time(&now));
        }
    }

    /// Moves each prefix past the objects that were read, and keeps the others for a retry.
    pub fn advance<'o>(
        &mut self,
        read: impl IntoIterator<Item = &'o SourceObject>,
        unread: impl IntoIterator<Item = &'o SourceObject>,
    ) {
        for object in read {
            let Some((key, delivered)) = tracking(object) else {
                continue;
            };
            let prefix = self.contents.prefixes.entry(key).or_default();
            prefix.retry.remove(&object.name);
            let newer = prefix
                .newest
                .as_deref()
                .and_then(parse_time)
                .is_none_or(|newest| delivered > newest);
            if newer {
                prefix.newest = Some(format_time(&delivered));
            }
        }
        for object in unread {
            let Some((key, delivered)) = tracking(object) else {
                continue;
            };
            let prefix = self.contents.prefixes.entry(key).or_default();
            prefix
                .retry
                .insert(object.name.clone(), format_time(&delivered));
        }
    }

    /// The rows the state has not seen yet, and how many it had.
    pub fn only_new(&self, results: Vec<ResultSet>) -> (Vec<ResultSet>, usize) {
        let mut known = 0;
        let fresh = results
            .into_iter()
            .map(|result| {
                let name = &result.meta.name;
                let (rows, seen) = (result.rows)
                    .without(|row| self.was_alerted(&findings::fingerprint(name, &row.identity)));
                known += seen;
                ResultSet { rows, ..result }
            })
            .collect();
        (fresh, known)
    }

    /// The fingerprints of every row of `result`.
    pub fn fingerprints(result: &ResultSet) -> Vec<String> {
        (result.rows.iter())
            .map(|row| findings::fingerprint(&result.meta.name, &row.identity))
            .collect()
    }

    /// Forgets retries and fingerprints too old to matter, then writes the file atomically.
    pub fn save(&mut self, now: DateTime<Utc>) -> Result<(), StateError> {
        for prefix in self.contents.prefixes.values_mut() {
            prefix
                .retry
                .retain(|_, t| parse_time(t).is_some_and(|t| t > now - RETRY_FOR));
        }
        self.contents
            .alerted
            .retain(|_, t| parse_time(t).is_some_and(|t| t > now - REMEMBER_ALERTS_FOR));
        self.contents.version = VERSION;
        let text = serde_json::to_string_pretty(&self.contents).expect("the state serialises");
        write_atomically(&self.path, text.as_bytes())
            .map_err(|e| StateError::Unwritable(self.path.clone(), e))
    }
}

fn parse(path: &Path, bytes: &[u8]) -> Result<Contents, StateError> {
    let corrupt = |reason: String| StateError::Corrupt(path.to_owned(), reason);
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
    match value.get("version").and_then(serde_json::Value::as_u64) {
        Some(v) if v == u64::from(VERSION) => {}
        Some(v) => {
            return Err(StateError::UnknownVersion(
                path.to_owned(),
                u32::try_from(v).unwrap_or(u32::MAX),
            ));
        }
        None => return Err(corrupt("no \"version\" field".into())),
    }
    serde_json::from_value(value).map_err(|e| corrupt(e.to_string()))
}

/// The prefix an object is tracked under and its delivery time; `None` for objects outside
/// the key layout, which are read on every run (their findings are still deduplicated).
fn tracking(object: &SourceObject) -> Option<(String, DateTime<Utc>)> {
    let layout = object.layout.as_ref()?;
    let delivered = layout.delivered?;
    let root = &object.name[..object.name.rfind("AWSLogs/")?];
    Some((
        format!(
            "{root}|{}|{}",
            layout.account.as_deref()?,
            layout.region.as_deref()?
        ),
        delivered,
    ))
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = fs::File::create(&temporary)?;
        file.write_all(bytes)?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        fs::rename(&temporary, path)?;
        // The rename itself is durable only once the folder is synced.
        fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::findings::fingerprint;
    use super::*;
    use crate::source::{KeyLayout, Location};

    fn object(name: &str) -> SourceObject {
        SourceObject {
            name: name.into(),
            location: Location::Path(name.into()),
            layout: KeyLayout::parse(name),
            source: 0,
        }
    }

    fn at(text: &str) -> DateTime<Utc> {
        parse_time(text).unwrap()
    }

    const K: &str =
        "b/AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/20/111122223333_CloudTrail_us-east-1_";

    #[test]
    fn read_objects_advance_and_late_ones_within_the_look_back_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let mut state = State::load(&path, TimeDelta::hours(1)).unwrap();
        let first = object(&format!("{K}20261120T1000Z_a.json.gz"));
        assert!(state.wants(&first));
        state.advance([&first], []);
        state.save(at("2026-11-20T10:10:00Z")).unwrap();

        let state = State::load(&path, TimeDelta::hours(1)).unwrap();
        assert!(
            !state.wants(&object(&format!("{K}20261120T0859Z_old.json.gz"))),
            "older than the look-back"
        );
        assert!(
            state.wants(&object(&format!("{K}20261120T0930Z_late.json.gz"))),
            "late, within the look-back"
        );
        assert!(state.wants(&object(&format!("{K}20261120T1005Z_new.json.gz"))));
        assert!(
            state.wants(&object("exports/events.jsonl")),
            "outside the layout: always read"
        );
        assert_eq!(state.earliest_needed(), Some(at("2026-11-20T09:00:00Z")));
    }

    #[test]
    fn unread_objects_are_retried_and_alerts_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let mut state = State::load(&path, TimeDelta::hours(1)).unwrap();
        let broken = object(&format!("{K}20261120T0800Z_broken.json.gz"));
        let good = object(&format!("{K}20261120T1200Z_good.json.gz"));
        state.advance([&good], [&broken]);
        let alerted = fingerprint("root-usage", "event-1");
        state.mark_alerted([&alerted], at("2026-11-20T12:05:00Z"));
        state.save(at("2026-11-20T12:05:00Z")).unwrap();

        let mut state = State::load(&path, TimeDelta::hours(1)).unwrap();
        assert!(
            state.wants(&broken),
            "retried although older than the look-back"
        );
        assert!(state.was_alerted(&alerted));
        assert!(!state.was_alerted(&fingerprint("root-usage", "event-2")));
        assert_eq!(state.earliest_needed(), Some(at("2026-11-20T08:00:00Z")));
        state.advance([&broken], []);
        state.save(at("2026-12-25T00:00:00Z")).unwrap();
        let state = State::load(&path, TimeDelta::hours(1)).unwrap();
        assert!(!state.wants(&broken));
        assert!(!state.was_alerted(&alerted), "forgotten after 30 days");
    }

    #[test]
    fn corrupt_or_unknown_files_are_errors_and_stay_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        for (text, expected) in [
            ("{not json", "is not a trailscan state file"),
            ("{\"prefixes\":{}}", "no \"version\" field"),
            (
                "{\"version\":99,\"prefixes\":{},\"alerted\":{}}",
                "has version 99",
            ),
            (
                "{\"version\":1,\"prefixes\":{},\"alerted\":{},\"extra\":1}",
                "unknown field",
            ),
        ] {
            fs::write(&path, text).unwrap();
            let error = State::load(&path, TimeDelta::hours(1))
                .unwrap_err()
                .to_string();
            assert!(error.contains(expected), "{error}");
            assert_eq!(fs::read_to_string(&path).unwrap(), text);
        }
    }
}
