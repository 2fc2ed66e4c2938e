//! One result row: its values, and what makes it the same finding from run to run.

use crate::record::OwnedValue;

/// One result row, and what makes it the same finding from one run to the next: the
/// event's `eventID` for a single-event query, the GROUP BY key for an alarm.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub values: Vec<OwnedValue>,
    pub identity: String,
}
