//! CloudTrail buckets on S3: a listing planned from the key layout, and bounded downloads.
//!
//! tokio lives here only: the rest of trailscan is synchronous. Listing walks the layout
//! with delimiter listings (roots, organizations, accounts, regions) and, with a time
//! window, lists only the `YYYY/MM/DD/` prefixes in it, so a bucket is never listed in
//! full for a `--since` run. Downloads stream through a bounded channel into the same
//! parallel decode path as local files.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use chrono::{Duration as Days, NaiveDate, Utc};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

use super::{Filter, KeyLayout, ListError, Location, SourceObject};
use crate::aws::{self, Connection};

/// How to reach S3 and how hard to pull.
#[derive(Debug, Clone, Default)]
pub struct S3Options {
    /// Profile, bucket region and endpoint.
    pub connection: Connection,
    pub concurrency: usize,
    pub cache_dir: Option<PathBuf>,
}

/// Requests made and bytes moved, for the run summary.
#[derive(Debug, Default)]
pub struct S3Counters {
    pub list_requests: AtomicU64,
    pub keys_listed: AtomicU64,
    pub get_requests: AtomicU64,
    pub bytes_downloaded: AtomicU64,
    pub cache_hits: AtomicU64,
}

/// A connected S3 client with its own runtime.
pub struct S3Session {
    runtime: tokio::runtime::Runtime,
    client: Client,
    options: S3Options,
    pub counters: Arc<S3Counters>,
}

/// One fetched object for the scan: its index in the listing and its bytes or why not.
pub type Fetched = (usize, Result<Vec<u8>, String>);

impl S3Session {
    pub fn connect(options: S3Options) -> Result<S3Session, String> {
        let runtime = aws::runtime("trailscan-s3")?;
        let client = runtime.block_on(build_client(&options.connection));
        Ok(S3Session {
            runtime,
            client,
            options,
            counters: Arc::new(S3Counters::default()),
        })
    }

    /// Lists the objects of `s3://bucket/prefix` that the filter may need.
    pub fn list(
        &self,
        bucket: &str,
        prefix: &str,
        filter: &Filter,
    ) -> Result<Vec<SourceObject>, ListError> {
        let lister = Lister {
            client: self.client.clone(),
            bucket: bucket.to_owned(),
            filter: filter.clone(),
            counters: Arc::clone(&self.counters),
            limit: Arc::new(Semaphore::new(self.options.concurrency.max(1))),
        };
        let keys = self
            .runtime
            .block_on(lister.plan(prefix.to_owned()))
            .map_err(|reason| ListError::S3(format!("s3://{bucket}/{prefix}"), reason))?;
        Ok(keys
            .into_iter()
            .map(|(key, size)| SourceObject {
                name: format!("s3://{bucket}/{key}"),
                layout: KeyLayout::parse(&key),
                location: Location::S3 {
                    bucket: bucket.to_owned(),
                    key,
                    size,
                },
            })
            .collect())
    }

    /// Fetches `objects` (S3 ones downloaded or taken from the cache, local ones read) with
    /// bounded concurrency on a thread of its own, yielding each as it completes. At most
    /// `concurrency` objects are in flight and as many wait for the consumer.
    pub fn fetch(
        &self,
        objects: Vec<SourceObject>,
    ) -> impl Iterator<Item = Fetched> + Send + use<> {
        let concurrency = self.options.concurrency.max(1);
        let (sink, mut source) = mpsc::channel::<Fetched>(concurrency);
        let runtime = self.runtime.handle().clone();
        let client = self.client.clone();
        let counters = Arc::clone(&self.counters);
        let cache = self.options.cache_dir.clone();
        std::thread::spawn(move || {
            runtime.block_on(async move {
                let limit = Arc::new(Semaphore::new(concurrency));
                let mut tasks = JoinSet::new();
                for (index, object) in objects.into_iter().enumerate() {
                    let Ok(permit) = Arc::clone(&limit).acquire_owned().await else {
                        break;
                    };
                    let (sink, client, counters, cache) = (
                        sink.clone(),
                        client.clone(),
                        Arc::clone(&counters),
                        cache.clone(),
                    );
                    tasks.spawn(async move {
                        let result = match object.location {
                            Location::Local(path) => {
                                std::fs::read(&path).map_err(|e| format!("cannot read: {e}"))
                            }
                            Location::S3 { bucket, key, size } => {
                                fetch(&client, &bucket, &key, size, cache.as_deref(), &counters)
                                    .await
                            }
                        };
                        // The permit is held until the consumer takes the bytes.
                        let _ = sink.send((index, result)).await;
                        drop(permit);
                    });
                    while tasks.try_join_next().is_some() {}
                }
                while tasks.join_next().await.is_some() {}
            });
        });
        std::iter::from_fn(move || source.blocking_recv())
    }
}

async fn build_client(connection: &Connection) -> Client {
    let _ = CONNECTION.set(connection.clone());
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

/// The connection in use, for error messages (set once when the client is built).
static CONNECTION: std::sync::OnceLock<Connection> = std::sync::OnceLock::new();

fn endpoint_hint() -> String {
    aws::endpoint_hint(CONNECTION.get().unwrap_or(&Connection::default()))
}

async fn fetch(
    client: &Client,
    bucket: &str,
    key: &str,
    size: u64,
    cache: Option<&Path>,
    counters: &S3Counters,
) -> Result<Vec<u8>, String> {
    let cached = cache.map(|dir| dir.join(bucket).join(key));
    if let Some(path) = &cached
        && std::fs::metadata(path).is_ok_and(|m| m.len() == size)
    {
        counters.cache_hits.fetch_add(1, Ordering::Relaxed);
        return std::fs::read(path)
            .map_err(|e| format!("cannot read the cached copy {}: {e}", path.display()));
    }
    counters.get_requests.fetch_add(1, Ordering::Relaxed);
    let response = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| describe(&e, Action::Get, bucket))?;
    let bytes = response
        .body
        .collect()
        .await
        .map_err(|e| format!("download interrupted: {e}"))?
        .into_bytes()
        .to_vec();
    counters
        .bytes_downloaded
        .fetch_add(bytes.len() as u64, Ordering::Relaxed);
    if let Some(path) = &cached {
        store(path, &bytes)
            .map_err(|e| format!("cannot write the cache {}: {e}", path.display()))?;
    }
    Ok(bytes)
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

#[derive(Clone, Copy)]
enum Action {
    List,
    Get,
}

/// One line that says what went wrong and what to do about it.
fn describe<E>(error: &SdkError<E, HttpResponse>, action: Action, bucket: &str) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let permission = match action {
        Action::List => format!("s3:ListBucket on arn:aws:s3:::{bucket}"),
        Action::Get => format!(
            "s3:GetObject on arn:aws:s3:::{bucket}/* (and kms:Decrypt on the trail's key if it is SSE-KMS encrypted)"
        ),
    };
    let region_hint = error
        .raw_response()
        .and_then(|r| r.headers().get("x-amz-bucket-region"))
        .map(str::to_owned);
    match error {
        SdkError::ServiceError(_) | SdkError::ResponseError(_) => {
            let code = error.code().unwrap_or_default();
            let status = error
                .raw_response()
                .map(|r| r.status().as_u16())
                .unwrap_or_default();
            let message = error.message().unwrap_or_default();
            if let Some(region) = region_hint.filter(|_| {
                status == 301 || code.contains("Redirect") || code == "AuthorizationHeaderMalformed"
            }) {
                return format!(
                    "the bucket is in region {region}: pass --bucket-region {region} (or set AWS_REGION)"
                );
            }
            match code {
                "NoSuchBucket" => "no such bucket: check the name in the s3:// URL".to_owned(),
                "AccessDenied" | "AllAccessDisabled"
                    if message.contains("KMS") || message.contains("kms") =>
                {
                    format!(
                        "access denied by KMS: needs kms:Decrypt on the trail's key ({message})"
                    )
                }
                "AccessDenied" | "AllAccessDisabled" => {
                    format!("access denied: needs {permission}")
                }
                "KMS.DisabledException" | "KMS.AccessDeniedException" | "KMS.NotFoundException" => {
                    format!("cannot decrypt: needs kms:Decrypt on the trail's key ({code})")
                }
                "InvalidAccessKeyId"
                | "SignatureDoesNotMatch"
                | "ExpiredToken"
                | "InvalidToken" => {
                    format!(
                        "the AWS credentials were refused ({code}): refresh them (aws sso login, or new keys)"
                    )
                }
                "NoSuchKey" => "the object disappeared between listing and download".to_owned(),
                "" if status == 404 => "no such bucket or key (HTTP 404)".to_owned(),
                "" => format!("S3 answered HTTP {status}"),
                _ => format!("S3 error {code}: {message}"),
            }
        }
        SdkError::DispatchFailure(failure) => {
            if aws::lacks_credentials(error) {
                aws::NO_CREDENTIALS.to_owned()
            } else if failure.is_timeout() {
                format!("timed out reaching S3 ({})", endpoint_hint())
            } else if failure.is_io() {
                format!(
                    "cannot reach S3 ({}): {}",
                    endpoint_hint(),
                    aws::innermost_cause(error)
                )
            } else {
                format!(
                    "request failed: {}",
                    first_cause(&DisplayErrorContext(error).to_string())
                )
            }
        }
        SdkError::TimeoutError(_) => format!("timed out reaching S3 ({})", endpoint_hint()),
        SdkError::ConstructionFailure(_) if aws::lacks_credentials(error) => {
            aws::NO_CREDENTIALS.to_owned()
        }
        SdkError::ConstructionFailure(_) => {
            format!(
                "cannot build the request: {}",
                first_cause(&DisplayErrorContext(error).to_string())
            )
        }
        _ => first_cause(&DisplayErrorContext(error).to_string()),
    }
}

/// The SDK's error context, cut to one line.
fn first_cause(detail: &str) -> String {
    detail
        .lines()
        .next()
        .unwrap_or(detail)
        .chars()
        .take(300)
        .collect()
}

/// Keys and sizes found by a listing.
type Keys = Vec<(String, u64)>;
type Walk<'a> = std::pin::Pin<Box<dyn Future<Output = Result<Keys, String>> + Send + 'a>>;

/// Walks the key layout of one bucket with delimiter listings.
#[derive(Clone)]
struct Lister {
    client: Client,
    bucket: String,
    filter: Filter,
    counters: Arc<S3Counters>,
    limit: Arc<Semaphore>,
}

/// Where in the layout a prefix points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    /// Above `AWSLogs/`: look for it a few folders down.
    Search(u8),
    /// `AWSLogs/`: organization ids or accounts below.
    Root,
    /// `AWSLogs/o-…/`: accounts below.
    Organization,
    /// `…/<account>/`: the CloudTrail folder below.
    Account,
    /// `…/<account>/CloudTrail/`: regions below.
    Product,
    /// `…/CloudTrail/<region>/` or deeper: list it, by day when a window is given.
    Region,
}

const SEARCH_DEPTH: u8 = 2;
/// Folders looked into per level when searching for `AWSLogs/` above it.
const SEARCH_WIDTH: usize = 200;

impl Lister {
    async fn plan(&self, prefix: String) -> Result<Keys, String> {
        let prefix = normalise(&prefix);
        let mut keys = self.walk(prefix.clone(), level_of(&prefix)).await?;
        keys.sort();
        keys.dedup();
        Ok(keys)
    }

    fn walk(&self, prefix: String, level: Level) -> Walk<'_> {
        Box::pin(async move {
            match level {
                Level::Search(depth) => {
                    let (folders, _) = self.list_folders(&prefix).await?;
                    let roots: Vec<String> = folders
                        .iter()
                        .filter(|f| f.ends_with("/AWSLogs/") || *f == "AWSLogs/")
                        .cloned()
                        .collect();
                    let mut keys = Vec::new();
                    for root in &roots {
                        keys.extend(self.walk(root.clone(), Level::Root).await?);
                    }
                    if depth < SEARCH_DEPTH {
                        for folder in folders
                            .iter()
                            .filter(|f| !roots.contains(f))
                            .take(SEARCH_WIDTH)
                        {
                            keys.extend(self.walk(folder.clone(), Level::Search(depth + 1)).await?);
                        }
                    }
                    if depth == 0 && keys.is_empty() && roots.is_empty() {
                        // No CloudTrail layout below: these are plain objects (exports, copies).
                        return self.list_all(&prefix).await;
                    }
                    Ok(keys)
                }
                Level::Root | Level::Organization => {
                    let (folders, _) = self.list_folders(&prefix).await?;
                    let mut children = Vec::new();
                    for folder in folders {
                        let name = last_segment(&folder);
                        if level == Level::Root && name.starts_with("o-") {
                            children.push((folder, Level::Organization));
                        } else if is_account(name)
                            && (self.filter.accounts.is_empty()
                                || self.filter.accounts.iter().any(|a| a == name))
                        {
                            children.push((format!("{folder}CloudTrail/"), Level::Product));
                        }
                    }
                    self.walk_all(children).await
                }
                Level::Account => {
                    self.walk(format!("{prefix}CloudTrail/"), Level::Product)
                        .await
                }
                Level::Product => {
                    let (folders, _) = self.list_folders(&prefix).await?;
                    let children = folders
                        .into_iter()
                        .filter(|f| {
                            let region = last_segment(f);
                            self.filter.regions.is_empty()
                                || self.filter.regions.iter().any(|r| r == region)
                        })
                        .map(|f| (f, Level::Region))
                        .collect();
                    self.walk_all(children).await
                }
                Level::Region => {
                    let days = self.days_in_window();
                    if days.is_empty() || prefix.matches('/').count() > region_depth(&prefix) {
                        return self.list_all(&prefix).await;
                    }
                    let mut keys = Vec::new();
                    let mut tasks = JoinSet::new();
                    for day in days {
                        let day_prefix = format!("{prefix}{}/", day.format("%Y/%m/%d"));
                        let this = self.clone();
                        tasks.spawn(async move { this.list_all(&day_prefix).await });
                    }
                    while let Some(joined) = tasks.join_next().await {
                        keys.extend(joined.map_err(|e| format!("listing task failed: {e}"))??);
                    }
                    Ok(keys)
                }
            }
        })
    }

    /// Walks sibling prefixes concurrently (accounts, regions), each under the semaphore.
    async fn walk_all(&self, children: Vec<(String, Level)>) -> Result<Keys, String> {
        let mut tasks = JoinSet::new();
        for (prefix, level) in children {
            let this = self.clone();
            tasks.spawn(async move { this.walk(prefix, level).await });
        }
        let mut keys = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            keys.extend(joined.map_err(|e| format!("listing task failed: {e}"))??);
        }
        Ok(keys)
    }

    /// The days whose folders may hold events in the window (one day of slack either side).
    fn days_in_window(&self) -> Vec<NaiveDate> {
        let window = self.filter.listing_window();
        let Some(since) = window.since else {
            return Vec::new();
        };
        let last_day = window.last_day().unwrap_or_else(|| Utc::now().date_naive());
        let first = since.date_naive() - Days::days(1);
        let last = last_day + Days::days(1);
        first.iter_days().take_while(|d| *d <= last).collect()
    }

    /// One delimiter listing: the sub-folders and the objects directly in `prefix`.
    async fn list_folders(&self, prefix: &str) -> Result<(Vec<String>, Keys), String> {
        self.list(prefix, true).await
    }

    /// Every object below `prefix`.
    async fn list_all(&self, prefix: &str) -> Result<Keys, String> {
        Ok(self.list(prefix, false).await?.1)
    }

    async fn list(&self, prefix: &str, delimited: bool) -> Result<(Vec<String>, Keys), String> {
        let _permit = self.limit.acquire().await.map_err(|e| e.to_string())?;
        let mut folders = BTreeSet::new();
        let mut objects = Vec::new();
        let mut token: Option<String> = None;
        loop {
            self.counters.list_requests.fetch_add(1, Ordering::Relaxed);
            let mut request = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix);
            if delimited {
                request = request.delimiter("/");
            }
            let page = request
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| describe(&e, Action::List, &self.bucket))?;
            folders.extend(
                page.common_prefixes()
                    .iter()
                    .filter_map(|p| p.prefix().map(str::to_owned)),
            );
            self.counters
                .keys_listed
                .fetch_add(page.contents().len() as u64, Ordering::Relaxed);
            for object in page.contents() {
                if let Some(key) = object.key()
                    && !key.ends_with('/')
                {
                    objects.push((key.to_owned(), object.size().unwrap_or(0).max(0) as u64));
                }
            }
            match page.next_continuation_token() {
                Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_owned()),
                _ => break,
            }
        }
        Ok((folders.into_iter().collect(), objects))
    }
}

fn normalise(prefix: &str) -> String {
    let trimmed = prefix.trim_start_matches('/');
    if trimmed.is_empty() || trimmed.ends_with('/') {
        trimmed.to_owned()
    } else {
        format!("{trimmed}/")
    }
}

/// The level a user-given prefix points at, from its path segments after `AWSLogs`.
fn level_of(prefix: &str) -> Level {
    let parts: Vec<&str> = prefix.split('/').filter(|p| !p.is_empty()).collect();
    let Some(root) = parts.iter().rposition(|p| *p == "AWSLogs") else {
        return Level::Search(0);
    };
    let mut rest = &parts[root + 1..];
    if rest.first().is_some_and(|p| p.starts_with("o-")) {
        if rest.len() == 1 {
            return Level::Organization;
        }
        rest = &rest[1..];
    }
    match rest.len() {
        0 => Level::Root,
        1 => Level::Account,
        2 => Level::Product,
        _ => Level::Region,
    }
}

/// Slashes in `…/CloudTrail/<region>/`: deeper prefixes (a year, a day) are listed as they are.
fn region_depth(prefix: &str) -> usize {
    match prefix
        .find("/CloudTrail/")
        .or_else(|| prefix.starts_with("CloudTrail/").then_some(0))
    {
        Some(at) => {
            let after = &prefix[at..];
            let region_end = after
                .match_indices('/')
                .nth(2)
                .map_or(prefix.len(), |(i, _)| at + i + 1);
            prefix[..region_end].matches('/').count()
        }
        None => usize::MAX,
    }
}

fn last_segment(folder: &str) -> &str {
    folder
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(folder)
}

fn is_account(name: &str) -> bool {
    name.len() == 12 && name.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_of_user_prefixes() {
        assert_eq!(level_of(""), Level::Search(0));
        assert_eq!(level_of("security/"), Level::Search(0));
        assert_eq!(level_of("AWSLogs/"), Level::Root);
        assert_eq!(level_of("p/AWSLogs/o-abc/"), Level::Organization);
        assert_eq!(level_of("p/AWSLogs/o-abc/111122223333/"), Level::Account);
        assert_eq!(level_of("AWSLogs/111122223333/"), Level::Account);
        assert_eq!(level_of("AWSLogs/111122223333/CloudTrail/"), Level::Product);
        assert_eq!(
            level_of("AWSLogs/111122223333/CloudTrail/us-east-1/"),
            Level::Region
        );
        assert_eq!(
            level_of("AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/"),
            Level::Region
        );
    }

    #[test]
    fn a_region_prefix_is_planned_by_day_but_a_deeper_one_is_listed_as_is() {
        let region = "x/AWSLogs/111122223333/CloudTrail/us-east-1/";
        assert_eq!(region_depth(region), region.matches('/').count());
        let day = "x/AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/20/";
        assert!(day.matches('/').count() > region_depth(day));
    }
}
