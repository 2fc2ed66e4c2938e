//! Queries: SQL compiled to plans, evaluated together over each record in one pass.

pub mod catalog;
pub mod eval;
pub mod sql;
pub mod suppress;

use std::sync::Arc;

pub use catalog::{AnalysisMeta, Catalog, LintError, Origin, Query, Severity};
pub use eval::{Accumulator, Position, Row};
pub use suppress::Suppression;

use crate::projection::Projection;
use crate::record::{FieldPath, Record};

/// The queries of one run, evaluated together on every record (ripgrep's Matcher).
#[derive(Debug, Clone)]
pub struct QuerySet {
    queries: Vec<Arc<Query>>,
    /// Per query, what the configuration tells it to ignore.
    suppressions: Vec<Suppression>,
}

impl QuerySet {
    pub fn new(queries: Vec<Arc<Query>>) -> Self {
        let suppressions = vec![Suppression::default(); queries.len()];
        QuerySet {
            queries,
            suppressions,
        }
    }

    /// Keeps the queries whose name `keep` accepts.
    pub fn retain(self, keep: impl Fn(&str) -> bool) -> QuerySet {
        let (queries, suppressions) = self
            .queries
            .into_iter()
            .zip(self.suppressions)
            .filter(|(q, _)| keep(&q.name))
            .unzip();
        QuerySet {
            queries,
            suppressions,
        }
    }

    /// Applies `suppression` to the query called `name`, if the set has it.
    pub fn suppress(&mut self, name: &str, suppression: Suppression) {
        if let Some(i) = self.queries.iter().position(|q| q.name == name) {
            self.suppressions[i] = suppression;
        }
    }

    pub fn queries(&self) -> &[Arc<Query>] {
        &self.queries
    }

    /// The fields the set reads, plus those every scan needs (time, identity, filters,
    /// suppressions): what decoding must keep of each event.
    pub fn projection(&self) -> Projection {
        let always = [
            "eventTime",
            "eventID",
            "eventVersion",
            "eventName",
            "recipientAccountId",
            "awsRegion",
            "sourceIPAddress",
            "userIdentity.arn",
        ]
        .map(FieldPath::parse);
        let mut projection = Projection::of(&always);
        for query in &self.queries {
            for path in query.plan.paths() {
                projection.add(path);
            }
        }
        projection
    }

    pub fn accumulators(&self) -> Vec<Accumulator> {
        self.queries
            .iter()
            .map(|_| Accumulator::default())
            .collect()
    }

    pub fn accumulate(
        &self,
        accumulators: &mut [Accumulator],
        record: Record<'_, '_>,
        position: Position,
    ) {
        for ((query, acc), suppression) in self
            .queries
            .iter()
            .zip(accumulators.iter_mut())
            .zip(&self.suppressions)
        {
            let suppressed = |r: Record<'_, '_>| !suppression.is_empty() && suppression.matches(r);
            query.plan.accumulate(acc, record, position, suppressed);
        }
    }

    pub fn trim(&self, accumulators: &mut [Accumulator]) {
        for (query, acc) in self.queries.iter().zip(accumulators.iter_mut()) {
            query.plan.trim(acc);
        }
    }

    pub fn merge(&self, into: &mut [Accumulator], from: Vec<Accumulator>) {
        for ((query, a), b) in self.queries.iter().zip(into.iter_mut()).zip(from) {
            if !b.is_empty() {
                query.plan.merge(a, b);
            }
        }
    }

    pub fn finish(&self, accumulators: Vec<Accumulator>) -> Vec<QueryResult> {
        self.queries
            .iter()
            .zip(accumulators)
            .map(|(query, acc)| QueryResult {
                query: Arc::clone(query),
                suppressed: acc.suppressed(),
                rows: query.plan.finish(acc),
            })
            .collect()
    }
}

/// The rows one query returned, in their final order.
#[derive(Debug, Clone)]
pub struct QueryResult {
    pub query: Arc<Query>,
    pub rows: Vec<Row>,
    /// Matching records left out by a suppression.
    pub suppressed: u64,
}
