//! Where a scan's result rows gather: in memory up to a budget, past it in sorted runs on disk.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering as Relaxed};
use std::sync::{Arc, Mutex, PoisonError};

use super::rows::{Rows, Stored};
use super::sort::PendingRow;
use super::spill::{RowShape, Spilled, lock};
use crate::record::{OwnedValue, Value};

/// How much of the rows of all results together is held in memory before the biggest shares
/// are written out: 24 MiB, with which the audit with the SigmaHQ rules (whose broadest rule
/// matches most events) peaks at 140 MiB on the benchmark corpus; 48 MiB took 22 MiB more
/// and saved no time that could be measured.
pub const MEMORY_BUDGET: usize = 24 << 20;

/// The rows of the scan's results, per result, gathered from every worker after each object.
pub struct RowStore {
    budget: usize,
    /// Where the temporary files go.
    directory: PathBuf,
    /// Bytes of rows in memory, all results together (an estimate of their heap use).
    held: AtomicUsize,
    shapes: Vec<RowShape>,
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

impl RowStore {
    /// A store for results of these shapes, one slot each.
    pub fn new(shapes: Vec<RowShape>, budget: usize, directory: PathBuf) -> RowStore {
        RowStore {
            budget,
            directory,
            held: AtomicUsize::new(0),
            slots: shapes.iter().map(|_| Mutex::default()).collect(),
            shapes,
            spilling: Mutex::new(()),
            spill_error: Mutex::new(None),
        }
    }

    /// Takes `rows` of each result (by its index), and writes the biggest shares out when
    /// the store holds more than its budget.
    pub fn absorb(&self, rows: impl Iterator<Item = (usize, Vec<PendingRow>)>) {
        for (index, rows) in rows {
            if rows.is_empty() {
                continue;
            }
            let added: usize = rows.iter().map(footprint).sum();
            let mut slot = lock(&self.slots[index]);
            slot.rows.extend(rows);
            slot.bytes += added;
            self.held.fetch_add(added, Relaxed::Relaxed);
            if self.shapes[index].order.trim(&mut slot.rows) {
                let kept: usize = slot.rows.iter().map(footprint).sum();
                self.held.fetch_sub(slot.bytes - kept, Relaxed::Relaxed);
                slot.bytes = kept;
            }
        }
        if self.held.load(Relaxed::Relaxed) > self.budget {
            self.spill();
        }
    }

    /// Writes the biggest shares out, sorted, until half the budget is left in memory.
    fn spill(&self) {
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
            let order = &self.shapes[i].order;
            // On this thread: a parallel sort could run, on this thread, a task that waits
            // for this lock.
            slot.rows.sort_by(|a, b| order.compare(a, b));
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

    /// Each result's rows in their final order, with `tails` (per result, the rows given
    /// since the last `absorb`, or the groups of a grouped query) added.
    pub fn finish(self, tails: Vec<Vec<PendingRow>>) -> Vec<Rows> {
        let slots = (self.slots.into_iter())
            .map(|slot| slot.into_inner().unwrap_or_else(PoisonError::into_inner));
        (self.shapes.into_iter().zip(tails).zip(slots))
            .map(|((shape, mut tail), slot)| {
                tail.extend(slot.rows);
                match slot.spilled {
                    None => Rows::from(shape.order.finish(tail)),
                    Some(spilled) => {
                        shape.order.sort(&mut tail);
                        let total = tail.len() + spilled.runs.iter().map(|r| r.rows).sum::<usize>();
                        let len = shape.order.limit.map_or(total, |limit| total.min(limit));
                        Rows::new(Arc::new(Stored::merged(shape, tail, spilled, len)))
                    }
                }
            })
            .collect()
    }
}

impl Slot {
    /// Appends the slot's rows, sorted, to its temporary file as one run.
    fn write_run(&mut self, directory: &Path) -> std::io::Result<()> {
        let spilled = match &mut self.spilled {
            Some(spilled) => spilled,
            None => self.spilled.insert(Spilled::new(directory)?),
        };
        spilled.write_run(&self.rows)
    }
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
