//! Printers: the same report as tables, JSON, JSON Lines or CSV, over any `Write`.

mod csv;
mod json;
pub mod sanitize;
mod table;

use std::io::{self, Write};
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::query::QueryResult;
use crate::record::OwnedValue;
use crate::scan::Stats;
use crate::source::s3::S3Counters;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Jsonl,
    Csv,
    /// Flagged addresses as CIDRs, one per line (suspicious-ips only).
    Blocklist,
}

/// How the rows are presented: an audit lists every query it ran, a single query its table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Audit,
    Single,
}

/// Everything the summary says about a run.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub stats: Stats,
    pub skipped_digest: u64,
    pub skipped_insight: u64,
    pub pruned: u64,
    pub errors: usize,
    pub warnings: usize,
    pub elapsed: Duration,
    /// Present when the run read from S3.
    pub s3: Option<S3Summary>,
    /// With `--state`: objects not read again, and findings not shown again.
    pub already_read: u64,
    pub already_reported: usize,
    /// SNS messages published, and those that could not be.
    pub alerts_sent: usize,
    pub alerts_failed: usize,
}

/// S3 requests made and bytes downloaded during a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct S3Summary {
    pub list_requests: u64,
    pub keys_listed: u64,
    pub get_requests: u64,
    pub bytes_downloaded: u64,
    pub cache_hits: u64,
}

impl From<&S3Counters> for S3Summary {
    fn from(counters: &S3Counters) -> Self {
        S3Summary {
            list_requests: counters.list_requests.load(Ordering::Relaxed),
            keys_listed: counters.keys_listed.load(Ordering::Relaxed),
            get_requests: counters.get_requests.load(Ordering::Relaxed),
            bytes_downloaded: counters.bytes_downloaded.load(Ordering::Relaxed),
            cache_hits: counters.cache_hits.load(Ordering::Relaxed),
        }
    }
}

impl Summary {
    pub fn skipped(&self) -> u64 {
        self.skipped_digest + self.skipped_insight + self.stats.digest_by_content
    }

    pub fn records_per_second(&self) -> u64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            (self.stats.records as f64 / secs).round() as u64
        } else {
            0
        }
    }
}

pub struct Report<'a> {
    pub results: &'a [QueryResult],
    pub summary: &'a Summary,
    pub mode: Mode,
}

pub fn print(
    format: Format,
    report: &Report<'_>,
    out: &mut impl Write,
    fit_terminal: bool,
) -> io::Result<()> {
    match format {
        Format::Table => table::print(report, out, fit_terminal),
        Format::Json => json::print(report, out),
        Format::Jsonl => json::print_lines(report, out),
        Format::Csv => csv::print(report, out),
        Format::Blocklist => {
            for network in crate::analysis::blocklist(report.results)? {
                writeln!(out, "{network}")?;
            }
            Ok(())
        }
    }
}

fn value_text(value: &OwnedValue) -> String {
    value
        .to_text()
        .map(|t| sanitize::for_terminal(&t).into_owned())
        .unwrap_or_default()
}

fn megabytes(bytes: u64) -> String {
    format!("{:.2} MB", bytes as f64 / 1e6)
}
