//! What a scan must read of each event, in neutral terms: queries say it, the decoder builds from it.

use std::collections::HashMap;
use std::sync::Arc;

use crate::record::{FieldPath, Value};

/// The fields to read of each event: those of every event, those of events with a given
/// `eventName`, and those of events that pass a gate. The decoder reads `eventName` and
/// checks `eventVersion` of every event whatever this says.
#[derive(Debug, Clone, Default)]
pub struct Needs {
    pub always: Vec<FieldPath>,
    pub by_name: HashMap<String, Vec<FieldPath>>,
    pub gated: Vec<(Gate, Vec<FieldPath>)>,
}

/// A condition an event must meet for some fields to be read.
#[derive(Clone, Debug)]
pub enum Gate {
    /// On its name (a query's `eventName LIKE …`, say).
    Name(NameTest),
    /// On the value of one path (a query's `userIdentity.type = 'Root'`), met by no event
    /// without the path.
    Field(FieldTest),
}

/// A test of an event's name.
#[derive(Clone)]
pub struct NameTest(Arc<dyn Fn(&str) -> bool + Send + Sync>);

impl NameTest {
    pub fn new(test: impl Fn(&str) -> bool + Send + Sync + 'static) -> NameTest {
        NameTest(Arc::new(test))
    }

    pub fn accepts(&self, name: &str) -> bool {
        (self.0)(name)
    }
}

impl std::fmt::Debug for NameTest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NameTest")
    }
}

/// A test of the value at one path, as a record lookup finds it (and whether that is an
/// object or an array).
#[derive(Clone)]
pub struct FieldTest {
    pub path: FieldPath,
    test: Arc<dyn Fn(Value<'_>, bool) -> bool + Send + Sync>,
}

impl FieldTest {
    pub fn new(
        path: FieldPath,
        test: impl Fn(Value<'_>, bool) -> bool + Send + Sync + 'static,
    ) -> FieldTest {
        FieldTest {
            path,
            test: Arc::new(test),
        }
    }

    pub fn accepts(&self, value: Value<'_>, is_container: bool) -> bool {
        (self.test)(value, is_container)
    }
}

impl std::fmt::Debug for FieldTest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FieldTest({:?})", self.path)
    }
}

impl Needs {
    /// Every path named anywhere, `eventName` first: what a projection must keep.
    pub fn paths(&self) -> impl Iterator<Item = &FieldPath> {
        self.always
            .iter()
            .chain(self.by_name.values().flatten())
            .chain(self.gated.iter().flat_map(|(_, paths)| paths))
    }
}
