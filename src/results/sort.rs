//! The order of a result: ORDER BY keys, then where each row was read; LIMIT.

use std::cmp::Ordering;

use rayon::slice::ParallelSliceMut;

use super::row::Row;
use crate::record::{OwnedValue, Value};

/// Where a row came from: object index in the sorted input, record index in the object.
pub type Position = (u32, u32);

/// How one result's rows are ordered and cut.
#[derive(Debug, Clone, Default)]
pub struct Order {
    pub keys: Vec<SortKey>,
    pub limit: Option<usize>,
    /// How many values each row carries besides its columns (ORDER BY expressions that are
    /// not output columns), in the order the keys name them.
    pub extra: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortKey {
    pub by: SortBy,
    pub descending: bool,
    pub nulls_first: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    /// An output column.
    Column(usize),
    /// A value carried beside the columns (`PendingRow::sort_extra`).
    Extra(usize),
}

/// A row before the final sort: what it is sorted by besides its values.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingRow {
    pub position: Position,
    pub row: Row,
    /// Values of ORDER BY expressions that are not output columns.
    pub sort_extra: Vec<OwnedValue>,
    /// The first ORDER BY value, compared without following the row's pointers.
    sort_prefix: SortPrefix,
}

/// The first ORDER BY value of a row as bytes whose order is the sort's order: the null
/// placement, the type's rank, then the value (up to 28 bytes of text, and its length),
/// all inverted for DESC. Sorting many rows touches each row's values in memory scattered
/// by the scan; comparing these inline first leaves that to ties.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct SortPrefix {
    words: [u64; 4],
    /// Whether equal prefixes mean equal values (text of at most 28 bytes, NULL, a
    /// boolean, a time); numbers and longer text are compared in full on a tie.
    exact: bool,
}

/// How much text a `SortPrefix` holds.
const PREFIX_TEXT: usize = 28;

impl SortPrefix {
    fn of(value: &OwnedValue, key: &SortKey) -> SortPrefix {
        let mut bytes = [0u8; 32];
        let mut exact = true;
        // The ranks of `Value::total_cmp`.
        let rank = match value {
            Value::Null => None,
            Value::Bool(b) => {
                bytes[2] = u8::from(*b);
                Some(1)
            }
            Value::Int(_) | Value::Float(_) => {
                exact = false;
                Some(2)
            }
            Value::Time(t) => {
                let seconds = (t.timestamp() as u64) ^ (1 << 63);
                bytes[2..10].copy_from_slice(&seconds.to_be_bytes());
                bytes[10..14].copy_from_slice(&t.timestamp_subsec_nanos().to_be_bytes());
                Some(3)
            }
            Value::Str(text) => {
                let text = text.as_bytes();
                let kept = text.len().min(PREFIX_TEXT);
                bytes[2..2 + kept].copy_from_slice(&text[..kept]);
                // After the zero padding, the length puts a text before its extensions by
                // zero bytes; any longer text counts as one byte longer than the prefix.
                bytes[2 + PREFIX_TEXT] = text.len().min(PREFIX_TEXT + 1) as u8;
                exact = text.len() <= PREFIX_TEXT;
                Some(4)
            }
        };
        match rank {
            None => bytes[0] = if key.nulls_first { 0 } else { 2 },
            Some(rank) => {
                bytes[0] = 1;
                bytes[1] = rank;
                if key.descending {
                    bytes[1..].iter_mut().for_each(|b| *b = !*b);
                }
            }
        }
        let word =
            |i: usize| u64::from_be_bytes(bytes[i * 8..i * 8 + 8].try_into().unwrap_or_default());
        SortPrefix {
            words: [word(0), word(1), word(2), word(3)],
            exact,
        }
    }
}

impl Order {
    /// A row to sort, from what a query gathered or a spilled run gives back.
    pub fn pending_row(
        &self,
        position: Position,
        row: Row,
        sort_extra: Vec<OwnedValue>,
    ) -> PendingRow {
        let sort_prefix = match self.keys.first() {
            Some(key) => SortPrefix::of(self.value(key, &row, &sort_extra), key),
            None => SortPrefix::default(),
        };
        PendingRow {
            position,
            row,
            sort_extra,
            sort_prefix,
        }
    }

    fn value<'r>(&self, key: &SortKey, row: &'r Row, extra: &'r [OwnedValue]) -> &'r OwnedValue {
        match key.by {
            SortBy::Column(i) => &row.values[i],
            SortBy::Extra(i) => &extra[i],
        }
    }

    /// The output order: ORDER BY, then where the rows were read.
    pub fn compare(&self, a: &PendingRow, b: &PendingRow) -> Ordering {
        match a.sort_prefix.words.cmp(&b.sort_prefix.words) {
            Ordering::Equal if a.sort_prefix.exact && b.sort_prefix.exact => {
                self.compare_from(1, a, b)
            }
            Ordering::Equal => self.compare_from(0, a, b),
            ordering => ordering,
        }
    }

    /// The output order from the `first`th ORDER BY key on.
    fn compare_from(&self, first: usize, a: &PendingRow, b: &PendingRow) -> Ordering {
        for key in self.keys.iter().skip(first) {
            let x = self.value(key, &a.row, &a.sort_extra);
            let y = self.value(key, &b.row, &b.sort_extra);
            let ordering = compare_for_sort(x, y, key);
            if ordering != Ordering::Equal {
                return ordering;
            }
        }
        a.position.cmp(&b.position)
    }

    /// How a row whose first ORDER BY value is `value` orders against `row` on that key
    /// alone (equal when there is no ORDER BY).
    pub fn compare_first_key(&self, value: &Value<'_>, row: &PendingRow) -> Ordering {
        match self.keys.first() {
            Some(key) => compare_for_sort(value, self.value(key, &row.row, &row.sort_extra), key),
            None => Ordering::Equal,
        }
    }

    /// Sorts in parallel; stable, so the order is a sequential sort's whatever the threads.
    pub fn sort(&self, rows: &mut [PendingRow]) {
        rows.par_sort_by(|a, b| self.compare(a, b));
    }

    /// Sorts, cuts to the LIMIT, and drops what only sorting needed.
    pub fn finish(&self, mut rows: Vec<PendingRow>) -> Vec<Row> {
        self.sort(&mut rows);
        if let Some(limit) = self.limit {
            rows.truncate(limit);
        }
        rows.into_iter().map(|r| r.row).collect()
    }

    /// Bounds memory for `ORDER BY … LIMIT n`: only the best n rows of a part can survive.
    /// Sorts on the calling thread: callers may hold a lock that other rayon tasks take.
    /// Says whether rows were dropped.
    pub fn trim(&self, rows: &mut Vec<PendingRow>) -> bool {
        match self.limit {
            Some(limit) if rows.len() > limit.saturating_mul(2).max(1024) => {
                rows.sort_by(|a, b| self.compare(a, b));
                rows.truncate(limit);
                true
            }
            _ => false,
        }
    }
}

fn compare_for_sort(x: &Value<'_>, y: &Value<'_>, key: &SortKey) -> Ordering {
    match (x.is_null(), y.is_null()) {
        (true, true) => Ordering::Equal,
        (true, false) if key.nulls_first => Ordering::Less,
        (true, false) => Ordering::Greater,
        (false, true) if key.nulls_first => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => {
            let ordering = x.total_cmp(y);
            if key.descending {
                ordering.reverse()
            } else {
                ordering
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;

    #[test]
    fn the_inline_sort_prefix_orders_as_the_values_do() {
        let long = "x".repeat(PREFIX_TEXT);
        let texts = [
            String::new(),
            "\0".to_owned(),
            "a".to_owned(),
            "a\0".to_owned(),
            "a\0b".to_owned(),
            "ab".to_owned(),
            "é".to_owned(),
            "2026-11-01T00:00:28Z".to_owned(),
            "2026-11-01T00:00:29Z".to_owned(),
            long.clone(),
            format!("{long}\0"),
            format!("{long}a"),
            format!("{long}b"),
            format!("{long}ab"),
            format!("{}a", &long[1..]),
        ];
        let mut values: Vec<OwnedValue> = vec![
            Value::Null,
            Value::Bool(false),
            Value::Bool(true),
            Value::Int(-3),
            Value::Int(2),
            Value::Float(2.0),
            Value::Float(-0.5),
            Value::Time(DateTime::from_timestamp(-5, 0).unwrap()),
            Value::Time(DateTime::from_timestamp(1_700_000_000, 1).unwrap()),
            Value::Time(DateTime::from_timestamp(1_700_000_000, 2).unwrap()),
        ];
        values.extend(texts.into_iter().map(|t| Value::Str(t.into())));
        for (descending, nulls_first) in
            [(false, false), (true, false), (false, true), (true, true)]
        {
            // ORDER BY column 0, then an extra value that is the same for every row.
            let order = Order {
                keys: vec![
                    SortKey {
                        by: SortBy::Column(0),
                        descending,
                        nulls_first,
                    },
                    SortKey {
                        by: SortBy::Extra(0),
                        descending: false,
                        nulls_first: false,
                    },
                ],
                limit: None,
                extra: 1,
            };
            let row = |value: &OwnedValue, position| {
                let row = Row {
                    values: vec![value.clone(), Value::Null],
                    identity: String::new(),
                };
                order.pending_row((0, position), row, vec![Value::Str("same".into())])
            };
            for (i, x) in values.iter().enumerate() {
                for (j, y) in values.iter().enumerate() {
                    let (a, b) = (row(x, i as u32), row(y, j as u32));
                    assert_eq!(
                        order.compare(&a, &b),
                        order.compare_from(0, &a, &b),
                        "{x:?} against {y:?}, descending {descending}, nulls first {nulls_first}"
                    );
                }
            }
        }
    }
}
