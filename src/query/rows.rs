//! Result rows: in memory up to a budget, past it in sorted runs in a temporary file, merged
//! when read (as sort(1) does), so memory stays flat however many rows the queries return.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering as Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::DateTime;

use super::eval::{PendingRow, Row};
use super::sql::Plan;
use super::{Accumulator, Query, QuerySet};
use crate::record::{OwnedValue, Value};

/// How much of the rows of all queries together is held in memory before the biggest shares
/// are written out. With it the audit of the benchmark corpus peaks at 73 to 78 MB of RSS,
/// and at 96 to 99 MB on four times that corpus.
pub const MEMORY_BUDGET: usize = 48 << 20;

/// Bytes read from a run at a time while merging.
const READ_CHUNK: usize = 64 << 10;

/// The rows of the scan's queries, per query, gathered from every worker after each object.
pub struct RowStore {
    budget: usize,
    /// Where the temporary files go.
    directory: PathBuf,
    /// Bytes of rows in memory, all queries together (an estimate of their heap use).
    held: AtomicUsize,
    slots: Vec<Mutex<Slot>>,
    /// One worker spills at a time; the others go on scanning.
    spilling: Mutex<()>,
    /// Why the first spill failed: from then on rows stay in memory.
    spill_error: Mutex<Option<String>>,
}

#[derive(Default)]
struct Slot {
    rows: Vec<PendingRow>,
    bytes: usize,
    spilled: Option<Spilled>,
}

/// A temporary file of sorted runs, one after the other. It has no name: the system removes
/// it when it is closed, however the process ends. Each read seeks first, under the lock.
#[derive(Debug)]
struct Spilled {
    file: Mutex<File>,
    runs: Vec<Run>,
}

#[derive(Debug, Clone, Copy)]
struct Run {
    start: u64,
    end: u64,
    rows: usize,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A worker that panicked left the rows as they were: they are still good to read.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl RowStore {
    pub fn new(set: &QuerySet, budget: usize, directory: PathBuf) -> RowStore {
        RowStore {
            budget,
            directory,
            held: AtomicUsize::new(0),
            slots: set.queries().iter().map(|_| Mutex::default()).collect(),
            spilling: Mutex::new(()),
            spill_error: Mutex::new(None),
        }
    }

    /// Takes the rows `accumulators` gathered, and writes the biggest shares out when the
    /// store holds more than its budget.
    pub fn absorb(&self, set: &QuerySet, accumulators: &mut [Accumulator]) {
        let queries = set.queries().iter();
        for ((query, acc), slot) in queries.zip(accumulators).zip(&self.slots) {
            let rows = acc.take_rows();
            if rows.is_empty() {
                continue;
            }
            let added: usize = rows.iter().map(footprint).sum();
            let mut slot = lock(slot);
            slot.rows.extend(rows);
            slot.bytes += added;
            self.held.fetch_add(added, Relaxed::Relaxed);
            if query.plan.trim(&mut slot.rows) {
                let kept: usize = slot.rows.iter().map(footprint).sum();
                self.held.fetch_sub(slot.bytes - kept, Relaxed::Relaxed);
                slot.bytes = kept;
            }
        }
        if self.held.load(Relaxed::Relaxed) > self.budget {
            self.spill(set);
        }
    }

    /// Writes the biggest shares out, sorted, until half the budget is left in memory.
    fn spill(&self, set: &QuerySet) {
        let Ok(_only_one) = self.spilling.try_lock() else {
            return;
        };
        if lock(&self.spill_error).is_some() {
            return;
        }
        let mut shares: Vec<(usize, usize)> = (self.slots.iter().enumerate())
            .map(|(i, slot)| (lock(slot).bytes, i))
            .collect();
        shares.sort_unstable_by(|a, b| b.cmp(a));
        for (_, i) in shares {
            if self.held.load(Relaxed::Relaxed) <= self.budget / 2 {
                break;
            }
            let mut slot = lock(&self.slots[i]);
            if slot.rows.is_empty() {
                continue;
            }
            let plan = &set.queries()[i].plan;
            // On this thread: a parallel sort could run, on this thread, a task that waits
            // for this lock.
            slot.rows.sort_by(|a, b| plan.compare_rows(a, b));
            match slot.write_run(&self.directory) {
                Ok(()) => {
                    self.held.fetch_sub(slot.bytes, Relaxed::Relaxed);
                    slot.bytes = 0;
                    slot.rows = Vec::new();
                }
                Err(e) => {
                    *lock(&self.spill_error) = Some(format!(
                        "cannot write result rows to a temporary file here: {e}; they are kept in memory (set TMPDIR to a directory with space)"
                    ));
                    return;
                }
            }
        }
    }

    /// Why rows could not be written out, if they could not: the scan reports it.
    pub fn spill_error(&self) -> Option<String> {
        lock(&self.spill_error).clone()
    }

    /// Where the temporary files go.
    pub fn directory(&self) -> &Path {
        &self.directory
    }

    /// Each query's rows, in its final order. `accumulators` give their own rows too (those
    /// gathered since the last `absorb`) and the groups of grouped queries.
    pub fn finish(self, set: &QuerySet, accumulators: Vec<Accumulator>) -> Vec<Rows> {
        let slots = (self.slots.into_iter())
            .map(|slot| slot.into_inner().unwrap_or_else(PoisonError::into_inner));
        (set.queries().iter().zip(accumulators).zip(slots))
            .map(|((query, mut acc), slot)| match slot.spilled {
                None => {
                    acc.add_rows(slot.rows);
                    Rows::from(query.plan.finish(acc))
                }
                Some(spilled) => {
                    let mut tail = acc.take_rows();
                    tail.extend(slot.rows);
                    query.plan.sort_rows(&mut tail);
                    let total = tail.len() + spilled.runs.iter().map(|r| r.rows).sum::<usize>();
                    let len = query.plan.limit.map_or(total, |limit| total.min(limit));
                    Rows {
                        stored: Arc::new(Stored::Merged {
                            query: Arc::clone(query),
                            tail,
                            spilled,
                            len,
                        }),
                        hidden: None,
                        len,
                    }
                }
            })
            .collect()
    }
}

impl Slot {
    /// Appends the slot's rows, sorted, to its temporary file as one run.
    fn write_run(&mut self, directory: &Path) -> io::Result<()> {
        let spilled = match &mut self.spilled {
            Some(spilled) => spilled,
            None => self.spilled.insert(Spilled {
                file: Mutex::new(tempfile::tempfile_in(directory)?),
                runs: Vec::new(),
            }),
        };
        let start = spilled.runs.last().map_or(0, |run| run.end);
        let mut file = lock(&spilled.file);
        file.seek(SeekFrom::Start(start))?;
        let mut out = BufWriter::with_capacity(READ_CHUNK, &mut *file);
        let mut buffer = Vec::new();
        let mut written = 0u64;
        for row in &self.rows {
            buffer.clear();
            encode(row, &mut buffer);
            out.write_all(&buffer)?;
            written += buffer.len() as u64;
        }
        out.flush()?;
        spilled.runs.push(Run {
            start,
            end: start + written,
            rows: self.rows.len(),
        });
        Ok(())
    }
}

/// One query's rows in their final order: in memory, or merged from runs on disk as they are
/// read. Cloning shares them.
#[derive(Debug, Clone)]
pub struct Rows {
    stored: Arc<Stored>,
    /// Rows left out by position in the stored order (`without`).
    hidden: Option<Arc<Vec<bool>>>,
    len: usize,
}

#[derive(Debug)]
enum Stored {
    Memory(Vec<Row>),
    Merged {
        query: Arc<Query>,
        /// Rows never written out, sorted.
        tail: Vec<PendingRow>,
        spilled: Spilled,
        /// The query's LIMIT applied.
        len: usize,
    },
}

impl Stored {
    /// Every row, hidden or not.
    fn len(&self) -> usize {
        match self {
            Stored::Memory(rows) => rows.len(),
            Stored::Merged { len, .. } => *len,
        }
    }
}

impl From<Vec<Row>> for Rows {
    fn from(rows: Vec<Row>) -> Rows {
        Rows {
            len: rows.len(),
            stored: Arc::new(Stored::Memory(rows)),
            hidden: None,
        }
    }
}

impl Rows {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The rows in order. Rows read back from disk can fail to read: the error ends them.
    pub fn iter(&self) -> RowIter<'_> {
        let source = match &*self.stored {
            Stored::Memory(rows) => Source::Memory(rows.iter()),
            Stored::Merged {
                query,
                tail,
                spilled,
                ..
            } => Source::Merge(Box::new(Merge::new(&query.plan, tail, spilled))),
        };
        RowIter {
            source,
            hidden: self.hidden.as_deref().map(Vec::as_slice),
            next_position: 0,
            stored_len: self.stored.len(),
        }
    }

    pub fn to_vec(&self) -> io::Result<Vec<Row>> {
        self.iter().map(|row| row.map(Cow::into_owned)).collect()
    }

    /// These rows without those `leave_out` picks, and how many it picked.
    pub fn without(&self, mut leave_out: impl FnMut(&Row) -> bool) -> io::Result<(Rows, usize)> {
        let mut hidden = match &self.hidden {
            Some(hidden) => hidden.to_vec(),
            None => vec![false; self.stored.len()],
        };
        let mut dropped = 0;
        let mut rows = self.iter();
        while let Some(row) = rows.next() {
            if leave_out(&*row?) {
                hidden[rows.next_position - 1] = true;
                dropped += 1;
            }
        }
        let rows = Rows {
            stored: Arc::clone(&self.stored),
            hidden: Some(Arc::new(hidden)),
            len: self.len - dropped,
        };
        Ok((rows, dropped))
    }
}

pub struct RowIter<'a> {
    source: Source<'a>,
    hidden: Option<&'a [bool]>,
    /// Position in the stored order of the next row the source gives.
    next_position: usize,
    stored_len: usize,
}

enum Source<'a> {
    Memory(std::slice::Iter<'a, Row>),
    Merge(Box<Merge<'a>>),
    /// After a read error.
    Failed,
}

impl<'a> Iterator for RowIter<'a> {
    type Item = io::Result<Cow<'a, Row>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.next_position >= self.stored_len {
                return None;
            }
            let row = match &mut self.source {
                Source::Memory(rows) => Cow::Borrowed(rows.next()?),
                Source::Merge(merge) => match merge.next() {
                    Ok(row) => row?,
                    Err(e) => {
                        self.source = Source::Failed;
                        return Some(Err(e));
                    }
                },
                Source::Failed => return None,
            };
            self.next_position += 1;
            if !self.hidden.is_some_and(|h| h[self.next_position - 1]) {
                return Some(Ok(row));
            }
        }
    }
}

/// A k-way merge of the runs and the rows kept in memory, smallest first.
struct Merge<'a> {
    plan: &'a Plan,
    tail: std::slice::Iter<'a, PendingRow>,
    runs: Vec<RunReader<'a>>,
    heads: BinaryHeap<Head<'a>>,
    started: bool,
}

/// The next row of one source; the heap puts the smallest on top.
struct Head<'a> {
    row: Cow<'a, PendingRow>,
    /// Index in `runs`, or `runs.len()` for the tail.
    source: usize,
    plan: &'a Plan,
}

impl Ord for Head<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.plan.compare_rows(&other.row, &self.row)
    }
}

impl PartialOrd for Head<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Head<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Head<'_> {}

impl<'a> Merge<'a> {
    fn new(plan: &'a Plan, tail: &'a [PendingRow], spilled: &'a Spilled) -> Merge<'a> {
        let runs = spilled
            .runs
            .iter()
            .map(|run| RunReader {
                plan,
                file: &spilled.file,
                next: run.start,
                end: run.end,
                buffer: Vec::new(),
                read: 0,
            })
            .collect();
        Merge {
            plan,
            tail: tail.iter(),
            runs,
            heads: BinaryHeap::new(),
            started: false,
        }
    }

    fn pull(&mut self, source: usize) -> io::Result<()> {
        let row = match self.runs.get_mut(source) {
            Some(run) => run.next_row()?.map(Cow::Owned),
            None => self.tail.next().map(Cow::Borrowed),
        };
        if let Some(row) = row {
            self.heads.push(Head {
                row,
                source,
                plan: self.plan,
            });
        }
        Ok(())
    }

    fn next(&mut self) -> io::Result<Option<Cow<'a, Row>>> {
        if !self.started {
            self.started = true;
            for source in 0..=self.runs.len() {
                self.pull(source)?;
            }
        }
        let Some(head) = self.heads.pop() else {
            return Ok(None);
        };
        self.pull(head.source)?;
        Ok(Some(match head.row {
            Cow::Borrowed(pending) => Cow::Borrowed(&pending.row),
            Cow::Owned(pending) => Cow::Owned(pending.row),
        }))
    }
}

/// Reads one run's rows back, a chunk at a time.
struct RunReader<'a> {
    plan: &'a Plan,
    file: &'a Mutex<File>,
    /// File offset of the next chunk, and where the run ends.
    next: u64,
    end: u64,
    buffer: Vec<u8>,
    /// Bytes of `buffer` already decoded.
    read: usize,
}

impl RunReader<'_> {
    fn next_row(&mut self) -> io::Result<Option<PendingRow>> {
        if self.read == self.buffer.len() && self.next == self.end {
            return Ok(None);
        }
        self.fill(4)?;
        let Some(&length) = self.buffer[self.read..].first_chunk::<4>() else {
            return Err(damaged());
        };
        self.read += 4;
        let length = u32::from_le_bytes(length) as usize;
        self.fill(length)?;
        let row = decode(&self.buffer[self.read..self.read + length], self.plan)?;
        self.read += length;
        Ok(Some(row))
    }

    /// Makes sure `wanted` bytes are buffered past `read`.
    fn fill(&mut self, wanted: usize) -> io::Result<()> {
        let buffered = self.buffer.len() - self.read;
        if buffered >= wanted {
            return Ok(());
        }
        let left = usize::try_from(self.end - self.next).unwrap_or(usize::MAX);
        let chunk = (wanted - buffered).max(READ_CHUNK).min(left);
        if buffered + chunk < wanted {
            return Err(damaged());
        }
        self.buffer.drain(..self.read);
        self.read = 0;
        let filled = self.buffer.len();
        self.buffer.resize(filled + chunk, 0);
        let mut file = lock(self.file);
        file.seek(SeekFrom::Start(self.next))?;
        file.read_exact(&mut self.buffer[filled..])?;
        self.next += chunk as u64;
        Ok(())
    }
}

fn damaged() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "a temporary file of result rows was changed while trailscan ran",
    )
}

/// Roughly what a row costs on the heap: the structs, the value arrays, the texts, and the
/// allocator's bookkeeping for each.
fn footprint(row: &PendingRow) -> usize {
    const PER_ALLOCATION: usize = 16;
    let values = |values: &Vec<OwnedValue>| {
        values.capacity() * size_of::<OwnedValue>()
            + PER_ALLOCATION
            + values
                .iter()
                .map(|value| match value {
                    Value::Str(Cow::Owned(text)) => text.capacity() + PER_ALLOCATION,
                    _ => 0,
                })
                .sum::<usize>()
    };
    size_of::<PendingRow>()
        + values(&row.row.values)
        + values(&row.sort_extra)
        + row.row.identity.capacity()
        + PER_ALLOCATION
}

// The encoding of a row in a run, little-endian: u32 length of what follows, u32 object,
// u32 record, the values, the sort values, then the identity as u32 length and UTF-8.
// Values: u32 count, then each a tag byte and its payload.

const NULL: u8 = 0;
const BOOL: u8 = 1;
const INT: u8 = 2;
const FLOAT: u8 = 3;
const STR: u8 = 4;
const TIME: u8 = 5;

fn encode(row: &PendingRow, out: &mut Vec<u8>) {
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&row.position.0.to_le_bytes());
    out.extend_from_slice(&row.position.1.to_le_bytes());
    encode_values(&row.row.values, out);
    encode_values(&row.sort_extra, out);
    encode_text(&row.row.identity, out);
    let length = u32::try_from(out.len() - 4).unwrap_or(u32::MAX);
    out[..4].copy_from_slice(&length.to_le_bytes());
}

fn encode_text(text: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(&(text.len() as u32).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
}

fn encode_values(values: &[OwnedValue], out: &mut Vec<u8>) {
    out.extend_from_slice(&(values.len() as u32).to_le_bytes());
    for value in values {
        match value {
            Value::Null => out.push(NULL),
            Value::Bool(b) => out.extend_from_slice(&[BOOL, u8::from(*b)]),
            Value::Int(i) => {
                out.push(INT);
                out.extend_from_slice(&i.to_le_bytes());
            }
            Value::Float(f) => {
                out.push(FLOAT);
                out.extend_from_slice(&f.to_bits().to_le_bytes());
            }
            Value::Str(text) => {
                out.push(STR);
                encode_text(text, out);
            }
            Value::Time(time) => {
                out.push(TIME);
                out.extend_from_slice(&time.timestamp().to_le_bytes());
                out.extend_from_slice(&time.timestamp_subsec_nanos().to_le_bytes());
            }
        }
    }
}

/// Reads what `encode` wrote (without its length), for a row of `plan`.
fn decode(bytes: &[u8], plan: &Plan) -> io::Result<PendingRow> {
    let mut reader = Decoder { bytes };
    let position = (reader.u32()?, reader.u32()?);
    let values = reader.values()?;
    let sort_extra = reader.values()?;
    let identity = reader.text()?;
    if values.len() != plan.projections.len() || sort_extra.len() != plan.sort_expressions() {
        return Err(damaged());
    }
    Ok(plan.pending_row(position, Row { values, identity }, sort_extra))
}

struct Decoder<'a> {
    bytes: &'a [u8],
}

impl Decoder<'_> {
    fn take<const N: usize>(&mut self) -> io::Result<[u8; N]> {
        let (head, rest) = self.bytes.split_first_chunk::<N>().ok_or_else(damaged)?;
        self.bytes = rest;
        Ok(*head)
    }

    fn u32(&mut self) -> io::Result<u32> {
        self.take().map(u32::from_le_bytes)
    }

    fn text(&mut self) -> io::Result<String> {
        let length = self.u32()? as usize;
        if length > self.bytes.len() {
            return Err(damaged());
        }
        let (text, rest) = self.bytes.split_at(length);
        self.bytes = rest;
        String::from_utf8(text.to_vec()).map_err(|_| damaged())
    }

    fn values(&mut self) -> io::Result<Vec<OwnedValue>> {
        let count = self.u32()? as usize;
        // Each value takes at least its tag: a count beyond that is damage, not a size.
        if count > self.bytes.len() {
            return Err(damaged());
        }
        let mut values = Vec::with_capacity(count);
        for _ in 0..count {
            let [tag] = self.take()?;
            values.push(match tag {
                NULL => Value::Null,
                BOOL => Value::Bool(self.take::<1>()? != [0]),
                INT => Value::Int(i64::from_le_bytes(self.take()?)),
                FLOAT => Value::Float(f64::from_bits(u64::from_le_bytes(self.take()?))),
                STR => Value::Str(Cow::Owned(self.text()?)),
                TIME => {
                    let seconds = i64::from_le_bytes(self.take()?);
                    let nanos = u32::from_le_bytes(self.take()?);
                    Value::Time(DateTime::from_timestamp(seconds, nanos).ok_or_else(damaged)?)
                }
                _ => return Err(damaged()),
            });
        }
        Ok(values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::decode as decode_json;

    const ORDERED: &str = "SELECT eventName, from_iso8601_timestamp(eventTime) AS at, errorCode, \
        to_unixtime(from_iso8601_timestamp(eventTime)) AS seconds, readOnly = 'true' AS read_only, \
        7 AS seven FROM cloudtrail_logs ORDER BY lower(eventName), eventTime DESC";
    const LIMITED: &str =
        "SELECT eventID, eventTime FROM cloudtrail_logs ORDER BY eventTime LIMIT 100";

    /// `objects` objects of 300 events each, with repeated names and times so that ORDER BY
    /// has ties and the read position decides.
    fn objects(count: usize) -> Vec<Vec<u8>> {
        (0..count)
            .map(|object| {
                let events: Vec<String> = (0..300)
                    .map(|i| {
                        let error = match i % 3 {
                            0 => r#","errorCode":"AccessDenied""#.to_owned(),
                            _ => String::new(),
                        };
                        format!(
                            r#"{{"eventTime":"2026-11-{:02}T{:02}:00:00Z","eventName":"Call{}","eventID":"e-{object}-{i}","readOnly":{}{error},"note":"ü{i}"}}"#,
                            1 + (i * 7 + object) % 28,
                            i % 24,
                            i % 13,
                            i % 2 == 0,
                        )
                    })
                    .collect();
                format!(r#"{{"Records":[{}]}}"#, events.join(",")).into_bytes()
            })
            .collect()
    }

    /// Each query's rows, and why they could not be spilled, if they could not.
    fn scan_into(
        store: RowStore,
        set: &QuerySet,
        objects: &[Vec<u8>],
    ) -> (Vec<Rows>, Option<String>) {
        let projection = set.projection(true, false);
        let mut accumulators = set.accumulators();
        for (object, text) in objects.iter().enumerate() {
            let mut record = 0;
            decode_json(text.clone(), &projection, |event| {
                set.accumulate(&mut accumulators, event, (object as u32, record));
                record += 1;
            })
            .unwrap();
            store.absorb(set, &mut accumulators);
        }
        let error = store.spill_error();
        (store.finish(set, accumulators), error)
    }

    fn scan(set: &QuerySet, objects: &[Vec<u8>], budget: usize) -> Vec<Rows> {
        let store = RowStore::new(set, budget, std::env::temp_dir());
        let (rows, error) = scan_into(store, set, objects);
        assert_eq!(error, None);
        rows
    }

    fn query_set() -> QuerySet {
        let queries = [ORDERED, LIMITED].map(|sql| Arc::new(Query::ad_hoc(sql).unwrap()));
        QuerySet::new(queries.to_vec())
    }

    fn spilled_runs(rows: &Rows) -> usize {
        match &*rows.stored {
            Stored::Memory(_) => 0,
            Stored::Merged { spilled, .. } => spilled.runs.len(),
        }
    }

    #[test]
    fn rows_spilled_to_disk_come_back_as_memory_would_give_them() {
        let set = query_set();
        let objects = objects(12);
        let in_memory = scan(&set, &objects, usize::MAX);
        let spilled = scan(&set, &objects, 64 << 10);
        assert_eq!(spilled_runs(&in_memory[0]), 0);
        assert!(
            spilled_runs(&spilled[0]) > 3,
            "{}",
            spilled_runs(&spilled[0])
        );
        for (memory, disk) in in_memory.iter().zip(&spilled) {
            assert_eq!(disk.len(), memory.len());
            assert_eq!(disk.to_vec().unwrap(), memory.to_vec().unwrap());
        }
        assert_eq!(in_memory[0].len(), 3600);
        assert_eq!(in_memory[1].len(), 100);
        // Read twice, the same rows.
        assert_eq!(spilled[0].to_vec().unwrap(), spilled[0].to_vec().unwrap());
    }

    #[test]
    fn rows_left_out_stay_out_of_spilled_rows() {
        let set = query_set();
        let objects = objects(6);
        let all = scan(&set, &objects, 32 << 10).remove(0);
        assert!(spilled_runs(&all) > 0);
        let denied = |row: &Row| row.values[2].to_text().is_some();
        let (allowed, left_out) = all.without(denied).unwrap();
        assert_eq!(left_out, 600);
        assert_eq!(allowed.len(), 1200);
        let expected: Vec<Row> = (all.to_vec().unwrap().into_iter())
            .filter(|row| !denied(row))
            .collect();
        assert_eq!(allowed.to_vec().unwrap(), expected);
        let (fewer, also_left_out) = allowed
            .without(|row| row.values[0].to_text().as_deref() == Some("Call1"))
            .unwrap();
        assert_eq!(
            also_left_out,
            expected
                .iter()
                .filter(|r| r.values[0].to_text().as_deref() == Some("Call1"))
                .count()
        );
        assert_eq!(fewer.iter().count(), fewer.len());
    }

    #[test]
    fn rows_stay_in_memory_when_no_temporary_file_can_be_made() {
        let set = query_set();
        let objects = objects(6);
        let missing = std::env::temp_dir().join("trailscan-no-such-directory");
        let store = RowStore::new(&set, 32 << 10, missing);
        let (rows, error) = scan_into(store, &set, &objects);
        let error = error.expect("the failed spill is reported");
        assert!(error.contains("kept in memory"), "{error}");
        assert_eq!(spilled_runs(&rows[0]), 0);
        let expected = scan(&set, &objects, usize::MAX);
        for (kept, expected) in rows.iter().zip(&expected) {
            assert_eq!(kept.to_vec().unwrap(), expected.to_vec().unwrap());
        }
    }

    #[test]
    fn a_cut_row_is_an_error_not_a_panic() {
        let plan = crate::query::sql::compile(
            "SELECT errorCode, readOnly, 1 AS one, 0.5 AS half, eventName, \
             from_iso8601_timestamp(eventTime) AS at FROM cloudtrail_logs ORDER BY lower(eventID)",
        )
        .unwrap();
        let values = vec![
            Value::Null,
            Value::Bool(true),
            Value::Int(-4),
            Value::Float(0.5),
            Value::Str("ü".to_owned().into()),
            Value::Time(DateTime::from_timestamp(1_700_000_000, 5).unwrap()),
        ];
        let identity = "id".into();
        let sort_extra = vec![Value::Str("x".to_owned().into())];
        let row = plan.pending_row((3, 9), Row { values, identity }, sort_extra);
        let mut bytes = Vec::new();
        encode(&row, &mut bytes);
        assert_eq!(decode(&bytes[4..], &plan).unwrap(), row);
        for cut in 4..bytes.len() {
            assert!(decode(&bytes[4..cut], &plan).is_err(), "cut at {cut}");
        }
    }
}
