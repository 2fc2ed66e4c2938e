//! Queries: SQL compiled to plans, evaluated together over each record in one pass.

pub mod catalog;
pub mod eval;
pub mod sql;

use std::sync::Arc;

pub use catalog::{Catalog, LintError, Origin, Query, Severity};
pub use eval::{Accumulator, Position};

use crate::record::{OwnedValue, Record};

/// The queries of one run, evaluated together on every record (ripgrep's Matcher).
#[derive(Debug, Clone)]
pub struct QuerySet {
    queries: Vec<Arc<Query>>,
}

impl QuerySet {
    pub fn new(queries: Vec<Arc<Query>>) -> Self {
        QuerySet { queries }
    }

    pub fn queries(&self) -> &[Arc<Query>] {
        &self.queries
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
        for (query, acc) in self.queries.iter().zip(accumulators.iter_mut()) {
            query.plan.accumulate(acc, record, position);
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
                rows: query.plan.finish(acc),
            })
            .collect()
    }
}

/// The rows one query returned, in their final order.
#[derive(Debug, Clone)]
pub struct QueryResult {
    pub query: Arc<Query>,
    pub rows: Vec<Vec<OwnedValue>>,
}
