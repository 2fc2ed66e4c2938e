//! Rule languages: files that compile into query plans, each language one module and one line below.

mod lint;
pub mod sigma;
pub mod sql;

use std::path::Path;

pub use lint::LintError;
#[cfg(test)]
pub use lint::RESERVED_NAMES;

use crate::meta::Origin;
use crate::query::Query;

/// A rule language: the file extensions it reads, and how it turns a file into a query.
pub struct Language {
    pub extensions: &'static [&'static str],
    pub parse: fn(Origin, &str) -> Result<Query, Vec<LintError>>,
}

/// The languages a query folder may hold, tried by file extension.
pub const LANGUAGES: &[Language] = &[
    Language {
        extensions: &["sql"],
        parse: sql::parse_file,
    },
    Language {
        extensions: sigma::EXTENSIONS,
        parse: sigma::parse_file,
    },
];

/// The language of a file, from its extension.
pub fn of(path: &Path) -> Option<&'static Language> {
    let extension = path.extension()?.to_str()?;
    LANGUAGES
        .iter()
        .find(|language| language.extensions.contains(&extension))
}
