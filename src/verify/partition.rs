//! One account and region: its digests read and chained, its log files checked against them.
//!
//! Each account and region is checked on its own, so memory holds the digests of one at a
//! time (a year of hourly digests is 8,760 of them), never the whole bucket's.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, TimeDelta, Utc};
use rayon::prelude::*;

use super::chain;
use super::digest::{self, Digest, Named, Sha256, Signed, Unusable};
use super::keys::PublicKeys;
use super::report::{Counts, Kind, Problem};
use crate::record::format_time;
use crate::source::{KeyLayout, metadata};
use crate::source::{ReadError, Reading, SourceObject, Sources, TimeWindow, WithMetadata};

/// How late a log file may be delivered after the time in its name, and a digest after
/// the end of its hour.
const SLACK: TimeDelta = TimeDelta::minutes(15);

/// What one account and region holds.
#[derive(Debug, Default)]
pub struct Input {
    pub account: String,
    pub region: String,
    pub digests: Vec<SourceObject>,
    pub logs: Vec<SourceObject>,
}

/// What every account and region is checked with.
pub struct Context<'a> {
    pub sources: &'a Sources,
    pub keys: Option<&'a PublicKeys>,
    /// `--since` and `--until`.
    pub window: TimeWindow,
    /// The earliest a listed object may be (the window's first day, less a day of slack).
    pub listed_from: Option<DateTime<Utc>>,
    pub max_bytes: u64,
}

/// What came of one account and region.
#[derive(Debug, Default)]
pub struct Outcome {
    pub counts: Counts,
    pub problems: Vec<Problem>,
    pub notes: Vec<String>,
    /// Objects that could not be read: `(object, reason)`.
    pub errors: Vec<(String, String)>,
    /// Whether any digest carried metadata to check a signature against.
    pub had_metadata: bool,
    /// The log files that verified (their digest with them), and their SHA-256.
    pub verified: Vec<(SourceObject, Sha256)>,
}

pub fn check(context: &Context<'_>, input: Input) -> Outcome {
    let mut outcome = Outcome {
        counts: Counts {
            account: input.account.clone(),
            region: input.region.clone(),
            ..Counts::default()
        },
        ..Outcome::default()
    };
    let problem = |outcome: &mut Outcome,
                   kind: Kind,
                   (object, time): (&str, Option<DateTime<Utc>>),
                   detail: String| {
        outcome.problems.push(Problem {
            kind,
            account: input.account.clone(),
            region: input.region.clone(),
            object: object.to_owned(),
            time,
            detail,
        });
    };

    // The digests, read and checked one by one.
    let objects: Vec<SourceObject> = (input.digests.into_iter())
        .filter(|o| !metadata::is_sidecar(&o.name))
        .collect();
    let mut digests: Vec<Digest> = Vec::new();
    let mut seen = HashSet::new();
    for (object, read) in objects.iter().zip(read_digests(context, &objects)) {
        match read {
            Ok(digest) if seen.insert(digest.tail.clone()) => digests.push(digest),
            // The same digest twice (two sources over one copy): once is enough.
            Ok(_) => {}
            Err(Unusable::Unread(reason)) => outcome.errors.push((object.name.clone(), reason)),
            Err(Unusable::Invalid(reason)) => {
                outcome.counts.digests += 1;
                outcome.counts.chain_breaks += 1;
                let end = Named::parse(digest::file_name(&object.name)).end;
                problem(
                    &mut outcome,
                    Kind::DigestInvalid,
                    (&object.name, end),
                    reason,
                );
            }
        }
    }
    let window = context.window;
    let in_window = |d: &Digest| {
        window.since.is_none_or(|s| d.end > s) && window.until.is_none_or(|u| d.start < u)
    };
    // Digests whose word is doubted: their log files do not count as verified.
    let mut doubted: BTreeSet<usize> = BTreeSet::new();
    outcome.had_metadata = digests.iter().any(|d| d.signed != Signed::NoMetadata);
    for (i, digest) in digests.iter().enumerate().filter(|(_, d)| in_window(d)) {
        outcome.counts.digests += 1;
        match &digest.signed {
            Signed::Valid => outcome.counts.signatures_valid += 1,
            Signed::Invalid(reason) => {
                outcome.counts.signatures_invalid += 1;
                doubted.insert(i);
                problem(
                    &mut outcome,
                    Kind::BadSignature,
                    (&digest.name, Some(digest.end)),
                    reason.clone(),
                );
            }
            Signed::NoMetadata if outcome.had_metadata => {
                outcome.counts.signatures_invalid += 1;
                doubted.insert(i);
                problem(
                    &mut outcome,
                    Kind::BadSignature,
                    (&digest.name, Some(digest.end)),
                    "no metadata with its signature beside this copy, when the other digests have theirs".into(),
                );
            }
            Signed::NoMetadata | Signed::NoKeys => outcome.counts.signatures_unchecked += 1,
        }
        if let Some(said) = &digest.moved {
            doubted.insert(i);
            outcome.counts.chain_breaks += 1;
            problem(
                &mut outcome,
                Kind::DigestInvalid,
                (&digest.name, Some(digest.end)),
                format!("it is not where it was delivered: it says it is {said}"),
            );
        }
    }
    if !digests.is_empty() && !outcome.had_metadata {
        outcome.notes.push(format!(
            "{} {}: signatures not checked: these copies of the digests carry no S3 metadata (read them from s3:// with --cache-dir, or save `aws s3api head-object` of each as <file>.metadata.json); hashes and the chain are checked",
            input.account, input.region
        ));
    }

    // The chain.
    let (findings, notes) = chain::check(&digests, context.listed_from);
    outcome.notes.extend(notes);
    let holes: Vec<(DateTime<Utc>, DateTime<Utc>, Kind)> = (findings.iter())
        .filter_map(|f| f.hole.map(|(from, to)| (from, to, f.kind)))
        .collect();
    let hour = TimeDelta::hours(1);
    for finding in findings.into_iter().filter(|f| {
        // Checked: a `--since` of 250,000 years ago is as far as time goes.
        window
            .since
            .is_none_or(|s| f.at >= s.checked_sub_signed(hour).unwrap_or(s))
            && window
                .until
                .is_none_or(|u| f.at < u.checked_add_signed(hour).unwrap_or(u))
    }) {
        match finding.kind {
            Kind::ChainGap => outcome.counts.gaps += 1,
            // Counted with the signatures.
            Kind::BadSignature => {}
            _ => outcome.counts.chain_breaks += 1,
        }
        doubted.extend(finding.digest);
        let at = (finding.object.as_str(), Some(finding.at));
        problem(&mut outcome, finding.kind, at, finding.detail);
    }

    // The log files the digests list, with what they should hash to.
    let mut expected: HashMap<&str, Vec<(usize, Option<Sha256>)>> = HashMap::new();
    for (i, digest) in digests.iter().enumerate() {
        for log in &digest.logs {
            expected.entry(&log.tail).or_default().push((i, log.hash));
        }
    }
    let tails: Vec<String> = (input.logs.iter())
        .map(|o| {
            digest::tail_of(&o.name)
                .unwrap_or(&o.name)
                .replace('\\', "/")
        })
        .collect();
    let delivered = |o: &SourceObject| o.layout.as_ref().and_then(|l| l.delivered);
    let log_in_window = |o: &SourceObject| match delivered(o) {
        Some(t) => window.contains(t),
        None => true,
    };
    let covered_in_window = |tail: &str| {
        (expected.get(tail).into_iter().flatten()).any(|(i, _)| in_window(&digests[*i]))
    };
    let mut to_read = Vec::new();
    let mut uncovered = Vec::new();
    for (index, object) in input.logs.iter().enumerate() {
        let tail = tails[index].as_str();
        if expected.contains_key(tail) {
            if log_in_window(object) || covered_in_window(tail) {
                to_read.push(index);
            }
        } else if log_in_window(object) {
            uncovered.push(index);
        }
    }
    outcome.counts.log_files = (to_read.len() + uncovered.len()) as u64;

    // Each one read and hashed, and compared.
    let reading: Vec<SourceObject> = to_read.iter().map(|&i| input.logs[i].clone()).collect();
    for (position, hashed) in hash_logs(context, &reading).into_iter().enumerate() {
        let object = &reading[position];
        let tail = tails[to_read[position]].as_str();
        let entries = expected.get(tail).map(Vec::as_slice).unwrap_or_default();
        let hash = match hashed {
            Err(reason) => {
                outcome.errors.push((object.name.clone(), reason));
                continue;
            }
            Ok(Err(damage)) => {
                outcome.counts.modified += 1;
                let detail = format!("its content cannot be read any more: {damage}");
                problem(
                    &mut outcome,
                    Kind::Modified,
                    (&object.name, delivered(object)),
                    detail,
                );
                continue;
            }
            Ok(Ok(hash)) => hash,
        };
        let matching: Vec<usize> = (entries.iter())
            .filter(|(_, recorded)| *recorded == Some(hash))
            .map(|(i, _)| *i)
            .collect();
        if matching.is_empty() {
            outcome.counts.modified += 1;
            let (i, recorded) = entries.first().copied().unwrap_or((0, None));
            let recorded = recorded.map_or_else(|| "no readable SHA-256".to_owned(), hex::encode);
            let detail = format!(
                "its SHA-256 is {}, but {} records {recorded}",
                hex::encode(hash),
                digests
                    .get(i)
                    .map_or("its digest", |d| digest::short_name(&d.name))
            );
            problem(
                &mut outcome,
                Kind::Modified,
                (&object.name, delivered(object)),
                detail,
            );
            continue;
        }
        outcome.counts.valid += 1;
        if matching.iter().any(|i| !doubted.contains(i)) && log_in_window(object) {
            outcome.verified.push((object.clone(), hash));
        }
    }

    // What the digests in the window list and the sources do not hold.
    let held: HashSet<&str> = tails.iter().map(String::as_str).collect();
    for digest in digests.iter().filter(|d| in_window(d)) {
        for log in digest
            .logs
            .iter()
            .filter(|l| !held.contains(l.tail.as_str()))
        {
            outcome.counts.missing += 1;
            let detail = format!(
                "digest {} lists it; the sources do not hold it",
                digest::short_name(&digest.name)
            );
            let at = KeyLayout::parse(&log.tail).and_then(|l| l.delivered);
            problem(&mut outcome, Kind::Missing, (&log.object, at), detail);
        }
    }

    // What the sources hold and no digest lists.
    let chained: Vec<&Digest> = digests.iter().filter(|d| !d.backfill).collect();
    let Some(last) = chained.iter().max_by_key(|d| d.end) else {
        if !uncovered.is_empty() {
            outcome.counts.not_covered += uncovered.len() as u64;
            problem(
                &mut outcome,
                Kind::NotCovered,
                (&log_files(uncovered.len() as u64), None),
                "no usable CloudTrail-Digest file for this account and region in the sources, so nothing can be verified: was log file validation on? (give verify the folder or prefix above CloudTrail/, so that CloudTrail-Digest/ is in it)".into(),
            );
        }
        return outcome;
    };
    let first_start = chained.iter().map(|d| d.start).min().unwrap_or(last.start);
    let newest_log = input.logs.iter().filter_map(delivered).max();
    let ends_open = newest_log.is_some_and(|newest| newest - last.end > hour + SLACK);
    if ends_open && window.until.is_none_or(|u| last.end < u) {
        outcome.counts.gaps += 1;
        let detail = format!(
            "the last digest ends {}, but log files run to {}: the digests after it are missing (deleted, or validation was turned off)",
            format_time(&last.end),
            newest_log.map(|t| format_time(&t)).unwrap_or_default()
        );
        problem(
            &mut outcome,
            Kind::ChainGap,
            (&last.name, Some(last.end)),
            detail,
        );
    }
    let covers = |t: DateTime<Utc>| (digests.iter()).any(|d| t >= d.start - SLACK && t < d.end);
    let hole = |t: DateTime<Utc>| {
        (holes.iter())
            .find(|(from, to, _)| t >= *from - SLACK && t < *to)
            .map(|(_, _, kind)| *kind)
    };
    for index in uncovered {
        let object = &input.logs[index];
        let at = delivered(object);
        if !ends_open && at.is_some_and(|t| t >= last.end - SLACK) {
            outcome.counts.pending += 1;
            continue;
        }
        outcome.counts.not_covered += 1;
        let detail = match at {
            None => "no digest lists it (its name gives no time)".to_owned(),
            Some(t) if t >= last.end => format!(
                "no digest lists it: delivered after the last digest (ending {})",
                format_time(&last.end)
            ),
            Some(t) if t < first_start - SLACK => {
                "no digest lists it: delivered before the first digest in the sources".to_owned()
            }
            Some(t) if covers(t) => {
                "no digest lists it, though a digest covers its hour: possibly planted".to_owned()
            }
            Some(t) if hole(t) == Some(Kind::DigestMissing) => {
                "no digest lists it: the digest of its hour is missing".to_owned()
            }
            Some(_) => "no digest lists it: delivered while no digest chain ran".to_owned(),
        };

        problem(&mut outcome, Kind::NotCovered, (&object.name, at), detail);
    }
    if outcome.counts.pending > 0 {
        outcome.notes.push(format!(
            "{} {}: {} newer than the last digest (ending {}): the next hourly digest will list them; not verified yet",
            input.account,
            input.region,
            log_files(outcome.counts.pending),
            format_time(&last.end)
        ));
    }
    outcome
}

/// Every digest of `objects`, read with its metadata, in order.
fn read_digests(context: &Context<'_>, objects: &[SourceObject]) -> Vec<Result<Digest, Unusable>> {
    let read = |index: usize, fetched: Result<WithMetadata, ReadError>| {
        let (raw, metadata) = fetched.map_err(|e| Unusable::Unread(e.to_string()))?;
        digest::read(
            &objects[index],
            &raw,
            metadata.as_ref(),
            context.keys,
            context.max_bytes,
        )
    };
    let mut read: Vec<(usize, Result<Digest, Unusable>)> =
        match context.sources.fetch_with_metadata(objects) {
            Reading::InPlace(indexes) => (indexes.par_iter())
                .map(|&i| (i, read(i, context.sources.read_with_metadata(&objects[i]))))
                .collect(),
            Reading::Arriving(arrivals) => (arrivals.par_bridge())
                .map(|(i, fetched)| (i, read(i, fetched)))
                .collect(),
        };
    read.sort_by_key(|(i, _)| *i);
    read.into_iter().map(|(_, digest)| digest).collect()
}

/// Each log file's SHA-256 (of its uncompressed content), in order: `Err` when it could not
/// be read, `Ok(Err)` when what was read is no longer a readable log file.
fn hash_logs(
    context: &Context<'_>,
    objects: &[SourceObject],
) -> Vec<Result<Result<Sha256, String>, String>> {
    let hash = |raw: Result<Vec<u8>, ReadError>| {
        let raw = raw.map_err(|e| e.to_string())?;
        Ok(digest::content_sha256(&raw, context.max_bytes))
    };
    let mut hashed: Vec<(usize, _)> = match context.sources.fetch(objects) {
        Reading::InPlace(indexes) => (indexes.par_iter())
            .map(|&i| (i, hash(context.sources.read(&objects[i]))))
            .collect(),
        Reading::Arriving(arrivals) => (arrivals.par_bridge())
            .map(|(i, raw)| (i, hash(raw)))
            .collect(),
    };
    hashed.sort_by_key(|(i, _)| *i);
    hashed.into_iter().map(|(_, h)| h).collect()
}

/// `1 log file`, `2 log files`.
fn log_files(n: u64) -> String {
    match n {
        1 => "1 log file".to_owned(),
        n => format!("{n} log files"),
    }
}
