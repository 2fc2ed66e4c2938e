//! Results: the rows a query or analysis returns, sorted and spillable, with what they mean.
//!
//! Printers, alerts, analyses and the state read `ResultSet`s; how rows are ordered, cut to
//! a LIMIT, kept in memory or written to disk in sorted runs stays in here.

mod row;
mod rows;
mod sort;
mod spill;
mod store;
mod summary;

use std::sync::Arc;

pub use row::Row;
pub use rows::Rows;
pub use sort::{Order, PendingRow, Position, SortBy, SortKey};
pub use spill::RowShape;
pub use store::{MEMORY_BUDGET, RowStore};
pub use summary::{AthenaQuery, AthenaUsage, ScanStats, Summary, Transfer};

use crate::meta::Meta;

/// What one query or analysis returned: its metadata, its columns and its rows in order.
#[derive(Debug, Clone)]
pub struct ResultSet {
    pub meta: Arc<Meta>,
    pub columns: Arc<[String]>,
    pub rows: Rows,
    /// Matching records left out by a suppression.
    pub suppressed: u64,
    /// Integer operations that failed computing the rows (division by zero, overflow): their
    /// values are NULL, where Athena would stop the query.
    pub failed: u64,
}

impl ResultSet {
    /// A result of rows built in memory (an analysis's findings).
    pub fn new(meta: Arc<Meta>, columns: &[&str], rows: Vec<Row>) -> ResultSet {
        ResultSet {
            meta,
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            rows: rows.into(),
            suppressed: 0,
            failed: 0,
        }
    }

    /// The index of the column called `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }
}

/// The first failure to read rows back from a temporary file among `results`, as an error
/// for the run: rows written out can only fail to come back if the file changed under us.
pub fn read_back(results: &[ResultSet]) -> std::io::Result<()> {
    match results.iter().find_map(|r| r.rows.read_error()) {
        Some(reason) => Err(std::io::Error::other(format!(
            "cannot read back the result rows kept in a temporary file: {reason}"
        ))),
        None => Ok(()),
    }
}

/// A result to print and alert in tests: root-usage's seven columns, and what it says.
#[cfg(test)]
pub mod sample {
    use std::sync::Arc;

    use super::{ResultSet, Row};
    use crate::meta::{Meta, Severity};

    pub const COLUMNS: [&str; 7] = [
        "eventTime",
        "account",
        "awsRegion",
        "eventName",
        "principal",
        "sourceIPAddress",
        "errorCode",
    ];

    /// `rows` as the result of a query called `name`, of `severity`.
    pub fn result(name: &str, severity: Severity, rows: Vec<Row>) -> ResultSet {
        let meta = Meta {
            severity,
            runbook: "Root should be unused: confirm who signed in.".into(),
            tactics: vec!["initial-access".into()],
            techniques: vec!["T1078.004".into()],
            ..Meta::plain(name, "Root user activity")
        };
        ResultSet::new(Arc::new(meta), &COLUMNS, rows)
    }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;
    use crate::record::Value;

    /// Rows of `objects` objects of 300 records each, with repeated keys so that the read
    /// position decides ties: ORDER BY column 0 (text), then an extra value DESC.
    fn rows(objects: u32) -> Vec<PendingRow> {
        let order = order(None);
        (0..objects)
            .flat_map(|object| (0..300u32).map(move |record| (object, record)))
            .map(|(object, record)| {
                let values = vec![
                    Value::Str(format!("Call{}", record % 13).into()),
                    Value::Time(
                        DateTime::from_timestamp(i64::from(record % 24) * 3600, 0).unwrap(),
                    ),
                    if record % 3 == 0 {
                        Value::Str("AccessDenied".into())
                    } else {
                        Value::Null
                    },
                    Value::Str(format!("ü{record}").into()),
                ];
                let extra = vec![Value::Int(i64::from((record * 7 + object) % 28))];
                let identity = format!("e-{object}-{record}");
                order.pending_row((object, record), Row { values, identity }, extra)
            })
            .collect()
    }

    fn order(limit: Option<usize>) -> Order {
        Order {
            keys: vec![
                SortKey {
                    by: SortBy::Column(0),
                    descending: false,
                    nulls_first: false,
                },
                SortKey {
                    by: SortBy::Extra(0),
                    descending: true,
                    nulls_first: false,
                },
            ],
            limit,
            extra: 1,
        }
    }

    /// The rows of two results (unlimited, and LIMIT 100) through a store of `budget`
    /// bytes, given 300 rows at a time, and why they could not be spilled, if they could not.
    fn stored(budget: usize, directory: std::path::PathBuf) -> (Vec<Rows>, Option<String>) {
        let shapes = [None, Some(100)].map(|limit| RowShape {
            columns: 4,
            order: order(limit),
        });
        let store = RowStore::new(shapes.to_vec(), budget, directory);
        let all = rows(12);
        for part in all.chunks(300) {
            store.absorb([(0, part.to_vec()), (1, part.to_vec())].into_iter());
        }
        let error = store.spill_error();
        (store.finish(vec![Vec::new(), Vec::new()]), error)
    }

    #[test]
    fn rows_spilled_to_disk_come_back_as_memory_would_give_them() {
        let (in_memory, _) = stored(usize::MAX, std::env::temp_dir());
        let (spilled, error) = stored(64 << 10, std::env::temp_dir());
        assert_eq!(error, None);
        assert_eq!(in_memory[0].spilled_runs(), 0);
        assert!(
            spilled[0].spilled_runs() > 3,
            "{}",
            spilled[0].spilled_runs()
        );
        for (memory, disk) in in_memory.iter().zip(&spilled) {
            assert_eq!(disk.len(), memory.len());
            assert_eq!(disk.to_vec(), memory.to_vec());
            assert_eq!(disk.read_error(), None);
        }
        assert_eq!(in_memory[0].len(), 3600);
        assert_eq!(in_memory[1].len(), 100);
        let mut expected = rows(12);
        order(None).sort(&mut expected);
        let expected: Vec<Row> = expected.into_iter().map(|r| r.row).collect();
        assert_eq!(spilled[0].to_vec(), expected);
        // Read twice, the same rows.
        assert_eq!(spilled[0].to_vec(), spilled[0].to_vec());
    }

    #[test]
    fn rows_left_out_stay_out_of_spilled_rows() {
        let (all, _) = stored(32 << 10, std::env::temp_dir());
        let all = &all[0];
        assert!(all.spilled_runs() > 0);
        let denied = |row: &Row| row.values[2].to_text().is_some();
        let (allowed, left_out) = all.without(denied);
        assert_eq!(left_out, 1200);
        assert_eq!(allowed.len(), 2400);
        let expected: Vec<Row> = all
            .to_vec()
            .into_iter()
            .filter(|row| !denied(row))
            .collect();
        assert_eq!(allowed.to_vec(), expected);
        let call1 = |row: &Row| row.values[0].to_text().as_deref() == Some("Call1");
        let (fewer, also_left_out) = allowed.without(call1);
        assert_eq!(also_left_out, expected.iter().filter(|r| call1(r)).count());
        assert_eq!(fewer.iter().count(), fewer.len());
    }

    #[test]
    fn rows_stay_in_memory_when_no_temporary_file_can_be_made() {
        let missing = std::env::temp_dir().join("trailscan-no-such-directory");
        let (kept, error) = stored(32 << 10, missing);
        let error = error.expect("the failed spill is reported");
        assert!(error.contains("kept in memory"), "{error}");
        assert_eq!(kept[0].spilled_runs(), 0);
        let (expected, _) = stored(usize::MAX, std::env::temp_dir());
        for (kept, expected) in kept.iter().zip(&expected) {
            assert_eq!(kept.to_vec(), expected.to_vec());
        }
    }
}
