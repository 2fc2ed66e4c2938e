//! What a printer prints: the report of a run, how it is presented, and the text of one value.

use std::io::{self, Write};

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
