//! The command line as typed (clap derive), and the settings it shares with the configuration file.
//!
//! Nothing here is resolved or validated: that is `config`'s work.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use serde::{Deserialize, Serialize};

use crate::analysis::AnalysisCommand;
use crate::meta::Severity;
use crate::output::Format;

const EXAMPLES: &str = "\
Examples:
  trailscan audit ./AWSLogs                     every canned query, one pass over the data
  trailscan --since 24h ./AWSLogs               the same (audit is the default)
  trailscan failed-logins ./AWSLogs             one canned query
  trailscan policy-changes ./AWSLogs --since 7d --account 111122223333
  trailscan --since 24h s3://trail-bucket/AWSLogs --profile security --cache-dir ~/.cache/trailscan
  trailscan query \"SELECT eventName, count(*) AS n FROM cloudtrail_logs
                  WHERE errorCode IS NOT NULL GROUP BY eventName ORDER BY n DESC LIMIT 10\" ./AWSLogs
  trailscan queries                             list the canned queries
  trailscan show root-usage                     one query's SQL and runbook
  trailscan queries lint ./my-queries           check query files
  trailscan --config /etc/trailscan.toml        cron: sources, window, state and SNS topic from the file
  trailscan alert-test --sns-topic arn:aws:sns:us-east-1:111122223333:security-alerts
  trailscan suspicious-ips ./AWSLogs --since 7d --format blocklist
  trailscan insights ./AWSLogs --since 8d --recent 24h

Exit status: 0 no findings at or above --fail-on, 1 findings, 2 error (unreadable input too).";

#[derive(Debug, Parser)]
#[command(
    name = "trailscan",
    version,
    about = "Offline AWS CloudTrail analyzer: Athena-SQL queries and CIS monitoring controls over CloudTrail archives",
    override_usage = "trailscan [OPTIONS] [SOURCES]...\n       trailscan <QUERY> [OPTIONS] [SOURCES]...\n       trailscan <COMMAND>",
    after_help = EXAMPLES,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every query in one pass over the data (the default)
    Audit {
        /// Files or folders of CloudTrail logs (.json, .json.gz, JSON Lines)
        #[arg(value_name = "SOURCES")]
        sources: Vec<String>,
    },
    /// Run ad-hoc Athena SQL against `cloudtrail_logs`; rows are results, not findings
    Query {
        /// A SELECT over `cloudtrail_logs`, as in Athena
        sql: String,
        /// Files or folders of CloudTrail logs
        #[arg(value_name = "SOURCES")]
        sources: Vec<String>,
    },
    /// List the queries, or check query files
    Queries {
        #[command(subcommand)]
        action: Option<QueriesAction>,
    },
    /// Send a test notification to --sns-topic, to check a new setup end to end
    AlertTest,
    #[command(flatten)]
    Analysis(AnalysisCommand),
    /// Print one query: its metadata, runbook and SQL
    Show {
        /// A query name, as listed by `trailscan queries`
        name: String,
    },
    /// A query name followed by its sources runs that one query
    #[command(external_subcommand)]
    Named(Vec<String>),
}

#[derive(Debug, Subcommand)]
pub enum QueriesAction {
    /// Check query files and report every problem as file:line:column
    Lint {
        /// A folder of .sql files; without it, the built-in queries (and --queries)
        dir: Option<PathBuf>,
    },
}

/// How `trailscan <QUERY> …` is parsed once the query name is known.
#[derive(Debug, Parser)]
pub struct NamedQueryCli {
    #[command(flatten)]
    pub settings: Settings,

    /// Files or folders of CloudTrail logs
    #[arg(value_name = "SOURCES")]
    pub sources: Vec<String>,
}

/// The settings of a run, as typed on the command line or written in the configuration
/// file (the same names, with `_` for `-`): the one list of them. A flag given wins over the
/// file; a setting without a flag lives in the file only, and `--config`, `--dry-run` and
/// `--no-progress` on the command line only.
#[derive(Debug, Clone, Default, Args, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Where the logs are, when the command line names none.
    #[arg(skip)]
    pub sources: Vec<String>,

    /// Only events at or after WHEN: a duration back from now (90m, 24h, 7d, 2w), an RFC 3339 time, or a date
    #[arg(long, value_name = "WHEN", global = true, help_heading = "Time window")]
    pub since: Option<String>,

    /// Only events before WHEN (same forms as --since)
    #[arg(long, value_name = "WHEN", global = true, help_heading = "Time window")]
    pub until: Option<String>,

    /// Only these accounts (repeat or separate with commas)
    #[arg(
        long,
        value_name = "ID",
        value_delimiter = ',',
        global = true,
        help_heading = "Input"
    )]
    pub account: Vec<String>,

    /// Only these regions (repeat or separate with commas)
    #[arg(
        long,
        value_name = "REGION",
        value_delimiter = ',',
        global = true,
        help_heading = "Input"
    )]
    pub region: Vec<String>,

    /// Add or replace queries with the .sql files of DIR
    #[arg(
        long = "queries",
        value_name = "DIR",
        global = true,
        help_heading = "Input"
    )]
    pub queries_dir: Option<PathBuf>,

    /// The audit runs these queries (all when absent).
    #[arg(skip)]
    pub queries: Option<Vec<String>>,

    /// The audit leaves these queries out.
    #[arg(skip)]
    pub exclude: Vec<String>,

    /// Output format [default: table]
    #[arg(long, value_enum, global = true, help_heading = "Output")]
    #[serde(deserialize_with = "from_file::format")]
    pub format: Option<Format>,

    /// Exit 1 only for findings of this severity or higher [default: info, any finding]
    #[arg(long, value_name = "SEVERITY", global = true, help_heading = "Output")]
    #[serde(deserialize_with = "from_file::severity")]
    pub fail_on: Option<Severity>,

    /// Never draw the progress bar (it is only drawn when stderr is a terminal)
    #[arg(long, global = true, help_heading = "Output")]
    #[serde(skip)]
    pub no_progress: bool,

    /// AWS profile for s3:// sources [default: AWS_PROFILE, then the default chain]
    #[arg(long, value_name = "NAME", global = true, help_heading = "S3")]
    pub profile: Option<String>,

    /// Region of the S3 bucket, when neither AWS_REGION nor the profile says it
    #[arg(long, value_name = "REGION", global = true, help_heading = "S3")]
    pub bucket_region: Option<String>,

    /// S3-compatible endpoint, e.g. http://127.0.0.1:9000 [default: AWS_ENDPOINT_URL, then AWS]
    #[arg(long, value_name = "URL", global = true, help_heading = "S3")]
    pub endpoint_url: Option<String>,

    /// Downloads and listings in flight at once
    #[arg(long, value_name = "N", global = true, help_heading = "S3")]
    pub s3_concurrency: Option<usize>,

    /// Keep downloaded objects in DIR/<bucket>/<key>; later runs download only what is missing
    #[arg(long, value_name = "DIR", global = true, help_heading = "S3")]
    pub cache_dir: Option<PathBuf>,

    /// Read settings from this TOML file [default: $TRAILSCAN_CONFIG, ./trailscan.toml, ~/.config/trailscan/config.toml]
    #[arg(long, value_name = "FILE", global = true, help_heading = "Cron")]
    #[serde(skip)]
    pub config: Option<PathBuf>,

    /// Publish one SNS message per query with new findings
    #[arg(long, value_name = "ARN", global = true, help_heading = "Cron")]
    pub sns_topic: Option<String>,

    /// Print the SNS messages instead of sending them (the state is not changed)
    #[arg(long, global = true, help_heading = "Cron")]
    #[serde(skip)]
    pub dry_run: bool,

    /// Remember objects read and findings alerted in FILE: report only what is new
    #[arg(long, value_name = "FILE", global = true, help_heading = "Cron")]
    pub state: Option<PathBuf>,

    /// With --state, how far back to look again for late deliveries [default: 1h]
    #[arg(long, value_name = "DURATION", global = true, help_heading = "Cron")]
    pub lookback: Option<String>,

    /// Per query, the principals, source networks and event names it ignores.
    #[arg(skip)]
    pub suppress: BTreeMap<String, SuppressSettings>,

    /// The organisation's networks, for `suspicious-ips`.
    #[arg(skip)]
    pub known_cidrs: Option<Vec<String>>,

    /// Worker threads [default: one per core]
    #[arg(
        long,
        short = 'j',
        value_name = "N",
        global = true,
        help_heading = "Run"
    )]
    pub threads: Option<usize>,
}

/// What one query ignores (`[suppress.NAME]` in the configuration file).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuppressSettings {
    #[serde(default)]
    pub principals: Vec<String>,
    #[serde(default)]
    pub source_cidrs: Vec<String>,
    #[serde(default)]
    pub event_names: Vec<String>,
}

/// Values of the configuration file that have a type of their own, with messages that name
/// the key (the file's reader adds the line).
mod from_file {
    use serde::{Deserialize, Deserializer};

    use crate::meta::Severity;
    use crate::output::Format;

    pub fn format<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Format>, D::Error> {
        let text = String::deserialize(d)?;
        let format = <Format as clap::ValueEnum>::from_str(&text, true).map_err(|_| {
            serde::de::Error::custom(format!(
                "format: '{text}' is not table, json, jsonl, csv or blocklist"
            ))
        })?;
        Ok(Some(format))
    }

    pub fn severity<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Severity>, D::Error> {
        let text = String::deserialize(d)?;
        text.parse()
            .map(Some)
            .map_err(|e| serde::de::Error::custom(format!("fail_on: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definitions_are_consistent() {
        Cli::command().debug_assert();
        NamedQueryCli::command().debug_assert();
    }

    #[test]
    fn query_names_may_not_be_commands() {
        let commands: Vec<String> = (Cli::command().get_subcommands())
            .map(|c| c.get_name().to_owned())
            .chain(["help".to_owned()])
            .collect();
        let mut reserved: Vec<&str> = crate::lang::RESERVED_NAMES.to_vec();
        let mut commands: Vec<&str> = commands.iter().map(String::as_str).collect();
        reserved.sort_unstable();
        commands.sort_unstable();
        assert_eq!(reserved, commands);
    }

    #[test]
    fn options_go_before_or_after_the_command() {
        let cli = Cli::try_parse_from([
            "trailscan",
            "--since",
            "7d",
            "audit",
            "x",
            "--region",
            "a,b",
        ])
        .unwrap();
        assert_eq!(cli.settings.since.as_deref(), Some("7d"));
        assert_eq!(cli.settings.region, ["a", "b"]);
        assert!(matches!(cli.command, Some(Command::Audit { sources }) if sources == ["x"]));
    }

    #[test]
    fn a_query_name_or_a_path_arrives_as_a_named_command() {
        let cli = Cli::try_parse_from([
            "trailscan",
            "--since",
            "24h",
            "failed-logins",
            "./logs",
            "--format",
            "csv",
        ])
        .unwrap();
        assert_eq!(cli.settings.since.as_deref(), Some("24h"));
        let Some(Command::Named(words)) = cli.command else {
            panic!("expected a named command")
        };
        assert_eq!(words, ["failed-logins", "./logs", "--format", "csv"]);
    }
}
