//! Local files and folders, walked recursively in a stable order.

use std::fs;
use std::path::Path;

use super::{KeyLayout, ListError, Location, SourceObject};

/// Adds `path` (a file) or every non-hidden file below it (a folder) to `found`; what
/// cannot be listed goes to `errors` and the walk goes on. Symbolic links to files are
/// followed; links to folders are not, so a loop cannot form.
pub fn walk(path: &Path, found: &mut Vec<SourceObject>, errors: &mut Vec<ListError>) {
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
        location: Location::Local(path.to_owned()),
    }
}
