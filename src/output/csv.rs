//! CSV: per query a header `query,severity,<columns>` and its rows; queries are separated
//! by an empty line. Strings from logs are neutralised and defused against formulas.

use std::io::{self, Write};

use super::report::Report;
use super::sanitize::{write_csv_quoted, write_csv_text_cell};
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
        out.write_all(b"query,severity")?;
        for column in result.columns.iter() {
            out.write_all(b",")?;
            write_csv_text_cell(column, out)?;
        }
        out.write_all(b"\n")?;
        // What every row of the query starts with.
        let mut start = Vec::new();
        write_csv_quoted(&result.meta.name, false, &mut start)?;
        write!(start, ",{}", result.meta.severity)?;
        for row in result.rows.iter() {
            out.write_all(&start)?;
            for value in &row.values {
                out.write_all(b",")?;
                write_cell(value, out)?;
            }
            out.write_all(b"\n")?;
        }
    }
    Ok(())
}

fn write_cell(value: &OwnedValue, out: &mut impl Write) -> io::Result<()> {
    match value {
        Value::Null => Ok(()),
        Value::Int(_) | Value::Float(_) | Value::Bool(_) | Value::Time(_) => {
            out.write_all(value.to_text().unwrap_or_default().as_bytes())
        }
        Value::Str(s) => write_csv_text_cell(s, out),
    }
}
