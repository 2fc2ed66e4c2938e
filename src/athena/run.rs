//! `trailscan athena run`: the job's queries on Athena, their rows through a scan's printers, alerts and state.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use super::client::{Athena, Failure};
use super::rows;
use super::statement;
use crate::config::{Config, RunSpec};
use crate::exit::Exit;
use crate::job::Job;
use crate::meta::Origin;
use crate::output::sanitize::for_terminal;
use crate::query::Query;
use crate::results::{AthenaQuery, AthenaUsage, Summary};

/// Runs the job's queries on Athena and reports their rows as a scan reports its own.
pub fn run(config: &Config, job: &Job, spec: &RunSpec) -> anyhow::Result<Exit> {
    // Made first: a state that cannot be read, or a topic that cannot be reached, stops
    // the run before Athena bills for anything.
    let state = config.state()?;
    let notifier = config.notifier(job)?;
    if state.is_some() && spec.scope.window.since.is_none() {
        say(
            "warning: athena run without --since reads the whole table each time: give the window a cron run covers (--since 2h for an hourly run; --state keeps findings from being reported twice)",
        );
    }
    let queries: Vec<Arc<Query>> = job.queries.queries().to_vec();
    let mut errors = 0;
    let mut statements = Vec::new();
    let mut runnable = Vec::new();
    for query in &queries {
        let sql = match is_sigma(&query.origin) {
            true => match crate::lang::sigma::athena_sql(&query.text) {
                Ok(sql) => sql,
                Err(reason) => {
                    say(&format!("{}: has no Athena SQL: {reason}", query.name()));
                    errors += 1;
                    continue;
                }
            },
            false => query.text.clone(),
        };
        if !is_sigma(&query.origin) {
            for problem in crate::lang::sql::athena_problems(&query.origin, &sql) {
                say(&format!("warning: {problem}"));
            }
        }
        let sent = statement::statement(&sql, &spec.scope, spec.suppress.get(query.name()));
        statements.push((query.name().to_owned(), sent));
        runnable.push(Arc::clone(query));
    }
    let athena = Athena::connect(&spec.connection)?;
    let started = Instant::now();
    let outcomes = athena.run_all(&statements, &spec.target, spec.concurrency);
    let mut usage = AthenaUsage {
        queries: Vec::new(),
        price_per_tb: spec.price_per_tb,
    };
    let mut results = Vec::new();
    let mut skipped = 0;
    for (query, outcome) in runnable.iter().zip(outcomes) {
        let name = query.name().to_owned();
        let mut used = AthenaQuery {
            query: name.clone(),
            ..AthenaQuery::default()
        };
        match outcome {
            Ok(finished) => {
                used.execution_id = finished.id.clone();
                used.state = "SUCCEEDED".into();
                used.data_scanned = finished.data_scanned;
                used.engine_ms = finished.engine_ms;
                let id = finished.id.clone();
                match rows::result_set(query, finished) {
                    Ok(result) => results.push(result),
                    Err(reason) => {
                        say(&format!("{name}: the results of query {id}: {reason}"));
                        errors += 1;
                    }
                }
            }
            Err(failure) => {
                used.state = match &failure {
                    Failure::Failed { .. } => "FAILED",
                    Failure::Cancelled { .. } => "CANCELLED",
                    Failure::Lost { .. } => "UNKNOWN",
                    Failure::NotStarted(_) | Failure::Skipped => "NOT STARTED",
                }
                .into();
                match failure {
                    Failure::NotStarted(reason) => {
                        say(&format!("{name}: not started on Athena: {reason}"))
                    }
                    Failure::Skipped => skipped += 1,
                    Failure::Failed { id, reason } => {
                        used.execution_id = id.clone();
                        say(&format!("{name}: query {id} FAILED on Athena: {reason}"));
                    }
                    Failure::Cancelled { id, reason } => {
                        used.execution_id = id.clone();
                        say(&format!("{name}: query {id} was CANCELLED: {reason}"));
                    }
                    Failure::Lost { id, reason } => {
                        used.execution_id = id.clone();
                        say(&format!("{name}: query {id}: {reason}"));
                    }
                }
                errors += 1;
            }
        }
        usage.queries.push(used);
    }
    if skipped > 0 {
        say(&format!(
            "{skipped} more queries not started (the reason is above)"
        ));
    }
    let summary = Summary {
        errors,
        elapsed: started.elapsed(),
        athena: Some(usage),
        ..Summary::default()
    };
    let table = match &spec.scope.database {
        Some(database) => format!("{database}.{}", spec.scope.table),
        None => spec.scope.table.clone(),
    };
    let scope = crate::output::Scope {
        sources: vec![format!("athena:{table}")],
        since: spec.scope.window.since,
        until: spec.scope.window.until,
        accounts: spec.scope.accounts.clone(),
        regions: spec.scope.regions.clone(),
    };
    crate::pipeline::deliver(config, job, results, summary, scope, state, notifier)
}

fn is_sigma(origin: &Origin) -> bool {
    let path = match origin {
        Origin::File(path) => path.as_path(),
        Origin::BuiltIn(file) => Path::new(file),
        Origin::CommandLine => return false,
    };
    (path.extension().and_then(|e| e.to_str()))
        .is_some_and(|e| crate::lang::sigma::EXTENSIONS.contains(&e))
}

/// One line on stderr, after `trailscan: `, made terminal-safe (reasons quote Athena, which
/// quotes the query and its data).
fn say(line: &str) {
    let _ = writeln!(
        std::io::stderr().lock(),
        "trailscan: {}",
        for_terminal(line)
    );
}
