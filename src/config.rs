//! What the user typed, validated and resolved into what a run needs.

use std::io::IsTerminal;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};

use crate::cli::RunArgs;
use crate::output::Format;
use crate::query::{Catalog, Severity};
use crate::source::s3::S3Options;
use crate::source::{Filter, SourceSpec, TimeWindow, parse_time_bound};

/// S3 requests in flight at once unless `--s3-concurrency` says otherwise.
const DEFAULT_S3_CONCURRENCY: usize = 16;

/// A validated run: sources, what to keep, how to print, and when to fail.
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
}

impl Config {
    pub fn new(args: &RunArgs, sources: &[String], now: DateTime<Utc>) -> anyhow::Result<Config> {
        if sources.is_empty() {
            bail!(
                "no source given: pass a folder or file of CloudTrail logs, e.g. `trailscan audit ./AWSLogs` \
                 or the trail's bucket, e.g. `trailscan audit s3://BUCKET/AWSLogs --since 24h`"
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
        let format = args.format.unwrap_or(Format::Table);
        Ok(Config {
            sources: sources.iter().map(|s| SourceSpec::parse(s)).collect(),
            filter: Filter {
                window,
                accounts: args.account.clone(),
                regions: args.region.clone(),
            },
            format,
            fail_on: args.fail_on.unwrap_or(Severity::Info),
            threads: args.threads,
            show_progress: !args.no_progress && std::io::stderr().is_terminal(),
            fit_terminal: format == Format::Table && std::io::stdout().is_terminal(),
            s3: S3Options {
                profile: args.profile.clone(),
                bucket_region: args.bucket_region.clone(),
                endpoint_url: args.endpoint_url.clone(),
                concurrency: args.s3_concurrency.unwrap_or(DEFAULT_S3_CONCURRENCY),
                cache_dir: args.cache_dir.clone(),
            },
        })
    }
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
    }
}
