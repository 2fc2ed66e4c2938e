//! What the user typed and the configuration file, resolved once into a run, which builds its parts.
//!
//! Precedence: flags after a query name, then flags before it, then the configuration file
//! (`--config FILE`, else `$TRAILSCAN_CONFIG`, else `./trailscan.toml`, else
//! `~/.config/trailscan/config.toml`). The settings merge once; each is then checked here,
//! and an error names the flag, or the file and line, it came from.

mod athena;
mod block;
mod file;

pub use athena::{AthenaScope, AthenaTarget, DdlSpec, RunSpec};

use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::OnceLock;

use anyhow::{Context, bail};
use chrono::{DateTime, TimeDelta, Utc};

use crate::analysis;
use crate::aws::Connection;
use crate::catalog::Catalog;
use crate::cli::{Cli, Command, NamedQueryCli, QueriesAction, Settings, VerifyArgs};
use crate::job::{self, Job, JobKind};
use crate::meta::Severity;
use crate::notify::sns::{SnsPublisher, check_topic};
use crate::notify::{DryRun, Notifier};
use crate::output::html::{self, Dashboard};
use crate::output::sanitize::for_terminal;
use crate::output::{Format, Layout, Printer};
use crate::query::{QuerySet, Suppression};
use crate::source::{Filter, Remote, Sources, TimeWindow, parse_duration, parse_time_bound};
use crate::state::State;
use file::FileConfig;

/// S3 requests in flight at once unless `--s3-concurrency` says otherwise.
const DEFAULT_S3_CONCURRENCY: usize = 16;
/// How far before the newest object read a cron run looks again for late deliveries.
const DEFAULT_LOOKBACK: TimeDelta = TimeDelta::hours(1);
/// What one object may inflate to unless `--max-object-size` says otherwise: far above any
/// delivery file, far below what would take a machine's memory.
const DEFAULT_MAX_OBJECT_BYTES: u64 = 4 << 30;
/// More worker threads than this only waits on the same cores.
const MAX_THREADS: usize = 1024;

/// What was asked for, once the command line is resolved.
pub enum Task {
    /// Scan the sources for a job.
    Scan(Job),
    ListQueries,
    /// The ATT&CK techniques the queries and analyses cover (`queries --attack`).
    Attack,
    /// One query, and whether only its Athena SQL is asked for (`--sql`).
    Show(String, bool),
    /// Check the query files of a folder, or the built-in ones (and `--queries`).
    Lint(Option<PathBuf>),
    AlertTest,
    /// Check log files against the trail's digest files (`public_keys`: files of
    /// `aws cloudtrail list-public-keys` output), then audit those that verified when
    /// `audit` is given (`--then-audit`).
    Verify {
        public_keys: Vec<PathBuf>,
        audit: Option<Job>,
    },
    /// Print the Athena table of a trail's bucket.
    AthenaDdl(DdlSpec),
    /// Run a job's queries on Athena.
    AthenaRun(Job, Box<RunSpec>),
}

/// A resolved run: every setting checked, and the parts built from them on demand.
pub struct Config {
    /// The run's clock: `--since 24h` counts back from it, and the state trusts no later time.
    pub now: DateTime<Utc>,
    settings: Settings,
    file: Option<FileConfig>,
    /// The settings whose value came from the file (the others were typed, or defaults).
    from_file: BTreeSet<String>,
    catalog: OnceLock<Catalog>,
    /// The sources named on the command line, or else in the file.
    pub sources: Vec<String>,
    pub filter: Filter,
    pub format: Format,
    pub fail_on: Severity,
    pub threads: Option<usize>,
    pub show_progress: bool,
    pub remote: Remote,
    pub lookback: TimeDelta,
    /// The most bytes one object may inflate to.
    pub max_object_bytes: u64,
    /// Where the report goes instead of stdout (`--output`).
    pub output: Option<PathBuf>,
    /// The most rows of one result an HTML report shows (`--html-rows`).
    pub html_rows: usize,
    /// `--block` and its settings, for a scan that flags addresses.
    block: Option<crate::respond::BlockSpec>,
}

impl Config {
    /// Resolves what was typed (`named`: the words after a query name, parsed) and the
    /// configuration file into a run and its task.
    pub fn new(
        cli: Cli,
        named: Option<NamedQueryCli>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<(Config, Task)> {
        let explicit = (named.as_ref().and_then(|n| n.settings.config.clone()))
            .or(cli.settings.config.clone());
        let file = FileConfig::locate(explicit.as_deref())?;
        let mut layers = vec![cli.settings];
        layers.extend(named.as_ref().map(|n| n.settings.clone()));
        let (settings, from_file) = merge(file.as_ref(), layers)?;
        let mut config = Config {
            now,
            sources: Vec::new(),
            filter: Filter::default(),
            format: settings.format.unwrap_or(Format::Table),
            fail_on: settings.fail_on.unwrap_or(Severity::Info),
            threads: settings.threads,
            show_progress: !settings.no_progress && std::io::stderr().is_terminal(),
            remote: Remote::default(),
            lookback: DEFAULT_LOOKBACK,
            max_object_bytes: DEFAULT_MAX_OBJECT_BYTES,
            output: settings.output.clone(),
            html_rows: settings.html_rows.unwrap_or(html::DEFAULT_ROWS),
            block: None,
            settings,
            file,
            from_file,
            catalog: OnceLock::new(),
        };
        let task = config.task(cli.command, named)?;
        Ok((config, task))
    }

    /// Checks every setting a scan uses, and fills the resolved fields. The commands that
    /// do not scan leave them as they are, and do not check them.
    fn resolve(&mut self) -> anyhow::Result<()> {
        let (s, now) = (&self.settings, self.now);
        let bound = |key: &str, text: &Option<String>| -> anyhow::Result<Option<DateTime<Utc>>> {
            (text.as_deref())
                .map(|t| parse_time_bound(t, now).map_err(|e| self.invalid(key, e)))
                .transpose()
        };
        let window = TimeWindow {
            since: bound("since", &s.since)?,
            until: bound("until", &s.until)?,
        };
        if let (Some(since), Some(until)) = (window.since, window.until)
            && since >= until
        {
            bail!("--since ({since}) must be earlier than --until ({until})");
        }
        for account in &s.account {
            if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
                return Err(self.refused(
                    "account",
                    format!("'{account}' is not a 12-digit AWS account id"),
                ));
            }
        }
        match s.threads {
            Some(0) => return Err(self.refused("threads", "must be at least 1")),
            Some(n) if n > MAX_THREADS => {
                return Err(self.refused(
                    "threads",
                    format!(
                        "{n} is more than {MAX_THREADS}: give at most one per core (the default)"
                    ),
                ));
            }
            _ => {}
        }
        if s.s3_concurrency == Some(0) {
            return Err(self.refused("s3_concurrency", "must be at least 1"));
        }
        if let Some(profile) = &s.profile
            && !crate::aws::has_profile(profile)
        {
            return Err(self.refused(
                "profile",
                format!("'{profile}': no such profile in the AWS config or credentials file (`aws configure list-profiles` lists them)"),
            ));
        }
        if let Some(url) = &s.endpoint_url
            && !crate::aws::is_endpoint(url)
        {
            return Err(self.refused(
                "endpoint_url",
                format!("'{url}' is not a URL such as http://127.0.0.1:9000"),
            ));
        }
        self.check_topic()?;
        if let Some(path) = &s.output {
            let folder = (path.parent())
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            if path.is_dir() {
                return Err(self.refused(
                    "output",
                    format!("{}: is a folder: name the file to write", path.display()),
                ));
            }
            if !folder.is_dir() {
                return Err(self.refused(
                    "output",
                    format!(
                        "{}: there is no folder {} to write it in",
                        path.display(),
                        folder.display()
                    ),
                ));
            }
        }
        if let Some(text) = &s.lookback {
            self.lookback = parse_duration(text).ok_or_else(|| {
                self.invalid(
                    "lookback",
                    format!("'{text}' is not a duration such as 1h or 90m"),
                )
            })?;
        }
        if let Some(text) = &s.max_object_size {
            self.max_object_bytes = parse_size(text).ok_or_else(|| {
                self.invalid(
                    "max_object_size",
                    format!("'{text}' is not a size such as 512M or 8G"),
                )
            })?;
        }
        self.filter = Filter {
            window,
            accounts: s.account.clone(),
            regions: s.region.clone(),
            listing_since: None,
            digests: false,
        };
        self.remote = Remote {
            connection: self.connection(),
            concurrency: s.s3_concurrency.unwrap_or(DEFAULT_S3_CONCURRENCY),
            cache_dir: s.cache_dir.clone(),
        };
        Ok(())
    }

    /// How to reach AWS: `--profile`, `--bucket-region`, `--endpoint-url`.
    fn connection(&self) -> Connection {
        Connection {
            profile: self.settings.profile.clone(),
            region: self.settings.bucket_region.clone(),
            endpoint_url: self.settings.endpoint_url.clone(),
        }
    }

    fn check_topic(&self) -> anyhow::Result<()> {
        match &self.settings.sns_topic {
            Some(topic) => check_topic(topic).map_err(|e| self.refused("sns_topic", e)),
            None => Ok(()),
        }
    }

    /// A value of the setting `key` that cannot be read: `invalid --key: …` when it was
    /// typed, `FILE:LINE: key: …` when it came from the configuration file.
    fn invalid(&self, key: &str, message: impl std::fmt::Display) -> anyhow::Error {
        self.about(
            key,
            format!("invalid --{}: {message}", key.replace('_', "-")),
            message,
        )
    }

    /// A value of the setting `key` that is refused: `--key …` when it was typed,
    /// `FILE:LINE: key: …` when it came from the configuration file.
    fn refused(&self, key: &str, message: impl std::fmt::Display) -> anyhow::Error {
        self.about(
            key,
            format!("--{} {message}", key.replace('_', "-")),
            message,
        )
    }

    fn about(&self, key: &str, typed: String, message: impl std::fmt::Display) -> anyhow::Error {
        match self.where_in_file(key) {
            Some(place) => anyhow::anyhow!("{place}: {message}"),
            None => anyhow::anyhow!("{typed}"),
        }
    }

    /// `FILE:LINE: key`, when the setting `key` (or a `[key]` table) came from the file.
    fn where_in_file(&self, key: &str) -> Option<String> {
        let file = self.file.as_ref()?;
        let setting = key.split('.').next().unwrap_or(key);
        (self.from_file.contains(setting)).then(|| format!("{}: {key}", file.locate_key(key)))
    }

    /// The command as a task, with its sources.
    fn task(
        &mut self,
        command: Option<Command>,
        named: Option<NamedQueryCli>,
    ) -> anyhow::Result<Task> {
        let (sources, kind) = match command {
            None => (Vec::new(), Pending::Audit),
            Some(Command::Audit { sources }) => (sources, Pending::Audit),
            Some(Command::Query { sql, sources }) => (sources, Pending::AdHoc(sql)),
            Some(Command::Queries {
                action: None,
                attack,
            }) => {
                return Ok(if attack {
                    Task::Attack
                } else {
                    Task::ListQueries
                });
            }
            Some(Command::Queries {
                action: Some(QueriesAction::Lint { dir }),
                ..
            }) => return Ok(Task::Lint(dir)),
            Some(Command::Show { name, sql }) => return Ok(Task::Show(name, sql)),
            Some(Command::Verify(args)) => return self.verify(args),
            Some(Command::Athena(command)) => return self.athena(command),
            Some(Command::Completions { .. } | Command::Man) => {
                bail!(
                    "completions and the man page need no configuration: `trailscan completions bash`, `trailscan man`"
                )
            }
            Some(Command::AlertTest) => {
                self.check_topic()?;
                return Ok(Task::AlertTest);
            }
            Some(Command::Analysis(command)) => {
                let sources = command.sources().to_vec();
                let settings = analysis::Settings {
                    known_cidrs: (self.settings.known_cidrs.clone()).map(|list| {
                        let place = self.where_in_file("known_cidrs");
                        (list, place.unwrap_or_else(|| "known_cidrs".to_owned()))
                    }),
                };
                (sources, Pending::Analysis(command.build(&settings)?))
            }
            Some(Command::Named(words)) => {
                let name = words.first().cloned().unwrap_or_default();
                let sources = named.map(|n| n.sources).unwrap_or_default();
                if self.catalog()?.get(&name).is_some() {
                    (sources, Pending::One(name))
                } else if name.starts_with("s3://")
                    || name.contains(['/', '.'])
                    || std::path::Path::new(&name).exists()
                {
                    ([vec![name], sources].concat(), Pending::Audit)
                } else {
                    let known = self.catalog()?.all().iter().map(|q| q.name().to_owned());
                    match did_you_mean(&name, known.chain(command_names())) {
                        Some(close) => bail!(
                            "'{name}' is not a query, a command, or an existing file or folder; did you mean '{close}'?"
                        ),
                        None => bail!(
                            "'{name}' is not a query, a command, or an existing file or folder (`trailscan queries` lists the queries)"
                        ),
                    }
                }
            }
        };
        self.resolve()?;
        self.settle_sources(sources)?;
        let job = self.job(kind)?;
        self.block = self.resolve_block(&job)?;
        Ok(Task::Scan(job))
    }

    /// `verify`: sources, window and filters resolved as a scan's, and with `--then-audit`
    /// the audit to run over what verified.
    fn verify(&mut self, args: VerifyArgs) -> anyhow::Result<Task> {
        self.resolve()?;
        self.settle_sources(args.sources)?;
        if !matches!(
            self.format,
            Format::Table | Format::Json | Format::Jsonl | Format::Csv
        ) {
            let name = clap::ValueEnum::to_possible_value(&self.format)
                .map(|v| v.get_name().to_owned())
                .unwrap_or_default();
            bail!("verify prints a table, json, jsonl or csv: --format {name} is not one of them");
        }
        let audit = match args.then_audit {
            true => Some(self.job(Pending::Audit)?),
            false => None,
        };
        Ok(Task::Verify {
            public_keys: args.public_keys,
            audit,
        })
    }

    /// The sources typed, else the configuration file's; none at all is an error that says
    /// how to give them.
    fn settle_sources(&mut self, sources: Vec<String>) -> anyhow::Result<()> {
        self.sources = if sources.is_empty() {
            self.settings.sources.clone()
        } else {
            sources
        };
        if self.sources.is_empty() {
            bail!(
                "no source given: pass a folder or file of CloudTrail logs (`trailscan audit ./AWSLogs`), \
                 the trail's bucket (`trailscan audit s3://BUCKET --since 24h`), or set `sources` in trailscan.toml"
            );
        }
        Ok(())
    }

    /// The queries a job evaluates, with the file's selection and suppressions applied.
    fn job(&self, pending: Pending) -> anyhow::Result<Job> {
        let catalog = self.catalog()?;
        let (queries, kind) = match pending {
            Pending::Audit => {
                let mut queries = catalog.all().to_vec();
                // The most severe first: that is what a reader of an audit looks at first.
                queries.sort_by(|a, b| {
                    (b.meta.severity.cmp(&a.meta.severity)).then_with(|| a.name().cmp(b.name()))
                });
                (self.select(QuerySet::new(queries))?, JobKind::Audit)
            }
            Pending::One(name) => {
                let query = catalog.get(&name).cloned().context("the query vanished")?;
                (QuerySet::new(vec![query]), JobKind::One)
            }
            Pending::AdHoc(sql) => {
                let query = crate::lang::sql::ad_hoc(&sql)
                    .map_err(|e| anyhow::anyhow!("in the SQL, {e}"))?;
                (QuerySet::new(vec![Arc::new(query)]), JobKind::AdHoc)
            }
            Pending::Analysis(analysis) => (
                QuerySet::new(analysis.inputs(catalog)),
                JobKind::Analysis(analysis),
            ),
        };
        // Typed SQL is taken as it is: suppressions are for the queries they name.
        let suppressions = match kind {
            JobKind::AdHoc => Vec::new(),
            _ => self.suppressions()?,
        };
        let queries = job::suppressed(queries, &suppressions);
        // The HTML report's charts and top lists are counted in the same pass.
        let dashboard = (self.format == Format::Html).then(|| Dashboard::new(catalog));
        let job = Job {
            queries,
            kind,
            dashboard,
            suppressions,
        };
        if self.format == Format::Blocklist && job.own_format(Format::Blocklist).is_none() {
            bail!(
                "--format blocklist lists flagged addresses: use it with `trailscan suspicious-ips`"
            );
        }
        Ok(job)
    }

    /// The built-in queries plus `--queries DIR` and `--rules DIR`, loaded once, or every
    /// problem in the queries. Rules that did not load are said on stderr, once.
    pub fn catalog(&self) -> anyhow::Result<&Catalog> {
        if let Some(catalog) = self.catalog.get() {
            return Ok(catalog);
        }
        let settings = &self.settings;
        let catalog = Catalog::load_with_rules(
            settings.queries_dir.as_deref(),
            &settings.rules_dir,
        )
        .map_err(|errors| {
            let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
            anyhow::anyhow!(
                "the queries have problems (fix them, or check with `trailscan queries lint`):\n{}",
                lines.join("\n")
            )
        })?;
        let mut stderr = std::io::stderr().lock();
        for problem in &catalog.rejected {
            let line = format!("warning: rule not loaded: {problem}");
            let _ = writeln!(stderr, "trailscan: {}", for_terminal(&line));
        }
        if !catalog.skipped.is_empty() {
            let _ = writeln!(
                stderr,
                "trailscan: warning: {} rule files skipped: their logsource is not product: aws, service: cloudtrail",
                catalog.skipped.len()
            );
        }
        Ok(self.catalog.get_or_init(|| catalog))
    }

    /// `--queries DIR`, for `queries lint` without a folder.
    pub fn queries_dir(&self) -> Option<&std::path::Path> {
        self.settings.queries_dir.as_deref()
    }

    /// `--rules DIR`, each, for `queries lint` without a folder.
    pub fn rules_dirs(&self) -> &[PathBuf] {
        &self.settings.rules_dir
    }

    /// Narrows an audit's queries to `queries` (when absent: those of severity low and
    /// up) minus `exclude`.
    fn select(&self, set: QuerySet) -> anyhow::Result<QuerySet> {
        let (include, exclude) = (&self.settings.queries, &self.settings.exclude);
        let catalog = self.catalog()?;
        let named = (include.iter().flatten().map(|name| ("queries", name)))
            .chain(exclude.iter().map(|name| ("exclude", name)));
        for (key, name) in named {
            {
                if catalog.get(name).is_none() {
                    return Err(self.refused(
                        key,
                        format!("no query named '{name}' (see `trailscan queries`)"),
                    ));
                }
            }
        }
        // Informational queries (every GetRole and AssumeRole, say) are for reading, not
        // for an audit's findings: they run when the file's `queries` names them.
        let set = match include {
            Some(include) => set.retain(|name| include.iter().any(|i| i == name)),
            None => set.retain(|name| {
                catalog
                    .get(name)
                    .is_some_and(|q| q.meta.severity >= Severity::Low)
            }),
        };
        Ok(set.retain(|name| !exclude.iter().any(|e| e == name)))
    }

    /// The `[suppress.NAME]` tables, checked, by query name.
    fn suppressions(&self) -> anyhow::Result<Vec<(String, Suppression)>> {
        let catalog = self.catalog()?;
        let mut suppressions = Vec::new();
        for (name, rules) in &self.settings.suppress {
            let key = format!("suppress.{name}");
            if catalog.get(name).is_none() {
                return Err(self.refused(&key, format!("no query named '{name}'")));
            }
            let suppression =
                Suppression::new(&rules.principals, &rules.source_cidrs, &rules.event_names)
                    .map_err(|e| self.refused(&key, e))?;
            suppressions.push((name.clone(), suppression));
        }
        Ok(suppressions)
    }

    /// The run's sources, opened.
    pub fn open_sources(&self) -> Sources {
        Sources::open(&self.sources, &self.remote)
    }

    /// Where a job's alerts go: SNS, a dry run printing them, or nowhere (no topic, or SQL
    /// typed on the command line).
    pub fn notifier(&self, job: &Job) -> anyhow::Result<Option<Box<dyn Notifier>>> {
        match (&self.settings.sns_topic, job.finds()) {
            (Some(topic), true) if self.settings.dry_run => Ok(Some(Box::new(DryRun::new(topic)))),
            (Some(topic), true) => Ok(Some(Box::new(SnsPublisher::connect(
                &self.connection(),
                topic,
            )?))),
            _ => Ok(None),
        }
    }

    /// The topic `alert-test` sends to.
    pub fn sns_topic(&self) -> Option<&str> {
        self.settings.sns_topic.as_deref()
    }

    /// A publisher to the topic of `alert-test`.
    pub fn publisher(&self, topic: &str) -> anyhow::Result<SnsPublisher> {
        Ok(SnsPublisher::connect(&self.connection(), topic)?)
    }

    /// The cron state, loaded, when `--state` is given.
    pub fn state(&self) -> anyhow::Result<Option<State>> {
        Ok((self.settings.state.as_deref())
            .map(|path| State::load(path, self.lookback, self.now))
            .transpose()?)
    }

    /// Whether the run is a cron job's (a state or a configuration file): then a source
    /// with no objects at all is an error, not a quiet day.
    pub fn is_cron(&self) -> bool {
        self.settings.state.is_some() || self.file.is_some()
    }

    /// Whether state and alerts stay as they are (`--dry-run`).
    pub fn dry_run(&self) -> bool {
        self.settings.dry_run
    }

    /// The printer for the job's output over `out`, a terminal or not.
    pub fn printer<W: Write>(&self, job: &Job, out: W, terminal: bool) -> Printer<W> {
        let layout = Layout {
            terminal,
            html_rows: self.html_rows,
        };
        match job.own_format(self.format) {
            Some(own) => Printer::own(own, out),
            None => Printer::new(self.format, out, layout),
        }
    }

    /// Runs `work` on `--threads` worker threads, or on rayon's default pool.
    pub fn in_pool<T: Send>(&self, work: impl FnOnce() -> T + Send) -> anyhow::Result<T> {
        match self.threads {
            Some(threads) => Ok(rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .context("cannot start the worker threads")?
                .install(work)),
            None => Ok(work()),
        }
    }
}

/// A scan asked for, before its queries are selected.
enum Pending {
    Audit,
    One(String),
    AdHoc(String),
    Analysis(Box<dyn analysis::Analysis>),
}

/// Merges the file's settings (those it names, as it gives them) with the typed ones,
/// earliest first: a typed value replaces the file's when it is given (not absent, not an
/// empty list, not an unset switch). Says which settings came from the file. The switches
/// no file may set (`--dry-run`, `--no-progress`) are taken from the typed layers only.
fn merge(
    file: Option<&FileConfig>,
    typed: Vec<Settings>,
) -> anyhow::Result<(Settings, BTreeSet<String>)> {
    let values =
        |settings: &Settings| -> anyhow::Result<serde_json::Map<String, serde_json::Value>> {
            match serde_json::to_value(settings) {
                Ok(serde_json::Value::Object(values)) => Ok(values),
                Ok(_) => bail!("settings are not a map"),
                Err(e) => bail!("{e} (trailscan takes paths that are UTF-8)"),
            }
        };
    let mut merged = serde_json::Map::new();
    let mut from_file = BTreeSet::new();
    if let Some(file) = file {
        for (key, value) in values(&file.settings)? {
            if file.names(&key) {
                from_file.insert(key.clone());
                merged.insert(key, value);
            }
        }
    }
    for settings in &typed {
        for (key, value) in values(settings)? {
            let given = match &value {
                serde_json::Value::Null | serde_json::Value::Bool(false) => false,
                serde_json::Value::Array(items) => !items.is_empty(),
                serde_json::Value::Object(entries) => !entries.is_empty(),
                _ => true,
            };
            if given {
                from_file.remove(&key);
                merged.insert(key, value);
            }
        }
    }
    let mut settings: Settings = serde_json::from_value(serde_json::Value::Object(merged))?;
    settings.dry_run = typed.iter().any(|s| s.dry_run);
    settings.no_progress = typed.iter().any(|s| s.no_progress);
    Ok((settings, from_file))
}

/// The names `trailscan NAME` could have meant: the subcommands.
fn command_names() -> impl Iterator<Item = String> {
    let cli = <Cli as clap::CommandFactory>::command();
    let names: Vec<String> = (cli.get_subcommands())
        .filter(|c| !c.is_hide_set())
        .map(|c| c.get_name().to_owned())
        .collect();
    names.into_iter()
}

/// The candidate closest to `typed`, when one is close enough to be a typo: within a third
/// of its length in edits (at least one), the nearest first, then the first in order.
fn did_you_mean(typed: &str, candidates: impl Iterator<Item = String>) -> Option<String> {
    let most = (typed.chars().count() / 3).max(1);
    candidates
        .map(|c| (strsim::damerau_levenshtein(typed, &c), c))
        .filter(|(distance, _)| *distance <= most)
        .min_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)))
        .map(|(_, c)| c)
}

/// A size such as `512M`, `8G` or `1000000` (bytes); suffixes K, M, G, T count in 1024s.
fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let upper = text.to_ascii_uppercase();
    let digits = upper.trim_end_matches(['B', 'I']);
    let (number, shift) = match digits.chars().last()? {
        'K' => (&digits[..digits.len() - 1], 10),
        'M' => (&digits[..digits.len() - 1], 20),
        'G' => (&digits[..digits.len() - 1], 30),
        'T' => (&digits[..digits.len() - 1], 40),
        c if c.is_ascii_digit() => (digits, 0),
        _ => return None,
    };
    let value: u64 = number.trim().parse().ok()?;
    value.checked_mul(1u64 << shift).filter(|&n| n > 0)
}

#[cfg(test)]
mod tests;
