//! Why SQL does not compile: the construct, and where it stands in the text.

use std::fmt;

use sqlparser::ast::Spanned;

/// Why a query does not compile, with its position in the SQL text (1-based; 0 when unknown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    pub line: u64,
    pub column: u64,
    pub message: String,
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(
                f,
                "line {}, column {}: {}",
                self.line, self.column, self.message
            )
        } else {
            f.write_str(&self.message)
        }
    }
}

impl std::error::Error for CompileError {}

pub fn error_at(node: &impl Spanned, message: impl Into<String>) -> CompileError {
    let start = node.span().start;
    CompileError {
        line: start.line,
        column: start.column,
        message: message.into(),
    }
}

pub fn unsupported(node: &(impl Spanned + fmt::Display), what: &str) -> CompileError {
    let text = node.to_string();
    let shown = if text.len() > 60 {
        format!("{}…", &text[..text.floor_char_boundary(60)])
    } else {
        text
    };
    error_at(node, format!("{what} is not supported (in `{shown}`)"))
}
