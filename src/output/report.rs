//! What a printer prints: the report of a run, how it is presented, and the text of one value.

use std::io::{self, Write};

use chrono::{DateTime, Utc};

use super::html::Counted;
use super::sanitize;
use crate::record::OwnedValue;
use crate::results::{ResultSet, Summary};

/// How the rows are presented: an audit lists every query it ran, a single query its table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Audit,
    Single,
}

/// What a run prints: its results, in order, and its summary.
pub struct Report<'a> {
    pub results: &'a [ResultSet],
    pub summary: &'a Summary,
    pub mode: Mode,
    /// What the run was asked to read: the HTML report describes it.
    pub scope: &'a Scope,
    /// What the HTML report's own queries counted in the same pass, when the format is HTML.
    pub dashboard: Option<Counted<'a>>,
}

/// What a run was asked to read: its sources, time window and filters, as given.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub sources: Vec<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
}

/// A format an analysis prints itself, from its findings.
pub trait OwnFormat {
    fn print(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()>;
}

pub(super) fn value_text(value: &OwnedValue) -> String {
    value
        .to_text()
        .map(|t| sanitize::for_terminal(&t).into_owned())
        .unwrap_or_default()
}

pub(super) fn megabytes(bytes: u64) -> String {
    format!("{:.2} MB", bytes as f64 / 1e6)
}
