//! Projection: the fields a query set reads, and `Records` documents read keeping only those.
//!
//! Building every event whole costs more than the rest of a scan together, and most queries
//! read a dozen fields of a few kinds of events. So a delivery document is walked once over
//! its text: the top-level fields an event's `eventName` calls for are built, every other
//! value is skipped by finding where it ends (strings eight bytes at a time, containers 64
//! bytes at a time in `json_skip`). Once an event's name asks for nothing more, the rest of
//! the event is jumped over as soon as the keys it must still show have been seen, or are
//! nowhere in that rest. Skipped values are checked for structure (closed strings without
//! control characters, matched brackets; top-level scalars well formed where they are
//! walked), not token by token; built values are checked in full. The whole text is checked
//! to be UTF-8 first, once, so strings are borrowed from it without a check each.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use memchr::memmem;
use simd_json::value::borrowed::Object;
use simd_json::{BorrowedValue, StaticNode};

use crate::json_skip::{SkipError, container_end, object_rest_end};
use crate::record::{FieldPath, Value, resolve};

/// Nesting deeper than this is refused rather than risking the stack.
const MAX_DEPTH: usize = 128;

/// Which fields to keep: a trie of paths; a node marked `whole` keeps everything below it.
#[derive(Debug, Clone, Default)]
pub struct Projection {
    root: Trie,
    triage: Option<Triage>,
}

/// Which top-level fields an event needs depends on its `eventName`: most queries look
/// at a few kinds of events only, so a `PutBucketPolicy`'s `requestParameters` need not be
/// built for a `GetObject`.
#[derive(Debug, Clone)]
struct Triage {
    /// The root's child that is `eventName`.
    event_name: usize,
    /// The root's child that is `eventVersion`: checked in every event, built only when
    /// some path asks for it.
    version: usize,
    /// Per child of the root: built for every event.
    always: Vec<bool>,
    /// `always` as bits: what an event must have shown before the rest is jumped over.
    must_see: u64,
    /// Per event name, per child of the root: built for events of that name as well.
    /// Looked up for every event: foldhash, not SipHash (names come from the logs, but a
    /// flood of colliding names only slows the scan down).
    by_name: foldhash::HashMap<String, Vec<bool>>,
    /// Per condition, per child of the root: built for events that meet it (one bit each
    /// in `Keep::Also`).
    conditions: Vec<(Condition, Vec<bool>)>,
    /// Per condition, the child of the root a field condition reads.
    field_children: Vec<Option<usize>>,
    /// Per child of the root: whether some field condition reads it.
    tested: Vec<bool>,
    /// Per child of the root: its key, quoted, in lower case, to look for in the rest of an
    /// event (see `Triage::rest_lacks_unseen`).
    quoted_keys: Vec<memmem::Finder<'static>>,
}

/// A condition an event must meet for some fields to be built.
#[derive(Clone, Debug)]
pub enum Condition {
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
    path: FieldPath,
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
}

impl std::fmt::Debug for FieldTest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FieldTest({:?})", self.path)
    }
}

/// The bit of the `index`th condition, if it has one.
fn condition_bit(index: usize) -> Option<u128> {
    1u128.checked_shl(u32::try_from(index).ok()?)
}

/// What an event's name asks to be built beyond what every event keeps.
#[derive(Clone, Copy)]
enum Keep<'t> {
    Always,
    /// The children the queries for that exact name read, and those of the name tests
    /// (one bit each) that accepted it.
    Also {
        exact: Option<&'t [bool]>,
        tests: u128,
    },
    /// A name that is neither a string nor null: the queries compare it however they can.
    Everything,
}

impl Keep<'_> {
    /// What both ask for, or more.
    fn or(self, other: Self) -> Self {
        match (self, other) {
            (Keep::Always, keep) | (keep, Keep::Always) => keep,
            _ => Keep::Everything,
        }
    }

    /// This, and the children of the conditions whose bits are in `met`.
    fn and_met(self, met: u128) -> Self {
        match self {
            _ if met == 0 => self,
            Keep::Always => Keep::Also {
                exact: None,
                tests: met,
            },
            Keep::Also { exact, tests } => Keep::Also {
                exact,
                tests: tests | met,
            },
            Keep::Everything => Keep::Everything,
        }
    }
}

impl Triage {
    fn keep_for(&self, name: BorrowedValue<'_>) -> Keep<'_> {
        let name = match name {
            BorrowedValue::String(name) => name,
            BorrowedValue::Static(StaticNode::Null) => return Keep::Always,
            _ => return Keep::Everything,
        };
        let exact = self.by_name.get(name.as_ref()).map(Vec::as_slice);
        let mut tests = 0u128;
        for (i, (condition, _)) in self.conditions.iter().enumerate() {
            if let Condition::Name(test) = condition
                && (test.0)(&name)
            {
                match condition_bit(i) {
                    Some(bit) => tests |= bit,
                    None => return Keep::Everything,
                }
            }
        }
        match (exact, tests) {
            (None, 0) => Keep::Always,
            (exact, tests) => Keep::Also { exact, tests },
        }
    }

    fn wanted(&self, keep: Keep<'_>, child: usize) -> bool {
        match keep {
            Keep::Always => self.always[child],
            Keep::Also { exact, tests } => {
                self.always[child]
                    || exact.is_some_and(|kept| kept[child])
                    || self.conditions.iter().enumerate().any(|(i, (_, kept))| {
                        kept[child] && condition_bit(i).is_some_and(|bit| tests & bit != 0)
                    })
            }
            Keep::Everything => true,
        }
    }

    /// The bits of the field conditions on `child` that its value, at `at` in `text`, meets;
    /// `None` when one without a bit is met.
    fn fields_met(
        &self,
        text: &str,
        at: usize,
        child: usize,
        depth: usize,
    ) -> Result<Option<u128>, SyntaxError> {
        let mut met = 0u128;
        for (i, (condition, _)) in self.conditions.iter().enumerate() {
            let Condition::Field(field) = condition else {
                continue;
            };
            if self.field_children[i] != Some(child) {
                continue;
            }
            let segments = field.path.segments();
            let mut holds = false;
            Scanner { text, at }.leaves_at(&segments[1..], depth, &mut |value, container| {
                holds = holds || (field.test)(value, container);
            })?;
            if holds {
                match condition_bit(i) {
                    Some(bit) => met |= bit,
                    None => return Ok(None),
                }
            }
        }
        Ok(Some(met))
    }

    /// Where the event ends, when its rest, from `at` (between two members) on, cannot hold
    /// a key that it must show and has not shown (`seen`): when none of those keys stands
    /// there in any case and nothing is escaped in a way that could spell one (`\u`).
    /// Finding that takes one jump to the end and one search per key, which is cheaper
    /// than walking every key of the rest.
    fn rest_lacks_unseen(
        &self,
        text: &str,
        at: usize,
        depth: usize,
        seen: u64,
        folded: &mut Vec<u8>,
    ) -> Option<usize> {
        // A child past the 64th has no bit: `must_see` then has every bit set.
        if self.must_see == u64::MAX {
            return None;
        }
        let mut unseen = self.must_see & !seen;
        let end = object_rest_end(text.as_bytes(), at, MAX_DEPTH.saturating_sub(depth)).ok()?;
        let rest = &text.as_bytes()[at..end];
        if memchr::memchr_iter(b'\\', rest).any(|i| rest.get(i + 1) == Some(&b'u')) {
            return None;
        }
        // ASCII letters to lower case; other bytes may change too, which can only make a
        // key seem to be there when it is not (and the rest is then walked).
        folded.clear();
        folded.extend(rest.iter().map(|b| b | 0x20));
        while unseen != 0 {
            let child = unseen.trailing_zeros() as usize;
            unseen &= unseen - 1;
            if self.quoted_keys.get(child)?.find(folded).is_some() {
                return None;
            }
        }
        Some(end)
    }
}

/// The children `kept` says, as bits for `seen_bit`; a child past the 64th has no bit, so
/// an event that keeps one of every event is never jumped over.
fn must_see(kept: &[bool]) -> u64 {
    kept.iter()
        .enumerate()
        .filter(|(_, kept)| **kept)
        .fold(0, |bits, (child, _)| {
            bits | seen_bit(child).unwrap_or(u64::MAX)
        })
}

/// The bit that marks `child` as seen in an event, for the first 64 children.
fn seen_bit(child: usize) -> Option<u64> {
    1u64.checked_shl(u32::try_from(child).ok()?)
}

/// A kept top-level field found in an event, to build once the event is triaged.
struct Span<'i> {
    child: usize,
    key: RawKey<'i>,
    start: usize,
}

/// An event's key as the previous event had it at the same position: the events of a file
/// mostly list their keys in the same order, so one comparison of the raw bytes recognises
/// it without reading it as a string and looking it up.
#[derive(Clone, Copy)]
struct KeyGuess<'i> {
    /// The key with its quotes, as it stood in the text; never one holding escapes.
    quoted: &'i [u8],
    child: Option<usize>,
}

/// What reading the events of one document reuses from event to event.
#[derive(Default)]
struct EventScratch<'i> {
    spans: Vec<Span<'i>>,
    guesses: Vec<KeyGuess<'i>>,
    unknown_version: Option<Cow<'i, str>>,
    /// The rest of an event in lower case, for `Triage::rest_lacks_unseen`.
    folded: Vec<u8>,
}

#[derive(Debug, Clone, Default)]
struct Trie {
    whole: bool,
    children: Vec<(String, Trie)>,
    /// The children by `name_slot` of their names (256 slots once there are children):
    /// an event's key is looked up with one comparison at most, unless two children share
    /// a slot. Each slot holds `NO_CHILD`, `SHARED` or the index of its one child.
    slots: Vec<u8>,
}

const NO_CHILD: u8 = u8::MAX;
const SHARED: u8 = u8::MAX - 1;

impl Trie {
    /// The index of the child called `key`.
    fn child(&self, key: &[u8]) -> Option<usize> {
        let matches = |i: usize| self.children[i].0.as_bytes().eq_ignore_ascii_case(key);
        match *self.slots.get(name_slot(key))? {
            NO_CHILD => None,
            SHARED => (0..self.children.len()).find(|&i| matches(i)),
            i => matches(usize::from(i)).then_some(usize::from(i)),
        }
    }

    fn add_child(&mut self, name: &str) -> usize {
        let index = self.children.len();
        self.children.push((name.to_owned(), Trie::default()));
        if self.slots.is_empty() {
            self.slots = vec![NO_CHILD; 256];
        }
        let slot = &mut self.slots[name_slot(name.as_bytes())];
        *slot = match u8::try_from(index) {
            Ok(i) if *slot == NO_CHILD && i < SHARED => i,
            _ => SHARED,
        };
        index
    }
}

/// One of 256 slots, from a name's length and four of its bytes, the same for names that
/// differ only in ASCII case.
fn name_slot(name: &[u8]) -> usize {
    let fold = |at: usize| u32::from(name.get(at).map_or(0, |b| b | 0x20));
    let len = name.len();
    let mixed = (len as u32).wrapping_mul(0x9E37_79B9)
        ^ fold(0).wrapping_mul(0x85EB_CA6B)
        ^ fold(len / 2).wrapping_mul(0xC2B2_AE35)
        ^ fold(len.wrapping_sub(2)).wrapping_mul(0x27D4_EB2F)
        ^ fold(len.wrapping_sub(1)).wrapping_mul(0x1656_67B1);
    (mixed.wrapping_mul(0x9E37_79B9) >> 24) as usize
}

/// What the top level of a JSON document turned out to be.
#[derive(Debug)]
pub enum Document<'i> {
    /// `{"Records":[...]}`: each element projected.
    Records {
        elements: Vec<Element<'i>>,
        /// The first `eventVersion` that is not 1.x, when the projection triages events.
        unknown_version: Option<Cow<'i, str>>,
    },
    /// `Records` is there but is not an array.
    RecordsNotArray,
    /// Any other shape, for a full parser to read.
    Other,
}

/// One element of a `Records` array.
#[derive(Debug)]
pub enum Element<'i> {
    /// An event (an object), with the fields kept of it.
    Event(BorrowedValue<'i>),
    /// An event of which no field is kept: most of them, for most queries, and not worth an
    /// empty object each.
    EventKeepingNothing,
    /// Not an object.
    NotAnObject,
}

/// Where and why a document is not JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} at byte {offset}")]
pub struct SyntaxError {
    pub reason: &'static str,
    pub offset: usize,
}

impl Projection {
    /// Keeps every field: for shapes and queries that need the whole event.
    pub fn everything() -> Projection {
        Projection {
            root: Trie {
                whole: true,
                ..Trie::default()
            },
            triage: None,
        }
    }

    /// Keeps `paths` (and whatever lies below them).
    pub fn of<'p>(paths: impl IntoIterator<Item = &'p FieldPath>) -> Projection {
        let mut projection = Projection::default();
        for path in paths {
            projection.add(path);
        }
        projection
    }

    /// Keeps, of each event, only the top-level fields of `always`, those `by_name` lists
    /// for its `eventName` and those of each condition it meets; an event whose name is not
    /// a string or null keeps everything. Every event's `eventVersion` is checked
    /// (`Document::Records` names the first unknown one). The rest of an event is skipped
    /// once its name, its version, the fields of `always` and those field conditions read
    /// have been seen, and no field condition was met. What is kept must include
    /// `eventName`, every path given here and the paths the field conditions read.
    pub fn triage(
        mut self,
        always: &[&FieldPath],
        by_name: &HashMap<String, Vec<&FieldPath>>,
        conditions: &[(Condition, Vec<&FieldPath>)],
    ) -> Projection {
        if self.root.whole {
            return self;
        }
        let Some(event_name) = self.root.child(b"eventName") else {
            return self;
        };
        let version = match self.root.child(b"eventVersion") {
            Some(child) => child,
            None => self.root.add_child("eventVersion"),
        };
        let root = &self.root;
        let child_of = |path: &FieldPath| root.child(path.segments().first()?.as_bytes());
        let kept = |paths: &[&FieldPath]| {
            let mut kept = vec![false; root.children.len()];
            paths
                .iter()
                .filter_map(|p| child_of(p))
                .for_each(|i| kept[i] = true);
            kept
        };
        let always = kept(always);
        let field_children: Vec<Option<usize>> = conditions
            .iter()
            .map(|(condition, _)| match condition {
                Condition::Field(field) => child_of(&field.path),
                Condition::Name(_) => None,
            })
            .collect();
        let mut tested = vec![false; root.children.len()];
        field_children
            .iter()
            .flatten()
            .for_each(|&c| tested[c] = true);
        self.triage = Some(Triage {
            event_name,
            version,
            must_see: must_see(&always) | must_see(&tested) | seen_bit(version).unwrap_or(u64::MAX),
            always,
            by_name: by_name
                .iter()
                .map(|(name, paths)| (name.clone(), kept(paths)))
                .collect(),
            conditions: conditions
                .iter()
                .map(|(condition, paths)| (condition.clone(), kept(paths)))
                .collect(),
            field_children,
            tested,
            quoted_keys: (root.children.iter())
                .map(|(name, _)| {
                    let quoted = format!("\"{}\"", name.to_ascii_lowercase());
                    memmem::Finder::new(quoted.as_bytes()).into_owned()
                })
                .collect(),
        });
        self
    }

    fn add(&mut self, path: &FieldPath) {
        let mut node = &mut self.root;
        for segment in path.segments() {
            if node.whole {
                return;
            }
            let at = match node
                .children
                .iter()
                .position(|(k, _)| k.eq_ignore_ascii_case(segment))
            {
                Some(at) => at,
                None => node.add_child(segment),
            };
            node = &mut node.children[at].1;
        }
        node.whole = true;
        node.children.clear();
        node.slots.clear();
    }

    /// Reads `text` as far as telling its shape; the events of a `Records` document come
    /// back with only the projected fields.
    /// The whole text must be UTF-8, whatever is read of it.
    pub fn read_document<'i>(&self, text: &'i [u8]) -> Result<Document<'i>, SyntaxError> {
        // simdutf8 checks 1.35 times as fast as std here, but does not say where it failed:
        // std says that, for the rare file that fails.
        let text = match simdutf8::basic::from_utf8(text) {
            Ok(text) => text,
            Err(_) => std::str::from_utf8(text).map_err(|e| SyntaxError {
                reason: "invalid UTF-8",
                offset: e.valid_up_to(),
            })?,
        };
        let mut scanner = Scanner { text, at: 0 };
        if scanner.peek() != Some(b'{') {
            return Ok(Document::Other);
        }
        let mut found = None;
        let mut scratch = EventScratch::default();
        scanner.entries(0, |scanner, key| {
            if found.is_some() || !key.text()?.eq_ignore_ascii_case("Records") {
                return scanner.skip_value(1);
            }
            if scanner.peek() != Some(b'[') {
                found = Some(Document::RecordsNotArray);
                return scanner.skip_value(1);
            }
            let mut elements = Vec::new();
            scanner.items(1, |scanner| {
                if scanner.peek() == Some(b'{') {
                    elements.push(scanner.event(self, &mut scratch, 2)?);
                    Ok(())
                } else {
                    elements.push(Element::NotAnObject);
                    scanner.skip_value(2)
                }
            })?;
            found = Some(Document::Records {
                elements,
                unknown_version: scratch.unknown_version.take(),
            });
            Ok(())
        })?;
        if scanner.peek().is_some() {
            return scanner.fail("characters after the document");
        }
        Ok(found.unwrap_or(Document::Other))
    }

    /// Reads one JSON value (an event) keeping only the projected fields.
    #[cfg(test)]
    fn read_value<'i>(&self, text: &'i str) -> Result<BorrowedValue<'i>, SyntaxError> {
        let mut scanner = Scanner { text, at: 0 };
        let value = scanner.projected(&self.root, 0)?;
        match scanner.peek() {
            Some(_) => scanner.fail("characters after the document"),
            None => Ok(value),
        }
    }
}

/// A cursor over a document already known to be UTF-8, so the strings it hands out need no
/// second check.
struct Scanner<'i> {
    text: &'i str,
    at: usize,
}

impl<'i> Scanner<'i> {
    fn bytes(&self) -> &'i [u8] {
        self.text.as_bytes()
    }

    fn fail<T>(&self, reason: &'static str) -> Result<T, SyntaxError> {
        Err(SyntaxError {
            reason,
            offset: self.at,
        })
    }

    /// The next byte that is not whitespace, left unconsumed.
    fn peek(&mut self) -> Option<u8> {
        while let Some(&byte) = self.bytes().get(self.at) {
            if !matches!(byte, b' ' | b'\n' | b'\r' | b'\t') {
                return Some(byte);
            }
            self.at += 1;
        }
        None
    }

    fn eat(&mut self, byte: u8, reason: &'static str) -> Result<(), SyntaxError> {
        if self.peek() == Some(byte) {
            self.at += 1;
            Ok(())
        } else {
            self.fail(reason)
        }
    }

    /// Calls `each` with every key of the object that starts here, the scanner then on the
    /// key's value, which `each` must consume.
    fn entries(
        &mut self,
        depth: usize,
        mut each: impl FnMut(&mut Self, RawKey<'i>) -> Result<(), SyntaxError>,
    ) -> Result<(), SyntaxError> {
        self.entries_while(depth, Self::raw_key, |scanner, key| {
            each(scanner, key).map(|()| true)
        })
    }

    /// As `entries`, with each key read by `key` (at its opening quote); once `each`
    /// answers `false` the rest of the object is skipped.
    fn entries_while<K>(
        &mut self,
        depth: usize,
        mut key: impl FnMut(&mut Self) -> Result<K, SyntaxError>,
        mut each: impl FnMut(&mut Self, K) -> Result<bool, SyntaxError>,
    ) -> Result<(), SyntaxError> {
        self.eat(b'{', "expected an object")?;
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Ok(());
        }
        if depth >= MAX_DEPTH {
            return self.fail("nested too deeply");
        }
        loop {
            if self.peek() != Some(b'"') {
                return self.fail("expected a key");
            }
            let key = key(self)?;
            self.eat(b':', "expected ':' after a key")?;
            self.peek();
            if !each(self, key)? {
                return self.skip_object_rest(depth);
            }
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(());
                }
                _ => return self.fail("expected ',' or '}' in an object"),
            }
        }
    }

    /// The key whose opening quote is here.
    fn raw_key(&mut self) -> Result<RawKey<'i>, SyntaxError> {
        let offset = self.at;
        let (raw, escaped) = self.string_span()?;
        Ok(RawKey {
            raw,
            escaped,
            offset,
        })
    }

    /// The key whose opening quote is here, the `position`th of its event, and the child
    /// of `root` it names: guessed from the previous event's key at that position, or read
    /// and looked up (and then the guess for the next event).
    fn event_key(
        &mut self,
        root: &Trie,
        guesses: &mut Vec<KeyGuess<'i>>,
        position: usize,
    ) -> Result<(RawKey<'i>, Option<usize>), SyntaxError> {
        let offset = self.at;
        if let Some(guess) = guesses.get(position)
            && has_prefix(&self.bytes()[offset..], guess.quoted)
        {
            self.at += guess.quoted.len();
            // Between two ASCII quotes: character boundaries.
            let raw = &self.text[offset + 1..self.at - 1];
            let key = RawKey {
                raw,
                escaped: false,
                offset,
            };
            return Ok((key, guess.child));
        }
        let key = self.raw_key()?;
        let child = key.child_index(root)?;
        if !key.escaped {
            let guess = KeyGuess {
                quoted: &self.bytes()[offset..self.at],
                child,
            };
            match guesses.get_mut(position) {
                Some(old) => *old = guess,
                None => guesses.push(guess),
            }
        }
        Ok((key, child))
    }

    /// Calls `each` with the scanner on every element of the array that starts here.
    fn items(
        &mut self,
        depth: usize,
        mut each: impl FnMut(&mut Self) -> Result<(), SyntaxError>,
    ) -> Result<(), SyntaxError> {
        self.eat(b'[', "expected an array")?;
        if self.peek() == Some(b']') {
            self.at += 1;
            return Ok(());
        }
        if depth >= MAX_DEPTH {
            return self.fail("nested too deeply");
        }
        loop {
            each(self)?;
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    return Ok(());
                }
                _ => return self.fail("expected ',' or ']' in an array"),
            }
        }
    }

    /// The event (an object) here, kept as `projection` says.
    fn event(
        &mut self,
        projection: &Projection,
        scratch: &mut EventScratch<'i>,
        depth: usize,
    ) -> Result<Element<'i>, SyntaxError> {
        let root = &projection.root;
        let Some(triage) = &projection.triage else {
            return self.projected(root, depth).map(Element::Event);
        };
        // First where the kept fields are, then, knowing the event's name, which to build.
        // Once the name asks for nothing more than every event keeps and those fields have
        // been seen, the rest of the event is jumped over.
        let EventScratch {
            spans,
            guesses,
            unknown_version,
            folded,
        } = scratch;
        spans.clear();
        let mut seen = 0u64;
        let mut keep = Keep::Always;
        let mut named = false;
        // Field conditions met so far; `None` once one without a bit is.
        let mut met = Some(0u128);
        let mut position = 0;
        let mut looked_ahead = false;
        let key = |scanner: &mut Self| {
            position += 1;
            scanner.event_key(root, guesses, position - 1)
        };
        self.entries_while(depth, key, |scanner, (key, child)| {
            let Some(child) = child else {
                scanner.skip_value(depth + 1)?;
                return Ok(true);
            };
            spans.push(Span {
                child,
                key,
                start: scanner.at,
            });
            seen |= seen_bit(child).unwrap_or(0);
            if triage.tested[child]
                && let Some(so_far) = met
            {
                met = triage
                    .fields_met(scanner.text, scanner.at, child, depth + 1)?
                    .map(|now| now | so_far);
            }
            if child == triage.event_name {
                // A second eventName (in another case, say) may be the one a query reads.
                let asked = triage.keep_for(scanner.value(depth + 1)?);
                keep = if named { keep.or(asked) } else { asked };
                named = true;
            } else if child == triage.version {
                if let BorrowedValue::String(version) = scanner.value(depth + 1)?
                    && !version.starts_with("1.")
                {
                    unknown_version.get_or_insert(version);
                }
            } else {
                scanner.skip_value(depth + 1)?;
            }
            let settled = named && matches!(keep, Keep::Always) && met == Some(0);
            if settled && seen & triage.must_see == triage.must_see {
                return Ok(false);
            }
            if settled && !looked_ahead {
                // A key still to be seen is usually one most events lack (`errorCode`).
                looked_ahead = true;
                let rest = triage.rest_lacks_unseen(scanner.text, scanner.at, depth, seen, folded);
                if let Some(end) = rest {
                    // On the event's closing brace.
                    scanner.at = end - 1;
                }
            }
            Ok(true)
        })?;
        let keep = match met {
            Some(met) => keep.and_met(met),
            None => Keep::Everything,
        };
        spans.retain(|span| triage.wanted(keep, span.child));
        if spans.is_empty() {
            return Ok(Element::EventKeepingNothing);
        }
        let mut object = Object::with_capacity_and_hasher(spans.len(), Default::default());
        for span in spans.iter() {
            let mut value = Scanner {
                text: self.text,
                at: span.start,
            };
            let built = value.projected(&root.children[span.child].1, depth + 1)?;
            object.insert(span.key.text()?, built);
        }
        Ok(Element::Event(BorrowedValue::Object(Box::new(object))))
    }

    /// The value here, keeping only what `trie` selects below an object.
    fn projected(&mut self, trie: &Trie, depth: usize) -> Result<BorrowedValue<'i>, SyntaxError> {
        if trie.whole || self.peek() != Some(b'{') {
            // Arrays, strings (JSON kept as text), numbers: kept as they are.
            return self.value(depth);
        }
        let mut object = Object::with_capacity_and_hasher(trie.children.len(), Default::default());
        self.entries(depth, |scanner, key| match key.child_of(trie)? {
            Some(child) => {
                let value = scanner.projected(child, depth + 1)?;
                object.insert(key.text()?, value);
                Ok(())
            }
            None => scanner.skip_value(depth + 1),
        })?;
        Ok(BorrowedValue::Object(Box::new(object)))
    }

    /// The whole value here.
    fn value(&mut self, depth: usize) -> Result<BorrowedValue<'i>, SyntaxError> {
        match self.peek() {
            Some(b'"') => Ok(BorrowedValue::String(self.string()?)),
            Some(b'{') => {
                let mut object = Object::with_hasher(Default::default());
                self.entries(depth, |scanner, key| {
                    let value = scanner.value(depth + 1)?;
                    object.insert(key.text()?, value);
                    Ok(())
                })?;
                Ok(BorrowedValue::Object(Box::new(object)))
            }
            Some(b'[') => {
                let mut array = Vec::new();
                self.items(depth, |scanner| {
                    array.push(scanner.value(depth + 1)?);
                    Ok(())
                })?;
                Ok(BorrowedValue::Array(Box::new(array)))
            }
            Some(_) => self.scalar().map(BorrowedValue::Static),
            None => self.fail("unexpected end of the document"),
        }
    }

    /// Calls `each` with what a record lookup of `segments` below the value here finds,
    /// and whether that is an object or an array: once for every key that matches in any
    /// case, not at all where the path is missing.
    fn leaves_at(
        &mut self,
        segments: &[String],
        depth: usize,
        each: &mut dyn FnMut(Value<'_>, bool),
    ) -> Result<(), SyntaxError> {
        match segments.split_first() {
            Some((first, rest)) if self.peek() == Some(b'{') => {
                self.entries(depth, |scanner, key| {
                    if key.text()?.eq_ignore_ascii_case(first) {
                        scanner.leaves_at(rest, depth + 1, each)
                    } else {
                        scanner.skip_value(depth + 1)
                    }
                })
            }
            // Arrays and JSON held in strings are looked into as records do.
            _ => {
                let node = self.value(depth)?;
                let (value, is_container) = resolve(&node, segments);
                each(value, is_container);
                Ok(())
            }
        }
    }

    /// Moves past the value here without building it.
    fn skip_value(&mut self, depth: usize) -> Result<(), SyntaxError> {
        match self.peek() {
            Some(b'"') => self.string_span().map(drop),
            Some(b'{' | b'[') => self.skip_container(depth),
            Some(_) => self.scalar().map(drop),
            None => self.fail("unexpected end of the document"),
        }
    }

    /// Moves past the object or array here: brackets are matched, strings jumped over.
    fn skip_container(&mut self, depth: usize) -> Result<(), SyntaxError> {
        let end = container_end(self.bytes(), self.at, MAX_DEPTH.saturating_sub(depth));
        self.at = self.skip_result(end)?;
        Ok(())
    }

    fn skip_result(&self, end: Result<usize, SkipError>) -> Result<usize, SyntaxError> {
        end.map_err(|error| {
            let (reason, offset) = match error {
                SkipError::Mismatched(at) => ("mismatched bracket", at),
                SkipError::TooDeep(at) => ("nested too deeply", at),
                SkipError::ControlCharacter(at) => ("control character in a string", at),
                SkipError::UnterminatedString => ("unterminated string", self.bytes().len()),
                SkipError::Unterminated => ("unexpected end of the document", self.bytes().len()),
            };
            SyntaxError { reason, offset }
        })
    }

    /// Moves past the end of the object the scanner is in, between two members.
    fn skip_object_rest(&mut self, depth: usize) -> Result<(), SyntaxError> {
        let end = object_rest_end(self.bytes(), self.at, MAX_DEPTH.saturating_sub(depth));
        self.at = self.skip_result(end)?;
        Ok(())
    }

    /// The raw text of the string that starts here (without quotes), and whether it holds
    /// escapes.
    fn string_span(&mut self) -> Result<(&'i str, bool), SyntaxError> {
        let start = self.at + 1;
        let mut at = start;
        let mut escaped = false;
        loop {
            match string_stop(&self.bytes()[at..]) {
                Some(offset) if self.bytes()[at + offset] == b'"' => {
                    self.at = at + offset + 1;
                    // Both ends are next to an ASCII quote: always character boundaries.
                    return Ok((&self.text[start..at + offset], escaped));
                }
                Some(offset) if self.bytes()[at + offset] < 0x20 => {
                    self.at = at + offset;
                    return self.fail("control character in a string");
                }
                Some(offset) => {
                    escaped = true;
                    at += offset + 2;
                    if at > self.bytes().len() {
                        break;
                    }
                }
                None => break,
            }
        }
        self.at = self.bytes().len();
        self.fail("unterminated string")
    }

    fn string(&mut self) -> Result<Cow<'i, str>, SyntaxError> {
        let offset = self.at;
        let (raw, escaped) = self.string_span()?;
        string_text(raw, escaped, offset)
    }

    /// `true`, `false`, `null` or a number.
    fn scalar(&mut self) -> Result<StaticNode, SyntaxError> {
        let start = self.at;
        let len = self.bytes()[start..]
            .iter()
            .position(
                |b| !matches!(b, b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z' | b'+' | b'-' | b'.'),
            )
            .unwrap_or(self.bytes().len() - start);
        let token = &self.bytes()[start..start + len];
        let node = match token {
            b"true" => Some(StaticNode::Bool(true)),
            b"false" => Some(StaticNode::Bool(false)),
            b"null" => Some(StaticNode::Null),
            [b'-' | b'0'..=b'9', ..] => number(token),
            _ => None,
        };
        match node {
            Some(node) => {
                self.at += len;
                Ok(node)
            }
            None if len == 0 => self.fail("expected a value"),
            None => self.fail("invalid literal or number"),
        }
    }
}

/// An object key as it stands in the text: turned into a string only when it is kept.
#[derive(Clone, Copy)]
struct RawKey<'i> {
    raw: &'i str,
    escaped: bool,
    offset: usize,
}

impl<'i> RawKey<'i> {
    fn text(&self) -> Result<Cow<'i, str>, SyntaxError> {
        string_text(self.raw, self.escaped, self.offset)
    }

    fn child_of<'t>(&self, trie: &'t Trie) -> Result<Option<&'t Trie>, SyntaxError> {
        Ok(self.child_index(trie)?.map(|i| &trie.children[i].1))
    }

    fn child_index(&self, trie: &Trie) -> Result<Option<usize>, SyntaxError> {
        Ok(if self.escaped {
            trie.child(self.text()?.as_bytes())
        } else {
            trie.child(self.raw.as_bytes())
        })
    }
}

/// `text.starts_with(prefix)` for a key: eight bytes at a time, inline, where `starts_with`
/// calls memcmp, which costs more than the comparison itself for keys this short.
fn has_prefix(text: &[u8], prefix: &[u8]) -> bool {
    let Some(text) = text.get(..prefix.len()) else {
        return false;
    };
    let word = |bytes: &[u8]| u64::from_le_bytes(bytes.try_into().unwrap_or_default());
    let (mut ours, mut theirs) = (prefix.chunks_exact(8), text.chunks_exact(8));
    ours.by_ref()
        .zip(theirs.by_ref())
        .all(|(a, b)| word(a) == word(b))
        && ours
            .remainder()
            .iter()
            .zip(theirs.remainder())
            .all(|(a, b)| a == b)
}

/// The text of a string body found at `offset`.
fn string_text(raw: &str, escaped: bool, offset: usize) -> Result<Cow<'_, str>, SyntaxError> {
    if !escaped {
        return Ok(Cow::Borrowed(raw));
    }
    unescape(raw.as_bytes()).map(Cow::Owned).ok_or(SyntaxError {
        reason: "invalid escape in a string",
        offset,
    })
}

/// Where the first byte that ends a run of plain string text is: `"`, `\\` or a control
/// character (which JSON forbids raw in a string). Eight bytes at a time: most strings of
/// an event are shorter than a vectorised search takes to set up.
pub(crate) fn string_stop(text: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // The lowest flagged byte is exact; flags above a match may be false.
    let below = |word: u64, limit: u8| word.wrapping_sub(ONES * u64::from(limit)) & !word & HIGH;
    let has_byte = |word: u64, byte: u8| below(word ^ (ONES * u64::from(byte)), 1);
    let mut chunks = text.chunks_exact(8);
    let mut at = 0;
    for chunk in chunks.by_ref() {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        let found = has_byte(word, b'"') | has_byte(word, b'\\') | below(word, 0x20);
        if found != 0 {
            return Some(at + found.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .map(|p| at + p)
}

fn number(token: &[u8]) -> Option<StaticNode> {
    if !token
        .iter()
        .all(|b| matches!(b, b'0'..=b'9' | b'+' | b'-' | b'.' | b'e' | b'E'))
    {
        return None;
    }
    let text = std::str::from_utf8(token).ok()?;
    let integral = !token.iter().any(|b| matches!(b, b'.' | b'e' | b'E'));
    if integral {
        if let Ok(i) = text.parse() {
            return Some(StaticNode::I64(i));
        }
        if let Ok(u) = text.parse() {
            return Some(StaticNode::U64(u));
        }
    }
    text.parse().ok().map(StaticNode::F64)
}

/// The text of a JSON string body holding escapes; `None` for a bad escape or bad UTF-8.
/// A lone surrogate becomes U+FFFD rather than making the whole document unreadable.
fn unescape(raw: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = memchr::memchr(b'\\', rest) {
        out.extend_from_slice(&rest[..at]);
        let escape = rest.get(at + 1)?;
        rest = &rest[at + 2..];
        let byte = match escape {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let (c, used) = unicode_escape(rest)?;
                rest = &rest[used..];
                out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                continue;
            }
            _ => return None,
        };
        out.push(byte);
    }
    out.extend_from_slice(rest);
    String::from_utf8(out).ok()
}

/// The character of a `\u` escape whose hex digits start `rest`, and the bytes it used
/// (a surrogate pair takes a second `\uXXXX`).
fn unicode_escape(rest: &[u8]) -> Option<(char, usize)> {
    let hex = |digits: &[u8]| -> Option<u32> {
        let text = std::str::from_utf8(digits.get(..4)?).ok()?;
        u32::from_str_radix(text, 16).ok()
    };
    let first = hex(rest)?;
    if (0xD800..0xDC00).contains(&first)
        && rest.get(4..6) == Some(b"\\u")
        && let Some(second) = hex(&rest[6..])
        && (0xDC00..0xE000).contains(&second)
    {
        let code = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
        return Some((char::from_u32(code)?, 10));
    }
    Some((char::from_u32(first).unwrap_or('\u{FFFD}'), 4))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::to_json;

    /// An element as the JSON kept of it (`{}` for an event keeping nothing).
    fn kept(element: &Element<'_>) -> Option<String> {
        match element {
            Element::Event(event) => Some(to_json(event)),
            Element::EventKeepingNothing => Some("{}".to_owned()),
            Element::NotAnObject => None,
        }
    }

    fn paths(names: &[&str]) -> Vec<FieldPath> {
        names.iter().map(|p| FieldPath::parse(p)).collect()
    }

    fn projection(paths: &[&str]) -> Projection {
        Projection::of(
            &paths
                .iter()
                .map(|p| FieldPath::parse(p))
                .collect::<Vec<_>>(),
        )
    }

    fn projected(paths: &[&str], json: &str) -> String {
        to_json(&projection(paths).read_value(json).unwrap())
    }

    fn simd_json_dom(json: &str) -> String {
        let mut bytes = json.as_bytes().to_vec();
        to_json(&simd_json::to_borrowed_value(&mut bytes).unwrap())
    }

    #[test]
    fn keeps_only_the_projected_fields_at_every_depth() {
        let event = r#"{"eventName":"A","userIdentity":{"type":"IAMUser","arn":"x","sessionContext":{"a":1}},
            "requestParameters":"{\"bucketName\":\"b\"}","resources":[{"ARN":"r"}],"big":{"deep":[1,{"x":"]}"}]}}"#;
        assert_eq!(
            projected(
                &[
                    "EVENTNAME",
                    "userIdentity.arn",
                    "requestParameters.bucketName",
                    "resources"
                ],
                event
            ),
            r#"{"eventName":"A","requestParameters":"{\"bucketName\":\"b\"}","resources":[{"ARN":"r"}],"userIdentity":{"arn":"x"}}"#
        );
        assert_eq!(
            projected(&["userIdentity"], event),
            r#"{"userIdentity":{"arn":"x","sessionContext":{"a":1},"type":"IAMUser"}}"#
        );
        assert_eq!(
            projected(&["userIdentity", "userIdentity.arn"], event),
            projected(&["userIdentity"], event)
        );
        assert_eq!(projected(&[], event), "{}");
    }

    #[test]
    fn everything_reads_what_simd_json_reads() {
        for json in [
            r#"{"a":[1,{"b":null}],"c":"\u00e9\n\"\\\/\t","d":-1.5e3,"e":true,"f":[],"g":{}}"#,
            r#"{"big":18446744073709551615,"neg":-9223372036854775808,"zero":0,"frac":0.25}"#,
            r#"{"emoji":"\ud83d\ude00","key with \"quote\"":"é"}"#,
            " { \"spaced\" : [ 1 , 2 ] , \"x\" : false } ",
        ] {
            assert_eq!(
                to_json(&Projection::everything().read_value(json).unwrap()),
                simd_json_dom(json),
                "{json}"
            );
        }
    }

    #[test]
    fn a_records_document_yields_its_events_and_non_objects_as_gaps() {
        let text = br#"{"Records":[{"eventName":"A","skip":{"x":[1,"}"]}},"junk",{"eventName":"B"}],"tail":1}"#;
        let Document::Records { elements, .. } =
            projection(&["eventName"]).read_document(text).unwrap()
        else {
            panic!("not read as Records");
        };
        let names: Vec<_> = elements.iter().map(kept).collect();
        assert_eq!(
            names,
            [
                Some(r#"{"eventName":"A"}"#.to_owned()),
                None,
                Some(r#"{"eventName":"B"}"#.to_owned())
            ]
        );
        let shape = |text: &[u8]| match Projection::everything().read_document(text).unwrap() {
            Document::Records { .. } => "records",
            Document::RecordsNotArray => "not an array",
            Document::Other => "other",
        };
        assert_eq!(shape(br#"{"Records":"x"}"#), "not an array");
        assert_eq!(shape(br#"{"Events":[]}"#), "other");
        assert_eq!(shape(br#"[{"eventName":"A"}]"#), "other");
    }

    #[test]
    fn malformed_documents_are_errors_even_in_skipped_values() {
        let only_names = projection(&["eventName"]);
        for (text, reason) in [
            (
                r#"{"Records":[{"eventName":"A"}"#,
                "expected ',' or ']' in an array",
            ),
            (r#"{"Records":[{"skip":{"a":[1}}]}"#, "mismatched bracket"),
            (r#"{"Records":[{"skip":"open]}"#, "unterminated string"),
            (r#"{"Records":[{"skip":tru}]}"#, "invalid literal or number"),
            (r#"{"Records":[{"skip":}]}"#, "expected a value"),
            (
                r#"{"Records":[{"eventName":"\q"}]}"#,
                "invalid escape in a string",
            ),
            (r#"{"Records":[]} x"#, "characters after the document"),
            (
                "{\"Records\":[{\"eventName\":\"a\nb\"}]}",
                "control character in a string",
            ),
            (
                "{\"Records\":[{\"skip\":\"a\tb\"}]}",
                "control character in a string",
            ),
            (
                "{\"Records\":[{\"skip\":{\"a\":\"\tb\"}}]}",
                "control character in a string",
            ),
            (r#"{"Records":[{1:2}]}"#, "expected a key"),
        ] {
            let error = only_names.read_document(text.as_bytes()).unwrap_err();
            assert_eq!(error.reason, reason, "{text}");
        }
        let deep = format!(
            r#"{{"Records":[{{"skip":{}{}}}]}}"#,
            "[".repeat(200),
            "]".repeat(200)
        );
        assert_eq!(
            only_names
                .read_document(deep.as_bytes())
                .unwrap_err()
                .reason,
            "nested too deeply"
        );
        assert_eq!(
            Projection::everything()
                .read_document(deep.as_bytes())
                .unwrap_err()
                .reason,
            "nested too deeply"
        );
        let bad_utf8 = b"{\"Records\":[{\"eventName\":\"\xff\"}]}";
        assert_eq!(
            only_names.read_document(bad_utf8).unwrap_err().reason,
            "invalid UTF-8"
        );
    }

    #[test]
    fn the_word_at_a_time_search_agrees_with_a_plain_one() {
        let mut text = Vec::new();
        for len in 0..200 {
            for marker in [None, Some(b'"'), Some(b'\\'), Some(b'\n'), Some(0x1f)] {
                for at in [0, 1, 7, 8, 9, 63, 64, 65, 150] {
                    text.clear();
                    text.extend((0..len).map(|i| b"ab\xc3\xa9 x:{}"[i % 7]));
                    if let Some(byte) = marker.filter(|_| at < len) {
                        text[at] = byte;
                    }
                    let plain = text
                        .iter()
                        .position(|&b| b == b'"' || b == b'\\' || b < 0x20);
                    assert_eq!(string_stop(&text), plain, "{len} {at} {marker:?}");
                }
            }
        }
    }

    #[test]
    fn each_event_keeps_what_its_name_needs() {
        let always = paths(&["eventName", "eventTime"]);
        let for_login = paths(&["errorMessage", "userIdentity.arn"]);
        let for_roles = paths(&["requestParameters"]);
        let by_name = HashMap::from([("ConsoleLogin".to_owned(), for_login.iter().collect())]);
        let roles = NameTest::new(|name| name.contains("Role"));
        let projection = Projection::of(always.iter().chain(&for_login).chain(&for_roles)).triage(
            &always.iter().collect::<Vec<_>>(),
            &by_name,
            &[(Condition::Name(roles), for_roles.iter().collect())],
        );
        let text = br#"{"Records":[
            {"eventTime":"t1","eventName":"ConsoleLogin","errorMessage":"bad","userIdentity":{"arn":"a","x":1}},
            {"eventTime":"t0","eventName":"CreateRole","errorMessage":"e","requestParameters":{"r":1}},
            {"eventTime":"t2","eventName":"GetObject","errorMessage":"denied","userIdentity":{"arn":"b"}},
            {"eventTime":"t3","errorMessage":"no name"},
            {"eventTime":"t4","eventName":null,"errorMessage":"null name"},
            {"eventTime":"t5","eventName":7,"errorMessage":"odd name"}]}"#;
        let Document::Records { elements, .. } = projection.read_document(text).unwrap() else {
            panic!("not read as Records");
        };
        let events: Vec<_> = elements.iter().map(|e| kept(e).unwrap()).collect();
        assert_eq!(
            events,
            [
                r#"{"errorMessage":"bad","eventName":"ConsoleLogin","eventTime":"t1","userIdentity":{"arn":"a"}}"#,
                r#"{"eventName":"CreateRole","eventTime":"t0","requestParameters":{"r":1}}"#,
                r#"{"eventName":"GetObject","eventTime":"t2"}"#,
                r#"{"eventTime":"t3"}"#,
                r#"{"eventName":null,"eventTime":"t4"}"#,
                r#"{"errorMessage":"odd name","eventName":7,"eventTime":"t5"}"#,
            ]
        );
    }

    #[test]
    fn the_rest_of_an_event_nobody_asked_for_is_jumped_over_but_checked() {
        let always = paths(&["eventName", "awsRegion"]);
        let for_login = paths(&["errorMessage"]);
        let by_name = HashMap::from([("ConsoleLogin".to_owned(), for_login.iter().collect())]);
        let projection = Projection::of(always.iter().chain(&for_login)).triage(
            &always.iter().collect::<Vec<_>>(),
            &by_name,
            &[],
        );
        let read = |text: &str| match projection.read_document(text.as_bytes()) {
            Ok(Document::Records { elements, .. }) => Ok(kept(&elements[0]).unwrap()),
            Ok(_) => panic!("not read as Records"),
            Err(e) => Err(e.reason),
        };
        // awsRegion, kept of every event, comes after the name: the walk goes on to it.
        assert_eq!(
            read(
                r#"{"Records":[{"eventName":"GetObject","errorMessage":"x","awsRegion":"r","y":{"z":"}"}}]}"#
            ),
            Ok(r#"{"awsRegion":"r","eventName":"GetObject"}"#.to_owned())
        );
        // Two names in different cases: whichever a query reads, its fields are there.
        assert_eq!(
            read(r#"{"Records":[{"eventName":"ConsoleLogin","awsRegion":"r","EVENTNAME":"GetObject","errorMessage":"x"}]}"#),
            Ok(r#"{"EVENTNAME":"GetObject","awsRegion":"r","errorMessage":"x","eventName":"ConsoleLogin"}"#.to_owned())
        );
        assert_eq!(
            read(r#"{"Records":[{"awsRegion":"r","eventName":"GetObject","y":{"z":[1}}}]}"#),
            Err("mismatched bracket")
        );
        assert_eq!(
            read(r#"{"Records":[{"awsRegion":"r","eventName":"GetObject","y":"open}]}"#),
            Err("unterminated string")
        );
    }

    #[test]
    fn nothing_is_skipped_before_the_name_is_known() {
        let region = FieldPath::parse("awsRegion");
        let name = FieldPath::parse("eventName");
        let message = FieldPath::parse("errorMessage");
        let by_name = HashMap::from([("ConsoleLogin".to_owned(), vec![&message])]);
        let projection =
            Projection::of([&region, &name, &message]).triage(&[&region], &by_name, &[]);
        let text =
            br#"{"Records":[{"awsRegion":"r","eventName":"ConsoleLogin","errorMessage":"x"}]}"#;
        let Ok(Document::Records { elements, .. }) = projection.read_document(text) else {
            panic!("not read as Records");
        };
        assert_eq!(
            kept(&elements[0]).unwrap(),
            r#"{"awsRegion":"r","errorMessage":"x"}"#
        );
    }

    #[test]
    fn the_inline_prefix_test_agrees_with_starts_with() {
        let text = b"\"eventName\":\"ConsoleLogin\",\"awsRegion\"";
        for end in 0..text.len() {
            for start in 0..=end {
                let prefix = &text[start..end];
                for at in 0..text.len() {
                    assert_eq!(
                        has_prefix(&text[at..], prefix),
                        text[at..].starts_with(prefix),
                        "{at} {prefix:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn keys_guessed_from_the_previous_event_are_checked_byte_for_byte() {
        let paths = ["eventName", "awsRegion"].map(FieldPath::parse);
        let always: Vec<&FieldPath> = paths.iter().collect();
        let projection = Projection::of(paths.iter()).triage(&always, &HashMap::new(), &[]);
        let text = br#"{"Records":[
            {"eventName":"A","awsRegion":"r1","x":1},
            {"awsRegion":"r2","eventName":"B","x":2},
            {"eventNameX":"no","eventName":"C","awsRegion":"r3"},
            {"event\u004eame":"D","awsRegion":"r4"},
            {"EventName":"E","awsRegion":"r5"},
            {"eventName":"F","awsRegion":"r6"}]}"#;
        let Ok(Document::Records { elements, .. }) = projection.read_document(text) else {
            panic!("not read as Records");
        };
        let events: Vec<_> = elements.iter().map(|e| kept(e).unwrap()).collect();
        assert_eq!(
            events,
            [
                r#"{"awsRegion":"r1","eventName":"A"}"#,
                r#"{"awsRegion":"r2","eventName":"B"}"#,
                r#"{"awsRegion":"r3","eventName":"C"}"#,
                r#"{"awsRegion":"r4","eventName":"D"}"#,
                r#"{"EventName":"E","awsRegion":"r5"}"#,
                r#"{"awsRegion":"r6","eventName":"F"}"#,
            ]
        );
    }

    /// What each event of the `Records` document `text` keeps when every event builds its
    /// name and those whose `field` is `value` also build `built`.
    fn kept_when_field_is(
        field: &str,
        value: &'static str,
        built: &[&str],
        text: &[u8],
    ) -> Vec<String> {
        let always = paths(&["eventName"]);
        let built = paths(built);
        let test = FieldTest::new(FieldPath::parse(field), move |found, _| {
            found == Value::Str(value.into())
        });
        let projection = Projection::of(always.iter().chain(&built)).triage(
            &always.iter().collect::<Vec<_>>(),
            &HashMap::new(),
            &[(Condition::Field(test), built.iter().collect())],
        );
        let Ok(Document::Records { elements, .. }) = projection.read_document(text) else {
            panic!("not read as Records");
        };
        elements.iter().map(|e| kept(e).unwrap()).collect()
    }

    #[test]
    fn an_event_meeting_a_field_condition_keeps_what_it_asks_for() {
        let text = br#"{"Records":[
            {"eventName":"A","userIdentity":{"type":"Root","arn":"r","x":1},"errorCode":"x"},
            {"eventName":"B","userIdentity":{"type":"IAMUser","arn":"u"},"errorCode":"y"},
            {"eventName":"C","errorCode":"z"},
            {"eventName":"D","userIdentity":{"TYPE":"Root"},"USERIDENTITY":{"type":"IAMUser"}},
            {"userIdentity":"{\"type\":\"Root\"}","eventName":"E"},
            {"userIdentity":{"type":"Root"},"eventName":"F","x":{"y":[1]},"errorCode":"late"}]}"#;
        let built = ["userIdentity.type", "userIdentity.arn", "errorCode"];
        assert_eq!(
            kept_when_field_is("userIdentity.type", "Root", &built, text),
            [
                r#"{"errorCode":"x","eventName":"A","userIdentity":{"arn":"r","type":"Root"}}"#,
                r#"{"eventName":"B"}"#,
                r#"{"eventName":"C"}"#,
                r#"{"USERIDENTITY":{"type":"IAMUser"},"eventName":"D","userIdentity":{"TYPE":"Root"}}"#,
                r#"{"eventName":"E","userIdentity":"{\"type\":\"Root\"}"}"#,
                r#"{"errorCode":"late","eventName":"F","userIdentity":{"type":"Root"}}"#,
            ]
        );
    }

    #[test]
    fn a_key_looked_for_ahead_is_found_in_any_case_and_through_escapes() {
        let text = br#"{"Records":[
            {"eventName":"A","x":{"errorCode":"AccessDenied"},"sourceIPAddress":"1"},
            {"eventName":"B","a":"s","ERRORCODE":"AccessDenied","sourceIPAddress":"2"},
            {"eventName":"C","note":"\\","error\u0043ode":"AccessDenied"},
            {"eventName":"D","a":{"b":[1,"]"]},"c":"error code","sourceIPAddress":"4"},
            {"eventName":"E","sourceIPAddress":"5","errorCode":"AccessDenied"}]}"#;
        let built = ["errorCode", "sourceIPAddress"];
        assert_eq!(
            kept_when_field_is("errorCode", "AccessDenied", &built, text),
            [
                r#"{"eventName":"A"}"#,
                r#"{"ERRORCODE":"AccessDenied","eventName":"B","sourceIPAddress":"2"}"#,
                r#"{"errorCode":"AccessDenied","eventName":"C"}"#,
                r#"{"eventName":"D"}"#,
                r#"{"errorCode":"AccessDenied","eventName":"E","sourceIPAddress":"5"}"#,
            ]
        );
    }

    #[test]
    fn a_lone_surrogate_is_replaced_not_fatal() {
        assert_eq!(
            projected(&["ua"], r#"{"ua":"a\ud800b"}"#),
            "{\"ua\":\"a\u{FFFD}b\"}"
        );
    }
}
