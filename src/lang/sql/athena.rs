//! What Athena refuses that trailscan takes: the checks behind `queries lint`'s Athena warnings.
//!
//! trailscan reads a field of `requestParameters` with a dot, compares `readOnly` with a
//! boolean and truncates a text time, because that is what people write. Athena's table
//! (`table.rs`) declares those columns STRING, and Athena refuses each of these: every
//! check below says so, and how to write it for both.

use sqlparser::ast::{self, BinaryOperator};

use super::table::{self, Resolved, Type};
use crate::query::plan::{Expr, Func};
use crate::record::Value;

/// What Athena makes of an expression's type, as far as the plan tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Athena {
    Varchar,
    Boolean,
    Number,
    Timestamp,
    Json,
    Row,
    Array,
    Map,
    Unknown,
}

fn type_of(expr: &Expr) -> Athena {
    match expr {
        Expr::Column(path) => match table::resolve(path.segments()) {
            Resolved::Found(Type::String) => Athena::Varchar,
            Resolved::Found(Type::Struct(_)) => Athena::Row,
            Resolved::Found(Type::Array(_)) => Athena::Array,
            Resolved::Found(Type::Map) => Athena::Map,
            _ => Athena::Unknown,
        },
        Expr::JsonScalarPath(_) | Expr::JsonScalar(..) | Expr::Concat(..) => Athena::Varchar,
        Expr::JsonPath(_) | Expr::Json(..) => Athena::Json,
        Expr::Literal(Value::Str(_)) => Athena::Varchar,
        Expr::Literal(Value::Bool(_)) => Athena::Boolean,
        Expr::Literal(Value::Int(_) | Value::Float(_)) => Athena::Number,
        Expr::Call(Func::Lower | Func::Upper | Func::JsonFormat, _) => Athena::Varchar,
        Expr::Call(Func::FromIso8601Timestamp | Func::FromUnixtime, _) | Expr::DateTrunc(..) => {
            Athena::Timestamp
        }
        Expr::Call(Func::ToUnixtime | Func::Floor | Func::JsonArrayLength, _)
        | Expr::Strpos(..)
        | Expr::Arith(..)
        | Expr::Negate(_) => Athena::Number,
        Expr::Compare(..)
        | Expr::And(..)
        | Expr::Or(..)
        | Expr::Not(_)
        | Expr::IsNull { .. }
        | Expr::Like { .. }
        | Expr::InList { .. }
        | Expr::Regexp(..) => Athena::Boolean,
        Expr::Coalesce(list) => (list.iter().map(type_of))
            .find(|t| *t != Athena::Unknown)
            .unwrap_or(Athena::Unknown),
        Expr::If(_, value) => type_of(value),
        _ => Athena::Unknown,
    }
}

/// A column path as Athena would read it: `segments` are the column and its fields, as written.
pub(super) fn column(segments: &[String]) -> Option<String> {
    let written = segments.join(".");
    match table::resolve(segments) {
        Resolved::Found(_) => None,
        Resolved::NoColumn => Some(format!(
            "Athena's CloudTrail table has no column {}: Athena refuses the query (trailscan reads the field from the event)",
            segments[0]
        )),
        Resolved::NoField { at } => Some(format!(
            "Athena's CloudTrail table has no field {} in {}: Athena refuses the query",
            segments[at],
            segments[..at].join(".")
        )),
        Resolved::IntoString { at } => {
            let column = segments[..at].join(".");
            Some(format!(
                "`{written}` reads a field of {column}, which Athena's table holds as a STRING of JSON: Athena refuses it; write {}",
                json_extract_scalar(&column, &segments[at..])
            ))
        }
        Resolved::IntoCollection { at, what } => Some(format!(
            "`{written}` reads into {}, {what} in Athena's table, which a dot cannot do: Athena refuses it",
            segments[..at].join(".")
        )),
    }
}

/// `json_extract_scalar(column, '$.a.b')`, with `$["…"]` for a key that is not a plain name.
pub fn json_extract_scalar(column: &str, keys: &[String]) -> String {
    let mut path = String::from("$");
    for key in keys {
        if !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            path.push('.');
            path.push_str(key);
        } else {
            path.push_str(&format!("[\"{}\"]", key.replace('\'', "''")));
        }
    }
    format!("json_extract_scalar({column}, '{path}')")
}

/// A binary operator over `left` and `right` (as written, and compiled).
pub(super) fn binary(
    op: &BinaryOperator,
    left: &ast::Expr,
    right: &ast::Expr,
    l: &Expr,
    r: &Expr,
) -> Option<String> {
    use BinaryOperator as B;
    match op {
        B::Eq | B::NotEq | B::Lt | B::LtEq | B::Gt | B::GtEq => match (type_of(l), type_of(r)) {
            (Athena::Varchar, Athena::Boolean) => Some(text_with_boolean(left, op, right)),
            (Athena::Boolean, Athena::Varchar) => Some(text_with_boolean(right, op, left)),
            (Athena::Varchar, Athena::Timestamp) => Some(text_with_time(left, op, right, true)),
            (Athena::Timestamp, Athena::Varchar) => Some(text_with_time(left, op, right, false)),
            _ => None,
        },
        B::And | B::Or => boolean_operand(left, l).or_else(|| boolean_operand(right, r)),
        _ => None,
    }
}

/// `readOnly = false`: Athena compares a STRING with text only.
fn text_with_boolean(text: &ast::Expr, op: &BinaryOperator, boolean: &ast::Expr) -> String {
    let value = boolean.to_string().to_lowercase();
    format!(
        "`{text} {op} {boolean}` compares {text}, a STRING in Athena's table, with a boolean, which Athena refuses: write {text} {op} '{value}'"
    )
}

/// `eventTime > from_iso8601_timestamp(…)`: Athena compares a timestamp with a timestamp.
fn text_with_time(
    left: &ast::Expr,
    op: &BinaryOperator,
    right: &ast::Expr,
    text_on_left: bool,
) -> String {
    let spelled = if text_on_left {
        format!("from_iso8601_timestamp({left}) {op} {right}")
    } else {
        format!("{left} {op} from_iso8601_timestamp({right})")
    };
    format!(
        "`{left} {op} {right}` compares text with a timestamp, which Athena refuses: write {spelled}"
    )
}

/// A STRING used as a condition (`NOT readOnly`, `… AND readOnly`).
pub(super) fn boolean_operand(written: &ast::Expr, compiled: &Expr) -> Option<String> {
    (type_of(compiled) == Athena::Varchar).then(|| {
        format!(
            "`{written}` is a STRING in Athena's table, not a condition: Athena refuses it; write {written} = 'true'"
        )
    })
}

/// A function that needs a timestamp (`date_trunc`, `to_unixtime`) given `arg`.
pub(super) fn timestamp_argument(
    function: &str,
    before: &str,
    written: &ast::Expr,
    arg: &Expr,
) -> Option<String> {
    (type_of(arg) == Athena::Varchar).then(|| {
        format!(
            "{function}() takes a timestamp in Athena, and `{written}` is text: Athena refuses it; write {function}({before}from_iso8601_timestamp({written}))"
        )
    })
}

/// `json_extract_scalar` or `json_extract` over `base`, which Athena reads as JSON text only.
pub(super) fn json_argument(function: &str, written: &ast::Expr, base: &Expr) -> Option<String> {
    let what = match type_of(base) {
        Athena::Row => "a STRUCT",
        Athena::Array => "an ARRAY",
        Athena::Map => "a MAP",
        _ => return None,
    };
    Some(format!(
        "{function}() reads JSON text, and `{written}` is {what} in Athena's table: Athena refuses it; read its fields with dots ({written}.name)"
    ))
}

/// The functions trailscan takes that Athena (Trino) has: all of them today. A function
/// added to the compiler and missing here is flagged, until it is known to be Athena's.
const ATHENA_FUNCTIONS: &[&str] = &[
    "coalesce",
    "count",
    "date_trunc",
    "floor",
    "from_iso8601_timestamp",
    "from_unixtime",
    "if",
    "json_array_length",
    "json_extract",
    "json_extract_scalar",
    "json_format",
    "lower",
    "max",
    "min",
    "regexp_like",
    "strpos",
    "to_unixtime",
    "try",
    "upper",
];

/// A function trailscan takes under `name` that Athena does not have.
pub(super) fn function(name: &str) -> Option<String> {
    (!ATHENA_FUNCTIONS.contains(&name))
        .then(|| format!("{name}() is trailscan's own: Athena has no such function"))
}

#[cfg(test)]
mod tests {
    use super::super::compile::compile_checked;

    fn problems(sql: &str) -> Vec<String> {
        let (_, problems) = compile_checked(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        problems.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn the_canned_queries_are_athena_sql() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("queries");
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "sql") {
                let text = std::fs::read_to_string(&path).unwrap();
                assert_eq!(problems(&text), Vec::<String>::new(), "{}", path.display());
                checked += 1;
            }
        }
        assert!(checked >= 32, "{checked} queries");
    }

    #[test]
    fn what_athena_refuses_is_located_and_spelled_for_it() {
        let cases = [
            (
                "SELECT requestParameters.bucketName FROM cloudtrail_logs",
                "line 1, column 8: `requestParameters.bucketName` reads a field of requestParameters",
                "write json_extract_scalar(requestParameters, '$.bucketName')",
            ),
            (
                "SELECT eventTime FROM cloudtrail_logs t\nWHERE t.responseElements.accessKey.accessKeyId IS NULL",
                "line 2, column 7:",
                "json_extract_scalar(responseElements, '$.accessKey.accessKeyId')",
            ),
            (
                "SELECT eventTime FROM cloudtrail_logs WHERE readOnly = false",
                "compares readOnly, a STRING",
                "write readOnly = 'false'",
            ),
            (
                "SELECT eventTime FROM cloudtrail_logs WHERE NOT readOnly AND eventName = 'x'",
                "is a STRING in Athena's table, not a condition",
                "write readOnly = 'true'",
            ),
            (
                "SELECT date_trunc('hour', eventTime) AS h, count(*) FROM cloudtrail_logs GROUP BY 1",
                "date_trunc() takes a timestamp",
                "write date_trunc('hour', from_iso8601_timestamp(eventTime))",
            ),
            (
                "SELECT eventTime FROM cloudtrail_logs WHERE eventTime > from_iso8601_timestamp('2026-01-01T00:00:00Z')",
                "compares text with a timestamp",
                "write from_iso8601_timestamp(eventTime) > from_iso8601_timestamp(",
            ),
            (
                "SELECT managementEvent FROM cloudtrail_logs",
                "has no column managementEvent",
                "",
            ),
            (
                "SELECT userIdentity.sessionContext.nope FROM cloudtrail_logs",
                "no field nope in userIdentity.sessionContext",
                "",
            ),
            (
                "SELECT json_extract_scalar(userIdentity, '$.arn') FROM cloudtrail_logs",
                "`userIdentity` is a STRUCT",
                "(userIdentity.name)",
            ),
            (
                "SELECT json_extract_scalar(requestParameters, '$[\"x-amz-acl\"]') FROM cloudtrail_logs WHERE requestParameters.\"x-amz-acl\" = 'public-read'",
                "reads a field of requestParameters",
                "json_extract_scalar(requestParameters, '$[\"x-amz-acl\"]')",
            ),
        ];
        for (sql, located, spelled) in cases {
            let found = problems(sql);
            assert!(
                found
                    .iter()
                    .any(|p| p.contains(located) && p.contains(spelled)),
                "{sql}: {found:?}"
            );
        }
        assert!(super::function("levenshtein_distance").is_some());
        for fine in [
            "SELECT json_extract_scalar(requestParameters, '$.a') AS a FROM cloudtrail_logs WHERE readOnly = 'false' ORDER BY a",
            "SELECT userIdentity.sessionContext.sessionIssuer.arn, resources FROM cloudtrail_logs",
            "SELECT * FROM cloudtrail_logs",
        ] {
            assert_eq!(problems(fine), Vec::<String>::new(), "{fine}");
        }
    }
}
