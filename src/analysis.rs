//! Built-in analyses: what SQL alone cannot say (baselines, first-seen, joins by address).
//!
//! Each analysis runs a few SQL queries of its own in the same single pass as any query,
//! then turns their grouped rows into findings, which go through the same printers, exit
//! codes, alerts and state as a query's rows.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};

use crate::query::suppress::Networks;
use crate::query::{AnalysisMeta, Query, QueryResult, Row, Severity};
use crate::record::{OwnedValue, Value};

/// Thresholds of `trailscan suspicious-ips`: an address reaching any of them is flagged.
#[derive(Debug, Clone)]
pub struct IpThresholds {
    pub failed_logins: u64,
    pub denied_calls: u64,
    pub principals: u64,
    pub user_names: u64,
    /// The organisation's own networks: calls from elsewhere are flagged when given.
    pub known_networks: Option<Networks>,
}

/// The periods `insights` and `secrets-access` compare: a baseline, then a recent period.
#[derive(Debug, Clone, Copy)]
pub struct Periods {
    pub recent: TimeDelta,
    /// How far the baseline reaches back before the recent period; `None`: all of it.
    pub baseline: Option<TimeDelta>,
}

#[derive(Debug, Clone)]
pub enum Analysis {
    SuspiciousIps(IpThresholds),
    Insights {
        periods: Periods,
        sigma: f64,
        min_count: u64,
    },
    SecretsAccess {
        periods: Periods,
        burst: u64,
    },
}

const FAILED_LOGIN: &str = "eventName = 'ConsoleLogin' AND (errorMessage IS NOT NULL OR responseElements.ConsoleLogin = 'Failure')";
const SECRET_READ: &str = "eventSource = 'secretsmanager.amazonaws.com' AND eventName IN ('GetSecretValue', 'BatchGetSecretValue')";
const FIVE_MINUTES: &str =
    "from_unixtime(floor(to_unixtime(from_iso8601_timestamp(eventTime)) / 300) * 300)";

impl Analysis {
    /// The queries the analysis needs, evaluated in one pass like any others.
    pub fn queries(&self, catalog: &crate::query::Catalog) -> Vec<Arc<Query>> {
        let q = |name: &str, sql: String| Arc::new(Query::internal(name, &sql));
        match self {
            Analysis::SuspiciousIps(_) => vec![
                q("ips", "SELECT sourceIPAddress, count(*), count(DISTINCT userIdentity.arn), min(eventTime), max(eventTime) \
                          FROM cloudtrail_logs GROUP BY sourceIPAddress".into()),
                q("ips-failed-logins", format!("SELECT sourceIPAddress, count(*), count(DISTINCT userIdentity.userName) \
                          FROM cloudtrail_logs WHERE {FAILED_LOGIN} GROUP BY sourceIPAddress")),
                q("ips-denied", "SELECT sourceIPAddress, count(*) FROM cloudtrail_logs \
                          WHERE errorCode LIKE '%UnauthorizedOperation' OR errorCode LIKE 'AccessDenied%' GROUP BY sourceIPAddress".into()),
            ],
            Analysis::Insights { .. } => vec![
                q("writes-per-hour", "SELECT eventName, date_trunc('hour', eventTime), count(*) FROM cloudtrail_logs \
                          WHERE readOnly = 'false' GROUP BY eventName, date_trunc('hour', eventTime)".into()),
                q("errors-per-hour", "SELECT eventName, date_trunc('hour', eventTime), count(*) FROM cloudtrail_logs \
                          WHERE errorCode IS NOT NULL GROUP BY eventName, date_trunc('hour', eventTime)".into()),
                q("first-write", "SELECT userIdentity.arn, eventName, min(eventTime) FROM cloudtrail_logs \
                          WHERE readOnly = 'false' AND userIdentity.arn IS NOT NULL GROUP BY userIdentity.arn, eventName".into()),
                q("first-seen", "SELECT userIdentity.arn, min(eventTime), max(eventTime) FROM cloudtrail_logs \
                          WHERE userIdentity.arn IS NOT NULL GROUP BY userIdentity.arn".into()),
            ],
            Analysis::SecretsAccess { burst, .. } => {
                let mut queries = vec![
                    q("secret-readers", format!("SELECT userIdentity.arn, requestParameters.secretId, min(eventTime), count(*) \
                              FROM cloudtrail_logs WHERE {SECRET_READ} GROUP BY userIdentity.arn, requestParameters.secretId")),
                    q("secret-bursts", format!("SELECT {FIVE_MINUTES} AS window_start, userIdentity.arn AS principal, \
                              count(*) AS reads, count(DISTINCT requestParameters.secretId) AS secrets, min(eventTime) AS first_read, \
                              max(eventTime) AS last_read FROM cloudtrail_logs WHERE {SECRET_READ} \
                              GROUP BY {FIVE_MINUTES}, userIdentity.arn HAVING count(*) >= {burst} ORDER BY window_start, principal")),
                    q("secret-times", format!("SELECT min(eventTime), max(eventTime) FROM cloudtrail_logs WHERE {SECRET_READ}")),
                ];
                if let Some(changes) = catalog.get("secretsmanager-changes") {
                    queries.push(Arc::clone(changes));
                }
                queries
            }
        }
    }

    /// Turns the queries' results (in the order of `queries`) into findings.
    pub fn finish(&self, results: Vec<QueryResult>) -> io::Result<Vec<QueryResult>> {
        // The analyses read groups, and secrets-access the rare Secrets Manager changes:
        // little enough to hold.
        let found = (results.iter().map(|result| result.rows.to_vec()))
            .collect::<io::Result<Vec<Vec<Row>>>>()?;
        Ok(match self {
            Analysis::SuspiciousIps(thresholds) => vec![suspicious_ips(&found, thresholds)],
            Analysis::Insights {
                periods,
                sigma,
                min_count,
            } => insights(&found, *periods, *sigma, *min_count),
            Analysis::SecretsAccess { periods, .. } => secrets_access(results, found, *periods),
        })
    }
}

fn text(value: &OwnedValue) -> String {
    value.to_text().map(|t| t.into_owned()).unwrap_or_default()
}

fn number(value: &OwnedValue) -> u64 {
    match value {
        Value::Int(i) => u64::try_from(*i).unwrap_or(0),
        _ => 0,
    }
}

fn time(value: &OwnedValue) -> Option<DateTime<Utc>> {
    value.as_time()
}

fn finding(meta: AnalysisMeta, columns: &[&str], rows: Vec<Row>) -> QueryResult {
    QueryResult {
        query: Arc::new(Query::analysis(meta, columns)),
        rows: rows.into(),
        suppressed: 0,
    }
}

fn int(n: u64) -> OwnedValue {
    Value::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

fn string(s: impl Into<String>) -> OwnedValue {
    Value::Str(s.into().into())
}

const SUSPICIOUS_IPS: AnalysisMeta = AnalysisMeta {
    name: "suspicious-ips",
    title: "Suspicious source addresses",
    severity: Severity::High,
    description: "Addresses with many failed console sign-ins, denied calls, principals or user names tried, or calls from outside the known networks.",
    references: "seed Lambda: suspicious-IP finder; ATT&CK T1110, T1078",
    runbook: "Look up the address; if it is not yours, block it (trailscan suspicious-ips --format blocklist gives network ACL / WAF entries) and review what succeeded from it.",
};

fn suspicious_ips(results: &[Vec<Row>], thresholds: &IpThresholds) -> QueryResult {
    let by_address = |rows: &[Row]| -> HashMap<String, Vec<OwnedValue>> {
        rows.iter()
            .map(|row| (text(&row.values[0]), row.values.clone()))
            .collect()
    };
    let failed = by_address(&results[1]);
    let denied = by_address(&results[2]);
    let mut flagged: Vec<(u64, String, Row)> = Vec::new();
    for row in &results[0] {
        let address_text = text(&row.values[0]);
        // Service hostnames and "AWS Internal" are not addresses: never flagged as such.
        let Ok(address) = address_text.trim().parse::<IpAddr>() else {
            continue;
        };
        let (failed_logins, user_names) = failed
            .get(&address_text)
            .map_or((0, 0), |v| (number(&v[1]), number(&v[2])));
        let denied_calls = denied.get(&address_text).map_or(0, |v| number(&v[1]));
        let principals = number(&row.values[2]);
        let mut reasons = Vec::new();
        if failed_logins >= thresholds.failed_logins {
            reasons.push("failed sign-ins");
        }
        if user_names >= thresholds.user_names {
            reasons.push("many user names (spraying)");
        }
        if denied_calls >= thresholds.denied_calls {
            reasons.push("denied calls");
        }
        if principals >= thresholds.principals {
            reasons.push("many principals");
        }
        if let Some(known) = &thresholds.known_networks
            && !known.contains(address)
        {
            reasons.push("outside known networks");
        }
        if reasons.is_empty() {
            continue;
        }
        let values = vec![
            string(address.to_string()),
            string(reasons.join(", ")),
            int(failed_logins),
            int(denied_calls),
            int(principals),
            int(user_names),
            row.values[1].clone(),
            row.values[3].clone(),
            row.values[4].clone(),
        ];
        flagged.push((
            failed_logins + denied_calls,
            address.to_string(),
            Row {
                values,
                identity: address.to_string(),
            },
        ));
    }
    // The busiest first, then by address: the same order every run.
    flagged.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    finding(
        SUSPICIOUS_IPS,
        &[
            "sourceIPAddress",
            "reasons",
            "failed_logins",
            "denied_calls",
            "principals",
            "user_names",
            "calls",
            "first_seen",
            "last_seen",
        ],
        flagged.into_iter().map(|(_, _, row)| row).collect(),
    )
}

/// Where the recent period starts, and the baseline before it: `[baseline_start, recent_start)`.
fn split(
    periods: Periods,
    first: DateTime<Utc>,
    last: DateTime<Utc>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let end = last.duration_trunc_hour() + TimeDelta::hours(1);
    let recent_start = end - periods.recent;
    let baseline_start = match periods.baseline {
        Some(span) => (recent_start - span).max(first.duration_trunc_hour()),
        None => first.duration_trunc_hour(),
    };
    (baseline_start, recent_start)
}

trait TruncHour {
    fn duration_trunc_hour(self) -> Self;
}

impl TruncHour for DateTime<Utc> {
    fn duration_trunc_hour(self) -> Self {
        use chrono::DurationRound;
        self.duration_trunc(TimeDelta::hours(1)).unwrap_or(self)
    }
}

const API_RATE: AnalysisMeta = AnalysisMeta {
    name: "api-rate-anomaly",
    title: "Unusual API call or error rate",
    severity: Severity::Medium,
    description: "Hours of the recent period whose write calls or errors for one API exceed the baseline's hourly mean by more than k standard deviations, as CloudTrail Insights does.",
    references: "CloudTrail Insights (ApiCallRateInsight, ApiErrorRateInsight); seed Lambda: unusual API activity",
    runbook: "Find who made the calls in that hour (trailscan query with the eventName and hour); a burst of writes or errors from one principal is automation gone wrong or an intruder.",
};

const FIRST_SEEN: AnalysisMeta = AnalysisMeta {
    name: "first-seen-api-call",
    title: "Principal calling a write API for the first time",
    severity: Severity::Medium,
    description: "A principal active during the baseline made a write call it never made during the baseline.",
    references: "seed Lambda: unusual API activity; ATT&CK T1078",
    runbook: "Ask the principal's owner whether the new call is expected; new IAM or logging calls from an old principal deserve a closer look.",
};

fn insights(
    results: &[Vec<Row>],
    periods: Periods,
    sigma: f64,
    min_count: u64,
) -> Vec<QueryResult> {
    let seen = &results[3];
    let first = seen.iter().filter_map(|r| time(&r.values[1])).min();
    let last = seen.iter().filter_map(|r| time(&r.values[2])).max();
    let (Some(first), Some(last)) = (first, last) else {
        return vec![
            finding(API_RATE, &RATE_COLUMNS, Vec::new()),
            finding(FIRST_SEEN, &FIRST_COLUMNS, Vec::new()),
        ];
    };
    let (baseline_start, recent_start) = split(periods, first, last);
    let baseline_hours = ((recent_start - baseline_start).num_hours()).max(0) as f64;

    let mut anomalies = Vec::new();
    if baseline_hours >= 1.0 {
        for (measure, rows) in [("write calls", &results[0]), ("errors", &results[1])] {
            // eventName -> hour -> count
            let mut per_api: BTreeMap<String, BTreeMap<DateTime<Utc>, u64>> = BTreeMap::new();
            for row in rows {
                if let Some(hour) = time(&row.values[1]) {
                    per_api
                        .entry(text(&row.values[0]))
                        .or_default()
                        .insert(hour, number(&row.values[2]));
                }
            }
            for (api, hours) in per_api {
                let baseline: Vec<f64> = hours
                    .range(baseline_start..recent_start)
                    .map(|(_, count)| *count as f64)
                    .collect();
                let sum = baseline.iter().fold(0.0, |total, count| total + count);
                // Hours without a call count as zero: the mean is over every baseline hour.
                let mean = sum / baseline_hours;
                let squares = baseline
                    .iter()
                    .fold(0.0, |total, c| total + (c - mean).powi(2))
                    + (baseline_hours - baseline.len() as f64) * mean.powi(2);
                let stddev = (squares / baseline_hours).sqrt();
                let threshold = mean + sigma * stddev;
                for (hour, count) in hours.range(recent_start..) {
                    if *count >= min_count && (*count as f64) > threshold {
                        anomalies.push(Row {
                            values: vec![
                                Value::Time(*hour),
                                string(api.clone()),
                                string(measure),
                                int(*count),
                                Value::Float((mean * 100.0).round() / 100.0),
                                Value::Float((stddev * 100.0).round() / 100.0),
                            ],
                            identity: format!("{api}\u{1f}{measure}\u{1f}{hour}"),
                        });
                    }
                }
            }
        }
    }
    anomalies.sort_by(|a, b| {
        a.values[0]
            .total_cmp(&b.values[0])
            .then_with(|| a.identity.cmp(&b.identity))
    });

    let active_before: BTreeSet<String> = seen
        .iter()
        .filter(|r| time(&r.values[1]).is_some_and(|t| t < recent_start && t >= baseline_start))
        .map(|r| text(&r.values[0]))
        .collect();
    let mut first_calls: Vec<Row> = results[2]
        .iter()
        .filter(|r| {
            active_before.contains(&text(&r.values[0]))
                && time(&r.values[2]).is_some_and(|t| t >= recent_start)
        })
        .map(|r| Row {
            values: vec![
                r.values[2].clone(),
                r.values[0].clone(),
                r.values[1].clone(),
            ],
            identity: format!("{}\u{1f}{}", text(&r.values[0]), text(&r.values[1])),
        })
        .collect();
    first_calls.sort_by(|a, b| {
        a.values[0]
            .total_cmp(&b.values[0])
            .then_with(|| a.identity.cmp(&b.identity))
    });
    vec![
        finding(API_RATE, &RATE_COLUMNS, anomalies),
        finding(FIRST_SEEN, &FIRST_COLUMNS, first_calls),
    ]
}

const RATE_COLUMNS: [&str; 6] = [
    "hour",
    "eventName",
    "measure",
    "count",
    "baseline_mean",
    "baseline_stddev",
];
const FIRST_COLUMNS: [&str; 3] = ["first_call", "principal", "eventName"];

const NEW_READER: AnalysisMeta = AnalysisMeta {
    name: "secret-new-reader",
    title: "Secret read by a principal new to it",
    severity: Severity::High,
    description: "GetSecretValue or BatchGetSecretValue on a secret by a principal that did not read it during the baseline, while others did.",
    references: "seed Lambda: Secrets Manager watcher; ATT&CK T1555.006",
    runbook: "Ask whether this principal should read the secret; if not, rotate the secret now and find how the principal got access.",
};

const READ_BURST: AnalysisMeta = AnalysisMeta {
    name: "secret-read-burst",
    title: "Burst of secret reads by one principal",
    severity: Severity::High,
    description: "One principal read many secrets within 5 minutes (the threshold is --burst).",
    references: "seed Lambda: Secrets Manager watcher; ATT&CK T1555.006",
    runbook: "Bulk secret reads are how credentials are harvested: confirm the job that did it, or rotate the secrets read and revoke the principal's sessions.",
};

fn secrets_access(
    mut results: Vec<QueryResult>,
    mut found: Vec<Vec<Row>>,
    periods: Periods,
) -> Vec<QueryResult> {
    let times = &found[2];
    let first = times.first().and_then(|r| time(&r.values[0]));
    let last = times.first().and_then(|r| time(&r.values[1]));
    let mut new_readers = Vec::new();
    if let (Some(first), Some(last)) = (first, last) {
        let (baseline_start, recent_start) = split(periods, first, last);
        let in_baseline =
            |t: Option<DateTime<Utc>>| t.is_some_and(|t| t >= baseline_start && t < recent_start);
        let secrets_with_history: BTreeSet<String> = found[0]
            .iter()
            .filter(|r| in_baseline(time(&r.values[2])))
            .map(|r| text(&r.values[1]))
            .collect();
        for row in &found[0] {
            let secret = text(&row.values[1]);
            let first_read = time(&row.values[2]);
            if secrets_with_history.contains(&secret)
                && first_read.is_some_and(|t| t >= recent_start)
            {
                new_readers.push(Row {
                    values: vec![
                        row.values[2].clone(),
                        row.values[0].clone(),
                        row.values[1].clone(),
                        row.values[3].clone(),
                    ],
                    identity: format!("{}\u{1f}{secret}", text(&row.values[0])),
                });
            }
        }
    }
    new_readers.sort_by(|a, b| {
        a.values[0]
            .total_cmp(&b.values[0])
            .then_with(|| a.identity.cmp(&b.identity))
    });
    let bursts = found.remove(1);
    let mut out = vec![
        finding(
            NEW_READER,
            &["first_read", "principal", "secret_id", "reads"],
            new_readers,
        ),
        finding(
            READ_BURST,
            &[
                "window_start",
                "principal",
                "reads",
                "secrets",
                "first_read",
                "last_read",
            ],
            bursts,
        ),
    ];
    // The changes are a plain query of the catalogue, reported as they are.
    if results.len() > 3 {
        out.push(results.remove(3));
    }
    out
}

/// The flagged addresses of `results` as CIDRs (`/32`, `/128`), sorted, one per line.
pub fn blocklist(results: &[QueryResult]) -> io::Result<Vec<String>> {
    let mut networks: BTreeSet<IpAddr> = BTreeSet::new();
    for result in results {
        let Some(column) = result
            .query
            .plan
            .columns
            .iter()
            .position(|c| c == "sourceIPAddress")
        else {
            continue;
        };
        for row in result.rows.iter() {
            networks.extend(text(&row?.values[column]).trim().parse::<IpAddr>().ok());
        }
    }
    Ok(networks
        .into_iter()
        .map(|ip| match ip {
            IpAddr::V4(v4) => format!("{v4}/32"),
            IpAddr::V6(v6) => format!("{v6}/128"),
        })
        .collect())
}

/// Parses a file of networks, one per line (`#` comments and blank lines allowed).
pub fn read_networks(path: &std::path::Path) -> anyhow::Result<Vec<String>> {
    use anyhow::Context;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read --known-cidrs {}", path.display()))?;
    Ok(text
        .lines()
        .map(|line| line.split('#').next().unwrap_or_default().trim())
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect())
}
