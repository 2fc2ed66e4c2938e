//! CSV: per query a header `query,severity,<columns>` and its rows; queries are separated
//! by an empty line. Strings from logs are neutralised and defused against formulas.

use std::io::{self, Write};

use super::Report;
use super::sanitize::{csv_quote, csv_text_cell};
use crate::record::{OwnedValue, Value};

pub fn print(report: &Report<'_>, out: &mut impl Write) -> io::Result<()> {
    let mut first = true;
    for result in report.results {
        if result.rows.is_empty() && report.results.len() > 1 {
            continue;
        }
        if !first {
            writeln!(out)?;
        }
        first = false;
        let header: Vec<String> = ["query", "severity"]
            .into_iter()
            .map(str::to_owned)
            .chain(result.query.plan.columns.iter().map(|c| csv_text_cell(c)))
            .collect();
        writeln!(out, "{}", header.join(","))?;
        for row in result.rows.iter() {
            let row = row?;
            let mut cells = vec![
                csv_quote(&result.query.name),
                result.query.severity.to_string(),
            ];
            cells.extend(row.values.iter().map(cell));
            writeln!(out, "{}", cells.join(","))?;
        }
    }
    Ok(())
}

fn cell(value: &OwnedValue) -> String {
    match value {
        Value::Null => String::new(),
        Value::Int(_) | Value::Float(_) | Value::Bool(_) | Value::Time(_) => {
            value.to_text().map(|t| t.into_owned()).unwrap_or_default()
        }
        Value::Str(s) => csv_text_cell(s),
    }
}
