//! A rule's `Cond` as Athena SQL over the CloudTrail table, for `trailscan show --sql`.
//!
//! Athena's CloudTrail table holds `requestParameters`, `responseElements`,
//! `additionalEventData` and `serviceEventDetails` as JSON strings, read with
//! `json_extract_scalar`; `userIdentity` and `tlsDetails` are structs, read with dots.

use super::compile::COLUMNS;
use super::detection::{Cond, Field, Test};
use crate::lang::sql::quote;

/// The top-level fields that Athena's table declares STRING although they hold JSON.
const JSON_STRINGS: &[&str] = &[
    "requestParameters",
    "responseElements",
    "additionalEventData",
    "serviceEventDetails",
];

/// The top-level fields that Athena's table declares as structs or arrays of them.
const STRUCTS: &[&str] = &["userIdentity", "resources", "tlsDetails"];

/// The SELECT of a rule: its findings' columns, its condition, by time.
pub fn select(cond: &Cond, fields: &[String]) -> Result<String, String> {
    let mut columns: Vec<String> = (COLUMNS.iter())
        .map(|(name, path)| {
            if name == path {
                (*path).to_owned()
            } else {
                format!("{path} AS {name}")
            }
        })
        .collect();
    for field in fields {
        columns.push(aliased(scalar(field)?, field));
    }
    Ok(format!(
        "SELECT {}\nFROM cloudtrail_logs\nWHERE {}\nORDER BY eventTime",
        columns.join(", "),
        condition(cond)?
    ))
}

/// `cond` as a SQL predicate, its top-level conjuncts one a line.
pub fn condition(cond: &Cond) -> Result<String, String> {
    match cond {
        Cond::All(items) if items.len() > 1 => {
            let parts: Vec<String> = (items.iter())
                .map(|c| predicate(c, false, true))
                .collect::<Result<_, _>>()?;
            Ok(parts.join("\n  AND "))
        }
        other => predicate(other, false, false),
    }
}

/// `cond` as one SQL predicate, on one line.
pub fn predicate_alone(cond: &Cond) -> Result<String, String> {
    predicate(cond, false, false)
}

/// `sql` as the output column `field`, named so when it reads differently.
pub fn aliased(sql: String, field: &str) -> String {
    if sql == field {
        sql
    } else {
        format!("{sql} AS {}", output_name(field))
    }
}

/// How SQL names the output column of `field`.
pub fn output_name(field: &str) -> String {
    if in_json_string(field).is_none() {
        field.to_owned()
    } else {
        format!("\"{}\"", field.replace('"', "\"\""))
    }
}

/// `cond` as SQL; `nested`: it stands inside AND/OR/NOT and needs parentheses to be one.
fn predicate(cond: &Cond, under_not: bool, nested: bool) -> Result<String, String> {
    let joined = |items: &[Cond], word: &str, empty: &str| -> Result<String, String> {
        let parts: Vec<String> = (items.iter())
            .map(|c| predicate(c, under_not, true))
            .collect::<Result<_, _>>()?;
        Ok(match parts.len() {
            0 => empty.to_owned(),
            1 => parts.into_iter().next().expect("one"),
            _ if nested => format!("({})", parts.join(word)),
            _ => parts.join(word),
        })
    };
    match cond {
        Cond::All(items) => joined(items, " AND ", "true"),
        Cond::Any(items) => joined(items, " OR ", "false"),
        Cond::Not(inner) => Ok(format!("NOT {}", predicate(inner, true, true)?)),
        Cond::Match(field, test) => {
            let leaf = leaf(field, test)?;
            // A Sigma test is never unknown: see `compile::expr`.
            Ok(
                if under_not && !matches!(test, Test::Null | Test::Present) {
                    format!("coalesce({leaf}, false)")
                } else if nested && leaf.contains(" OR ") {
                    format!("({leaf})")
                } else {
                    leaf
                },
            )
        }
    }
}

fn leaf(field: &Field, test: &Test) -> Result<String, String> {
    let Field::Path(path) = field else {
        return Err(
            "a keyword (field-less) selection has no Athena equivalent: the CloudTrail table has no column holding the whole event".to_owned(),
        );
    };
    let folded = |cased: bool, sql: String| {
        if cased { sql } else { format!("lower({sql})") }
    };
    Ok(match test {
        Test::Equals { values, cased } => match values.as_slice() {
            [one] => format!("{} = {}", folded(*cased, scalar(path)?), quote(one)),
            _ => {
                let list: Vec<String> = values.iter().map(|v| quote(v)).collect();
                format!("{} IN ({})", folded(*cased, scalar(path)?), list.join(", "))
            }
        },
        Test::Like { pattern, cased } => {
            let escape = if pattern.contains('\\') {
                " ESCAPE '\\'"
            } else {
                ""
            };
            format!(
                "{} LIKE {}{escape}",
                folded(*cased, text(path)?),
                quote(pattern)
            )
        }
        Test::Regex(pattern) => format!("regexp_like({}, {})", text(path)?, quote(pattern)),
        Test::Null => format!("{} IS NULL", value(path)?),
        Test::Present => format!("{} IS NOT NULL", value(path)?),
        Test::SameAs { path: other, cased } => format!(
            "{} = {}",
            folded(*cased, scalar(path)?),
            folded(*cased, scalar(other)?)
        ),
    })
}

/// The JSON-string column a path starts in, and the JSONPath of the rest.
fn in_json_string(path: &str) -> Option<(&'static str, String)> {
    let (top, rest) = path.split_once('.')?;
    let column = JSON_STRINGS.iter().find(|c| c.eq_ignore_ascii_case(top))?;
    let mut json_path = String::from("$");
    for key in rest.split('.') {
        if !key.is_empty() && key.bytes().all(|b| b.is_ascii_digit()) {
            json_path.push_str(&format!("[{key}]"));
        } else if key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !key.starts_with(|c: char| c.is_ascii_digit())
        {
            json_path.push('.');
            json_path.push_str(key);
        } else {
            json_path.push_str(&format!(
                "[\"{}\"]",
                key.replace('\\', "\\\\").replace('"', "\\\"")
            ));
        }
    }
    Some((column, json_path.replace('\'', "''")))
}

/// The field's scalar text: what equality compares.
pub fn scalar(path: &str) -> Result<String, String> {
    match in_json_string(path) {
        Some((column, json_path)) => Ok(format!("json_extract_scalar({column}, '{json_path}')")),
        None => column_path(path),
    }
}

/// The field's text, also when it holds an object or a list (their JSON text), as
/// trailscan reads it: what patterns and regular expressions search.
fn text(path: &str) -> Result<String, String> {
    match in_json_string(path) {
        Some((column, json_path)) => Ok(format!(
            "coalesce(json_extract_scalar({column}, '{json_path}'), json_format(json_extract({column}, '{json_path}')))"
        )),
        None => column_path(path),
    }
}

/// The field's JSON value, NULL only when it is absent or null: what `null` tests.
fn value(path: &str) -> Result<String, String> {
    match in_json_string(path) {
        Some((column, json_path)) => Ok(format!("json_extract({column}, '{json_path}')")),
        None => column_path(path),
    }
}

/// A path through the table's columns and structs, as the rule spells it.
fn column_path(path: &str) -> Result<String, String> {
    if let Some(name) = STRUCTS.iter().find(|s| s.eq_ignore_ascii_case(path)) {
        return Err(format!(
            "{name} is a struct in Athena's CloudTrail table: test one of its fields ({name}.arn, …) for Athena"
        ));
    }
    if !path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
    {
        return Err(format!("'{path}' is not a column path Athena reads"));
    }
    Ok(path.to_owned())
}
