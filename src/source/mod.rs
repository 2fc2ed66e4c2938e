//! Where bytes come from: sources named on the command line, listed and pruned to objects.

pub mod layout;
pub mod local;
pub mod s3;
pub mod window;

use std::path::PathBuf;

pub use layout::{KeyLayout, ObjectKind};
pub use window::{TimeWindow, parse_duration, parse_time_bound};

/// A source as the user named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    Local(PathBuf),
    S3 { bucket: String, prefix: String },
}

impl SourceSpec {
    pub fn is_s3(&self) -> bool {
        matches!(self, SourceSpec::S3 { .. })
    }

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
    /// Without `--since`, where listing may start (a cron state's oldest need). It prunes
    /// objects by their key only: events in them are all read.
    pub listing_since: Option<chrono::DateTime<chrono::Utc>>,
}

impl Filter {
    /// The window objects are listed and pruned by: the time window, or the state's floor.
    pub fn listing_window(&self) -> TimeWindow {
        TimeWindow {
            since: self.window.since.or(self.listing_since),
            until: self.window.until,
        }
    }

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
        let date_ok = layout
            .date
            .is_none_or(|d| self.listing_window().may_hold(d));
        account_ok && region_ok && date_ok
    }
}

/// Where an object's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Local(PathBuf),
    S3 {
        bucket: String,
        key: String,
        size: u64,
    },
}

/// One object to read, named as the user will see it in messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceObject {
    pub name: String,
    pub location: Location,
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
    #[error("{0}: {1}")]
    S3(String, String),
}

/// Lists every source, prunes what the filter excludes, and sorts the rest by name.
/// `s3` is the session for `s3://` sources; without one they are reported as errors.
pub fn list(sources: &[SourceSpec], filter: &Filter, s3: Option<&s3::S3Session>) -> Listing {
    let mut listing = Listing::default();
    let mut found = Vec::new();
    for source in sources {
        match (source, s3) {
            (SourceSpec::Local(path), _) => local::walk(path, &mut found, &mut listing.errors),
            (SourceSpec::S3 { bucket, prefix }, Some(session)) => {
                match session.list(bucket, prefix, filter) {
                    Ok(objects) => found.extend(objects),
                    Err(e) => listing.errors.push(e),
                }
            }
            (SourceSpec::S3 { bucket, prefix }, None) => listing.errors.push(ListError::S3(
                format!("s3://{bucket}/{prefix}"),
                "no S3 session".into(),
            )),
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found.dedup_by(|a, b| a.location == b.location);
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
