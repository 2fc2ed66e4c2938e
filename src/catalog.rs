//! The query catalogue: built-in query files embedded at build time, plus the user's folders of queries and rules.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::lang::{self, LintError};
use crate::meta::Origin;
use crate::query::Query;

include!(concat!(env!("OUT_DIR"), "/builtin_queries.rs"));

/// Every query trailscan knows, sorted by name.
#[derive(Debug, Clone)]
pub struct Catalog {
    queries: Vec<Arc<Query>>,
    /// The problems of the rule files that did not load (the others did).
    pub rejected: Vec<LintError>,
    /// Rule files left out because they are for another log source.
    pub skipped: Vec<LintError>,
}

impl Catalog {
    /// The built-in queries, replaced or extended by the query files in `user_dir`.
    pub fn load(user_dir: Option<&Path>) -> Result<Catalog, Vec<LintError>> {
        Catalog::load_with_rules(user_dir, &[])
    }

    /// The built-in queries, replaced or extended by the query files in `user_dir`, then
    /// by the rules in `rules_dirs`. A query that does not compile stops the load; a rule
    /// does not: it is `rejected` (third-party rules are taken as they come, and one that
    /// trailscan cannot run must not stop the others), or `skipped` for another log source.
    pub fn load_with_rules(
        user_dir: Option<&Path>,
        rules_dirs: &[PathBuf],
    ) -> Result<Catalog, Vec<LintError>> {
        let mut errors = Vec::new();
        let mut queries = Vec::new();
        for result in builtin() {
            match result {
                Ok(query) => queries.push(query),
                Err(mut e) => errors.append(&mut e),
            }
        }
        if let Some(dir) = user_dir {
            for result in load_dir(dir)? {
                match result {
                    Ok(query) => {
                        queries.retain(|q: &Query| q.name() != query.name());
                        queries.push(query);
                    }
                    Err(mut e) => errors.append(&mut e),
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let (mut rejected, mut skipped) = (Vec::new(), Vec::new());
        for dir in rules_dirs {
            for result in load_dir(dir)? {
                match result {
                    Ok(query) => {
                        queries.retain(|q: &Query| q.name() != query.name());
                        queries.push(query);
                    }
                    Err(problems) if problems.iter().all(lang::sigma::is_skipped) => {
                        skipped.extend(problems)
                    }
                    Err(problems) => rejected.extend(problems),
                }
            }
        }
        queries.sort_by(|a, b| a.name().cmp(b.name()));
        Ok(Catalog {
            queries: queries.into_iter().map(Arc::new).collect(),
            rejected,
            skipped,
        })
    }

    pub fn all(&self) -> &[Arc<Query>] {
        &self.queries
    }

    pub fn get(&self, name: &str) -> Option<&Arc<Query>> {
        self.queries.iter().find(|q| q.name() == name)
    }

    /// The query called `name`, or the rule whose id it is.
    pub fn find(&self, name_or_id: &str) -> Option<&Arc<Query>> {
        self.get(name_or_id).or_else(|| {
            (self.queries.iter()).find(|q| {
                (q.meta.details.iter()).any(|(label, value)| label == "id" && value == name_or_id)
            })
        })
    }
}

/// Each built-in query file, parsed.
pub fn builtin() -> impl Iterator<Item = Result<Query, Vec<LintError>>> {
    BUILTIN_QUERIES.iter().map(|(file, text)| {
        let origin = Origin::BuiltIn((*file).to_owned());
        match lang::of(Path::new(file)) {
            Some(language) => (language.parse)(origin, text),
            None => Err(vec![LintError::at(&origin, 0, "not a query file")]),
        }
    })
}

/// Parses every query file in `dir` (sorted), each to a query or its problems.
pub fn load_dir(dir: &Path) -> Result<Vec<Result<Query, Vec<LintError>>>, Vec<LintError>> {
    let unreadable =
        |message: String| vec![LintError::at(&Origin::File(dir.to_owned()), 0, message)];
    let entries =
        fs::read_dir(dir).map_err(|e| unreadable(format!("cannot read the query folder: {e}")))?;
    let mut files: Vec<(PathBuf, &lang::Language)> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter_map(|path| lang::of(&path).map(|language| (path, language)))
        .collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(files
        .into_iter()
        .map(|(path, language)| match fs::read_to_string(&path) {
            Ok(text) => (language.parse)(Origin::File(path), &text),
            Err(e) => Err(vec![LintError::at(
                &Origin::File(path),
                0,
                format!("cannot read: {e}"),
            )]),
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
                ("description", &query.meta.description),
                ("references", &query.meta.references),
                ("runbook", &query.meta.runbook),
            ] {
                assert!(!value.is_empty(), "{} has no {key}", query.name());
            }
        }
    }
}
