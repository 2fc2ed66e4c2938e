//! `--block` and its settings (`--rule-range`, `--max-blocks`, `--block-for`, `--block-private`), checked once, and the blocker they build.

use anyhow::bail;

use super::Config;
use crate::job::Job;
use crate::respond::{BlockSpec, Blocker, DEFAULT_MAX_BLOCKS, TargetSpec, parse_rule_range};
use crate::source::parse_duration;

impl Config {
    /// The blocking settings of a scan, when `--block` (or `block` in the file) names a
    /// target. A file's `block` is for the runs that flag addresses (`suspicious-ips`): the
    /// audit that shares the file leaves it alone; typed with any other command, it is an error.
    pub(super) fn resolve_block(&self, job: &Job) -> anyhow::Result<Option<BlockSpec>> {
        let s = &self.settings;
        if s.block.is_empty() {
            return Ok(None);
        }
        if job.blockable(&[]).is_none() {
            if self.where_in_file("block").is_some() {
                return Ok(None);
            }
            bail!(
                "--block denies the addresses that suspicious-ips flags: use it with `trailscan suspicious-ips`"
            );
        }
        let mut targets: Vec<TargetSpec> = Vec::new();
        for text in &s.block {
            let target = TargetSpec::parse(text).map_err(|e| self.invalid("block", e))?;
            if !targets.contains(&target) {
                targets.push(target);
            }
        }
        let rules = match &s.rule_range {
            Some(text) => Some(parse_rule_range(text).map_err(|e| self.invalid("rule_range", e))?),
            None => None,
        };
        if rules.is_none() && targets.iter().any(|t| matches!(t, TargetSpec::Nacl { .. })) {
            return Err(self.refused(
                "block",
                "nacl:… needs --rule-range FROM-TO (rule_range in the file): rule numbers reserved for trailscan's DENY entries, below the ACL's ALLOW rules (1-99 when rule 100 allows all)",
            ));
        }
        let max_blocks = s.max_blocks.unwrap_or(DEFAULT_MAX_BLOCKS);
        if max_blocks == 0 {
            return Err(self.refused("max_blocks", "must be at least 1"));
        }
        let block_for = match &s.block_for {
            Some(text) => Some(parse_duration(text).ok_or_else(|| {
                self.invalid(
                    "block_for",
                    format!("'{text}' is not a duration such as 24h or 7d"),
                )
            })?),
            None => None,
        };
        if s.state.is_none() && !s.dry_run {
            return Err(self.refused(
                "block",
                "needs --state FILE: the state records what trailscan added, where, when and why, so that it lifts its own blocks, and only those (--dry-run shows the plan without one)",
            ));
        }
        Ok(Some(BlockSpec {
            targets,
            rules,
            max_blocks,
            block_for,
            private: s.block_private,
        }))
    }

    /// The run's blocker, its clients made (nothing is sent yet), when `--block` is given.
    pub fn blocker(&self) -> anyhow::Result<Option<Blocker>> {
        match &self.block {
            Some(spec) => Ok(Some(Blocker::connect(spec.clone(), &self.connection())?)),
            None => Ok(None),
        }
    }
}
