//! Human output: one comfy-table per query, fitted to the terminal, then the summary.

use std::io::{self, Write};

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use unicode_width::UnicodeWidthStr;

use super::report::{Mode, Report, megabytes, value_text};
use crate::results::ResultSet;

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

fn print_result(result: &ResultSet, out: &mut impl Write, fit: bool) -> io::Result<()> {
    let query = &result.meta;
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
        let header: Vec<String> = (result.columns.iter())
            .map(|c| super::sanitize::for_terminal(c).into_owned())
            .collect();
        if fit {
            // Fitting to the terminal weighs every cell: one table of every row.
            let mut table = new_table(true);
            table.set_header(header);
            for row in result.rows.iter() {
                table.add_row(row.values.iter().map(|v| on_screen(value_text(v))));
            }
            writeln!(out, "{table}")?;
        } else {
            print_piped(result, &header, out)?;
        }
    }
    writeln!(out)
}

/// The most characters of one cell a terminal is shown: fitting wraps every cell, and a
/// policy document of a megabyte would take minutes to wrap and pages to read.
const SCREEN_CELL: usize = 1_000;

/// The widest a piped column is padded to: a wider cell is written whole, unpadded, so one
/// huge field does not make every other line as wide.
const PIPED_COLUMN: usize = 100_000;

/// `text` cut to `SCREEN_CELL` characters, saying how many more there were.
fn on_screen(text: String) -> String {
    match text.char_indices().nth(SCREEN_CELL) {
        Some((cut, _)) => {
            let more = text[cut..].chars().count();
            format!(
                "{}… (+{more} characters; --format json shows all)",
                &text[..cut]
            )
        }
        None => text,
    }
}

/// The piped table, drawn line by line as comfy-table draws one table of every row
/// (`UTF8_FULL_CONDENSED`, cells left-aligned with a space either side, each at least one
/// column wide), without holding the rows: building the cells and their layout took most of
/// the printing time and about 2.6 KB a row.
fn print_piped(result: &ResultSet, header: &[String], out: &mut impl Write) -> io::Result<()> {
    let width = |text: &str| text.width().max(1);
    let mut widths: Vec<usize> = header.iter().map(|name| width(name)).collect();
    for row in result.rows.iter() {
        for (column, value) in widths.iter_mut().zip(&row.values) {
            *column = (*column).max(width(&value_text(value)).min(PIPED_COLUMN));
        }
    }
    let mut line = String::new();
    let mut border = |out: &mut dyn Write, [left, fill, junction, right]: [char; 4]| {
        line.clear();
        line.push(left);
        for (i, &column) in widths.iter().enumerate() {
            if i > 0 {
                line.push(junction);
            }
            line.extend(std::iter::repeat_n(fill, column + 2));
        }
        line.push(right);
        line.push('\n');
        out.write_all(line.as_bytes())
    };
    let mut text_line = String::new();
    let mut cells = |out: &mut dyn Write, texts: &mut dyn Iterator<Item = String>| {
        text_line.clear();
        text_line.push('│');
        for (i, (text, &column)) in texts.zip(&widths).enumerate() {
            if i > 0 {
                text_line.push('┆');
            }
            text_line.push(' ');
            text_line.push_str(&text);
            let padding = column.saturating_sub(text.width()) + 1;
            text_line.extend(std::iter::repeat_n(' ', padding));
        }
        text_line.push_str("│\n");
        out.write_all(text_line.as_bytes())
    };
    border(out, ['┌', '─', '┬', '┐'])?;
    cells(out, &mut header.iter().cloned())?;
    border(out, ['╞', '═', '╪', '╡'])?;
    for row in result.rows.iter() {
        cells(out, &mut row.values.iter().map(value_text))?;
    }
    border(out, ['└', '─', '┴', '┘'])
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
            result.meta.name.clone(),
            result.meta.severity.to_string(),
            result.rows.len().to_string(),
            result.meta.title.clone(),
        ]);
    }
    writeln!(out, "{table}")?;
    writeln!(out)
}

fn print_summary(report: &Report<'_>, out: &mut impl Write) -> io::Result<()> {
    let s = report.summary;
    if let Some(athena) = &s.athena {
        return print_athena_summary(s, athena, out);
    }
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
        .map(|r| format!("{} {}", r.meta.name, r.suppressed))
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
    print_alerts(s, out)?;
    if let Some(s3) = &s.transfer {
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

/// The alerts line of a summary, when the run sent or tried to send any.
fn print_alerts(s: &crate::results::Summary, out: &mut impl Write) -> io::Result<()> {
    if s.alerts_sent > 0 || s.alerts_failed > 0 {
        writeln!(
            out,
            "Alerts: {} sent, {} failed",
            s.alerts_sent, s.alerts_failed
        )?;
    }
    Ok(())
}

/// The summary of queries run on Athena: what each scanned and cost, then the state,
/// alerts and time as a scan's.
fn print_athena_summary(
    s: &crate::results::Summary,
    athena: &crate::results::AthenaUsage,
    out: &mut impl Write,
) -> io::Result<()> {
    writeln!(
        out,
        "Athena: {}, {} scanned, about ${:.5} (${:.2} per TB, at least 10 MB billed per query); {}",
        count(athena.queries.len(), "query"),
        megabytes(athena.data_scanned()),
        athena.total_cost(),
        athena.price_per_tb,
        count(s.errors, "error")
    )?;
    for query in &athena.queries {
        match query.state.as_str() {
            "SUCCEEDED" => writeln!(
                out,
                "  {}: {} scanned, ${:.5}, {:.2} s, execution {}",
                query.query,
                megabytes(query.data_scanned),
                athena.cost(query),
                query.engine_ms as f64 / 1000.0,
                query.execution_id
            )?,
            state => writeln!(out, "  {}: {}", query.query, state.to_lowercase())?,
        }
    }
    if s.already_reported > 0 {
        writeln!(
            out,
            "From the state: {} already reported",
            count(s.already_reported, "finding")
        )?;
    }
    print_alerts(s, out)?;
    writeln!(out, "Elapsed {:.2} s", s.elapsed.as_secs_f64())
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
    use crate::meta::Severity;
    use crate::record::Value;
    use crate::results::Row;
    use crate::results::sample::{self, COLUMNS};

    fn result(rows: Vec<Row>) -> ResultSet {
        sample::result("root-usage", Severity::Critical, rows)
    }

    fn header() -> Vec<String> {
        COLUMNS.iter().map(|c| (*c).to_owned()).collect()
    }

    #[test]
    fn the_piped_table_is_the_table_of_every_row() {
        let row = |i: usize| Row {
            values: (0..COLUMNS.len())
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
        for count in [1, 1_000, 2_401] {
            let result = result((0..count).map(row).collect());
            let header = header();
            let mut whole = new_table(false);
            whole.set_header(&header);
            for row in result.rows.iter() {
                whole.add_row(row.values.iter().map(value_text));
            }
            let whole = format!("{whole}\n");
            let mut piped = Vec::new();
            print_piped(&result, &header, &mut piped).unwrap();
            assert_eq!(String::from_utf8(piped).unwrap(), whole, "{count} rows");
        }
    }

    #[test]
    fn the_piped_table_is_drawn_as_comfy_table_draws_it() {
        let texts = [
            "",
            "x",
            "日本語",
            "e\u{301}te\u{301}",
            "👩‍💻 ok",
            "tab\there\nnext",
            "\u{1b}[31m",
            " padded ",
        ];
        let header = header();
        for (i, text) in texts.iter().enumerate() {
            let row = |column: usize| match column {
                0 => Value::Str((*text).to_owned().into()),
                1 => Value::Null,
                _ => Value::Str(texts[(i + column) % texts.len()].to_owned().into()),
            };
            let rows = vec![Row {
                values: (0..header.len()).map(row).collect(),
                identity: String::new(),
            }];
            let result = result(rows);
            let mut whole = new_table(false);
            whole.set_header(&header);
            for row in result.rows.iter() {
                whole.add_row(row.values.iter().map(value_text));
            }
            let mut piped = Vec::new();
            print_piped(&result, &header, &mut piped).unwrap();
            assert_eq!(
                String::from_utf8(piped).unwrap(),
                format!("{whole}\n"),
                "{text:?}"
            );
        }
    }

    #[test]
    fn regression_tables_on_a_terminal_wrap_long_cells_in_quadratic_time() {
        // Cut before comfy-table wraps it: the cell shown is at most a screenful.
        let policy = "{\"Statement\":[".to_owned() + &"x".repeat(1 << 20);
        let shown = on_screen(policy.clone());
        assert!(shown.starts_with(&policy[..SCREEN_CELL]));
        assert!(
            shown.ends_with(&format!(
                "(+{} characters; --format json shows all)",
                policy.len() - SCREEN_CELL
            )),
            "{}",
            &shown[SCREEN_CELL..]
        );
        assert_eq!(on_screen("short".into()), "short");
        let mut out = Vec::new();
        let rows = vec![Row {
            values: (0..COLUMNS.len())
                .map(|_| Value::Str(policy.clone().into()))
                .collect(),
            identity: String::new(),
        }];
        print_result(&result(rows), &mut out, true).unwrap();
        assert!(
            out.len() < 20 * SCREEN_CELL * COLUMNS.len(),
            "{} bytes",
            out.len()
        );
    }

    #[test]
    fn regression_a_piped_table_with_one_huge_field_is_not_as_wide_everywhere() {
        let huge = "h".repeat(PIPED_COLUMN * 3);
        let rows: Vec<Row> = [huge.as_str(), "short", "other"]
            .iter()
            .map(|text| Row {
                values: (COLUMNS.iter())
                    .map(|_| Value::Str((*text).to_owned().into()))
                    .collect(),
                identity: String::new(),
            })
            .collect();
        let mut piped = Vec::new();
        print_piped(&result(rows), &header(), &mut piped).unwrap();
        let text = String::from_utf8(piped).unwrap();
        assert!(text.contains(&huge), "the huge cell is written whole");
        let short_line = text.lines().find(|l| l.contains("short")).unwrap();
        assert!(short_line.width() < (PIPED_COLUMN + 10) * COLUMNS.len());
        assert!(text.len() < huge.len() * COLUMNS.len() + 12 * (PIPED_COLUMN + 10) * COLUMNS.len());
    }

    #[test]
    fn cells_wider_than_comfy_table_measures_keep_the_lines_aligned() {
        // comfy-table counts widths in u16: past 65,535 columns its layout overflows.
        let wide = "w".repeat(70_000);
        let rows: Vec<Row> = [wide.as_str(), "short"]
            .iter()
            .map(|text| Row {
                values: (COLUMNS.iter())
                    .map(|_| Value::Str((*text).to_owned().into()))
                    .collect(),
                identity: String::new(),
            })
            .collect();
        let result = result(rows);
        let mut piped = Vec::new();
        print_piped(&result, &header(), &mut piped).unwrap();
        let text = String::from_utf8(piped).unwrap();
        let widths: Vec<usize> = text.lines().map(|line| line.width()).collect();
        assert_eq!(widths.len(), 6);
        assert!(widths.iter().all(|&w| w == widths[0]), "{widths:?}");
        assert!(text.contains(&wide));
    }
}
