//! What every source shares: the `Source` trait, the objects it lists, and what narrows a listing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::layout::KeyLayout;
use super::window::TimeWindow;
use crate::aws::{Connection, RuntimeError};
use crate::results::Transfer;

/// Why a source cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("names no bucket: write s3://BUCKET or s3://BUCKET/PREFIX")]
    NoBucket,
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

/// Why an object's bytes could not be read: said after the object's name.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read: {0}")]
    Io(std::io::Error),
    #[error("cannot read the cached copy {0}: {1}")]
    Cache(PathBuf, std::io::Error),
    #[error("cannot write the cache {0}: {1}")]
    CacheWrite(PathBuf, std::io::Error),
    /// What the remote store answered, in one line that says what to do.
    #[error("{0}")]
    Remote(String),
    #[error("download interrupted: {0}")]
    Interrupted(String),
    #[error("download cut short: {got} of {expected} bytes, after {attempts} attempts")]
    Truncated {
        got: usize,
        expected: u64,
        attempts: u32,
    },
    #[error("the download does not match its checksum (it was damaged on the way): {0}")]
    Corrupt(String),
    /// The store cannot be reached at all (refused, timed out): said once the first times,
    /// then the rest of the objects are abandoned.
    #[error("{0}")]
    Unreachable(String),
    #[error("not read: the source stopped answering")]
    Abandoned,
    #[error("cannot read the metadata file {0}: {1}")]
    Metadata(PathBuf, String),
    /// Read again after `verify` checked it, and no longer what it checked.
    #[error("changed since it was verified: {0}")]
    Changed(String),
    #[error("not an object of this source")]
    Foreign,
}

/// One place objects are listed and read from.
pub trait Source: Send + Sync {
    /// Adds the objects below this source that `filter` may need to `found`, with what
    /// could not be listed and what is worth a warning; the rest is still listed.
    fn list(&self, filter: &Filter, found: &mut Found);

    /// Reads one object's bytes, on the thread that asks.
    fn read(&self, object: &SourceObject) -> Result<Vec<u8>, ReadError>;

    /// Fetches `objects` (with their index in the scan) ahead of the decoders, handing each
    /// over as it arrives; `None` when reading each one where it is decoded is best.
    fn fetch_ahead(&self, objects: &[(usize, &SourceObject)]) -> Option<Fetches> {
        let _ = objects;
        None
    }

    /// Requests made and bytes moved so far, for a source that makes requests.
    fn transfer(&self) -> Option<Transfer> {
        None
    }

    /// Reads one object with its user metadata (S3's `x-amz-meta-*`, where CloudTrail keeps
    /// a digest file's signature); `None` when the source has none for it.
    fn read_with_metadata(&self, object: &SourceObject) -> Result<WithMetadata, ReadError> {
        Ok((self.read(object)?, None))
    }

    /// `fetch_ahead`, each object with its user metadata.
    fn fetch_ahead_with_metadata(
        &self,
        objects: &[(usize, &SourceObject)],
    ) -> Option<Arrivals<WithMetadata>> {
        let _ = objects;
        None
    }
}

/// An object's user metadata: S3's `x-amz-meta-*` headers, without the prefix.
pub type Metadata = BTreeMap<String, String>;

/// An object's bytes and its user metadata, when there is any.
pub type WithMetadata = (Vec<u8>, Option<Metadata>);

/// Objects arriving from a source that fetches ahead, each with its index, or why not.
pub type Arrivals<T> = Box<dyn Iterator<Item = (usize, Result<T, ReadError>)> + Send>;

/// What the listing of one source found.
#[derive(Debug, Default)]
pub struct Found {
    pub objects: Vec<SourceObject>,
    /// Folders or prefixes that could not be listed.
    pub errors: Vec<ListError>,
    /// What the user should know, but that does not stop the run.
    pub warnings: Vec<String>,
    /// The accounts and regions the source holds, whether the filter keeps them or not.
    pub accounts: BTreeSet<String>,
    pub regions: BTreeSet<String>,
}

/// Objects arriving from a source that fetches ahead: each one's index and bytes, or why not.
pub type Fetches = Arrivals<Vec<u8>>;

/// What a source needs to reach remote storage.
#[derive(Debug, Clone, Default)]
pub struct Remote {
    /// Profile, bucket region and endpoint.
    pub connection: Connection,
    /// Downloads and listings in flight at once.
    pub concurrency: usize,
    /// Where downloaded objects are kept for later runs.
    pub cache_dir: Option<PathBuf>,
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
    /// List `CloudTrail-Digest/` objects too, into `Listing::digests` (for `verify`); a
    /// scan leaves them out, only counting them.
    pub digests: bool,
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

/// Where an object's bytes are, for the source that listed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Path(PathBuf),
    Key { key: String, size: u64 },
}

/// One object to read, named as the user will see it in messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceObject {
    pub name: String,
    pub location: Location,
    pub layout: Option<KeyLayout>,
    /// The index of the source that listed it, among the run's sources.
    pub source: usize,
}

/// The objects to scan, sorted by name, and what was left out on the way.
#[derive(Debug, Default)]
pub struct Listing {
    pub objects: Vec<SourceObject>,
    /// The `CloudTrail-Digest/` objects, when the filter asks for them (sorted by name).
    pub digests: Vec<SourceObject>,
    pub skipped_digest: u64,
    pub skipped_insight: u64,
    pub pruned: u64,
    /// Sources or folders that could not be listed; the rest is still scanned.
    pub errors: Vec<ListError>,
    /// What the user should know: links to nothing, keys not cached, filters matching nothing.
    pub warnings: Vec<String>,
    /// The sources in which no object was found at all.
    pub empty: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("{0}: no such file or directory")]
    Missing(String),
    #[error("{0}: cannot read: {1}")]
    Unreadable(String, std::io::Error),
    #[error("{0}: {1}")]
    Remote(String, String),
}
