//! A result on the page: its rows as a table, and an analysis's findings drawn above them.

use super::*;

pub(super) fn rows_table(result: &ResultSet, rows: usize, out: &mut impl Write) -> io::Result<()> {
    writeln!(
        out,
        "<div class=\"scroll\"><table class=\"rows\">\n<thead><tr>"
    )?;
    for column in result.columns.iter() {
        write!(out, "<th>{}</th>", for_html(column))?;
    }
    writeln!(out, "</tr></thead>\n<tbody>")?;
    for row in result.rows.iter().take(rows) {
        write!(out, "<tr>")?;
        for value in &row.values {
            write!(out, "{}", cell(value))?;
        }
        writeln!(out, "</tr>")?;
    }
    writeln!(out, "</tbody>\n</table></div>")?;
    let total = result.rows.len();
    if total > rows {
        writeln!(
            out,
            "<p class=\"more\">and {} more {} (<code>--html-rows</code> shows more; <code>--format json</code> or <code>csv</code> every row)</p>",
            grouped((total - rows) as u64),
            if total - rows == 1 { "row" } else { "rows" }
        )?;
    }
    Ok(())
}

pub(super) fn cell(value: &OwnedValue) -> String {
    match value {
        Value::Null => "<td class=\"null\"></td>".to_owned(),
        Value::Int(_) | Value::Float(_) => format!(
            "<td class=\"n\">{}</td>",
            value
                .to_text()
                .map(|t| for_html(&t).into_owned())
                .unwrap_or_default()
        ),
        Value::Time(t) => format!("<td class=\"k\">{}</td>", format_time(t)),
        _ => {
            let text = value.to_text().unwrap_or_default();
            // A short word (a time, an account, an address, an event name) is never broken;
            // a long one (an ARN, a policy) wraps anywhere rather than widen the table.
            let short = text.chars().count() <= KEEP_WHOLE && !text.contains(char::is_whitespace);
            format!(
                "<td{}>{}</td>",
                if short { " class=\"k\"" } else { "" },
                cut(&text)
            )
        }
    }
}

/// What an analysis's findings are drawn as, above their table: hours against their
/// baseline (insights), or bars of addresses and principals (suspicious-ips, secrets-access).
pub(super) fn analysis_view(result: &ResultSet, out: &mut impl Write) -> io::Result<()> {
    if result.rows.is_empty() {
        return Ok(());
    }
    let column = |name: &str| result.column(name);
    if let (Some(hour), Some(api), Some(measure), Some(count), Some(mean), Some(stddev)) = (
        column("hour"),
        column("eventName"),
        column("measure"),
        column("count"),
        column("baseline_mean"),
        column("baseline_stddev"),
    ) {
        let number = |v: Option<&OwnedValue>| match v {
            Some(Value::Int(n)) => *n as f64,
            Some(Value::Float(f)) => *f,
            _ => 0.0,
        };
        let text = |v: Option<&OwnedValue>| {
            v.and_then(|v| v.to_text())
                .map(|t| t.into_owned())
                .unwrap_or_default()
        };
        let entries: Vec<AgainstBaseline> = (result.rows.iter())
            .map(|row| {
                let at = row.values.get(hour).and_then(Value::as_time);
                AgainstBaseline {
                    label: format!(
                        "{} {} {}",
                        text(row.values.get(api)),
                        text(row.values.get(measure)),
                        at.map(|t| t.format("%m-%d %H:00").to_string())
                            .unwrap_or_default()
                    ),
                    count: number(row.values.get(count)),
                    mean: number(row.values.get(mean)),
                    stddev: number(row.values.get(stddev)),
                }
            })
            .collect();
        writeln!(
            out,
            "<figure class=\"analysis baseline\">\n<figcaption><strong>Each flagged hour against its baseline</strong>{}<br><span class=\"what\"><span class=\"swatch count\"></span> the count in the hour; <span class=\"swatch mean\"></span> the baseline: its hourly mean (the circle) and one standard deviation either side</span></figcaption>",
            if entries.len() > chart::MOST_BASELINES {
                format!(
                    " (the first {} of {})",
                    chart::MOST_BASELINES,
                    grouped(entries.len() as u64)
                )
            } else {
                String::new()
            }
        )?;
        match chart::against_baseline(&entries) {
            Ok(svg) => writeln!(out, "{}", inline_svg(&svg, "hours against their baseline"))?,
            Err(why) => writeln!(
                out,
                "<p class=\"note\">The chart could not be drawn: {}</p>",
                for_html(&why)
            )?,
        }
        return writeln!(out, "</figure>");
    }
    // A label column, a count column, and a note, as the analyses name them.
    let label = column("sourceIPAddress").or(column("principal"));
    let value = column("calls").or(column("reads"));
    let (Some(label), Some(value)) = (label, value) else {
        return Ok(());
    };
    let note = column("reasons")
        .or(column("secret_id"))
        .or(column("window_start"));
    let mut entries: Vec<(String, u64, Option<String>)> = (result.rows.iter())
        .map(|row| {
            let text = |i: usize| {
                row.values
                    .get(i)
                    .and_then(|v| v.to_text())
                    .map(|t| t.into_owned())
            };
            let n = match row.values.get(value) {
                Some(Value::Int(n)) => u64::try_from(*n).unwrap_or(0),
                _ => 0,
            };
            (text(label).unwrap_or_default(), n, note.and_then(text))
        })
        .collect();
    entries.sort_by(|a, b| {
        b.1.cmp(&a.1)
            .then_with(|| a.0.cmp(&b.0))
            .then_with(|| a.2.cmp(&b.2))
    });
    let more = entries.len().saturating_sub(TOP);
    entries.truncate(TOP);
    writeln!(
        out,
        "<figure class=\"analysis flagged\">\n<figcaption><strong>{} by {}</strong>{}</figcaption>",
        for_html(&result.columns[label]),
        for_html(&result.columns[value]),
        if more > 0 {
            format!(
                " (the first {TOP}; {} more in the table)",
                grouped(more as u64)
            )
        } else {
            String::new()
        }
    )?;
    bars(&entries, out)?;
    writeln!(out, "</figure>")
}
