//! The query catalogue: built-in `.sql` files embedded at build time, plus a user folder.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use super::sql::{CompileError, Plan, compile};

include!(concat!(env!("OUT_DIR"), "/builtin_queries.rs"));

/// Names a query may not take, because they are trailscan's own commands.
pub const RESERVED_NAMES: &[&str] = &[
    "audit",
    "query",
    "queries",
    "show",
    "help",
    "alert-test",
    "suspicious-ips",
    "insights",
    "secrets-access",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|sev| sev.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown severity '{s}' (info, low, medium, high, critical)"))
    }
}

/// Where a query came from: shown in listings and in every error about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    BuiltIn(String),
    File(PathBuf),
    CommandLine,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::BuiltIn(file) => write!(f, "queries/{file} (built-in)"),
            Origin::File(path) => write!(f, "{}", path.display()),
            Origin::CommandLine => f.write_str("<command line>"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Query {
    pub name: String,
    pub title: String,
    pub severity: Severity,
    pub description: String,
    pub references: String,
    pub runbook: String,
    pub origin: Origin,
    /// The whole file, header included: what `trailscan show` prints and Athena runs.
    pub text: String,
    pub plan: Plan,
}

impl Query {
    /// A query an analysis runs for itself: its SQL is trailscan's own, so it compiles.
    pub fn internal(name: &str, sql: &str) -> Query {
        let plan = compile(sql).unwrap_or_else(|e| panic!("built-in analysis query {name}: {e}"));
        Query {
            name: name.to_owned(),
            title: name.to_owned(),
            severity: Severity::Info,
            description: String::new(),
            references: String::new(),
            runbook: String::new(),
            origin: Origin::BuiltIn(format!("{name} (analysis)")),
            text: sql.to_owned(),
            plan,
        }
    }

    /// The findings of an analysis, presented like a query's: metadata and columns.
    pub fn analysis(meta: AnalysisMeta, columns: &[&str]) -> Query {
        let projection: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
        let sql = format!("SELECT {} FROM cloudtrail_logs", projection.join(", "));
        Query {
            severity: meta.severity,
            title: meta.title.to_owned(),
            description: meta.description.to_owned(),
            references: meta.references.to_owned(),
            runbook: meta.runbook.to_owned(),
            ..Query::internal(meta.name, &sql)
        }
    }

    /// An ad-hoc query typed on the command line: its rows are results, not findings.
    pub fn ad_hoc(sql: &str) -> Result<Query, CompileError> {
        Ok(Query {
            name: "query".into(),
            title: "Ad-hoc query".into(),
            severity: Severity::Info,
            description: String::new(),
            references: String::new(),
            runbook: String::new(),
            origin: Origin::CommandLine,
            text: sql.to_owned(),
            plan: compile(sql)?,
        })
    }
}

/// What an analysis says about its findings.
#[derive(Debug, Clone, Copy)]
pub struct AnalysisMeta {
    pub name: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    pub description: &'static str,
    pub references: &'static str,
    pub runbook: &'static str,
}

/// One problem in one query file, located for an editor: `file:line:column: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintError {
    pub origin: Origin,
    pub line: u64,
    pub column: u64,
    pub message: String,
}

impl fmt::Display for LintError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let origin = match &self.origin {
            Origin::BuiltIn(file) => format!("queries/{file}"),
            other => other.to_string(),
        };
        match (self.line, self.column) {
            (0, _) => write!(f, "{origin}: {}", self.message),
            (line, 0) => write!(f, "{origin}:{line}: {}", self.message),
            (line, column) => write!(f, "{origin}:{line}:{column}: {}", self.message),
        }
    }
}

const HEADER_KEYS: &[&str] = &[
    "name",
    "title",
    "severity",
    "description",
    "references",
    "runbook",
];

/// Parses a query file: a header of `-- key: value` lines (a `--` line indented by two or
/// more spaces continues the previous value), then the SQL. Every problem is reported.
pub fn parse_query_file(origin: Origin, text: &str) -> Result<Query, Vec<LintError>> {
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
                errors.push(lint(
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
            errors.push(lint(
                &origin,
                1,
                format!("the header needs a '-- {required}: …' line"),
            ));
        }
    }
    let name = field("name").map(|(v, _)| v).unwrap_or_default();
    if let Some((value, line)) = field("name") {
        if !value.is_empty()
            && !value
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            errors.push(lint(
                &origin,
                line,
                format!("name '{value}' may only hold a-z, 0-9 and '-'"),
            ));
        }
        if RESERVED_NAMES.contains(&value.as_str()) {
            errors.push(lint(
                &origin,
                line,
                format!("name '{value}' is a trailscan command"),
            ));
        }
        let stem = match &origin {
            Origin::BuiltIn(file) => Path::new(file)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned()),
            Origin::File(path) => path.file_stem().map(|s| s.to_string_lossy().into_owned()),
            Origin::CommandLine => None,
        };
        if let Some(stem) = stem
            && stem != value
        {
            errors.push(lint(
                &origin,
                line,
                format!("name '{value}' differs from the file name '{stem}.sql'"),
            ));
        }
    }
    let severity = match field("severity") {
        Some((value, line)) if !value.is_empty() => match value.parse::<Severity>() {
            Ok(severity) => Some(severity),
            Err(message) => {
                errors.push(lint(&origin, line, message));
                None
            }
        },
        _ => None,
    };
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
            name,
            title: field("title").map(|(v, _)| v).unwrap_or_default(),
            severity,
            description: field("description").map(|(v, _)| v).unwrap_or_default(),
            references: field("references").map(|(v, _)| v).unwrap_or_default(),
            runbook: field("runbook").map(|(v, _)| v).unwrap_or_default(),
            origin,
            text: text.to_owned(),
            plan,
        }),
        _ => Err(errors),
    }
}

fn lint(origin: &Origin, line: u64, message: String) -> LintError {
    LintError {
        origin: origin.clone(),
        line,
        column: 0,
        message,
    }
}

/// Every query trailscan knows, sorted by name.
#[derive(Debug, Clone)]
pub struct Catalog {
    queries: Vec<Arc<Query>>,
}

impl Catalog {
    /// The built-in queries, replaced or extended by the `.sql` files in `user_dir`.
    pub fn load(user_dir: Option<&Path>) -> Result<Catalog, Vec<LintError>> {
        let mut errors = Vec::new();
        let mut queries = Vec::new();
        for (file, text) in BUILTIN_QUERIES {
            match parse_query_file(Origin::BuiltIn((*file).to_owned()), text) {
                Ok(query) => queries.push(query),
                Err(mut e) => errors.append(&mut e),
            }
        }
        if let Some(dir) = user_dir {
            for result in load_dir(dir)? {
                match result {
                    Ok(query) => {
                        queries.retain(|q: &Query| q.name != query.name);
                        queries.push(query);
                    }
                    Err(mut e) => errors.append(&mut e),
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        queries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Catalog {
            queries: queries.into_iter().map(Arc::new).collect(),
        })
    }

    pub fn all(&self) -> &[Arc<Query>] {
        &self.queries
    }

    pub fn get(&self, name: &str) -> Option<&Arc<Query>> {
        self.queries.iter().find(|q| q.name == name)
    }
}

/// Parses every `.sql` file in `dir` (sorted), each to a query or its problems.
pub fn load_dir(dir: &Path) -> Result<Vec<Result<Query, Vec<LintError>>>, Vec<LintError>> {
    let unreadable = |message: String| {
        vec![LintError {
            origin: Origin::File(dir.to_owned()),
            line: 0,
            column: 0,
            message,
        }]
    };
    let entries =
        fs::read_dir(dir).map_err(|e| unreadable(format!("cannot read the query folder: {e}")))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "sql"))
        .collect();
    paths.sort();
    Ok(paths
        .into_iter()
        .map(|path| match fs::read_to_string(&path) {
            Ok(text) => parse_query_file(Origin::File(path), &text),
            Err(e) => Err(vec![LintError {
                origin: Origin::File(path),
                line: 0,
                column: 0,
                message: format!("cannot read: {e}"),
            }]),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_query_compiles_with_full_metadata() {
        let catalog = Catalog::load(None).unwrap_or_else(|errors| {
            panic!(
                "{}",
                errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        });
        assert!(catalog.all().len() >= 18);
        for query in catalog.all() {
            for (key, value) in [
                ("description", &query.description),
                ("references", &query.references),
                ("runbook", &query.runbook),
            ] {
                assert!(!value.is_empty(), "{} has no {key}", query.name);
            }
        }
    }

    #[test]
    fn header_problems_are_all_reported_with_lines() {
        let text = "-- name: Bad_Name\n-- severity: urgent\n-- name: again\nSELECT x FROM cloudtrail_logs WHERE CAST(x AS int) = 1\n";
        let errors = parse_query_file(Origin::File("q/bad.sql".into()), text).unwrap_err();
        let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert!(
            shown
                .iter()
                .any(|e| e.starts_with("q/bad.sql:3: header key 'name' is given twice")),
            "{shown:?}"
        );
        assert!(
            shown.iter().any(|e| e.contains("needs a '-- title")),
            "{shown:?}"
        );
        assert!(
            shown
                .iter()
                .any(|e| e.starts_with("q/bad.sql:1:") && e.contains("may only hold")),
            "{shown:?}"
        );
        assert!(
            shown
                .iter()
                .any(|e| e.starts_with("q/bad.sql:2:") && e.contains("unknown severity")),
            "{shown:?}"
        );
        assert!(
            shown
                .iter()
                .any(|e| e.starts_with("q/bad.sql:4:") && e.contains("CAST")),
            "{shown:?}"
        );
    }

    #[test]
    fn continuation_lines_extend_a_value() {
        let text = "-- name: x\n-- title: T\n-- severity: low\n-- runbook: first\n--   second\n-- just a note\nSELECT 1 FROM cloudtrail_logs\n";
        let query = parse_query_file(Origin::CommandLine, text).unwrap();
        assert_eq!(query.runbook, "first second");
        assert_eq!(query.severity, Severity::Low);
    }
}
