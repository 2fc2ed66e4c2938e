//! Machine output. The shape is a contract: fields are only ever added.
//!
//! JSON Lines: one `{"type":"row","query":…,"severity":…,"row":{column: value}}` per row
//! (with `"tactics"` and `"techniques"` before `"row"` for a detection mapped to ATT&CK),
//! then one `{"type":"summary",…}`. JSON: `{"rows":[…the same row objects…],"summary":{…}}`.

use std::io::{self, Write};

use serde_json::{Map, Value as Json, json};

use super::report::Report;
use super::sanitize::is_unsafe;
use crate::json_text::string_stop;
use crate::meta::Meta;
use crate::record::{OwnedValue, Value, format_time};

pub fn print(report: &Report<'_>, out: &mut impl Write) -> io::Result<()> {
    // Row by row, so rows read back from disk are never all in memory; the bytes are those
    // of `to_writer_pretty` on the whole document (values are scalars, and JSON strings
    // hold no raw newlines).
    let mut first = true;
    for result in report.results {
        let (start, keys) = row_template(
            &result.meta,
            &result.columns,
            [
                b"{\n      \"query\": ",
                b",\n      \"severity\": ",
                b",\n      \"row\": {",
            ],
            [b"\n        ", b": "],
        )?;
        let end: &[u8] = if keys.is_empty() {
            b"}\n    }"
        } else {
            b"\n      }\n    }"
        };
        for row in result.rows.iter() {
            out.write_all(if first {
                b"{\n  \"rows\": [\n    "
            } else {
                b",\n    "
            })?;
            first = false;
            out.write_all(&start)?;
            for (key, value) in keys.iter().zip(&row.values) {
                out.write_all(key)?;
                write_value(value, out)?;
            }
            out.write_all(end)?;
        }
    }
    out.write_all(if first {
        b"{\n  \"rows\": []"
    } else {
        b"\n  ]"
    })?;
    out.write_all(b",\n  \"summary\": ")?;
    write_indented(&summary(report), "  ", out)?;
    writeln!(out, "\n}}")
}

/// Pretty JSON of `value`, its lines after the first indented by `indent`.
fn write_indented(value: &Json, indent: &str, out: &mut impl Write) -> io::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            out.write_all(b"\n")?;
            out.write_all(indent.as_bytes())?;
        }
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

pub fn print_lines(report: &Report<'_>, out: &mut impl Write) -> io::Result<()> {
    // Written field by field: a Map per row costs more than the scan for big results.
    for result in report.results {
        let (start, keys) = row_template(
            &result.meta,
            &result.columns,
            [
                b"{\"type\":\"row\",\"query\":",
                b",\"severity\":",
                b",\"row\":{",
            ],
            [b"", b":"],
        )?;
        for row in result.rows.iter() {
            out.write_all(&start)?;
            for (key, value) in keys.iter().zip(&row.values) {
                out.write_all(key)?;
                write_value(value, out)?;
            }
            out.write_all(b"}}\n")?;
        }
    }
    let mut line = Map::new();
    line.insert("type".into(), "summary".into());
    if let Json::Object(fields) = summary(report) {
        line.extend(fields);
    }
    serde_json::to_writer(&mut *out, &line)?;
    writeln!(out)
}

/// What every row of `query` starts with, and each column's key, written once per query.
/// The first three pieces go before the query's name, between it and the severity, and
/// after the severity; each column's name goes between the other two, after a comma from
/// the second column on.
fn row_template(
    meta: &Meta,
    columns: &[String],
    [before_name, before_severity, after_severity]: [&[u8]; 3],
    [before_key, after_key]: [&[u8]; 2],
) -> io::Result<(Vec<u8>, Vec<Vec<u8>>)> {
    let mut start = before_name.to_vec();
    write_str(&meta.name, &mut start)?;
    start.extend_from_slice(before_severity);
    write_str(meta.severity.as_str(), &mut start)?;
    write_attack(meta, before_severity, &mut start)?;
    start.extend_from_slice(after_severity);
    let mut keys = Vec::with_capacity(columns.len());
    for (i, column) in columns.iter().enumerate() {
        let mut key = if i > 0 { b",".to_vec() } else { Vec::new() };
        key.extend_from_slice(before_key);
        write_str(column, &mut key)?;
        key.extend_from_slice(after_key);
        keys.push(key);
    }
    Ok((start, keys))
}

/// The detection's ATT&CK `tactics` and `techniques`, when it has them, each field after
/// `separator` (`,` and the indentation of `"severity"`), arrays laid out as `separator`
/// says: on one line, or one item a line as pretty JSON has them.
fn write_attack(meta: &Meta, separator: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
    if meta.tactics.is_empty() && meta.techniques.is_empty() {
        return Ok(());
    }
    let pretty = separator.contains(&b'\n');
    let key_at = (separator.iter().position(|&b| b == b'"')).unwrap_or(separator.len());
    let indent = &separator[1.min(key_at)..key_at];
    for (key, items) in [("tactics", &meta.tactics), ("techniques", &meta.techniques)] {
        out.push(b',');
        out.extend_from_slice(indent);
        write_str(key, out)?;
        out.extend_from_slice(if pretty { b": [" } else { b":[" });
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            if pretty {
                out.extend_from_slice(indent);
                out.extend_from_slice(b"  ");
            }
            write_str(item, out)?;
        }
        if pretty && !items.is_empty() {
            out.extend_from_slice(indent);
        }
        out.push(b']');
    }
    Ok(())
}

fn write_value(value: &OwnedValue, out: &mut impl Write) -> io::Result<()> {
    match value {
        Value::Str(s) => write_str(s, out),
        Value::Time(t) => write_str(&format_time(t), out),
        other => serde_json::to_writer(&mut *out, &to_json(other)).map_err(io::Error::from),
    }
}

/// `text` as a JSON string, as serde_json writes it, but for the characters that reorder
/// or hide text on a terminal (C1 controls, bidirectional overrides, …), written as `\\u`
/// escapes: a reader that prints a field of the JSON prints them inert. Most log text
/// needs no escape, and is copied as it is.
fn write_str(text: &str, out: &mut impl Write) -> io::Result<()> {
    let plain = text.bytes().all(|b| b < 0x7f);
    if !plain && text.chars().any(is_unsafe) {
        return write_str_escaped(text, out);
    }
    if string_stop(text.as_bytes()).is_some() {
        return serde_json::to_writer(&mut *out, text).map_err(io::Error::from);
    }
    out.write_all(b"\"")?;
    out.write_all(text.as_bytes())?;
    out.write_all(b"\"")
}

fn write_str_escaped(text: &str, out: &mut impl Write) -> io::Result<()> {
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '"' => escaped.push_str("\\\""),
            '\\' => escaped.push_str("\\\\"),
            '\n' => escaped.push_str("\\n"),
            '\r' => escaped.push_str("\\r"),
            '\t' => escaped.push_str("\\t"),
            c if is_unsafe(c) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    escaped.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => escaped.push(c),
        }
    }
    out.write_all(b"\"")?;
    out.write_all(escaped.as_bytes())?;
    out.write_all(b"\"")
}

fn to_json(value: &OwnedValue) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::Str(s) => Json::String(s.to_string()),
        Value::Time(t) => Json::String(format_time(t)),
    }
}

fn summary(report: &Report<'_>) -> Json {
    let s = report.summary;
    let st = &s.stats;
    let s3 = s.transfer.unwrap_or_default();
    let suppressed: Map<String, Json> = report
        .results
        .iter()
        .filter(|r| r.suppressed > 0)
        .map(|r| (r.meta.name.clone(), Json::from(r.suppressed)))
        .collect();
    let rows_per_query: Map<String, Json> = report
        .results
        .iter()
        .map(|r| (r.meta.name.clone(), Json::from(r.rows.len())))
        .collect();
    let mut summary = json!({
        "objects": st.objects,
        "bytes_read": st.bytes_read,
        "bytes_uncompressed": st.bytes_uncompressed,
        "records": st.records,
        "records_evaluated": st.evaluated,
        "records_outside_window": st.outside_window,
        "records_without_event_time": st.no_event_time,
        "records_outside_filter": st.outside_filter,
        "skipped_digest": s.skipped_digest + st.digest_by_content,
        "skipped_insight": s.skipped_insight,
        "pruned": s.pruned,
        "errors": s.errors,
        "warnings": s.warnings,
        "rows_per_query": rows_per_query,
        "suppressed_per_query": suppressed,
        "objects_already_read": s.already_read,
        "findings_already_reported": s.already_reported,
        "alerts_sent": s.alerts_sent,
        "alerts_failed": s.alerts_failed,
        "s3_list_requests": s3.list_requests,
        "s3_keys_listed": s3.keys_listed,
        "s3_get_requests": s3.get_requests,
        "s3_bytes_downloaded": s3.bytes_downloaded,
        "s3_cache_hits": s3.cache_hits,
        "elapsed_ms": s.elapsed.as_millis() as u64,
        "records_per_second": s.records_per_second(),
    });
    if let Some(athena) = &s.athena {
        let queries: Vec<Json> = (athena.queries.iter())
            .map(|q| {
                json!({ "query": q.query, "execution_id": q.execution_id, "state": q.state,
                        "data_scanned_bytes": q.data_scanned, "engine_ms": q.engine_ms,
                        "cost_usd": athena.cost(q) })
            })
            .collect();
        summary["athena_queries"] = Json::from(queries);
        summary["athena_data_scanned_bytes"] = Json::from(athena.data_scanned());
        summary["athena_cost_usd"] = Json::from(athena.total_cost());
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::Severity;
    use crate::output::report::{Mode, Scope};
    use crate::results::sample::{COLUMNS, result};
    use crate::results::{ResultSet, Row, Summary};

    /// Each row as the JSON object the documents hold, built by serde_json.
    fn row_objects(result: &ResultSet) -> impl Iterator<Item = Json> + '_ {
        result.rows.iter().map(move |row| {
            let fields: Map<String, Json> = result
                .columns
                .iter()
                .cloned()
                .zip(row.values.iter().map(to_json))
                .collect();
            let meta = &result.meta;
            json!({ "query": meta.name, "severity": meta.severity.as_str(),
                    "tactics": meta.tactics, "techniques": meta.techniques, "row": fields })
        })
    }

    #[test]
    fn the_document_written_row_by_row_is_the_pretty_document() {
        let row = |text: &str| Row {
            values: vec![
                Value::Str(format!("{text}\n\"quoted\" é ✓ \u{1b}").into()),
                Value::Int(3),
                Value::Null,
                Value::Bool(false),
                Value::Float(0.25),
                Value::Time(chrono::DateTime::from_timestamp(1_700_000_000, 5).unwrap()),
                Value::Str(String::new().into()),
            ],
            identity: text.into(),
        };
        let with_rows = result("root-usage", Severity::Critical, vec![row("a"), row("b")]);
        let without_rows = result("root-usage", Severity::Critical, Vec::new());
        let other_query = result("failed-logins", Severity::Medium, vec![row("c")]);
        for results in [
            vec![with_rows.clone(), without_rows.clone(), other_query],
            vec![without_rows],
        ] {
            let report = Report {
                results: &results,
                summary: &Summary::default(),
                mode: Mode::Audit,
                scope: &Scope::default(),
                dashboard: None,
            };
            let rows: Vec<Json> = results.iter().flat_map(row_objects).collect();
            let document = json!({ "rows": rows, "summary": summary(&report) });
            let expected = serde_json::to_string_pretty(&document).unwrap() + "\n";
            let mut written = Vec::new();
            print(&report, &mut written).unwrap();
            assert_eq!(String::from_utf8(written).unwrap(), expected);
        }
    }

    #[test]
    fn characters_that_hide_or_reorder_text_are_written_as_escapes() {
        let mut out = Vec::new();
        write_str("a\u{9b}31m\u{202e}b\u{e0041}\"é\u{7f}", &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, "\"a\\u009b31m\\u202eb\\udb40\\udc41\\\"é\\u007f\"");
        let back: String = serde_json::from_str(&text).unwrap();
        assert_eq!(back, "a\u{9b}31m\u{202e}b\u{e0041}\"é\u{7f}");
    }

    #[test]
    fn json_lines_are_what_serde_json_writes_for_each_row() {
        let texts = [
            "plain",
            "",
            "tab\there",
            "\"q\" \\ b",
            "\u{1b}[31m",
            "é ✓",
            "a\u{0}",
        ];
        let rows: Vec<Row> = (texts.iter())
            .map(|text| Row {
                values: (0..COLUMNS.len())
                    .map(|i| match i % 4 {
                        0 => Value::Str((*text).to_owned().into()),
                        1 => Value::Null,
                        2 => {
                            Value::Time(chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap())
                        }
                        _ => Value::Float(0.25),
                    })
                    .collect(),
                identity: (*text).into(),
            })
            .collect();
        let results = vec![result("root-usage", Severity::Critical, rows.clone())];
        let report = Report {
            results: &results,
            summary: &Summary::default(),
            mode: Mode::Audit,
            scope: &Scope::default(),
            dashboard: None,
        };
        let mut expected = String::new();
        for row in &rows {
            let fields: Map<String, Json> = (COLUMNS.iter())
                .map(|c| (*c).to_owned())
                .zip(row.values.iter().map(to_json))
                .collect();
            let line = json!({ "type": "row", "query": "root-usage", "severity": "critical",
                               "tactics": ["initial-access"], "techniques": ["T1078.004"], "row": fields });
            expected += &(serde_json::to_string(&line).unwrap() + "\n");
        }
        let mut written = Vec::new();
        print_lines(&report, &mut written).unwrap();
        let written = String::from_utf8(written).unwrap();
        let rows_written = written.rsplit_once("{\"type\":\"summary\"").unwrap().0;
        assert_eq!(rows_written, expected);
    }
}
