//! What the HTML report counts besides the findings: events per hour, top lists, accounts and
//! regions, through queries of its own evaluated in the same pass, and the alarm thresholds.
//!
//! The queries are added to a scan only when the format is HTML; their rows are never
//! findings (no exit status, alert or state), only what the page draws.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};

use crate::catalog::Catalog;
use crate::query::Query;
use crate::query::plan::{Aggregate, CmpOp, Expr, Plan};
use crate::record::{OwnedValue, Value};
use crate::results::ResultSet;

/// The prefix of the dashboard's own queries: no query file can be named so.
const PREFIX: &str = "dashboard:";

/// Events per hour, as a chart over time counts them (the filter is set per series).
const PER_HOUR: &str = "SELECT date_trunc('hour', eventTime) AS hour, count(*) AS events \
     FROM cloudtrail_logs GROUP BY date_trunc('hour', eventTime)";

/// Events per account and region, with their first and last times: the run's accounts,
/// regions and time span.
const PLACES: &str = "SELECT recipientAccountId AS account, awsRegion AS region, count(*) AS events, \
     min(from_iso8601_timestamp(eventTime)) AS first_event, \
     max(from_iso8601_timestamp(eventTime)) AS last_event \
     FROM cloudtrail_logs GROUP BY recipientAccountId, awsRegion";

/// How many entries a top list shows.
pub const TOP: usize = 10;

/// Where the events of a chart over time come from.
enum Source {
    /// Every event.
    All,
    /// The events matching this condition (trailscan's own SQL).
    Matching(&'static str),
    /// The events the WHERE of this catalogue query matches, so that the chart counts what
    /// the query looks at (and follows a user's replacement of it).
    QueryFilter(&'static str),
}

/// One chart over time.
struct Series {
    key: &'static str,
    title: &'static str,
    /// What it counts, in a sentence.
    counts: &'static str,
    source: Source,
    /// Alarm queries (GROUP BY … HAVING count(*) >= N) over the same events: their thresholds
    /// are drawn, and the periods in which they went off marked.
    alarms: &'static [&'static str],
}

const SERIES: &[Series] = &[
    Series {
        key: "events",
        title: "All events",
        counts: "Every event read.",
        source: Source::All,
        alarms: &[],
    },
    Series {
        key: "errors",
        title: "Errors",
        counts: "Events with an errorCode.",
        source: Source::Matching("errorCode IS NOT NULL"),
        alarms: &[],
    },
    Series {
        key: "failed-sign-ins",
        title: "Failed console sign-ins",
        counts: "ConsoleLogin events that failed (the events brute-force-logins groups).",
        source: Source::QueryFilter("brute-force-logins"),
        alarms: &["brute-force-logins", "brute-force-logins-by-user"],
    },
    Series {
        key: "unauthorized",
        title: "Unauthorized calls",
        counts: "Calls denied with AccessDenied or *UnauthorizedOperation (the events unauthorized-calls lists).",
        source: Source::QueryFilter("unauthorized-calls"),
        alarms: &[],
    },
    Series {
        key: "root",
        title: "Root use",
        counts: "What the root user did itself (the events root-usage lists).",
        source: Source::QueryFilter("root-usage"),
        alarms: &[],
    },
    Series {
        key: "warnings",
        title: "Warning: messages",
        counts: "Events whose errorMessage carries \u{201c}Warning:\u{201d} (a CloudWatch metric filter on the term Warning:).",
        source: Source::Matching("errorMessage LIKE '%Warning:%'"),
        alarms: &[],
    },
];

/// A top list: the most frequent values of one field.
struct TopList {
    key: &'static str,
    title: &'static str,
    /// The SQL expression counted.
    expr: &'static str,
}

const TOP_LISTS: &[TopList] = &[
    TopList {
        key: "principals",
        title: "Principals",
        expr: "coalesce(userIdentity.arn, userIdentity.invokedBy)",
    },
    TopList {
        key: "addresses",
        title: "Source addresses",
        expr: "sourceIPAddress",
    },
    TopList {
        key: "event-names",
        title: "Event names",
        expr: "eventName",
    },
];

/// An alarm query's threshold: the count at which one of its groups becomes a finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alarm {
    pub query: String,
    pub threshold: u64,
}

/// The dashboard's queries, to evaluate with a scan's, and the alarm thresholds of each
/// chart over time, read from the catalogue's alarm queries.
#[derive(Debug, Clone)]
pub struct Dashboard {
    queries: Vec<Arc<Query>>,
    /// Per series key, the alarms over its events.
    alarms: BTreeMap<&'static str, Vec<Alarm>>,
}

impl Dashboard {
    pub fn new(catalog: &Catalog) -> Dashboard {
        let mut queries = vec![Arc::new(internal("places", PLACES))];
        let mut alarms = BTreeMap::new();
        for series in SERIES {
            let filter = match series.source {
                Source::All => None,
                Source::Matching(condition) => Some(condition),
                Source::QueryFilter(name) => match catalog.get(name) {
                    Some(query) => {
                        let mut per_hour = internal(series.key, PER_HOUR);
                        per_hour.plan.filter = query.plan.filter.clone();
                        queries.push(Arc::new(per_hour));
                        alarms.insert(series.key, alarms_of(catalog, series.alarms));
                        continue;
                    }
                    // A built-in query cannot be missing; a series without its query is
                    // left out rather than drawn from another definition.
                    None => continue,
                },
            };
            let sql = match filter {
                Some(condition) => {
                    PER_HOUR.replace(" GROUP BY", &format!(" WHERE {condition} GROUP BY"))
                }
                None => PER_HOUR.to_owned(),
            };
            queries.push(Arc::new(internal(series.key, &sql)));
            alarms.insert(series.key, alarms_of(catalog, series.alarms));
        }
        for top in TOP_LISTS {
            let sql = format!(
                "SELECT {expr} AS value, count(*) AS events FROM cloudtrail_logs GROUP BY {expr} \
                 ORDER BY events DESC, value LIMIT {TOP}",
                expr = top.expr
            );
            queries.push(Arc::new(internal(top.key, &sql)));
        }
        Dashboard { queries, alarms }
    }

    /// The queries to add to the scan.
    pub fn queries(&self) -> &[Arc<Query>] {
        &self.queries
    }
}

/// A query of the dashboard's, named `dashboard:KEY`.
fn internal(key: &str, sql: &str) -> Query {
    crate::lang::sql::internal(&format!("{PREFIX}{key}"), sql)
}

/// The count thresholds of the alarm queries named, those the catalogue has.
fn alarms_of(catalog: &Catalog, names: &[&str]) -> Vec<Alarm> {
    (names.iter())
        .filter_map(|name| {
            let query = catalog.get(name)?;
            Some(Alarm {
                query: (*name).to_owned(),
                threshold: count_threshold(&query.plan)?,
            })
        })
        .collect()
}

/// N of a `HAVING count(*) >= N` (or `> N - 1`), alone or on one side of an AND.
pub fn count_threshold(plan: &Plan) -> Option<u64> {
    fn find(expr: &Expr, aggregates: &[Aggregate]) -> Option<u64> {
        match expr {
            Expr::And(a, b) => find(a, aggregates).or_else(|| find(b, aggregates)),
            Expr::Compare(op, a, b) => {
                let (op, aggregate, literal) = match (a.as_ref(), b.as_ref()) {
                    (Expr::Aggregate(i), Expr::Literal(v)) => (*op, *i, v),
                    (Expr::Literal(v), Expr::Aggregate(i)) => (flipped(*op), *i, v),
                    _ => return None,
                };
                if !matches!(aggregates.get(aggregate), Some(Aggregate::CountAll)) {
                    return None;
                }
                let n = match literal {
                    Value::Int(n) => u64::try_from(*n).ok()?,
                    _ => return None,
                };
                match op {
                    CmpOp::GtEq => Some(n),
                    CmpOp::Gt => n.checked_add(1),
                    _ => None,
                }
            }
            _ => None,
        }
    }
    find(plan.having.as_ref()?, &plan.aggregates)
}

fn flipped(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::LtEq => CmpOp::GtEq,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::GtEq => CmpOp::LtEq,
        other => other,
    }
}

/// The dashboard and what its queries counted in a scan: what the HTML page draws.
#[derive(Clone, Copy)]
pub struct Counted<'a> {
    pub dashboard: &'a Dashboard,
    pub results: &'a [ResultSet],
}

/// One account and region, with its events.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Place {
    pub account: String,
    pub region: String,
    pub events: u64,
}

/// A chart over time, read back.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct SeriesView {
    pub key: &'static str,
    pub title: &'static str,
    pub counts_what: &'static str,
    /// Events per bucket of the timeline.
    pub counts: Vec<u64>,
    pub total: u64,
    /// Events without a usable time, not charted.
    pub untimed: u64,
    pub alarms: Vec<Alarm>,
}

/// A top list, read back: values (`None`: the field was absent) and their events.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct TopView {
    pub key: &'static str,
    pub title: &'static str,
    pub entries: Vec<(Option<String>, u64)>,
}

/// The buckets of time the charts share: from `start`, `len` steps of `step`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Timeline {
    pub start: DateTime<Utc>,
    pub step: TimeDelta,
    pub len: usize,
}

/// The most buckets a chart draws: past this, a bucket spans several days.
const MOST_BUCKETS: i64 = 400;
/// The longest span drawn per hour.
const HOURLY_UP_TO: i64 = 72;

impl Timeline {
    /// Buckets from `first` to `last`: per hour up to three days, else per day, else per
    /// as many days as keep the chart within `MOST_BUCKETS` columns.
    pub fn covering(first: DateTime<Utc>, last: DateTime<Utc>) -> Timeline {
        let (first, last) = (first.min(last), first.max(last));
        let hour = TimeDelta::hours(1);
        let day = TimeDelta::days(1);
        let start = first.duration_trunc(hour).unwrap_or(first);
        let hours = (last - start).num_hours() + 1;
        if hours <= HOURLY_UP_TO {
            return Timeline {
                start,
                step: hour,
                len: usize::try_from(hours).unwrap_or(1).max(1),
            };
        }
        let start = first.duration_trunc(day).unwrap_or(first);
        let days = (last - start).num_days() + 1;
        let per = ((days + MOST_BUCKETS - 1) / MOST_BUCKETS).max(1);
        let len = (days + per - 1) / per;
        Timeline {
            start,
            step: TimeDelta::days(per),
            len: usize::try_from(len).unwrap_or(1).max(1),
        }
    }

    /// The bucket `t` falls in, if any.
    pub fn index(&self, t: DateTime<Utc>) -> Option<usize> {
        let since = (t - self.start).num_seconds();
        let step = self.step.num_seconds().max(1);
        if since < 0 {
            return None;
        }
        usize::try_from(since / step).ok().filter(|i| *i < self.len)
    }

    pub fn bucket_start(&self, i: usize) -> DateTime<Utc> {
        let offset = self.step.checked_mul(i32::try_from(i).unwrap_or(i32::MAX));
        offset
            .and_then(|o| self.start.checked_add_signed(o))
            .unwrap_or(self.start)
    }

    pub fn hourly(&self) -> bool {
        self.step == TimeDelta::hours(1)
    }

    /// "per hour", "per day", "per 3 days".
    pub fn unit(&self) -> String {
        if self.hourly() {
            "per hour".to_owned()
        } else if self.step == TimeDelta::days(1) {
            "per day".to_owned()
        } else {
            format!("per {} days", self.step.num_days())
        }
    }

    /// The label of bucket `i` on an axis.
    pub fn label(&self, i: usize) -> String {
        let t = self.bucket_start(i);
        if self.hourly() {
            t.format("%m-%d %H:00").to_string()
        } else {
            t.format("%Y-%m-%d").to_string()
        }
    }
}

/// Everything the page draws from the dashboard's counts.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Views {
    pub places: Vec<Place>,
    pub first: Option<DateTime<Utc>>,
    pub last: Option<DateTime<Utc>>,
    pub timeline: Option<Timeline>,
    pub series: Vec<SeriesView>,
    pub tops: Vec<TopView>,
}

impl Views {
    /// Reads the counts back; `window` (the run's --since and --until) widens the timeline
    /// to the span asked for.
    pub fn read(
        counted: Counted<'_>,
        window: (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
    ) -> Views {
        let rows = |key: &str| {
            let name = format!("{PREFIX}{key}");
            (counted.results.iter())
                .find(|r| r.meta.name == name)
                .map(|r| r.rows.to_vec())
                .unwrap_or_default()
        };
        let mut places = Vec::new();
        let (mut first, mut last) = (None::<DateTime<Utc>>, None::<DateTime<Utc>>);
        for row in rows("places") {
            let values = &row.values;
            places.push(Place {
                account: text(values.first()),
                region: text(values.get(1)),
                events: count(values.get(2)),
            });
            if let Some(t) = values.get(3).and_then(Value::as_time) {
                first = Some(first.map_or(t, |f| f.min(t)));
            }
            if let Some(t) = values.get(4).and_then(Value::as_time) {
                last = Some(last.map_or(t, |l| l.max(t)));
            }
        }
        places.sort_by(|a, b| {
            (b.events.cmp(&a.events))
                .then_with(|| a.account.cmp(&b.account))
                .then_with(|| a.region.cmp(&b.region))
        });
        let (since, until) = window;
        // The window's end is exclusive: its last hour is the one before it.
        let until = until.map(|u| u - TimeDelta::seconds(1));
        let from = [first, since].into_iter().flatten().min();
        let to = [last, until].into_iter().flatten().max();
        let timeline = match (first, from, to) {
            (Some(_), Some(from), Some(to)) => Some(Timeline::covering(from, to)),
            _ => None,
        };

        let mut series = Vec::new();
        for s in SERIES {
            let Some(alarms) = counted.dashboard.alarms.get(s.key) else {
                continue;
            };
            let mut counts = vec![0u64; timeline.map_or(0, |t| t.len)];
            let (mut total, mut untimed) = (0u64, 0u64);
            for row in rows(s.key) {
                let n = count(row.values.get(1));
                total = total.saturating_add(n);
                match (row.values.first().and_then(Value::as_time), &timeline) {
                    (Some(t), Some(timeline)) => match timeline.index(t) {
                        Some(i) => counts[i] = counts[i].saturating_add(n),
                        None => untimed = untimed.saturating_add(n),
                    },
                    _ => untimed = untimed.saturating_add(n),
                }
            }
            series.push(SeriesView {
                key: s.key,
                title: s.title,
                counts_what: s.counts,
                counts,
                total,
                untimed,
                alarms: alarms.clone(),
            });
        }

        let mut tops: Vec<TopView> = (TOP_LISTS.iter())
            .map(|top| TopView {
                key: top.key,
                title: top.title,
                entries: (rows(top.key).iter())
                    .map(|row| {
                        let value = row.values.first().and_then(|v| v.to_text());
                        (value.map(|v| v.into_owned()), count(row.values.get(1)))
                    })
                    .collect(),
            })
            .collect();
        let mut regions: BTreeMap<&str, u64> = BTreeMap::new();
        for place in &places {
            let events = regions.entry(place.region.as_str()).or_default();
            *events = events.saturating_add(place.events);
        }
        let mut regions: Vec<(Option<String>, u64)> = (regions.into_iter())
            .map(|(region, events)| ((!region.is_empty()).then(|| region.to_owned()), events))
            .collect();
        regions.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        regions.truncate(TOP);
        tops.push(TopView {
            key: "regions",
            title: "Regions",
            entries: regions,
        });
        Views {
            places,
            first,
            last,
            timeline,
            series,
            tops,
        }
    }

    /// The accounts seen, each once, in order.
    pub fn accounts(&self) -> Vec<&str> {
        let mut accounts: Vec<&str> = (self.places.iter())
            .map(|p| p.account.as_str())
            .filter(|a| !a.is_empty())
            .collect();
        accounts.sort_unstable();
        accounts.dedup();
        accounts
    }

    /// The regions seen, each once, in order.
    pub fn regions(&self) -> Vec<&str> {
        let mut regions: Vec<&str> = (self.places.iter())
            .map(|p| p.region.as_str())
            .filter(|r| !r.is_empty())
            .collect();
        regions.sort_unstable();
        regions.dedup();
        regions
    }
}

fn text(value: Option<&OwnedValue>) -> String {
    value
        .and_then(|v| v.to_text())
        .map(|t| t.into_owned())
        .unwrap_or_default()
}

fn count(value: Option<&OwnedValue>) -> u64 {
    match value {
        Some(Value::Int(n)) => u64::try_from(*n).unwrap_or(0),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn time(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    #[test]
    fn the_timeline_is_hourly_for_three_days_then_daily() {
        let t = Timeline::covering(time("2026-11-19T23:10:00Z"), time("2026-11-21T00:05:00Z"));
        assert_eq!((t.step, t.len), (TimeDelta::hours(1), 26));
        assert_eq!(t.start, time("2026-11-19T23:00:00Z"));
        assert_eq!(t.index(time("2026-11-20T15:59:59Z")), Some(16));
        assert_eq!(t.index(time("2026-11-19T22:59:59Z")), None);
        assert_eq!(t.label(1), "11-20 00:00");
        assert_eq!(t.unit(), "per hour");

        let t = Timeline::covering(time("2026-11-01T10:00:00Z"), time("2026-11-20T01:00:00Z"));
        assert_eq!((t.step, t.len), (TimeDelta::days(1), 20));
        assert_eq!(t.label(19), "2026-11-20");
        assert_eq!(t.index(time("2026-11-20T23:00:00Z")), Some(19));

        // A forged time decades away makes buckets of several days, never millions of them.
        let t = Timeline::covering(time("1971-01-01T00:00:00Z"), time("2026-11-20T01:00:00Z"));
        assert!(t.len as i64 <= MOST_BUCKETS, "{}", t.len);
        assert!(t.unit().starts_with("per ") && t.unit().ends_with(" days"));
        assert_eq!(t.index(time("2026-11-20T01:00:00Z")), Some(t.len - 1));
        let t = Timeline::covering(DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC);
        assert!(t.len as i64 <= MOST_BUCKETS && t.len > 0);
        let _ = (t.label(0), t.label(t.len - 1), t.label(usize::MAX));
    }

    #[test]
    fn thresholds_are_read_from_having() {
        let plan = |sql: &str| crate::lang::sql::internal("t", sql).plan;
        let grouped =
            "SELECT sourceIPAddress, count(*) FROM cloudtrail_logs GROUP BY sourceIPAddress";
        assert_eq!(
            count_threshold(&plan(&format!("{grouped} HAVING count(*) >= 5"))),
            Some(5)
        );
        assert_eq!(
            count_threshold(&plan(&format!("{grouped} HAVING count(*) > 9"))),
            Some(10)
        );
        assert_eq!(
            count_threshold(&plan(&format!("{grouped} HAVING 3 <= count(*)"))),
            Some(3)
        );
        assert_eq!(
            count_threshold(&plan(&format!(
                "{grouped} HAVING count(DISTINCT eventName) >= 2 AND count(*) >= 7"
            ))),
            Some(7)
        );
        assert_eq!(
            count_threshold(&plan(&format!("{grouped} HAVING count(*) < 5"))),
            None
        );
        assert_eq!(count_threshold(&plan(grouped)), None);
    }

    #[test]
    fn the_catalogue_alarms_are_found() {
        let catalog = Catalog::load(None).unwrap();
        let dashboard = Dashboard::new(&catalog);
        assert_eq!(
            dashboard.alarms["failed-sign-ins"],
            [
                Alarm {
                    query: "brute-force-logins".into(),
                    threshold: 5
                },
                Alarm {
                    query: "brute-force-logins-by-user".into(),
                    threshold: 5
                }
            ]
        );
        assert_eq!(
            dashboard.queries().len(),
            1 + SERIES.len() + TOP_LISTS.len()
        );
        assert!(
            (dashboard.queries().iter()).all(|q| q.name().starts_with(PREFIX)),
            "no name a query file could have"
        );
    }
}
