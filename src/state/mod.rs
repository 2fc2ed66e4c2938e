//! The cron checkpoint: objects read per account/region prefix, and findings already alerted.
//!
//! Per prefix the state keeps the newest delivery time (from CloudTrail's file names) of the
//! objects read successfully. A later run reads every object delivered after that time minus
//! the look-back, so files delivered late are still picked up and alarms over short windows
//! see all of their events; what was already alerted is recognised by its fingerprint and not
//! sent again. Objects that could not be read are retried by name. The file is versioned and
//! written atomically (temporary file, fsync, rename); a missing file is the first run, and a
//! file that cannot be understood is an error that leaves it untouched. What `--block` added
//! to network ACLs and WAF IP sets is recorded here too (`blocks`), so that it can expire.

mod blocks;
mod findings;

pub use blocks::{BlockRecord, TargetBlocks, stamp};

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::record::{format_time, parse_time};
use crate::results::ResultSet;
use crate::source::{KeyLayout, SourceObject};

/// Version 2 keeps, for each object to retry, when it first failed (version 1 kept its
/// delivery time, and forgot it a week after delivery however recent the failure).
/// Version 3 adds `blocks`; a file without blocks is still written as version 2, so that a
/// trailscan that never blocked can go back to an older release.
pub const VERSION: u32 = 3;
const VERSION_WITHOUT_BLOCKS: u32 = 2;

/// How long unreadable objects are retried, and alerted fingerprints remembered.
const RETRY_FOR: TimeDelta = TimeDelta::days(7);
const REMEMBER_ALERTS_FOR: TimeDelta = TimeDelta::days(30);
/// How far past the run's own clock a delivery time in an object's name is believed: the
/// name is written by whoever can write to the bucket, and a watermark in 2099 would skip
/// every real file after it.
const CLOCK_SKEW: TimeDelta = TimeDelta::minutes(15);
/// How long a second run waits for the first to release the state file.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

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
    #[error(
        "state file {0} is in use by another trailscan run (it holds {1}); let it finish, or give this run another --state"
    )]
    Busy(PathBuf, PathBuf),
    #[error("state file {0}: cannot lock {1}: {2}")]
    Unlockable(PathBuf, PathBuf, std::io::Error),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Contents {
    version: u32,
    /// Per `<source root>|<account>|<region>`.
    prefixes: BTreeMap<String, Prefix>,
    /// Finding fingerprint -> when it was first alerted (RFC 3339).
    alerted: BTreeMap<String, String>,
    /// Per blocking target (`nacl:acl-…`, `wafv2:ARN`), what `--block` added there.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    blocks: BTreeMap<String, TargetBlocks>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Prefix {
    /// The newest delivery time read successfully (RFC 3339).
    newest: Option<String>,
    /// Objects that could not be read -> when they first failed: read again until they can
    /// be, for a week.
    retry: BTreeMap<String, String>,
}

#[derive(Debug)]
pub struct State {
    path: PathBuf,
    lookback: TimeDelta,
    /// The run's clock: delivery times past it (and a little skew) are not believed.
    now: DateTime<Utc>,
    contents: Contents,
    /// Held while the run lasts: one run at a time on one state file.
    _lock: fs::File,
}

impl State {
    /// Locks and loads `path`; a missing file is an empty state (the first run).
    pub fn load(path: &Path, lookback: TimeDelta, now: DateTime<Utc>) -> Result<State, StateError> {
        let lock = lock(path)?;
        let contents = match fs::read(path) {
            Ok(bytes) => parse(path, &bytes, now)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Contents {
                version: VERSION,
                ..Contents::default()
            },
            Err(e) => return Err(StateError::Unreadable(path.to_owned(), e)),
        };
        Ok(State {
            path: path.to_owned(),
            lookback,
            now,
            contents,
            _lock: lock,
        })
    }

    /// The newest delivery time of a prefix, as far as the run's clock believes it.
    fn watermark(&self, prefix: &Prefix) -> Option<DateTime<Utc>> {
        let newest = prefix.newest.as_deref().and_then(parse_time)?;
        Some(newest.min(self.now + CLOCK_SKEW))
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
        match self.watermark(prefix) {
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
                let watermark = self.watermark(p).map(|t| t - self.lookback);
                let retries = (p.retry.keys()).filter_map(|name| KeyLayout::parse(name)?.delivered);
                watermark.into_iter().chain(retries)
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

    /// Moves each prefix past the objects that were read (when the listing was `complete`:
    /// an object that was not listed must not be passed), and keeps the others for a
    /// retry. An object named after the run's clock (plus a skew) moves no watermark.
    pub fn advance<'o>(
        &mut self,
        read: impl IntoIterator<Item = &'o SourceObject>,
        unread: impl IntoIterator<Item = &'o SourceObject>,
        complete: bool,
    ) {
        let ceiling = self.now + CLOCK_SKEW;
        for object in read {
            let Some((key, delivered)) = tracking(object) else {
                continue;
            };
            let prefix = self.contents.prefixes.entry(key).or_default();
            prefix.retry.remove(&object.name);
            // A name in the future is not believed: it moves nothing, and the object is
            // read again by later runs until the clock reaches it.
            if delivered > ceiling {
                continue;
            }
            let newer = (prefix.newest.as_deref().and_then(parse_time))
                .is_none_or(|newest| delivered > newest);
            if complete && newer {
                prefix.newest = Some(format_time(&delivered));
            }
        }
        let now = format_time(&self.now);
        for object in unread {
            let Some((key, _)) = tracking(object) else {
                continue;
            };
            let prefix = self.contents.prefixes.entry(key).or_default();
            // The first failure counts: a retry ages from when the object first failed.
            prefix
                .retry
                .entry(object.name.clone())
                .or_insert_with(|| now.clone());
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
    /// Says which objects it gave up retrying.
    pub fn save(&mut self, now: DateTime<Utc>) -> Result<Vec<String>, StateError> {
        let mut given_up = Vec::new();
        for prefix in self.contents.prefixes.values_mut() {
            prefix.retry.retain(|name, t| {
                let keep = parse_time(t).is_some_and(|t| t > now - RETRY_FOR);
                if !keep {
                    given_up.push(name.clone());
                }
                keep
            });
        }
        self.contents
            .alerted
            .retain(|_, t| parse_time(t).is_some_and(|t| t > now - REMEMBER_ALERTS_FOR));
        self.write()?;
        Ok(given_up)
    }

    /// Writes the file atomically, as it is.
    fn write(&mut self) -> Result<(), StateError> {
        self.contents.version = match self.contents.blocks.is_empty() {
            true => VERSION_WITHOUT_BLOCKS,
            false => VERSION,
        };
        let text = serde_json::to_string_pretty(&self.contents).expect("the state serialises");
        write_atomically(&self.path, text.as_bytes())
            .map_err(|e| StateError::Unwritable(self.path.clone(), e))
    }
}

/// Takes the lock of the state file at `path` (`<path>.lock`, released however the run
/// ends), waiting a little for a run that holds it.
fn lock(path: &Path) -> Result<fs::File, StateError> {
    lock_waiting(path, LOCK_WAIT)
}

fn lock_waiting(path: &Path, wait: std::time::Duration) -> Result<fs::File, StateError> {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let lock_path = PathBuf::from(name);
    let unlockable = |e| StateError::Unlockable(path.to_owned(), lock_path.clone(), e);
    let file = (fs::OpenOptions::new())
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(unlockable)?;
    let deadline = std::time::Instant::now() + wait;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            Err(fs::TryLockError::WouldBlock) => {
                return Err(StateError::Busy(path.to_owned(), lock_path));
            }
            Err(fs::TryLockError::Error(e)) => return Err(unlockable(e)),
        }
    }
}

/// `parse`, for the fuzz target.
#[cfg(feature = "fuzzing")]
pub fn parse_bytes(path: &Path, bytes: &[u8], now: DateTime<Utc>) {
    let _ = parse(path, bytes, now);
}

/// Reads a state file of this version or the one before. Entries whose time cannot be
/// read are kept, as if written `now`: a finding forgotten would be alerted again.
fn parse(path: &Path, bytes: &[u8], now: DateTime<Utc>) -> Result<Contents, StateError> {
    let corrupt = |reason: String| StateError::Corrupt(path.to_owned(), reason);
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
    let version = match value.get("version") {
        None => return Err(corrupt("no \"version\" field".into())),
        Some(v) => v.as_u64().ok_or_else(|| {
            corrupt(format!(
                "\"version\" is {v}, not a whole number such as {VERSION}"
            ))
        })?,
    };
    if !(1..=u64::from(VERSION)).contains(&version) {
        return Err(StateError::UnknownVersion(
            path.to_owned(),
            u32::try_from(version).unwrap_or(u32::MAX),
        ));
    }
    let mut contents: Contents =
        serde_json::from_value(value).map_err(|e| corrupt(e.to_string()))?;
    let now_text = format_time(&now);
    let unreadable_times = (contents.alerted.values_mut()).chain(
        contents
            .prefixes
            .values_mut()
            .flat_map(|p| p.retry.values_mut()),
    );
    for time in unreadable_times {
        if parse_time(time).is_none() {
            *time = now_text.clone();
        }
    }
    blocks::repair_times(&mut contents, &now_text);
    if version == 1 {
        // Version 1 kept delivery times: the week of retries starts now.
        for prefix in contents.prefixes.values_mut() {
            prefix
                .retry
                .values_mut()
                .for_each(|t| *t = now_text.clone());
        }
    }
    contents.version = VERSION;
    Ok(contents)
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

    /// The state at `path` as a run at `now` loads it.
    fn load(path: &Path, now: &str) -> State {
        State::load(path, TimeDelta::hours(1), at(now)).unwrap()
    }

    const K: &str =
        "b/AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/20/111122223333_CloudTrail_us-east-1_";

    fn file(stamp: &str) -> SourceObject {
        object(&format!("{K}{stamp}_a.json.gz"))
    }

    #[test]
    fn read_objects_advance_and_late_ones_within_the_look_back_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let mut state = load(&path, "2026-11-20T10:10:00Z");
        let first = file("20261120T1000Z");
        assert!(state.wants(&first));
        state.advance([&first], [], true);
        state.save(at("2026-11-20T10:10:00Z")).unwrap();
        drop(state);

        let state = load(&path, "2026-11-20T10:20:00Z");
        assert!(
            !state.wants(&file("20261120T0859Z")),
            "older than the look-back"
        );
        assert!(
            state.wants(&file("20261120T0930Z")),
            "late, within the look-back"
        );
        assert!(state.wants(&file("20261120T1005Z")));
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
        let mut state = load(&path, "2026-11-20T12:05:00Z");
        let broken = file("20261120T0800Z");
        let good = file("20261120T1200Z");
        state.advance([&good], [&broken], true);
        let alerted = fingerprint("root-usage", "event-1");
        state.mark_alerted([&alerted], at("2026-11-20T12:05:00Z"));
        state.save(at("2026-11-20T12:05:00Z")).unwrap();
        drop(state);

        let mut state = load(&path, "2026-11-20T13:00:00Z");
        assert!(
            state.wants(&broken),
            "retried although older than the look-back"
        );
        assert!(state.was_alerted(&alerted));
        assert!(!state.was_alerted(&fingerprint("root-usage", "event-2")));
        assert_eq!(state.earliest_needed(), Some(at("2026-11-20T08:00:00Z")));
        state.advance([&broken], [], true);
        state.save(at("2026-12-25T00:00:00Z")).unwrap();
        drop(state);
        let state = load(&path, "2026-12-25T00:00:00Z");
        assert!(!state.wants(&broken));
        assert!(!state.was_alerted(&alerted), "forgotten after 30 days");
    }

    #[test]
    fn regression_a_future_dated_object_does_not_poison_the_state() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let mut state = load(&path, "2026-11-20T12:00:00Z");
        let planted = object(&format!("{K}20991231T2359Z_planted.json.gz"));
        state.advance([&file("20261120T1155Z"), &planted], [], true);
        state.save(at("2026-11-20T12:00:00Z")).unwrap();
        drop(state);
        let state = load(&path, "2026-11-20T13:00:00Z");
        assert!(
            state.wants(&file("20261120T1255Z")),
            "a real file after the planted one is read"
        );
        assert!(
            state.wants(&file("20261120T1156Z")),
            "the planted name moved nothing: the watermark is the real file's"
        );
        assert!(
            state.wants(&planted),
            "read again until the clock reaches it"
        );
        // A state poisoned before this fix is not trusted past the run's clock either.
        drop(state);
        let poisoned = fs::read_to_string(&path)
            .unwrap()
            .replace("2026-11-20T11:55:00Z", "2099-12-31T23:59:00Z");
        assert!(poisoned.contains("2099"), "{poisoned}");
        fs::write(&path, poisoned).unwrap();
        let state = load(&path, "2026-11-20T13:00:00Z");
        assert!(state.wants(&file("20261120T1255Z")));
    }

    #[test]
    fn regression_objects_that_fail_long_after_delivery_are_still_retried() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        // A backfill: the object was delivered three weeks before the run that fails on it.
        let mut state = load(&path, "2026-12-10T00:00:00Z");
        let broken = file("20261120T0800Z");
        state.advance([&file("20261120T1200Z")], [&broken], true);
        assert_eq!(
            state.save(at("2026-12-10T00:00:00Z")).unwrap(),
            Vec::<String>::new()
        );
        drop(state);
        let mut state = load(&path, "2026-12-11T00:00:00Z");
        assert!(
            state.wants(&broken),
            "still to retry the day after it failed"
        );
        assert_eq!(state.earliest_needed(), Some(at("2026-11-20T08:00:00Z")));
        // Failing again does not restart the week; after a week it is given up, and said.
        state.advance([], [&broken], true);
        assert_eq!(
            state.save(at("2026-12-18T00:00:00Z")).unwrap(),
            std::slice::from_ref(&broken.name)
        );
    }

    #[test]
    fn regression_an_incomplete_listing_moves_no_watermark() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let mut state = load(&path, "2026-11-20T12:00:00Z");
        state.advance([&file("20261120T1155Z")], [], false);
        state.save(at("2026-11-20T12:00:00Z")).unwrap();
        drop(state);
        let state = load(&path, "2026-11-20T12:10:00Z");
        assert!(
            state.wants(&file("20261120T0500Z")),
            "an object in a folder that could not be listed is read next time"
        );
    }

    #[test]
    fn regression_two_runs_on_one_state_file_do_not_both_run() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let first = load(&path, "2026-11-20T12:00:00Z");
        let second = lock_waiting(&path, std::time::Duration::ZERO).unwrap_err();
        assert!(
            second
                .to_string()
                .contains("is in use by another trailscan run"),
            "{second}"
        );
        drop(first);
        assert!(lock_waiting(&path, std::time::Duration::ZERO).is_ok());
    }

    #[test]
    fn corrupt_or_unknown_files_are_errors_and_stay_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        for (text, expected) in [
            ("{not json", "is not a trailscan state file"),
            ("{\"prefixes\":{}}", "no \"version\" field"),
            (
                "{\"version\":\"1\"}",
                "\"version\" is \"1\", not a whole number",
            ),
            (
                "{\"version\":1.0}",
                "\"version\" is 1.0, not a whole number",
            ),
            (
                "{\"version\":99,\"prefixes\":{},\"alerted\":{}}",
                "has version 99",
            ),
            (
                "{\"version\":2,\"prefixes\":{},\"alerted\":{},\"extra\":1}",
                "unknown field",
            ),
        ] {
            fs::write(&path, text).unwrap();
            let error = State::load(&path, TimeDelta::hours(1), at("2026-11-20T00:00:00Z"))
                .unwrap_err()
                .to_string();
            assert!(error.contains(expected), "{error}");
            assert_eq!(fs::read_to_string(&path).unwrap(), text);
        }
    }

    #[test]
    fn regression_unreadable_alert_times_are_kept_not_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let alerted = fingerprint("root-usage", "e");
        let text = format!(
            "{{\"version\":1,\"prefixes\":{{}},\"alerted\":{{\"{alerted}\":\"yesterday\"}}}}"
        );
        fs::write(&path, text).unwrap();
        let mut state = load(&path, "2026-11-20T00:00:00Z");
        assert!(state.was_alerted(&alerted));
        state.save(at("2026-11-20T00:00:00Z")).unwrap();
        drop(state);
        assert!(load(&path, "2026-11-21T00:00:00Z").was_alerted(&alerted));
    }
}
