//! What `--block` added to each blocking target, and what it still has to add: the records that make blocks reversible.

use std::collections::BTreeMap;

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};

use super::{Contents, State, StateError};
use crate::record::{format_time, parse_time};

/// Per network (`203.0.113.5/32`), what trailscan did in one target (`nacl:acl-…`, `wafv2:ARN`).
pub type TargetBlocks = BTreeMap<String, BlockRecord>;

/// One network trailscan blocked, or means to block, in one target. Only networks with a
/// record are ever removed: entries that trailscan did not add are never touched.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockRecord {
    /// When trailscan added the entry (RFC 3339); absent while the addition is still to be
    /// made (the target could not be reached: the next run tries again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added: Option<String>,
    /// When the block ends and the entry is removed (RFC 3339); absent: it stays until
    /// removed by hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// The network ACL rule number the entry holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<i32>,
    /// Why: the reasons of the finding that flagged the address.
    #[serde(default)]
    pub reasons: String,
    /// When a run first flagged it for blocking (RFC 3339).
    pub flagged: String,
}

impl BlockRecord {
    /// When it expires, as a time.
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.expires.as_deref().and_then(parse_time)
    }
}

impl State {
    /// The records of `target`: what trailscan added there, and what it still has to add.
    pub fn blocks(&self, target: &str) -> TargetBlocks {
        self.contents
            .blocks
            .get(target)
            .cloned()
            .unwrap_or_default()
    }

    /// Replaces the records of `target` (none: the target is forgotten).
    pub fn set_blocks(&mut self, target: &str, blocks: TargetBlocks) {
        if blocks.is_empty() {
            self.contents.blocks.remove(target);
        } else {
            self.contents.blocks.insert(target.to_owned(), blocks);
        }
    }

    /// Writes the file as it is now, forgetting nothing: right after a target changed, so
    /// that a run that dies later still knows what it added.
    pub fn checkpoint(&mut self) -> Result<(), StateError> {
        self.write()
    }
}

/// Times that cannot be read become `now`: an entry whose expiry is unreadable is removed by
/// the next run with its target (a block lifted early can be made again; one never lifted
/// is the mistake `--block-for` is there to prevent).
pub(super) fn repair_times(contents: &mut Contents, now: &str) {
    for record in contents.blocks.values_mut().flat_map(|t| t.values_mut()) {
        let times = [&mut record.added, &mut record.expires]
            .into_iter()
            .flatten()
            .chain([&mut record.flagged]);
        for time in times {
            if parse_time(time).is_none() {
                *time = now.to_owned();
            }
        }
    }
}

/// `time` as the state writes it, to the second: a block's times are read by people.
pub fn stamp(time: &DateTime<Utc>) -> String {
    format_time(&time.trunc_subsecs(0))
}

#[cfg(test)]
mod tests {
    use std::fs;

    use chrono::TimeDelta;

    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        parse_time(text).unwrap()
    }

    #[test]
    fn blocks_are_kept_across_runs_and_old_files_still_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        fs::write(&path, "{\"version\":2,\"prefixes\":{},\"alerted\":{}}").unwrap();
        let now = at("2026-11-20T12:00:00Z");
        let mut state = State::load(&path, TimeDelta::hours(1), now).unwrap();
        assert!(state.blocks("nacl:acl-1").is_empty());
        let record = BlockRecord {
            added: Some(stamp(&now)),
            expires: Some("2026-11-21T12:00:00Z".into()),
            rule: Some(100),
            reasons: "failed sign-ins".into(),
            flagged: stamp(&now),
        };
        state.set_blocks(
            "nacl:acl-1",
            TargetBlocks::from([("203.0.113.5/32".into(), record.clone())]),
        );
        state.save(now).unwrap();
        drop(state);
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"version\": 3"), "{text}");
        let mut state = State::load(&path, TimeDelta::hours(1), now).unwrap();
        assert_eq!(state.blocks("nacl:acl-1")["203.0.113.5/32"], record);
        assert_eq!(record.expires_at(), Some(at("2026-11-21T12:00:00Z")));
        // Without blocks the file stays a version 2 file, which older trailscans read.
        state.set_blocks("nacl:acl-1", TargetBlocks::new());
        state.save(now).unwrap();
        drop(state);
        let text = fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("\"version\": 2") && !text.contains("blocks"),
            "{text}"
        );
    }

    #[test]
    fn unreadable_block_times_become_now_and_bad_records_are_errors_not_panics() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let text = "{\"version\":3,\"prefixes\":{},\"alerted\":{},\"blocks\":{\"t\":{\"x\":\
                    {\"added\":\"soon\",\"expires\":\"later\",\"flagged\":\"\"}}}}";
        fs::write(&path, text).unwrap();
        let now = at("2026-11-20T12:00:00Z");
        let state = State::load(&path, TimeDelta::hours(1), now).unwrap();
        let record = &state.blocks("t")["x"];
        assert_eq!(record.expires_at(), Some(now));
        assert_eq!(record.added.as_deref(), Some("2026-11-20T12:00:00Z"));
        drop(state);
        for bad in [
            "{\"version\":3,\"prefixes\":{},\"alerted\":{},\"blocks\":{\"t\":{\"x\":{\"rule\":1e40,\"flagged\":\"\"}}}}",
            "{\"version\":3,\"prefixes\":{},\"alerted\":{},\"blocks\":{\"t\":[]}}",
            "{\"version\":3,\"prefixes\":{},\"alerted\":{},\"blocks\":{\"t\":{\"x\":{}}}}",
        ] {
            fs::write(&path, bad).unwrap();
            let error = State::load(&path, TimeDelta::hours(1), now).unwrap_err();
            assert!(
                error.to_string().contains("is not a trailscan state file"),
                "{error}"
            );
        }
    }
}
