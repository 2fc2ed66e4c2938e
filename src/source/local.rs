//! Local files and folders, walked recursively in a stable order, read where they are decoded.

use std::fs;
use std::path::{Path, PathBuf};

use super::layout::KeyLayout;
use super::object::{Filter, ListError, Location, ReadError, Source, SourceObject};

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
    fn list(&self, _filter: &Filter, found: &mut Vec<SourceObject>, errors: &mut Vec<ListError>) {
        walk(&self.root, found, errors);
    }

    fn read(&self, object: &SourceObject) -> Result<Vec<u8>, ReadError> {
        match &object.location {
            Location::Path(path) => fs::read(path).map_err(ReadError::Io),
            Location::Key { .. } => Err(ReadError::Foreign),
        }
    }
}

/// Adds `path` (a file) or every non-hidden file below it (a folder) to `found`; what
/// cannot be listed goes to `errors` and the walk goes on. Symbolic links to files are
/// followed; links to folders are not, so a loop cannot form.
fn walk(path: &Path, found: &mut Vec<SourceObject>, errors: &mut Vec<ListError>) {
    let shown = path.display().to_string();
    let metadata = match fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            errors.push(ListError::Missing(shown));
            return;
        }
        Err(e) => {
            errors.push(ListError::Unreadable(shown, e));
            return;
        }
    };
    if metadata.is_file() {
        found.push(object(path));
        return;
    }
    let entries = match fs::read_dir(path) {
        Ok(entries) => entries,
        Err(e) => {
            errors.push(ListError::Unreadable(shown, e));
            return;
        }
    };
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                errors.push(ListError::Unreadable(shown.clone(), e));
                continue;
            }
        };
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let child = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => walk(&child, found, errors),
            Ok(t) if t.is_file() || (t.is_symlink() && child.is_file()) => {
                found.push(object(&child))
            }
            Ok(_) => {}
            Err(e) => errors.push(ListError::Unreadable(child.display().to_string(), e)),
        }
    }
}

fn object(path: &Path) -> SourceObject {
    let name = path.display().to_string();
    SourceObject {
        layout: KeyLayout::parse(&name),
        name,
        location: Location::Path(path.to_owned()),
        source: 0,
    }
}
