//! The parallel driver: objects -> decode -> every query on every record -> merged results.

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

use crate::decode::{Projection, decode};
use crate::query::{Accumulator, QuerySet};
use crate::record::{FieldPath, Record};
use crate::results::{MEMORY_BUDGET, ResultSet, RowStore, ScanStats};
use crate::source::{Filter, ReadError, Reading, SourceObject, Sources};

/// A problem with one object, reported as `object: reason`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObjectMessage {
    pub object: String,
    pub reason: String,
}

pub struct ScanOutcome {
    pub results: Vec<ResultSet>,
    pub stats: ScanStats,
    /// Objects or parts of objects that could not be read; any of these makes the exit code 2.
    pub errors: Vec<ObjectMessage>,
    pub warnings: Vec<ObjectMessage>,
    /// Indexes of the objects that could not be read at all (sorted).
    pub unread: Vec<usize>,
    /// Objects not even tried, their source having stopped answering: said once, not each.
    pub abandoned: u64,
    pub elapsed: Duration,
}

impl ScanOutcome {
    /// Adds a further pass over the same objects (an analysis's second look): its results go
    /// in at `results_at`; its problems count once, not once per pass; the records counted
    /// are the first pass's, the time is both passes'.
    pub fn add_pass(&mut self, pass: ScanOutcome, results_at: usize) {
        let at = results_at.min(self.results.len());
        self.results.splice(at..at, pass.results);
        for (mine, theirs) in [
            (&mut self.errors, pass.errors),
            (&mut self.warnings, pass.warnings),
        ] {
            mine.extend(theirs);
            mine.sort();
            mine.dedup();
        }
        self.unread.extend(pass.unread);
        self.unread.sort_unstable();
        self.unread.dedup();
        self.abandoned = self.abandoned.max(pass.abandoned);
        self.elapsed += pass.elapsed;
    }
}

/// One worker's share of the scan, merged with the others at the end.
struct Partial {
    accumulators: Vec<Accumulator>,
    stats: ScanStats,
    errors: Vec<ObjectMessage>,
    warnings: Vec<ObjectMessage>,
    unread: Vec<usize>,
    abandoned: u64,
}

/// Scans `objects` (sorted; their index is their position in the output order), each read
/// from its source: where it is decoded, or fetched ahead by sources that download.
pub fn scan(
    sources: &Sources,
    objects: &[SourceObject],
    queries: &QuerySet,
    filter: &Filter,
    max_object_bytes: u64,
    show_progress: bool,
) -> ScanOutcome {
    let started = Instant::now();
    let progress = Progress::new(objects.len() as u64, show_progress);
    let timed = filter.window.is_bounded();
    let context = Context {
        queries,
        projections: [false, true].map(|located| Projection::new(&queries.needs(located, timed))),
        filter,
        max_object_bytes,
        time_path: FieldPath::parse("eventTime"),
    };
    let new_partial = || Partial {
        accumulators: queries.accumulators(),
        stats: ScanStats::default(),
        errors: Vec::new(),
        warnings: Vec::new(),
        unread: Vec::new(),
        abandoned: 0,
    };
    let store = RowStore::new(queries.shapes(), MEMORY_BUDGET, std::env::temp_dir());
    let work = |mut part: Partial, index: usize, raw: Result<Vec<u8>, ReadError>| {
        let before = (part.stats.bytes_uncompressed, part.stats.records);
        scan_object(&objects[index], index as u32, raw, &context, &mut part);
        store.absorb(queries.take_rows(&mut part.accumulators));
        progress.object_done(
            part.stats.bytes_uncompressed - before.0,
            part.stats.records - before.1,
        );
        part
    };
    let merge = |mut a: Partial, b: Partial| {
        queries.merge(&mut a.accumulators, b.accumulators);
        a.stats.add(&b.stats);
        a.errors.extend(b.errors);
        a.warnings.extend(b.warnings);
        a.unread.extend(b.unread);
        a.abandoned += b.abandoned;
        a
    };
    // One share per worker thread: groups are then held once per thread, not once per piece a
    // fold would split the objects into (a corpus of the same files four times over held its
    // groups three times over).
    let shares = match sources.fetch(objects) {
        Reading::InPlace(indexes) => {
            let runs = Runs::new(indexes.len(), rayon::current_num_threads());
            rayon::broadcast(|thread| {
                let mut part = new_partial();
                while let Some(at) = runs.next(thread.index()) {
                    let index = indexes[at];
                    part = work(part, index, sources.read(&objects[index]));
                }
                part
            })
        }
        Reading::Arriving(fetches) => {
            let fetches = Mutex::new(fetches.fuse());
            rayon::broadcast(|_| {
                let mut part = new_partial();
                loop {
                    let Some((index, raw)) = lock(&fetches).next() else {
                        break part;
                    };
                    part = work(part, index, raw);
                }
            })
        }
    };
    let merged = (shares.into_par_iter())
        .reduce_with(merge)
        .unwrap_or_else(new_partial);
    progress.bar.finish_and_clear();
    let mut errors = merged.errors;
    let mut warnings = merged.warnings;
    if let Some(reason) = store.spill_error() {
        warnings.push(ObjectMessage {
            object: store.directory().display().to_string(),
            reason,
        });
    }
    let mut unread = merged.unread;
    errors.sort();
    warnings.sort();
    unread.sort_unstable();
    ScanOutcome {
        results: queries.finish(merged.accumulators, store),
        stats: merged.stats,
        errors,
        warnings,
        unread,
        abandoned: merged.abandoned,
        elapsed: started.elapsed(),
    }
}

/// The positions of the objects read in place, one contiguous run per worker thread: objects
/// are sorted by key (account, region, day), so the groups of an hourly alarm that a thread
/// holds are mostly its own, not every thread's. A thread whose run is done takes positions
/// from the back of the longest run left.
struct Runs(Vec<Mutex<Range<usize>>>);

impl Runs {
    fn new(len: usize, threads: usize) -> Runs {
        let threads = threads.max(1);
        Runs(
            (0..threads)
                .map(|t| Mutex::new(t * len / threads..(t + 1) * len / threads))
                .collect(),
        )
    }

    /// The next position for the thread `own`: the front of its run, else the back of the
    /// longest run left; none once every run is done.
    fn next(&self, own: usize) -> Option<usize> {
        if let Some(at) = self.0.get(own).and_then(|run| lock(run).next()) {
            return Some(at);
        }
        loop {
            let (longest, left) = (self.0.iter())
                .map(|run| (run, lock(run).len()))
                .max_by_key(|(_, left)| *left)?;
            if left == 0 {
                return None;
            }
            // Another thread may have emptied it since: look again.
            if let Some(at) = lock(longest).next_back() {
                return Some(at);
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What every object of a scan is read with.
struct Context<'a> {
    queries: &'a QuerySet,
    /// For objects whose key does not name account and region, then for those it does.
    projections: [Projection; 2],
    filter: &'a Filter,
    max_object_bytes: u64,
    time_path: FieldPath,
}

fn scan_object(
    object: &SourceObject,
    index: u32,
    raw: Result<Vec<u8>, ReadError>,
    context: &Context<'_>,
    part: &mut Partial,
) {
    let Context {
        queries,
        projections,
        filter,
        max_object_bytes,
        time_path,
    } = context;
    part.stats.objects += 1;
    let message = |reason: String| ObjectMessage {
        object: object.name.clone(),
        reason,
    };
    let raw = match raw {
        Ok(raw) => raw,
        Err(ReadError::Abandoned) => {
            part.abandoned += 1;
            part.unread.push(index as usize);
            return;
        }
        Err(reason) => {
            part.errors.push(message(reason.to_string()));
            part.unread.push(index as usize);
            return;
        }
    };
    part.stats.bytes_read += raw.len() as u64;
    // Events of objects outside the key layout are filtered one by one on their own fields.
    let filter_events = object
        .layout
        .as_ref()
        .is_none_or(|l| l.account.is_none() || l.region.is_none());
    let mut record_index = 0u32;
    let mut stats = ScanStats::default();
    let accumulators = &mut part.accumulators;
    let projection = &projections[usize::from(!filter_events)];
    let result = decode(raw, projection, *max_object_bytes, |record| {
        let position = (index, record_index);
        record_index += 1;
        if filter_events && !in_account_and_region(record, filter) {
            stats.outside_filter += 1;
            return;
        }
        if filter.window.is_bounded() {
            match record.get(time_path).as_time() {
                None => {
                    stats.no_event_time += 1;
                    return;
                }
                Some(time) if !filter.window.contains(time) => {
                    stats.outside_window += 1;
                    return;
                }
                Some(_) => {}
            }
        }
        stats.evaluated += 1;
        queries.accumulate(accumulators, record, position);
    });
    part.stats.add(&stats);
    match result {
        Ok(decoded) => {
            part.stats.records += decoded.events;
            part.stats.bytes_uncompressed += decoded.uncompressed_bytes;
            if decoded.is_digest {
                part.stats.digest_by_content += 1;
            }
            part.errors
                .extend(decoded.problems.into_iter().map(message));
            part.warnings
                .extend(decoded.warnings.into_iter().map(message));
        }
        Err(e) => {
            part.errors.push(message(e.to_string()));
            part.unread.push(index as usize);
        }
    }
}

fn in_account_and_region(record: Record<'_, '_>, filter: &Filter) -> bool {
    let matches = |wanted: &[String], key: &str| {
        wanted.is_empty()
            || record
                .str_field(key)
                .is_some_and(|v| wanted.iter().any(|w| w == v))
    };
    matches(&filter.accounts, "recipientAccountId") && matches(&filter.regions, "awsRegion")
}

/// The progress bar on stderr: files, MB and records/s for the whole scan, not one worker.
struct Progress {
    bar: ProgressBar,
    bytes: AtomicU64,
    records: AtomicU64,
    started: Instant,
}

impl Progress {
    fn new(len: u64, show: bool) -> Self {
        let bar = if show {
            ProgressBar::new(len)
        } else {
            ProgressBar::hidden()
        };
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} files, {msg}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        if show {
            bar.enable_steady_tick(Duration::from_millis(200));
        }
        Progress {
            bar,
            bytes: AtomicU64::new(0),
            records: AtomicU64::new(0),
            started: Instant::now(),
        }
    }

    fn object_done(&self, bytes: u64, records: u64) {
        let bytes = self.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        let records = self.records.fetch_add(records, Ordering::Relaxed) + records;
        self.bar.inc(1);
        if !self.bar.is_hidden() {
            let rate = records as f64 / self.started.elapsed().as_secs_f64().max(1e-3);
            self.bar.set_message(format!(
                "{:.1} MB, {:.0} records/s",
                bytes as f64 / 1e6,
                rate
            ));
        }
    }
}
