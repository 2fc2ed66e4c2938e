//! The configuration file: found, read as the same `Settings` the flags fill, with lines for errors.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::cli::Settings;

/// A loaded configuration file; every error about it names the file and line.
#[derive(Debug)]
pub struct FileConfig {
    pub path: PathBuf,
    text: String,
    pub settings: Settings,
    /// The settings the file names, as it names them (an empty list is a value too).
    named: BTreeSet<String>,
}

impl FileConfig {
    /// Finds the file to use: `--config`, `$TRAILSCAN_CONFIG`, `./trailscan.toml`, then the
    /// user's config folder. An explicitly named file must exist; the others are optional.
    pub fn locate(explicit: Option<&Path>) -> anyhow::Result<Option<FileConfig>> {
        if let Some(path) = explicit {
            return FileConfig::load(path).map(Some);
        }
        if let Some(path) = std::env::var_os("TRAILSCAN_CONFIG").filter(|p| !p.is_empty()) {
            return FileConfig::load(Path::new(&path))
                .map(Some)
                .context("from $TRAILSCAN_CONFIG");
        }
        let user_dir = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".config")));
        let candidates = [
            Some(PathBuf::from("trailscan.toml")),
            user_dir.map(|d| d.join("trailscan/config.toml")),
        ];
        for path in candidates.into_iter().flatten() {
            if path.is_file() {
                return FileConfig::load(&path).map(Some);
            }
        }
        Ok(None)
    }

    pub fn load(path: &Path) -> anyhow::Result<FileConfig> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the configuration {}", path.display()))?;
        let error = |e: toml::de::Error| {
            let line = e.span().map_or(0, |span| line_of(&text, span.start));
            anyhow::anyhow!("{}:{line}: {}", path.display(), e.message().trim())
        };
        let mut settings: Settings = toml::from_str(&text).map_err(error)?;
        let named = (toml::from_str::<toml::Table>(&text).map_err(error)?)
            .keys()
            .cloned()
            .collect();
        // Paths in the file are relative to the file, so cron's working folder does not matter.
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        if let Some(dir) = dir {
            for path in [
                &mut settings.queries_dir,
                &mut settings.cache_dir,
                &mut settings.state,
                &mut settings.output,
            ]
            .into_iter()
            .flatten()
            .chain(settings.rules_dir.iter_mut())
            {
                if path.is_relative() {
                    *path = dir.join(&*path);
                }
            }
        }
        Ok(FileConfig {
            path: path.to_owned(),
            text,
            settings,
            named,
        })
    }

    /// Whether the file names the setting `key`.
    pub fn names(&self, key: &str) -> bool {
        self.named.contains(key)
    }

    /// `path:line` of the setting `key` (a top-level key, or a `[table.name]`), for errors.
    pub fn locate_key(&self, key: &str) -> String {
        let table = format!("[{key}]");
        let line = self.text.lines().position(|line| {
            let line = line.trim_start();
            line.starts_with(&table)
                || line
                    .strip_prefix(key)
                    .is_some_and(|rest| rest.trim_start().starts_with('='))
        });
        format!("{}:{}", self.path.display(), line.map_or(0, |l| l + 1))
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}
