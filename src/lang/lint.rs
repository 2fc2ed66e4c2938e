//! Problems in query files, located for an editor, and the checks every language shares.

use std::fmt;
use std::path::Path;

use crate::meta::Origin;

/// Names a query may not take, because they are trailscan's own commands.
pub const RESERVED_NAMES: &[&str] = &[
    "audit",
    "query",
    "queries",
    "show",
    "help",
    "alert-test",
    "completions",
    "man",
    "suspicious-ips",
    "insights",
    "secrets-access",
    "trace",
    "summary",
    "timeline",
    "verify",
    "athena",
];

/// One problem in one query file, located for an editor: `file:line:column: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintError {
    pub origin: Origin,
    pub line: u64,
    pub column: u64,
    pub message: String,
}

impl LintError {
    pub fn at(origin: &Origin, line: u64, message: impl Into<String>) -> LintError {
        LintError {
            origin: origin.clone(),
            line,
            column: 0,
            message: message.into(),
        }
    }
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

/// What is wrong with `name`, given at `line` of a file from `origin`: its characters, a
/// command's name, or a name that differs from the file's.
pub fn name_problems(origin: &Origin, name: &str, line: u64) -> Vec<LintError> {
    let mut problems = Vec::new();
    if !name.is_empty()
        && !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        problems.push(LintError::at(
            origin,
            line,
            format!("name '{name}' may only hold a-z, 0-9 and '-'"),
        ));
    }
    if RESERVED_NAMES.contains(&name) {
        problems.push(LintError::at(
            origin,
            line,
            format!("name '{name}' is a trailscan command"),
        ));
    }
    let file = match origin {
        Origin::BuiltIn(file) => Some(Path::new(file)),
        Origin::File(path) => Some(path.as_path()),
        Origin::CommandLine => None,
    };
    if let Some(file) = file
        && let (Some(stem), Some(extension)) = (file.file_stem(), file.extension())
        && stem.to_string_lossy() != name
    {
        problems.push(LintError::at(
            origin,
            line,
            format!(
                "name '{name}' differs from the file name '{}.{}'",
                stem.to_string_lossy(),
                extension.to_string_lossy()
            ),
        ));
    }
    problems
}
