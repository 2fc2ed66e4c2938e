//! A rule's `Cond` as the engine's plan: the same expressions, prefilter and projection as SQL queries get.

use std::sync::Arc;

use super::detection::{Cond, Field, Test};
use crate::query::Plan;
use crate::query::like::LikePattern;
use crate::query::plan::{CmpOp, Expr, Func};
use crate::record::{FieldPath, Value};
use crate::results::{Order, SortBy, SortKey};

/// What a rule's finding shows, as (column, CloudTrail path): the columns of the canned
/// queries, then the fields the rule's `fields` names.
pub const COLUMNS: &[(&str, &str)] = &[
    ("eventTime", "eventTime"),
    ("account", "recipientAccountId"),
    ("awsRegion", "awsRegion"),
    ("eventName", "eventName"),
    ("principal", "userIdentity.arn"),
    ("sourceIPAddress", "sourceIPAddress"),
    ("errorCode", "errorCode"),
];

/// The plan of a rule: events that meet `cond`, with `COLUMNS` and `fields`, by time.
pub fn plan(cond: &Cond, fields: &[String]) -> Result<Plan, String> {
    let columns: Vec<(String, String)> = (COLUMNS.iter())
        .map(|(c, p)| ((*c).to_owned(), (*p).to_owned()))
        .chain(fields.iter().map(|f| (f.clone(), f.clone())))
        .collect();
    Ok(Plan {
        columns: columns.iter().map(|(c, _)| c.clone()).collect(),
        projections: (columns.iter())
            .map(|(_, p)| Expr::Column(FieldPath::parse(p)))
            .collect(),
        filter: Some(expr(cond, false)?),
        group_by: Vec::new(),
        aggregates: Vec::new(),
        having: None,
        sort_exprs: Vec::new(),
        order: Order {
            keys: vec![SortKey {
                by: SortBy::Column(0),
                descending: false,
                nulls_first: false,
            }],
            limit: None,
            extra: 0,
        },
        grouped: false,
    })
}

/// `cond` as a predicate. A Sigma test is true or false, never unknown: under a `not`, a
/// test of an absent field (NULL in SQL) counts as false, so `not` makes it true.
pub fn expr(cond: &Cond, under_not: bool) -> Result<Expr, String> {
    Ok(match cond {
        Cond::All(items) => balanced(items, under_not, Expr::And, true)?,
        Cond::Any(items) => balanced(items, under_not, Expr::Or, false)?,
        Cond::Not(inner) => Expr::Not(Box::new(expr(inner, true)?)),
        Cond::Match(field, test) => {
            let leaf = leaf(field, test)?;
            if under_not && !matches!(test, Test::Null | Test::Present) {
                Expr::Coalesce(vec![leaf, Expr::Literal(Value::Bool(false))])
            } else {
                leaf
            }
        }
    })
}

/// `items` joined by `join` as a balanced tree, so a selection of thousands of values does
/// not make an expression thousands deep; `empty` when there are none.
fn balanced(
    items: &[Cond],
    under_not: bool,
    join: fn(Box<Expr>, Box<Expr>) -> Expr,
    empty: bool,
) -> Result<Expr, String> {
    match items {
        [] => Ok(Expr::Literal(Value::Bool(empty))),
        [one] => expr(one, under_not),
        _ => {
            let (left, right) = items.split_at(items.len() / 2);
            Ok(join(
                Box::new(balanced(left, under_not, join, empty)?),
                Box::new(balanced(right, under_not, join, empty)?),
            ))
        }
    }
}

/// Where a field's value is read: its path, or the whole event for keywords.
pub fn path_of(field: &Field) -> FieldPath {
    match field {
        Field::Path(path) => FieldPath::parse(path),
        // The empty path reads the event itself, as its JSON text.
        Field::Event => FieldPath::new(Vec::new()),
    }
}

/// The longest run of plain characters that every match of `pattern` holds, for a regular
/// expression simple enough to tell (no alternation, groups, classes, escapes or flags).
pub(super) fn required_literal(pattern: &str) -> Option<String> {
    if pattern.contains(['|', '(', ')', '[', ']', '{', '}', '\\']) {
        return None;
    }
    let mut runs: Vec<String> = vec![String::new()];
    for c in pattern.chars() {
        let run = runs.last_mut().expect("a run");
        match c {
            // The character before is optional: it is not required.
            '*' | '?' => {
                run.pop();
                runs.push(String::new());
            }
            '.' | '^' | '$' | '+' => runs.push(String::new()),
            c => run.push(c),
        }
    }
    runs.into_iter()
        .max_by_key(|r| r.chars().count())
        .filter(|r| r.chars().count() >= 3)
}

fn like_escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn text(value: &str) -> Expr {
    Expr::Literal(Value::Str(value.to_owned().into()))
}

/// The top-level fields whose insides may hold lists (of instances, containers, ARNs…).
const MAY_HOLD_LISTS: &[&str] = &[
    "requestParameters",
    "responseElements",
    "additionalEventData",
    "serviceEventDetails",
    "resources",
];

/// A test of one field. Below a field that may hold lists, the path stands for each
/// element of a list it meets, as Sigma rules are written (`requestParameters.
/// containerDefinitions.command` is the command of any of the containers).
fn leaf(field: &Field, test: &Test) -> Result<Expr, String> {
    let path = path_of(field);
    let test_of_path = !matches!(test, Test::SameAs { .. });
    let may_hold_lists = path.segments().len() > 1
        && (MAY_HOLD_LISTS.iter()).any(|f| f.eq_ignore_ascii_case(&path.segments()[0]));
    let leaf = value_test(field, test)?;
    Ok(if test_of_path && may_hold_lists {
        Expr::AnyValue(path, Box::new(leaf))
    } else {
        leaf
    })
}

fn value_test(field: &Field, test: &Test) -> Result<Expr, String> {
    let column = Expr::Column(path_of(field));
    let folded = |cased: bool, e: Expr| {
        if cased {
            e
        } else {
            Expr::Call(Func::Lower, Box::new(e))
        }
    };
    Ok(match test {
        Test::Equals { values, cased } => match values.as_slice() {
            [one] => Expr::Compare(
                CmpOp::Eq,
                Box::new(folded(*cased, column)),
                Box::new(text(one)),
            ),
            _ => Expr::InList {
                expr: Box::new(folded(*cased, column)),
                list: values.iter().map(|v| text(v)).collect(),
                negated: false,
                texts: Some(Arc::new(values.iter().cloned().collect())),
            },
        },
        Test::Like { pattern, cased } => Expr::Like {
            expr: Box::new(folded(*cased, column)),
            pattern: LikePattern::compile(pattern, Some('\\'))
                .map_err(|e| format!("the value makes a bad pattern: {e}"))?,
            negated: false,
        },
        Test::Regex(pattern) => {
            let regex = Expr::Regexp(
                Box::new(column.clone()),
                Arc::new(regex_lite::Regex::new(pattern).map_err(|e| e.to_string())?),
            );
            // regex-lite has no literal prefilter: a text without the literal every match
            // holds is refused by a substring search first (`:assumed-role/aws:` of
            // `.+:assumed-role/aws:.+` on every event's ARN).
            match required_literal(pattern) {
                Some(literal) => Expr::And(
                    Box::new(Expr::Like {
                        expr: Box::new(column),
                        pattern: LikePattern::compile(
                            &format!("%{}%", like_escaped(&literal)),
                            Some('\\'),
                        )
                        .map_err(|e| e.to_string())?,
                        negated: false,
                    }),
                    Box::new(regex),
                ),
                None => regex,
            }
        }
        Test::Null => Expr::IsNull {
            expr: Box::new(column),
            negated: false,
        },
        Test::Present => Expr::IsNull {
            expr: Box::new(column),
            negated: true,
        },
        Test::SameAs { path, cased } => Expr::Compare(
            CmpOp::Eq,
            Box::new(folded(*cased, column)),
            Box::new(folded(*cased, Expr::Column(FieldPath::parse(path)))),
        ),
    })
}
