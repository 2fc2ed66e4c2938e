//! Objects with their user metadata: a HEAD beside the GET, kept in the cache beside the copy.
//!
//! Only `verify` asks, for digest files, whose signature CloudTrail puts in
//! `x-amz-meta-signature`: a digest is one object an hour per region, so the extra request
//! is cheap, and the download itself stays the scan's (`Download::fetch`). With
//! `--cache-dir`, the metadata is written beside the cached object, so that a later run,
//! or `verify` over the cache folder, checks the signature offline.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

use super::errors::{Action, describe, is_unreachable};
use super::{Download, GONE_AFTER, S3, cache_path};
use crate::source::metadata;
use crate::source::object::{Arrivals, Location, Metadata, ReadError, SourceObject, WithMetadata};

impl Download {
    /// The object's bytes (as `fetch` gets them) and its user metadata: from the file kept
    /// beside a cached copy, else from a HEAD request (then kept there).
    pub(super) async fn fetch_with_metadata(
        &self,
        key: &str,
        size: u64,
    ) -> Result<WithMetadata, ReadError> {
        let cached = (self.cache.as_ref()).and_then(|dir| cache_path(dir, &self.bucket, key));
        let kept = match &cached {
            Some(path) if std::fs::metadata(path).is_ok_and(|m| m.len() == size) => {
                metadata::read(path)?
            }
            _ => None,
        };
        let user = match kept {
            Some(kept) => kept,
            None => self.head(key).await?,
        };
        let bytes = self.fetch(key, size).await?;
        if let Some(path) = &cached {
            metadata::write(path, &user)
                .map_err(|e| ReadError::CacheWrite(metadata::sidecar(path), e))?;
        }
        Ok((bytes, Some(user)))
    }

    /// The object's user metadata, from a HEAD request.
    async fn head(&self, key: &str) -> Result<Metadata, ReadError> {
        self.counters.get_requests.fetch_add(1, Ordering::Relaxed);
        let response = (self.client.head_object())
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| {
                let said = describe(&e, Action::Get, &self.bucket, &self.connection);
                if is_unreachable(&e) {
                    self.unreachable.fetch_add(1, Ordering::Relaxed);
                    return ReadError::Unreachable(said);
                }
                ReadError::Remote(said)
            })?;
        Ok((response.metadata().into_iter().flatten())
            .map(|(name, value)| (name.to_ascii_lowercase(), value.clone()))
            .collect())
    }
}

impl S3 {
    pub(super) fn read_with_metadata_of(
        &self,
        object: &SourceObject,
    ) -> Result<WithMetadata, ReadError> {
        let Location::Key { key, size } = &object.location else {
            return Err(ReadError::Foreign);
        };
        self.runtime
            .block_on(self.download().fetch_with_metadata(key, *size))
    }

    pub(super) fn fetch_ahead_with_metadata_of(
        &self,
        objects: &[(usize, &SourceObject)],
    ) -> Arrivals<WithMetadata> {
        self.ahead(objects, |download, key, size| async move {
            download.fetch_with_metadata(&key, size).await
        })
    }

    /// `fetch` for each of `objects` with bounded concurrency on a thread of its own,
    /// yielding each result as it completes: at most `concurrency` in flight and as many
    /// waiting for the consumer. Once the store is clearly gone, the rest are `Abandoned`.
    pub(super) fn ahead<T, F, Fut>(
        &self,
        objects: &[(usize, &SourceObject)],
        fetch: F,
    ) -> Arrivals<T>
    where
        T: Send + 'static,
        F: Fn(Download, String, u64) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, ReadError>> + Send + 'static,
    {
        let wanted: Vec<(usize, String, u64)> = (objects.iter())
            .filter_map(|(index, object)| match &object.location {
                Location::Key { key, size } => Some((*index, key.clone(), *size)),
                Location::Path(_) => None,
            })
            .collect();
        let concurrency = self.remote.concurrency.max(1);
        let (sink, mut arrived) = mpsc::channel(concurrency);
        let runtime = self.runtime.handle().clone();
        let download = self.download();
        std::thread::spawn(move || {
            runtime.block_on(async move {
                let limit = Arc::new(Semaphore::new(concurrency));
                let mut tasks = JoinSet::new();
                for (index, key, size) in wanted {
                    let Ok(permit) = Arc::clone(&limit).acquire_owned().await else {
                        break;
                    };
                    if download.unreachable.load(Ordering::Relaxed) >= GONE_AFTER {
                        if sink.send((index, Err(ReadError::Abandoned))).await.is_err() {
                            break;
                        }
                        continue;
                    }
                    let sink = sink.clone();
                    let work = fetch(download.clone(), key, size);
                    tasks.spawn(async move {
                        let result = work.await;
                        // The permit is held until the consumer takes the result.
                        let _ = sink.send((index, result)).await;
                        drop(permit);
                    });
                    while tasks.try_join_next().is_some() {}
                }
                while tasks.join_next().await.is_some() {}
            });
        });
        Box::new(std::iter::from_fn(move || arrived.blocking_recv()))
    }
}
