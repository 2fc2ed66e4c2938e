//! A bucket's trails, for `athena ddl`: each `AWSLogs/[o-…/]` folder with its accounts, regions and first day.
//!
//! The same delimiter listings as a scan's walk, stopping above the days: a bucket of years
//! of logs takes a request per folder of the layout, never a listing of its objects.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use tokio::task::JoinSet;

use super::lister::{
    Level, Lister, SEARCH_DEPTH, SEARCH_WIDTH, is_account, last_segment, level_of, normalise,
};

/// One trail's folder in a bucket, and what was found below it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrailFolder {
    /// Where the account folders are: `[prefix/]AWSLogs/` or `[prefix/]AWSLogs/o-…/`.
    pub root: String,
    /// The organization id of an organization trail (`o-…`).
    pub organization: Option<String>,
    pub accounts: BTreeSet<String>,
    pub regions: BTreeSet<String>,
    /// The earliest `YYYY/MM/DD/` folder below any of its accounts and regions.
    pub first_day: Option<NaiveDate>,
}

impl Lister {
    /// The trails below `prefix`. The filter's accounts and regions, when it names some,
    /// are the trail's (they are not listed); `first_day` lists years, months and days down
    /// to the earliest.
    pub(super) async fn trails(
        &self,
        prefix: String,
        first_day: bool,
    ) -> Result<Vec<TrailFolder>, String> {
        let prefix = normalise(&prefix);
        let mut found = Vec::new();
        match level_of(&prefix) {
            Level::Search(_) => {
                let mut pending = vec![(prefix, 0u8)];
                while let Some((folder, depth)) = pending.pop() {
                    let (folders, _) = self.list_folders(&folder).await?;
                    for child in folders.iter().take(SEARCH_WIDTH) {
                        if last_segment(child) == "AWSLogs" {
                            found.extend(self.below_root(child).await?);
                        } else if depth < SEARCH_DEPTH {
                            pending.push((child.clone(), depth + 1));
                        }
                    }
                }
            }
            Level::Root => found.extend(self.below_root(&prefix).await?),
            Level::Organization => found.push(self.organization(&prefix).await?),
            Level::Account | Level::Product | Level::Region => {
                // A prefix inside one account: its trail is the folder above the account.
                let parts: Vec<&str> = prefix.split('/').filter(|p| !p.is_empty()).collect();
                let at = parts.iter().rposition(|p| *p == "AWSLogs").unwrap_or(0);
                let org = parts.get(at + 1).filter(|p| p.starts_with("o-"));
                let account_at = at + 1 + usize::from(org.is_some());
                let root = format!("{}/", parts[..account_at].join("/"));
                let mut trail = TrailFolder {
                    root,
                    organization: org.map(|o| (*o).to_owned()),
                    ..TrailFolder::default()
                };
                trail
                    .accounts
                    .extend(parts.get(account_at).map(|a| (*a).to_owned()));
                trail
                    .regions
                    .extend(parts.get(account_at + 2).map(|r| (*r).to_owned()));
                found.push(trail);
            }
        }
        found.sort_by(|a, b| a.root.cmp(&b.root));
        let mut trails = Vec::new();
        for mut trail in found {
            if !self.filter.accounts.is_empty() {
                trail.accounts = self.filter.accounts.iter().cloned().collect();
            }
            if trail.accounts.is_empty() {
                continue;
            }
            if !self.filter.regions.is_empty() {
                trail.regions = self.filter.regions.iter().cloned().collect();
            } else if trail.regions.is_empty() {
                for account in &trail.accounts {
                    let (folders, _) = self
                        .list_folders(&format!("{}{account}/CloudTrail/", trail.root))
                        .await?;
                    trail
                        .regions
                        .extend(folders.iter().map(|f| last_segment(f).to_owned()));
                }
            }
            if first_day {
                trail.first_day = self.first_day(&trail).await?;
            }
            trails.push(trail);
        }
        Ok(trails)
    }

    /// The trails of one `AWSLogs/` folder: its accounts, and each organization's.
    async fn below_root(&self, root: &str) -> Result<Vec<TrailFolder>, String> {
        let (folders, _) = self.list_folders(root).await?;
        let mut plain = TrailFolder {
            root: root.to_owned(),
            ..TrailFolder::default()
        };
        let mut trails = Vec::new();
        for folder in &folders {
            let name = last_segment(folder);
            if name.starts_with("o-") {
                trails.push(self.organization(folder).await?);
            } else if is_account(name) {
                plain.accounts.insert(name.to_owned());
            }
        }
        if !plain.accounts.is_empty() {
            trails.insert(0, plain);
        }
        Ok(trails)
    }

    async fn organization(&self, root: &str) -> Result<TrailFolder, String> {
        let (folders, _) = self.list_folders(root).await?;
        Ok(TrailFolder {
            root: root.to_owned(),
            organization: Some(last_segment(root).to_owned()),
            accounts: (folders.iter().map(|f| last_segment(f)))
                .filter(|name| is_account(name))
                .map(str::to_owned)
                .collect(),
            ..TrailFolder::default()
        })
    }

    /// The earliest day folder below the trail's accounts and regions: the smallest year
    /// of any, then the smallest month among those, then the smallest day.
    async fn first_day(&self, trail: &TrailFolder) -> Result<Option<NaiveDate>, String> {
        let mut prefixes: Vec<String> = (trail.accounts.iter())
            .flat_map(|account| {
                (trail.regions.iter())
                    .map(move |region| format!("{}{account}/CloudTrail/{region}/", trail.root))
            })
            .collect();
        let mut parts = Vec::new();
        for _ in 0..3 {
            let mut tasks = JoinSet::new();
            for prefix in prefixes {
                let this = self.clone();
                tasks.spawn(async move { this.list_folders(&prefix).await });
            }
            let mut children = Vec::new();
            while let Some(joined) = tasks.join_next().await {
                let (folders, _) = joined.map_err(|e| format!("listing task failed: {e}"))??;
                children.extend(
                    folders
                        .into_iter()
                        .filter(|f| last_segment(f).bytes().all(|b| b.is_ascii_digit())),
                );
            }
            let Some(least) = children.iter().map(|f| last_segment(f).to_owned()).min() else {
                return Ok(None);
            };
            prefixes = (children.into_iter())
                .filter(|f| last_segment(f) == least)
                .collect();
            parts.push(least);
        }
        Ok(NaiveDate::parse_from_str(&parts.join("/"), "%Y/%m/%d").ok())
    }
}
