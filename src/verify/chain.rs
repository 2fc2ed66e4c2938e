//! The digest chain: each digest names the one before it with its SHA-256 and signature.
//!
//! A link that does not hold is a digest changed after the next one was written; a digest
//! named but absent was deleted; a digest no later one names is not part of the chain. As
//! CloudTrail delivers a digest every hour that the trail logs with validation on (empty
//! hours included), the hours between two digests tell how many more are gone: the gap
//! `aws cloudtrail validate-logs` does not see when two consecutive digests were deleted.
//! A chain that starts again (no previous digest) means logging or validation was off.
//! Backfill digests form chains of their own, not hourly: only their links are checked.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, TimeDelta, Utc};

use super::digest::{Digest, Named, file_name, short_name};
use super::report::Kind;
use crate::record::format_time;

/// How late a digest may come and still count as the hour's.
const SLACK: TimeDelta = TimeDelta::minutes(15);

/// Something wrong with the chain, about one object (a digest, or a run of them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: Kind,
    pub object: String,
    pub detail: String,
    /// When it happened, to keep only what falls in the time window.
    pub at: DateTime<Utc>,
    /// The digest it casts doubt on (its log files are not taken as verified).
    pub digest: Option<usize>,
    /// The hours it leaves without a digest: log files delivered then are listed by none.
    pub hole: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

/// The chains of one account and region's `digests`: what breaks them, and notes. Digests
/// ending before `listed_from` were not listed (the time window), so are not missing.
pub fn check(
    digests: &[Digest],
    listed_from: Option<DateTime<Utc>>,
) -> (Vec<Finding>, Vec<String>) {
    let by_tail: HashMap<&str, usize> = (digests.iter().enumerate().rev())
        .map(|(i, d)| (d.tail.as_str(), i))
        .collect();
    let mut chains: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, digest) in digests.iter().enumerate() {
        chains.entry(&digest.chain).or_default().push(i);
    }
    let mut findings = Vec::new();
    let mut notes = Vec::new();
    for chain in chains.values_mut() {
        chain.sort_by(|&a, &b| {
            (digests[a].end, &digests[a].tail).cmp(&(digests[b].end, &digests[b].tail))
        });
        let named = links(
            digests,
            chain,
            &by_tail,
            listed_from,
            &mut findings,
            &mut notes,
        );
        strays(digests, chain, &by_tail, &named, &mut findings);
    }
    (findings, notes)
}

/// Follows each digest to the one it names; returns the digests some later digest names.
fn links(
    digests: &[Digest],
    chain: &[usize],
    by_tail: &HashMap<&str, usize>,
    listed_from: Option<DateTime<Utc>>,
    findings: &mut Vec<Finding>,
    notes: &mut Vec<String>,
) -> BTreeSet<usize> {
    let mut named = BTreeSet::new();
    for (position, &i) in chain.iter().enumerate() {
        let digest = &digests[i];
        let before = position.checked_sub(1).map(|p| &digests[chain[p]]);
        let Some(previous) = &digest.previous else {
            if let Some(before) = before.filter(|_| !digest.backfill) {
                findings.push(Finding {
                    kind: Kind::ChainGap,
                    object: digest.name.clone(),
                    detail: format!(
                        "the chain starts again here, linked to no earlier digest: no digest covers {} to {} (logging or log file validation was off, or digests were deleted)",
                        format_time(&before.end),
                        format_time(&digest.start)
                    ),
                    at: digest.start,
                    digest: None,
                    hole: Some((before.end, digest.start)),
                });
            }
            continue;
        };
        if let Some(&p) = by_tail.get(previous.tail.as_str()) {
            named.insert(p);
            let linked = &digests[p];
            if hex::encode(linked.hash) != previous.hash {
                findings.push(Finding {
                    kind: Kind::DigestModified,
                    object: linked.name.clone(),
                    detail: format!(
                        "its SHA-256 is {}, but the next digest ({}) records {}: it was changed after that digest was written",
                        hex::encode(linked.hash),
                        short_name(&digest.name),
                        previous.hash
                    ),
                    at: linked.end,
                    digest: Some(p),
                    hole: None,
                });
            }
            if linked
                .signature
                .is_some_and(|signature| signature != previous.signature)
            {
                findings.push(Finding {
                    kind: Kind::BadSignature,
                    object: linked.name.clone(),
                    detail: format!(
                        "its signature (metadata) is not the one the next digest ({}) records for it",
                        short_name(&digest.name)
                    ),
                    at: linked.end,
                    digest: Some(p),
                    hole: None,
                });
            }
            continue;
        }
        let previous_end = (Named::parse(file_name(&previous.tail)).end).unwrap_or(digest.start);
        if listed_from.is_some_and(|from| previous_end < from) {
            // Before the time window: not listed, not missing.
            continue;
        }
        if before.is_none() && listed_from.is_none() {
            notes.push(format!(
                "{}: its chain goes on before the sources ({} is not in them), so older digests are not checked; give --since to verify from a given hour",
                short_name(&digest.name),
                short_name(&previous.object)
            ));
            continue;
        }
        findings.push(Finding {
            kind: Kind::DigestMissing,
            object: previous.object.clone(),
            detail: format!(
                "named as the previous digest by {}, but not in the sources: deleted",
                short_name(&digest.name)
            ),
            at: previous_end,
            digest: None,
            hole: Some((previous_end - TimeDelta::hours(1), previous_end)),
        });
        let Some(before) = before.filter(|_| !digest.backfill) else {
            continue;
        };
        let more = hours_between(before.end, previous_end);
        if more > 0 {
            findings.push(Finding {
                kind: Kind::DigestMissing,
                object: format!(
                    "{more} digest{} between {} and {}",
                    if more == 1 { "" } else { "s" },
                    format_time(&before.end),
                    format_time(&previous_end)
                ),
                detail: format!(
                    "consecutive deletions: no digest links {} to the missing {}, and these hours have none",
                    short_name(&before.name),
                    short_name(&previous.object)
                ),
                at: before.end,
                digest: None,
                hole: Some((before.end, previous_end - TimeDelta::hours(1))),
            });
        }
    }
    named
}

/// Digests no later digest names, although the next one names another that is there.
fn strays(
    digests: &[Digest],
    chain: &[usize],
    by_tail: &HashMap<&str, usize>,
    named: &BTreeSet<usize>,
    findings: &mut Vec<Finding>,
) {
    for pair in chain.windows(2) {
        let (i, next) = (pair[0], &digests[pair[1]]);
        if named.contains(&i) {
            continue;
        }
        let Some(previous) = &next.previous else {
            continue;
        };
        if by_tail.get(previous.tail.as_str()).is_some_and(|&p| p != i) {
            findings.push(Finding {
                kind: Kind::ChainBreak,
                object: digests[i].name.clone(),
                detail: format!(
                    "no later digest names it: the next one ({}) names {} instead (a copy, a forgery, or a digest of another chain)",
                    short_name(&next.name),
                    short_name(&previous.object)
                ),
                at: digests[i].end,
                digest: Some(i),
                hole: None,
            });
        }
    }
}

/// How many hourly digests fit between one ending at `from` and one ending at `to`.
fn hours_between(from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    let gap = to - from;
    if gap <= TimeDelta::hours(1) + SLACK {
        return 0;
    }
    (gap + TimeDelta::minutes(30)).num_hours() - 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::digest::{Previous, Signed};

    fn at(hour: u32) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&format!("2026-11-20T{hour:02}:00:00Z"))
            .unwrap()
            .with_timezone(&Utc)
    }

    fn tail(hour: u32) -> String {
        format!(
            "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/20/111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20261120T{hour:02}0000Z.json.gz"
        )
    }

    /// Hourly digests ending at `hours`, each linked to the hour before.
    fn chain(hours: &[u32]) -> Vec<Digest> {
        hours
            .iter()
            .map(|&h| Digest {
                name: tail(h),
                tail: tail(h),
                chain: "t_us-east-1".into(),
                backfill: false,
                start: at(h - 1),
                end: at(h),
                hash: [h as u8; 32],
                previous: (h > 1).then(|| Previous {
                    object: format!("s3://b/{}", tail(h - 1)),
                    tail: tail(h - 1),
                    hash: hex::encode([(h - 1) as u8; 32]),
                    signature: [0; 32],
                }),
                signature: None,
                signed: Signed::NoMetadata,
                moved: None,
                logs: Vec::new(),
            })
            .collect()
    }

    fn kinds(findings: &[Finding]) -> Vec<(Kind, String)> {
        findings
            .iter()
            .map(|f| (f.kind, f.object.clone()))
            .collect()
    }

    #[test]
    fn an_intact_chain_has_nothing_to_say() {
        let (findings, notes) = check(&chain(&[1, 2, 3, 4]), None);
        assert_eq!(findings, []);
        assert_eq!(notes, Vec::<String>::new(), "hour 1 starts the chain");
        let (findings, notes) = check(&chain(&[3, 4]), None);
        assert_eq!(findings, []);
        assert_eq!(notes.len(), 1, "the chain goes on before the sources");
        let (findings, notes) = check(&chain(&[3, 4]), Some(at(2) + TimeDelta::minutes(1)));
        assert_eq!((findings, notes), (vec![], vec![]), "before the window");
    }

    #[test]
    fn one_or_two_deleted_digests_are_counted() {
        let (findings, _) = check(&chain(&[1, 2, 4, 5]), None);
        assert_eq!(
            kinds(&findings),
            [(Kind::DigestMissing, format!("s3://b/{}", tail(3)))]
        );
        let (findings, _) = check(&chain(&[1, 2, 5, 6]), None);
        assert_eq!(
            kinds(&findings),
            [
                (Kind::DigestMissing, format!("s3://b/{}", tail(4))),
                (
                    Kind::DigestMissing,
                    "1 digest between 2026-11-20T02:00:00Z and 2026-11-20T04:00:00Z".into()
                ),
            ]
        );
    }

    #[test]
    fn changed_restarted_and_stray_digests() {
        let mut digests = chain(&[1, 2, 3, 4]);
        digests[1].hash = [0xff; 32];
        digests[3].previous = None;
        let (findings, _) = check(&digests, None);
        assert_eq!(
            kinds(&findings),
            [(Kind::DigestModified, tail(2)), (Kind::ChainGap, tail(4)),]
        );
        assert_eq!(findings[0].digest, Some(1));

        let mut digests = chain(&[1, 2, 3]);
        let mut stray = digests[1].clone();
        stray.tail = format!("{}-copy", stray.tail);
        stray.name = stray.tail.clone();
        stray.end += TimeDelta::minutes(5);
        digests.push(stray);
        let (findings, _) = check(&digests, None);
        assert_eq!(
            kinds(&findings),
            [(Kind::ChainBreak, format!("{}-copy", tail(2)))]
        );
    }

    #[test]
    fn hours_between_hourly_digests() {
        assert_eq!(hours_between(at(2), at(3)), 0);
        assert_eq!(hours_between(at(2), at(3) + TimeDelta::minutes(10)), 0);
        assert_eq!(hours_between(at(2), at(4)), 1);
        assert_eq!(hours_between(at(2), at(7)), 4);
    }
}
