//! `secrets-access`: new readers of a secret, bursts of reads by one principal, and changes.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::kit::{
    Analysis, Command, Describe, Inputs, PeriodArgs, Periods, Settings, finding, input, text, time,
};
use crate::catalog::Catalog;
use crate::meta::Severity;
use crate::query::Query;
use crate::results::{ResultSet, Row};

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub periods: PeriodArgs,
    /// A burst is N or more secret reads by one principal within 5 minutes
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub burst: u64,
}

impl Command for Args {
    fn build(self, _settings: &Settings) -> anyhow::Result<Box<dyn Analysis>> {
        Ok(Box::new(SecretsAccess {
            periods: self.periods.periods()?,
            burst: self.burst,
        }))
    }
}

struct SecretsAccess {
    periods: Periods,
    burst: u64,
}

const SECRET_READ: &str = "eventSource = 'secretsmanager.amazonaws.com' AND eventName IN ('GetSecretValue', 'BatchGetSecretValue')";
const FIVE_MINUTES: &str =
    "from_unixtime(floor(to_unixtime(from_iso8601_timestamp(eventTime)) / 300) * 300)";
/// The catalogue's query of Secrets Manager changes, whose findings are passed on as they are.
const CHANGES: &str = "secretsmanager-changes";

impl Analysis for SecretsAccess {
    fn inputs(&self, catalog: &Catalog) -> Vec<Arc<Query>> {
        let burst = self.burst;
        let mut queries = vec![
            input(
                "secret-readers",
                &format!(
                    "SELECT userIdentity.arn, requestParameters.secretId, min(eventTime), count(*) \
                     FROM cloudtrail_logs WHERE {SECRET_READ} GROUP BY userIdentity.arn, requestParameters.secretId"
                ),
            ),
            input(
                "secret-bursts",
                &format!(
                    "SELECT {FIVE_MINUTES} AS window_start, userIdentity.arn AS principal, \
                     count(*) AS reads, count(DISTINCT requestParameters.secretId) AS secrets, min(eventTime) AS first_read, \
                     max(eventTime) AS last_read FROM cloudtrail_logs WHERE {SECRET_READ} \
                     GROUP BY {FIVE_MINUTES}, userIdentity.arn HAVING count(*) >= {burst} ORDER BY window_start, principal"
                ),
            ),
            input(
                "secret-times",
                &format!(
                    "SELECT min(eventTime), max(eventTime) FROM cloudtrail_logs WHERE {SECRET_READ}"
                ),
            ),
        ];
        if let Some(changes) = catalog.get(CHANGES) {
            queries.push(Arc::clone(changes));
        }
        queries
    }

    fn finish(&self, mut inputs: Inputs) -> Vec<ResultSet> {
        let readers = inputs.rows("secret-readers");
        let bursts = inputs.rows("secret-bursts");
        let times = inputs.rows("secret-times");
        let mut found = secrets_access(readers, bursts, &times, self.periods);
        // The changes are a plain query of the catalogue, reported as they are.
        found.extend(inputs.take(CHANGES));
        found
    }
}

/// The kinds of findings it makes.
pub(super) const DESCRIBED: &[&Describe] = &[&NEW_READER, &READ_BURST];

const NEW_READER: Describe = Describe {
    name: "secret-new-reader",
    title: "Secret read by a principal new to it",
    severity: Severity::High,
    description: "GetSecretValue or BatchGetSecretValue on a secret by a principal that did not read it during the baseline, while others did.",
    references: "seed Lambda: Secrets Manager watcher; ATT&CK T1555.006",
    runbook: "Ask whether this principal should read the secret; if not, rotate the secret now and find how the principal got access.",
    tactics: &["credential-access"],
    techniques: &["T1555.006"],
};

const READ_BURST: Describe = Describe {
    name: "secret-read-burst",
    title: "Burst of secret reads by one principal",
    severity: Severity::High,
    description: "One principal read many secrets within 5 minutes (the threshold is --burst).",
    references: "seed Lambda: Secrets Manager watcher; ATT&CK T1555.006",
    runbook: "Bulk secret reads are how credentials are harvested: confirm the job that did it, or rotate the secrets read and revoke the principal's sessions.",
    tactics: &["credential-access"],
    techniques: &["T1555.006"],
};

/// New readers of secrets with a history, and bursts of reads, from the inputs' rows.
fn secrets_access(
    readers: Vec<Row>,
    bursts: Vec<Row>,
    times: &[Row],
    periods: Periods,
) -> Vec<ResultSet> {
    let first = times.first().and_then(|r| time(&r.values[0]));
    let last = times.first().and_then(|r| time(&r.values[1]));
    let mut new_readers = Vec::new();
    if let (Some(first), Some(last)) = (first, last) {
        let (baseline_start, recent_start) = periods.split(first, last);
        let in_baseline =
            |t: Option<DateTime<Utc>>| t.is_some_and(|t| t >= baseline_start && t < recent_start);
        let secrets_with_history: BTreeSet<String> = readers
            .iter()
            .filter(|r| in_baseline(time(&r.values[2])))
            .map(|r| text(&r.values[1]))
            .collect();
        for row in &readers {
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
    vec![
        finding(
            &NEW_READER,
            &["first_read", "principal", "secret_id", "reads"],
            new_readers,
        ),
        finding(
            &READ_BURST,
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
    ]
}
