//! The query engine: compiled plans evaluated together over each record, in one pass.
//!
//! Layers, each importing only those below it: `like` → `plan` → `eval` → `stored` →
//! `groups` → `aggregate` → `prefilter` → `QuerySet` (here). Rule languages (`lang`) compile
//! into `Plan`s; the decoder learns what to read from `QuerySet::needs`, in neutral terms.

mod aggregate;
pub mod eval;
mod groups;
pub mod like;
pub mod plan;
pub mod prefilter;
mod stored;
pub mod suppress;

use std::sync::Arc;

pub use aggregate::Accumulator;
pub use plan::Plan;
pub use suppress::Suppression;

use eval::holds_for_field;
use prefilter::{Dispatch, FieldGate};
use rayon::prelude::*;

use crate::meta::{Meta, Origin};
use crate::needs::{FieldTest, Gate, NameTest, Needs};
use crate::record::{FieldPath, Record, Value};
use crate::results::{PendingRow, Position, ResultSet, RowShape, RowStore};

/// A query: what it says about its findings, its plan, and where it came from.
#[derive(Debug, Clone)]
pub struct Query {
    pub meta: Arc<Meta>,
    pub plan: Plan,
    pub origin: Origin,
    /// The whole definition as written: what `trailscan show` prints and Athena runs.
    pub text: String,
}

impl Query {
    pub fn name(&self) -> &str {
        &self.meta.name
    }
}

/// The queries of one run, evaluated together on every record (ripgrep's Matcher).
#[derive(Debug, Clone)]
pub struct QuerySet {
    queries: Vec<Arc<Query>>,
    /// Per query, what the configuration tells it to ignore.
    suppressions: Vec<Suppression>,
    /// Which queries can match a record, by its event name (ripgrep's literal prefilter).
    dispatch: Dispatch,
}

static EVENT_NAME: std::sync::LazyLock<FieldPath> =
    std::sync::LazyLock::new(|| FieldPath::parse("eventName"));

impl QuerySet {
    pub fn new(queries: Vec<Arc<Query>>) -> Self {
        let suppressions = vec![Suppression::default(); queries.len()];
        let dispatch = Dispatch::new(queries.iter().map(|q| &q.plan));
        QuerySet {
            queries,
            suppressions,
            dispatch,
        }
    }

    /// Keeps the queries whose name `keep` accepts.
    pub fn retain(self, keep: impl Fn(&str) -> bool) -> QuerySet {
        let (queries, suppressions): (Vec<_>, Vec<_>) = self
            .queries
            .into_iter()
            .zip(self.suppressions)
            .filter(|(q, _)| keep(q.name()))
            .unzip();
        let dispatch = Dispatch::new(queries.iter().map(|q| &q.plan));
        QuerySet {
            queries,
            suppressions,
            dispatch,
        }
    }

    /// The set with `more` queries after its own, which no suppression applies to.
    pub fn with(self, more: &[Arc<Query>]) -> QuerySet {
        let mut queries = self.queries;
        let mut suppressions = self.suppressions;
        queries.extend(more.iter().cloned());
        suppressions.resize(queries.len(), Suppression::default());
        let dispatch = Dispatch::new(queries.iter().map(|q| &q.plan));
        QuerySet {
            queries,
            suppressions,
            dispatch,
        }
    }

    /// Applies `suppression` to the query called `name`, if the set has it.
    pub fn suppress(&mut self, name: &str, suppression: Suppression) {
        if let Some(i) = self.queries.iter().position(|q| q.name() == name) {
            self.suppressions[i] = suppression;
        }
    }

    /// The queries, in the set's order (`athena run` sends them elsewhere).
    pub fn queries(&self) -> &[Arc<Query>] {
        &self.queries
    }

    /// The fields the set reads, plus those the scan reads of every event (its time when
    /// the scan has a window: `timed`; its account and region unless the object's key says
    /// them: `located`) and those every evaluated event needs (identity, suppressions):
    /// what decoding must keep of each event, told apart by the event names the queries ask
    /// for, and, for queries that name none, by a condition on one field that they need.
    pub fn needs(&self, located: bool, timed: bool) -> Needs {
        let mut always: Vec<FieldPath> = [
            ("eventTime", timed),
            ("recipientAccountId", !located),
            ("awsRegion", !located),
        ]
        .into_iter()
        .filter(|(_, needed)| *needed)
        .map(|(name, _)| FieldPath::parse(name))
        .collect();
        // What a finding is known by, and what suppressions match on.
        let identity = [
            "eventID",
            "eventName",
            "sourceIPAddress",
            "userIdentity.arn",
        ]
        .map(FieldPath::parse);
        // What each query reads, once: with an `IN` of many event names, a query is
        // looked up under each of them.
        let paths: Vec<Vec<&FieldPath>> = (self.queries.iter()).map(|q| q.plan.paths()).collect();
        let reads = |queries: &[usize]| -> Vec<FieldPath> {
            let read = queries.iter().flat_map(|&i| paths[i].iter().copied());
            identity.iter().chain(read).cloned().collect()
        };
        let mut gated: Vec<(Gate, Vec<FieldPath>)> = Vec::new();
        for &i in &self.dispatch.always {
            match self.queries[i].plan.field_gate() {
                Some(FieldGate { path, condition }) => {
                    let test = FieldTest::new(path.clone(), move |value, is_container| {
                        holds_for_field(&condition, &path, value, is_container)
                    });
                    gated.push((Gate::Field(test), reads(&[i])));
                }
                None => always.extend(reads(&[i])),
            }
        }
        let by_name = (self.dispatch.by_name.iter())
            .map(|(name, queries)| (name.clone(), reads(queries)))
            .collect();
        // Queries that name events in any case share one gate: the name is lowercased
        // once per event, not once per query.
        if !self.dispatch.by_lowered_name.is_empty() {
            let names: foldhash::HashSet<String> =
                self.dispatch.by_lowered_name.keys().cloned().collect();
            let queries: Vec<usize> = (self.dispatch.by_lowered_name.values())
                .flatten()
                .copied()
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            let test = NameTest::new(move |name| names.contains(&name.to_lowercase()));
            gated.push((Gate::Name(test), reads(&queries)));
        }
        gated.extend(self.dispatch.by_filter.iter().map(|(i, filter)| {
            let filter = filter.clone();
            let test = NameTest::new(move |name| filter.accepts(name));
            (Gate::Name(test), reads(&[*i]))
        }));
        Needs {
            always,
            by_name,
            gated,
        }
    }

    /// What each query's rows hold and how they are ordered: the shape of the store's slots.
    pub fn shapes(&self) -> Vec<RowShape> {
        (self.queries.iter())
            .map(|q| RowShape {
                columns: q.plan.columns.len(),
                order: q.plan.order.clone(),
            })
            .collect()
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
        let mut evaluate = |i: usize| {
            let suppression = &self.suppressions[i];
            let suppressed = |r: Record<'_, '_>| !suppression.is_empty() && suppression.matches(r);
            self.queries[i]
                .plan
                .accumulate(&mut accumulators[i], record, position, suppressed);
        };
        for &i in &self.dispatch.always {
            evaluate(i);
        }
        match record.get(&EVENT_NAME) {
            Value::Str(name) => self.dispatch.named(&name).for_each(evaluate),
            // An absent or null eventName satisfies none of them.
            Value::Null => {}
            // Any other type compares as SQL says: evaluate every query that names one.
            _ => self.dispatch.named_any().into_iter().for_each(evaluate),
        }
    }

    /// Merges `from` into `into`, query by query; the queries in parallel, because a few of
    /// them (top lists of addresses, hourly groups per principal) hold most of the groups.
    pub fn merge(&self, into: &mut [Accumulator], from: Vec<Accumulator>) {
        (self.queries.par_iter().zip(into.par_iter_mut()).zip(from))
            .filter(|(_, b)| !b.is_empty())
            .for_each(|((query, a), b)| query.plan.merge(a, b));
    }

    /// The rows each query gathered so far, by query index, handed over to a store.
    pub fn take_rows<'a>(
        &self,
        accumulators: &'a mut [Accumulator],
    ) -> impl Iterator<Item = (usize, Vec<PendingRow>)> + 'a {
        accumulators
            .iter_mut()
            .map(Accumulator::take_rows)
            .enumerate()
    }

    /// Each query's result, from the rows `store` took and what `accumulators` hold.
    pub fn finish(&self, accumulators: Vec<Accumulator>, store: RowStore) -> Vec<ResultSet> {
        let counts: Vec<(u64, u64)> = (accumulators.iter())
            .map(|acc| (acc.suppressed(), acc.failed()))
            .collect();
        let (tails, failed_in_groups): (Vec<_>, Vec<_>) =
            (self.queries.par_iter().zip(accumulators))
                .map(|(query, acc)| query.plan.rows_to_order(acc))
                .unzip();
        let rows = store.finish(tails);
        (self
            .queries
            .iter()
            .zip(counts)
            .zip(failed_in_groups)
            .zip(rows))
        .map(
            |(((query, (suppressed, failed)), in_groups), rows)| ResultSet {
                meta: Arc::clone(&query.meta),
                columns: query.plan.columns.iter().cloned().collect(),
                rows,
                suppressed,
                failed: failed + in_groups,
            },
        )
        .collect()
    }
}
