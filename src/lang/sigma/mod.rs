//! Sigma rules (YAML) for AWS CloudTrail, and their correlations, compiled into the same plans as SQL queries.
//!
//! A file holds one rule, or one correlation and the rules it names (YAML documents
//! separated by `---`). Its detection becomes one `Cond` (`detection`), from which both the
//! plan (`compile`, `correlation`) and the Athena SQL of `show --sql` (`to_sql`) are made,
//! so the two say the same. A rule for another log source is skipped, not refused.

mod compile;
mod condition;
mod correlation;
mod detection;
#[cfg(test)]
mod tests;
mod to_sql;
mod yaml;

use std::sync::Arc;

use super::lint::{LintError, RESERVED_NAMES};
use crate::meta::{Meta, Origin, Severity, attack};
use crate::query::Query;
use crate::query::plan::CmpOp;
use correlation::{BOUNDS, Correlation};
use detection::Cond;
use yaml::{Kind, Node};

/// The file extensions of Sigma rules.
pub const EXTENSIONS: &[&str] = &["yml", "yaml"];

/// How a skipped rule's message starts (see `is_skipped`).
const SKIPPED: &str = "skipped: ";

/// Whether `error` says that a rule was skipped (a log source other than AWS CloudTrail)
/// rather than refused.
pub fn is_skipped(error: &LintError) -> bool {
    error.message.starts_with(SKIPPED)
}

/// Parses a Sigma file into a query: a rule's findings are its matching events, a
/// correlation's are its groups. Every problem is reported, each at its line.
pub fn parse_file(origin: Origin, text: &str) -> Result<Query, Vec<LintError>> {
    let at = |line: u64, message: String| LintError::at(&origin, line, message);
    let (meta, body) = read(&origin, text).map_err(|problems| {
        problems
            .into_iter()
            .map(|(line, message)| at(line, message))
            .collect::<Vec<_>>()
    })?;
    let plan = match &body {
        Body::Rule { cond, fields } => compile::plan(cond, fields),
        Body::Correlation(correlation) => correlation.plan(),
    }
    .map_err(|message| vec![at(0, message)])?;
    Ok(Query {
        meta: Arc::new(meta),
        plan,
        origin,
        text: text.to_owned(),
    })
}

/// The Athena SQL of a Sigma file (`trailscan show --sql`).
pub fn athena_sql(text: &str) -> Result<String, String> {
    let (_, body) = read(&Origin::CommandLine, text).map_err(|problems| {
        let lines: Vec<String> = (problems.into_iter())
            .map(|(line, message)| format!("line {line}: {message}"))
            .collect();
        lines.join("\n")
    })?;
    match &body {
        Body::Rule { cond, fields } => to_sql::select(cond, fields),
        Body::Correlation(correlation) => correlation.sql(),
    }
}

/// What a file compiles from: one rule, or a correlation of rules.
enum Body {
    Rule { cond: Cond, fields: Vec<String> },
    Correlation(Correlation),
}

type Problems = Vec<(u64, String)>;

fn read(origin: &Origin, text: &str) -> Result<(Meta, Body), Problems> {
    let documents = yaml::documents(text).map_err(|e| vec![(e.line, e.message)])?;
    let documents: Vec<&Node> = documents.iter().filter(|d| d.kind != Kind::Null).collect();
    let correlations: Vec<&&Node> = (documents.iter())
        .filter(|d| d.get("correlation").is_some())
        .collect();
    match (documents.as_slice(), correlations.as_slice()) {
        ([], _) => Err(vec![(1, "the file holds no Sigma rule".to_owned())]),
        ([rule], []) => match rule_document(origin, rule, true)? {
            (Some(meta), cond, fields) => Ok((meta, Body::Rule { cond, fields })),
            (None, _, _) => Err(vec![(rule.line, "the rule's metadata does not read".to_owned())]),
        },
        (_, []) => Err(vec![(
            documents[1].line,
            "a file holds one rule, or one correlation and the rules it names: put this rule in a file of its own".to_owned(),
        )]),
        (_, [correlation]) => {
            let rules: Vec<&Node> = (documents.iter())
                .filter(|d| d.get("correlation").is_none())
                .copied()
                .collect();
            correlation_document(origin, correlation, &rules)
        }
        (_, [_, second, ..]) => Err(vec![(
            second.line,
            "a file holds one correlation: put this one in a file of its own".to_owned(),
        )]),
    }
}

/// A detection rule: its metadata, condition and `fields`. `alone`: the file's only rule,
/// skipped (not refused) when its log source is another; otherwise a rule a correlation
/// names, whose metadata the correlation gives (as Sigma says), so it has none.
fn rule_document(
    origin: &Origin,
    doc: &Node,
    alone: bool,
) -> Result<(Option<Meta>, Cond, Vec<String>), Problems> {
    let mut problems = Vec::new();
    if let Some(skip) = other_log_source(doc) {
        if alone {
            return Err(vec![skip]);
        }
        problems.push((skip.0, skip.1.trim_start_matches(SKIPPED).to_owned()));
    }
    let meta = if alone {
        metadata(origin, doc, &mut problems)
    } else {
        None
    };
    let fields = field_list(doc, &mut problems);
    let cond = match doc.get("detection") {
        Some(detection) => match detection::detection(detection) {
            Ok(cond) => Some(cond),
            Err(mut more) => {
                problems.append(&mut more);
                None
            }
        },
        None => {
            problems.push((doc.line, "the rule needs a detection".to_owned()));
            None
        }
    };
    match cond {
        Some(cond) if problems.is_empty() => Ok((meta, cond, fields)),
        _ => Err(problems),
    }
}

/// The reason to skip a rule whose `logsource` is not AWS CloudTrail.
fn other_log_source(doc: &Node) -> Option<(u64, String)> {
    let Some(source) = doc.get("logsource") else {
        return Some((
            doc.line,
            format!("{SKIPPED}no logsource (trailscan takes product: aws, service: cloudtrail)"),
        ));
    };
    let value = |key: &str| source.get(key).and_then(Node::text).map(str::to_lowercase);
    let (product, service) = (value("product"), value("service"));
    if product.as_deref() == Some("aws") && service.as_deref() == Some("cloudtrail") {
        return None;
    }
    let shown: Vec<String> = ["product", "service", "category"]
        .iter()
        .filter_map(|k| value(k).map(|v| format!("{k}: {v}")))
        .collect();
    Some((
        source.line,
        format!(
            "{SKIPPED}logsource is {}, not product: aws, service: cloudtrail",
            if shown.is_empty() {
                "empty".to_owned()
            } else {
                shown.join(", ")
            }
        ),
    ))
}

/// One text field of the rule.
fn text_of(doc: &Node, key: &str, problems: &mut Problems) -> Option<String> {
    let node = doc.get(key)?;
    match &node.kind {
        Kind::Text(text) => Some(one_line(text)),
        Kind::Null => None,
        _ => {
            problems.push((
                node.line,
                format!("{key} must be text, not {}", node.what()),
            ));
            None
        }
    }
}

/// A list field of the rule (a single text is a list of one).
fn list_of(doc: &Node, key: &str, problems: &mut Problems) -> Vec<String> {
    let Some(node) = doc.get(key) else {
        return Vec::new();
    };
    match &node.kind {
        Kind::Text(text) => vec![one_line(text)],
        Kind::Null => Vec::new(),
        Kind::List(items) => (items.iter())
            .filter_map(|item| match &item.kind {
                Kind::Text(text) => Some(one_line(text)),
                _ => {
                    problems.push((item.line, format!("the items of {key} must be text")));
                    None
                }
            })
            .collect(),
        Kind::Map(_) => {
            problems.push((node.line, format!("{key} must be a list, not a map")));
            Vec::new()
        }
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `fields`: CloudTrail paths shown beside the standard columns.
fn field_list(doc: &Node, problems: &mut Problems) -> Vec<String> {
    let fields = list_of(doc, "fields", problems);
    let line = doc.get("fields").map_or(0, |n| n.line);
    for field in &fields {
        if let Err(message) = detection::check_path(field) {
            problems.push((line, format!("fields: {message}")));
        }
    }
    fields
}

/// The rule's metadata, from the document that speaks for the file.
fn metadata(origin: &Origin, doc: &Node, problems: &mut Problems) -> Option<Meta> {
    let title = text_of(doc, "title", problems);
    if title.is_none() {
        problems.push((doc.line, "the rule needs a title".to_owned()));
    }
    let severity = match doc.get("level") {
        None => {
            problems.push((
                doc.line,
                "the rule needs a level (informational, low, medium, high, critical): it is the findings' severity".to_owned(),
            ));
            None
        }
        Some(node) => {
            let text = node.text().map(str::to_lowercase).unwrap_or_default();
            let level = if text == "informational" {
                "info"
            } else {
                &text
            };
            let severity = level.parse::<Severity>().ok();
            if severity.is_none() {
                problems.push((
                    node.line,
                    format!("level '{text}' is not informational, low, medium, high or critical"),
                ));
            }
            severity
        }
    };
    let id = text_of(doc, "id", problems);
    let tags = list_of(doc, "tags", problems);
    let (tactics, techniques) = attack_of(&tags);
    let name = name_of(origin, title.as_deref().unwrap_or_default());
    if RESERVED_NAMES.contains(&name.as_str()) {
        problems.push((
            doc.line,
            format!("the rule's name '{name}' (from its file name) is a trailscan command: rename the file"),
        ));
    }
    let mut details = Vec::new();
    let mut detail = |label: &str, value: Option<String>| {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            details.push((label.to_owned(), value));
        }
    };
    detail("id", id);
    detail("status", text_of(doc, "status", problems));
    detail("author", text_of(doc, "author", problems));
    detail("date", text_of(doc, "date", problems));
    detail("modified", text_of(doc, "modified", problems));
    detail("tags", Some(tags.join(", ")));
    detail(
        "false alarms",
        Some(list_of(doc, "falsepositives", problems).join("; ")),
    );
    detail("license", text_of(doc, "license", problems));
    Some(Meta {
        name,
        title: title?,
        severity: severity?,
        description: text_of(doc, "description", problems).unwrap_or_default(),
        references: list_of(doc, "references", problems).join(" "),
        runbook: String::new(),
        tactics,
        techniques,
        details,
    })
}

/// The query name of a rule: its file name, lowercase, with `-` for anything but a-z and
/// 0-9 (`aws_root_account_usage.yml` is `aws-root-account-usage`).
fn name_of(origin: &Origin, title: &str) -> String {
    let stem = match origin {
        Origin::File(path) => path.file_stem().map(|s| s.to_string_lossy().into_owned()),
        Origin::BuiltIn(file) => std::path::Path::new(file)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned()),
        Origin::CommandLine => None,
    };
    let source = stem.unwrap_or_else(|| title.to_owned()).to_lowercase();
    let mut name = String::new();
    for c in source.chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            name.push(c);
        } else if !name.is_empty() && !name.ends_with('-') {
            name.push('-');
        }
    }
    name.trim_end_matches('-').to_owned()
}

/// ATT&CK tactics (in the matrix's order) and technique ids from `attack.*` tags; other
/// tags stay tags.
fn attack_of(tags: &[String]) -> (Vec<String>, Vec<String>) {
    let mut tactics = Vec::new();
    let mut techniques = Vec::new();
    for tag in tags {
        let Some(rest) = tag
            .to_lowercase()
            .strip_prefix("attack.")
            .map(str::to_owned)
        else {
            continue;
        };
        let technique = rest.to_uppercase();
        if attack::is_technique_id(&technique) {
            if !techniques.contains(&technique) {
                techniques.push(technique);
            }
            continue;
        }
        let tactic = rest.replace('_', "-");
        if attack::tactic(&tactic).is_some() && !tactics.contains(&tactic) {
            tactics.push(tactic);
        }
    }
    let position = |t: &String| attack::TACTICS.iter().position(|(s, _, _)| s == t);
    tactics.sort_by_key(position);
    (tactics, techniques)
}

/// A correlation and the rules of the file it names (by `name` or `id`).
fn correlation_document(
    origin: &Origin,
    doc: &Node,
    rules: &[&Node],
) -> Result<(Meta, Body), Problems> {
    let mut problems = Vec::new();
    let meta = metadata(origin, doc, &mut problems);
    let section = doc.get("correlation").expect("a correlation document");
    let line = section.line;
    let get = |key: &str| section.get(key);
    let kind = match get("type").and_then(Node::text) {
        Some("event_count") => Some(correlation::Kind::EventCount),
        Some("value_count") => Some(correlation::Kind::ValueCount),
        Some("temporal") => Some(correlation::Kind::Temporal),
        Some("temporal_ordered") => {
            problems.push((
                get("type").map_or(line, |n| n.line),
                "correlation type temporal_ordered is not supported: the order of events within a window is not kept (use temporal)".to_owned(),
            ));
            None
        }
        other => {
            problems.push((
                get("type").map_or(line, |n| n.line),
                format!(
                    "correlation type {} is not event_count, value_count or temporal",
                    other.map_or_else(|| "(none)".to_owned(), |t| format!("'{t}'"))
                ),
            ));
            None
        }
    };
    for (key, why) in [
        (
            "aliases",
            "aliases are not supported: the rules of a correlation share their group-by fields",
        ),
        (
            "generate",
            "generate is not supported: trailscan runs the correlation only; give a rule a file of its own to run it alone",
        ),
    ] {
        if let Some(node) = get(key)
            && !(key == "generate" && node.text() == Some("false"))
        {
            problems.push((node.line, why.to_owned()));
        }
    }
    // The rules it names, in its order, each found in the file by name or id.
    let mut conds = Vec::new();
    let names = list_of(section, "rules", &mut problems);
    if names.is_empty() {
        problems.push((
            line,
            "the correlation needs rules: the names or ids of the rules it counts".to_owned(),
        ));
    }
    for name in &names {
        let found = rules.iter().find(|rule| {
            [rule.get("name"), rule.get("id")]
                .into_iter()
                .flatten()
                .any(|n| n.text() == Some(name.as_str()))
        });
        match found {
            Some(rule) => match rule_document(origin, rule, false) {
                Ok((_, cond, _)) => conds.push(cond),
                Err(mut more) => problems.append(&mut more),
            },
            None => problems.push((
                get("rules").map_or(line, |n| n.line),
                format!("the correlation names rule '{name}', which is not in this file: put the rules it names in the same file, separated by ---"),
            )),
        }
    }
    let group_by = list_of(section, "group-by", &mut problems);
    for field in &group_by {
        if let Err(message) = detection::check_path(field) {
            problems.push((
                get("group-by").map_or(line, |n| n.line),
                format!("group-by: {message}"),
            ));
        }
    }
    let timespan = match get("timespan") {
        Some(node) => match node.text().and_then(correlation::timespan) {
            Some(seconds) => Some(seconds),
            None => {
                problems.push((
                    node.line,
                    "timespan is a number and s, m, h or d (5m, 1h, 1d), up to a year".to_owned(),
                ));
                None
            }
        },
        None => {
            problems.push((
                line,
                "the correlation needs a timespan (5m, 1h, …)".to_owned(),
            ));
            None
        }
    };
    let (bounds, field) = bounds(section, kind, &mut problems);
    match (meta, kind, timespan) {
        (Some(meta), Some(kind), Some(timespan_seconds)) if problems.is_empty() => Ok((
            meta,
            Body::Correlation(Correlation {
                kind,
                rules: conds,
                group_by,
                timespan_seconds,
                field,
                bounds,
            }),
        )),
        _ => Err(problems),
    }
}

/// The correlation's `condition`: its bounds, and `value_count`'s field.
fn bounds(
    section: &Node,
    kind: Option<correlation::Kind>,
    problems: &mut Problems,
) -> (Vec<(CmpOp, i64)>, Option<String>) {
    let mut bounds = Vec::new();
    let mut field = None;
    let Some(node) = section.get("condition") else {
        if kind != Some(correlation::Kind::Temporal) {
            problems.push((
                section.line,
                "the correlation needs a condition such as gte: 5".to_owned(),
            ));
        }
        return (bounds, field);
    };
    let Kind::Map(entries) = &node.kind else {
        problems.push((
            node.line,
            "the correlation's condition is a map such as gte: 5".to_owned(),
        ));
        return (bounds, field);
    };
    for (key, line, value) in entries {
        if key == "field" {
            match value.text() {
                Some(text) => match detection::check_path(text) {
                    Ok(()) => field = Some(text.to_owned()),
                    Err(message) => problems.push((*line, format!("field: {message}"))),
                },
                None => problems.push((*line, "field must name one field".to_owned())),
            }
            continue;
        }
        let Some((_, op, _)) = BOUNDS.iter().find(|(name, _, _)| name == key) else {
            problems.push((
                *line,
                format!("'{key}' is not gt, gte, lt, lte, eq or field"),
            ));
            continue;
        };
        match value.text().and_then(|t| t.parse::<i64>().ok()) {
            Some(n) if n >= 0 => bounds.push((*op, n)),
            _ => problems.push((*line, format!("{key} takes a whole number"))),
        }
    }
    if bounds.is_empty() && kind != Some(correlation::Kind::Temporal) {
        problems.push((
            node.line,
            "the condition needs a bound: gt, gte, lt, lte or eq".to_owned(),
        ));
    }
    match (kind, &field) {
        (Some(correlation::Kind::ValueCount), None) => problems.push((
            node.line,
            "a value_count correlation names the field whose values it counts: condition: field: …"
                .to_owned(),
        )),
        (Some(k), Some(_)) if k != correlation::Kind::ValueCount => problems.push((
            node.line,
            "only a value_count correlation takes a field".to_owned(),
        )),
        _ => {}
    }
    (bounds, field)
}
