//! What a scan computes: the audit, one query, ad-hoc SQL, or an analysis, over its query set.

use crate::analysis::{Analysis, Inputs};
use crate::output::{Format, Mode, OwnFormat};
use crate::query::QuerySet;
use crate::results::ResultSet;

/// The kind of a scan, which decides how its rows are presented and whether they are findings.
pub enum JobKind {
    /// Every selected query of the catalogue.
    Audit,
    /// One query of the catalogue, by name.
    One,
    /// SQL typed on the command line: its rows are results, never findings or alerts.
    AdHoc,
    /// An analysis: its inputs are scanned, its findings made from their rows.
    Analysis(Box<dyn Analysis>),
}

/// A scan to run: the queries evaluated on every record, and what is made of their rows.
pub struct Job {
    pub queries: QuerySet,
    pub kind: JobKind,
}

impl Job {
    pub fn mode(&self) -> Mode {
        match self.kind {
            JobKind::Audit => Mode::Audit,
            _ => Mode::Single,
        }
    }

    /// Whether its rows are findings (exit status, alerts) rather than plain results.
    pub fn finds(&self) -> bool {
        !matches!(self.kind, JobKind::AdHoc)
    }

    /// What is reported: the queries' results, or an analysis's findings made from them.
    pub fn finish(&self, results: Vec<ResultSet>) -> Vec<ResultSet> {
        match &self.kind {
            JobKind::Analysis(analysis) => analysis.finish(Inputs::new(results)),
            _ => results,
        }
    }

    /// The job's own printer for `format`, if it has one (an analysis's blocklist).
    pub fn own_format(&self, format: Format) -> Option<Box<dyn OwnFormat>> {
        match &self.kind {
            JobKind::Analysis(analysis) => analysis.own_format(format),
            _ => None,
        }
    }
}
