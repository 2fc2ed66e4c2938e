//! What the user typed and the configuration file, validated and resolved into a run.
//!
//! Precedence: command-line flags, then the configuration file (`--config FILE`, else
//! `$TRAILSCAN_CONFIG`, else `./trailscan.toml`, else `~/.config/trailscan/config.toml`).

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::{DateTime, TimeDelta, Utc};
use clap::ValueEnum;
use serde::Deserialize;
use toml::Spanned;

use crate::aws::Connection;
use crate::cli::RunArgs;
use crate::output::Format;
use crate::query::{Catalog, QuerySet, Severity, Suppression};
use crate::source::s3::S3Options;
use crate::source::{Filter, SourceSpec, TimeWindow, parse_duration, parse_time_bound};

/// S3 requests in flight at once unless `--s3-concurrency` says otherwise.
const DEFAULT_S3_CONCURRENCY: usize = 16;
/// How far before the newest object read a cron run looks again for late deliveries.
const DEFAULT_LOOKBACK: TimeDelta = TimeDelta::hours(1);

/// A validated run: sources, what to keep, how to print, when to fail, whom to tell.
#[derive(Debug, Clone)]
pub struct Config {
    pub sources: Vec<SourceSpec>,
    pub filter: Filter,
    pub format: Format,
    pub fail_on: Severity,
    pub threads: Option<usize>,
    pub show_progress: bool,
    pub fit_terminal: bool,
    pub s3: S3Options,
    pub sns_topic: Option<String>,
    pub dry_run: bool,
    pub state: Option<PathBuf>,
    pub lookback: TimeDelta,
}

impl Config {
    pub fn new(args: &RunArgs, sources: &[String], now: DateTime<Utc>) -> anyhow::Result<Config> {
        if sources.is_empty() {
            bail!(
                "no source given: pass a folder or file of CloudTrail logs (`trailscan audit ./AWSLogs`), \
                 the trail's bucket (`trailscan audit s3://BUCKET --since 24h`), or set `sources` in trailscan.toml"
            );
        }
        let bound = |flag: &str, text: &Option<String>| -> anyhow::Result<Option<DateTime<Utc>>> {
            text.as_deref()
                .map(|t| {
                    parse_time_bound(t, now)
                        .map_err(anyhow::Error::msg)
                        .with_context(|| format!("invalid {flag}"))
                })
                .transpose()
        };
        let window = TimeWindow {
            since: bound("--since", &args.since)?,
            until: bound("--until", &args.until)?,
        };
        if let (Some(since), Some(until)) = (window.since, window.until)
            && since >= until
        {
            bail!("--since ({since}) must be earlier than --until ({until})");
        }
        for account in &args.account {
            if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
                bail!("--account '{account}' is not a 12-digit AWS account id");
            }
        }
        if args.threads == Some(0) {
            bail!("--threads must be at least 1");
        }
        if args.s3_concurrency == Some(0) {
            bail!("--s3-concurrency must be at least 1");
        }
        if let Some(topic) = &args.sns_topic {
            check_topic(topic)?;
        }
        let lookback = match &args.lookback {
            Some(text) => parse_duration(text).with_context(|| {
                format!("invalid --lookback: '{text}' is not a duration such as 1h or 90m")
            })?,
            None => DEFAULT_LOOKBACK,
        };
        let format = args.format.unwrap_or(Format::Table);
        Ok(Config {
            sources: sources.iter().map(|s| SourceSpec::parse(s)).collect(),
            filter: Filter {
                window,
                accounts: args.account.clone(),
                regions: args.region.clone(),
                listing_since: None,
            },
            format,
            fail_on: args.fail_on.unwrap_or(Severity::Info),
            threads: args.threads,
            show_progress: !args.no_progress && std::io::stderr().is_terminal(),
            fit_terminal: format == Format::Table && std::io::stdout().is_terminal(),
            s3: S3Options {
                connection: Connection {
                    profile: args.profile.clone(),
                    region: args.bucket_region.clone(),
                    endpoint_url: args.endpoint_url.clone(),
                },
                concurrency: args.s3_concurrency.unwrap_or(DEFAULT_S3_CONCURRENCY),
                cache_dir: args.cache_dir.clone(),
            },
            sns_topic: args.sns_topic.clone(),
            dry_run: args.dry_run,
            state: args.state.clone(),
            lookback,
        })
    }
}

/// An SNS topic ARN: `arn:<partition>:sns:<region>:<account>:<name>`.
pub fn check_topic(topic: &str) -> anyhow::Result<()> {
    let parts: Vec<&str> = topic.split(':').collect();
    if parts.len() != 6
        || parts[0] != "arn"
        || parts[2] != "sns"
        || parts[3].is_empty()
        || parts[5].is_empty()
    {
        bail!("--sns-topic '{topic}' is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)");
    }
    Ok(())
}

/// The region in an SNS topic ARN, where the topic must be published to.
pub fn topic_region(topic: &str) -> Option<&str> {
    topic.split(':').nth(3).filter(|r| !r.is_empty())
}

/// The built-in queries plus `--queries DIR`, or every problem found in them.
pub fn load_catalog(args: &RunArgs) -> anyhow::Result<Catalog> {
    Catalog::load(args.queries_dir.as_deref()).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        anyhow::anyhow!(
            "the queries have problems (fix them, or check with `trailscan queries lint`):\n{}",
            lines.join("\n")
        )
    })
}

/// The configuration file as written. Unknown keys are errors.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileContents {
    sources: Option<Vec<String>>,
    since: Option<Spanned<String>>,
    until: Option<Spanned<String>>,
    #[serde(default)]
    account: Vec<String>,
    #[serde(default)]
    region: Vec<String>,
    queries: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
    queries_dir: Option<PathBuf>,
    fail_on: Option<Spanned<String>>,
    format: Option<Spanned<String>>,
    sns_topic: Option<Spanned<String>>,
    state: Option<PathBuf>,
    lookback: Option<Spanned<String>>,
    profile: Option<String>,
    bucket_region: Option<String>,
    endpoint_url: Option<String>,
    s3_concurrency: Option<usize>,
    cache_dir: Option<PathBuf>,
    threads: Option<usize>,
    #[serde(default)]
    suppress: BTreeMap<String, Spanned<SuppressContents>>,
    /// The organisation's networks, for `suspicious-ips`.
    known_cidrs: Option<Spanned<Vec<String>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SuppressContents {
    #[serde(default)]
    principals: Vec<String>,
    #[serde(default)]
    source_cidrs: Vec<String>,
    #[serde(default)]
    event_names: Vec<String>,
}

/// A loaded configuration file; every error it reports names the file and line.
#[derive(Debug)]
pub struct FileConfig {
    path: PathBuf,
    text: String,
    contents: FileContents,
}

impl FileConfig {
    /// Finds the file to use: `--config`, `$TRAILSCAN_CONFIG`, `./trailscan.toml`, then the
    /// user's config folder. An explicitly named file must exist; the others are optional.
    pub fn locate(explicit: Option<&Path>) -> anyhow::Result<Option<FileConfig>> {
        if let Some(path) = explicit {
            return FileConfig::load(path).map(Some);
        }
        if let Some(path) = std::env::var_os("TRAILSCAN_CONFIG").filter(|p| !p.is_empty()) {
            return FileConfig::load(Path::new(&path))
                .map(Some)
                .context("from $TRAILSCAN_CONFIG");
        }
        let user_dir = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".config")));
        let candidates = [
            Some(PathBuf::from("trailscan.toml")),
            user_dir.map(|d| d.join("trailscan/config.toml")),
        ];
        for path in candidates.into_iter().flatten() {
            if path.is_file() {
                return FileConfig::load(&path).map(Some);
            }
        }
        Ok(None)
    }

    pub fn load(path: &Path) -> anyhow::Result<FileConfig> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the configuration {}", path.display()))?;
        let contents: FileContents = toml::from_str(&text).map_err(|e| {
            let line = e.span().map_or(0, |span| line_of(&text, span.start));
            anyhow::anyhow!("{}:{line}: {}", path.display(), e.message().trim())
        })?;
        Ok(FileConfig {
            path: path.to_owned(),
            text,
            contents,
        })
    }

    fn error_at<T>(&self, spanned: &Spanned<T>, message: impl std::fmt::Display) -> anyhow::Error {
        anyhow::anyhow!(
            "{}:{}: {message}",
            self.path.display(),
            line_of(&self.text, spanned.span().start)
        )
    }

    /// The file's settings as if typed, each checked here so an error can name its line.
    pub fn run_args(&self, now: DateTime<Utc>) -> anyhow::Result<RunArgs> {
        let c = &self.contents;
        for (key, value) in [("since", &c.since), ("until", &c.until)] {
            if let Some(value) = value {
                parse_time_bound(value.get_ref(), now)
                    .map_err(|e| self.error_at(value, format!("{key}: {e}")))?;
            }
        }
        let fail_on = match &c.fail_on {
            Some(v) => Some(
                v.get_ref()
                    .parse::<Severity>()
                    .map_err(|e| self.error_at(v, format!("fail_on: {e}")))?,
            ),
            None => None,
        };
        let format = match &c.format {
            Some(v) => Some(Format::from_str(v.get_ref(), true).map_err(|_| {
                self.error_at(
                    v,
                    format!("format: '{}' is not table, json, jsonl or csv", v.get_ref()),
                )
            })?),
            None => None,
        };
        if let Some(v) = &c.lookback {
            parse_duration(v.get_ref()).ok_or_else(|| {
                self.error_at(
                    v,
                    format!("lookback: '{}' is not a duration such as 1h", v.get_ref()),
                )
            })?;
        }
        if let Some(v) = &c.sns_topic {
            check_topic(v.get_ref()).map_err(|e| self.error_at(v, format!("sns_topic: {e}")))?;
        }
        Ok(RunArgs {
            since: c.since.as_ref().map(|v| v.get_ref().clone()),
            until: c.until.as_ref().map(|v| v.get_ref().clone()),
            account: c.account.clone(),
            region: c.region.clone(),
            queries_dir: c.queries_dir.as_ref().map(|p| self.relative(p)),
            format,
            fail_on,
            no_progress: false,
            threads: c.threads,
            profile: c.profile.clone(),
            bucket_region: c.bucket_region.clone(),
            endpoint_url: c.endpoint_url.clone(),
            s3_concurrency: c.s3_concurrency,
            cache_dir: c.cache_dir.as_ref().map(|p| self.relative(p)),
            config: Some(self.path.clone()),
            sns_topic: c.sns_topic.as_ref().map(|v| v.get_ref().clone()),
            dry_run: false,
            state: c.state.as_ref().map(|p| self.relative(p)),
            lookback: c.lookback.as_ref().map(|v| v.get_ref().clone()),
        })
    }

    /// `known_cidrs`, checked.
    pub fn known_networks(&self) -> anyhow::Result<Option<Vec<String>>> {
        match &self.contents.known_cidrs {
            Some(list) => {
                crate::query::suppress::Networks::parse(list.get_ref())
                    .map_err(|e| self.error_at(list, format!("known_cidrs: {e}")))?;
                Ok(Some(list.get_ref().clone()))
            }
            None => Ok(None),
        }
    }

    pub fn sources(&self) -> Vec<String> {
        self.contents.sources.clone().unwrap_or_default()
    }

    /// Paths in the file are relative to the file, so cron's working folder does not matter.
    fn relative(&self, path: &Path) -> PathBuf {
        match self.path.parent() {
            Some(dir) if path.is_relative() && !dir.as_os_str().is_empty() => dir.join(path),
            _ => path.to_owned(),
        }
    }

    /// Narrows an audit's queries to `queries` (all when absent) minus `exclude`.
    pub fn select(&self, catalog: &Catalog, set: QuerySet) -> anyhow::Result<QuerySet> {
        let c = &self.contents;
        for name in c.queries.iter().flatten().chain(&c.exclude) {
            if catalog.get(name.get_ref()).is_none() {
                let key = if c.exclude.iter().any(|e| std::ptr::eq(e, name)) {
                    "exclude"
                } else {
                    "queries"
                };
                return Err(self.error_at(
                    name,
                    format!(
                        "{key}: no query named '{}' (see `trailscan queries`)",
                        name.get_ref()
                    ),
                ));
            }
        }
        let set = match &c.queries {
            Some(include) => set.retain(|name| include.iter().any(|i| i.get_ref() == name)),
            None => set,
        };
        Ok(set.retain(|name| !c.exclude.iter().any(|e| e.get_ref() == name)))
    }

    /// Applies the `[suppress.NAME]` tables to the queries of `set`.
    pub fn suppress(&self, catalog: &Catalog, mut set: QuerySet) -> anyhow::Result<QuerySet> {
        for (name, rules) in &self.contents.suppress {
            if catalog.get(name).is_none() {
                return Err(
                    self.error_at(rules, format!("suppress.{name}: no query named '{name}'"))
                );
            }
            let r = rules.get_ref();
            let suppression = Suppression::new(&r.principals, &r.source_cidrs, &r.event_names)
                .map_err(|e| self.error_at(rules, format!("suppress.{name}: {e}")))?;
            set.suppress(name, suppression);
        }
        Ok(set)
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> RunArgs {
        RunArgs::default()
    }

    #[test]
    fn bad_values_are_named_in_the_error() {
        let now = Utc::now();
        let sources = ["logs".to_owned()];
        let e = Config::new(
            &RunArgs {
                since: Some("7x".into()),
                ..args()
            },
            &sources,
            now,
        )
        .unwrap_err();
        assert!(
            format!("{e:#}").starts_with("invalid --since: '7x' is neither"),
            "{e:#}"
        );
        let e = Config::new(
            &RunArgs {
                account: vec!["123".into()],
                ..args()
            },
            &sources,
            now,
        )
        .unwrap_err();
        assert!(e.to_string().contains("12-digit"), "{e}");
        let e = Config::new(
            &RunArgs {
                since: Some("1d".into()),
                until: Some("2d".into()),
                ..args()
            },
            &sources,
            now,
        )
        .unwrap_err();
        assert!(e.to_string().contains("must be earlier"), "{e}");
        let e = Config::new(&args(), &[], now).unwrap_err();
        assert!(e.to_string().starts_with("no source given"), "{e}");
        let e = Config::new(
            &RunArgs {
                sns_topic: Some("my-topic".into()),
                ..args()
            },
            &sources,
            now,
        )
        .unwrap_err();
        assert!(e.to_string().contains("is not an SNS topic ARN"), "{e}");
    }

    fn file(text: &str) -> anyhow::Result<FileConfig> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trailscan.toml");
        std::fs::write(&path, text).unwrap();
        FileConfig::load(&path)
    }

    #[test]
    fn file_errors_name_the_line() {
        let now = Utc::now();
        let cases = [
            (
                "sources = [\"x\"]\nsincee = \"1d\"\n",
                ":2: unknown field `sincee`",
            ),
            ("sources = [\"x\"]\nthreads = \"two\"\n", ":2: invalid type"),
            (
                "\n\nsince = \"yesterday\"\n",
                ":3: since: 'yesterday' is neither",
            ),
            ("fail_on = \"urgent\"\n", ":1: fail_on: unknown severity"),
            ("format = \"xml\"\n", ":1: format: 'xml' is not"),
            ("lookback = \"soon\"\n", ":1: lookback:"),
            ("sns_topic = \"topic\"\n", ":1: sns_topic:"),
        ];
        for (text, expected) in cases {
            let result = file(text).and_then(|f| f.run_args(now));
            let error = format!("{:#}", result.unwrap_err());
            assert!(error.contains(expected), "{text:?}: {error}");
        }
        let catalog = Catalog::load(None).unwrap();
        let set = || QuerySet::new(catalog.all().to_vec());
        let e = file("queries = [\"root-usage\", \"nope\"]\n")
            .unwrap()
            .select(&catalog, set())
            .unwrap_err();
        assert!(
            e.to_string().contains(":1: queries: no query named 'nope'"),
            "{e}"
        );
        let e = file("[suppress.root-usage]\nsource_cidrs = [\"10.0.0.0/99\"]\n")
            .unwrap()
            .suppress(&catalog, set())
            .unwrap_err();
        assert!(
            e.to_string()
                .contains(":1: suppress.root-usage: '10.0.0.0/99' is not a network"),
            "{e}"
        );
    }

    #[test]
    fn file_settings_select_queries_and_paths_are_relative_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trailscan.toml");
        std::fs::write(&path, "sources = [\"logs\"]\nstate = \"state.json\"\nqueries = [\"root-usage\", \"vpc-changes\", \"nacl-changes\"]\nexclude = [\"vpc-changes\"]\n").unwrap();
        let config = FileConfig::load(&path).unwrap();
        let args = config.run_args(Utc::now()).unwrap();
        assert_eq!(args.state, Some(dir.path().join("state.json")));
        let catalog = Catalog::load(None).unwrap();
        let set = config
            .select(&catalog, QuerySet::new(catalog.all().to_vec()))
            .unwrap();
        let names: Vec<&str> = set.queries().iter().map(|q| q.name.as_str()).collect();
        assert_eq!(names, ["nacl-changes", "root-usage"]);
    }
}
