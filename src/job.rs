//! What a scan computes: the audit, one query, ad-hoc SQL, or an analysis, over its query set.

use std::borrow::Cow;

use crate::analysis::{Analysis, Inputs};
use crate::output::html::Dashboard;
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
    /// What the HTML report counts (`--format html`): its queries are evaluated in the same
    /// pass (`scanned`), and their rows are never findings.
    pub dashboard: Option<Dashboard>,
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

    /// The queries a scan evaluates: the job's, then the dashboard's when there is one.
    pub fn scanned(&self) -> Cow<'_, QuerySet> {
        match &self.dashboard {
            Some(dashboard) => Cow::Owned(self.queries.clone().with(dashboard.queries())),
            None => Cow::Borrowed(&self.queries),
        }
    }

    /// What is reported from the results of `scanned`: the queries' results, or an
    /// analysis's findings made from them; and apart, what the dashboard's queries counted.
    pub fn finish(&self, mut results: Vec<ResultSet>) -> (Vec<ResultSet>, Vec<ResultSet>) {
        let counted = match &self.dashboard {
            Some(dashboard) => {
                let at = results.len().saturating_sub(dashboard.queries().len());
                results.split_off(at)
            }
            None => Vec::new(),
        };
        let reported = match &self.kind {
            JobKind::Analysis(analysis) => analysis.finish(Inputs::new(results)),
            _ => results,
        };
        (reported, counted)
    }

    /// The job's own printer for `format`, if it has one (an analysis's blocklist).
    pub fn own_format(&self, format: Format) -> Option<Box<dyn OwnFormat>> {
        match &self.kind {
            JobKind::Analysis(analysis) => analysis.own_format(format),
            _ => None,
        }
    }
}
