//! The commands that do not scan: list, show and lint the queries, their ATT&CK matrix, test the alerts, completions and the man page.

use std::collections::{BTreeMap, BTreeSet};
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
use crate::meta::{Meta, Origin, attack};
use crate::notify::{self, Notifier};
use crate::output::sanitize::for_terminal;
use crate::record::format_time;

/// `trailscan completions SHELL`: the completion script, from the command-line definition.
pub fn completions(shell: clap_complete::Shell) -> anyhow::Result<Exit> {
    let mut command = <crate::cli::Cli as clap::CommandFactory>::command();
    let mut out = io::stdout().lock();
    clap_complete::generate(shell, &mut command, "trailscan", &mut out);
    out.flush()?;
    Ok(Exit::Clean)
}

/// `trailscan man`: the man page (roff), from the command-line definition.
pub fn man_page() -> anyhow::Result<Exit> {
    let command = <crate::cli::Cli as clap::CommandFactory>::command();
    let mut out = io::stdout().lock();
    clap_mangen::Man::new(command).render(&mut out)?;
    out.flush()?;
    Ok(Exit::Clean)
}

/// `trailscan queries`: every query and rule, with its severity (a rule's level), status,
/// ATT&CK techniques, title and origin.
pub fn list_queries(config: &Config) -> anyhow::Result<Exit> {
    let catalog = config.catalog()?;
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED);
    // Only Sigma rules have a status: the column is there when one is.
    let detail = |meta: &Meta, label: &str| -> String {
        (meta.details.iter())
            .find(|(l, _)| l == label)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let statuses = (catalog.all().iter()).any(|q| !detail(&q.meta, "status").is_empty());
    let mut header = vec!["name", "severity"];
    header.extend(statuses.then_some("status"));
    header.extend(["ATT&CK", "title", "source"]);
    table.set_header(header);
    for query in catalog.all() {
        let source = match &query.origin {
            Origin::BuiltIn(_) => "built-in".to_owned(),
            other => other.to_string(),
        };
        let mut row = vec![query.meta.name.clone(), query.meta.severity.to_string()];
        row.extend(statuses.then(|| detail(&query.meta, "status")));
        row.extend([
            query.meta.techniques.join(", "),
            query.meta.title.clone(),
            source,
        ]);
        table.add_row(row);
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

/// `trailscan queries --attack`: the ATT&CK techniques that the queries and the analyses'
/// findings cover, by tactic in the matrix's order, each with the detections that cover it.
pub fn attack_matrix(config: &Config) -> anyhow::Result<Exit> {
    let catalog = config.catalog()?;
    let mut detections: Vec<Meta> = (catalog.all().iter())
        .map(|q| q.meta.as_ref().clone())
        .collect();
    detections.extend(crate::analysis::described());
    let mut matrix: BTreeMap<usize, BTreeMap<&str, BTreeSet<&str>>> = BTreeMap::new();
    let mut unmapped: Vec<&str> = Vec::new();
    for meta in &detections {
        if meta.tactics.is_empty() || meta.techniques.is_empty() {
            unmapped.push(&meta.name);
        }
        for technique in &meta.techniques {
            for tactic in attack::tactics_of(technique, &meta.tactics) {
                let Some(at) = attack::TACTICS.iter().position(|(t, _, _)| *t == tactic) else {
                    continue;
                };
                (matrix.entry(at).or_default().entry(technique))
                    .or_default()
                    .insert(&meta.name);
            }
        }
    }
    let techniques: BTreeSet<&str> = matrix.values().flat_map(|t| t.keys().copied()).collect();
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "ATT&CK coverage: {} techniques in {} tactics, by {} queries and analysis findings",
        techniques.len(),
        matrix.len(),
        detections.len() - unmapped.len()
    )?;
    for (at, techniques) in &matrix {
        let (_, id, name) = attack::TACTICS[*at];
        writeln!(out, "\n{name} ({id})")?;
        for (technique, names) in techniques {
            writeln!(out, "  {}", attack::describe_technique(technique))?;
            let names: Vec<&str> = names.iter().copied().collect();
            writeln!(out, "      {}", names.join(", "))?;
        }
    }
    if !unmapped.is_empty() {
        writeln!(out, "\nNot mapped to ATT&CK: {}", unmapped.join(", "))?;
    }
    Ok(Exit::Clean)
}

/// `trailscan show NAME`: one query's metadata, runbook and SQL (a rule's YAML); with
/// `sql`, its Athena SQL alone.
pub fn show(config: &Config, name: &str, sql: bool) -> anyhow::Result<Exit> {
    let query = (config.catalog()?.find(name)).with_context(|| {
        format!("no query or rule named '{name}' (`trailscan queries` lists them; rules need --rules DIR)")
    })?;
    let sigma = match &query.origin {
        Origin::File(path) => path_is_sigma(path),
        Origin::BuiltIn(file) => path_is_sigma(Path::new(file)),
        Origin::CommandLine => false,
    };
    let body = if sigma {
        query.text.trim_end().to_owned()
    } else {
        let lines: Vec<&str> = (query.text.lines())
            .skip_while(|l| l.trim().is_empty() || l.trim_start().starts_with("--"))
            .collect();
        lines.join("\n").trim_end().to_owned()
    };
    if sql {
        let text = if sigma {
            crate::lang::sigma::athena_sql(&query.text).map_err(|reason| {
                anyhow::anyhow!("{} has no Athena SQL: {reason}", query.meta.name)
            })?
        } else {
            body
        };
        let mut out = io::stdout().lock();
        writeln!(out, "{text}")?;
        return Ok(Exit::Clean);
    }
    let meta = &query.meta;
    let techniques: Vec<String> = (meta.techniques.iter())
        .map(|t| attack::describe_technique(t))
        .collect();
    let techniques = techniques.join("; ");
    let mut out = io::stdout().lock();
    writeln!(out, "{} ({})", meta.title, meta.name)?;
    for (label, value) in [
        ("severity", meta.severity.as_str()),
        ("description", meta.description.as_str()),
        ("references", meta.references.as_str()),
        ("runbook", meta.runbook.as_str()),
        ("tactics", &meta.tactics.join(", ")),
        ("techniques", &techniques),
    ] {
        writeln!(out, "{label:<12} {value}")?;
    }
    for (label, value) in &meta.details {
        writeln!(out, "{label:<12} {}", for_terminal(value))?;
    }
    writeln!(out, "{:<12} {}", "source", query.origin)?;
    writeln!(out)?;
    // A rule file is text from anywhere: shown line by line, each made terminal-safe.
    for line in body.lines() {
        writeln!(out, "{}", for_terminal(line))?;
    }
    Ok(Exit::Clean)
}

/// Whether a file is a Sigma rule, by its extension.
fn path_is_sigma(path: &Path) -> bool {
    (path.extension().and_then(|e| e.to_str()))
        .is_some_and(|e| crate::lang::sigma::EXTENSIONS.contains(&e))
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
            .chain(config.rules_dirs().iter().flat_map(|d| folder(d)))
            .collect(),
    };
    let checked = results.len();
    // What Athena would refuse in the SQL files trailscan takes: warnings, which leave the
    // exit status as it is (trailscan runs them).
    let athena: Vec<LintError> = (results.iter().filter_map(|r| r.as_ref().ok()))
        .filter(|query| match &query.origin {
            Origin::File(path) => !path_is_sigma(path),
            Origin::BuiltIn(file) => !path_is_sigma(Path::new(file)),
            Origin::CommandLine => true,
        })
        .flat_map(|query| crate::lang::sql::athena_problems(&query.origin, &query.text))
        .collect();
    // A rule for another log source is left out, which is not a problem of the rule.
    let (skipped, errors): (Vec<LintError>, Vec<LintError>) = results
        .into_iter()
        .filter_map(Result::err)
        .flatten()
        .partition(crate::lang::sigma::is_skipped);
    let mut out = io::stdout().lock();
    for error in errors.iter().chain(&skipped) {
        writeln!(out, "{}", for_terminal(&error.to_string()))?;
    }
    for warning in &athena {
        let shown = match (warning.line, warning.column) {
            (0, _) => format!("{warning}"),
            _ => format!("{warning}").replacen(": ", ": warning: ", 1),
        };
        writeln!(out, "{}", for_terminal(&shown))?;
    }
    let skipped = match skipped.len() {
        0 => String::new(),
        n => format!(", {n} rules skipped (not AWS CloudTrail)"),
    };
    let warnings = match athena.len() {
        0 => String::new(),
        n => format!(", {n} warnings (Athena would refuse the SQL)"),
    };
    writeln!(
        out,
        "{checked} files checked, {} problems{skipped}{warnings}",
        errors.len()
    )?;
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
