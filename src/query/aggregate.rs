//! Gathering a plan's rows, record by record: matching rows, or groups with their aggregates.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::hash::BuildHasher;
use std::sync::OnceLock;

use hashbrown::HashTable;
use hashbrown::hash_table::Entry;

use super::eval::{Scope, eval, failures, holds};
use super::plan::{Aggregate, Expr, Plan};
use crate::record::{OwnedValue, Record, Value};
use crate::results::{Order, PendingRow, Position, Row, SortBy};

#[derive(Debug)]
enum AggregateState {
    Count(u64),
    Distinct(Distinct),
    Min(Option<OwnedValue>),
    Max(Option<OwnedValue>),
}

/// The values a `count(DISTINCT …)` has met. Most groups meet a few (an hour of one principal
/// calls a handful of APIs), and a query can hold hundreds of thousands of groups: a few are
/// kept in a list no longer than it needs to be, and only past `FEW` in a hash set.
#[derive(Debug)]
enum Distinct {
    Few(Vec<OwnedValue>),
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
            Distinct::Few(list) if list.contains(&value) => {}
            Distinct::Few(list) if list.len() < FEW => {
                if list.is_empty() {
                    list.reserve_exact(1);
                }
                list.push(value.into_owned());
            }
            Distinct::Few(list) => {
                let mut set: HashSet<OwnedValue> = list.drain(..).collect();
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
            Distinct::Few(list) => list.into_iter().for_each(|value| self.insert(value)),
            Distinct::Many(set) => set.into_iter().for_each(|value| self.insert(value)),
        }
    }
}

/// What one query has gathered so far: matching rows, or groups with their aggregates.
#[derive(Debug, Default)]
pub struct Accumulator {
    rows: Vec<PendingRow>,
    groups: Groups,
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
type GroupKey = OneOrMore<OwnedValue>;

/// One item kept in place, or any other number on the heap. Most GROUP BYs have one key and
/// most grouped queries one aggregate, and a top list of addresses holds a group per
/// address: kept in place, a group's key and count cost no allocation of their own, and
/// reading them no pointer to follow.
#[derive(Debug, PartialEq, Eq)]
enum OneOrMore<T> {
    One(T),
    More(Box<[T]>),
}

impl<T> OneOrMore<T> {
    fn as_slice(&self) -> &[T] {
        match self {
            OneOrMore::One(item) => std::slice::from_ref(item),
            OneOrMore::More(items) => items,
        }
    }

    fn as_mut_slice(&mut self) -> &mut [T] {
        match self {
            OneOrMore::One(item) => std::slice::from_mut(item),
            OneOrMore::More(items) => items,
        }
    }
}

impl<T> IntoIterator for OneOrMore<T> {
    type Item = T;
    type IntoIter = std::iter::Chain<std::option::IntoIter<T>, std::vec::IntoIter<T>>;

    fn into_iter(self) -> Self::IntoIter {
        match self {
            OneOrMore::One(item) => Some(item).into_iter().chain(Vec::new()),
            OneOrMore::More(items) => None.into_iter().chain(items.into_vec()),
        }
    }
}

impl<T> FromIterator<T> for OneOrMore<T> {
    fn from_iter<I: IntoIterator<Item = T>>(items: I) -> Self {
        let mut items = items.into_iter();
        match (items.next(), items.next()) {
            (Some(only), None) => OneOrMore::One(only),
            (None, _) => OneOrMore::More(Box::default()),
            (Some(first), Some(second)) => {
                let mut all = vec![first, second];
                all.extend(items);
                OneOrMore::More(all.into_boxed_slice())
            }
        }
    }
}

/// One group: its key, the hash of its key (worked out once, when the group is made: the
/// table growing and the threads' groups merging never hash its text again), and its
/// aggregates so far.
#[derive(Debug)]
struct Group {
    hash: u64,
    key: GroupKey,
    states: OneOrMore<AggregateState>,
}

/// Where a group is in `Groups::list`, filed under its hash.
#[derive(Debug, Clone, Copy)]
struct Place {
    hash: u64,
    index: usize,
}

/// A query's groups, in the order they were made, and a table that finds one by its key.
/// A query can hold a group per address: walking them (to merge, to make rows, to drop them)
/// then reads memory in order, and the table moves 16 bytes a group when it grows.
#[derive(Debug, Default)]
struct Groups {
    list: Vec<Group>,
    places: HashTable<Place>,
}

impl Groups {
    fn len(&self) -> usize {
        self.list.len()
    }

    fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The aggregates of the group whose key has this hash and is `same`; a new group,
    /// made by `new`, when there is none.
    fn states_of(
        &mut self,
        hash: u64,
        same: impl Fn(&[OwnedValue]) -> bool,
        new: impl FnOnce() -> (GroupKey, OneOrMore<AggregateState>),
    ) -> &mut OneOrMore<AggregateState> {
        let list = &mut self.list;
        let found = |place: &Place| place.hash == hash && same(list[place.index].key.as_slice());
        let index = match self.places.entry(hash, found, |place| place.hash) {
            Entry::Occupied(place) => place.get().index,
            Entry::Vacant(slot) => {
                let index = list.len();
                let (key, states) = new();
                list.push(Group { hash, key, states });
                slot.insert(Place { hash, index });
                index
            }
        };
        &mut list[index].states
    }

    /// Takes in a group made elsewhere (by another thread): its aggregates are merged into
    /// those of the group with the same key here, or it becomes a group here.
    fn absorb(&mut self, group: Group) {
        let list = &mut self.list;
        let key = group.key.as_slice();
        let found =
            |place: &Place| place.hash == group.hash && list[place.index].key.as_slice() == key;
        match self.places.entry(group.hash, found, |place| place.hash) {
            Entry::Occupied(place) => {
                let into = list[place.get().index].states.as_mut_slice().iter_mut();
                for (a, b) in into.zip(group.states) {
                    merge_state(a, b);
                }
            }
            Entry::Vacant(slot) => {
                slot.insert(Place {
                    hash: group.hash,
                    index: list.len(),
                });
                list.push(group);
            }
        }
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
        let same = |stored: &[OwnedValue]| stored == keys;
        let new = || {
            let key = keys.iter().map(|v| v.clone().into_owned()).collect();
            (key, self.new_states())
        };
        let states = acc.groups.states_of(key_hash(keys), same, new);
        for (state, aggregate) in states.as_mut_slice().iter_mut().zip(&self.aggregates) {
            update(state, aggregate, scope);
        }
    }

    pub fn merge(&self, into: &mut Accumulator, from: Accumulator) {
        into.suppressed += from.suppressed;
        into.failed += from.failed;
        into.rows.extend(from.rows);
        self.order.trim(&mut into.rows);
        // Into the larger: many distinct keys (addresses) are then moved only once.
        let mut from_groups = from.groups;
        if from_groups.len() > into.groups.len() {
            std::mem::swap(&mut into.groups, &mut from_groups);
        }
        for group in from_groups.list {
            into.groups.absorb(group);
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
        let mut groups = acc.groups.list;
        // A query with aggregates and no GROUP BY has one group, even over no records.
        if groups.is_empty() && self.group_by.is_empty() {
            groups.push(Group {
                hash: key_hash(&[]),
                key: OneOrMore::More(Box::default()),
                states: self.new_states(),
            });
        }
        let may_pass_over = !(self.projections.iter())
            .chain(&self.sort_exprs)
            .any(Expr::may_fail);
        let mut best = TopGroups::new(self.order.limit, may_pass_over);
        let mut aggregates = Vec::with_capacity(self.aggregates.len());
        for Group { key, states, .. } in groups {
            aggregates.clear();
            aggregates.extend(states.into_iter().map(finish_state));
            let scope = Scope::Group {
                keys: key.as_slice(),
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
                key,
                self.order.pending_row((0, 0), row, sort_extra),
                &self.order,
            );
        }
        let mut rows = best.into_rows(&self.order);
        // Groups have no input position: number them in key order, so ties in ORDER BY are
        // stable.
        rows.sort_by(|a, b| compare_keys(a.0.as_slice(), b.0.as_slice()));
        (rows.into_iter().enumerate())
            .map(|(index, (key, mut pending))| {
                pending.position = (0, index as u32);
                pending.row.identity = identity_of(key.as_slice());
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

    fn new_states(&self) -> OneOrMore<AggregateState> {
        self.aggregates
            .iter()
            .map(|a| match a {
                Aggregate::CountAll | Aggregate::Count(_) => AggregateState::Count(0),
                Aggregate::CountDistinct(_) => AggregateState::Distinct(Distinct::Few(Vec::new())),
                Aggregate::Min(_) => AggregateState::Min(None),
                Aggregate::Max(_) => AggregateState::Max(None),
            })
            .collect()
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
    rows: Vec<(GroupKey, PendingRow)>,
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

    fn push(&mut self, key: GroupKey, row: PendingRow, order: &Order) {
        self.rows.push((key, row));
        if let Some(limit) = self.limit
            && self.rows.len() >= limit.saturating_mul(2).max(CUT_AT_LEAST)
        {
            self.cut(order);
        }
    }

    /// Keeps the best `limit` rows, ties broken by key as the final ordering breaks them.
    fn cut(&mut self, order: &Order) {
        let Some(limit) = self.limit else { return };
        if self.rows.len() <= limit {
            return;
        }
        if limit == 0 {
            self.rows.clear();
            return;
        }
        self.rows.select_nth_unstable_by(limit - 1, |a, b| {
            (order.compare(&a.1, &b.1)).then_with(|| compare_keys(a.0.as_slice(), b.0.as_slice()))
        });
        self.rows.truncate(limit);
        self.worst = self.may_pass_over.then_some(limit - 1);
    }

    fn into_rows(mut self, order: &Order) -> Vec<(GroupKey, PendingRow)> {
        self.cut(order);
        self.rows
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
        (AggregateState::Distinct(seen), Aggregate::CountDistinct(e)) => {
            let value = eval(e, scope);
            if !value.is_null() {
                seen.insert(value);
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
        (AggregateState::Distinct(a), AggregateState::Distinct(b)) => a.absorb(b),
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
        AggregateState::Distinct(seen) => Value::Int(seen.len() as i64),
        AggregateState::Min(v) | AggregateState::Max(v) => v.unwrap_or(Value::Null),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_item_is_kept_in_place_and_any_other_number_on_the_heap() {
        let none: OneOrMore<u8> = std::iter::empty().collect();
        let one: OneOrMore<u8> = [7].into_iter().collect();
        let three: OneOrMore<u8> = [1, 2, 3].into_iter().collect();
        assert_eq!(none, OneOrMore::More(Box::default()));
        assert_eq!(one, OneOrMore::One(7));
        assert_eq!(three.as_slice(), [1, 2, 3]);
        // One item is never kept on the heap: a key has one form for each length.
        assert_ne!(one, OneOrMore::More(Box::new([7])));
        let mut three = three;
        three.as_mut_slice()[0] = 9;
        assert_eq!(three.into_iter().collect::<Vec<_>>(), [9, 2, 3]);
        assert_eq!(one.into_iter().collect::<Vec<_>>(), [7]);
    }

    #[test]
    fn min_and_max_of_an_integer_and_an_equal_float_do_not_depend_on_which_came_first() {
        let (int, float) = (Value::Int(1), Value::Float(1.0));
        for wanted in [Ordering::Less, Ordering::Greater] {
            let mut first_int = None;
            keep_extreme(&mut first_int, int.clone(), wanted);
            keep_extreme(&mut first_int, float.clone(), wanted);
            let mut first_float = None;
            keep_extreme(&mut first_float, float.clone(), wanted);
            keep_extreme(&mut first_float, int.clone(), wanted);
            assert_eq!(first_int, first_float, "{wanted:?}");
        }
        let keys = [vec![Value::Float(1.0)], vec![Value::Int(1)]];
        assert_eq!(compare_keys(&keys[0], &keys[1]), Ordering::Greater);
    }
}
