//! `trailscan verify`: which log files are intact, modified, missing or unaccounted for, offline.
//!
//! The sources are listed as a scan lists them (the same pruning), with their
//! `CloudTrail-Digest/` objects; each account and region is then checked on its own
//! (`partition`): every digest read and its signature checked when its S3 metadata and the
//! public keys are at hand (`digest`, `keys`), the chain of digests followed (`chain`), and
//! every log file hashed against the digest that lists it. `--then-audit` scans the log
//! files that verified, and those only (`audit`).

mod audit;
mod chain;
mod digest;
mod keys;
mod partition;
mod report;

use std::collections::BTreeMap;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use chrono::TimeDelta;

use crate::config::Config;
use crate::exit::Exit;
use crate::job::Job;
use crate::output::sanitize::for_terminal;
use crate::source::{SourceObject, metadata};
use keys::PublicKeys;
use partition::{Context, Input, Outcome};
use report::{Kind, Problem, Report};

/// Verifies the run's sources, checking signatures with the keys of `public_keys` (files of
/// `aws cloudtrail list-public-keys` output), then runs `audit` (`--then-audit`) over the
/// log files that verified.
pub fn run(config: &Config, public_keys: &[PathBuf], audit: Option<&Job>) -> anyhow::Result<Exit> {
    let started = Instant::now();
    let keys = match public_keys.is_empty() {
        true => None,
        false => Some(PublicKeys::load(public_keys)?),
    };
    let sources = config.open_sources();
    let mut filter = config.filter.clone();
    filter.digests = true;
    let mut listing = sources.list(&filter);
    if listing.objects.is_empty() && listing.digests.is_empty() && !listing.errors.is_empty() {
        // Every source failed: the errors say it all.
        for error in &listing.errors {
            say(&error.to_string())?;
        }
        return Ok(Exit::Error);
    }
    for error in &listing.errors {
        say(&error.to_string())?;
    }
    for warning in &listing.warnings {
        say(&format!("warning: {warning}"))?;
    }
    for source in &listing.empty {
        say(&format!(
            "warning: {source}: no objects found: check the path or prefix (and --account, --region)"
        ))?;
    }
    if audit.is_some()
        && config.remote.cache_dir.is_none()
        && config.sources.iter().any(|s| s.starts_with("s3://"))
    {
        say(
            "warning: without --cache-dir, --then-audit downloads every log file twice (once to verify it, once to audit it)",
        )?;
    }

    // Moved, not copied: the listing of a year is most of what verify holds.
    let listed_digests = (listing.digests.iter())
        .filter(|d| !metadata::is_sidecar(&d.name))
        .count() as u64;
    let (partitions, outside) = partitions(
        std::mem::take(&mut listing.objects),
        std::mem::take(&mut listing.digests),
    );
    let context = Context {
        sources: &sources,
        keys: keys.as_ref(),
        window: config.filter.window,
        listed_from: (filter.listing_window().since).map(|since| {
            let day = (since.date_naive())
                .checked_sub_signed(TimeDelta::days(1))
                .unwrap_or(since.date_naive());
            day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
        }),
        max_bytes: config.max_object_bytes,
    };
    let outcomes: Vec<Outcome> = config.in_pool(|| {
        (partitions.into_iter())
            .map(|input| partition::check(&context, input))
            .collect()
    })?;

    let mut report = Report {
        accounts: Vec::new(),
        problems: Vec::new(),
        notes: Vec::new(),
        errors: listing.errors.len(),
        elapsed: started.elapsed(),
        transfer: None,
    };
    if outside > 0 {
        report.problems.push(Problem {
            kind: Kind::NotCovered,
            account: "-".into(),
            region: "-".into(),
            object: format!("{outside} files outside the CloudTrail key layout"),
            time: None,
            detail:
                "no AWSLogs/<account>/CloudTrail/<region>/ in their path: no digest can list them"
                    .into(),
        });
    }
    let mut verified = Vec::new();
    let had_metadata = outcomes.iter().any(|o| o.had_metadata);
    let mut errors = Vec::new();
    for outcome in outcomes {
        report.accounts.push(outcome.counts);
        report.problems.extend(outcome.problems);
        report.notes.extend(outcome.notes);
        errors.extend(outcome.errors);
        verified.extend(outcome.verified);
    }
    if keys.is_none() && had_metadata {
        report.notes.insert(0, "signatures not checked: no --public-keys given (save `aws cloudtrail list-public-keys --start-time … --region REGION` of each region to a file, and pass it)".into());
    }
    errors.sort();
    for (object, reason) in &errors {
        say(&format!("{object}: {reason}"))?;
    }
    report.errors += errors.len();
    report.problems.sort_by(|a, b| a.order().cmp(&b.order()));
    report.elapsed = started.elapsed();
    report.transfer = sources.transfer();

    let verify_exit = if report.errors > 0 {
        Exit::Error
    } else if !report.problems.is_empty() {
        Exit::Findings
    } else {
        Exit::Clean
    };
    match audit {
        Some(job) => {
            let skipped = (listed_digests, listing.pruned);
            let audited = audit::run(config, job, &sources, skipped, verified, &report)?;
            Ok(worse(verify_exit, audited))
        }
        None => {
            let terminal = io::stdout().is_terminal();
            let mut out = BufWriter::new(io::stdout().lock());
            report.print(config.format, &mut out, terminal)?;
            Ok(verify_exit)
        }
    }
}

/// The listing's log files and digests by account and region, and how many objects are
/// outside the key layout.
fn partitions(objects: Vec<SourceObject>, digests: Vec<SourceObject>) -> (Vec<Input>, usize) {
    let mut partitions: BTreeMap<(String, String), Input> = BTreeMap::new();
    let mut outside = 0;
    let mut place = |object: SourceObject, digest: bool| {
        let Some(layout) = &object.layout else {
            outside += usize::from(!digest);
            return;
        };
        let account = layout.account.clone().unwrap_or_else(|| "?".into());
        let region = layout.region.clone().unwrap_or_else(|| "?".into());
        let input = partitions
            .entry((account.clone(), region.clone()))
            .or_insert_with(|| Input {
                account,
                region,
                ..Input::default()
            });
        match digest {
            true => input.digests.push(object),
            false => input.logs.push(object),
        }
    };
    for object in digests {
        place(object, true);
    }
    for object in objects {
        place(object, false);
    }
    (partitions.into_values().collect(), outside)
}

/// The worse of two outcomes: an error, then something found, then clean.
fn worse(a: Exit, b: Exit) -> Exit {
    let rank = |e: Exit| match e {
        Exit::Clean => 0,
        Exit::Findings => 1,
        Exit::Error => 2,
    };
    if rank(a) >= rank(b) { a } else { b }
}

/// One line on stderr, after `trailscan: `, shown inert (names come from the bucket).
fn say(line: &str) -> io::Result<()> {
    writeln!(io::stderr().lock(), "trailscan: {}", for_terminal(line))
}
