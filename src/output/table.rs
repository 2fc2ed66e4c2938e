//! Human output: one comfy-table per query, fitted to the terminal, then the summary.

use std::io::{self, Write};

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};

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
        let mut table = new_table(fit);
        table.set_header(
            query
                .plan
                .columns
                .iter()
                .map(|c| super::sanitize::for_terminal(c).into_owned()),
        );
        for row in result.rows.iter() {
            table.add_row(row?.values.iter().map(value_text));
        }
        writeln!(out, "{table}")?;
    }
    writeln!(out)
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
