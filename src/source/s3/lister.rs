//! Listing a CloudTrail bucket by its key layout: delimiter listings down to regions, then days.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_s3::Client;
use aws_sdk_s3::types::EncodingType;
use chrono::{Duration as Days, NaiveDate, Utc};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::errors::{Action, describe};
use crate::aws::Connection;
use crate::source::object::Filter;

/// Requests made and bytes moved, for the run summary.
#[derive(Debug, Default)]
pub(super) struct Counters {
    pub(super) list_requests: AtomicU64,
    pub(super) keys_listed: AtomicU64,
    pub(super) get_requests: AtomicU64,
    pub(super) bytes_downloaded: AtomicU64,
    pub(super) cache_hits: AtomicU64,
}

/// Keys and sizes found by a listing.
pub(super) type Keys = Vec<(String, u64)>;
type Walk<'a> = std::pin::Pin<Box<dyn Future<Output = Result<Keys, String>> + Send + 'a>>;
/// Walks the key layout of one bucket with delimiter listings.
#[derive(Clone)]
pub(super) struct Lister {
    pub(super) client: Client,
    pub(super) bucket: String,
    pub(super) filter: Filter,
    pub(super) counters: Arc<Counters>,
    pub(super) limit: Arc<Semaphore>,
    pub(super) connection: Connection,
    /// The accounts and regions the walk found, whether the filter keeps them or not.
    pub(super) seen: Arc<std::sync::Mutex<Seen>>,
}

#[derive(Debug, Default)]
pub(super) struct Seen {
    pub(super) accounts: BTreeSet<String>,
    pub(super) regions: BTreeSet<String>,
}

/// Where in the layout a prefix points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Level {
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

pub(super) const SEARCH_DEPTH: u8 = 2;
/// Folders looked into per level when searching for `AWSLogs/` above it.
pub(super) const SEARCH_WIDTH: usize = 200;
impl Lister {
    pub(super) async fn plan(&self, prefix: String) -> Result<Keys, String> {
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
                        if is_account(name) {
                            self.saw(|seen| seen.accounts.insert(name.to_owned()));
                        }
                        if level == Level::Root && name.starts_with("o-") {
                            children.push((folder, Level::Organization));
                        } else if is_account(name)
                            && (self.filter.accounts.is_empty()
                                || self.filter.accounts.iter().any(|a| a == name))
                        {
                            children.extend(self.products(&folder));
                        }
                    }
                    self.walk_all(children).await
                }
                Level::Account => self.walk_all(self.products(&prefix)).await,
                Level::Product => {
                    let (folders, _) = self.list_folders(&prefix).await?;
                    let children = folders
                        .into_iter()
                        .filter(|f| {
                            let region = last_segment(f);
                            self.saw(|seen| seen.regions.insert(region.to_owned()));
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

    /// The product folders listed below an account's: its `CloudTrail/`, and for `verify`
    /// its `CloudTrail-Digest/` too.
    fn products(&self, account: &str) -> Vec<(String, Level)> {
        let mut products = vec![(format!("{account}CloudTrail/"), Level::Product)];
        if self.filter.digests {
            products.push((format!("{account}CloudTrail-Digest/"), Level::Product));
        }
        products
    }

    fn saw(&self, note: impl FnOnce(&mut Seen) -> bool) {
        note(
            &mut self
                .seen
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
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
    pub(super) async fn list_folders(&self, prefix: &str) -> Result<(Vec<String>, Keys), String> {
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
            // URL-encoded, so that a key holding a character XML cannot carry (ESC, say)
            // does not make the whole listing unreadable.
            let mut request = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .encoding_type(EncodingType::Url);
            if delimited {
                request = request.delimiter("/");
            }
            let page = request
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| describe(&e, Action::List, &self.bucket, &self.connection))?;
            // A server that ignores the request answers raw keys, and says nothing.
            let encoded = page.encoding_type() == Some(&EncodingType::Url);
            let decoded = |text: &str| match encoded {
                true => url_decoded(text),
                false => text.to_owned(),
            };
            folders.extend(
                page.common_prefixes()
                    .iter()
                    .filter_map(|p| p.prefix().map(decoded)),
            );
            self.counters
                .keys_listed
                .fetch_add(page.contents().len() as u64, Ordering::Relaxed);
            for object in page.contents() {
                if let Some(key) = object.key().map(decoded)
                    && !key.ends_with('/')
                {
                    objects.push((key, object.size().unwrap_or(0).max(0) as u64));
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

/// A key or prefix S3 URL-encoded in a listing (`encoding-type=url`): `%XX` is a byte and
/// `+` a space (a `+` in the key is `%2B`). Bytes that do not make UTF-8 leave it encoded.
fn url_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |at: usize| bytes.get(at).and_then(|b| (*b as char).to_digit(16));
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if let (Some(high), Some(low)) = (hex(i + 1), hex(i + 2)) => {
                out.push((high * 16 + low) as u8);
                i += 2;
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_owned())
}

pub(super) fn normalise(prefix: &str) -> String {
    let trimmed = prefix.trim_start_matches('/');
    if trimmed.is_empty() || trimmed.ends_with('/') {
        trimmed.to_owned()
    } else {
        format!("{trimmed}/")
    }
}

/// The level a user-given prefix points at, from its path segments after `AWSLogs`.
pub(super) fn level_of(prefix: &str) -> Level {
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

/// Slashes in `…/CloudTrail/<region>/` (or `…/CloudTrail-Digest/<region>/`): deeper
/// prefixes (a year, a day) are listed as they are.
fn region_depth(prefix: &str) -> usize {
    let product = ["/CloudTrail/", "/CloudTrail-Digest/"]
        .iter()
        .find_map(|folder| prefix.find(folder));
    let at_start = ["CloudTrail/", "CloudTrail-Digest/"]
        .iter()
        .any(|folder| prefix.starts_with(folder));
    match product.or_else(|| at_start.then_some(0)) {
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

pub(super) fn last_segment(folder: &str) -> &str {
    folder
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(folder)
}

pub(super) fn is_account(name: &str) -> bool {
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
    fn url_encoded_keys_are_decoded() {
        assert_eq!(url_decoded("a+b%2Bc%25d%1B%ED%95%9C"), "a b+c%d\u{1b}한");
        assert_eq!(url_decoded("100%"), "100%", "a lone % stays");
        assert_eq!(url_decoded("%zz%4"), "%zz%4");
        assert_eq!(url_decoded("%FF"), "%FF", "not UTF-8: left as it came");
    }

    #[test]
    fn a_region_prefix_is_planned_by_day_but_a_deeper_one_is_listed_as_is() {
        let region = "x/AWSLogs/111122223333/CloudTrail/us-east-1/";
        assert_eq!(region_depth(region), region.matches('/').count());
        let day = "x/AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/20/";
        assert!(day.matches('/').count() > region_depth(day));
        let digests = "x/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/";
        assert_eq!(region_depth(digests), digests.matches('/').count());
        let digest_day = "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/20/";
        assert!(digest_day.matches('/').count() > region_depth(digest_day));
    }
}
