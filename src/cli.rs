//! The command line as typed (clap derive): nothing here is resolved or validated.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::output::Format;
use crate::query::Severity;

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
    pub run: RunArgs,

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
    /// Flag source addresses: failed sign-ins, denied calls, principals or user names tried
    SuspiciousIps {
        #[arg(value_name = "SOURCES")]
        sources: Vec<String>,
        #[command(flatten)]
        thresholds: IpArgs,
    },
    /// Unusual hourly API call and error rates, and first-seen write calls, against a baseline
    Insights {
        #[arg(value_name = "SOURCES")]
        sources: Vec<String>,
        #[command(flatten)]
        periods: PeriodArgs,
        /// Flag hours above mean + K standard deviations of the baseline
        #[arg(long, value_name = "K", default_value_t = 3.0)]
        sigma: f64,
        /// ...and with at least N calls or errors
        #[arg(long, value_name = "N", default_value_t = 10)]
        min_count: u64,
    },
    /// Secrets Manager: new readers of a secret, bursts of reads, deletions and sharing
    SecretsAccess {
        #[arg(value_name = "SOURCES")]
        sources: Vec<String>,
        #[command(flatten)]
        periods: PeriodArgs,
        /// A burst is N or more secret reads by one principal within 5 minutes
        #[arg(long, value_name = "N", default_value_t = 20)]
        burst: u64,
    },
    /// Print one query: its metadata, runbook and SQL
    Show {
        /// A query name, as listed by `trailscan queries`
        name: String,
    },
    /// Inflate every object and count the bytes, nothing else (the benchmark's baseline)
    #[command(hide = true)]
    Decompress {
        #[arg(value_name = "SOURCES")]
        sources: Vec<String>,
    },
    /// A query name followed by its sources runs that one query
    #[command(external_subcommand)]
    Named(Vec<String>),
}

/// Thresholds of `suspicious-ips`: reaching any one flags the address.
#[derive(Debug, Clone, Args)]
pub struct IpArgs {
    /// Failed console sign-ins from the address
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub failed_logins: u64,
    /// AccessDenied / UnauthorizedOperation errors from the address
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub denied_calls: u64,
    /// Distinct principals (ARNs) seen from the address (offices and NAT gateways share one)
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub principals: u64,
    /// Distinct user names tried in failed sign-ins (password spraying)
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub user_names: u64,
    /// Your networks, one CIDR per line: any call from outside them is flagged
    #[arg(long, value_name = "FILE")]
    pub known_cidrs: Option<PathBuf>,
}

/// The baseline and the recent period that `insights` and `secrets-access` compare.
#[derive(Debug, Clone, Args)]
pub struct PeriodArgs {
    /// The recent period, ending at the newest event
    #[arg(long, value_name = "DURATION", default_value = "24h")]
    pub recent: String,
    /// How far back before the recent period the baseline reaches [default: all earlier data]
    #[arg(long, value_name = "DURATION")]
    pub baseline: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum QueriesAction {
    /// Check query files and report every problem as file:line:column
    Lint {
        /// A folder of .sql files; without it, the built-in queries (and --queries)
        dir: Option<PathBuf>,
    },
}

/// Options shared by every command that scans; they may come before or after the command.
#[derive(Debug, Clone, Default, Args)]
pub struct RunArgs {
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

    /// Output format [default: table]
    #[arg(long, value_enum, global = true, help_heading = "Output")]
    pub format: Option<Format>,

    /// Exit 1 only for findings of this severity or higher [default: info, any finding]
    #[arg(long, value_name = "SEVERITY", global = true, help_heading = "Output")]
    pub fail_on: Option<Severity>,

    /// Never draw the progress bar (it is only drawn when stderr is a terminal)
    #[arg(long, global = true, help_heading = "Output")]
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
    pub config: Option<PathBuf>,

    /// Publish one SNS message per query with new findings
    #[arg(long, value_name = "ARN", global = true, help_heading = "Cron")]
    pub sns_topic: Option<String>,

    /// Print the SNS messages instead of sending them (the state is not changed)
    #[arg(long, global = true, help_heading = "Cron")]
    pub dry_run: bool,

    /// Remember objects read and findings alerted in FILE: report only what is new
    #[arg(long, value_name = "FILE", global = true, help_heading = "Cron")]
    pub state: Option<PathBuf>,

    /// With --state, how far back to look again for late deliveries [default: 1h]
    #[arg(long, value_name = "DURATION", global = true, help_heading = "Cron")]
    pub lookback: Option<String>,

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

impl RunArgs {
    /// Options given after a query name override those given before it.
    pub fn overridden_by(self, later: RunArgs) -> RunArgs {
        let list = |a: Vec<String>, b: Vec<String>| if b.is_empty() { a } else { b };
        RunArgs {
            since: later.since.or(self.since),
            until: later.until.or(self.until),
            account: list(self.account, later.account),
            region: list(self.region, later.region),
            queries_dir: later.queries_dir.or(self.queries_dir),
            format: later.format.or(self.format),
            fail_on: later.fail_on.or(self.fail_on),
            no_progress: self.no_progress || later.no_progress,
            threads: later.threads.or(self.threads),
            profile: later.profile.or(self.profile),
            bucket_region: later.bucket_region.or(self.bucket_region),
            endpoint_url: later.endpoint_url.or(self.endpoint_url),
            s3_concurrency: later.s3_concurrency.or(self.s3_concurrency),
            cache_dir: later.cache_dir.or(self.cache_dir),
            config: later.config.or(self.config),
            sns_topic: later.sns_topic.or(self.sns_topic),
            dry_run: self.dry_run || later.dry_run,
            state: later.state.or(self.state),
            lookback: later.lookback.or(self.lookback),
        }
    }
}

/// How `trailscan <QUERY> …` is parsed once the query name is known.
#[derive(Debug, Parser)]
pub struct NamedQueryCli {
    #[command(flatten)]
    pub run: RunArgs,

    /// Files or folders of CloudTrail logs
    #[arg(value_name = "SOURCES")]
    pub sources: Vec<String>,
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
        assert_eq!(cli.run.since.as_deref(), Some("7d"));
        assert_eq!(cli.run.region, ["a", "b"]);
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
        assert_eq!(cli.run.since.as_deref(), Some("24h"));
        let Some(Command::Named(words)) = cli.command else {
            panic!("expected a named command")
        };
        assert_eq!(words, ["failed-logins", "./logs", "--format", "csv"]);
    }
}
