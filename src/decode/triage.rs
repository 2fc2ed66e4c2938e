//! Triage: which top-level fields an event needs, decided from its `eventName` and gates.
//!
//! Which top-level fields an event needs depends on its `eventName`: most of what is asked
//! for is of a few kinds of events only, so a `PutBucketPolicy`'s `requestParameters` need not be built
//! for a `GetObject`. Once an event's name asks for nothing more, the rest of the event is
//! jumped over as soon as the keys it must still show have been seen, or are nowhere in that
//! rest.

use std::borrow::Cow;

use memchr::memmem;
use simd_json::value::borrowed::Object;
use simd_json::{BorrowedValue, StaticNode};

use super::lexer::{MAX_DEPTH, RawKey, Scanner, SyntaxError, has_prefix};
use super::skip::object_rest_end;
use super::trie::Trie;
use crate::needs::{Gate, Needs};
use crate::record::{FieldPath, Value, resolve};

/// Which top-level fields an event needs depends on its `eventName`: most needs look
/// at a few kinds of events only, so a `PutBucketPolicy`'s `requestParameters` need not be
/// built for a `GetObject`.
#[derive(Debug, Clone)]
pub(super) struct Triage {
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
    conditions: Vec<(Gate, Vec<bool>)>,
    /// Per condition, the child of the root a field condition reads.
    field_children: Vec<Option<usize>>,
    /// Per child of the root: whether some field condition reads it.
    tested: Vec<bool>,
    /// Per child of the root: its key, quoted, in lower case, to look for in the rest of an
    /// event (see `Triage::rest_lacks_unseen`).
    quoted_keys: Vec<memmem::Finder<'static>>,
}

/// The bit of the `index`th condition, if it has one.
fn condition_bit(index: usize) -> Option<u128> {
    1u128.checked_shl(u32::try_from(index).ok()?)
}

/// What an event's name asks to be built beyond what every event keeps.
#[derive(Clone, Copy)]
enum Keep<'t> {
    Always,
    /// The children needed for that exact name, and those of the name tests
    /// (one bit each) that accepted it.
    Also {
        exact: Option<&'t [bool]>,
        tests: u128,
    },
    /// A name that is neither a string nor null: it may compare however the readers like.
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
            if let Gate::Name(test) = condition
                && test.accepts(&name)
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
            let Gate::Field(field) = condition else {
                continue;
            };
            if self.field_children[i] != Some(child) {
                continue;
            }
            let segments = field.path.segments();
            let mut holds = false;
            Scanner { text, at }.leaves_at(&segments[1..], depth, &mut |value, container| {
                holds = holds || field.accepts(value, container);
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

/// One element of a `Records` array.
#[derive(Debug)]
pub enum Element<'i> {
    /// An event (an object), with the fields kept of it.
    Event(BorrowedValue<'i>),
    /// An event of which no field is kept: most of them, most of the time, and not worth an
    /// empty object each.
    EventKeepingNothing,
    /// Not an object.
    NotAnObject,
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
pub(super) struct KeyGuess<'i> {
    /// The key with its quotes, as it stood in the text; never one holding escapes.
    pub(super) quoted: &'i [u8],
    pub(super) child: Option<usize>,
}

/// What reading the events of one document reuses from event to event.
#[derive(Default)]
pub(super) struct EventScratch<'i> {
    spans: Vec<Span<'i>>,
    guesses: Vec<KeyGuess<'i>>,
    pub(super) unknown_version: Option<Cow<'i, str>>,
    /// The rest of an event in lower case, for `Triage::rest_lacks_unseen`.
    folded: Vec<u8>,
}

impl Triage {
    /// The triage of `needs` over the top-level fields of `root` (which gains
    /// `eventVersion`, checked in every event); `None` when `root` keeps everything or
    /// does not keep `eventName`.
    pub(super) fn new(root: &mut Trie, needs: &Needs) -> Option<Triage> {
        if root.whole {
            return None;
        }
        let event_name = root.child(b"eventName")?;
        let version = match root.child(b"eventVersion") {
            Some(child) => child,
            None => root.add_child("eventVersion"),
        };
        let root = &*root;
        let child_of = |path: &FieldPath| root.child(path.segments().first()?.as_bytes());
        let kept = |paths: &[FieldPath]| {
            let mut kept = vec![false; root.children.len()];
            paths
                .iter()
                .filter_map(child_of)
                .for_each(|i| kept[i] = true);
            kept
        };
        let always = kept(&needs.always);
        let field_children: Vec<Option<usize>> = (needs.gated.iter())
            .map(|(gate, _)| match gate {
                Gate::Field(field) => child_of(&field.path),
                Gate::Name(_) => None,
            })
            .collect();
        let mut tested = vec![false; root.children.len()];
        field_children
            .iter()
            .flatten()
            .for_each(|&c| tested[c] = true);
        Some(Triage {
            event_name,
            version,
            must_see: must_see(&always) | must_see(&tested) | seen_bit(version).unwrap_or(u64::MAX),
            always,
            by_name: (needs.by_name.iter())
                .map(|(name, paths)| (name.clone(), kept(paths)))
                .collect(),
            conditions: (needs.gated.iter())
                .map(|(gate, paths)| (gate.clone(), kept(paths)))
                .collect(),
            field_children,
            tested,
            quoted_keys: (root.children.iter())
                .map(|(name, _)| {
                    let quoted = format!("\"{}\"", name.to_ascii_lowercase());
                    memmem::Finder::new(quoted.as_bytes()).into_owned()
                })
                .collect(),
        })
    }
}

impl<'i> Scanner<'i> {
    /// The key whose opening quote is here, the `position`th of its event, and the child
    /// of `root` it names: guessed from the previous event's key at that position, or read
    /// and looked up (and then the guess for the next event).
    pub(super) fn event_key(
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

    /// The event (an object) here, with the fields of `root` that `triage` finds it needs.
    pub(super) fn triaged_event(
        &mut self,
        root: &Trie,
        triage: &Triage,
        scratch: &mut EventScratch<'i>,
        depth: usize,
    ) -> Result<Element<'i>, SyntaxError> {
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
}
