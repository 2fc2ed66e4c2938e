//! Athena SQL query files: a header of `-- key: value` lines, then one SELECT over `cloudtrail_logs`.

mod athena;
mod compile;
mod error;
mod expr;
#[cfg(test)]
mod semantics;
pub mod table;

use std::sync::Arc;

pub use compile::{STAR_COLUMNS, compile};
pub use error::CompileError;

use super::lint::{LintError, name_problems};
use crate::meta::{Meta, Origin, Severity, attack};
use crate::query::Query;

/// `text` as an SQL string literal: in single quotes, each quote in it doubled.
pub fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

const HEADER_KEYS: &[&str] = &[
    "name",
    "title",
    "severity",
    "description",
    "references",
    "runbook",
    "tactics",
    "techniques",
];

/// Parses a query file: a header of `-- key: value` lines (a `--` line indented by two or
/// more spaces continues the previous value), then the SQL. Every problem is reported.
pub fn parse_file(origin: Origin, text: &str) -> Result<Query, Vec<LintError>> {
    let mut errors = Vec::new();
    let mut fields: Vec<(&str, String, u64)> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line_no = index as u64 + 1;
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        let Some(comment) = trimmed.strip_prefix("--") else {
            break;
        };
        if let Some((key, value)) = comment.split_once(':')
            && let Some(known) = HEADER_KEYS
                .iter()
                .find(|k| k.eq_ignore_ascii_case(key.trim()))
            && !comment.starts_with("  ")
        {
            if fields.iter().any(|(k, _, _)| k == known) {
                errors.push(LintError::at(
                    &origin,
                    line_no,
                    format!("header key '{known}' is given twice"),
                ));
            }
            fields.push((known, value.trim().to_owned(), line_no));
        } else if comment.starts_with("  ")
            && let Some((_, value, _)) = fields.last_mut()
        {
            value.push(' ');
            value.push_str(comment.trim());
        }
    }
    let field = |key: &str| {
        fields
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, v, line)| (v.clone(), *line))
    };

    for required in ["name", "title", "severity"] {
        if field(required).is_none_or(|(v, _)| v.is_empty()) {
            errors.push(LintError::at(
                &origin,
                1,
                format!("the header needs a '-- {required}: …' line"),
            ));
        }
    }
    let name = field("name").map(|(v, _)| v).unwrap_or_default();
    if let Some((value, line)) = field("name") {
        errors.extend(name_problems(&origin, &value, line));
    }
    let severity = match field("severity") {
        Some((value, line)) if !value.is_empty() => match value.parse::<Severity>() {
            Ok(severity) => Some(severity),
            Err(message) => {
                errors.push(LintError::at(&origin, line, message));
                None
            }
        },
        _ => None,
    };
    let list = |key: &str| -> (Vec<String>, u64) {
        field(key).map_or((Vec::new(), 0), |(value, line)| {
            let items = value.split(',').map(str::trim).filter(|i| !i.is_empty());
            (items.map(str::to_owned).collect(), line)
        })
    };
    let (tactics, line) = list("tactics");
    for tactic in &tactics {
        if attack::tactic(tactic).is_none() {
            errors.push(LintError::at(
                &origin,
                line,
                format!("'{tactic}' is not an ATT&CK tactic (initial-access, execution, persistence, privilege-escalation, defense-evasion, credential-access, discovery, lateral-movement, collection, exfiltration, impact, …)"),
            ));
        }
    }
    let tactics: Vec<String> = tactics.iter().map(|t| t.to_ascii_lowercase()).collect();
    let (techniques, line) = list("techniques");
    for technique in &techniques {
        if !attack::is_technique_id(technique) {
            errors.push(LintError::at(
                &origin,
                line,
                format!("'{technique}' is not an ATT&CK technique id such as T1078 or T1562.008"),
            ));
        }
    }
    let plan = match compile(text) {
        Ok(plan) => Some(plan),
        Err(e) => {
            errors.push(LintError {
                origin: origin.clone(),
                line: e.line,
                column: e.column,
                message: e.message,
            });
            None
        }
    };
    match (plan, severity) {
        (Some(plan), Some(severity)) if errors.is_empty() => Ok(Query {
            meta: Arc::new(Meta {
                name,
                title: field("title").map(|(v, _)| v).unwrap_or_default(),
                severity,
                description: field("description").map(|(v, _)| v).unwrap_or_default(),
                references: field("references").map(|(v, _)| v).unwrap_or_default(),
                runbook: field("runbook").map(|(v, _)| v).unwrap_or_default(),
                tactics,
                techniques,
                details: Vec::new(),
            }),
            origin,
            text: text.to_owned(),
            plan,
        }),
        _ => Err(errors),
    }
}

/// What Athena would refuse in a query file that trailscan takes (a field read out of a
/// STRING column with a dot, `readOnly = false`, …), each at its line and column with the
/// spelling that both accept. Nothing when the file does not compile: its errors say more.
pub fn athena_problems(origin: &Origin, text: &str) -> Vec<LintError> {
    let Ok((_, problems)) = compile::compile_checked(text) else {
        return Vec::new();
    };
    (problems.into_iter())
        .map(|problem| LintError {
            origin: origin.clone(),
            line: problem.line,
            column: problem.column,
            message: problem.message,
        })
        .collect()
}

/// An ad-hoc query typed on the command line: its rows are results, not findings.
pub fn ad_hoc(sql: &str) -> Result<Query, CompileError> {
    Ok(Query {
        meta: Arc::new(Meta::plain("query", "Ad-hoc query")),
        plan: compile(sql)?,
        origin: Origin::CommandLine,
        text: sql.to_owned(),
    })
}

/// A query an analysis runs for itself, known by `name` among its inputs. Its SQL is
/// trailscan's own and compiles: a failure is a bug, and says so.
pub fn internal(name: &str, sql: &str) -> Query {
    let plan = compile(sql).unwrap_or_else(|e| panic!("built-in analysis query {name}: {e}"));
    Query {
        meta: Arc::new(Meta::plain(name, name)),
        plan,
        origin: Origin::BuiltIn(format!("{name} (analysis)")),
        text: sql.to_owned(),
    }
}
