//! Queries: SQL compiled to plans, evaluated together over each record in one pass.

pub mod catalog;
pub mod eval;
pub mod rows;
pub mod sql;
pub mod suppress;

use std::collections::HashMap;
use std::sync::Arc;

pub use catalog::{AnalysisMeta, Catalog, LintError, Origin, Query, Severity};
pub use eval::{Accumulator, Position, Row};
pub use rows::{MEMORY_BUDGET, RowStore, Rows};
pub use suppress::Suppression;

use sql::{FieldGate, NameFilter};

use crate::projection::{Condition, FieldTest, NameTest, Projection};
use crate::record::{FieldPath, Record, Value};

/// The queries of one run, evaluated together on every record (ripgrep's Matcher).
#[derive(Debug, Clone)]
pub struct QuerySet {
    queries: Vec<Arc<Query>>,
    /// Per query, what the configuration tells it to ignore.
    suppressions: Vec<Suppression>,
    /// Which queries can match a record, by its event name (ripgrep's literal prefilter).
    dispatch: Dispatch,
}

/// Most queries require one of a few event names: looking the name up once per record and
/// evaluating only the queries that could match spares the rest.
#[derive(Debug, Clone, Default)]
struct Dispatch {
    /// Queries that may match whatever the event name.
    always: Vec<usize>,
    /// Queries that name the events they want, by name.
    by_name: foldhash::HashMap<String, Vec<usize>>,
    /// Queries with another condition on the name alone (`LIKE`, `OR`), tried per record.
    by_filter: Vec<(usize, NameFilter)>,
}

impl Dispatch {
    fn new(queries: &[Arc<Query>]) -> Dispatch {
        let mut dispatch = Dispatch::default();
        for (i, query) in queries.iter().enumerate() {
            match query.plan.name_filter() {
                Some(filter) => match filter.exact_names() {
                    Some(names) => {
                        for name in names {
                            let list = dispatch.by_name.entry(name.clone()).or_default();
                            if list.last() != Some(&i) {
                                list.push(i);
                            }
                        }
                    }
                    None => dispatch.by_filter.push((i, filter)),
                },
                None => dispatch.always.push(i),
            }
        }
        dispatch
    }

    /// The queries that can match a record named `name`, beyond `always`.
    fn named(&self, name: &str) -> impl Iterator<Item = usize> {
        let exact = self.by_name.get(name).into_iter().flatten().copied();
        let filtered = self
            .by_filter
            .iter()
            .filter(move |(_, filter)| filter.accepts(name))
            .map(|(i, _)| *i);
        exact.chain(filtered)
    }
}

static EVENT_NAME: std::sync::LazyLock<FieldPath> =
    std::sync::LazyLock::new(|| FieldPath::parse("eventName"));

impl QuerySet {
    pub fn new(queries: Vec<Arc<Query>>) -> Self {
        let suppressions = vec![Suppression::default(); queries.len()];
        let dispatch = Dispatch::new(&queries);
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
            .filter(|(q, _)| keep(&q.name))
            .unzip();
        let dispatch = Dispatch::new(&queries);
        QuerySet {
            queries,
            suppressions,
            dispatch,
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

    /// The fields the set reads, plus those the scan reads of every event (its time when
    /// the scan has a window: `timed`; its account and region unless the object's key says
    /// them: `located`) and those every evaluated event needs (identity, suppressions):
    /// what decoding must keep of each event, told apart by the event names the queries ask
    /// for, and, for queries that name none, by a condition on one field that they need.
    /// (The projection checks each event's version itself.)
    pub fn projection(&self, located: bool, timed: bool) -> Projection {
        let filtered_on: Vec<FieldPath> = [
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
        let needs = |queries: &[usize]| -> Vec<&FieldPath> {
            let read = queries.iter().flat_map(|&i| self.queries[i].plan.paths());
            identity.iter().chain(read).collect()
        };
        let mut always: Vec<&FieldPath> = filtered_on.iter().collect();
        let mut conditions: Vec<(Condition, Vec<&FieldPath>)> = Vec::new();
        for &i in &self.dispatch.always {
            match self.queries[i].plan.field_gate() {
                Some(FieldGate { path, condition }) => {
                    let test = FieldTest::new(path.clone(), move |value, is_container| {
                        eval::holds_for_field(&condition, &path, value, is_container)
                    });
                    conditions.push((Condition::Field(test), needs(&[i])));
                }
                None => always.extend(needs(&[i])),
            }
        }
        let by_name: HashMap<String, Vec<&FieldPath>> = self
            .dispatch
            .by_name
            .iter()
            .map(|(name, queries)| (name.clone(), needs(queries)))
            .collect();
        conditions.extend(self.dispatch.by_filter.iter().map(|(i, filter)| {
            let filter = filter.clone();
            let test = NameTest::new(move |name| filter.accepts(name));
            (Condition::Name(test), needs(&[*i]))
        }));
        // The name is read to choose what else to build, even when no query reads it.
        let event_name: &FieldPath = &EVENT_NAME;
        let kept = always
            .iter()
            .chain([&event_name])
            .chain(by_name.values().flatten())
            .chain(conditions.iter().flat_map(|(_, paths)| paths));
        Projection::of(kept.copied()).triage(&always, &by_name, &conditions)
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
            _ => {
                let named: std::collections::BTreeSet<usize> = (self.dispatch.by_name.values())
                    .flatten()
                    .copied()
                    .chain(self.dispatch.by_filter.iter().map(|(i, _)| *i))
                    .collect();
                named.into_iter().for_each(evaluate);
            }
        }
    }

    pub fn merge(&self, into: &mut [Accumulator], from: Vec<Accumulator>) {
        for ((query, a), b) in self.queries.iter().zip(into.iter_mut()).zip(from) {
            if !b.is_empty() {
                query.plan.merge(a, b);
            }
        }
    }

    /// Each query's result, from the rows `store` took and what `accumulators` hold.
    pub fn finish(&self, accumulators: Vec<Accumulator>, store: RowStore) -> Vec<QueryResult> {
        let suppressed: Vec<u64> = accumulators.iter().map(Accumulator::suppressed).collect();
        let rows = store.finish(self, accumulators);
        (self.queries.iter().zip(suppressed).zip(rows))
            .map(|((query, suppressed), rows)| QueryResult {
                query: Arc::clone(query),
                rows,
                suppressed,
            })
            .collect()
    }
}

/// The rows one query returned, in their final order.
#[derive(Debug, Clone)]
pub struct QueryResult {
    pub query: Arc<Query>,
    pub rows: Rows,
    /// Matching records left out by a suppression.
    pub suppressed: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::decode;

    #[test]
    fn suppressions_see_the_fields_they_match_on_whatever_the_query_reads() {
        let query = Query::ad_hoc(
            "SELECT eventTime FROM cloudtrail_logs WHERE errorCode IS NOT NULL ORDER BY eventTime",
        )
        .unwrap();
        let mut set = QuerySet::new(vec![Arc::new(query)]);
        let name = set.queries()[0].name.clone();
        let suppression = Suppression::new(&[], &[], &["GetObject".to_owned()]).unwrap();
        set.suppress(&name, suppression);
        let text = br#"{"Records":[
            {"eventTime":"2026-11-01T00:00:00Z","eventName":"GetObject","errorCode":"AccessDenied"},
            {"eventTime":"2026-11-01T00:00:01Z","eventName":"PutObject","errorCode":"AccessDenied"},
            {"eventTime":"2026-11-01T00:00:02Z","eventName":"GetObject"}]}"#;
        for located in [false, true] {
            let mut accumulators = set.accumulators();
            let mut index = 0;
            decode(text.to_vec(), &set.projection(located, false), |record| {
                set.accumulate(&mut accumulators, record, (0, index));
                index += 1;
            })
            .unwrap();
            let store = RowStore::new(&set, MEMORY_BUDGET, std::env::temp_dir());
            let results = set.finish(accumulators, store);
            assert_eq!(
                (results[0].rows.len(), results[0].suppressed),
                (1, 1),
                "located: {located}"
            );
        }
    }
}
