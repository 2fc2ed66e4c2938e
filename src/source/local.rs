//! Local files and folders, walked recursively in a stable order, read where they are decoded.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use super::layout::KeyLayout;
use super::metadata;
use super::object::{
    Filter, Found, ListError, Location, ReadError, Source, SourceObject, WithMetadata,
};

/// A file, or a folder of files, named on the command line.
pub struct Local {
    root: PathBuf,
}

impl Local {
    pub fn new(root: PathBuf) -> Local {
        Local { root }
    }
}

impl Source for Local {
    /// Every file below the root: pruning by the key layout is the listing's, not the walk's.
    fn list(&self, _filter: &Filter, found: &mut Found) {
        let mut walk = Walk {
            found,
            visited: HashSet::new(),
        };
        walk.path(&self.root);
    }

    fn read(&self, object: &SourceObject) -> Result<Vec<u8>, ReadError> {
        match &object.location {
            Location::Path(path) => fs::read(path).map_err(ReadError::Io),
            Location::Key { .. } => Err(ReadError::Foreign),
        }
    }

    /// The file, and the metadata kept beside it (`<file>.metadata.json`), if any.
    fn read_with_metadata(&self, object: &SourceObject) -> Result<WithMetadata, ReadError> {
        let bytes = self.read(object)?;
        match &object.location {
            Location::Path(path) => Ok((bytes, metadata::read(path)?)),
            Location::Key { .. } => Err(ReadError::Foreign),
        }
    }
}

/// A walk of a file or folder: every non-hidden file below it, in the listing's `found`.
/// Links are followed, to files and to folders; a folder already walked (by a link back
/// up, or twice by two links) is not walked again.
struct Walk<'f> {
    found: &'f mut Found,
    /// The folders walked, by their canonical path.
    visited: HashSet<PathBuf>,
}

impl Walk<'_> {
    /// Adds `path` (a file) or every non-hidden file below it (a folder); what cannot be
    /// listed is an error and the walk goes on.
    fn path(&mut self, path: &Path) {
        let shown = path.display().to_string();
        let metadata = match fs::metadata(path) {
            Ok(metadata) => metadata,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let dangling = fs::symlink_metadata(path).is_ok_and(|m| m.is_symlink());
                if dangling {
                    (self.found.warnings)
                        .push(format!("{shown}: a symbolic link to nothing: skipped"));
                } else {
                    self.found.errors.push(ListError::Missing(shown));
                }
                return;
            }
            Err(e) => {
                self.found.errors.push(ListError::Unreadable(shown, e));
                return;
            }
        };
        if metadata.is_file() {
            self.file(path);
            return;
        }
        if !metadata.is_dir() {
            (self.found.warnings).push(format!("{shown}: not a file or a folder: skipped"));
            return;
        }
        let canonical = fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
        if !self.visited.insert(canonical) {
            return;
        }
        let entries = match fs::read_dir(path) {
            Ok(entries) => entries,
            Err(e) => {
                self.found.errors.push(ListError::Unreadable(shown, e));
                return;
            }
        };
        for entry in entries {
            match entry {
                Ok(entry) if entry.file_name().to_string_lossy().starts_with('.') => {}
                Ok(entry) => self.path(&entry.path()),
                Err(e) => (self.found.errors).push(ListError::Unreadable(shown.clone(), e)),
            }
        }
    }

    fn file(&mut self, path: &Path) {
        let name = path.display().to_string();
        let layout = KeyLayout::parse(&name);
        if let Some(layout) = &layout {
            self.found.accounts.extend(layout.account.clone());
            self.found.regions.extend(layout.region.clone());
        }
        self.found.objects.push(SourceObject {
            layout,
            name,
            location: Location::Path(path.to_owned()),
            source: 0,
        });
    }
}
