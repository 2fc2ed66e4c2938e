//! `timeline`: events in time order, bursts of read-only calls by one session condensed into one line.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};

use super::activity::{PRINCIPAL, glob_like};
use super::kit::{Analysis, Command, Describe, Inputs, Settings, input, int, string, text, time};
use crate::catalog::Catalog;
use crate::lang::sql::quote;
use crate::meta::Meta;
use crate::query::Query;
use crate::record::Value;
use crate::results::{ResultSet, Row};

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Only events of principals that match GLOB: the role or user (as `summary` names
    /// them) or the session's ARN (`*` any text, `?` one character)
    #[arg(long, value_name = "GLOB")]
    pub principal: Option<String>,
    /// Only events from this source address (repeat or separate with commas)
    #[arg(long, value_name = "ADDRESS", value_delimiter = ',')]
    pub address: Vec<String>,
    /// Only events whose name matches GLOB, e.g. 'Put*' (repeat for more)
    #[arg(long, value_name = "GLOB")]
    pub event: Vec<String>,
    /// Print every event: no burst is condensed
    #[arg(long)]
    pub raw: bool,
    /// A burst is 3 or more read-only calls by one session and user agent, each within
    /// SECONDS of the one before
    #[arg(long, value_name = "SECONDS", default_value_t = 5)]
    pub burst_gap: u32,
}

/// `trailscan timeline --help`'s examples.
pub const EXAMPLES: &str = "\
Examples:
  trailscan timeline ./AWSLogs --since 24h                     every event, bursts condensed
  trailscan timeline ./AWSLogs --principal '*:user/bob' --raw  one user's events, each one
  trailscan timeline ./AWSLogs --address 203.0.113.66 --event 'Put*' --event 'Delete*'

A burst of read-only calls that succeeded, made by one session (access key) with one user
agent, each within --burst-gap seconds of the one before, prints as one line such as
\"console: 5 read calls, Describe*, 4 s\" (its first event's time, place and eventID, and
how many events it stands for). Writes and errors always print on their own line.

Exit status: 0 the timeline ran, 2 error (unreadable input too).";

impl Command for Args {
    fn build(self, _settings: &Settings) -> anyhow::Result<Box<dyn Analysis>> {
        let mut conditions = Vec::new();
        if let Some(glob) = &self.principal {
            conditions.push(format!(
                "({} OR {})",
                glob_like(PRINCIPAL, glob),
                glob_like("userIdentity.arn", glob)
            ));
        }
        if !self.address.is_empty() {
            let list: Vec<String> = (self.address.iter()).map(|a| quote(a)).collect();
            conditions.push(format!("sourceIPAddress IN ({})", list.join(", ")));
        }
        if !self.event.is_empty() {
            let any: Vec<String> = self
                .event
                .iter()
                .map(|g| glob_like("eventName", g))
                .collect();
            conditions.push(format!("({})", any.join(" OR ")));
        }
        let timeline = Timeline {
            condition: (!conditions.is_empty()).then(|| conditions.join(" AND ")),
            raw: self.raw,
            gap: TimeDelta::seconds(i64::from(self.burst_gap)),
        };
        crate::lang::sql::compile(&timeline.sql())
            .map_err(|e| anyhow::anyhow!("invalid --principal, --address or --event: {e}"))?;
        Ok(Box::new(timeline))
    }
}

/// `timeline` makes no findings of its own.
pub(super) const DESCRIBED: &[&Describe] = &[];

struct Timeline {
    condition: Option<String>,
    raw: bool,
    gap: TimeDelta,
}

const EVENTS: &str = "timeline-events";

const COLUMNS: [&str; 10] = [
    "eventTime",
    "account",
    "region",
    "principal",
    "sourceIPAddress",
    "userAgent",
    "eventName",
    "errorCode",
    "eventID",
    "events",
];

/// The fewest calls a condensed line stands for.
const BURST: usize = 3;

impl Timeline {
    fn sql(&self) -> String {
        let filter = (self.condition.as_deref()).map_or(String::new(), |c| format!("WHERE {c}"));
        format!(
            "SELECT eventTime, recipientAccountId, awsRegion, \
             coalesce(userIdentity.arn, userIdentity.invokedBy, userIdentity.principalId), \
             sourceIPAddress, userAgent, eventName, errorCode, eventID, \
             coalesce(userIdentity.accessKeyId, userIdentity.arn), readOnly \
             FROM cloudtrail_logs {filter} ORDER BY eventTime, eventID"
        )
    }
}

impl Analysis for Timeline {
    fn inputs(&self, _catalog: &Catalog) -> Vec<Arc<Query>> {
        vec![input(EVENTS, &self.sql())]
    }

    fn finds(&self) -> bool {
        false
    }

    fn finish(&self, mut inputs: Inputs) -> Vec<ResultSet> {
        let mut lines = Lines::new(self.gap, self.raw);
        if let Some(events) = inputs.take(EVENTS) {
            for row in events.rows.iter() {
                lines.add(&row.values);
            }
        }
        let meta = Meta::plain("timeline", "Timeline");
        vec![ResultSet::new(Arc::new(meta), &COLUMNS, lines.finish())]
    }
}

/// The timeline's lines: events one by one, and bursts still open by session and agent.
struct Lines {
    gap: TimeDelta,
    raw: bool,
    /// Lines made, with the order of their first event.
    done: Vec<(usize, Row)>,
    open: BTreeMap<(String, String), Burst>,
    seen: usize,
}

/// Read-only calls of one session and agent, close together; `last` is the newest call.
struct Burst {
    first_seen: usize,
    /// Each call, with the order it came in.
    rows: Vec<(usize, Vec<Value<'static>>)>,
    last: DateTime<Utc>,
}

impl Lines {
    fn new(gap: TimeDelta, raw: bool) -> Lines {
        Lines {
            gap,
            raw,
            done: Vec::new(),
            open: BTreeMap::new(),
            seen: 0,
        }
    }

    /// One event of `Timeline::sql` (events come in time order).
    fn add(&mut self, v: &[Value<'static>]) {
        let order = self.seen;
        self.seen += 1;
        let at = time(&v[0]);
        // Bursts whose last call is too long ago are over.
        if let Some(at) = at {
            let gap = self.gap;
            let over: Vec<(String, String)> = (self.open.iter())
                .filter(|(_, b)| at - b.last > gap)
                .map(|(k, _)| k.clone())
                .collect();
            for key in over {
                if let Some(burst) = self.open.remove(&key) {
                    self.close(burst);
                }
            }
        }
        let key = (text(&v[9]), text(&v[5]));
        let read = matches!(&v[10], Value::Bool(true))
            || matches!(&v[10], Value::Str(s) if s.eq_ignore_ascii_case("true"));
        match at {
            Some(at) if !self.raw && read && v[7].is_null() => {
                let burst = self.open.entry(key).or_insert_with(|| Burst {
                    first_seen: order,
                    rows: Vec::new(),
                    last: at,
                });
                burst.rows.push((order, v.to_vec()));
                burst.last = at;
            }
            _ => {
                // A write or an error ends its session's burst, then stands alone.
                if let Some(burst) = self.open.remove(&key) {
                    self.close(burst);
                }
                self.done.push((order, single(v)));
            }
        }
    }

    fn close(&mut self, burst: Burst) {
        if burst.rows.len() < BURST {
            for (order, v) in &burst.rows {
                self.done.push((*order, single(v)));
            }
            return;
        }
        let first = &burst.rows[0].1;
        let names: Vec<String> = burst.rows.iter().map(|(_, r)| text(&r[6])).collect();
        let seconds = match (
            time(&first[0]),
            time(&burst.rows[burst.rows.len() - 1].1[0]),
        ) {
            (Some(a), Some(b)) => (b - a).num_seconds(),
            _ => 0,
        };
        let summary = format!(
            "{}: {} read calls, {}, {seconds} s",
            agent_label(&text(&first[5])),
            burst.rows.len(),
            name_pattern(&names)
        );
        let mut values: Vec<Value<'static>> = first[..9].to_vec();
        values[6] = string(summary);
        values.push(int(burst.rows.len() as u64));
        let identity = text(&first[8]);
        self.done.push((burst.first_seen, Row { values, identity }));
    }

    fn finish(mut self) -> Vec<Row> {
        for burst in std::mem::take(&mut self.open).into_values() {
            self.close(burst);
        }
        self.done.sort_by_key(|(order, _)| *order);
        self.done.into_iter().map(|(_, row)| row).collect()
    }
}

/// An event's own line.
fn single(v: &[Value<'static>]) -> Row {
    let mut values = v[..9].to_vec();
    values.push(Value::Int(1));
    Row {
        values,
        identity: text(&v[8]),
    }
}

/// Who made a burst: `console` for the AWS console, else the agent's first word (`aws-cli`).
fn agent_label(agent: &str) -> String {
    let lower = agent.to_ascii_lowercase();
    if lower.contains("console") || lower == "aws internal" || lower.starts_with("mozilla/") {
        return "console".to_owned();
    }
    let word = agent.split(['/', ' ']).next().unwrap_or_default();
    if word.is_empty() {
        "unknown agent".to_owned()
    } else {
        word.to_owned()
    }
}

/// The event names of a burst as one pattern: the name when all are one, else their common
/// beginning up to a word (`Describe*`), else how many APIs.
fn name_pattern(names: &[String]) -> String {
    let first = names.first().map(String::as_str).unwrap_or_default();
    if names.iter().all(|n| n == first) {
        return first.to_owned();
    }
    let common = (names.iter())
        .map(|n| {
            first
                .chars()
                .zip(n.chars())
                .take_while(|(a, b)| a == b)
                .count()
        })
        .min()
        .unwrap_or(0);
    let prefix: Vec<char> = first.chars().take(common).collect();
    // Back to the start of a capitalised word: `DescribeV` of DescribeVpcs, DescribeVolumes.
    let at_word_end = (names.iter()).all(|n| n.chars().nth(common).is_some_and(char::is_uppercase));
    let end = match at_word_end {
        true => common,
        false => (prefix.iter().rposition(|c| c.is_uppercase())).unwrap_or(0),
    };
    if end < 3 {
        let mut distinct = names.to_vec();
        distinct.sort();
        distinct.dedup();
        return format!("{} APIs", distinct.len());
    }
    prefix[..end].iter().collect::<String>() + "*"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(
        second: u32,
        session: &str,
        agent: &str,
        name: &str,
        read: bool,
        error: bool,
    ) -> Vec<Value<'static>> {
        vec![
            string(format!("2026-11-22T11:00:{second:02}Z")),
            string("111122223333"),
            string("us-east-1"),
            string("arn:aws:iam::111122223333:user/bob"),
            string("198.51.100.7"),
            string(agent),
            string(name),
            if error {
                string("AccessDenied")
            } else {
                Value::Null
            },
            string(format!("id-{second:02}")),
            string(session),
            Value::Bool(read),
        ]
    }

    fn lines(events: &[Vec<Value<'static>>], raw: bool) -> Vec<(String, String)> {
        let mut lines = Lines::new(TimeDelta::seconds(5), raw);
        for e in events {
            lines.add(e);
        }
        (lines.finish().iter())
            .map(|r| (text(&r.values[6]), text(&r.values[9])))
            .collect()
    }

    #[test]
    fn a_burst_of_console_reads_is_one_line_and_writes_stand_alone() {
        let c = "console.ec2.amazonaws.com";
        let events = [
            event(5, "ASIABOB", c, "DescribeInstances", true, false),
            event(6, "ASIABOB", c, "DescribeVolumes", true, false),
            event(7, "AKIAOTHER", "aws-cli/2", "ListBuckets", true, false),
            event(8, "ASIABOB", c, "DescribeVpcs", true, false),
            event(9, "ASIABOB", c, "DescribeSubnets", true, false),
            event(10, "ASIABOB", c, "CreateAccessKey", false, false),
            event(30, "ASIABOB", c, "DescribeVpcs", true, false),
        ];
        assert_eq!(
            lines(&events, false),
            [
                (
                    "console: 4 read calls, Describe*, 4 s".to_owned(),
                    "4".to_owned()
                ),
                ("ListBuckets".into(), "1".into()),
                ("CreateAccessKey".into(), "1".into()),
                ("DescribeVpcs".into(), "1".into()),
            ]
        );
        assert_eq!(lines(&events, true).len(), events.len());
    }

    #[test]
    fn errors_break_bursts_and_short_runs_stay_as_they_are() {
        let a = "aws-cli/2.15.0 Python/3.11";
        let events = [
            event(1, "K", a, "GetObject", true, false),
            event(2, "K", a, "GetObject", true, false),
            event(3, "K", a, "GetObject", true, true),
            event(4, "K", a, "ListBuckets", true, false),
        ];
        let names: Vec<String> = lines(&events, false).into_iter().map(|l| l.0).collect();
        assert_eq!(
            names,
            ["GetObject", "GetObject", "GetObject", "ListBuckets"]
        );
    }

    #[test]
    fn names_of_a_burst_read_as_a_pattern() {
        let names =
            |list: &[&str]| name_pattern(&list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
        assert_eq!(names(&["DescribeVpcs", "DescribeVolumes"]), "Describe*");
        assert_eq!(names(&["GetObject", "GetObject"]), "GetObject");
        assert_eq!(names(&["ListBuckets", "GetObject", "HeadObject"]), "3 APIs");
        assert_eq!(names(&["GetBucketAcl", "GetBucketPolicy"]), "GetBucket*");
        assert_eq!(agent_label("Boto3/1.34.0 md/Botocore"), "Boto3");
        assert_eq!(agent_label("AWS Internal"), "console");
    }
}
