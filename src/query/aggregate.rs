//! Gathering a plan's rows, record by record: matching rows, or groups with their aggregates.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::hash::BuildHasher;
use std::sync::OnceLock;

use super::eval::{Scope, eval, failures, holds};
use super::groups::{GroupId, Groups};
use super::plan::{Aggregate, Expr, Plan};
use super::stored::Stored;
use crate::record::{OwnedValue, Record, Value};
use crate::results::{Order, PendingRow, Position, Row, SortBy};

/// The state in one group of an aggregate that is not a count (counts are kept apart, in 8
/// bytes): 24 bytes, and a query can hold a group per principal.
#[derive(Debug)]
enum AggregateState {
    Distinct(Distinct),
    /// The least (MIN) or greatest (MAX) value met; NULL until one that is not NULL is met
    /// (NULLs are passed over).
    Extreme(Stored),
}

impl Default for AggregateState {
    fn default() -> AggregateState {
        AggregateState::Extreme(Stored::Null)
    }
}

/// The values a `count(DISTINCT …)` has met. Most groups meet a few (an hour of one principal
/// calls a handful of APIs), and a query can hold hundreds of thousands of groups: a few are
/// kept in a list no longer than it needs to be (no spare room: it grows by one, rarely), and
/// only past `FEW` in a hash set.
#[derive(Debug)]
enum Distinct {
    Few(Box<[Stored]>),
    #[expect(
        clippy::box_collection,
        reason = "a set beside the list would make every aggregate of every group 24 bytes larger"
    )]
    Many(Box<HashSet<OwnedValue>>),
}

/// The most values a `Distinct` keeps in a list (looked through one by one).
const FEW: usize = 8;

impl Distinct {
    fn insert(&mut self, value: Value<'_>) {
        match self {
            Distinct::Few(list) if list.iter().any(|kept| kept.view() == value) => {}
            Distinct::Few(list) if list.len() < FEW => {
                let mut grown = Vec::with_capacity(list.len() + 1);
                grown.extend(std::mem::take(list));
                grown.push(Stored::keep(value));
                *list = grown.into_boxed_slice();
            }
            Distinct::Few(list) => {
                let mut set: HashSet<OwnedValue> =
                    list.iter().map(|kept| kept.view().into_owned()).collect();
                set.insert(value.into_owned());
                *self = Distinct::Many(Box::new(set));
            }
            Distinct::Many(set) => {
                if !set.contains(&value) {
                    set.insert(value.into_owned());
                }
            }
        }
    }

    fn len(&self) -> usize {
        match self {
            Distinct::Few(list) => list.len(),
            Distinct::Many(set) => set.len(),
        }
    }

    /// Adds what `other` met, into the larger of the two.
    fn absorb(&mut self, mut other: Distinct) {
        if other.len() > self.len() {
            std::mem::swap(self, &mut other);
        }
        match other {
            Distinct::Few(list) => list.iter().for_each(|kept| self.insert(kept.view())),
            Distinct::Many(set) => set.into_iter().for_each(|value| self.insert(value)),
        }
    }
}

/// What one query has gathered so far: matching rows, or groups with their aggregates.
#[derive(Debug, Default)]
pub struct Accumulator {
    rows: Vec<PendingRow>,
    groups: Groups<AggregateState>,
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

/// The hash of GROUP BY values, the same in every thread's table (so that they merge),
/// seeded per process (so that chosen addresses cannot collide on purpose).
fn key_hash(values: &[Value<'_>]) -> u64 {
    static SEED: OnceLock<foldhash::fast::RandomState> = OnceLock::new();
    SEED.get_or_init(Default::default).hash_one(values)
}

/// Up to this many GROUP BY values are gathered on the stack: every record of every grouped
/// query looks its group up, and most GROUP BYs have one to three keys.
const KEYS_ON_STACK: usize = 4;

fn identity_of<'v>(values: impl Iterator<Item = Value<'v>>) -> String {
    let texts: Vec<String> = values
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
                _ => identity_of(values.iter().map(Value::borrowed)),
            };
            let row = self
                .order
                .pending_row(position, Row { values, identity }, sort_extra);
            acc.rows.push(row);
            return;
        }
        let count = self.group_by.len();
        if count <= KEYS_ON_STACK {
            let mut keys = [const { Value::Null }; KEYS_ON_STACK];
            for (slot, e) in keys.iter_mut().zip(&self.group_by) {
                *slot = eval(e, &scope);
            }
            self.add_to_group(acc, &keys[..count], &scope);
        } else {
            let keys: Vec<Value<'_>> = self.group_by.iter().map(|e| eval(e, &scope)).collect();
            self.add_to_group(acc, &keys, &scope);
        }
    }

    /// Updates the group of these GROUP BY values, borrowed from the record: most records
    /// fall in a group that exists, and finding it this way copies nothing.
    fn add_to_group(&self, acc: &mut Accumulator, keys: &[Value<'_>], scope: &Scope<'_, '_, '_>) {
        let (counts, states) = self.states_of(&mut acc.groups, keys);
        let (mut counts, mut states) = (counts.iter_mut(), states.iter_mut());
        for aggregate in &self.aggregates {
            if is_count(aggregate) {
                update_count(counts.next().expect(SAME_PLAN), aggregate, scope);
            } else {
                update(states.next().expect(SAME_PLAN), aggregate, scope);
            }
        }
    }

    pub fn merge(&self, into: &mut Accumulator, from: Accumulator) {
        into.suppressed += from.suppressed;
        into.failed += from.failed;
        into.rows.extend(from.rows);
        self.order.trim(&mut into.rows);
        // The smaller's groups are looked up in the larger's: fewer lookups.
        let mut from_groups = from.groups;
        if from_groups.len() > into.groups.len() {
            std::mem::swap(&mut into.groups, &mut from_groups);
        }
        let non_counts: Vec<&Aggregate> = self.aggregates.iter().filter(|a| !is_count(a)).collect();
        into.groups
            .absorb(from_groups, |i, a, b| merge_state(non_counts[i], a, b));
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
        let mut groups = acc.groups;
        // A query with aggregates and no GROUP BY has one group, even over no records.
        if groups.is_empty() && self.group_by.is_empty() {
            self.states_of(&mut groups, &[]);
        }
        let may_pass_over = !(self.projections.iter())
            .chain(&self.sort_exprs)
            .any(Expr::may_fail);
        let mut best = TopGroups::new(self.order.limit, may_pass_over);
        let mut key = Vec::with_capacity(self.group_by.len());
        let mut aggregates = Vec::with_capacity(self.aggregates.len());
        for group in groups.live() {
            key.clear();
            key.extend(groups.key(group).iter().map(Stored::view));
            aggregates.clear();
            let (counts, states) = groups.states(group);
            let (mut counts, mut states) = (counts.iter(), states.iter());
            aggregates.extend(
                self.aggregates
                    .iter()
                    .map(|aggregate| match is_count(aggregate) {
                        true => Value::Int(*counts.next().expect(SAME_PLAN) as i64),
                        false => finish_state(states.next().expect(SAME_PLAN)),
                    }),
            );
            let scope = Scope::Group {
                keys: &key,
                aggregates: &aggregates,
            };
            if let Some(having) = &self.having
                && !holds(having, &scope)
            {
                continue;
            }
            if let Some(worst) = best.worst_kept()
                && self
                    .order
                    .compare_first_key(&self.first_sort_value(&scope), worst)
                    == Ordering::Greater
            {
                continue;
            }
            let (values, sort_extra) = self.output(&scope);
            let row = Row {
                values,
                identity: String::new(),
            };
            best.push(
                group,
                self.order.pending_row((0, 0), row, sort_extra),
                &self.order,
                &groups,
            );
        }
        let mut rows = best.into_rows(&self.order, &groups);
        // Groups have no input position: number them in key order, so ties in ORDER BY are
        // stable.
        rows.sort_by(|a, b| compare_keys(groups.key(a.0), groups.key(b.0)));
        (rows.into_iter().enumerate())
            .map(|(index, (group, mut pending))| {
                pending.position = (0, index as u32);
                pending.row.identity = identity_of(groups.key(group).iter().map(Stored::view));
                pending
            })
            .collect()
    }

    /// A group's first ORDER BY value (NULL without ORDER BY).
    fn first_sort_value<'v>(&'v self, scope: &Scope<'v, 'v, '_>) -> Value<'v> {
        match self.order.keys.first().map(|key| key.by) {
            Some(SortBy::Column(i)) => eval(&self.projections[i], scope),
            Some(SortBy::Extra(i)) => eval(&self.sort_exprs[i], scope),
            None => Value::Null,
        }
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

    /// The counts and other states of the group of these GROUP BY values, made when new.
    fn states_of<'g>(
        &self,
        groups: &'g mut Groups<AggregateState>,
        keys: &[Value<'_>],
    ) -> (&'g mut [u64], &'g mut [AggregateState]) {
        let new_states = |states: &mut Vec<AggregateState>| self.push_new_states(states);
        groups.states_of(key_hash(keys), keys, || self.count_aggregates(), new_states)
    }

    /// How many of the aggregates are counts.
    fn count_aggregates(&self) -> usize {
        self.aggregates.iter().filter(|a| is_count(a)).count()
    }

    /// The states of a new group's aggregates that are not counts.
    fn push_new_states(&self, states: &mut Vec<AggregateState>) {
        states.extend(self.aggregates.iter().filter_map(|a| match a {
            Aggregate::CountAll | Aggregate::Count(_) => None,
            Aggregate::CountDistinct(_) => {
                Some(AggregateState::Distinct(Distinct::Few(Box::default())))
            }
            Aggregate::Min(_) | Aggregate::Max(_) => Some(AggregateState::Extreme(Stored::Null)),
        }));
    }
}

/// A LIMIT keeps at least this many rows in hand before cutting them back to the best: cuts
/// of a handful of rows would cost more than they save.
const CUT_AT_LEAST: usize = 64;

/// The rows of a grouped query's groups; under a LIMIT n, only the best n (a top ten of many
/// addresses). Rows are cut back to the best n whenever twice as many are held; after the
/// first cut, a group strictly worse on the first ORDER BY key than the worst row kept cannot
/// be among the best, and is passed over before its row is built.
struct TopGroups {
    /// Each row with the number of its group.
    rows: Vec<(GroupId, PendingRow)>,
    limit: Option<usize>,
    /// Whether groups may be passed over: not when evaluating a row may count a failure, so
    /// that the failures said do not depend on the LIMIT.
    may_pass_over: bool,
    /// The index in `rows` of the worst row kept at the last cut; it stays valid because
    /// rows are only appended until the next cut.
    worst: Option<usize>,
}

impl TopGroups {
    fn new(limit: Option<usize>, may_pass_over: bool) -> TopGroups {
        TopGroups {
            rows: Vec::new(),
            limit,
            may_pass_over,
            worst: None,
        }
    }

    fn worst_kept(&self) -> Option<&PendingRow> {
        self.worst.map(|i| &self.rows[i].1)
    }

    fn push(
        &mut self,
        group: GroupId,
        row: PendingRow,
        order: &Order,
        groups: &Groups<AggregateState>,
    ) {
        self.rows.push((group, row));
        if let Some(limit) = self.limit
            && self.rows.len() >= limit.saturating_mul(2).max(CUT_AT_LEAST)
        {
            self.cut(order, groups);
        }
    }

    /// Keeps the best `limit` rows, ties broken by key as the final ordering breaks them.
    fn cut(&mut self, order: &Order, groups: &Groups<AggregateState>) {
        let Some(limit) = self.limit else { return };
        if self.rows.len() <= limit {
            return;
        }
        if limit == 0 {
            self.rows.clear();
            return;
        }
        self.rows.select_nth_unstable_by(limit - 1, |a, b| {
            (order.compare(&a.1, &b.1)).then_with(|| compare_keys(groups.key(a.0), groups.key(b.0)))
        });
        self.rows.truncate(limit);
        self.worst = self.may_pass_over.then_some(limit - 1);
    }

    fn into_rows(
        mut self,
        order: &Order,
        groups: &Groups<AggregateState>,
    ) -> Vec<(GroupId, PendingRow)> {
        self.cut(order, groups);
        self.rows
    }
}

fn compare_keys(a: &[Stored], b: &[Stored]) -> Ordering {
    a.iter()
        .zip(b)
        .map(|(x, y)| x.view().total_cmp(&y.view()))
        .find(|o| *o != Ordering::Equal)
        .unwrap_or(Ordering::Equal)
}

/// Why a group's counts and states match its plan's aggregates, one for one.
const SAME_PLAN: &str = "a group's counts and states are made from its plan's aggregates";

fn is_count(aggregate: &Aggregate) -> bool {
    matches!(aggregate, Aggregate::CountAll | Aggregate::Count(_))
}

fn update_count(count: &mut u64, aggregate: &Aggregate, scope: &Scope<'_, '_, '_>) {
    match aggregate {
        Aggregate::Count(e) if eval(e, scope).is_null() => {}
        _ => *count += 1,
    }
}

fn update(state: &mut AggregateState, aggregate: &Aggregate, scope: &Scope<'_, '_, '_>) {
    match (state, aggregate) {
        (AggregateState::Distinct(seen), Aggregate::CountDistinct(e)) => {
            let value = eval(e, scope);
            if !value.is_null() {
                seen.insert(value);
            }
        }
        (AggregateState::Extreme(current), Aggregate::Min(e)) => {
            keep_extreme(current, eval(e, scope), Ordering::Less)
        }
        (AggregateState::Extreme(current), Aggregate::Max(e)) => {
            keep_extreme(current, eval(e, scope), Ordering::Greater)
        }
        _ => unreachable!("{SAME_PLAN}"),
    }
}

/// Keeps `candidate` in `current` when it is `wanted` (less, greater) than it; NULL
/// candidates are passed over, and `current` is NULL only until one that is not is met.
fn keep_extreme(current: &mut Stored, candidate: Value<'_>, wanted: Ordering) {
    if candidate.is_null() {
        return;
    }
    let replace = match &*current {
        Stored::Null => true,
        existing => candidate.total_cmp(&existing.view()) == wanted,
    };
    if replace {
        *current = Stored::keep(candidate);
    }
}

fn merge_state(aggregate: &Aggregate, into: &mut AggregateState, from: AggregateState) {
    match (into, from) {
        (AggregateState::Distinct(a), AggregateState::Distinct(b)) => a.absorb(b),
        (AggregateState::Extreme(a), AggregateState::Extreme(b)) => {
            let wanted = match aggregate {
                Aggregate::Max(_) => Ordering::Greater,
                _ => Ordering::Less,
            };
            keep_extreme(a, b.view(), wanted)
        }
        _ => unreachable!("{SAME_PLAN}"),
    }
}

fn finish_state(state: &AggregateState) -> Value<'_> {
    match state {
        AggregateState::Distinct(seen) => Value::Int(seen.len() as i64),
        AggregateState::Extreme(v) => v.view(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_aggregate_state_is_24_bytes() {
        assert_eq!(size_of::<AggregateState>(), 24);
    }

    #[test]
    fn min_and_max_of_an_integer_and_an_equal_float_do_not_depend_on_which_came_first() {
        let (int, float) = (Value::Int(1), Value::Float(1.0));
        for wanted in [Ordering::Less, Ordering::Greater] {
            let mut first_int = Stored::Null;
            keep_extreme(&mut first_int, int.clone(), wanted);
            keep_extreme(&mut first_int, float.clone(), wanted);
            let mut first_float = Stored::Null;
            keep_extreme(&mut first_float, float.clone(), wanted);
            keep_extreme(&mut first_float, int.clone(), wanted);
            assert_eq!(first_int, first_float, "{wanted:?}");
        }
        let keys = [[Stored::Float(1.0)], [Stored::Int(1)]];
        assert_eq!(compare_keys(&keys[0], &keys[1]), Ordering::Greater);
    }
}
