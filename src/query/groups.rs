//! A query's groups, kept column by column in chunks that growing never moves.

use hashbrown::HashTable;
use hashbrown::hash_table::Entry;

use super::stored::Stored;
use crate::record::Value;

/// How many groups a chunk of a column holds.
const GROUPS_PER_CHUNK: usize = 4096;

/// One kind of item for every group, the same number (`width`) for each, group after group,
/// in chunks of `GROUPS_PER_CHUNK` groups. Only the last chunk grows, so growing copies at
/// most one chunk: a query can hold a hundred MB of groups, and a single vector doubling
/// would hold its old and new copies at once.
#[derive(Debug)]
struct Column<T> {
    chunks: Vec<Vec<T>>,
    width: usize,
}

impl<T> Default for Column<T> {
    fn default() -> Column<T> {
        Column {
            chunks: Vec::new(),
            width: 0,
        }
    }
}

impl<T> Column<T> {
    fn group(&self, group: usize) -> &[T] {
        if self.width == 0 {
            return &[];
        }
        let start = (group % GROUPS_PER_CHUNK) * self.width;
        &self.chunks[group / GROUPS_PER_CHUNK][start..start + self.width]
    }

    fn group_mut(&mut self, group: usize) -> &mut [T] {
        if self.width == 0 {
            return &mut [];
        }
        let start = (group % GROUPS_PER_CHUNK) * self.width;
        &mut self.chunks[group / GROUPS_PER_CHUNK][start..start + self.width]
    }

    /// Adds the items of the next group (`push` pushes them); every group has as many.
    fn push_group(&mut self, push: impl FnOnce(&mut Vec<T>)) {
        let full = GROUPS_PER_CHUNK * self.width;
        match self.chunks.last_mut() {
            Some(last) if self.width > 0 && last.len() < full => {
                // Doubling, but never past a full chunk (`Vec`'s own growth would round up to a
                // power of two, a third more than a chunk of three-value keys).
                if last.capacity() - last.len() < self.width {
                    let wanted = (2 * last.len()).max(last.len() + self.width).min(full);
                    last.reserve_exact(wanted - last.len());
                }
                push(last);
            }
            _ => {
                let mut chunk = Vec::new();
                push(&mut chunk);
                if self.width == 0 {
                    self.width = chunk.len();
                }
                if self.width > 0 {
                    self.chunks.push(chunk);
                }
            }
        }
    }
}

/// One thread's groups, in the order they were made: each group's key hash (worked out once,
/// when the group is made: the table growing and the threads' groups merging never hash its
/// text again), its GROUP BY values, its aggregates' counts (8 bytes each: most aggregates
/// are counts) and the states `S` of its other aggregates, and a table that finds a group's
/// number by its key. A query can hold a group per principal or address: kept this way a
/// group costs no allocation of its own, and walking the groups (to make rows, to drop them)
/// reads memory in order.
#[derive(Debug)]
struct Part<S> {
    hashes: Column<u64>,
    keys: Column<Stored>,
    counts: Column<u64>,
    states: Column<S>,
    len: usize,
    places: HashTable<usize>,
    /// One bit a group: set when its states were merged into the same group of an earlier part.
    merged_away: Vec<u64>,
}

impl<S> Default for Part<S> {
    fn default() -> Part<S> {
        Part {
            hashes: Column::default(),
            keys: Column::default(),
            counts: Column::default(),
            states: Column::default(),
            len: 0,
            places: HashTable::new(),
            merged_away: Vec::new(),
        }
    }
}

impl<S> Part<S> {
    /// The group with this hash whose key is `same`.
    fn find(&self, hash: u64, same: impl Fn(&[Stored]) -> bool) -> Option<usize> {
        let keys = &self.keys;
        (self.places.find(hash, |&group| same(keys.group(group)))).copied()
    }

    fn is_merged_away(&self, group: usize) -> bool {
        (self.merged_away.get(group / 64)).is_some_and(|bits| bits & (1 << (group % 64)) != 0)
    }

    fn merge_away(&mut self, group: usize) {
        if self.merged_away.is_empty() {
            self.merged_away = vec![0; self.len.div_ceil(64)];
        }
        self.merged_away[group / 64] |= 1 << (group % 64);
    }
}

/// A query's groups: one part while a thread gathers them; after the threads' groups are
/// merged, one part per thread, each group live in only one of them. Merging moves no group:
/// a group that an earlier part also holds is merged into it and marked, and the others stay
/// where they were made. Moving them would copy most of a query's groups into new memory
/// while the old could not yet be reused (the allocator gives memory freed by another thread
/// back to that thread), and a query can hold a hundred MB of groups.
#[derive(Debug)]
pub struct Groups<S> {
    parts: Vec<Part<S>>,
}

impl<S> Default for Groups<S> {
    fn default() -> Groups<S> {
        Groups { parts: Vec::new() }
    }
}

/// A group, as `Groups::live` names it: its part and its number there.
#[derive(Debug, Clone, Copy)]
pub struct GroupId {
    part: usize,
    group: usize,
}

impl<S: Default> Groups<S> {
    /// How many groups were made, counting those since merged away.
    pub fn len(&self) -> usize {
        self.parts.iter().map(|part| part.len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every group that was not merged away: each key once.
    pub fn live(&self) -> impl Iterator<Item = GroupId> + '_ {
        (self.parts.iter().enumerate()).flat_map(|(part, groups)| {
            (0..groups.len)
                .filter(|&group| !groups.is_merged_away(group))
                .map(move |group| GroupId { part, group })
        })
    }

    pub fn key(&self, id: GroupId) -> &[Stored] {
        self.parts[id.part].keys.group(id.group)
    }

    /// The group's counts and other states.
    pub fn states(&self, id: GroupId) -> (&[u64], &[S]) {
        let part = &self.parts[id.part];
        (part.counts.group(id.group), part.states.group(id.group))
    }

    /// The counts and other states of the group with this key and hash; when there is none,
    /// a new group with `counts` counts at zero and the states `new_states` pushes. Only while
    /// a thread gathers its groups, before any merging: the group is looked for in the one part.
    pub fn states_of(
        &mut self,
        hash: u64,
        key: &[Value<'_>],
        counts: impl FnOnce() -> usize,
        new_states: impl FnOnce(&mut Vec<S>),
    ) -> (&mut [u64], &mut [S]) {
        assert!(
            self.parts.len() <= 1,
            "groups are gathered before they are merged"
        );
        if self.parts.is_empty() {
            self.parts.push(Part::default());
        }
        let part = &mut self.parts[0];
        let (keys, hashes) = (&part.keys, &part.hashes);
        let same = |&group: &usize| {
            let kept = keys.group(group);
            kept.len() == key.len() && kept.iter().zip(key).all(|(k, v)| k.view() == *v)
        };
        let group = match part
            .places
            .entry(hash, same, |&group| hashes.group(group)[0])
        {
            Entry::Occupied(place) => *place.get(),
            Entry::Vacant(slot) => {
                let group = part.len;
                part.len += 1;
                part.hashes.push_group(|hashes| hashes.push(hash));
                let copy = |value: &Value<'_>| Stored::keep(value.borrowed());
                part.keys
                    .push_group(|keys| keys.extend(key.iter().map(copy)));
                let zeros = std::iter::repeat_n(0, counts());
                part.counts.push_group(|counts| counts.extend(zeros));
                part.states.push_group(new_states);
                slot.insert(group);
                group
            }
        };
        (part.counts.group_mut(group), part.states.group_mut(group))
    }

    /// Takes in the groups gathered elsewhere (by another thread): the counts of a group that
    /// is here too are added to its counts here and its other states merged (by `merge`, given
    /// the state's place among them), and the others stay in their parts, which become parts
    /// here.
    pub fn absorb(&mut self, mut from: Groups<S>, merge: impl Fn(usize, &mut S, S)) {
        for part in &mut from.parts {
            for group in 0..part.len {
                if part.is_merged_away(group) {
                    continue;
                }
                let hash = part.hashes.group(group)[0];
                let key = part.keys.group(group);
                let same = |kept: &[Stored]| kept == key;
                // The first part holding the key holds its live copy: a copy merged away was
                // merged into a part before its own.
                let Some((held_in, held)) = (self.parts.iter().enumerate())
                    .find_map(|(i, here)| Some((i, here.find(hash, same)?)))
                else {
                    continue;
                };
                let holder = &mut self.parts[held_in];
                let counts = holder.counts.group_mut(held);
                for (a, b) in counts.iter_mut().zip(part.counts.group(group)) {
                    *a += b;
                }
                let states = holder.states.group_mut(held);
                for (i, (a, b)) in states
                    .iter_mut()
                    .zip(part.states.group_mut(group))
                    .enumerate()
                {
                    merge(i, a, std::mem::take(b));
                }
                part.merge_away(group);
            }
        }
        self.parts.append(&mut from.parts);
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::collections::HashMap;
    use std::hash::BuildHasher;

    use super::*;

    /// Counts `keys` into groups of one text key, with a count and the key's length as states.
    fn count(keys: impl Iterator<Item = String>) -> Groups<u64> {
        let mut groups = Groups::default();
        for key in keys {
            let value = [Value::Str(Cow::Borrowed(&key))];
            // Keys that differ only in their last character collide on purpose.
            let hash = foldhash::fast::FixedState::default().hash_one(&key[..key.len() - 1]);
            let new_states = |new: &mut Vec<u64>| new.push(key.len() as u64);
            let (counts, _) = groups.states_of(hash, &value, || 1, new_states);
            counts[0] += 1;
        }
        groups
    }

    fn contents(groups: &Groups<u64>) -> HashMap<String, Vec<u64>> {
        (groups.live())
            .map(|group| {
                let key = groups.key(group)[0].view().to_text().unwrap().into_owned();
                let (counts, states) = groups.states(group);
                (key, [counts, states].concat())
            })
            .collect()
    }

    #[test]
    fn groups_past_many_chunks_merge_with_their_counts() {
        let name = |i: usize| format!("{i:0width$}", width = 1 + i % 30);
        let total = 3 * GROUPS_PER_CHUNK + 5;
        let mut first = count((0..total).map(name).chain((0..10).map(name)));
        let second = count((total / 2..total + 100).map(name));
        assert_eq!(first.len(), total);
        first.absorb(second, |i, a, b| {
            assert_eq!((i, *a), (0, b), "the same key, so the same length");
        });

        let merged = contents(&first);
        assert_eq!(merged.len(), total + 100);
        for i in 0..total + 100 {
            let expected =
                usize::from(i < total) + usize::from(i < 10) + usize::from(i >= total / 2);
            let key = name(i);
            assert_eq!(merged[&key], [expected as u64, key.len() as u64], "{key}");
        }
    }

    #[test]
    fn groups_merged_in_any_tree_of_threads_are_each_live_once_with_every_count() {
        let name = |i: usize| format!("key-{i}");
        // Four threads' groups, overlapping: key i is met by thread t when i % (t + 2) != 1.
        let threads =
            || (0..4).map(|t| count((0..5000).filter(move |i| i % (t + 2) != 1).map(name)));
        let expected = |i: usize| (0..4).filter(|t| i % (t + 2) != 1).count() as u64;
        let check = |groups: &Groups<u64>| {
            let merged = contents(groups);
            assert_eq!(groups.live().count(), merged.len(), "a key live twice");
            assert_eq!(merged.len(), (0..5000).filter(|&i| expected(i) > 0).count());
            for (key, counts) in &merged {
                let i: usize = key["key-".len()..].parse().unwrap();
                assert_eq!(counts[0], expected(i), "{key}");
            }
        };
        let merge = |i: usize, a: &mut u64, b: u64| assert_eq!((i, *a), (0, b));
        let [a, b, c, d]: [Groups<u64>; 4] = threads().collect::<Vec<_>>().try_into().unwrap();
        let (mut ab, mut cd) = (a, c);
        ab.absorb(b, merge);
        cd.absorb(d, merge);
        cd.absorb(ab, merge);
        check(&cd);

        let mut chain = Groups::default();
        for groups in threads() {
            chain.absorb(groups, merge);
        }
        check(&chain);
    }

    #[test]
    fn a_group_without_key_or_states_is_still_one_group() {
        let mut groups: Groups<u64> = Groups::default();
        for _ in 0..3 {
            let (counts, states) = groups.states_of(1, &[], || 0, |_| {});
            assert!(counts.is_empty() && states.is_empty());
        }
        let mut other: Groups<u64> = Groups::default();
        other.states_of(1, &[], || 0, |_| {});
        groups.absorb(other, |_, _, _| unreachable!("no states"));
        groups.absorb(Groups::default(), |_, _, _| unreachable!("no groups"));
        let live: Vec<GroupId> = groups.live().collect();
        assert_eq!(live.len(), 1);
        assert!(groups.key(live[0]).is_empty());
    }
}
