//! `--format html`: one self-contained page — the run, findings by severity, charts over time,
//! top lists, then each query's (or analysis's) findings — readable offline and printable.
//!
//! Nothing on the page reaches the network: the style is inline, the charts are inline SVG
//! (`chart`), there is no script at all, and a Content-Security-Policy forbids every
//! request. Every value from a log is escaped (`sanitize::for_html`). What the charts count
//! comes from the dashboard's own queries, run in the same pass (`dashboard`).

mod chart;
mod dashboard;
mod results;

use std::collections::BTreeMap;
use std::io::{self, Write};

use chrono::{DateTime, Utc};

pub use dashboard::{Counted, Dashboard};

use super::report::{Mode, Report, megabytes};
use super::sanitize::for_html;
use crate::meta::{Severity, attack};
use crate::record::{OwnedValue, Value, format_time};
use crate::results::ResultSet;
use chart::{AgainstBaseline, Threshold};
use dashboard::{TOP, Timeline, TopView, Views};
use results::{analysis_view, rows_table};

/// The most rows of one result a page shows unless `--html-rows` says otherwise.
pub const DEFAULT_ROWS: usize = 50;

/// The most characters of one cell a page shows: the whole value is in `--format json`.
const CELL: usize = 1_000;

/// The longest word a table cell never breaks.
const KEEP_WHOLE: usize = 28;

/// The most accounts or sources listed in the run's description.
const LISTED: usize = 20;

/// Forbids every request (scripts, styles, images, fonts, frames, forms from elsewhere):
/// the page needs none. Only its own inline style is allowed.
const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

const STYLE: &str = include_str!("style.css");

pub fn print(report: &Report<'_>, out: &mut impl Write, rows: usize) -> io::Result<()> {
    let views = report
        .dashboard
        .map(|counted| Views::read(counted, (report.scope.since, report.scope.until)));
    let shown: Vec<(usize, &ResultSet)> = (report.results.iter().enumerate())
        .filter(|(_, r)| !r.rows.is_empty() || report.mode != Mode::Audit)
        .collect();
    let title = match report.mode {
        Mode::Audit => "CloudTrail audit".to_owned(),
        Mode::Single => (report.results.iter())
            .map(|r| r.meta.title.as_str())
            .collect::<Vec<_>>()
            .join(" · "),
    };
    let title = if title.is_empty() {
        "trailscan report".to_owned()
    } else {
        title
    };

    writeln!(out, "<!DOCTYPE html>")?;
    writeln!(out, "<html lang=\"en\">")?;
    writeln!(out, "<head>")?;
    writeln!(out, "<meta charset=\"utf-8\">")?;
    writeln!(
        out,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">"
    )?;
    writeln!(out, "<meta name=\"referrer\" content=\"no-referrer\">")?;
    writeln!(
        out,
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    )?;
    writeln!(
        out,
        "<meta name=\"generator\" content=\"trailscan {}\">",
        env!("CARGO_PKG_VERSION")
    )?;
    writeln!(out, "<title>{} · trailscan</title>", for_html(&title))?;
    writeln!(out, "<style>\n{STYLE}</style>")?;
    writeln!(out, "</head>")?;
    writeln!(out, "<body>")?;
    writeln!(out, "<header>")?;
    writeln!(out, "<h1>{}</h1>", for_html(&title))?;
    writeln!(
        out,
        "<p class=\"subtitle\">{}</p>",
        for_html(&span_text(report, views.as_ref()))
    )?;
    writeln!(
        out,
        "<nav><a href=\"#run\">The run</a> <a href=\"#findings\">Severity</a> <a href=\"#activity\">Over time</a> <a href=\"#top\">Top</a> <a href=\"#details\">{}</a></nav>",
        details_heading(report.mode)
    )?;
    writeln!(out, "</header>")?;
    writeln!(out, "<main>")?;
    run_section(report, views.as_ref(), out)?;
    findings_section(report, &shown, out)?;
    activity_section(report, views.as_ref(), out)?;
    top_section(views.as_ref(), out)?;
    details_section(report, &shown, rows, out)?;
    writeln!(out, "</main>")?;
    writeln!(
        out,
        "<footer>trailscan {} · a self-contained page: no script, no request; <code>--format json</code> has every row and every character.</footer>",
        env!("CARGO_PKG_VERSION")
    )?;
    writeln!(out, "</body>")?;
    writeln!(out, "</html>")
}

fn details_heading(mode: Mode) -> &'static str {
    match mode {
        Mode::Audit => "Queries with findings",
        Mode::Single => "Findings",
    }
}

/// "Events from … to … UTC", or the window asked for when nothing was read.
fn span_text(report: &Report<'_>, views: Option<&Views>) -> String {
    match views.and_then(|v| v.first.zip(v.last)) {
        Some((first, last)) => format!("Events from {} to {}", time(&first), time(&last)),
        None => match (report.scope.since, report.scope.until) {
            (None, None) => "No event read".to_owned(),
            (since, until) => format!("No event read; window {}", window_text(since, until)),
        },
    }
}

fn time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn window_text(since: Option<DateTime<Utc>>, until: Option<DateTime<Utc>>) -> String {
    match (since, until) {
        (None, None) => "every event (no --since or --until)".to_owned(),
        (Some(since), None) => format!("from {} on", time(&since)),
        (None, Some(until)) => format!("before {}", time(&until)),
        (Some(since), Some(until)) => format!("from {} to before {}", time(&since), time(&until)),
    }
}

/// `12,345`.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", grouped(n), if n == 1 { one } else { many })
}

/// A list of escaped items, at most `LISTED`, then how many more.
fn listed(items: &[&str]) -> String {
    let mut text: Vec<String> = (items.iter().take(LISTED))
        .map(|i| format!("<code>{}</code>", for_html(i)))
        .collect();
    if items.len() > LISTED {
        text.push(format!(
            "and {} more",
            grouped((items.len() - LISTED) as u64)
        ));
    }
    text.join(", ")
}

fn run_section(report: &Report<'_>, views: Option<&Views>, out: &mut impl Write) -> io::Result<()> {
    let (s, scope) = (report.summary, report.scope);
    let st = &s.stats;
    writeln!(
        out,
        "<section id=\"run\">\n<h2>The run</h2>\n<dl class=\"run\">"
    )?;
    let mut item = |term: &str, html: String| writeln!(out, "<dt>{term}</dt><dd>{html}</dd>");
    let sources: Vec<&str> = scope.sources.iter().map(String::as_str).collect();
    item(
        "Sources",
        if sources.is_empty() {
            "none".to_owned()
        } else {
            listed(&sources)
        },
    )?;
    let mut window = for_html(&window_text(scope.since, scope.until)).into_owned();
    if let Some((first, last)) = views.and_then(|v| v.first.zip(v.last)) {
        window += &format!(
            "; events from {} to {}",
            for_html(&time(&first)),
            for_html(&time(&last))
        );
    }
    item("Window", window)?;
    let filtered = |given: &[String], flag: &str| match given.is_empty() {
        true => String::new(),
        false => format!(
            " (only {flag} {})",
            given
                .iter()
                .map(|g| for_html(g))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    if let Some(views) = views {
        let accounts = views.accounts();
        let regions = views.regions();
        item(
            "Accounts",
            format!(
                "{}{}",
                if accounts.is_empty() {
                    "none".to_owned()
                } else {
                    listed(&accounts)
                },
                filtered(&scope.accounts, "--account")
            ),
        )?;
        item(
            "Regions",
            format!(
                "{}{}",
                if regions.is_empty() {
                    "none".to_owned()
                } else {
                    listed(&regions)
                },
                filtered(&scope.regions, "--region")
            ),
        )?;
    }
    let mut objects = format!(
        "{} read ({} read, {} uncompressed)",
        plural(st.objects, "object", "objects"),
        megabytes(st.bytes_read),
        megabytes(st.bytes_uncompressed)
    );
    objects += &format!(
        "; {} skipped ({} digest, {} insight), {} pruned by key",
        grouped(s.skipped()),
        grouped(s.skipped_digest + st.digest_by_content),
        grouped(s.skipped_insight),
        grouped(s.pruned)
    );
    if s.already_read > 0 {
        objects += &format!("; {} already read (state)", grouped(s.already_read));
    }
    item("Objects", objects)?;
    let mut records = format!(
        "{} decoded, {} evaluated",
        grouped(st.records),
        grouped(st.evaluated)
    );
    for (n, why) in [
        (st.outside_window, "outside the time window"),
        (st.no_event_time, "without a usable eventTime"),
        (st.outside_filter, "outside --account/--region"),
    ] {
        if n > 0 {
            records += &format!("; {} {why}", grouped(n));
        }
    }
    item("Records", records)?;
    let problems = format!(
        "<span class=\"{}\">{}</span>, {} (each is named on stderr)",
        if s.errors > 0 { "bad" } else { "good" },
        plural(s.errors as u64, "error", "errors"),
        plural(s.warnings as u64, "warning", "warnings")
    );
    item("Errors", problems)?;
    let suppressed: Vec<String> = (report.results.iter())
        .filter(|r| r.suppressed > 0)
        .map(|r| format!("{} {}", for_html(&r.meta.name), grouped(r.suppressed)))
        .collect();
    if !suppressed.is_empty() {
        item("Suppressed", suppressed.join(", "))?;
    }
    if s.already_reported > 0 {
        item(
            "Already reported",
            plural(s.already_reported as u64, "finding", "findings") + " (state)",
        )?;
    }
    if s.alerts_sent > 0 || s.alerts_failed > 0 {
        item(
            "Alerts",
            format!("{} sent, {} failed", s.alerts_sent, s.alerts_failed),
        )?;
    }
    if let Some(s3) = &s.transfer {
        item(
            "S3",
            format!(
                "{} LIST requests ({} keys), {} GET requests, {} downloaded, {} from the cache",
                grouped(s3.list_requests),
                grouped(s3.keys_listed),
                grouped(s3.get_requests),
                megabytes(s3.bytes_downloaded),
                plural(s3.cache_hits, "object", "objects")
            ),
        )?;
    }
    // The one part of the page that changes from run to run.
    writeln!(
        out,
        "<dt>Elapsed</dt><dd class=\"elapsed\">{:.2} s, {} records/s</dd>",
        s.elapsed.as_secs_f64(),
        grouped(s.records_per_second())
    )?;
    writeln!(out, "</dl>\n</section>")
}

fn anchor(index: usize, name: &str) -> String {
    let slug: String = (name.chars())
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .take(60)
        .collect();
    format!("q{index}-{slug}")
}

fn badge(severity: Severity) -> String {
    format!("<span class=\"sev {s}\">{s}</span>", s = severity.as_str())
}

fn findings_section(
    report: &Report<'_>,
    shown: &[(usize, &ResultSet)],
    out: &mut impl Write,
) -> io::Result<()> {
    writeln!(
        out,
        "<section id=\"findings\">\n<h2>Findings by severity</h2>"
    )?;
    let mut by_severity: BTreeMap<Severity, (u64, u64)> = BTreeMap::new();
    for result in report.results.iter().filter(|r| !r.rows.is_empty()) {
        let entry = by_severity.entry(result.meta.severity).or_default();
        entry.0 += 1;
        entry.1 += result.rows.len() as u64;
    }
    writeln!(out, "<ul class=\"tiles\">")?;
    for severity in Severity::ALL.iter().rev() {
        let (queries, rows) = by_severity.get(severity).copied().unwrap_or_default();
        writeln!(
            out,
            "<li class=\"tile {s}{empty}\"><span class=\"count\">{count}</span> <span class=\"what\">{s}</span><span class=\"queries\">{findings} in {queries}</span></li>",
            s = severity.as_str(),
            empty = if rows == 0 { " none" } else { "" },
            count = grouped(rows),
            findings = if rows == 1 { "finding" } else { "findings" },
            queries = plural(queries, "query", "queries"),
        )?;
    }
    writeln!(out, "</ul>")?;
    let with_findings: Vec<&(usize, &ResultSet)> =
        shown.iter().filter(|(_, r)| !r.rows.is_empty()).collect();
    if with_findings.is_empty() {
        let ran = report.results.len() as u64;
        writeln!(
            out,
            "<p class=\"clean\">No findings: {} found nothing.</p>",
            match report.mode {
                Mode::Audit => format!("the {} run", plural(ran, "query", "queries")),
                Mode::Single => "the run".to_owned(),
            }
        )?;
    } else {
        writeln!(
            out,
            "<table class=\"index\">\n<thead><tr><th>severity</th><th>finding</th><th>name</th><th class=\"n\">rows</th></tr></thead>\n<tbody>"
        )?;
        for (i, result) in with_findings {
            writeln!(
                out,
                "<tr><td>{}</td><td><a href=\"#{}\">{}</a></td><td><code>{}</code></td><td class=\"n\">{}</td></tr>",
                badge(result.meta.severity),
                anchor(*i, &result.meta.name),
                for_html(&result.meta.title),
                for_html(&result.meta.name),
                grouped(result.rows.len() as u64)
            )?;
        }
        writeln!(out, "</tbody>\n</table>")?;
    }
    if report.mode == Mode::Audit {
        writeln!(
            out,
            "<p class=\"note\">{} ran; {} found something.</p>",
            plural(report.results.len() as u64, "query", "queries"),
            grouped(report.results.iter().filter(|r| !r.rows.is_empty()).count() as u64)
        )?;
    }
    writeln!(out, "</section>")
}

fn activity_section(
    report: &Report<'_>,
    views: Option<&Views>,
    out: &mut impl Write,
) -> io::Result<()> {
    writeln!(out, "<section id=\"activity\">")?;
    let Some(views) = views else {
        return writeln!(
            out,
            "<h2>Over time</h2>\n<p class=\"note\">Not counted in this run.</p>\n</section>"
        );
    };
    let Some(timeline) = views.timeline else {
        return writeln!(
            out,
            "<h2>Over time</h2>\n<p class=\"note\">No event with a usable time to chart.</p>\n</section>"
        );
    };
    writeln!(
        out,
        "<h2>Over time, {} (UTC)</h2>\n<div class=\"charts\">",
        timeline.unit()
    )?;
    for series in &views.series {
        let threshold = alarm_threshold(report, series.alarms.as_slice(), &timeline);
        let label = |i: usize| timeline.label(i);
        writeln!(
            out,
            "<figure class=\"chart\" id=\"chart-{key}\">\n<figcaption><strong>{title}</strong> <span class=\"total\">{total}</span><br><span class=\"what\">{what}</span></figcaption>",
            key = series.key,
            title = for_html(series.title),
            total = plural(series.total, "event", "events"),
            what = for_html(series.counts_what),
        )?;
        match chart::over_time(&series.counts, &label, threshold.as_ref().map(|t| &t.0)) {
            Ok(svg) => writeln!(
                out,
                "{}",
                inline_svg(&svg, &format!("{} {}", series.title, timeline.unit()))
            )?,
            Err(why) => writeln!(
                out,
                "<p class=\"note\">The chart could not be drawn: {}</p>",
                for_html(&why)
            )?,
        }
        let mut notes = Vec::new();
        if let Some((threshold, names)) = &threshold {
            notes.push(format!(
                "<span class=\"alarm\">Red line: the threshold of {}, {} (per group of the query, not per {})</span>; ▲ marks {} in which it went off.",
                names.iter().map(|n| format!("<code>{}</code>", for_html(n))).collect::<Vec<_>>().join(" and "),
                grouped(threshold.value),
                if timeline.hourly() { "hour" } else { "day" },
                if timeline.hourly() { "an hour" } else { "a period" },
            ));
        }
        if series.untimed > 0 {
            notes.push(format!(
                "{} without a usable time, not charted.",
                plural(series.untimed, "event", "events")
            ));
        }
        if !notes.is_empty() {
            writeln!(out, "<p class=\"note\">{}</p>", notes.join(" "))?;
        }
        writeln!(out, "</figure>")?;
    }
    writeln!(out, "</div>\n</section>")
}

/// The threshold of the first alarm query over a series that ran in this report, with the
/// buckets of its findings (by their first time); without one that ran, the first that the
/// catalogue defines, so the chart still says where an alarm would fire. With the names of
/// the alarm queries of that threshold.
fn alarm_threshold<'a>(
    report: &Report<'_>,
    alarms: &'a [dashboard::Alarm],
    timeline: &Timeline,
) -> Option<(Threshold, Vec<&'a str>)> {
    let ran = |alarm: &&dashboard::Alarm| report.results.iter().any(|r| r.meta.name == alarm.query);
    let alarm = alarms.iter().find(ran).or(alarms.first())?;
    // The others of the same threshold are named together.
    let names: Vec<&str> = (alarms.iter())
        .filter(|a| a.threshold == alarm.threshold)
        .map(|a| a.query.as_str())
        .collect();
    let mut fired = Vec::new();
    for result in report
        .results
        .iter()
        .filter(|r| names.contains(&r.meta.name.as_str()))
    {
        for row in result.rows.iter() {
            if let Some(i) =
                (row.values.iter().find_map(Value::as_time)).and_then(|t| timeline.index(t))
            {
                fired.push(i);
            }
        }
    }
    fired.sort_unstable();
    fired.dedup();
    let threshold = Threshold {
        value: alarm.threshold,
        fired,
    };
    Some((threshold, names))
}

/// plotters' SVG, inlined: the namespace is the HTML parser's to give, and the chart is
/// an image with a name for screen readers.
fn inline_svg(svg: &str, name: &str) -> String {
    let svg = svg.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1);
    svg.replacen(
        "<svg ",
        &format!("<svg role=\"img\" aria-label=\"{}\" ", for_html(name)),
        1,
    )
}

fn top_section(views: Option<&Views>, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "<section id=\"top\">\n<h2>Top {TOP}</h2>")?;
    let Some(views) = views else {
        return writeln!(
            out,
            "<p class=\"note\">Not counted in this run.</p>\n</section>"
        );
    };
    writeln!(out, "<div class=\"tops\">")?;
    for top in &views.tops {
        top_list(top, out)?;
    }
    writeln!(out, "</div>\n</section>")
}

fn top_list(top: &TopView, out: &mut impl Write) -> io::Result<()> {
    writeln!(
        out,
        "<figure class=\"top\" id=\"top-{}\">\n<figcaption><strong>{}</strong> by events</figcaption>",
        top.key,
        for_html(top.title)
    )?;
    let entries: Vec<(String, u64, Option<String>)> = (top.entries.iter())
        .map(|(value, n)| (value.clone().unwrap_or_default(), *n, None))
        .collect();
    bars(&entries, out)?;
    writeln!(out, "</figure>")
}

/// Horizontal bars, as HTML: a label, a bar as long as its share of the longest, the count,
/// and a note under the label. An absent label shows as "(none)".
fn bars(entries: &[(String, u64, Option<String>)], out: &mut impl Write) -> io::Result<()> {
    if entries.is_empty() {
        return writeln!(out, "<p class=\"note\">No events.</p>");
    }
    let most = entries.iter().map(|e| e.1).max().unwrap_or(1).max(1);
    writeln!(out, "<ol class=\"bars\">")?;
    for (label, n, note) in entries {
        let share = (*n as f64 / most as f64 * 100.0).clamp(0.0, 100.0);
        let label = match label.is_empty() {
            true => "<span class=\"none\">(none)</span>".to_owned(),
            false => cut(label),
        };
        let note = match note {
            Some(note) if !note.is_empty() => format!("<span class=\"note\">{}</span>", cut(note)),
            _ => String::new(),
        };
        writeln!(
            out,
            "<li><span class=\"label\">{label}{note}</span><span class=\"bar\"><span style=\"width:{share:.1}%\"></span></span><span class=\"n\">{}</span></li>",
            grouped(*n)
        )?;
    }
    writeln!(out, "</ol>")
}

/// Text from a log, escaped, cut to `CELL` characters with how many more there were.
fn cut(text: &str) -> String {
    match text.char_indices().nth(CELL) {
        Some((at, _)) => format!(
            "{}<span class=\"more\">… (+{} characters)</span>",
            for_html(&text[..at]),
            grouped(text[at..].chars().count() as u64)
        ),
        None => for_html(text).into_owned(),
    }
}

fn details_section(
    report: &Report<'_>,
    shown: &[(usize, &ResultSet)],
    rows: usize,
    out: &mut impl Write,
) -> io::Result<()> {
    writeln!(
        out,
        "<section id=\"details\">\n<h2>{}</h2>",
        details_heading(report.mode)
    )?;
    if shown.is_empty() {
        writeln!(out, "<p class=\"clean\">Nothing to show.</p>")?;
    }
    for (i, result) in shown {
        result_article(*i, result, rows, out)?;
    }
    writeln!(out, "</section>")
}

fn result_article(
    index: usize,
    result: &ResultSet,
    rows: usize,
    out: &mut impl Write,
) -> io::Result<()> {
    let meta = &result.meta;
    let total = result.rows.len() as u64;
    writeln!(
        out,
        "<article class=\"result {}\" id=\"{}\">",
        meta.severity.as_str(),
        anchor(index, &meta.name)
    )?;
    writeln!(
        out,
        "<h3>{} <span class=\"title\">{}</span></h3>",
        badge(meta.severity),
        for_html(&meta.title)
    )?;
    writeln!(
        out,
        "<p class=\"name\"><code>{}</code> · {}</p>",
        for_html(&meta.name),
        plural(total, "row", "rows")
    )?;
    if !meta.techniques.is_empty() || !meta.tactics.is_empty() {
        let tactics: Vec<String> = (meta.tactics.iter())
            .map(|t| match attack::tactic(t) {
                Some((id, name)) => format!("{} ({id})", for_html(name)),
                None => for_html(t).into_owned(),
            })
            .collect();
        let techniques: Vec<String> = (meta.techniques.iter())
            .map(|t| {
                format!(
                    "<span class=\"technique\">{}</span>",
                    for_html(&attack::describe_technique(t))
                )
            })
            .collect();
        writeln!(
            out,
            "<p class=\"attack\"><strong>ATT&amp;CK</strong> {}{}{}</p>",
            tactics.join(", "),
            if tactics.is_empty() || techniques.is_empty() {
                ""
            } else {
                ": "
            },
            techniques.join(", ")
        )?;
    }
    if !meta.description.is_empty() {
        writeln!(
            out,
            "<p class=\"description\">{}</p>",
            for_html(&meta.description)
        )?;
    }
    if !meta.runbook.is_empty() {
        writeln!(
            out,
            "<p class=\"runbook\"><strong>Runbook</strong> {}</p>",
            for_html(&meta.runbook)
        )?;
    }
    if !meta.references.is_empty() {
        writeln!(
            out,
            "<p class=\"references\"><strong>References</strong> {}</p>",
            for_html(&meta.references)
        )?;
    }
    analysis_view(result, out)?;
    if total == 0 {
        writeln!(out, "<p class=\"clean\">No rows.</p>")?;
    } else {
        rows_table(result, rows, out)?;
    }
    writeln!(
        out,
        "<p class=\"back\"><a href=\"#findings\">↑ findings</a></p>"
    )?;
    writeln!(out, "</article>")
}

#[cfg(test)]
mod tests {
    use super::results::cell;
    use super::*;

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_000), "1,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
        assert_eq!(grouped(u64::MAX), "18,446,744,073,709,551,615");
    }

    #[test]
    fn anchors_are_plain_and_unique() {
        assert_eq!(anchor(3, "root-usage"), "q3-root-usage");
        assert_eq!(anchor(4, "a\"><x"), "q4-a---x");
        assert_ne!(anchor(1, "a b"), anchor(2, "a_b"));
    }

    #[test]
    fn cells_are_escaped_and_cut() {
        assert_eq!(
            cell(&Value::Str("<img src=x onerror=alert(1)>".into())),
            "<td>&lt;img src=x onerror=alert(1)&gt;</td>"
        );
        let long = cell(&Value::Str("é".repeat(CELL + 5).into()));
        assert!(long.ends_with("… (+5 characters)</span></td>"), "{long}");
        assert_eq!(cell(&Value::Null), "<td class=\"null\"></td>");
        assert_eq!(cell(&Value::Int(7)), "<td class=\"n\">7</td>");
    }
}
