//! Human output: one comfy-table per query, fitted to the terminal, then the summary.

use std::io::{self, Write};

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ColumnConstraint, ContentArrangement, Table, Width};

use super::{Mode, Report, megabytes, value_text};
use crate::query::QueryResult;

pub fn print(report: &Report<'_>, out: &mut impl Write, fit: bool) -> io::Result<()> {
    for result in report.results {
        if result.rows.is_empty() && report.mode == Mode::Audit {
            continue;
        }
        print_result(result, out, fit)?;
    }
    if report.mode == Mode::Audit {
        print_overview(report, out, fit)?;
    }
    print_summary(report, out)
}

fn new_table(fit: bool) -> Table {
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED);
    if fit {
        // comfy-table reads the terminal's width itself.
        table.set_content_arrangement(ContentArrangement::Dynamic);
    } else {
        // Piped output keeps whole cells, so files and diffs see every character.
        table.force_no_tty();
    }
    table
}

fn print_result(result: &QueryResult, out: &mut impl Write, fit: bool) -> io::Result<()> {
    let query = &result.query;
    let rows = result.rows.len();
    writeln!(
        out,
        "{} ({}) · {} · {} row{}",
        query.title,
        query.name,
        query.severity.as_str().to_uppercase(),
        rows,
        if rows == 1 { "" } else { "s" }
    )?;
    if rows > 0 {
        let header: Vec<String> = (query.plan.columns.iter())
            .map(|c| super::sanitize::for_terminal(c).into_owned())
            .collect();
        if fit {
            // Fitting to the terminal weighs every cell: one table of every row.
            let mut table = new_table(true);
            table.set_header(header);
            for row in result.rows.iter() {
                table.add_row(row?.values.iter().map(value_text));
            }
            writeln!(out, "{table}")?;
        } else {
            print_in_parts(result, &header, out)?;
        }
    }
    writeln!(out)
}

/// Rows per table part: the piped table holds no more than this many rows at a time.
const ROWS_PER_PART: usize = 1_000;

/// The piped table, built a part at a time and joined: every part gets the columns' widths
/// over all rows, so the lines are those of one table of every row, which would hold all of
/// them in memory at once (about 2.6 KB a row).
fn print_in_parts(result: &QueryResult, header: &[String], out: &mut impl Write) -> io::Result<()> {
    let mut widths = vec![0u16; header.len()];
    let mut parts = 0;
    for_each_part(result, header, |table, _| {
        for (width, part) in widths.iter_mut().zip(table.column_max_content_widths()) {
            *width = (*width).max(part);
        }
        parts += 1;
        Ok(())
    })?;
    // comfy-table's default padding: a space either side.
    let padding = 2;
    let constraints: Vec<ColumnConstraint> = (widths.iter())
        .map(|w| ColumnConstraint::LowerBoundary(Width::Fixed(w.saturating_add(padding))))
        .collect();
    for_each_part(result, header, |table, part| {
        table.set_constraints(constraints.iter().copied());
        let lines: Vec<String> = table.lines().collect();
        // The parts' own top and bottom borders are dropped where two parts meet.
        let from = usize::from(part > 0);
        let to = lines.len() - usize::from(part + 1 < parts);
        for line in &lines[from..to] {
            writeln!(out, "{line}")?;
        }
        Ok(())
    })
}

/// Calls `each` with a table of every `ROWS_PER_PART` rows and its index, the first part
/// under `header`.
fn for_each_part(
    result: &QueryResult,
    header: &[String],
    mut each: impl FnMut(&mut Table, usize) -> io::Result<()>,
) -> io::Result<()> {
    let mut rows = result.rows.iter().peekable();
    let mut part = 0;
    while rows.peek().is_some() {
        let mut table = new_table(false);
        if part == 0 {
            table.set_header(header);
        }
        for row in rows.by_ref().take(ROWS_PER_PART) {
            table.add_row(row?.values.iter().map(value_text));
        }
        each(&mut table, part)?;
        part += 1;
    }
    Ok(())
}

fn print_overview(report: &Report<'_>, out: &mut impl Write, fit: bool) -> io::Result<()> {
    let with_findings = report.results.iter().filter(|r| !r.rows.is_empty()).count();
    writeln!(
        out,
        "Audit: {} queries, {} with findings",
        report.results.len(),
        with_findings
    )?;
    let mut table = new_table(fit);
    table.set_header(["query", "severity", "findings", "title"]);
    for result in report.results {
        table.add_row([
            result.query.name.clone(),
            result.query.severity.to_string(),
            result.rows.len().to_string(),
            result.query.title.clone(),
        ]);
    }
    writeln!(out, "{table}")?;
    writeln!(out)
}

fn print_summary(report: &Report<'_>, out: &mut impl Write) -> io::Result<()> {
    let s = report.summary;
    let st = &s.stats;
    writeln!(
        out,
        "Scanned {} ({} read, {} uncompressed), {}, {} evaluated",
        count(st.objects as usize, "file"),
        megabytes(st.bytes_read),
        megabytes(st.bytes_uncompressed),
        count(st.records as usize, "record"),
        st.evaluated
    )?;
    let mut dropped = Vec::new();
    if st.outside_window > 0 {
        dropped.push(format!("{} outside the time window", st.outside_window));
    }
    if st.no_event_time > 0 {
        dropped.push(format!("{} without a usable eventTime", st.no_event_time));
    }
    if st.outside_filter > 0 {
        dropped.push(format!("{} outside --account/--region", st.outside_filter));
    }
    if !dropped.is_empty() {
        writeln!(out, "Records dropped: {}", dropped.join(", "))?;
    }
    writeln!(
        out,
        "Skipped objects: {} ({} digest, {} insight), {} pruned by key; {}, {}",
        s.skipped(),
        s.skipped_digest + st.digest_by_content,
        s.skipped_insight,
        s.pruned,
        count(s.errors, "error"),
        count(s.warnings, "warning")
    )?;
    let suppressed: Vec<String> = report
        .results
        .iter()
        .filter(|r| r.suppressed > 0)
        .map(|r| format!("{} {}", r.query.name, r.suppressed))
        .collect();
    if !suppressed.is_empty() {
        writeln!(
            out,
            "Suppressed by the configuration: {}",
            suppressed.join(", ")
        )?;
    }
    if s.already_read > 0 || s.already_reported > 0 {
        writeln!(
            out,
            "From the state: {} already read, {} already reported",
            count(s.already_read as usize, "object"),
            count(s.already_reported, "finding")
        )?;
    }
    if s.alerts_sent > 0 || s.alerts_failed > 0 {
        writeln!(
            out,
            "Alerts: {} sent, {} failed",
            s.alerts_sent, s.alerts_failed
        )?;
    }
    if let Some(s3) = &s.s3 {
        writeln!(
            out,
            "S3: {} LIST requests ({} keys), {} GET requests, {} downloaded, {} from the cache",
            s3.list_requests,
            s3.keys_listed,
            s3.get_requests,
            megabytes(s3.bytes_downloaded),
            count(s3.cache_hits as usize, "object")
        )?;
    }
    writeln!(
        out,
        "Elapsed {:.2} s, {} records/s",
        s.elapsed.as_secs_f64(),
        s.records_per_second()
    )
}

fn count(n: usize, noun: &str) -> String {
    match (n, noun) {
        (1, _) => format!("1 {noun}"),
        (_, "query") => format!("{n} queries"),
        _ => format!("{n} {noun}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::{Catalog, Row};
    use crate::record::Value;

    #[test]
    fn a_table_printed_in_parts_is_the_table_of_every_row() {
        let catalog = Catalog::load(None).unwrap();
        let query = catalog.get("root-usage").unwrap().clone();
        let row = |i: usize| Row {
            values: (0..query.plan.columns.len())
                .map(|column| match (i, column) {
                    (2_400, 1) => {
                        Value::Str("the widest cell of its column, in the last part".into())
                    }
                    (7, 2) => Value::Str("日本語の幅".into()),
                    (_, 3) => Value::Int(i as i64),
                    (_, 4) => Value::Null,
                    _ => Value::Str("x".repeat(i % 17).into()),
                })
                .collect(),
            identity: i.to_string(),
        };
        for count in [1, ROWS_PER_PART, ROWS_PER_PART + 1, 2_401] {
            let result = QueryResult {
                query: query.clone(),
                rows: (0..count).map(row).collect::<Vec<Row>>().into(),
                suppressed: 0,
            };
            let header: Vec<String> = query.plan.columns.clone();
            let mut whole = new_table(false);
            whole.set_header(&header);
            for row in result.rows.iter() {
                whole.add_row(row.unwrap().values.iter().map(value_text));
            }
            let mut parts = Vec::new();
            print_in_parts(&result, &header, &mut parts).unwrap();
            assert_eq!(
                String::from_utf8(parts).unwrap(),
                format!("{whole}\n"),
                "{count} rows"
            );
        }
    }
}
