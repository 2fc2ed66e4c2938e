//! An object's S3 user metadata kept beside a file copy of it, as `<file>.metadata.json`.
//!
//! CloudTrail signs a digest file in its metadata (`x-amz-meta-signature`), which a plain
//! copy of the bucket loses. The file holds what `aws s3api head-object` prints (a JSON
//! object whose `Metadata` member maps the names without `x-amz-meta-` to their values), so
//! an investigator can write one for a copy made without trailscan; a bare map is read too.

use std::io;
use std::path::{Path, PathBuf};

use super::object::{Metadata, ReadError};

/// What the name of a metadata file adds to the name of its object.
pub const SUFFIX: &str = ".metadata.json";

/// Whether `name` is a metadata file rather than an object.
pub fn is_sidecar(name: &str) -> bool {
    name.ends_with(SUFFIX)
}

/// Where the metadata of the file at `path` is kept.
pub fn sidecar(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(SUFFIX);
    PathBuf::from(name)
}

/// The metadata kept beside `path`, `None` when there is no such file.
pub fn read(path: &Path) -> Result<Option<Metadata>, ReadError> {
    let file = sidecar(path);
    let text = match std::fs::read(&file) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(ReadError::Metadata(file, e.to_string())),
    };
    parse(&text)
        .map(Some)
        .map_err(|reason| ReadError::Metadata(file, reason))
}

/// Writes `metadata` beside `path`, whole or not at all (a temporary file renamed).
pub fn write(path: &Path, metadata: &Metadata) -> io::Result<()> {
    let file = sidecar(path);
    let text = serde_json::to_vec_pretty(&serde_json::json!({ "Metadata": metadata }))
        .map_err(io::Error::other)?;
    let parent = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = parent.join(format!(".{name}.partial"));
    std::fs::write(&temporary, text)?;
    std::fs::rename(&temporary, &file)
}

/// Reads `head-object`'s output, or a bare map of names to values. Names are taken without
/// an `x-amz-meta-` prefix and in lower case, as S3 returns them.
fn parse(text: &[u8]) -> Result<Metadata, String> {
    let value: serde_json::Value =
        serde_json::from_slice(text).map_err(|e| format!("not JSON: {e}"))?;
    let map = match value.get("Metadata") {
        Some(inner) => inner,
        None => &value,
    };
    let map = map
        .as_object()
        .ok_or("not a JSON object of metadata names and values")?;
    let mut metadata = Metadata::new();
    for (name, value) in map {
        let value = value
            .as_str()
            .ok_or_else(|| format!("the value of '{name}' is not a string"))?;
        let name = name.to_ascii_lowercase();
        let name = name.strip_prefix("x-amz-meta-").unwrap_or(&name);
        metadata.insert(name.to_owned(), value.to_owned());
    }
    Ok(metadata)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_object_output_and_bare_maps_are_read() {
        let head = br#"{"AcceptRanges":"bytes","ContentLength":812,
            "Metadata":{"signature":"ab12","signature-algorithm":"SHA256withRSA"}}"#;
        let metadata = parse(head).unwrap();
        assert_eq!(metadata["signature"], "ab12");
        assert_eq!(metadata["signature-algorithm"], "SHA256withRSA");
        let bare = parse(br#"{"X-Amz-Meta-Signature":"cd34"}"#).unwrap();
        assert_eq!(bare["signature"], "cd34");
        for bad in [&b"[]"[..], b"{\"Metadata\":{\"signature\":1}}", b"not json"] {
            assert!(parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn what_is_written_is_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let object = dir.path().join("digest.json.gz");
        assert_eq!(read(&object).unwrap(), None);
        let metadata = Metadata::from([("signature".to_owned(), "00ff".to_owned())]);
        write(&object, &metadata).unwrap();
        assert!(is_sidecar(&sidecar(&object).to_string_lossy()));
        assert_eq!(read(&object).unwrap(), Some(metadata));
        std::fs::write(sidecar(&object), "{").unwrap();
        assert!(matches!(read(&object), Err(ReadError::Metadata(..))));
    }
}
