//! `summary`: one row per principal (user, role, root, service), the riskiest first.
//!
//! One pass: a GROUP BY over the principals, and each per-event canned query counted by
//! principal, so that memory grows with the principals, never with the events.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::activity::{
    DENIED, PRINCIPAL, WRITE, both, fired_name, fired_query, glob_like, per_event,
};
use super::kit::{Analysis, Command, Describe, Inputs, Settings, input, int, number, string, text};
use crate::catalog::Catalog;
use crate::meta::{Meta, Severity};
use crate::query::Query;
use crate::record::Value;
use crate::results::{ResultSet, Row};

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Only principals that match GLOB (`*` any text, `?` one character), e.g. '*:role/deploy'
    #[arg(long, value_name = "GLOB")]
    pub principal: Option<String>,
}

/// `trailscan summary --help`'s examples.
pub const EXAMPLES: &str = "\
Examples:
  trailscan summary ./AWSLogs                         every principal, the riskiest first
  trailscan summary ./AWSLogs --since 7d --principal '*:user/*'
  trailscan summary ./AWSLogs --format csv -o principals.csv

A principal is the role of a role session (its session issuer), else the user, root or
federated identity, else the AWS service that called. The riskiest come first: the highest
severity among the canned queries that fired on its events, then how many rows they made,
then denied calls, error ratio, write calls, distinct APIs and events (more first), then
the principal's name. Findings are those of the audit's queries that report single events;
threshold queries (GROUP BY … HAVING) are left out, as they count many principals together.

Exit status: 0 the summary ran, 2 error (unreadable input too).";

impl Command for Args {
    fn build(self, _settings: &Settings) -> anyhow::Result<Box<dyn Analysis>> {
        let condition = self.principal.as_deref().map(|g| glob_like(PRINCIPAL, g));
        let summary = Summary { condition };
        crate::lang::sql::compile(&summary.principals_sql()).map_err(|e| {
            anyhow::anyhow!(
                "invalid --principal '{}': {e}",
                self.principal.unwrap_or_default()
            )
        })?;
        Ok(Box::new(summary))
    }
}

/// `summary` makes no findings of its own.
pub(super) const DESCRIBED: &[&Describe] = &[];

struct Summary {
    /// `--principal`, as SQL.
    condition: Option<String>,
}

const PRINCIPALS: &str = "principals";

const COLUMNS: [&str; 16] = [
    "principal",
    "type",
    "risk",
    "events",
    "error_ratio",
    "apis",
    "write_calls",
    "denied_calls",
    "regions",
    "addresses",
    "user_agents",
    "access_keys",
    "first_seen",
    "last_seen",
    "findings",
    "finding_rows",
];

impl Summary {
    fn principals_sql(&self) -> String {
        let filter = (self.condition.as_deref()).map_or(String::new(), |c| format!("WHERE {c}"));
        format!(
            "SELECT {PRINCIPAL}, min(userIdentity.type), count(*), count(errorCode), \
             count(DISTINCT eventName), count(if({WRITE}, 1)), count(if({DENIED}, 1)), \
             count(DISTINCT awsRegion), count(DISTINCT sourceIPAddress), count(DISTINCT userAgent), \
             count(DISTINCT userIdentity.accessKeyId), min(eventTime), max(eventTime) \
             FROM cloudtrail_logs {filter} GROUP BY {PRINCIPAL}"
        )
    }
}

impl Analysis for Summary {
    fn inputs(&self, catalog: &Catalog) -> Vec<Arc<Query>> {
        let mut queries = vec![input(PRINCIPALS, &self.principals_sql())];
        // Each per-event canned query, its rows counted by principal.
        let filter = (self.condition.as_deref()).map_or(String::new(), |c| format!("WHERE {c}"));
        let template = crate::lang::sql::internal(
            "counted",
            &format!(
                "SELECT {PRINCIPAL}, count(*) FROM cloudtrail_logs {filter} GROUP BY {PRINCIPAL}"
            ),
        );
        for query in per_event(catalog) {
            let mut counted = template.clone();
            counted.plan.filter = both(query.plan.filter.clone(), template.plan.filter.clone());
            let name = fired_name(query.name());
            counted.meta = Arc::new(Meta {
                name,
                ..(*query.meta).clone()
            });
            queries.push(Arc::new(counted));
        }
        queries
    }

    fn finds(&self) -> bool {
        false
    }

    fn finish(&self, inputs: Inputs) -> Vec<ResultSet> {
        // principal -> (severity, query, rows), from the canned queries' counts.
        let mut findings: BTreeMap<String, Vec<(Severity, String, u64)>> = BTreeMap::new();
        let names: Vec<String> = inputs.names().map(str::to_owned).collect();
        for name in &names {
            let Some(query) = fired_query(name) else {
                continue;
            };
            let severity = (inputs.meta(name)).map_or(Severity::Info, |m| m.severity);
            for row in inputs.rows(name) {
                let entry = findings.entry(text(&row.values[0])).or_default();
                entry.push((severity, query.to_owned(), number(&row.values[1])));
            }
        }
        let mut rows: Vec<(RiskKey, Row)> = (inputs.rows(PRINCIPALS).into_iter())
            .map(|row| {
                let found = findings.get(&text(&row.values[0]));
                principal_row(row, found)
            })
            .collect();
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        let meta = Meta {
            description: "One row per principal: its activity and the canned queries that fired on its events, the riskiest first.".into(),
            ..Meta::plain("summary", "Principals, the riskiest first")
        };
        vec![ResultSet::new(
            Arc::new(meta),
            &COLUMNS,
            rows.into_iter().map(|(_, row)| row).collect(),
        )]
    }
}

/// What ranks a principal, ascending: the riskiest first, then by name.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct RiskKey {
    severity: std::cmp::Reverse<Option<Severity>>,
    finding_rows: std::cmp::Reverse<u64>,
    denied: std::cmp::Reverse<u64>,
    /// Errors per thousand events.
    error_permille: std::cmp::Reverse<u64>,
    writes: std::cmp::Reverse<u64>,
    apis: std::cmp::Reverse<u64>,
    events: std::cmp::Reverse<u64>,
    principal: String,
}

/// The summary's row of one principal (a row of `principals_sql`), and its rank.
fn principal_row(row: Row, findings: Option<&Vec<(Severity, String, u64)>>) -> (RiskKey, Row) {
    let v = &row.values;
    let events = number(&v[2]);
    let errors = number(&v[3]);
    let findings = findings.map(Vec::as_slice).unwrap_or_default();
    let severity = findings.iter().map(|f| f.0).max();
    let finding_rows: u64 = findings.iter().map(|f| f.2).sum();
    let mut listed: Vec<&(Severity, String, u64)> = findings.iter().collect();
    listed.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let listed: Vec<String> = listed
        .iter()
        .map(|(_, name, n)| format!("{name} ({n})"))
        .collect();
    let ratio = if events == 0 {
        0.0
    } else {
        errors as f64 / events as f64
    };
    let key = RiskKey {
        severity: std::cmp::Reverse(severity),
        finding_rows: std::cmp::Reverse(finding_rows),
        denied: std::cmp::Reverse(number(&v[6])),
        error_permille: std::cmp::Reverse((ratio * 1000.0).round() as u64),
        writes: std::cmp::Reverse(number(&v[5])),
        apis: std::cmp::Reverse(number(&v[4])),
        events: std::cmp::Reverse(events),
        principal: text(&v[0]),
    };
    let values = vec![
        v[0].clone(),
        v[1].clone(),
        string(severity.map_or("none", |s| s.as_str())),
        int(events),
        Value::Float((ratio * 100.0).round() / 100.0),
        v[4].clone(),
        v[5].clone(),
        v[6].clone(),
        v[7].clone(),
        v[8].clone(),
        v[9].clone(),
        v[10].clone(),
        v[11].clone(),
        v[12].clone(),
        string(listed.join(", ")),
        int(finding_rows),
    ];
    let identity = key.principal.clone();
    (key, Row { values, identity })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(principal: &str, counts: [i64; 9]) -> Row {
        let mut values = vec![string(principal), string("IAMUser")];
        values.extend(counts.iter().map(|&n| Value::Int(n)));
        values.extend([Value::Null, Value::Null]);
        Row {
            values,
            identity: principal.into(),
        }
    }

    #[test]
    fn the_riskiest_come_first_and_ties_go_by_name() {
        // events, errors, apis, writes, denied, regions, addresses, user agents, keys
        let quiet = row("arn:quiet", [100, 0, 3, 0, 0, 1, 1, 1, 1]);
        let denied = row("arn:denied", [10, 5, 3, 0, 5, 1, 1, 1, 1]);
        let found = row("arn:found", [1, 0, 1, 1, 0, 1, 1, 1, 1]);
        let twin = row("arn:a-twin", [100, 0, 3, 0, 0, 1, 1, 1, 1]);
        let high = vec![(Severity::High, "cloudtrail-changes".to_owned(), 1)];
        let mut ranked = [
            principal_row(quiet, None),
            principal_row(denied, None),
            principal_row(found, Some(&high)),
            principal_row(twin, None),
        ];
        ranked.sort_by(|a, b| a.0.cmp(&b.0));
        let order: Vec<String> = ranked.iter().map(|(k, _)| k.principal.clone()).collect();
        assert_eq!(
            order,
            ["arn:found", "arn:denied", "arn:a-twin", "arn:quiet"]
        );
        let found = &ranked[0].1.values;
        assert_eq!(text(&found[2]), "high");
        assert_eq!(text(&found[14]), "cloudtrail-changes (1)");
        assert_eq!(text(&ranked[1].1.values[4]), "0.5");
    }
}
