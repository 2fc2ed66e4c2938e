//! Athena's rows as trailscan's: typed values from Athena's text, under the query's own columns.
//!
//! GetQueryResults gives every value as text with its column's type; a SELECT's first row
//! repeats the column names. The values become those a local scan computes (numbers,
//! booleans, times), so the printers show the same cells, and each row gets the identity a
//! local scan gives it where the rows tell it (an alarm's GROUP BY key), for `--state`.

use std::sync::Arc;

use chrono::{NaiveDateTime, Utc};

use super::client::Finished;
use crate::query::Query;
use crate::query::plan::Expr;
use crate::record::{OwnedValue, Value};
use crate::results::{ResultSet, Row};

/// The rows of `finished` as the result of `query`.
pub fn result_set(query: &Arc<Query>, mut finished: Finished) -> Result<ResultSet, String> {
    let plan = &query.plan;
    let labels: Vec<&str> = finished.columns.iter().map(|(n, _)| n.as_str()).collect();
    let is_header = |row: &Vec<Option<String>>| {
        row.len() == labels.len()
            && (row.iter().zip(&labels)).all(|(cell, label)| {
                cell.as_deref()
                    .is_some_and(|c| c.eq_ignore_ascii_case(label))
            })
    };
    if finished.rows.first().is_some_and(is_header) {
        finished.rows.remove(0);
    }
    if !finished.columns.is_empty() && finished.columns.len() != plan.columns.len() {
        return Err(format!(
            "Athena returned {} columns ({}), the query has {} ({})",
            finished.columns.len(),
            labels.join(", "),
            plan.columns.len(),
            plan.columns.join(", ")
        ));
    }
    // An alarm's finding is its GROUP BY key, as a local scan says it: the output columns
    // that are the keys, in the key's order, when every key is shown.
    let mut key_columns: Vec<(usize, usize)> = (plan.projections.iter().enumerate())
        .filter_map(|(column, e)| match e {
            Expr::GroupKey(key) => Some((*key, column)),
            _ => None,
        })
        .collect();
    key_columns.sort_unstable();
    key_columns.dedup_by_key(|(key, _)| *key);
    let keyed = plan.grouped && key_columns.len() == plan.group_by.len();
    let mut rows = Vec::with_capacity(finished.rows.len());
    for (number, cells) in finished.rows.into_iter().enumerate() {
        if cells.len() != plan.columns.len() {
            return Err(format!(
                "row {} has {} values, the query {} columns",
                number + 1,
                cells.len(),
                plan.columns.len()
            ));
        }
        let values: Vec<OwnedValue> = (cells.into_iter().enumerate())
            .map(|(i, cell)| {
                let kind = finished
                    .columns
                    .get(i)
                    .map_or("varchar", |(_, t)| t.as_str());
                value(cell, kind)
            })
            .collect();
        let identity = match keyed {
            true => identity_of(key_columns.iter().map(|(_, column)| &values[*column])),
            false => identity_of(values.iter()),
        };
        rows.push(Row { values, identity });
    }
    let columns: Vec<&str> = plan.columns.iter().map(String::as_str).collect();
    Ok(ResultSet::new(Arc::clone(&query.meta), &columns, rows))
}

/// A value from Athena's text for its type (`varchar`, `bigint`, `timestamp(3) with time
/// zone`, `boolean`, `double`, …); text it cannot read as its type stays text.
fn value(cell: Option<String>, kind: &str) -> OwnedValue {
    let Some(text) = cell else {
        return Value::Null;
    };
    let kind = kind.to_ascii_lowercase();
    let base = kind.split(['(', ' ']).next().unwrap_or_default();
    let typed = match base {
        "bigint" | "integer" | "int" | "smallint" | "tinyint" => text.parse().ok().map(Value::Int),
        "double" | "real" | "float" | "decimal" => text.parse().ok().map(Value::Float),
        "boolean" => match text.as_str() {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        "timestamp" => time(&text).map(Value::Time),
        _ => None,
    };
    typed.unwrap_or(Value::Str(text.into()))
}

/// Athena's timestamps: `2026-11-20 09:40:00.000 UTC`, or without the zone.
fn time(text: &str) -> Option<chrono::DateTime<Utc>> {
    let text = text.trim();
    let bare = ["UTC", "Z", "+00:00"]
        .iter()
        .find_map(|zone| text.strip_suffix(zone))
        .unwrap_or(text)
        .trim();
    NaiveDateTime::parse_from_str(bare, "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc())
}

/// As a local scan joins a row's identity: each value's text, NULL as `\N`.
fn identity_of<'a>(values: impl Iterator<Item = &'a OwnedValue>) -> String {
    let texts: Vec<String> = values
        .map(|v| {
            v.to_text()
                .map_or_else(|| "\\N".to_owned(), |t| t.into_owned())
        })
        .collect();
    texts.join("\u{1f}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::Origin;

    fn query(sql: &str) -> Arc<Query> {
        let text = format!("-- name: q\n-- title: Q\n-- severity: high\n{sql}\n");
        Arc::new(crate::lang::sql::parse_file(Origin::CommandLine, &text).unwrap())
    }

    fn finished(columns: &[(&str, &str)], rows: &[&[Option<&str>]]) -> Finished {
        Finished {
            columns: (columns.iter())
                .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
                .collect(),
            rows: (rows.iter())
                .map(|r| r.iter().map(|c| c.map(str::to_owned)).collect())
                .collect(),
            ..Finished::default()
        }
    }

    #[test]
    fn values_are_typed_and_the_header_row_dropped() {
        let q = query(
            "SELECT from_unixtime(floor(to_unixtime(from_iso8601_timestamp(eventTime)) / 300) * 300) AS window_start, \
             sourceIPAddress, count(*) AS failures FROM cloudtrail_logs \
             GROUP BY from_unixtime(floor(to_unixtime(from_iso8601_timestamp(eventTime)) / 300) * 300), sourceIPAddress \
             HAVING count(*) >= 5",
        );
        let done = finished(
            &[
                ("window_start", "timestamp(3)"),
                ("sourceipaddress", "varchar"),
                ("failures", "bigint"),
            ],
            &[
                &[
                    Some("window_start"),
                    Some("sourceIPAddress"),
                    Some("failures"),
                ],
                &[
                    Some("2026-11-20 09:40:00.000 UTC"),
                    Some("203.0.113.50"),
                    Some("6"),
                ],
                &[Some("2026-11-20 09:45:00.000"), None, Some("5")],
            ],
        );
        let result = result_set(&q, done).unwrap();
        let rows = result.rows.to_vec();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0].values[0].to_text().as_deref(),
            Some("2026-11-20T09:40:00Z")
        );
        assert!(matches!(rows[0].values[2], Value::Int(6)));
        assert!(rows[1].values[1].is_null());
        assert_eq!(
            rows[0].identity, "2026-11-20T09:40:00Z\u{1f}203.0.113.50",
            "an alarm's finding is its key, not its counts"
        );
        assert_eq!(
            &result.columns[..],
            ["window_start", "sourceIPAddress", "failures"]
        );
    }

    #[test]
    fn a_result_of_other_columns_is_refused() {
        let q = query("SELECT eventTime, eventName FROM cloudtrail_logs");
        let done = finished(&[("eventtime", "varchar")], &[&[Some("x")]]);
        let error = result_set(&q, done).unwrap_err();
        assert!(error.contains("Athena returned 1 columns"), "{error}");
    }
}
