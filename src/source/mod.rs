//! Where bytes come from: sources named on the command line, listed and pruned to objects.

pub mod layout;
pub mod local;
pub mod window;

use std::path::PathBuf;

pub use layout::{KeyLayout, ObjectKind};
pub use window::{TimeWindow, parse_time_bound};

/// A source as the user named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    Local(PathBuf),
    S3 { bucket: String, prefix: String },
}

impl SourceSpec {
    pub fn parse(text: &str) -> SourceSpec {
        match text.strip_prefix("s3://") {
            Some(rest) => {
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                SourceSpec::S3 {
                    bucket: bucket.to_owned(),
                    prefix: prefix.to_owned(),
                }
            }
            None => SourceSpec::Local(PathBuf::from(text)),
        }
    }
}

/// What narrows the listing before any byte is read.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub window: TimeWindow,
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
}

impl Filter {
    /// Stage one of pruning, on what the key says. Keys outside the layout are kept: their
    /// events are filtered one by one instead.
    pub fn keeps(&self, layout: &KeyLayout) -> bool {
        let account_ok = match &layout.account {
            Some(account) => self.accounts.is_empty() || self.accounts.contains(account),
            None => true,
        };
        let region_ok = match &layout.region {
            Some(region) => self.regions.is_empty() || self.regions.contains(region),
            None => true,
        };
        let date_ok = layout.date.is_none_or(|d| self.window.may_hold(d));
        account_ok && region_ok && date_ok
    }
}

/// One object to read, named as the user will see it in messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceObject {
    pub name: String,
    pub path: PathBuf,
    pub layout: Option<KeyLayout>,
}

/// The objects to scan, sorted by name, and what was left out on the way.
#[derive(Debug, Default)]
pub struct Listing {
    pub objects: Vec<SourceObject>,
    pub skipped_digest: u64,
    pub skipped_insight: u64,
    pub pruned: u64,
    /// Sources or folders that could not be listed; the rest is still scanned.
    pub errors: Vec<ListError>,
}

#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("{0}: no such file or directory")]
    Missing(String),
    #[error("{0}: cannot read: {1}")]
    Unreadable(String, std::io::Error),
    #[error(
        "{0}: reading from S3 is not available in this build yet; sync the bucket first (aws s3 sync s3://… ./logs) and pass the folder"
    )]
    S3Unsupported(String),
}

/// Lists every source, prunes what the filter excludes, and sorts the rest by name.
pub fn list(sources: &[SourceSpec], filter: &Filter) -> Listing {
    let mut listing = Listing::default();
    let mut found = Vec::new();
    for source in sources {
        match source {
            SourceSpec::Local(path) => local::walk(path, &mut found, &mut listing.errors),
            SourceSpec::S3 { bucket, prefix } => {
                listing
                    .errors
                    .push(ListError::S3Unsupported(format!("s3://{bucket}/{prefix}")));
            }
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found.dedup_by(|a, b| a.path == b.path);
    for object in found {
        match object.layout.as_ref().map(|l| l.kind) {
            Some(ObjectKind::Digest) => listing.skipped_digest += 1,
            Some(ObjectKind::Insight) => listing.skipped_insight += 1,
            _ if object.layout.as_ref().is_some_and(|l| !filter.keeps(l)) => listing.pruned += 1,
            _ => listing.objects.push(object),
        }
    }
    listing
}
