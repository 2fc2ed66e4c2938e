//! Evaluation of expressions: three-valued predicates, comparisons, arithmetic and functions.

use std::borrow::Cow;
use std::cell::Cell;
use std::cmp::Ordering;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};

use super::plan::{ArithOp, CmpOp, Expr, Func, TruncUnit};
use crate::record::{FieldPath, Record, Value, json_scalar_text, json_text};

/// What an expression is evaluated against: one record, or one group after GROUP BY.
pub enum Scope<'x, 'r, 'a> {
    Record(Record<'r, 'a>),
    Group {
        keys: &'x [Value<'x>],
        aggregates: &'x [Value<'x>],
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
        Expr::JsonPath(path) => match scope {
            Scope::Record(record) => record.json(path),
            Scope::Field {
                path: only,
                value,
                is_container,
            } if *only == path => json_text(value.clone(), *is_container),
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
            texts,
        } => {
            let value = eval(expr, scope);
            if value.is_null() {
                return Value::Null;
            }
            if let (Value::Str(text), Some(texts)) = (&value, texts) {
                return Value::Bool(texts.contains(text.as_ref()) != *negated);
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
            Value::Int(i) => i.checked_neg().map_or_else(failed, Value::Int),
            other => other.as_f64().map_or(Value::Null, |f| Value::Float(-f)),
        },
        Expr::Call(func, arg) => call(*func, eval(arg, scope)),
        Expr::JsonScalar(base, path) => match eval(base, scope).to_text() {
            Some(text) => json_scalar_of_text(&text, path),
            None => Value::Null,
        },
        Expr::Json(base, path) => match eval(base, scope).to_text() {
            Some(text) => json_of_text(&text, path),
            None => Value::Null,
        },
        Expr::Regexp(inner, regex) => {
            bool_value(eval(inner, scope).to_text().map(|t| regex.is_match(&t)))
        }
        Expr::Strpos(text, part) => {
            match (eval(text, scope).to_text(), eval(part, scope).to_text()) {
                (Some(text), Some(part)) => Value::Int(
                    text.find(part.as_ref())
                        .map_or(0, |at| text[..at].chars().count() as i64 + 1),
                ),
                _ => Value::Null,
            }
        }
        Expr::AnyValue(path, test) => match scope {
            Scope::Record(record) => {
                Value::Bool(record.any_value(path, &mut |value, is_container| {
                    holds_for_field(test, path, value, is_container)
                }))
            }
            Scope::Field { path: only, .. } if *only == path => {
                Value::Bool(truth(test, scope) == Some(true))
            }
            Scope::Group { .. } | Scope::Field { .. } => Value::Null,
        },
        Expr::If(condition, value) => match truth(condition, scope) {
            Some(true) => eval(value, scope),
            _ => Value::Null,
        },
        Expr::Coalesce(list) => list
            .iter()
            .map(|e| eval(e, scope))
            .find(|v| !v.is_null())
            .unwrap_or(Value::Null),
        Expr::Concat(left, right) => {
            match (eval(left, scope).to_text(), eval(right, scope).to_text()) {
                (Some(a), Some(b)) => Value::Str(Cow::Owned(format!("{a}{b}"))),
                _ => Value::Null,
            }
        }
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

pub fn truth(expr: &Expr, scope: &Scope<'_, '_, '_>) -> Option<bool> {
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

thread_local! {
    /// Integer arithmetic that failed on this thread (division by zero, overflow): Athena
    /// stops the query there; here the value is NULL and the query is reported.
    static FAILED: Cell<u64> = const { Cell::new(0) };
}

/// How many integer operations failed on this thread so far.
pub fn failures() -> u64 {
    FAILED.get()
}

fn failed() -> Value<'static> {
    FAILED.set(FAILED.get() + 1);
    Value::Null
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
        return result.map_or_else(failed, Value::Int);
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
        // Values that hold JSON are its text already (see `json_text`).
        Func::JsonFormat => arg
            .to_text()
            .map_or(Value::Null, |t| Value::Str(Cow::Owned(t.into_owned()))),
        Func::JsonArrayLength => arg.to_text().map_or(Value::Null, |text| {
            let mut bytes = text.as_bytes().to_vec();
            match simd_json::to_borrowed_value(&mut bytes) {
                Ok(simd_json::BorrowedValue::Array(items)) => {
                    Value::Int(i64::try_from(items.len()).unwrap_or(i64::MAX))
                }
                _ => Value::Null,
            }
        }),
    }
}

fn json_of_text(text: &str, path: &[String]) -> Value<'static> {
    let mut bytes = text.as_bytes().to_vec();
    let Ok(parsed) = simd_json::to_borrowed_value(&mut bytes) else {
        return Value::Null;
    };
    let path = FieldPath::new(path.to_vec());
    Record::new(&parsed).json(&path).into_owned()
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
