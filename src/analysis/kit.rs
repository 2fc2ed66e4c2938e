//! What every analysis is made of: the trait, its inputs by name, its findings, its periods.

use std::sync::Arc;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};

use crate::catalog::Catalog;
use crate::meta::{Meta, Severity};
use crate::output::{Format, OwnFormat};
use crate::query::Query;
use crate::record::{OwnedValue, Value};
use crate::results::{ResultSet, Row};

/// An analysis: the queries it runs in the scan, and the findings it makes of their rows.
pub trait Analysis: Send + Sync {
    /// The queries it runs, each known in `finish` by its name.
    fn inputs(&self, catalog: &Catalog) -> Vec<Arc<Query>>;

    /// Its findings, from the results of its inputs.
    fn finish(&self, inputs: Inputs) -> Vec<ResultSet>;

    /// The queries of a further pass over the same objects, made from the results of the
    /// passes so far (`trace` follows credentials issued in the first pass), or `None` when
    /// it has all it needs.
    fn next_pass(
        &self,
        results: &[ResultSet],
        catalog: &Catalog,
    ) -> anyhow::Result<Option<Vec<Arc<Query>>>> {
        let _ = (results, catalog);
        Ok(None)
    }

    /// Whether its rows are findings (exit status 1, alerts) rather than results to read.
    fn finds(&self) -> bool {
        true
    }

    /// A format it prints itself, when `format` is one.
    fn own_format(&self, format: Format) -> Option<Box<dyn OwnFormat>> {
        let _ = format;
        None
    }

    /// The addresses its findings among `results` flag for `--block`, the busiest first;
    /// `None` when it flags no addresses (then `--block` is refused with it).
    fn blockable(&self, results: &[ResultSet]) -> Option<Blockable> {
        let _ = results;
        None
    }
}

/// What an analysis offers `--block`: addresses with their reasons, and what never to block.
#[derive(Debug, Clone, Default)]
pub struct Blockable {
    /// The finding whose alert says what was blocked (`suspicious-ips`).
    pub finding: String,
    pub flagged: Vec<(std::net::IpAddr, String)>,
    /// The organisation's own networks (`--known-cidrs`, `known_cidrs`).
    pub known: Option<crate::net::Networks>,
}

/// What an analysis is built with besides its own arguments: the configuration's settings.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// `known_cidrs` of the configuration file (the organisation's networks), and where it
    /// was written, for errors.
    pub known_cidrs: Option<(Vec<String>, String)>,
}

/// The arguments of one analysis's command, which build it.
pub trait Command {
    fn build(self, settings: &Settings) -> anyhow::Result<Box<dyn Analysis>>;
}

/// An analysis's command as typed: its own arguments, then its sources (after its own
/// positional arguments, such as `trace`'s SEED).
#[derive(Debug, Clone, clap::Args)]
pub struct WithSources<A: clap::Args> {
    #[command(flatten)]
    pub args: A,
    #[arg(value_name = "SOURCES")]
    pub sources: Vec<String>,
}

/// The results of an analysis's inputs, found by name.
pub struct Inputs {
    results: Vec<ResultSet>,
}

impl Inputs {
    pub fn new(results: Vec<ResultSet>) -> Inputs {
        Inputs { results }
    }

    /// Every row of the input called `name` (groups, mostly: little enough to hold).
    pub fn rows(&self, name: &str) -> Vec<Row> {
        rows_of(&self.results, name)
    }

    /// What the input called `name` says of itself.
    pub fn meta(&self, name: &str) -> Option<&Meta> {
        (self.results.iter())
            .find(|r| r.meta.name == name)
            .map(|r| r.meta.as_ref())
    }

    /// The names of the inputs, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.results.iter().map(|r| r.meta.name.as_str())
    }

    /// The input called `name`, as it is: a query's result passed on among the findings.
    pub fn take(&mut self, name: &str) -> Option<ResultSet> {
        let at = self.results.iter().position(|r| r.meta.name == name)?;
        Some(self.results.remove(at))
    }
}

/// Every row of the result called `name` among `results`.
pub(super) fn rows_of(results: &[ResultSet], name: &str) -> Vec<Row> {
    (results.iter())
        .find(|r| r.meta.name == name)
        .map(|r| r.rows.to_vec())
        .unwrap_or_default()
}

/// An input query: trailscan's own SQL, known by `name`.
pub(super) fn input(name: &str, sql: &str) -> Arc<Query> {
    Arc::new(crate::lang::sql::internal(name, sql))
}

/// What an analysis says about one kind of its findings, written in code.
pub(super) struct Describe {
    pub(super) name: &'static str,
    pub(super) title: &'static str,
    pub(super) severity: Severity,
    pub(super) description: &'static str,
    pub(super) references: &'static str,
    pub(super) runbook: &'static str,
    pub(super) tactics: &'static [&'static str],
    pub(super) techniques: &'static [&'static str],
}

impl Describe {
    pub(super) fn meta(&self) -> Meta {
        let owned = |items: &[&str]| items.iter().map(|i| (*i).to_owned()).collect();
        Meta {
            name: self.name.to_owned(),
            title: self.title.to_owned(),
            severity: self.severity,
            description: self.description.to_owned(),
            references: self.references.to_owned(),
            runbook: self.runbook.to_owned(),
            tactics: owned(self.tactics),
            techniques: owned(self.techniques),
            details: Vec::new(),
        }
    }
}

pub(super) fn finding(describe: &Describe, columns: &[&str], rows: Vec<Row>) -> ResultSet {
    ResultSet::new(Arc::new(describe.meta()), columns, rows)
}

pub(super) fn text(value: &OwnedValue) -> String {
    value.to_text().map(|t| t.into_owned()).unwrap_or_default()
}

pub(super) fn number(value: &OwnedValue) -> u64 {
    match value {
        Value::Int(i) => u64::try_from(*i).unwrap_or(0),
        _ => 0,
    }
}

pub(super) fn time(value: &OwnedValue) -> Option<DateTime<Utc>> {
    value.as_time()
}

pub(super) fn int(n: u64) -> OwnedValue {
    Value::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

pub(super) fn string(s: impl Into<String>) -> OwnedValue {
    Value::Str(s.into().into())
}

/// The baseline and the recent period that `insights` and `secrets-access` compare.
#[derive(Debug, Clone, clap::Args)]
pub struct PeriodArgs {
    /// The recent period, ending at the newest event
    #[arg(long, value_name = "DURATION", default_value = "24h")]
    pub recent: String,
    /// How far back before the recent period the baseline reaches [default: all earlier data]
    #[arg(long, value_name = "DURATION")]
    pub baseline: Option<String>,
}

/// The periods `insights` and `secrets-access` compare: a baseline, then a recent period.
#[derive(Debug, Clone, Copy)]
pub struct Periods {
    pub recent: TimeDelta,
    /// How far the baseline reaches back before the recent period; `None`: all of it.
    pub baseline: Option<TimeDelta>,
}

impl PeriodArgs {
    pub(super) fn periods(&self) -> anyhow::Result<Periods> {
        let duration = |flag: &str, text: &str| {
            crate::source::parse_duration(text).ok_or_else(|| {
                anyhow::anyhow!("invalid {flag}: '{text}' is not a duration such as 24h or 7d")
            })
        };
        Ok(Periods {
            recent: duration("--recent", &self.recent)?,
            baseline: self
                .baseline
                .as_deref()
                .map(|b| duration("--baseline", b))
                .transpose()?,
        })
    }
}

impl Periods {
    /// Where the recent period starts, and the baseline before it:
    /// `[baseline_start, recent_start)`, for events from `first` to `last`.
    pub(super) fn split(
        self,
        first: DateTime<Utc>,
        last: DateTime<Utc>,
    ) -> (DateTime<Utc>, DateTime<Utc>) {
        let hour = |t: DateTime<Utc>| t.duration_trunc(TimeDelta::hours(1)).unwrap_or(t);
        let end = hour(last) + TimeDelta::hours(1);
        let recent_start = end - self.recent;
        let baseline_start = match self.baseline {
            Some(span) => (recent_start - span).max(hour(first)),
            None => hour(first),
        };
        (baseline_start, recent_start)
    }
}
