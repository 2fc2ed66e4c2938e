//! CloudTrail buckets on S3: a listing planned from the key layout, and bounded downloads.
//!
//! tokio lives here only: the rest of trailscan is synchronous. Listing walks the layout
//! with delimiter listings (roots, organizations, accounts, regions) and, with a time
//! window, lists only the `YYYY/MM/DD/` prefixes in it, so a bucket is never listed in
//! full for a `--since` run. Downloads stream through a bounded channel into the same
//! parallel decode path as local files.

mod errors;
mod lister;
mod trails;
mod user_metadata;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_s3::Client;
use aws_sdk_s3::types::ChecksumMode;
use tokio::sync::Semaphore;

use super::layout::KeyLayout;
use super::object::{
    Arrivals, Fetches, Filter, Found, ListError, Location, OpenError, ReadError, Remote, Source,
    SourceObject, WithMetadata,
};
use crate::aws::{self, Connection};
use crate::results::Transfer;
use errors::{Action, describe, is_unreachable};
use lister::{Counters, Lister};

/// One `s3://bucket/prefix`, with a connected client on its own runtime.
struct S3 {
    runtime: tokio::runtime::Runtime,
    client: Client,
    bucket: String,
    prefix: String,
    remote: Remote,
    counters: Arc<Counters>,
    /// Downloads that found the store unreachable, in a row (see `GONE_AFTER`).
    unreachable: Arc<AtomicUsize>,
}

/// Opens `bucket[/prefix]` (what follows `s3://`).
pub fn open(rest: &str, remote: &Remote) -> Result<Box<dyn Source>, OpenError> {
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(OpenError::NoBucket);
    }
    let runtime = aws::runtime("trailscan-s3")?;
    let client = runtime.block_on(build_client(&remote.connection));
    Ok(Box::new(S3 {
        runtime,
        client,
        bucket: bucket.to_owned(),
        prefix: prefix.to_owned(),
        remote: remote.clone(),
        counters: Arc::new(Counters::default()),
        unreachable: Arc::default(),
    }))
}

pub use trails::TrailFolder;

/// The trails below `s3://{rest}` (`bucket[/prefix]`): each `AWSLogs/[o-…/]` folder with the
/// accounts and regions below it (those of `filter` when it names some, unlisted), and with
/// `first_day` the earliest day folder; and the requests that took.
pub fn trails(
    rest: &str,
    remote: &Remote,
    filter: &Filter,
    first_day: bool,
) -> Result<(Vec<TrailFolder>, Transfer), String> {
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(OpenError::NoBucket.to_string());
    }
    let runtime = aws::runtime("trailscan-s3").map_err(|e| e.to_string())?;
    let client = runtime.block_on(build_client(&remote.connection));
    let counters = Arc::new(Counters::default());
    let lister = Lister {
        client,
        bucket: bucket.to_owned(),
        filter: filter.clone(),
        counters: Arc::clone(&counters),
        limit: Arc::new(Semaphore::new(remote.concurrency.max(1))),
        connection: remote.connection.clone(),
        seen: Arc::default(),
    };
    let found = runtime.block_on(lister.trails(prefix.to_owned(), first_day))?;
    let transfer = Transfer {
        list_requests: counters.list_requests.load(Ordering::Relaxed),
        keys_listed: counters.keys_listed.load(Ordering::Relaxed),
        ..Transfer::default()
    };
    Ok((found, transfer))
}

impl Source for S3 {
    fn list(&self, filter: &Filter, found: &mut Found) {
        let lister = Lister {
            client: self.client.clone(),
            bucket: self.bucket.clone(),
            filter: filter.clone(),
            counters: Arc::clone(&self.counters),
            limit: Arc::new(Semaphore::new(self.remote.concurrency.max(1))),
            connection: self.remote.connection.clone(),
            seen: Arc::default(),
        };
        let bucket = &self.bucket;
        match self.runtime.block_on(lister.plan(self.prefix.clone())) {
            Ok(keys) => {
                for (key, size) in keys {
                    if self.remote.cache_dir.is_some()
                        && cache_path(Path::new(""), bucket, &key).is_none()
                    {
                        found.warnings.push(format!(
                            "s3://{bucket}/{key}: the key is not a safe file path (an empty, '.' or '..' part): read, but not kept in the cache"
                        ));
                    }
                    let layout = KeyLayout::parse(&key);
                    if let Some(layout) = &layout {
                        found.accounts.extend(layout.account.clone());
                        found.regions.extend(layout.region.clone());
                    }
                    found.objects.push(SourceObject {
                        name: format!("s3://{bucket}/{key}"),
                        layout,
                        location: Location::Key { key, size },
                        source: 0,
                    });
                }
            }
            Err(reason) => found.errors.push(ListError::Remote(
                format!("s3://{bucket}/{}", self.prefix),
                reason,
            )),
        }
        let seen = lister
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        found.accounts.extend(seen.accounts.iter().cloned());
        found.regions.extend(seen.regions.iter().cloned());
    }

    fn read(&self, object: &SourceObject) -> Result<Vec<u8>, ReadError> {
        let Location::Key { key, size } = &object.location else {
            return Err(ReadError::Foreign);
        };
        self.runtime.block_on(self.download().fetch(key, *size))
    }

    /// Downloads (or takes from the cache) with bounded concurrency on a thread of its own,
    /// yielding each object as it completes. At most `concurrency` objects are in flight
    /// and as many wait for the consumer.
    fn fetch_ahead(&self, objects: &[(usize, &SourceObject)]) -> Option<Fetches> {
        Some(self.ahead(objects, |download, key, size| async move {
            download.fetch(&key, size).await
        }))
    }

    fn read_with_metadata(&self, object: &SourceObject) -> Result<WithMetadata, ReadError> {
        self.read_with_metadata_of(object)
    }

    fn fetch_ahead_with_metadata(
        &self,
        objects: &[(usize, &SourceObject)],
    ) -> Option<Arrivals<WithMetadata>> {
        Some(self.fetch_ahead_with_metadata_of(objects))
    }

    fn transfer(&self) -> Option<Transfer> {
        let c = &self.counters;
        Some(Transfer {
            list_requests: c.list_requests.load(Ordering::Relaxed),
            keys_listed: c.keys_listed.load(Ordering::Relaxed),
            get_requests: c.get_requests.load(Ordering::Relaxed),
            bytes_downloaded: c.bytes_downloaded.load(Ordering::Relaxed),
            cache_hits: c.cache_hits.load(Ordering::Relaxed),
        })
    }
}

impl S3 {
    /// What each download of this source needs.
    fn download(&self) -> Download {
        Download {
            client: self.client.clone(),
            bucket: self.bucket.clone(),
            cache: self.remote.cache_dir.clone(),
            counters: Arc::clone(&self.counters),
            connection: self.remote.connection.clone(),
            unreachable: Arc::clone(&self.unreachable),
        }
    }
}

async fn build_client(connection: &Connection) -> Client {
    let shared = aws::load(connection).await;
    let mut config = aws_sdk_s3::config::Builder::from(&shared);
    if shared.region().is_none() {
        // CloudTrail's home region; a bucket elsewhere answers with its region, named in the error.
        config = config.region(aws_config::Region::new("us-east-1"));
    }
    let env_endpoint = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
        .iter()
        .any(|v| std::env::var_os(v).is_some());
    if connection.endpoint_url.is_some() || env_endpoint {
        config = config.force_path_style(true);
    }
    Client::from_conf(config.build())
}

/// How many times a download cut off mid-body, damaged or shorter than announced is tried.
const BODY_ATTEMPTS: u32 = 3;
/// After this many downloads in a row found the store unreachable (each after the SDK's own
/// retries), the rest are not tried: one line says so rather than a line per object.
const GONE_AFTER: usize = 8;

/// What one download needs: cheap to clone into each task.
#[derive(Clone)]
struct Download {
    client: Client,
    bucket: String,
    cache: Option<std::path::PathBuf>,
    counters: Arc<Counters>,
    connection: Connection,
    /// Downloads that found the store unreachable, in a row.
    unreachable: Arc<AtomicUsize>,
}

impl Download {
    /// The object's bytes: from the cache when a copy of its size is there, else from S3
    /// (and then into the cache).
    async fn fetch(&self, key: &str, size: u64) -> Result<Vec<u8>, ReadError> {
        let (bucket, counters) = (&self.bucket, &self.counters);
        let cached = (self.cache.as_ref()).and_then(|dir| cache_path(dir, bucket, key));
        if let Some(path) = &cached
            && std::fs::metadata(path).is_ok_and(|m| m.len() == size)
        {
            counters.cache_hits.fetch_add(1, Ordering::Relaxed);
            return std::fs::read(path).map_err(|e| ReadError::Cache(path.clone(), e));
        }
        let mut attempt = 0;
        let bytes = loop {
            attempt += 1;
            counters.get_requests.fetch_add(1, Ordering::Relaxed);
            let response = match (self.client.get_object())
                .bucket(bucket)
                .key(key)
                .checksum_mode(ChecksumMode::Enabled)
                .send()
                .await
            {
                Ok(response) => response,
                Err(e) => {
                    let said = describe(&e, Action::Get, bucket, &self.connection);
                    if is_unreachable(&e) {
                        self.unreachable.fetch_add(1, Ordering::Relaxed);
                        return Err(ReadError::Unreachable(said));
                    }
                    return Err(ReadError::Remote(said));
                }
            };
            self.unreachable.store(0, Ordering::Relaxed);
            let announced = response
                .content_length()
                .and_then(|n| u64::try_from(n).ok());
            let failed = match response.body.collect().await {
                Ok(data) => {
                    let bytes = data.into_bytes().to_vec();
                    match announced {
                        Some(expected) if (bytes.len() as u64) < expected => ReadError::Truncated {
                            got: bytes.len(),
                            expected,
                            attempts: attempt,
                        },
                        _ => break bytes,
                    }
                }
                Err(e) if e.to_string().to_lowercase().contains("checksum") => {
                    ReadError::Corrupt(e.to_string())
                }
                Err(e) => ReadError::Interrupted(e.to_string()),
            };
            if attempt >= BODY_ATTEMPTS {
                return Err(failed);
            }
        };
        counters
            .bytes_downloaded
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        if let Some(path) = &cached {
            store(path, &bytes).map_err(|e| ReadError::CacheWrite(path.clone(), e))?;
        }
        Ok(bytes)
    }
}

/// Where the cache keeps `key` of `bucket`: `dir/<bucket>/<key>`, built part by part. A key
/// is written by whoever can write to the bucket: one with a part that is empty, `.` or
/// `..` (which could reach outside `dir`), or that holds a NUL, has no place in the cache.
fn cache_path(dir: &Path, bucket: &str, key: &str) -> Option<PathBuf> {
    let mut path = dir.join(safe_part(bucket)?);
    for part in key.split('/') {
        path.push(safe_part(part)?);
    }
    Some(path)
}

fn safe_part(part: &str) -> Option<&str> {
    let unsafe_part = part.is_empty() || part == "." || part == ".." || part.contains('\0');
    (!unsafe_part).then_some(part)
}

/// Writes a cache entry whole or not at all: a temporary file renamed into place.
fn store(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = parent.join(format!(".{name}.partial"));
    std::fs::write(&temporary, bytes)?;
    std::fs::rename(&temporary, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_that_could_leave_the_cache_has_no_place_in_it() {
        let dir = Path::new("/cache");
        let key = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/20/f.json.gz";
        assert_eq!(
            cache_path(dir, "b", key),
            Some(PathBuf::from(format!("/cache/b/{key}")))
        );
        for key in [
            "AWSLogs/1/CloudTrail/us-east-1/2026/11/20/../../../../../../../../../escape/evil.sh",
            "../x",
            "a/./b",
            "a//b",
            "/absolute",
            "a/b/",
            "nul\0byte",
        ] {
            assert_eq!(cache_path(dir, "b", key), None, "{key:?}");
        }
        assert_eq!(cache_path(dir, "..", "k"), None);
    }
}
