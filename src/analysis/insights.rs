//! `insights`: hourly write and error rates against a baseline, and write calls a principal never made before.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::kit::{
    Analysis, Command, Describe, Inputs, PeriodArgs, Periods, Settings, finding, input, int,
    number, string, text, time,
};
use crate::catalog::Catalog;
use crate::meta::Severity;
use crate::query::Query;
use crate::record::Value;
use crate::results::{ResultSet, Row};

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub periods: PeriodArgs,
    /// Flag hours above mean + K standard deviations of the baseline
    #[arg(long, value_name = "K", default_value_t = 3.0)]
    pub sigma: f64,
    /// ...and with at least N calls or errors
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub min_count: u64,
}

impl Command for Args {
    fn build(self, _settings: &Settings) -> anyhow::Result<Box<dyn Analysis>> {
        Ok(Box::new(Insights {
            periods: self.periods.periods()?,
            sigma: self.sigma,
            min_count: self.min_count,
        }))
    }
}

struct Insights {
    periods: Periods,
    sigma: f64,
    min_count: u64,
}

impl Analysis for Insights {
    fn inputs(&self, _catalog: &Catalog) -> Vec<Arc<Query>> {
        vec![
            input(
                "writes-per-hour",
                "SELECT eventName, date_trunc('hour', eventTime), count(*) FROM cloudtrail_logs \
                 WHERE readOnly = 'false' GROUP BY eventName, date_trunc('hour', eventTime)",
            ),
            input(
                "errors-per-hour",
                "SELECT eventName, date_trunc('hour', eventTime), count(*) FROM cloudtrail_logs \
                 WHERE errorCode IS NOT NULL GROUP BY eventName, date_trunc('hour', eventTime)",
            ),
            input(
                "first-write",
                "SELECT userIdentity.arn, eventName, min(eventTime) FROM cloudtrail_logs \
                 WHERE readOnly = 'false' AND userIdentity.arn IS NOT NULL GROUP BY userIdentity.arn, eventName",
            ),
            input(
                "first-seen",
                "SELECT userIdentity.arn, min(eventTime), max(eventTime) FROM cloudtrail_logs \
                 WHERE userIdentity.arn IS NOT NULL GROUP BY userIdentity.arn",
            ),
        ]
    }

    fn finish(&self, inputs: Inputs) -> Vec<ResultSet> {
        let results = [
            inputs.rows("writes-per-hour"),
            inputs.rows("errors-per-hour"),
            inputs.rows("first-write"),
            inputs.rows("first-seen"),
        ];
        insights(&results, self.periods, self.sigma, self.min_count)
    }
}

/// The kinds of findings it makes.
pub(super) const DESCRIBED: &[&Describe] = &[&API_RATE, &FIRST_SEEN];

const API_RATE: Describe = Describe {
    name: "api-rate-anomaly",
    title: "Unusual API call or error rate",
    severity: Severity::Medium,
    description: "Hours of the recent period whose write calls or errors for one API exceed the baseline's hourly mean by more than k standard deviations, as CloudTrail Insights does.",
    references: "CloudTrail Insights (ApiCallRateInsight, ApiErrorRateInsight); seed Lambda: unusual API activity",
    runbook: "Find who made the calls in that hour (trailscan query with the eventName and hour); a burst of writes or errors from one principal is automation gone wrong or an intruder.",
    tactics: &["execution", "impact"],
    techniques: &["T1651", "T1496.001"],
};

const FIRST_SEEN: Describe = Describe {
    name: "first-seen-api-call",
    title: "Principal calling a write API for the first time",
    severity: Severity::Medium,
    description: "A principal active during the baseline made a write call it never made during the baseline.",
    references: "seed Lambda: unusual API activity; ATT&CK T1078",
    runbook: "Ask the principal's owner whether the new call is expected; new IAM or logging calls from an old principal deserve a closer look.",
    tactics: &["persistence", "privilege-escalation"],
    techniques: &["T1078.004", "T1098"],
};

fn insights(
    results: &[Vec<Row>; 4],
    periods: Periods,
    sigma: f64,
    min_count: u64,
) -> Vec<ResultSet> {
    let seen = &results[3];
    let first = seen.iter().filter_map(|r| time(&r.values[1])).min();
    let last = seen.iter().filter_map(|r| time(&r.values[2])).max();
    let (Some(first), Some(last)) = (first, last) else {
        return vec![
            finding(&API_RATE, &RATE_COLUMNS, Vec::new()),
            finding(&FIRST_SEEN, &FIRST_COLUMNS, Vec::new()),
        ];
    };
    let (baseline_start, recent_start) = periods.split(first, last);
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
        finding(&API_RATE, &RATE_COLUMNS, anomalies),
        finding(&FIRST_SEEN, &FIRST_COLUMNS, first_calls),
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
