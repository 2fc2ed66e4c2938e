//! Gathering a plan's rows, record by record: matching rows, or groups with their aggregates.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};

use hashbrown::hash_map::RawEntryMut;
use hashbrown::{Equivalent, HashMap};

use super::eval::{Scope, eval, failures, holds};
use super::plan::{Aggregate, Plan};
use crate::record::{OwnedValue, Record, Value};
use crate::results::{PendingRow, Position, Row};

#[derive(Debug)]
enum AggregateState {
    Count(u64),
    Distinct(HashSet<OwnedValue>),
    Min(Option<OwnedValue>),
    Max(Option<OwnedValue>),
}

/// What one query has gathered so far: matching rows, or groups with their aggregates.
#[derive(Debug, Default)]
pub struct Accumulator {
    rows: Vec<PendingRow>,
    groups: HashMap<GroupKey, Vec<AggregateState>>,
    /// Records that matched but were suppressed by the configuration.
    suppressed: u64,
    /// Integer arithmetic that failed (division by zero, overflow) evaluating this query.
    failed: u64,
}

impl Accumulator {
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty() && self.groups.is_empty() && self.suppressed == 0 && self.failed == 0
    }

    pub fn suppressed(&self) -> u64 {
        self.suppressed
    }

    pub fn failed(&self) -> u64 {
        self.failed
    }

    /// The rows gathered so far, handed over to be kept elsewhere (see `RowStore`).
    pub fn take_rows(&mut self) -> Vec<PendingRow> {
        std::mem::take(&mut self.rows)
    }
}

/// A group's key, as kept: the GROUP BY values, owned.
type GroupKey = Vec<OwnedValue>;

/// A group's key as one record gives it, borrowing the record's text: most records fall in a
/// group that exists, and looking it up this way copies nothing.
struct KeyProbe<'v>(Vec<Value<'v>>);

impl Hash for KeyProbe<'_> {
    /// As a `GroupKey` hashes: a slice of values hashes alike whatever the values borrow.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.as_slice().hash(state);
    }
}

impl Equivalent<GroupKey> for KeyProbe<'_> {
    fn equivalent(&self, key: &GroupKey) -> bool {
        self.0.len() == key.len() && self.0.iter().zip(key).all(|(a, b)| a == b)
    }
}

impl From<&KeyProbe<'_>> for GroupKey {
    fn from(probe: &KeyProbe<'_>) -> GroupKey {
        probe.0.iter().map(|v| v.clone().into_owned()).collect()
    }
}

fn identity_of(values: &[OwnedValue]) -> String {
    let texts: Vec<String> = values
        .iter()
        .map(|v| {
            v.to_text()
                .map_or_else(|| "\\N".to_owned(), |t| t.into_owned())
        })
        .collect();
    texts.join("\u{1f}")
}

impl Plan {
    /// Adds `record` when it matches, unless `suppressed` says it is to be ignored.
    pub fn accumulate(
        &self,
        acc: &mut Accumulator,
        record: Record<'_, '_>,
        position: Position,
        suppressed: impl Fn(Record<'_, '_>) -> bool,
    ) {
        let before = failures();
        self.accumulate_counted(acc, record, position, suppressed);
        acc.failed += failures() - before;
    }

    fn accumulate_counted(
        &self,
        acc: &mut Accumulator,
        record: Record<'_, '_>,
        position: Position,
        suppressed: impl Fn(Record<'_, '_>) -> bool,
    ) {
        let scope = Scope::Record(record);
        if let Some(filter) = &self.filter
            && !holds(filter, &scope)
        {
            return;
        }
        if suppressed(record) {
            acc.suppressed += 1;
            return;
        }
        if !self.grouped {
            let (values, sort_extra) = self.output(&scope);
            let identity = match record.str_field("eventID") {
                Some(id) if !id.is_empty() => id.to_owned(),
                _ => identity_of(&values),
            };
            let row = self
                .order
                .pending_row(position, Row { values, identity }, sort_extra);
            acc.rows.push(row);
            return;
        }
        let probe = KeyProbe(self.group_by.iter().map(|e| eval(e, &scope)).collect());
        let states = match acc.groups.raw_entry_mut().from_key(&probe) {
            RawEntryMut::Occupied(group) => group.into_mut(),
            RawEntryMut::Vacant(slot) => slot.insert(GroupKey::from(&probe), self.new_states()).1,
        };
        for (state, aggregate) in states.iter_mut().zip(&self.aggregates) {
            update(state, aggregate, &scope);
        }
    }

    pub fn merge(&self, into: &mut Accumulator, from: Accumulator) {
        into.suppressed += from.suppressed;
        into.failed += from.failed;
        into.rows.extend(from.rows);
        self.order.trim(&mut into.rows);
        // Into the larger map: many distinct keys (addresses) are then moved only once.
        let mut from_groups = from.groups;
        if from_groups.len() > into.groups.len() {
            std::mem::swap(&mut into.groups, &mut from_groups);
        }
        for (key, states) in from_groups {
            match into.groups.get_mut(&key) {
                Some(existing) => {
                    for (a, b) in existing.iter_mut().zip(states) {
                        merge_state(a, b);
                    }
                }
                None => {
                    into.groups.insert(key, states);
                }
            }
        }
    }

    /// The rows left to order: those gathered and not yet handed over, or one per group;
    /// and how many integer operations failed making the groups' rows.
    pub fn rows_to_order(&self, acc: Accumulator) -> (Vec<PendingRow>, u64) {
        let before = failures();
        let rows = if self.grouped {
            self.group_rows(acc)
        } else {
            acc.rows
        };
        (rows, failures() - before)
    }

    fn group_rows(&self, acc: Accumulator) -> Vec<PendingRow> {
        let mut groups: Vec<_> = acc.groups.into_iter().collect();
        // A query with aggregates and no GROUP BY has one group, even over no records.
        if groups.is_empty() && self.group_by.is_empty() {
            groups.push((Vec::new(), self.new_states()));
        }
        let mut rows: Vec<(GroupKey, PendingRow)> = (groups.into_iter())
            .filter_map(|(key, states)| {
                let aggregates: Vec<OwnedValue> = states.into_iter().map(finish_state).collect();
                let scope = Scope::Group {
                    keys: &key,
                    aggregates: &aggregates,
                };
                if let Some(having) = &self.having
                    && !holds(having, &scope)
                {
                    return None;
                }
                let (values, sort_extra) = self.output(&scope);
                let row = Row {
                    values,
                    identity: String::new(),
                };
                let pending = self.order.pending_row((0, 0), row, sort_extra);
                Some((key, pending))
            })
            .collect();
        // Under a LIMIT only the best rows can be output (a top ten of many addresses): keep
        // those, ties broken by key as the ordering below breaks them.
        if let Some(limit) = self.order.limit
            && rows.len() > limit
        {
            rows.select_nth_unstable_by(limit, |a, b| {
                (self.order.compare(&a.1, &b.1)).then_with(|| compare_keys(&a.0, &b.0))
            });
            rows.truncate(limit);
        }
        // Groups have no input position: number them in key order, so ties in ORDER BY are
        // stable.
        rows.sort_by(|a, b| compare_keys(&a.0, &b.0));
        (rows.into_iter().enumerate())
            .map(|(index, (key, mut pending))| {
                pending.position = (0, index as u32);
                pending.row.identity = identity_of(&key);
                pending
            })
            .collect()
    }

    /// A row's output values, and the ORDER BY values that are not among them.
    fn output(&self, scope: &Scope<'_, '_, '_>) -> (Vec<OwnedValue>, Vec<OwnedValue>) {
        let values = self
            .projections
            .iter()
            .map(|e| eval(e, scope).into_owned())
            .collect();
        let sort_extra = (self.sort_exprs.iter())
            .map(|e| eval(e, scope).into_owned())
            .collect();
        (values, sort_extra)
    }

    fn new_states(&self) -> Vec<AggregateState> {
        self.aggregates
            .iter()
            .map(|a| match a {
                Aggregate::CountAll | Aggregate::Count(_) => AggregateState::Count(0),
                Aggregate::CountDistinct(_) => AggregateState::Distinct(HashSet::new()),
                Aggregate::Min(_) => AggregateState::Min(None),
                Aggregate::Max(_) => AggregateState::Max(None),
            })
            .collect()
    }
}

fn compare_keys(a: &[OwnedValue], b: &[OwnedValue]) -> Ordering {
    a.iter()
        .zip(b)
        .map(|(x, y)| x.total_cmp(y))
        .find(|o| *o != Ordering::Equal)
        .unwrap_or(Ordering::Equal)
}

fn update(state: &mut AggregateState, aggregate: &Aggregate, scope: &Scope<'_, '_, '_>) {
    match (state, aggregate) {
        (AggregateState::Count(n), Aggregate::CountAll) => *n += 1,
        (AggregateState::Count(n), Aggregate::Count(e)) => {
            if !eval(e, scope).is_null() {
                *n += 1;
            }
        }
        (AggregateState::Distinct(set), Aggregate::CountDistinct(e)) => {
            let value = eval(e, scope);
            if !value.is_null() && !set.contains(&value) {
                set.insert(value.into_owned());
            }
        }
        (AggregateState::Min(current), Aggregate::Min(e)) => {
            keep_extreme(current, eval(e, scope), Ordering::Less)
        }
        (AggregateState::Max(current), Aggregate::Max(e)) => {
            keep_extreme(current, eval(e, scope), Ordering::Greater)
        }
        _ => unreachable!("aggregate states are built from the same plan"),
    }
}

fn keep_extreme(current: &mut Option<OwnedValue>, candidate: Value<'_>, wanted: Ordering) {
    if candidate.is_null() {
        return;
    }
    let replace = match current {
        None => true,
        Some(existing) => candidate.total_cmp(existing) == wanted,
    };
    if replace {
        *current = Some(candidate.into_owned());
    }
}

fn merge_state(into: &mut AggregateState, from: AggregateState) {
    match (into, from) {
        (AggregateState::Count(a), AggregateState::Count(b)) => *a += b,
        (AggregateState::Distinct(a), AggregateState::Distinct(b)) => a.extend(b),
        (AggregateState::Min(a), AggregateState::Min(Some(b))) => {
            keep_extreme(a, b, Ordering::Less)
        }
        (AggregateState::Max(a), AggregateState::Max(Some(b))) => {
            keep_extreme(a, b, Ordering::Greater)
        }
        _ => {}
    }
}

fn finish_state(state: AggregateState) -> OwnedValue {
    match state {
        AggregateState::Count(n) => Value::Int(n as i64),
        AggregateState::Distinct(set) => Value::Int(set.len() as i64),
        AggregateState::Min(v) | AggregateState::Max(v) => v.unwrap_or(Value::Null),
    }
}
