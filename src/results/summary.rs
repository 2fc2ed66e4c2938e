//! What a run reports besides its rows: objects, bytes, records, errors, state and alerts.

use std::time::Duration;

/// Counters of a scan; all of them add up across workers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Objects read (successfully or not).
    pub objects: u64,
    pub bytes_read: u64,
    pub bytes_uncompressed: u64,
    /// Events decoded.
    pub records: u64,
    /// Events that reached the queries.
    pub evaluated: u64,
    /// Events dropped because a window was given and their eventTime is missing or garbage.
    pub no_event_time: u64,
    pub outside_window: u64,
    /// Events outside `--account`/`--region`, in objects whose key does not say.
    pub outside_filter: u64,
    /// Digest files found by their content rather than their key.
    pub digest_by_content: u64,
}

impl ScanStats {
    pub fn add(&mut self, other: &ScanStats) {
        self.objects += other.objects;
        self.bytes_read += other.bytes_read;
        self.bytes_uncompressed += other.bytes_uncompressed;
        self.records += other.records;
        self.evaluated += other.evaluated;
        self.no_event_time += other.no_event_time;
        self.outside_window += other.outside_window;
        self.outside_filter += other.outside_filter;
        self.digest_by_content += other.digest_by_content;
    }
}

/// Requests made and bytes moved by a remote source (S3) during a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Transfer {
    pub list_requests: u64,
    pub keys_listed: u64,
    pub get_requests: u64,
    pub bytes_downloaded: u64,
    pub cache_hits: u64,
}

impl Transfer {
    pub fn add(&mut self, other: &Transfer) {
        self.list_requests += other.list_requests;
        self.keys_listed += other.keys_listed;
        self.get_requests += other.get_requests;
        self.bytes_downloaded += other.bytes_downloaded;
        self.cache_hits += other.cache_hits;
    }
}

/// Everything the summary says about a run.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub stats: ScanStats,
    pub skipped_digest: u64,
    pub skipped_insight: u64,
    pub pruned: u64,
    pub errors: usize,
    pub warnings: usize,
    pub elapsed: Duration,
    /// Present when the run read from a remote source.
    pub transfer: Option<Transfer>,
    /// With `--state`: objects not read again, and findings not shown again.
    pub already_read: u64,
    pub already_reported: usize,
    /// Alerts published, and those that could not be.
    pub alerts_sent: usize,
    pub alerts_failed: usize,
    /// Present when the queries ran on Athena (`athena run`) instead of a scan.
    pub athena: Option<AthenaUsage>,
}

/// What the queries of an `athena run` scanned, and what that costs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AthenaUsage {
    pub queries: Vec<AthenaQuery>,
    /// US dollars per terabyte (10^12 bytes) scanned.
    pub price_per_tb: f64,
}

/// One query's execution on Athena.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AthenaQuery {
    pub query: String,
    /// Athena's QueryExecutionId (empty when it was not started).
    pub execution_id: String,
    /// How it ended: SUCCEEDED, FAILED, CANCELLED, or NOT STARTED.
    pub state: String,
    pub data_scanned: u64,
    pub engine_ms: u64,
}

impl AthenaUsage {
    /// Athena bills each query for at least 10 MB, in whole megabytes.
    pub fn billed(data_scanned: u64) -> u64 {
        const MB: u64 = 1_000_000;
        data_scanned.div_ceil(MB).max(10) * MB
    }

    /// What one query cost, in US dollars: Athena bills the queries that succeeded.
    pub fn cost(&self, query: &AthenaQuery) -> f64 {
        match query.state.as_str() {
            "SUCCEEDED" => Self::billed(query.data_scanned) as f64 / 1e12 * self.price_per_tb,
            _ => 0.0,
        }
    }

    pub fn data_scanned(&self) -> u64 {
        self.queries.iter().map(|q| q.data_scanned).sum()
    }

    pub fn total_cost(&self) -> f64 {
        self.queries.iter().map(|q| self.cost(q)).sum()
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
