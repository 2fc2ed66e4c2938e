//! Sorted runs of result rows in an unnamed temporary file: how they are written and read back.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use chrono::DateTime;

use super::row::Row;
use super::sort::{Order, PendingRow};
use crate::record::{OwnedValue, Value};

/// Bytes read from a run at a time while merging.
const READ_CHUNK: usize = 64 << 10;

/// What every row of one result holds: its columns and its order (what the sort carries).
#[derive(Debug, Clone, Default)]
pub struct RowShape {
    pub columns: usize,
    pub order: Order,
}

/// A temporary file of sorted runs, one after the other. It has no name: the system removes
/// it when it is closed, however the process ends. Each read seeks first, under the lock.
#[derive(Debug)]
pub(super) struct Spilled {
    file: Mutex<File>,
    pub(super) runs: Vec<Run>,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Run {
    start: u64,
    end: u64,
    pub(super) rows: usize,
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A worker that panicked left the rows as they were: they are still good to read.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Spilled {
    pub(super) fn new(directory: &Path) -> io::Result<Spilled> {
        Ok(Spilled {
            file: Mutex::new(tempfile::tempfile_in(directory)?),
            runs: Vec::new(),
        })
    }

    /// Appends `rows`, sorted, to the file as one run.
    pub(super) fn write_run(&mut self, rows: &[PendingRow]) -> io::Result<()> {
        let start = self.runs.last().map_or(0, |run| run.end);
        let mut file = lock(&self.file);
        file.seek(SeekFrom::Start(start))?;
        let mut out = BufWriter::with_capacity(READ_CHUNK, &mut *file);
        let mut buffer = Vec::new();
        let mut written = 0u64;
        for row in rows {
            buffer.clear();
            encode(row, &mut buffer);
            out.write_all(&buffer)?;
            written += buffer.len() as u64;
        }
        out.flush()?;
        self.runs.push(Run {
            start,
            end: start + written,
            rows: rows.len(),
        });
        Ok(())
    }

    /// A reader of each run, for rows of `shape`.
    pub(super) fn readers<'a>(&'a self, shape: &'a RowShape) -> Vec<RunReader<'a>> {
        (self.runs.iter())
            .map(|run| RunReader {
                shape,
                file: &self.file,
                next: run.start,
                end: run.end,
                buffer: Vec::new(),
                read: 0,
            })
            .collect()
    }
}

/// Reads one run's rows back, a chunk at a time.
pub(super) struct RunReader<'a> {
    shape: &'a RowShape,
    file: &'a Mutex<File>,
    /// File offset of the next chunk, and where the run ends.
    next: u64,
    end: u64,
    buffer: Vec<u8>,
    /// Bytes of `buffer` already decoded.
    read: usize,
}

impl RunReader<'_> {
    pub(super) fn next_row(&mut self) -> io::Result<Option<PendingRow>> {
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
        let row = decode(&self.buffer[self.read..self.read + length], self.shape)?;
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

/// Reads what `encode` wrote (without its length), for a row of `shape`.
fn decode(bytes: &[u8], shape: &RowShape) -> io::Result<PendingRow> {
    let mut reader = Decoder { bytes };
    let position = (reader.u32()?, reader.u32()?);
    let values = reader.values()?;
    let sort_extra = reader.values()?;
    let identity = reader.text()?;
    if values.len() != shape.columns || sort_extra.len() != shape.order.extra {
        return Err(damaged());
    }
    Ok(shape
        .order
        .pending_row(position, Row { values, identity }, sort_extra))
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
    use crate::results::{Order, SortBy, SortKey};

    #[test]
    fn a_cut_row_is_an_error_not_a_panic() {
        let shape = RowShape {
            columns: 6,
            order: Order {
                keys: vec![SortKey {
                    by: SortBy::Extra(0),
                    descending: false,
                    nulls_first: false,
                }],
                limit: None,
                extra: 1,
            },
        };
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
        let row = shape
            .order
            .pending_row((3, 9), Row { values, identity }, sort_extra);
        let mut bytes = Vec::new();
        encode(&row, &mut bytes);
        assert_eq!(decode(&bytes[4..], &shape).unwrap(), row);
        for cut in 4..bytes.len() {
            assert!(decode(&bytes[4..cut], &shape).is_err(), "cut at {cut}");
        }
    }
}
