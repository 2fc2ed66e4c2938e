//! The commands that do not scan: list, show and lint the queries, and test the alerts.

use std::io::{self, Write};
use std::path::Path;

use anyhow::Context;
use chrono::Utc;
use comfy_table::Table;
use comfy_table::presets::UTF8_FULL_CONDENSED;

use crate::catalog::{self, load_dir};
use crate::config::Config;
use crate::exit::Exit;
use crate::lang::LintError;
use crate::meta::Origin;
use crate::notify::{self, Notifier};
use crate::record::format_time;

/// `trailscan queries`: every query, with its severity, title and origin.
pub fn list_queries(config: &Config) -> anyhow::Result<Exit> {
    let catalog = config.catalog()?;
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED);
    table.set_header(["name", "severity", "title", "source"]);
    for query in catalog.all() {
        let source = match &query.origin {
            Origin::BuiltIn(_) => "built-in".to_owned(),
            other => other.to_string(),
        };
        table.add_row([
            query.meta.name.clone(),
            query.meta.severity.to_string(),
            query.meta.title.clone(),
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

/// `trailscan show NAME`: one query's metadata, runbook and SQL.
pub fn show(config: &Config, name: &str) -> anyhow::Result<Exit> {
    let query = (config.catalog()?.get(name))
        .with_context(|| format!("no query named '{name}' (`trailscan queries` lists them)"))?;
    let meta = &query.meta;
    let mut out = io::stdout().lock();
    writeln!(out, "{} ({})", meta.title, meta.name)?;
    for (label, value) in [
        ("severity", meta.severity.as_str()),
        ("description", meta.description.as_str()),
        ("references", meta.references.as_str()),
        ("runbook", meta.runbook.as_str()),
    ] {
        writeln!(out, "{label:<12} {value}")?;
    }
    writeln!(out, "{:<12} {}", "source", query.origin)?;
    writeln!(out)?;
    let body: Vec<&str> = (query.text.lines())
        .skip_while(|l| l.trim().is_empty() || l.trim_start().starts_with("--"))
        .collect();
    writeln!(out, "{}", body.join("\n").trim_end())?;
    Ok(Exit::Clean)
}

/// `trailscan queries lint [DIR]`: every problem of every query file, as file:line:column.
pub fn lint(config: &Config, dir: Option<&Path>) -> anyhow::Result<Exit> {
    let folder = |dir: &Path| -> Vec<Result<_, Vec<LintError>>> {
        load_dir(dir).unwrap_or_else(|errors| vec![Err(errors)])
    };
    let results: Vec<_> = match dir {
        Some(dir) => folder(dir),
        None => (catalog::builtin())
            .chain(config.queries_dir().map(folder).into_iter().flatten())
            .collect(),
    };
    let checked = results.len();
    let errors: Vec<LintError> = results
        .into_iter()
        .filter_map(Result::err)
        .flatten()
        .collect();
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

/// `trailscan alert-test`: one test notification to the configured topic.
pub fn alert_test(config: &Config) -> anyhow::Result<Exit> {
    let topic = (config.sns_topic())
        .context("alert-test needs --sns-topic ARN (or sns_topic in the configuration)")?;
    let message = notify::test_message(topic, &format_time(&Utc::now()));
    if config.dry_run() {
        println!("Subject: {}\n\n{}", message.subject, message.body);
        return Ok(Exit::Clean);
    }
    let publisher = config.publisher(topic)?;
    publisher.send(&message).map_err(|reason| {
        anyhow::anyhow!(
            "test notification not sent to {}: {reason}",
            publisher.target()
        )
    })?;
    println!("Sent a test notification to {topic}.");
    Ok(Exit::Clean)
}
