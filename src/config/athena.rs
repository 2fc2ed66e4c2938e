//! `athena` commands' settings: the table (`[athena]` in the file, or the command's flags) and its location.

use std::collections::BTreeMap;

use anyhow::bail;

use super::{Config, Pending, Task};
use crate::aws::Connection;
use crate::cli::{AthenaCommand, AthenaDdlArgs, AthenaRunArgs, SuppressSettings};
use crate::output::Format;
use crate::source::TimeWindow;

/// What `athena ddl` was asked for, resolved.
#[derive(Debug, Clone)]
pub struct DdlSpec {
    /// `s3://bucket[/prefix]`: the folder above `AWSLogs/`, or a folder inside the layout.
    pub location: String,
    pub database: Option<String>,
    pub table: String,
}

/// What `athena run` was asked for, resolved.
#[derive(Debug, Clone)]
pub struct RunSpec {
    pub scope: AthenaScope,
    pub target: AthenaTarget,
    /// How to reach Athena: the run's AWS access, in Athena's region.
    pub connection: Connection,
    /// Queries running on Athena at once.
    pub concurrency: usize,
    /// US dollars per TB scanned, for the summary's cost.
    pub price_per_tb: f64,
    /// `[suppress.NAME]`, applied inside each query's CTE.
    pub suppress: BTreeMap<String, SuppressSettings>,
}

/// What the `cloudtrail_logs` CTE keeps: the table, the time window, accounts and regions.
#[derive(Debug, Clone, Default)]
pub struct AthenaScope {
    pub database: Option<String>,
    pub table: String,
    pub window: TimeWindow,
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
}

/// Where queries run: the workgroup, where their results go, and the database.
#[derive(Debug, Clone)]
pub struct AthenaTarget {
    pub workgroup: String,
    pub output_location: Option<String>,
    pub database: Option<String>,
}

/// The table's name unless `--table` or `[athena] table` says otherwise.
const DEFAULT_TABLE: &str = "cloudtrail_logs";
/// Athena's workgroup unless `--workgroup` or `[athena] workgroup` says otherwise.
const DEFAULT_WORKGROUP: &str = "primary";
/// Queries running at once: well within Athena's default quota of concurrent queries.
const DEFAULT_CONCURRENCY: usize = 5;
/// US dollars per TB scanned: Athena's list price in us-east-1.
const DEFAULT_PRICE_PER_TB: f64 = 5.0;

impl Config {
    /// An `athena` command as a task: its settings resolved as a scan's are (window,
    /// accounts, regions, AWS access), and the table's names checked.
    pub(super) fn athena(&mut self, command: AthenaCommand) -> anyhow::Result<Task> {
        self.resolve()?;
        match command {
            AthenaCommand::Ddl(args) => self.athena_ddl(args),
            AthenaCommand::Run(args) => self.athena_run(args),
        }
    }

    fn athena_run(&mut self, args: AthenaRunArgs) -> anyhow::Result<Task> {
        if !matches!(
            self.format,
            Format::Table | Format::Json | Format::Jsonl | Format::Csv
        ) {
            bail!(
                "athena run prints a table, json, jsonl or csv (the HTML report's charts are counted by a local scan)"
            );
        }
        let file = self.settings.athena.clone().unwrap_or_default();
        let pending = match args.queries.as_slice() {
            [] => Pending::Audit,
            [one] if one == "audit" => Pending::Audit,
            names => {
                let catalog = self.catalog()?;
                for name in names {
                    if name == "audit" {
                        bail!("athena run takes `audit` alone, or query names");
                    }
                    if catalog.get(name).is_none() {
                        bail!(
                            "athena run: no query named '{name}' (`trailscan queries` lists them)"
                        );
                    }
                }
                match names {
                    [one] => Pending::One(one.clone()),
                    _ => {
                        self.settings.queries = Some(names.to_vec());
                        self.settings.exclude.clear();
                        Pending::Audit
                    }
                }
            }
        };
        let job = self.job(pending)?;
        let (database, table) = self.athena_names(args.database, args.table)?;
        let output_typed = args.output_location.is_some();
        let output_location = args.output_location.or(file.output_location);
        if let Some(location) = &output_location
            && !location.starts_with("s3://")
        {
            let message =
                format!("'{location}' is not an s3:// URL such as s3://athena-results/trailscan/");
            return Err(match output_typed {
                true => anyhow::anyhow!("--output-location {message}"),
                false => self.refused("athena", format!("output_location: {message}")),
            });
        }
        let concurrency = args
            .concurrency
            .or(file.concurrency)
            .unwrap_or(DEFAULT_CONCURRENCY);
        if concurrency == 0 {
            bail!("--concurrency must be at least 1 (or concurrency in [athena])");
        }
        let price_per_tb = file.price_per_tb.unwrap_or(DEFAULT_PRICE_PER_TB);
        if !(price_per_tb.is_finite() && price_per_tb >= 0.0) {
            return Err(self.refused("athena", "price_per_tb: a price in US dollars, such as 5.0"));
        }
        let mut connection = self.connection();
        connection.region = args.athena_region.or(file.region);
        let spec = RunSpec {
            scope: AthenaScope {
                database: database.clone(),
                table,
                window: self.filter.window,
                accounts: self.filter.accounts.clone(),
                regions: self.filter.regions.clone(),
            },
            target: AthenaTarget {
                workgroup: args
                    .workgroup
                    .or(file.workgroup)
                    .unwrap_or_else(|| DEFAULT_WORKGROUP.to_owned()),
                output_location,
                database,
            },
            connection,
            concurrency,
            price_per_tb,
            suppress: self.settings.suppress.clone(),
        };
        Ok(Task::AthenaRun(job, Box::new(spec)))
    }

    fn athena_ddl(&mut self, args: AthenaDdlArgs) -> anyhow::Result<Task> {
        let location = match args.location {
            Some(location) => location,
            None => match self
                .settings
                .sources
                .iter()
                .find(|s| s.starts_with("s3://"))
            {
                Some(source) => source.clone(),
                None => bail!(
                    "athena ddl needs the trail's bucket: trailscan athena ddl s3://BUCKET[/PREFIX] (or an s3:// URL in `sources`)"
                ),
            },
        };
        if !location.starts_with("s3://") {
            bail!("{location}: athena ddl reads a trail's bucket: give s3://BUCKET[/PREFIX]");
        }
        let (database, table) = self.athena_names(args.database, args.table)?;
        Ok(Task::AthenaDdl(DdlSpec {
            location,
            database,
            table,
        }))
    }

    /// The database and table: the flags, else `[athena]` in the file; each an Athena name.
    fn athena_names(
        &self,
        database: Option<String>,
        table: Option<String>,
    ) -> anyhow::Result<(Option<String>, String)> {
        let file = self.settings.athena.clone().unwrap_or_default();
        let (database_typed, table_typed) = (database.is_some(), table.is_some());
        let database = database.or(file.database);
        let table = table
            .or(file.table)
            .unwrap_or_else(|| DEFAULT_TABLE.to_owned());
        let check = |key: &str, typed: bool, name: &str| -> anyhow::Result<()> {
            if is_athena_name(name) {
                return Ok(());
            }
            let message = format!(
                "'{name}' is not an Athena name: letters, digits and _, starting with a letter or _"
            );
            Err(match typed {
                true => anyhow::anyhow!("--{key} {message}"),
                false => self.refused("athena", format!("{key}: {message}")),
            })
        };
        if let Some(database) = &database {
            check("database", database_typed, database)?;
        }
        check("table", table_typed, &table)?;
        Ok((database, table))
    }
}

/// A database or table name Athena takes unquoted: letters, digits and `_`, not starting
/// with a digit, at most 255 characters.
fn is_athena_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 255
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn athena_names_are_plain_identifiers() {
        for good in ["cloudtrail_logs", "_t", "Security2"] {
            assert!(is_athena_name(good), "{good}");
        }
        for bad in ["", "2logs", "a-b", "a.b", "a b", "x\"y"] {
            assert!(!is_athena_name(bad), "{bad}");
        }
    }
}
