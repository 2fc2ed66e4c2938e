//! trailscan: scan CloudTrail archives and evaluate Athena-SQL queries over them.

pub mod cli;
pub mod config;
pub mod decode;
pub mod output;
pub mod query;
pub mod record;
pub mod scan;
pub mod source;

use std::io::{self, BufWriter, Write};
use std::sync::Arc;

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches};
use comfy_table::Table;
use comfy_table::presets::UTF8_FULL_CONDENSED;

use cli::{Cli, Command, NamedQueryCli, QueriesAction, RunArgs};
use config::{Config, load_catalog};
use output::{Mode, Report, S3Summary, Summary};
use query::catalog::{LintError, Origin, load_dir, parse_query_file};
use query::{Query, QuerySet};
use source::SourceSpec;
use source::s3::S3Session;

/// How a run ended, as the process exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Ran, and found nothing at or above `--fail-on`.
    Clean = 0,
    /// Ran, and found something (or lint found problems).
    Findings = 1,
    /// Bad arguments, or some input could not be read.
    Error = 2,
}

pub fn run(cli: Cli) -> anyhow::Result<Exit> {
    match cli.command {
        None => scan_with(cli.run, Vec::new(), Selection::Audit),
        Some(Command::Audit { sources }) => scan_with(cli.run, sources, Selection::Audit),
        Some(Command::Query { sql, sources }) => scan_with(cli.run, sources, Selection::AdHoc(sql)),
        Some(Command::Queries { action: None }) => list_queries(&cli.run),
        Some(Command::Queries {
            action: Some(QueriesAction::Lint { dir }),
        }) => lint(&cli.run, dir.as_deref()),
        Some(Command::Show { name }) => show(&cli.run, &name),
        Some(Command::Named(words)) => named(cli.run, words),
    }
}

enum Selection {
    Audit,
    One(String),
    AdHoc(String),
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
    let catalog = load_catalog(&run)?;
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

fn scan_with(run: RunArgs, sources: Vec<String>, selection: Selection) -> anyhow::Result<Exit> {
    let config = Config::new(&run, &sources, chrono::Utc::now())?;
    let (queries, mode, ad_hoc) = match selection {
        Selection::Audit => {
            let mut queries = load_catalog(&run)?.all().to_vec();
            // The most severe first: that is what a reader of an audit looks at first.
            queries.sort_by(|a, b| {
                b.severity
                    .cmp(&a.severity)
                    .then_with(|| a.name.cmp(&b.name))
            });
            (queries, Mode::Audit, false)
        }
        Selection::One(name) => {
            let catalog = load_catalog(&run)?;
            let query = catalog
                .get(&name)
                .cloned()
                .context("the query vanished from the catalogue")?;
            (vec![query], Mode::Single, false)
        }
        Selection::AdHoc(sql) => {
            let query = Query::ad_hoc(&sql).map_err(|e| anyhow::anyhow!("in the SQL, {e}"))?;
            (vec![Arc::new(query)], Mode::Single, true)
        }
    };
    execute(&config, &QuerySet::new(queries), mode, ad_hoc)
}

fn execute(config: &Config, queries: &QuerySet, mode: Mode, ad_hoc: bool) -> anyhow::Result<Exit> {
    let s3 = match config.sources.iter().any(SourceSpec::is_s3) {
        true => Some(S3Session::connect(config.s3.clone()).map_err(anyhow::Error::msg)?),
        false => None,
    };
    let listing = source::list(&config.sources, &config.filter, s3.as_ref());
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
    let run_scan = || {
        scan::scan(
            &listing.objects,
            queries,
            &config.filter,
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
    };
    let report = Report {
        results: &outcome.results,
        summary: &summary,
        mode,
    };
    let mut out = BufWriter::new(io::stdout().lock());
    output::print(config.format, &report, &mut out, config.fit_terminal)?;
    out.flush()?;

    let findings = !ad_hoc
        && outcome
            .results
            .iter()
            .any(|r| !r.rows.is_empty() && r.query.severity >= config.fail_on);
    Ok(if errors > 0 {
        Exit::Error
    } else if findings {
        Exit::Findings
    } else {
        Exit::Clean
    })
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
    let catalog = load_catalog(run)?;
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
