//! trailscan: scan CloudTrail archives and evaluate Athena-SQL queries over them.

pub mod alert;
pub mod analysis;
pub mod aws;
pub mod cli;
pub mod config;
pub mod decode;
pub mod inflate;
pub mod json_skip;
pub mod output;
pub mod projection;
pub mod query;
pub mod record;
pub mod scan;
pub mod source;
pub mod state;

use std::collections::BTreeSet;
use std::io::{self, BufWriter, Write};
use std::sync::Arc;

use anyhow::Context;
use chrono::Utc;
use clap::{CommandFactory, FromArgMatches};
use comfy_table::Table;
use comfy_table::presets::UTF8_FULL_CONDENSED;

use alert::sns::SnsPublisher;
use analysis::{Analysis, IpThresholds, Periods};
use cli::{Cli, Command, IpArgs, NamedQueryCli, PeriodArgs, QueriesAction, RunArgs};
use config::{Config, FileConfig, load_catalog};
use output::Format;
use output::{Mode, Report, S3Summary, Summary};
use query::catalog::{LintError, Origin, load_dir, parse_query_file};
use query::suppress::Networks;
use query::{Catalog, Query, QueryResult, QuerySet};
use source::SourceSpec;
use source::s3::S3Session;
use state::State;

/// How a run ended, as the process exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Ran, and found nothing at or above `--fail-on`.
    Clean = 0,
    /// Ran, and found something (or lint found problems).
    Findings = 1,
    /// Bad arguments, some input could not be read, or an alert could not be sent.
    Error = 2,
}

pub fn run(cli: Cli) -> anyhow::Result<Exit> {
    match cli.command {
        None => scan_with(cli.run, Vec::new(), Selection::Audit),
        Some(Command::Audit { sources }) => scan_with(cli.run, sources, Selection::Audit),
        Some(Command::Query { sql, sources }) => scan_with(cli.run, sources, Selection::AdHoc(sql)),
        Some(Command::Queries { action: None }) => list_queries(&settle(cli.run)?.0),
        Some(Command::Queries {
            action: Some(QueriesAction::Lint { dir }),
        }) => lint(&settle(cli.run)?.0, dir.as_deref()),
        Some(Command::Show { name }) => show(&settle(cli.run)?.0, &name),
        Some(Command::AlertTest) => alert_test(&settle(cli.run)?.0),
        Some(Command::SuspiciousIps {
            sources,
            thresholds,
        }) => scan_with(
            cli.run,
            sources,
            Selection::Analysis(AnalysisArgs::SuspiciousIps(thresholds)),
        ),
        Some(Command::Insights {
            sources,
            periods,
            sigma,
            min_count,
        }) => scan_with(
            cli.run,
            sources,
            Selection::Analysis(AnalysisArgs::Insights {
                periods,
                sigma,
                min_count,
            }),
        ),
        Some(Command::SecretsAccess {
            sources,
            periods,
            burst,
        }) => scan_with(
            cli.run,
            sources,
            Selection::Analysis(AnalysisArgs::SecretsAccess { periods, burst }),
        ),
        Some(Command::Decompress { sources }) => decompress(cli.run, &sources),
        Some(Command::Named(words)) => named(cli.run, words),
    }
}

/// Reads and inflates every object in parallel, and reports the bytes: what a scan costs
/// before any JSON is parsed.
fn decompress(typed: RunArgs, sources: &[String]) -> anyhow::Result<Exit> {
    use rayon::prelude::*;
    let (run, _) = settle(typed)?;
    let config = Config::new(&run, sources, Utc::now())?;
    if config.sources.iter().any(SourceSpec::is_s3) {
        anyhow::bail!(
            "decompress measures local files only: sync the bucket or use --cache-dir first"
        );
    }
    let listing = source::list(&config.sources, &config.filter, None);
    let inflate = || {
        listing
            .objects
            .par_iter()
            .map(|object| match &object.location {
                source::Location::Local(path) => std::fs::read(path)
                    .ok()
                    .and_then(|raw| decode::with_inflated(raw, |bytes| bytes.len() as u64).ok())
                    .unwrap_or(0),
                source::Location::S3 { .. } => unreachable!("S3 sources were refused above"),
            })
            .sum::<u64>()
    };
    let bytes = match config.threads {
        Some(threads) => rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()?
            .install(inflate),
        None => inflate(),
    };
    println!(
        "{} objects, {bytes} bytes uncompressed",
        listing.objects.len()
    );
    Ok(Exit::Clean)
}

/// The command line over the configuration file, and the file itself when there is one.
fn settle(typed: RunArgs) -> anyhow::Result<(RunArgs, Option<FileConfig>)> {
    match FileConfig::locate(typed.config.as_deref())? {
        Some(file) => Ok((file.run_args(Utc::now())?.overridden_by(typed), Some(file))),
        None => Ok((typed, None)),
    }
}

enum Selection {
    Audit,
    One(String),
    AdHoc(String),
    Analysis(AnalysisArgs),
}

/// An analysis as typed; resolved into an `Analysis` once the configuration is known.
enum AnalysisArgs {
    SuspiciousIps(IpArgs),
    Insights {
        periods: PeriodArgs,
        sigma: f64,
        min_count: u64,
    },
    SecretsAccess {
        periods: PeriodArgs,
        burst: u64,
    },
}

impl AnalysisArgs {
    fn resolve(self, file: Option<&FileConfig>) -> anyhow::Result<Analysis> {
        let periods = |p: &PeriodArgs| -> anyhow::Result<Periods> {
            let duration = |flag: &str, text: &str| {
                source::parse_duration(text).with_context(|| {
                    format!("invalid {flag}: '{text}' is not a duration such as 24h or 7d")
                })
            };
            Ok(Periods {
                recent: duration("--recent", &p.recent)?,
                baseline: p
                    .baseline
                    .as_deref()
                    .map(|b| duration("--baseline", b))
                    .transpose()?,
            })
        };
        Ok(match self {
            AnalysisArgs::SuspiciousIps(t) => {
                let cidrs = match (&t.known_cidrs, file) {
                    (Some(path), _) => Some(analysis::read_networks(path)?),
                    (None, Some(file)) => file.known_networks()?,
                    (None, None) => None,
                };
                let known_networks = cidrs
                    .map(|list| {
                        Networks::parse(&list).map_err(|e| anyhow::anyhow!("--known-cidrs: {e}"))
                    })
                    .transpose()?;
                Analysis::SuspiciousIps(IpThresholds {
                    failed_logins: t.failed_logins,
                    denied_calls: t.denied_calls,
                    principals: t.principals,
                    user_names: t.user_names,
                    known_networks,
                })
            }
            AnalysisArgs::Insights {
                periods: p,
                sigma,
                min_count,
            } => Analysis::Insights {
                periods: periods(&p)?,
                sigma,
                min_count,
            },
            AnalysisArgs::SecretsAccess { periods: p, burst } => Analysis::SecretsAccess {
                periods: periods(&p)?,
                burst,
            },
        })
    }
}

/// `trailscan <QUERY> [SOURCES…]`, or `trailscan [SOURCES…]` when the first word is a path.
fn named(run: RunArgs, words: Vec<String>) -> anyhow::Result<Exit> {
    let name = words.first().cloned().unwrap_or_default();
    let command = NamedQueryCli::command().bin_name(format!("trailscan {name}"));
    let parsed = command
        .try_get_matches_from(&words)
        .and_then(|matches| NamedQueryCli::from_arg_matches(&matches));
    let parsed = match parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            e.print()?;
            return Ok(if e.use_stderr() {
                Exit::Error
            } else {
                Exit::Clean
            });
        }
    };
    let run = run.overridden_by(parsed.run);
    let catalog = load_catalog(&settle(run.clone())?.0)?;
    if catalog.get(&name).is_some() {
        return scan_with(run, parsed.sources, Selection::One(name));
    }
    let looks_like_source = name.starts_with("s3://")
        || name.contains(['/', '.'])
        || std::path::Path::new(&name).exists();
    if !looks_like_source {
        anyhow::bail!(
            "'{name}' is not a query, a command, or an existing file or folder (`trailscan queries` lists the queries)"
        );
    }
    let mut sources = vec![name];
    sources.extend(parsed.sources);
    scan_with(run, sources, Selection::Audit)
}

fn scan_with(typed: RunArgs, sources: Vec<String>, selection: Selection) -> anyhow::Result<Exit> {
    let (run, file) = settle(typed)?;
    let sources = match (&file, sources.is_empty()) {
        (Some(file), true) => file.sources(),
        _ => sources,
    };
    let config = Config::new(&run, &sources, Utc::now())?;
    let catalog = load_catalog(&run)?;
    if config.format == Format::Blocklist
        && !matches!(
            selection,
            Selection::Analysis(AnalysisArgs::SuspiciousIps(_))
        )
    {
        anyhow::bail!(
            "--format blocklist lists flagged addresses: use it with `trailscan suspicious-ips`"
        );
    }
    let mut analysis = None;
    let (queries, mode, ad_hoc) = match selection {
        Selection::Audit => {
            let mut queries = catalog.all().to_vec();
            // The most severe first: that is what a reader of an audit looks at first.
            queries.sort_by(|a, b| {
                b.severity
                    .cmp(&a.severity)
                    .then_with(|| a.name.cmp(&b.name))
            });
            let set = QuerySet::new(queries);
            let set = match &file {
                Some(file) => file.select(&catalog, set)?,
                None => set,
            };
            (set, Mode::Audit, false)
        }
        Selection::One(name) => {
            let query = catalog
                .get(&name)
                .cloned()
                .context("the query vanished from the catalogue")?;
            (QuerySet::new(vec![query]), Mode::Single, false)
        }
        Selection::AdHoc(sql) => {
            let query = Query::ad_hoc(&sql).map_err(|e| anyhow::anyhow!("in the SQL, {e}"))?;
            (QuerySet::new(vec![Arc::new(query)]), Mode::Single, true)
        }
        Selection::Analysis(args) => {
            let resolved = args.resolve(file.as_ref())?;
            let set = QuerySet::new(resolved.queries(&catalog));
            analysis = Some(resolved);
            (set, Mode::Single, false)
        }
    };
    let queries = match (&file, ad_hoc) {
        (Some(file), false) => file.suppress(&catalog, queries)?,
        _ => queries,
    };
    execute(&config, &queries, mode, ad_hoc, analysis.as_ref())
}

fn execute(
    config: &Config,
    queries: &QuerySet,
    mode: Mode,
    ad_hoc: bool,
    analysis: Option<&Analysis>,
) -> anyhow::Result<Exit> {
    let started = Utc::now();
    let mut state = config
        .state
        .as_deref()
        .map(|path| State::load(path, config.lookback))
        .transpose()?;
    let alert_to = match (&config.sns_topic, ad_hoc) {
        (Some(topic), false) => Some(topic.as_str()),
        _ => None,
    };
    let publisher = match alert_to {
        Some(topic) if !config.dry_run => {
            Some(SnsPublisher::connect(&config.s3.connection, topic).map_err(anyhow::Error::msg)?)
        }
        _ => None,
    };
    let s3 = match config.sources.iter().any(SourceSpec::is_s3) {
        true => Some(S3Session::connect(config.s3.clone()).map_err(anyhow::Error::msg)?),
        false => None,
    };

    let mut filter = config.filter.clone();
    if filter.window.since.is_none() {
        filter.listing_since = state.as_ref().and_then(State::earliest_needed);
    }
    let mut listing = source::list(&config.sources, &filter, s3.as_ref());
    let nothing_listed = listing.objects.is_empty()
        && listing.skipped_digest + listing.skipped_insight + listing.pruned == 0;
    if nothing_listed && !listing.errors.is_empty() {
        // Every source failed: the errors say it all, an empty report would only hide them.
        let mut stderr = io::stderr().lock();
        for error in &listing.errors {
            writeln!(stderr, "trailscan: {error}")?;
        }
        return Ok(Exit::Error);
    }
    let listed = listing.objects.len();
    if let Some(state) = &state {
        listing.objects.retain(|object| state.wants(object));
    }
    let already_read = (listed - listing.objects.len()) as u64;

    let run_scan = || {
        scan::scan(
            &listing.objects,
            queries,
            &filter,
            config.show_progress,
            s3.as_ref(),
        )
    };
    let outcome = match config.threads {
        Some(threads) => rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .context("cannot start the worker threads")?
            .install(run_scan),
        None => run_scan(),
    };

    let mut stderr = io::stderr().lock();
    for error in &listing.errors {
        writeln!(stderr, "trailscan: {error}")?;
    }
    for warning in &outcome.warnings {
        writeln!(
            stderr,
            "trailscan: warning: {}: {}",
            warning.object, warning.reason
        )?;
    }
    for error in &outcome.errors {
        writeln!(stderr, "trailscan: {}: {}", error.object, error.reason)?;
    }

    let results = match analysis {
        Some(analysis) => analysis.finish(outcome.results).context(READ_BACK)?,
        None => outcome.results,
    };
    // With a state, only what it has not seen is reported, alerted and counted as findings.
    let (results, already_reported) = match &state {
        Some(state) => only_new(&results, state).context(READ_BACK)?,
        None => (results, 0),
    };
    // What the state will remember as alerted (or not worth alerting).
    let mut delivered: Vec<String> = Vec::new();
    let fingerprints = |result: &QueryResult| -> anyhow::Result<Vec<String>> {
        match state {
            Some(_) => (result.rows.iter())
                .map(|row| Ok(State::fingerprint(&result.query.name, &row?.identity)))
                .collect::<io::Result<_>>()
                .context(READ_BACK),
            None => Ok(Vec::new()),
        }
    };
    let (mut alerts_sent, mut alerts_failed) = (0, 0);
    for result in &results {
        let alerted = !result.rows.is_empty() && result.query.severity >= config.fail_on;
        let Some(topic) = alert_to.filter(|_| alerted) else {
            delivered.extend(fingerprints(result)?);
            continue;
        };
        let message = alert::compose(result).context(READ_BACK)?;
        match &publisher {
            None => {
                writeln!(stderr, "--- SNS message to {topic} (dry run, not sent)")?;
                writeln!(stderr, "Subject: {}", message.subject)?;
                writeln!(
                    stderr,
                    "Attributes: query={}, severity={}",
                    message.query, message.severity
                )?;
                writeln!(stderr, "\n{}", message.body)?;
            }
            Some(publisher) => match publisher.publish(&message) {
                Ok(()) => {
                    alerts_sent += 1;
                    delivered.extend(fingerprints(result)?);
                }
                Err(reason) => {
                    alerts_failed += 1;
                    writeln!(
                        stderr,
                        "trailscan: alert for {} not sent to {topic}: {reason}",
                        result.query.name
                    )?;
                }
            },
        }
    }
    drop(stderr);

    let errors = listing.errors.len() + outcome.errors.len();
    let summary = Summary {
        stats: outcome.stats,
        skipped_digest: listing.skipped_digest,
        skipped_insight: listing.skipped_insight,
        pruned: listing.pruned,
        errors,
        warnings: outcome.warnings.len(),
        elapsed: outcome.elapsed,
        s3: s3
            .as_ref()
            .map(|session| S3Summary::from(&*session.counters)),
        already_read,
        already_reported,
        alerts_sent,
        alerts_failed,
    };
    let report = Report {
        results: &results,
        summary: &summary,
        mode,
    };
    let mut out = BufWriter::new(io::stdout().lock());
    output::print(config.format, &report, &mut out, config.fit_terminal)?;
    out.flush()?;

    if let Some(state) = state.as_mut().filter(|_| !config.dry_run) {
        state.mark_alerted(&delivered, started);
        // Objects advance only once every alert about them went out: a failed publish
        // leaves them to be read, and alerted, again next time.
        if alerts_failed == 0 {
            let unread: BTreeSet<usize> = outcome.unread.iter().copied().collect();
            let (read, failed): (Vec<_>, Vec<_>) = listing
                .objects
                .iter()
                .enumerate()
                .partition(|(i, _)| !unread.contains(i));
            state.advance(
                read.into_iter().map(|(_, o)| o),
                failed.into_iter().map(|(_, o)| o),
            );
        }
        state.save(started)?;
    }

    let findings = !ad_hoc
        && results
            .iter()
            .any(|r| !r.rows.is_empty() && r.query.severity >= config.fail_on);
    Ok(if errors > 0 || alerts_failed > 0 {
        Exit::Error
    } else if findings {
        Exit::Findings
    } else {
        Exit::Clean
    })
}

/// What is said when result rows written to a temporary file cannot be read back.
const READ_BACK: &str = "cannot read back the result rows kept in a temporary file";

/// The rows the state has not seen yet, and how many it had.
fn only_new(results: &[QueryResult], state: &State) -> io::Result<(Vec<QueryResult>, usize)> {
    let mut known = 0;
    let fresh = results
        .iter()
        .map(|result| {
            let (rows, seen) = result.rows.without(|row| {
                state.was_alerted(&State::fingerprint(&result.query.name, &row.identity))
            })?;
            known += seen;
            Ok(QueryResult {
                rows,
                ..result.clone()
            })
        })
        .collect::<io::Result<_>>()?;
    Ok((fresh, known))
}

fn alert_test(run: &RunArgs) -> anyhow::Result<Exit> {
    let topic = run
        .sns_topic
        .as_deref()
        .context("alert-test needs --sns-topic ARN (or sns_topic in the configuration)")?;
    config::check_topic(topic)?;
    let connection = aws::Connection {
        profile: run.profile.clone(),
        region: None,
        endpoint_url: run.endpoint_url.clone(),
    };
    let message = alert::test_message(topic, &record::format_time(&Utc::now()));
    if run.dry_run {
        println!("Subject: {}\n\n{}", message.subject, message.body);
        return Ok(Exit::Clean);
    }
    let publisher = SnsPublisher::connect(&connection, topic).map_err(anyhow::Error::msg)?;
    publisher.publish(&message).map_err(|reason| {
        anyhow::anyhow!(
            "test notification not sent to {}: {reason}",
            publisher.topic()
        )
    })?;
    println!("Sent a test notification to {topic}.");
    Ok(Exit::Clean)
}

fn list_queries(run: &RunArgs) -> anyhow::Result<Exit> {
    let catalog = load_catalog(run)?;
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED);
    table.set_header(["name", "severity", "title", "source"]);
    for query in catalog.all() {
        let source = match &query.origin {
            Origin::BuiltIn(_) => "built-in".to_owned(),
            other => other.to_string(),
        };
        table.add_row([
            query.name.clone(),
            query.severity.to_string(),
            query.title.clone(),
            source,
        ]);
    }
    let mut out = io::stdout().lock();
    writeln!(out, "{table}")?;
    writeln!(
        out,
        "{} queries. `trailscan show NAME` prints one; `trailscan NAME ./AWSLogs` runs it.",
        catalog.all().len()
    )?;
    Ok(Exit::Clean)
}

fn show(run: &RunArgs, name: &str) -> anyhow::Result<Exit> {
    let catalog: Catalog = load_catalog(run)?;
    let query = catalog
        .get(name)
        .with_context(|| format!("no query named '{name}' (`trailscan queries` lists them)"))?;
    let mut out = io::stdout().lock();
    writeln!(out, "{} ({})", query.title, query.name)?;
    for (label, value) in [
        ("severity", query.severity.as_str()),
        ("description", query.description.as_str()),
        ("references", query.references.as_str()),
        ("runbook", query.runbook.as_str()),
    ] {
        writeln!(out, "{label:<12} {value}")?;
    }
    writeln!(out, "{:<12} {}", "source", query.origin)?;
    writeln!(out)?;
    let body: Vec<&str> = query
        .text
        .lines()
        .skip_while(|l| l.trim().is_empty() || l.trim_start().starts_with("--"))
        .collect();
    writeln!(out, "{}", body.join("\n").trim_end())?;
    Ok(Exit::Clean)
}

fn lint(run: &RunArgs, dir: Option<&std::path::Path>) -> anyhow::Result<Exit> {
    let (checked, errors): (usize, Vec<LintError>) = match dir {
        Some(dir) => {
            let results = load_dir(dir).unwrap_or_else(|errors| vec![Err(errors)]);
            let checked = results.len();
            (
                checked,
                results
                    .into_iter()
                    .filter_map(Result::err)
                    .flatten()
                    .collect(),
            )
        }
        None => {
            let mut errors: Vec<LintError> = Vec::new();
            let mut checked = 0;
            for (file, text) in query::catalog::BUILTIN_QUERIES {
                checked += 1;
                if let Err(mut e) = parse_query_file(Origin::BuiltIn((*file).to_owned()), text) {
                    errors.append(&mut e);
                }
            }
            if let Some(user_dir) = &run.queries_dir {
                let results = load_dir(user_dir).unwrap_or_else(|errors| vec![Err(errors)]);
                checked += results.len();
                errors.extend(results.into_iter().filter_map(Result::err).flatten());
            }
            (checked, errors)
        }
    };
    let mut out = io::stdout().lock();
    for error in &errors {
        writeln!(out, "{error}")?;
    }
    writeln!(out, "{checked} files checked, {} problems", errors.len())?;
    Ok(if errors.is_empty() {
        Exit::Clean
    } else {
        Exit::Findings
    })
}
