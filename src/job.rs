//! What a scan computes: the audit, one query, ad-hoc SQL, or an analysis, over its query set.

use std::borrow::Cow;

use crate::analysis::{Analysis, Blockable, Inputs, fired_name};
use crate::catalog::Catalog;
use crate::output::html::Dashboard;
use crate::output::{Format, Mode, OwnFormat};
use crate::query::{QuerySet, Suppression};
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
    /// The configuration's `[suppress.NAME]` rules by query name, applied to `queries` and
    /// to the queries of any further pass.
    pub suppressions: Vec<(String, Suppression)>,
}

/// `set` with each of `suppressions` applied to the query it names and to the copies of that
/// query an investigation runs (`fired:NAME`).
pub fn suppressed(mut set: QuerySet, suppressions: &[(String, Suppression)]) -> QuerySet {
    for (name, suppression) in suppressions {
        set.suppress(name, suppression.clone());
        set.suppress(&fired_name(name), suppression.clone());
    }
    set
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
        match &self.kind {
            JobKind::AdHoc => false,
            JobKind::Analysis(analysis) => analysis.finds(),
            _ => true,
        }
    }

    /// The queries of a further pass over the same objects, when the analysis needs one
    /// after seeing `results` (the passes so far, the dashboard's counts last).
    pub fn next_pass(
        &self,
        results: &[ResultSet],
        catalog: &Catalog,
    ) -> anyhow::Result<Option<QuerySet>> {
        let JobKind::Analysis(analysis) = &self.kind else {
            return Ok(None);
        };
        let own = &results[..self.pass_results_at(results.len())];
        Ok((analysis.next_pass(own, catalog)?)
            .map(|queries| suppressed(QuerySet::new(queries), &self.suppressions)))
    }

    /// Where the results of a further pass go among `len` results: before the dashboard's
    /// counts, which `finish` takes from the end.
    pub fn pass_results_at(&self, len: usize) -> usize {
        let counted = self.dashboard.as_ref().map_or(0, |d| d.queries().len());
        len.saturating_sub(counted)
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

    /// The addresses its findings flag for `--block`, when its analysis flags addresses.
    pub fn blockable(&self, results: &[ResultSet]) -> Option<Blockable> {
        match &self.kind {
            JobKind::Analysis(analysis) => analysis.blockable(results),
            _ => None,
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
