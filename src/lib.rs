//! trailscan: scan CloudTrail archives and evaluate Athena-SQL queries over them.
//!
//! `ARCHITECTURE.md` maps the modules to the pipeline. The binary calls `run`; the
//! benchmarks reach the decoder and the query engine through `bench`.

mod analysis;
mod athena;
mod aws;
mod catalog;
pub mod cli;
mod commands;
mod config;
mod decode;
mod exit;
mod job;
mod json_text;
mod lang;
mod meta;
mod needs;
mod net;
mod notify;
mod output;
mod pipeline;
mod query;
mod record;
mod respond;
mod results;
mod scan;
mod source;
mod state;
mod verify;

#[doc(hidden)]
pub mod bench;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzz;

use chrono::Utc;
use clap::{CommandFactory, FromArgMatches};

use cli::{Cli, Command, NamedQueryCli};
use config::{Config, Task};
pub use exit::Exit;

pub fn run(cli: Cli) -> anyhow::Result<Exit> {
    // Generated from the command-line definition alone: no settings, no configuration file.
    match &cli.command {
        Some(Command::Completions { shell }) => return commands::completions(*shell),
        Some(Command::Man) => return commands::man_page(),
        _ => {}
    }
    let named = match &cli.command {
        Some(Command::Named(words)) => match parse_named(words) {
            Ok(named) => Some(named),
            // `trailscan NAME --help`, or a mistyped option after a query's name.
            Err(e) => {
                e.print()?;
                return Ok(if e.use_stderr() {
                    Exit::Error
                } else {
                    Exit::Clean
                });
            }
        },
        _ => None,
    };
    let (config, task) = Config::new(cli, named, Utc::now())?;
    match task {
        Task::Scan(job) => pipeline::run(&config, &job),
        Task::ListQueries => commands::list_queries(&config),
        Task::Attack => commands::attack_matrix(&config),
        Task::Show(name, sql) => commands::show(&config, &name, sql),
        Task::Lint(dir) => commands::lint(&config, dir.as_deref()),
        Task::AlertTest => commands::alert_test(&config),
        Task::Verify { public_keys, audit } => verify::run(&config, &public_keys, audit.as_ref()),
        Task::AthenaDdl(spec) => athena::ddl::run(&config, &spec),
        Task::AthenaRun(job, spec) => athena::run::run(&config, &job, &spec),
    }
}

/// `trailscan <QUERY> [SOURCES…] [OPTIONS]`: the words after the query's name.
fn parse_named(words: &[String]) -> Result<NamedQueryCli, clap::Error> {
    let name = words.first().cloned().unwrap_or_default();
    let command = NamedQueryCli::command().bin_name(format!("trailscan {name}"));
    let matches = command.try_get_matches_from(words)?;
    NamedQueryCli::from_arg_matches(&matches)
}
