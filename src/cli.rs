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
  trailscan queries --attack                    the ATT&CK techniques they cover, by tactic
  trailscan show root-usage                     one query's SQL and runbook
  trailscan queries lint ./my-queries           check query files and Sigma rules
  trailscan audit ./AWSLogs --rules ./sigma     the audit and the Sigma rules of a folder, one pass
  trailscan show --sql aws-root-account-usage --rules ./sigma   a Sigma rule as Athena SQL
  trailscan --config /etc/trailscan.toml        cron: sources, window, state and SNS topic from the file
  trailscan alert-test --sns-topic arn:aws:sns:us-east-1:111122223333:security-alerts
  trailscan audit ./AWSLogs --since 7d --format html -o ~/report.html   a page to read offline
  trailscan suspicious-ips ./AWSLogs --since 7d --format blocklist
  trailscan suspicious-ips ./AWSLogs --block nacl:acl-0123456789abcdef0 --rule-range 1-99 --dry-run
  trailscan insights ./AWSLogs --since 8d --recent 24h
  trailscan trace AKIAALICEQQQQQQQQQQQ ./AWSLogs   a key's sessions and roles, and all they did
  trailscan summary ./AWSLogs --since 7d          one row per principal, the riskiest first
  trailscan timeline ./AWSLogs --principal '*:user/alice'   events in order, bursts condensed
  trailscan verify ./AWSLogs                    log files against the trail's digest files
  trailscan athena ddl s3://trail-bucket --database security   the trail's table, for Athena
  trailscan athena run --database security --since 7d   the audit on Athena, same findings
  trailscan completions bash > ~/.local/share/bash-completion/completions/trailscan

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
    #[command(args_conflicts_with_subcommands = true)]
    Queries {
        #[command(subcommand)]
        action: Option<QueriesAction>,
        /// Print the ATT&CK techniques the queries and analyses cover, by tactic
        #[arg(long)]
        attack: bool,
    },
    /// Send a test notification to --sns-topic, to check a new setup end to end
    AlertTest,
    /// Check the trail's integrity offline: log files against CloudTrail's digest files, and the digest chain
    #[command(after_help = VERIFY_EXAMPLES)]
    Verify(VerifyArgs),
    /// Athena, when the data outgrows one machine: a trail's table, and the queries run there
    #[command(subcommand)]
    Athena(AthenaCommand),
    #[command(flatten)]
    Analysis(AnalysisCommand),
    /// Print one query or rule: its metadata, runbook and SQL (or Sigma YAML)
    Show {
        /// A query name, as listed by `trailscan queries`, or a Sigma rule's id
        name: String,
        /// Print only the Athena SQL (of a Sigma rule: its equivalent over the CloudTrail table)
        #[arg(long)]
        sql: bool,
    },
    /// Print a shell completion script: `trailscan completions bash > ~/.local/share/bash-completion/completions/trailscan`
    Completions {
        /// The shell to complete in
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `trailscan man > ~/.local/share/man/man1/trailscan.1`
    Man,
    /// A query name followed by its sources runs that one query
    #[command(external_subcommand)]
    Named(Vec<String>),
}

const VERIFY_EXAMPLES: &str = "\
Examples:
  trailscan verify ./bucket-copy                    hashes and chain of a local copy of the bucket
  aws cloudtrail list-public-keys --region us-east-1 --start-time 2026-01-01 > keys-us-east-1.json
  trailscan verify s3://trail-bucket --since 30d --cache-dir ~/.cache/trailscan --public-keys keys-us-east-1.json
  trailscan verify ~/.cache/trailscan/trail-bucket --public-keys keys-us-east-1.json   later, offline
  trailscan verify ./bucket-copy --since 7d --then-audit    audit only the log files that verified

Give the folder or prefix above CloudTrail/ (the account, AWSLogs/ or the bucket), so that the
CloudTrail-Digest/ folders are listed too. Signatures are checked when the digests carry their
S3 metadata (read from s3://, kept beside the cached copy as <file>.metadata.json) and
--public-keys names the keys of their region; otherwise the report says they were not.

Exit status: 0 everything verified, 1 something does not check, 2 error (unreadable input too).";

/// `trailscan verify`: what to check, and what to do with what verified.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Folders, files or s3://BUCKET[/PREFIX] holding the log files and their CloudTrail-Digest/ folders
    #[arg(value_name = "SOURCES")]
    pub sources: Vec<String>,

    /// The JSON that `aws cloudtrail list-public-keys` prints, to check signatures (repeat for each region)
    #[arg(long, value_name = "FILE")]
    pub public_keys: Vec<PathBuf>,

    /// Then run the audit over the log files that verified, and those only (what did not verify is said on stderr)
    #[arg(long)]
    pub then_audit: bool,
}

/// `trailscan athena …`.
#[derive(Debug, Subcommand)]
pub enum AthenaCommand {
    /// Print CREATE EXTERNAL TABLE for a trail's bucket, partitioned by account, region and day
    #[command(after_help = ATHENA_DDL_EXAMPLES)]
    Ddl(AthenaDdlArgs),
    /// Run the audit, or queries by name, on Athena: same findings, alerts and state as a scan
    #[command(after_help = ATHENA_RUN_EXAMPLES)]
    Run(AthenaRunArgs),
}

const ATHENA_RUN_EXAMPLES: &str = "\
Examples:
  trailscan athena run --database security --table cloudtrail_logs --output-location s3://athena-results/trailscan/ --since 7d
  trailscan athena run failed-logins root-usage --since 24h --account 111122223333 --format jsonl
  trailscan athena run audit --config /etc/trailscan.toml --since 2h --state /var/lib/trailscan/athena.json

Each query file is sent as it is written, after a `WITH cloudtrail_logs AS (…)` that selects
the table's columns from the partitions of --since/--until (one day of slack either side),
--account and --region, and the events of the window. The queries run concurrently; their
rows are printed, alerted (--sns-topic) and remembered (--state) as a local scan's are, and
the summary says what each scanned and cost. The table is the one `trailscan athena ddl`
writes (partitioned by account, region and timestamp); [athena] in the configuration file
holds database, table, workgroup, output_location, region, concurrency and price_per_tb.";

/// `trailscan athena run`.
#[derive(Debug, Args)]
pub struct AthenaRunArgs {
    /// The queries to run, by name, or `audit` for the audit's queries [default: audit]
    #[arg(value_name = "QUERY")]
    pub queries: Vec<String>,

    /// The Athena database of the table [default: `database` in [athena], else the workgroup's default]
    #[arg(long, value_name = "NAME")]
    pub database: Option<String>,

    /// The CloudTrail table, as `athena ddl` writes it [default: cloudtrail_logs]
    #[arg(long, value_name = "NAME")]
    pub table: Option<String>,

    /// The Athena workgroup [default: primary]
    #[arg(long, value_name = "NAME")]
    pub workgroup: Option<String>,

    /// Where Athena writes the results: s3://BUCKET/PREFIX/ [default: the workgroup's]
    #[arg(long, value_name = "S3_URL")]
    pub output_location: Option<String>,

    /// Athena's region (the table's) [default: AWS_REGION, then the profile's]
    #[arg(long, value_name = "REGION")]
    pub athena_region: Option<String>,

    /// Queries running on Athena at once [default: 5]
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
}

const ATHENA_DDL_EXAMPLES: &str = "\
Examples:
  trailscan athena ddl s3://trail-bucket                          every trail below the bucket, found by listing
  trailscan athena ddl s3://trail-bucket/AWSLogs/o-abc123defg --database security --since 2025-01-01
  trailscan athena ddl s3://trail-bucket/AWSLogs --account 111122223333 --region us-east-1,eu-west-1

The accounts and regions are found with delimiter listings of the bucket's key layout
(--account and --region name them instead), and the first day from the earliest day folder
(--since sets it). Athena projects the partitions from these values: run the statement once
in the Athena console or with `aws athena start-query-execution`.";

/// `trailscan athena ddl`.
#[derive(Debug, Args)]
pub struct AthenaDdlArgs {
    /// The trail's bucket: s3://BUCKET[/PREFIX], the folder above AWSLogs/ or one inside it [default: the first s3:// of `sources`]
    #[arg(value_name = "S3_URL")]
    pub location: Option<String>,

    /// The table's name [default: cloudtrail_logs, or `table` in [athena] of the configuration]
    #[arg(long, value_name = "NAME")]
    pub table: Option<String>,

    /// The Athena database (Glue) to create it in [default: `database` in [athena], else none named]
    #[arg(long, value_name = "NAME")]
    pub database: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum QueriesAction {
    /// Check query files and report every problem as file:line:column
    Lint {
        /// A folder of .sql files and Sigma rules; without it, the built-in queries (and --queries, --rules)
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

    /// Add the Sigma rules (.yml, .yaml) of DIR; repeat for more folders
    #[arg(
        long = "rules",
        value_name = "DIR",
        global = true,
        help_heading = "Input"
    )]
    #[serde(deserialize_with = "from_file::paths")]
    pub rules_dir: Vec<PathBuf>,

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

    /// Write the report to FILE instead of stdout (replaced once the report is whole)
    #[arg(
        long,
        short = 'o',
        value_name = "FILE",
        global = true,
        help_heading = "Output"
    )]
    pub output: Option<PathBuf>,

    /// With --format html, the most rows shown per query [default: 50]
    #[arg(long, value_name = "N", global = true, help_heading = "Output")]
    pub html_rows: Option<usize>,

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

    /// Print the SNS messages, and what --block would add and remove, instead of doing it (the state is not changed)
    #[arg(long, global = true, help_heading = "Cron")]
    #[serde(skip)]
    pub dry_run: bool,

    /// Remember objects read and findings alerted in FILE: report only what is new
    #[arg(long, value_name = "FILE", global = true, help_heading = "Cron")]
    pub state: Option<PathBuf>,

    /// With --state, how far back to look again for late deliveries [default: 1h]
    #[arg(long, value_name = "DURATION", global = true, help_heading = "Cron")]
    pub lookback: Option<String>,

    /// With suspicious-ips: deny the flagged addresses in a network ACL (nacl:[REGION:]acl-ID) or a WAF IP set (wafv2:ARN); repeat for more
    #[arg(long, value_name = "TARGET", global = true, help_heading = "Blocking")]
    pub block: Vec<String>,

    /// Network ACL rule numbers reserved for trailscan's DENY entries, below the ACL's ALLOW rules (e.g. 1-99)
    #[arg(long, value_name = "FROM-TO", global = true, help_heading = "Blocking")]
    pub rule_range: Option<String>,

    /// The most addresses newly blocked in one run [default: 10]
    #[arg(long, value_name = "N", global = true, help_heading = "Blocking")]
    pub max_blocks: Option<usize>,

    /// Lift trailscan's blocks after DURATION (24h, 7d), on the first run after [default: never]
    #[arg(
        long,
        value_name = "DURATION",
        global = true,
        help_heading = "Blocking"
    )]
    pub block_for: Option<String>,

    /// Also block private and reserved addresses (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7, …)
    #[arg(long, global = true, help_heading = "Blocking")]
    pub block_private: bool,

    /// Per query, the principals, source networks and event names it ignores.
    #[arg(skip)]
    pub suppress: BTreeMap<String, SuppressSettings>,

    /// The organisation's networks, for `suspicious-ips`.
    #[arg(skip)]
    pub known_cidrs: Option<Vec<String>>,

    /// `[athena]`: the table `athena` commands use (their flags win).
    #[arg(skip)]
    pub athena: Option<AthenaSettings>,

    /// Refuse an object that inflates to more than this, e.g. 512M or 8G [default: 4G]
    #[arg(long, value_name = "SIZE", global = true, help_heading = "Run")]
    pub max_object_size: Option<String>,

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

/// The `[athena]` table of the configuration file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AthenaSettings {
    pub database: Option<String>,
    pub table: Option<String>,
    pub workgroup: Option<String>,
    pub output_location: Option<String>,
    pub region: Option<String>,
    pub concurrency: Option<usize>,
    /// US dollars per TB scanned [default: 5.0, the us-east-1 list price].
    pub price_per_tb: Option<f64>,
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
                "format: '{text}' is not table, json, jsonl, csv, html or blocklist"
            ))
        })?;
        Ok(Some(format))
    }

    /// One path, or a list of them.
    pub fn paths<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<std::path::PathBuf>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(std::path::PathBuf),
            Many(Vec<std::path::PathBuf>),
        }
        match OneOrMany::deserialize(d) {
            Ok(OneOrMany::One(path)) => Ok(vec![path]),
            Ok(OneOrMany::Many(paths)) => Ok(paths),
            Err(_) => Err(serde::de::Error::custom(
                "rules_dir: a folder, or a list of folders",
            )),
        }
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
