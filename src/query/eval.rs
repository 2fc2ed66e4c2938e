//! Evaluation of compiled plans: three-valued predicates, LIKE, functions, and aggregates.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use memchr::memmem::Finder;
use rayon::slice::ParallelSliceMut;

use super::sql::{Aggregate, ArithOp, CmpOp, Expr, Func, Plan, SortKey, SortTarget, TruncUnit};
use crate::record::{FieldPath, OwnedValue, Record, Value, json_scalar_text};

/// A compiled LIKE pattern: `%` is any run of characters, `_` exactly one.
#[derive(Debug, Clone)]
pub struct LikePattern {
    /// The pattern split at `%`: each piece is matched as a whole, left to right.
    pieces: Vec<Vec<PatternChar>>,
    /// Per piece without `_`, a searcher for its text, built once rather than per record.
    finders: Vec<Option<Finder<'static>>>,
    anchored_start: bool,
    anchored_end: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PatternChar {
    Literal(char),
    AnyOne,
}

impl LikePattern {
    pub fn compile(pattern: &str, escape: Option<char>) -> Result<Self, String> {
        let mut pieces = vec![Vec::new()];
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            if Some(c) == escape {
                match chars.next() {
                    Some(next @ ('%' | '_')) => {
                        pieces.last_mut().unwrap().push(PatternChar::Literal(next))
                    }
                    Some(next) if Some(next) == escape => {
                        pieces.last_mut().unwrap().push(PatternChar::Literal(next))
                    }
                    _ => {
                        return Err(format!(
                            "in LIKE '{pattern}', the escape character must be followed by %, _ or itself"
                        ));
                    }
                }
            } else if c == '%' {
                pieces.push(Vec::new());
            } else if c == '_' {
                pieces.last_mut().unwrap().push(PatternChar::AnyOne);
            } else {
                pieces.last_mut().unwrap().push(PatternChar::Literal(c));
            }
        }
        let anchored_start = !pieces.first().is_some_and(Vec::is_empty) || pieces.len() == 1;
        let anchored_end = pieces.len() == 1 || !pieces.last().is_some_and(Vec::is_empty);
        pieces.retain(|p| !p.is_empty());
        let finders = pieces
            .iter()
            .map(|piece| literal_piece(piece).map(|text| Finder::new(text.as_bytes()).into_owned()))
            .collect();
        Ok(LikePattern {
            pieces,
            finders,
            anchored_start,
            anchored_end,
        })
    }

    pub fn matches(&self, text: &str) -> bool {
        if self.pieces.is_empty() {
            // '' matches only '', and any pattern of only % matches everything.
            return !(self.anchored_start && self.anchored_end) || text.is_empty();
        }
        let last = self.pieces.len() - 1;
        let mut pos = 0;
        for (i, piece) in self.pieces.iter().enumerate() {
            let must_start_here = i == 0 && self.anchored_start;
            let must_end_here = i == last && self.anchored_end;
            if must_end_here {
                // Each piece is a fixed number of characters, so the last one has one place.
                let Some(start) = start_of_last_chars(text, piece.len()) else {
                    return false;
                };
                if start < pos || (must_start_here && start != 0) {
                    return false;
                }
                return piece_matches_at(piece, &text[start..]).is_some();
            }
            if must_start_here {
                match piece_matches_at(piece, text) {
                    Some(len) => pos = len,
                    None => return false,
                }
                continue;
            }
            // Leftmost match is optimal when every piece has a fixed length.
            match find_piece(piece, self.finders[i].as_ref(), text, pos) {
                Some(end) => pos = end,
                None => return false,
            }
        }
        true
    }
}

/// Byte offset where the last `count` characters of `text` start.
fn start_of_last_chars(text: &str, count: usize) -> Option<usize> {
    if count == 0 {
        return Some(text.len());
    }
    text.char_indices().rev().nth(count - 1).map(|(i, _)| i)
}

/// If `piece` matches at the start of `text`, the number of bytes it covers.
fn piece_matches_at(piece: &[PatternChar], text: &str) -> Option<usize> {
    let mut chars = text.char_indices();
    let mut end = 0;
    for expected in piece {
        let (i, c) = chars.next()?;
        if let PatternChar::Literal(l) = expected
            && *l != c
        {
            return None;
        }
        end = i + c.len_utf8();
    }
    Some(end)
}

fn find_piece(
    piece: &[PatternChar],
    finder: Option<&Finder<'_>>,
    text: &str,
    from: usize,
) -> Option<usize> {
    let rest = &text[from..];
    if let Some(finder) = finder {
        return finder
            .find(rest.as_bytes())
            .map(|i| from + i + finder.needle().len());
    }
    for (i, _) in rest.char_indices() {
        if let Some(len) = piece_matches_at(piece, &rest[i..]) {
            return Some(from + i + len);
        }
    }
    None
}

fn literal_piece(piece: &[PatternChar]) -> Option<String> {
    piece
        .iter()
        .map(|p| match p {
            PatternChar::Literal(c) => Some(*c),
            PatternChar::AnyOne => None,
        })
        .collect()
}

/// What an expression is evaluated against: one record, or one group after GROUP BY.
pub enum Scope<'x, 'r, 'a> {
    Record(Record<'r, 'a>),
    Group {
        keys: &'x [OwnedValue],
        aggregates: &'x [OwnedValue],
    },
    /// The value of one path alone (and whether it is an object or an array), for a
    /// condition that reads no other: every other column is NULL.
    Field {
        path: &'x FieldPath,
        value: Value<'r>,
        is_container: bool,
    },
}

/// Whether `condition`, which reads no column but `path`, holds where `path` has `value`.
pub fn holds_for_field(
    condition: &Expr,
    path: &FieldPath,
    value: Value<'_>,
    is_container: bool,
) -> bool {
    let scope = Scope::Field {
        path,
        value,
        is_container,
    };
    truth(condition, &scope) == Some(true)
}

/// Evaluates `expr`; the result may borrow from the plan (literals) and from the record.
pub fn eval<'v>(expr: &'v Expr, scope: &Scope<'v, 'v, '_>) -> Value<'v> {
    match expr {
        Expr::Column(path) => match scope {
            Scope::Record(record) => record.get(path),
            Scope::Field {
                path: only, value, ..
            } if *only == path => value.clone(),
            Scope::Group { .. } | Scope::Field { .. } => Value::Null,
        },
        Expr::JsonScalarPath(path) => match scope {
            Scope::Record(record) => record.json_scalar(path),
            Scope::Field {
                path: only,
                value,
                is_container,
            } if *only == path => json_scalar_text(value.clone(), *is_container),
            Scope::Group { .. } | Scope::Field { .. } => Value::Null,
        },
        Expr::Literal(value) => value.borrowed(),
        Expr::GroupKey(i) => match scope {
            Scope::Group { keys, .. } => keys[*i].borrowed(),
            Scope::Record(_) | Scope::Field { .. } => Value::Null,
        },
        Expr::Aggregate(i) => match scope {
            Scope::Group { aggregates, .. } => aggregates[*i].borrowed(),
            Scope::Record(_) | Scope::Field { .. } => Value::Null,
        },
        Expr::Compare(op, left, right) => {
            let ordering = eval(left, scope).sql_cmp(&eval(right, scope));
            bool_value(ordering.map(|o| compare_holds(*op, o)))
        }
        Expr::And(left, right) => bool_value(and(truth(left, scope), || truth(right, scope))),
        Expr::Or(left, right) => bool_value(or(truth(left, scope), || truth(right, scope))),
        Expr::Not(inner) => bool_value(truth(inner, scope).map(|b| !b)),
        Expr::IsNull { expr, negated } => Value::Bool(eval(expr, scope).is_null() != *negated),
        Expr::Like {
            expr,
            pattern,
            negated,
        } => {
            let value = eval(expr, scope);
            bool_value(
                value
                    .to_text()
                    .map(|text| pattern.matches(&text) != *negated),
            )
        }
        Expr::InList {
            expr,
            list,
            negated,
        } => {
            let value = eval(expr, scope);
            if value.is_null() {
                return Value::Null;
            }
            let mut saw_null = false;
            for item in list {
                match value.sql_cmp(&eval(item, scope)) {
                    Some(Ordering::Equal) => return Value::Bool(!*negated),
                    None => saw_null = true,
                    Some(_) => {}
                }
            }
            if saw_null {
                Value::Null
            } else {
                Value::Bool(*negated)
            }
        }
        Expr::Arith(op, left, right) => arithmetic(*op, &eval(left, scope), &eval(right, scope)),
        Expr::Negate(inner) => match eval(inner, scope) {
            Value::Int(i) => i.checked_neg().map_or(Value::Null, Value::Int),
            other => other.as_f64().map_or(Value::Null, |f| Value::Float(-f)),
        },
        Expr::Call(func, arg) => call(*func, eval(arg, scope)),
        Expr::JsonScalar(base, path) => match eval(base, scope).to_text() {
            Some(text) => json_scalar_of_text(&text, path),
            None => Value::Null,
        },
        Expr::DateTrunc(unit, inner) => match eval(inner, scope).as_time() {
            Some(time) => truncate(time, *unit).map_or(Value::Null, Value::Time),
            None => Value::Null,
        },
    }
}

/// A WHERE or HAVING clause keeps a row only when it is TRUE (not FALSE, not NULL).
pub fn holds(expr: &Expr, scope: &Scope<'_, '_, '_>) -> bool {
    match expr {
        // TRUE only when both sides are, whatever NULL AND FALSE would be: a side that is
        // not TRUE settles it, which spares the other side for most records.
        Expr::And(a, b) => holds(a, scope) && holds(b, scope),
        Expr::Or(a, b) => holds(a, scope) || holds(b, scope),
        _ => truth(expr, scope) == Some(true),
    }
}

fn truth(expr: &Expr, scope: &Scope<'_, '_, '_>) -> Option<bool> {
    match eval(expr, scope) {
        Value::Bool(b) => Some(b),
        Value::Null => None,
        other => match other.to_text()?.to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
    }
}

fn and(left: Option<bool>, right: impl FnOnce() -> Option<bool>) -> Option<bool> {
    match left {
        Some(false) => Some(false),
        Some(true) => right(),
        None => match right() {
            Some(false) => Some(false),
            _ => None,
        },
    }
}

fn or(left: Option<bool>, right: impl FnOnce() -> Option<bool>) -> Option<bool> {
    match left {
        Some(true) => Some(true),
        Some(false) => right(),
        None => match right() {
            Some(true) => Some(true),
            _ => None,
        },
    }
}

fn bool_value(b: Option<bool>) -> Value<'static> {
    b.map_or(Value::Null, Value::Bool)
}

fn compare_holds(op: CmpOp, ordering: Ordering) -> bool {
    match op {
        CmpOp::Eq => ordering == Ordering::Equal,
        CmpOp::NotEq => ordering != Ordering::Equal,
        CmpOp::Lt => ordering == Ordering::Less,
        CmpOp::LtEq => ordering != Ordering::Greater,
        CmpOp::Gt => ordering == Ordering::Greater,
        CmpOp::GtEq => ordering != Ordering::Less,
    }
}

fn arithmetic(op: ArithOp, left: &Value<'_>, right: &Value<'_>) -> Value<'static> {
    if let (Value::Int(a), Value::Int(b)) = (left, right) {
        let result = match op {
            ArithOp::Add => a.checked_add(*b),
            ArithOp::Sub => a.checked_sub(*b),
            ArithOp::Mul => a.checked_mul(*b),
            ArithOp::Div => a.checked_div(*b),
            ArithOp::Rem => a.checked_rem(*b),
        };
        return result.map_or(Value::Null, Value::Int);
    }
    let (Some(a), Some(b)) = (left.as_f64(), right.as_f64()) else {
        return Value::Null;
    };
    let result = match op {
        ArithOp::Add => a + b,
        ArithOp::Sub => a - b,
        ArithOp::Mul => a * b,
        ArithOp::Div if b == 0.0 => return Value::Null,
        ArithOp::Div => a / b,
        ArithOp::Rem if b == 0.0 => return Value::Null,
        ArithOp::Rem => a % b,
    };
    Value::Float(result)
}

fn call(func: Func, arg: Value<'_>) -> Value<'_> {
    match func {
        Func::Lower => arg
            .to_text()
            .map_or(Value::Null, |t| Value::Str(Cow::Owned(t.to_lowercase()))),
        Func::Upper => arg
            .to_text()
            .map_or(Value::Null, |t| Value::Str(Cow::Owned(t.to_uppercase()))),
        Func::Floor => match arg {
            Value::Int(i) => Value::Int(i),
            other => other
                .as_f64()
                .map_or(Value::Null, |f| Value::Float(f.floor())),
        },
        Func::FromIso8601Timestamp => arg.as_time().map_or(Value::Null, Value::Time),
        Func::ToUnixtime => arg.as_time().map_or(Value::Null, |t| {
            Value::Float(t.timestamp() as f64 + f64::from(t.timestamp_subsec_millis()) / 1000.0)
        }),
        Func::FromUnixtime => arg.as_f64().map_or(Value::Null, |secs| {
            let millis = (secs * 1000.0).round();
            if !millis.is_finite() || millis.abs() > 8.0e15 {
                return Value::Null;
            }
            DateTime::from_timestamp_millis(millis as i64).map_or(Value::Null, Value::Time)
        }),
    }
}

fn json_scalar_of_text(text: &str, path: &[String]) -> Value<'static> {
    let mut bytes = text.as_bytes().to_vec();
    let Ok(parsed) = simd_json::to_borrowed_value(&mut bytes) else {
        return Value::Null;
    };
    let path = FieldPath::new(path.to_vec());
    Record::new(&parsed).json_scalar(&path).into_owned()
}

fn truncate(time: DateTime<Utc>, unit: TruncUnit) -> Option<DateTime<Utc>> {
    let step = match unit {
        TruncUnit::Minute => TimeDelta::minutes(1),
        TruncUnit::Hour => TimeDelta::hours(1),
        TruncUnit::Day => TimeDelta::days(1),
    };
    time.duration_trunc(step).ok()
}

/// Where a row came from: object index in the sorted input, record index in the object.
pub type Position = (u32, u32);

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

/// One result row, and what makes it the same finding from one run to the next: the
/// event's `eventID` for a single-event query, the GROUP BY key for an alarm.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub values: Vec<OwnedValue>,
    pub identity: String,
}

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
    groups: HashMap<Vec<OwnedValue>, Vec<AggregateState>>,
    /// Records that matched but were suppressed by the configuration.
    suppressed: u64,
}

impl Accumulator {
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty() && self.groups.is_empty() && self.suppressed == 0
    }

    pub fn suppressed(&self) -> u64 {
        self.suppressed
    }

    /// The rows gathered so far, handed over to be kept elsewhere (see `RowStore`).
    pub fn take_rows(&mut self) -> Vec<PendingRow> {
        std::mem::take(&mut self.rows)
    }

    /// Gives back rows kept elsewhere, to be finished with the others.
    pub fn add_rows(&mut self, rows: Vec<PendingRow>) {
        self.rows.extend(rows);
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
            let row = self.pending_row(position, Row { values, identity }, sort_extra);
            acc.rows.push(row);
            return;
        }
        let key: Vec<OwnedValue> = self
            .group_by
            .iter()
            .map(|e| eval(e, &scope).into_owned())
            .collect();
        let states = acc.groups.entry(key).or_insert_with(|| self.new_states());
        for (state, aggregate) in states.iter_mut().zip(&self.aggregates) {
            update(state, aggregate, &scope);
        }
    }

    /// Bounds memory for `ORDER BY … LIMIT n`: only the best n rows of a part can survive.
    /// Sorts on the calling thread: callers may hold a lock that other rayon tasks take.
    /// Says whether rows were dropped.
    pub fn trim(&self, rows: &mut Vec<PendingRow>) -> bool {
        match self.limit {
            Some(limit) if !self.grouped && rows.len() > limit.saturating_mul(2).max(1024) => {
                rows.sort_by(|a, b| self.compare_rows(a, b));
                rows.truncate(limit);
                true
            }
            _ => false,
        }
    }

    pub fn merge(&self, into: &mut Accumulator, from: Accumulator) {
        into.suppressed += from.suppressed;
        into.rows.extend(from.rows);
        self.trim(&mut into.rows);
        for (key, states) in from.groups {
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

    /// The final rows, in a deterministic order whatever order the parts were merged in.
    pub fn finish(&self, acc: Accumulator) -> Vec<Row> {
        let mut rows = if self.grouped {
            self.group_rows(acc)
        } else {
            acc.rows
        };
        self.sort_rows(&mut rows);
        if let Some(limit) = self.limit {
            rows.truncate(limit);
        }
        rows.into_iter().map(|r| r.row).collect()
    }

    fn group_rows(&self, acc: Accumulator) -> Vec<PendingRow> {
        let mut groups: Vec<_> = acc.groups.into_iter().collect();
        // A query with aggregates and no GROUP BY has one group, even over no records.
        if groups.is_empty() && self.group_by.is_empty() {
            groups.push((Vec::new(), self.new_states()));
        }
        // Groups have no input position: order them by key, so ties in ORDER BY are stable.
        groups.sort_by(|a, b| compare_keys(&a.0, &b.0));
        let mut rows = Vec::new();
        for (key, states) in groups {
            let aggregates: Vec<OwnedValue> = states.into_iter().map(finish_state).collect();
            let scope = Scope::Group {
                keys: &key,
                aggregates: &aggregates,
            };
            if let Some(having) = &self.having
                && !holds(having, &scope)
            {
                continue;
            }
            let (values, sort_extra) = self.output(&scope);
            let identity = identity_of(&key);
            let position = (0, rows.len() as u32);
            rows.push(self.pending_row(position, Row { values, identity }, sort_extra));
        }
        rows
    }

    /// A row's output values, and the ORDER BY values that are not among them.
    fn output(&self, scope: &Scope<'_, '_, '_>) -> (Vec<OwnedValue>, Vec<OwnedValue>) {
        let values = self
            .projections
            .iter()
            .map(|e| eval(e, scope).into_owned())
            .collect();
        let sort_extra = self
            .sort_exprs()
            .map(|e| eval(e, scope).into_owned())
            .collect();
        (values, sort_extra)
    }

    /// How many ORDER BY values each row carries besides its columns.
    pub fn sort_expressions(&self) -> usize {
        self.sort_exprs().count()
    }

    fn sort_exprs(&self) -> impl Iterator<Item = &Expr> {
        self.order_by.iter().filter_map(|k| match &k.target {
            SortTarget::Expr(e) => Some(e),
            SortTarget::Column(_) => None,
        })
    }

    pub fn sort_rows(&self, rows: &mut [PendingRow]) {
        // Stable, so the order is the same as a sequential sort's whatever the threads.
        rows.par_sort_by(|a, b| self.compare_rows(a, b));
    }

    /// The output order: ORDER BY, then where the rows were read.
    pub fn compare_rows(&self, a: &PendingRow, b: &PendingRow) -> Ordering {
        match a.sort_prefix.words.cmp(&b.sort_prefix.words) {
            Ordering::Equal if a.sort_prefix.exact && b.sort_prefix.exact => {
                self.compare_rows_from(1, a, b)
            }
            Ordering::Equal => self.compare_rows_from(0, a, b),
            ordering => ordering,
        }
    }

    /// The output order from the `first`th ORDER BY key on.
    fn compare_rows_from(&self, first: usize, a: &PendingRow, b: &PendingRow) -> Ordering {
        let mut extra = 0;
        for (index, key) in self.order_by.iter().enumerate() {
            let (x, y) = match &key.target {
                SortTarget::Column(i) => (&a.row.values[*i], &b.row.values[*i]),
                SortTarget::Expr(_) => {
                    extra += 1;
                    (&a.sort_extra[extra - 1], &b.sort_extra[extra - 1])
                }
            };
            if index < first {
                continue;
            }
            let ordering = compare_for_sort(x, y, key);
            if ordering != Ordering::Equal {
                return ordering;
            }
        }
        a.position.cmp(&b.position)
    }

    /// A row to sort, from what `accumulate` or a spilled run gives.
    pub fn pending_row(
        &self,
        position: Position,
        row: Row,
        sort_extra: Vec<OwnedValue>,
    ) -> PendingRow {
        let sort_prefix = match self.order_by.first() {
            Some(key) => {
                let value = match &key.target {
                    SortTarget::Column(i) => &row.values[*i],
                    SortTarget::Expr(_) => &sort_extra[0],
                };
                SortPrefix::of(value, key)
            }
            None => SortPrefix::default(),
        };
        PendingRow {
            position,
            row,
            sort_extra,
            sort_prefix,
        }
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

fn compare_for_sort(x: &OwnedValue, y: &OwnedValue, key: &SortKey) -> Ordering {
    match (x.is_null(), y.is_null()) {
        (true, true) => Ordering::Equal,
        (true, false) => {
            if key.nulls_first {
                Ordering::Less
            } else {
                Ordering::Greater
            }
        }
        (false, true) => {
            if key.nulls_first {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::sql::compile;

    fn like(pattern: &str, text: &str) -> bool {
        LikePattern::compile(pattern, None).unwrap().matches(text)
    }

    #[test]
    fn like_edge_cases() {
        let cases = [
            ("%Policy%", "PutRolePolicy", true),
            ("%Policy%", "Policy", true),
            ("%Policy%", "policy", false),
            ("AccessDenied%", "AccessDenied", true),
            ("AccessDenied%", "Client.AccessDenied", false),
            (
                "%UnauthorizedOperation",
                "Client.UnauthorizedOperation",
                true,
            ),
            ("%UnauthorizedOperation", "UnauthorizedOperationX", false),
            ("", "", true),
            ("", "a", false),
            ("%", "", true),
            ("%%", "anything", true),
            ("_", "é", true),
            ("_", "ab", false),
            ("a_c", "abc", true),
            ("a_c", "ac", false),
            ("%a_c%", "xxabcxx", true),
            ("%ab%ab%", "abab", true),
            ("%ab%ab%", "aba", false),
            ("a%a", "a", false),
            ("a%a", "aa", true),
            ("%_", "", false),
            ("%_", "x", true),
            ("Get%", "GetRole", true),
            ("%Role", "AssumeRole", true),
            ("ümlaut%", "ümlauts", true),
        ];
        for (pattern, text, expected) in cases {
            assert_eq!(like(pattern, text), expected, "'{text}' LIKE '{pattern}'");
        }
    }

    #[test]
    fn like_escape() {
        let p = LikePattern::compile("100\\%", Some('\\')).unwrap();
        assert!(p.matches("100%"));
        assert!(!p.matches("1000"));
        assert!(LikePattern::compile("a\\b", Some('\\')).is_err());
    }

    fn rows(sql: &str, events: &[&str]) -> Vec<Vec<OwnedValue>> {
        let plan = compile(sql).unwrap();
        let mut acc = Accumulator::default();
        for (i, text) in events.iter().enumerate() {
            let mut bytes = text.as_bytes().to_vec();
            let json = simd_json::to_borrowed_value(&mut bytes).unwrap();
            plan.accumulate(&mut acc, Record::new(&json), (0, i as u32), |_| false);
        }
        plan.finish(acc).into_iter().map(|row| row.values).collect()
    }

    fn texts(rows: Vec<Vec<OwnedValue>>) -> Vec<String> {
        rows.into_iter()
            .map(|r| {
                r.iter()
                    .map(|v| v.to_text().map_or("NULL".into(), |t| t.into_owned()))
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect()
    }

    #[test]
    fn null_follows_three_valued_logic() {
        let events = [
            r#"{"id":1,"errorCode":null}"#,
            r#"{"id":2,"errorCode":"AccessDenied"}"#,
            r#"{"id":3}"#,
        ];
        let q = |w: &str| {
            texts(rows(
                &format!("SELECT id FROM cloudtrail_logs WHERE {w}"),
                &events,
            ))
        };
        assert_eq!(q("errorCode <> 'AccessDenied'"), Vec::<String>::new());
        assert_eq!(q("NOT (errorCode = 'AccessDenied')"), Vec::<String>::new());
        assert_eq!(q("errorCode IS NULL"), ["1", "3"]);
        assert_eq!(q("errorCode IS NULL OR errorCode = 'x'"), ["1", "3"]);
        assert_eq!(q("errorCode = 'x' OR id = 3"), ["3"]);
        assert_eq!(q("NOT (errorCode = 'AccessDenied' AND id = 2)"), ["1", "3"]);
        assert_eq!(
            q("NOT (errorCode = 'AccessDenied' OR id = 2)"),
            Vec::<String>::new()
        );
        assert_eq!(q("errorCode NOT IN ('x', NULL)"), Vec::<String>::new());
        assert_eq!(q("errorCode IN ('AccessDenied', NULL)"), ["2"]);
        assert_eq!(q("errorCode NOT LIKE 'Access%'"), Vec::<String>::new());
    }

    #[test]
    fn a_clause_holds_exactly_when_it_is_true() {
        // Every mix of TRUE, FALSE and NULL under AND, OR and NOT, nested.
        let events = [
            "{}",
            r#"{"a":true}"#,
            r#"{"a":false}"#,
            r#"{"b":true}"#,
            r#"{"b":false}"#,
        ]
        .iter()
        .flat_map(|x| {
            [
                x.replace('}', r#","c":true}"#),
                x.replace('}', r#","c":false}"#),
            ]
        })
        .map(|e| e.replace("{,", "{"));
        let clauses = [
            "a AND b",
            "a OR b",
            "(a AND b) OR c",
            "(a OR b) AND c",
            "NOT (a AND b) OR c",
            "NOT (a OR b) AND NOT c",
            "(a AND (b OR c)) OR (NOT a AND c)",
        ];
        for clause in clauses {
            let plan = compile(&format!("SELECT 1 FROM cloudtrail_logs WHERE {clause}")).unwrap();
            let filter = plan.filter.as_ref().unwrap();
            for event in events.clone() {
                let mut bytes = event.clone().into_bytes();
                let json = simd_json::to_borrowed_value(&mut bytes).unwrap();
                let scope = Scope::Record(Record::new(&json));
                assert_eq!(
                    holds(filter, &scope),
                    truth(filter, &scope) == Some(true),
                    "{clause} on {event}"
                );
            }
        }
    }

    #[test]
    fn json_string_fields_and_case_insensitive_keys() {
        let events = [
            r#"{"eventname":"PutBucketPolicy","requestParameters":"{\"bucketName\":\"a\"}"}"#,
            r#"{"eventName":"PutBucketPolicy","requestParameters":{"bucketName":"b"}}"#,
            r#"{"EVENTNAME":"PutBucketAcl","requestParameters":null}"#,
        ];
        let got = texts(rows(
            "SELECT requestParameters.bucketName, json_extract_scalar(requestparameters, '$.bucketName') \
             FROM cloudtrail_logs WHERE EventName = 'PutBucketPolicy'",
            &events,
        ));
        assert_eq!(got, ["a|a", "b|b"]);
    }

    #[test]
    fn readonly_true_false_as_bool_or_string() {
        let events = [
            r#"{"id":1,"readOnly":false}"#,
            r#"{"id":2,"readOnly":"false"}"#,
            r#"{"id":3,"readOnly":true}"#,
        ];
        for predicate in ["readOnly = 'false'", "readOnly = false", "NOT readOnly"] {
            let got = texts(rows(
                &format!("SELECT id FROM cloudtrail_logs WHERE {predicate}"),
                &events,
            ));
            assert_eq!(got, ["1", "2"], "{predicate}");
        }
    }

    #[test]
    fn aggregates_group_having_order_limit() {
        let events = [
            r#"{"ip":"1.1.1.1","u":"a","t":"2024-01-01T00:00:10Z"}"#,
            r#"{"ip":"1.1.1.1","u":"b","t":"2024-01-01T00:04:59Z"}"#,
            r#"{"ip":"1.1.1.1","u":"b","t":"2024-01-01T00:02:00Z"}"#,
            r#"{"ip":"2.2.2.2","u":null,"t":"2024-01-01T00:01:00Z"}"#,
            r#"{"ip":null,"u":"c","t":"bad"}"#,
        ];
        let got = texts(rows(
            "SELECT ip, count(*) AS n, count(DISTINCT u) AS users, count(u), min(t), max(t) \
             FROM cloudtrail_logs GROUP BY ip HAVING count(*) >= 1 ORDER BY n DESC, ip",
            &events,
        ));
        assert_eq!(
            got,
            [
                "1.1.1.1|3|2|3|2024-01-01T00:00:10Z|2024-01-01T00:04:59Z",
                "2.2.2.2|1|0|0|2024-01-01T00:01:00Z|2024-01-01T00:01:00Z",
                "NULL|1|1|1|bad|bad",
            ]
        );
        let windows = texts(rows(
            "SELECT from_unixtime(floor(to_unixtime(from_iso8601_timestamp(t)) / 300) * 300) AS w, count(*) \
             FROM cloudtrail_logs WHERE ip IS NOT NULL GROUP BY 1 ORDER BY w",
            &events,
        ));
        assert_eq!(windows, ["2024-01-01T00:00:00Z|4"]);
        let trunc = texts(rows(
            "SELECT date_trunc('minute', t) AS m, count(*) FROM cloudtrail_logs GROUP BY date_trunc('minute', t) \
             ORDER BY m NULLS FIRST LIMIT 2",
            &events,
        ));
        assert_eq!(trunc, ["NULL|1", "2024-01-01T00:00:00Z|1"]);
        let total = texts(rows(
            "SELECT count(*) FROM cloudtrail_logs WHERE ip = 'none'",
            &events,
        ));
        assert_eq!(total, ["0"]);
    }

    #[test]
    fn ungrouped_order_and_limit_keep_input_order_on_ties() {
        let events = [
            r#"{"k":2,"id":"a"}"#,
            r#"{"k":1,"id":"b"}"#,
            r#"{"k":2,"id":"c"}"#,
        ];
        assert_eq!(
            texts(rows(
                "SELECT id FROM cloudtrail_logs ORDER BY k DESC",
                &events
            )),
            ["a", "c", "b"]
        );
        assert_eq!(
            texts(rows("SELECT id FROM cloudtrail_logs LIMIT 2", &events)),
            ["a", "b"]
        );
        assert_eq!(
            texts(rows(
                "SELECT upper(id) FROM cloudtrail_logs WHERE k + 1 = 3",
                &events
            )),
            ["A", "C"]
        );
    }

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
        for order in ["", " DESC", " NULLS FIRST", " DESC NULLS FIRST"] {
            let plan = compile(&format!(
                "SELECT eventName, eventTime FROM cloudtrail_logs ORDER BY eventName{order}, lower(eventID)"
            ))
            .unwrap();
            let row = |value: &OwnedValue, position| {
                let values = vec![value.clone(), Value::Null];
                let row = Row {
                    values,
                    identity: String::new(),
                };
                plan.pending_row((0, position), row, vec![Value::Str("same".into())])
            };
            for (i, x) in values.iter().enumerate() {
                for (j, y) in values.iter().enumerate() {
                    let (a, b) = (row(x, i as u32), row(y, j as u32));
                    assert_eq!(
                        plan.compare_rows(&a, &b),
                        plan.compare_rows_from(0, &a, &b),
                        "{x:?} against {y:?}, ORDER BY eventName{order}"
                    );
                }
            }
        }
    }
}
