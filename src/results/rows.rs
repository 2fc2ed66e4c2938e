//! One result's rows in their final order: in memory, or merged from sorted runs as they are read.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::{Arc, Mutex};

use super::row::Row;
use super::sort::PendingRow;
use super::spill::{RowShape, RunReader, Spilled, lock};

/// One result's rows in their final order. Cloning shares them. Rows read back from a
/// temporary file can fail to read (the file changed under trailscan): the iteration then
/// ends early and `read_error` says why, so readers need not handle it row by row.
#[derive(Debug, Clone)]
pub struct Rows {
    stored: Arc<Stored>,
    /// Rows left out by position in the stored order (`without`).
    hidden: Option<Arc<Vec<bool>>>,
    len: usize,
}

#[derive(Debug)]
pub(super) enum Stored {
    Memory(Vec<Row>),
    Merged {
        shape: RowShape,
        /// Rows never written out, sorted.
        tail: Vec<PendingRow>,
        spilled: Spilled,
        /// The LIMIT applied.
        len: usize,
        /// Why reading the runs back failed, once it has.
        failure: Mutex<Option<String>>,
    },
}

impl Stored {
    pub(super) fn merged(
        shape: RowShape,
        tail: Vec<PendingRow>,
        spilled: Spilled,
        len: usize,
    ) -> Stored {
        Stored::Merged {
            shape,
            tail,
            spilled,
            len,
            failure: Mutex::new(None),
        }
    }

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
        Rows::new(Arc::new(Stored::Memory(rows)))
    }
}

impl Rows {
    pub(super) fn new(stored: Arc<Stored>) -> Rows {
        Rows {
            len: stored.len(),
            stored,
            hidden: None,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The rows in order.
    pub fn iter(&self) -> RowIter<'_> {
        let source = match &*self.stored {
            Stored::Memory(rows) => Source::Memory(rows.iter()),
            Stored::Merged {
                shape,
                tail,
                spilled,
                failure,
                ..
            } => Source::Merge(Box::new(Merge::new(shape, tail, spilled)), failure),
        };
        RowIter {
            source,
            hidden: self.hidden.as_deref().map(Vec::as_slice),
            next_position: 0,
            stored_len: self.stored.len(),
        }
    }

    pub fn to_vec(&self) -> Vec<Row> {
        self.iter().map(Cow::into_owned).collect()
    }

    /// Why some rows could not be read back, if they could not.
    pub fn read_error(&self) -> Option<String> {
        match &*self.stored {
            Stored::Memory(_) => None,
            Stored::Merged { failure, .. } => lock(failure).clone(),
        }
    }

    /// These rows without those `leave_out` picks, and how many it picked.
    pub fn without(&self, mut leave_out: impl FnMut(&Row) -> bool) -> (Rows, usize) {
        let mut hidden = match &self.hidden {
            Some(hidden) => hidden.to_vec(),
            None => vec![false; self.stored.len()],
        };
        let mut dropped = 0;
        let mut rows = self.iter();
        while let Some(row) = rows.next() {
            if leave_out(&row) {
                hidden[rows.next_position - 1] = true;
                dropped += 1;
            }
        }
        let rows = Rows {
            stored: Arc::clone(&self.stored),
            hidden: Some(Arc::new(hidden)),
            len: self.len - dropped,
        };
        (rows, dropped)
    }

    #[cfg(test)]
    pub(super) fn spilled_runs(&self) -> usize {
        match &*self.stored {
            Stored::Memory(_) => 0,
            Stored::Merged { spilled, .. } => spilled.runs.len(),
        }
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
    /// The merge, and where its failure is kept.
    Merge(Box<Merge<'a>>, &'a Mutex<Option<String>>),
    /// After a read error.
    Failed,
}

impl<'a> Iterator for RowIter<'a> {
    type Item = Cow<'a, Row>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.next_position >= self.stored_len {
                return None;
            }
            let row = match &mut self.source {
                Source::Memory(rows) => Cow::Borrowed(rows.next()?),
                Source::Merge(merge, failure) => match merge.next() {
                    Ok(row) => row?,
                    Err(e) => {
                        lock(failure).get_or_insert_with(|| e.to_string());
                        self.source = Source::Failed;
                        return None;
                    }
                },
                Source::Failed => return None,
            };
            self.next_position += 1;
            if !self.hidden.is_some_and(|h| h[self.next_position - 1]) {
                return Some(row);
            }
        }
    }
}

/// A k-way merge of the runs and the rows kept in memory, smallest first.
struct Merge<'a> {
    shape: &'a RowShape,
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
    shape: &'a RowShape,
}

impl Ord for Head<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.shape.order.compare(&other.row, &self.row)
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
    fn new(shape: &'a RowShape, tail: &'a [PendingRow], spilled: &'a Spilled) -> Merge<'a> {
        Merge {
            shape,
            tail: tail.iter(),
            runs: spilled.readers(shape),
            heads: BinaryHeap::new(),
            started: false,
        }
    }

    fn pull(&mut self, source: usize) -> std::io::Result<()> {
        let row = match self.runs.get_mut(source) {
            Some(run) => run.next_row()?.map(Cow::Owned),
            None => self.tail.next().map(Cow::Borrowed),
        };
        if let Some(row) = row {
            self.heads.push(Head {
                row,
                source,
                shape: self.shape,
            });
        }
        Ok(())
    }

    fn next(&mut self) -> std::io::Result<Option<Cow<'a, Row>>> {
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
