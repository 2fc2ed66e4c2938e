//! Large gzip objects read event by event: a `Records` document inflated a chunk at a time.
//!
//! Memory then holds a chunk and the event being read, not the whole file: a 1.5 GB delivery
//! file, or a small gzip that inflates to gigabytes, costs what its largest event costs.
//! Other shapes (JSON Lines, arrays, exports) are inflated whole, up to the object limit.

use std::io::Read;

use super::lexer::{MAX_DEPTH, SyntaxError};
use super::projection::{Element, Projection};
use super::shapes::{DecodeError, Decoded, decode_text, emit, note_unknown_version};
use super::skip::{SkipError, container_end};
use crate::record::Record;

/// How much is inflated at a time, at least.
const CHUNK: usize = 1 << 20;

/// One event larger than this is refused: no real event comes near it.
const MAX_EVENT_BYTES: usize = 256 << 20;

/// Reads the inflated bytes of `input` and hands every event to `visit`, in file order.
/// Nothing beyond `limit` inflated bytes is read: that is the object's error.
///
/// Once events have been handed on, a fault further into the file (corrupt gzip, broken
/// JSON) becomes one of the object's problems: the events before it count, the run exits 2.
pub fn decode_stream(
    input: impl Read,
    projection: &Projection,
    limit: u64,
    visit: &mut impl FnMut(Record<'_, '_>),
) -> Result<Decoded, DecodeError> {
    let mut feed = Feed {
        input,
        buffer: Vec::new(),
        at: 0,
        dropped: 0,
        done: false,
        total: 0,
        limit,
        committed: false,
    };
    let mut decoded = Decoded::default();
    let outcome = read_records(&mut feed, projection, &mut decoded, visit);
    decoded.uncompressed_bytes = feed.total;
    match outcome {
        Ok(Shape::Records) => Ok(decoded),
        Ok(Shape::Other) => {
            while feed.more()? {}
            let mut whole = decode_text(&mut feed.buffer, projection, visit)?;
            whole.uncompressed_bytes = feed.total;
            Ok(whole)
        }
        Err(e) if decoded.events == 0 && decoded.problems.is_empty() => Err(e),
        Err(e) => {
            decoded
                .problems
                .push(format!("the rest of the object is not read: {e}"));
            Ok(decoded)
        }
    }
}

enum Shape {
    /// A `Records` document, read to its end.
    Records,
    /// Anything else: to be read whole. Nothing has been handed on yet.
    Other,
}

/// The inflated bytes not yet read, and where reading stands in them.
struct Feed<R> {
    input: R,
    buffer: Vec<u8>,
    at: usize,
    /// Bytes dropped from the front of `buffer`: offsets in errors count from the file's start.
    dropped: usize,
    done: bool,
    total: u64,
    limit: u64,
    /// Set once the document is known to be read in pieces: until then nothing is dropped, as
    /// the whole text may still be wanted.
    committed: bool,
}

impl<R: Read> Feed<R> {
    /// Inflates more (at least as much as is pending, so an event that spans many chunks is
    /// scanned a bounded number of times); `false` at the end of the input.
    fn more(&mut self) -> Result<bool, DecodeError> {
        if self.done {
            return Ok(false);
        }
        if self.committed && self.at > 0 && self.at >= self.buffer.len() / 2 {
            self.buffer.drain(..self.at);
            self.dropped += self.at;
            self.at = 0;
        }
        let before = self.buffer.len();
        let wanted = CHUNK.max(before - self.at);
        self.buffer.resize(before + wanted, 0);
        let mut filled = before;
        let outcome = loop {
            if filled == self.buffer.len() {
                break Ok(());
            }
            match self.input.read(&mut self.buffer[filled..]) {
                Ok(0) => {
                    self.done = true;
                    break Ok(());
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => break Err(DecodeError::Gzip(e.to_string())),
            }
        };
        self.buffer.truncate(filled);
        self.total += (filled - before) as u64;
        outcome?;
        if self.total > self.limit {
            return Err(DecodeError::OverLimit(self.limit));
        }
        Ok(filled > before)
    }

    /// The next byte that is not whitespace, left unread; `None` at the end of the input.
    fn peek(&mut self) -> Result<Option<u8>, DecodeError> {
        loop {
            while let Some(&byte) = self.buffer.get(self.at) {
                if !matches!(byte, b' ' | b'\n' | b'\r' | b'\t') {
                    return Ok(Some(byte));
                }
                self.at += 1;
            }
            if !self.more()? {
                return Ok(None);
            }
        }
    }

    fn fail<T>(&self, reason: &'static str, at: usize) -> Result<T, DecodeError> {
        Err(invalid(SyntaxError {
            reason,
            offset: self.dropped + at,
        }))
    }

    /// Moves past `byte`, which must come next.
    fn eat(&mut self, byte: u8, reason: &'static str) -> Result<(), DecodeError> {
        if self.peek()? == Some(byte) {
            self.at += 1;
            Ok(())
        } else {
            self.fail(reason, self.at)
        }
    }

    /// Where the value that starts at the next byte ends, inflating until it is all there.
    fn value_end(&mut self) -> Result<usize, DecodeError> {
        let Some(first) = self.peek()? else {
            return self.fail("unexpected end of the document", self.at);
        };
        loop {
            let found = match first {
                b'{' | b'[' => match container_end(&self.buffer, self.at, MAX_DEPTH - 1) {
                    Ok(end) => Some(end),
                    Err(SkipError::Unterminated | SkipError::UnterminatedString) => None,
                    Err(SkipError::Mismatched(at)) => return self.fail("mismatched bracket", at),
                    Err(SkipError::TooDeep(at)) => return self.fail("nested too deeply", at),
                    Err(SkipError::ControlCharacter(at)) => {
                        return self.fail("control character in a string", at);
                    }
                },
                b'"' => string_end(&self.buffer, self.at),
                _ => scalar_end(&self.buffer, self.at),
            };
            if let Some(end) = found {
                return Ok(end);
            }
            if self.buffer.len() - self.at > MAX_EVENT_BYTES {
                return self.fail("a value over 256 MiB", self.at);
            }
            if !self.more()? {
                return match first {
                    b'{' | b'[' | b'"' => self.fail("unexpected end of the document", self.at),
                    _ => Ok(self.buffer.len()),
                };
            }
        }
    }

    /// The key of an object member that starts here (its raw text), and moves past its `:`.
    fn key(&mut self) -> Result<Vec<u8>, DecodeError> {
        if self.peek()? != Some(b'"') {
            return self.fail("expected a key", self.at);
        }
        let end = self.value_end()?;
        let key = self.buffer[self.at + 1..end - 1].to_vec();
        self.at = end;
        self.eat(b':', "expected ':' after a key")?;
        Ok(key)
    }
}

/// Reads a `{"Records":[...]}` document event by event; says `Other` (having handed on
/// nothing) when the document starts some other way.
fn read_records<R: Read>(
    feed: &mut Feed<R>,
    projection: &Projection,
    decoded: &mut Decoded,
    visit: &mut impl FnMut(Record<'_, '_>),
) -> Result<Shape, DecodeError> {
    feed.peek()?;
    if feed.buffer[feed.at..].starts_with(b"\xEF\xBB\xBF") {
        feed.at += 3;
    }
    if feed.peek()? != Some(b'{') {
        return Ok(Shape::Other);
    }
    feed.at += 1;
    if feed.peek()? != Some(b'"') || !is_records(&feed.key()?) || feed.peek()? != Some(b'[') {
        return Ok(Shape::Other);
    }
    feed.committed = true;
    let mut arrays = 0;
    let mut index = 0;
    loop {
        arrays += 1;
        read_array(feed, projection, &mut index, decoded, visit)?;
        // The members after the array: skipped, but for another `Records` array.
        loop {
            match feed.peek()? {
                Some(b',') => feed.at += 1,
                Some(b'}') => {
                    feed.at += 1;
                    if feed.peek()?.is_some() {
                        return feed.fail("characters after the document", feed.at);
                    }
                    if arrays > 1 {
                        decoded.warnings.push(duplicate_records(arrays));
                    }
                    if index == 0 {
                        decoded
                            .warnings
                            .push("\"Records\" is empty: no events".into());
                    }
                    return Ok(Shape::Records);
                }
                _ => return feed.fail("expected ',' or '}' in an object", feed.at),
            }
            let key = feed.key()?;
            if is_records(&key) {
                if feed.peek()? != Some(b'[') {
                    return Err(DecodeError::NotCloudTrail(
                        "\"Records\" is not an array".into(),
                    ));
                }
                break;
            }
            feed.at = feed.value_end()?;
        }
    }
}

/// Reads the array that starts here, handing on each event; `index` counts elements over
/// every `Records` array of the document.
fn read_array<R: Read>(
    feed: &mut Feed<R>,
    projection: &Projection,
    index: &mut usize,
    decoded: &mut Decoded,
    visit: &mut impl FnMut(Record<'_, '_>),
) -> Result<(), DecodeError> {
    feed.eat(b'[', "expected an array")?;
    if feed.peek()? == Some(b']') {
        feed.at += 1;
        return Ok(());
    }
    loop {
        let end = feed.value_end()?;
        read_element(feed, end, projection, *index, decoded, visit)?;
        *index += 1;
        feed.at = end;
        match feed.peek()? {
            Some(b',') => feed.at += 1,
            Some(b']') => {
                feed.at += 1;
                return Ok(());
            }
            _ => return feed.fail("expected ',' or ']' in an array", feed.at),
        }
    }
}

/// Reads the element between the feed's position and `end`, handing it on when an event.
fn read_element<R: Read>(
    feed: &Feed<R>,
    end: usize,
    projection: &Projection,
    index: usize,
    decoded: &mut Decoded,
    visit: &mut impl FnMut(Record<'_, '_>),
) -> Result<(), DecodeError> {
    let bytes = &feed.buffer[feed.at..end];
    let text = match simdutf8::basic::from_utf8(bytes) {
        Ok(text) => text,
        Err(_) => {
            let valid = std::str::from_utf8(bytes).map_or_else(|e| e.valid_up_to(), |_| 0);
            return feed.fail("invalid UTF-8", feed.at + valid);
        }
    };
    let (element, version) = projection.read_element(text).map_err(|e| {
        invalid(SyntaxError {
            reason: e.reason,
            offset: feed.dropped + feed.at + e.offset,
        })
    })?;
    if let Some(version) = version {
        note_unknown_version(&version, decoded);
    }
    match element {
        Element::Event(event) => emit(&event, decoded, visit),
        Element::EventKeepingNothing => {
            let nothing = simd_json::BorrowedValue::Object(Box::default());
            emit(&nothing, decoded, visit);
        }
        Element::NotAnObject => decoded
            .problems
            .push(format!("Records[{index}] is not a JSON object")),
    }
    Ok(())
}

fn is_records(key: &[u8]) -> bool {
    key.eq_ignore_ascii_case(b"Records")
}

pub(super) fn duplicate_records(arrays: usize) -> String {
    format!("the document holds {arrays} \"Records\" arrays: the events of all are read")
}

fn invalid(error: SyntaxError) -> DecodeError {
    DecodeError::InvalidJson(error.to_string())
}

/// Just past the closing quote of the string that opens at `start`, if the text holds it.
fn string_end(text: &[u8], start: usize) -> Option<usize> {
    let mut at = start + 1;
    loop {
        at += memchr::memchr2(b'"', b'\\', &text[at..])?;
        if text[at] == b'"' {
            return Some(at + 1);
        }
        at += 2;
        if at > text.len() {
            return None;
        }
    }
}

/// Where the number or literal at `start` ends, if the text holds its end.
fn scalar_end(text: &[u8], start: usize) -> Option<usize> {
    (text[start..].iter())
        .position(|b| matches!(b, b',' | b']' | b'}' | b' ' | b'\n' | b'\r' | b'\t'))
        .map(|n| start + n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::inflate::Members;

    /// A reader that hands out at most `step` bytes at a time, to cut events anywhere.
    struct Trickle<'a> {
        text: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let n = self.step.min(out.len()).min(self.text.len());
            out[..n].copy_from_slice(&self.text[..n]);
            self.text = &self.text[n..];
            Ok(n)
        }
    }

    fn streamed(
        text: &[u8],
        step: usize,
        limit: u64,
    ) -> Result<(Vec<String>, Decoded), DecodeError> {
        let mut names = Vec::new();
        let decoded = decode_stream(
            Trickle { text, step },
            &Projection::everything(),
            limit,
            &mut |r: Record<'_, '_>| names.push(r.str_field("eventName").unwrap_or("?").to_owned()),
        )?;
        Ok((names, decoded))
    }

    #[test]
    fn records_are_read_the_same_whatever_the_chunking() {
        let text = br#" {"Records":[{"eventName":"A","x":"a \" ] } string"},"junk",{"eventName":"B","n":[1,{"y":2}]}],"tail":{"z":[]}}"#;
        for step in [1, 2, 3, 7, 64, 1 << 20] {
            let (names, decoded) = streamed(text, step, u64::MAX).unwrap();
            assert_eq!(names, ["A", "B"], "step {step}");
            assert_eq!(decoded.problems, ["Records[1] is not a JSON object"]);
            assert_eq!(decoded.uncompressed_bytes, text.len() as u64);
        }
    }

    #[test]
    fn other_shapes_are_read_whole() {
        let text = b"{\"eventName\":\"A\"}\n{\"eventName\":\"B\"}\n";
        assert_eq!(streamed(text, 5, u64::MAX).unwrap().0, ["A", "B"]);
        let text = br#"{"Events":[{"CloudTrailEvent":"{\"eventName\":\"A\"}"}]}"#;
        assert_eq!(streamed(text, 5, u64::MAX).unwrap().0, ["A"]);
    }

    #[test]
    fn regression_a_duplicate_records_key_reads_both_arrays_with_a_warning() {
        let text = br#"{"Records":[{"eventName":"A"}],"other":1,"Records":[{"eventName":"B"}]}"#;
        let (names, decoded) = streamed(text, 4, u64::MAX).unwrap();
        assert_eq!(names, ["A", "B"]);
        assert_eq!(decoded.warnings, [duplicate_records(2)]);
    }

    #[test]
    fn regression_inflating_past_the_limit_is_the_objects_error() {
        let text = br#"{"Records":[{"eventName":"A"},{"eventName":"B"}]}"#;
        assert_eq!(
            streamed(text, 1 << 20, 10).unwrap_err(),
            DecodeError::OverLimit(10)
        );
        let text = br#"[{"eventName":"A"},{"eventName":"B"}]"#;
        assert_eq!(
            streamed(text, 1 << 20, 10).unwrap_err(),
            DecodeError::OverLimit(10)
        );
    }

    #[test]
    fn a_fault_after_events_keeps_them_and_is_a_problem() {
        let mut text = br#"{"Records":["#.to_vec();
        let event = br#"{"eventName":"A","pad":"0123456789012345678901234567890123456789"},"#;
        while text.len() < 3 * CHUNK {
            text.extend_from_slice(event);
        }
        text.extend_from_slice(br#"{"eventName": oops}]}"#);
        let (names, decoded) = streamed(&text, 1 << 16, u64::MAX).unwrap();
        assert!(names.len() > 10_000);
        assert_eq!(decoded.problems.len(), 1, "{:?}", decoded.problems);
        assert!(
            decoded.problems[0].starts_with("the rest of the object is not read: invalid JSON"),
            "{:?}",
            decoded.problems
        );
        // Broken from the start: nothing was handed on, so the object fails as a whole.
        assert!(matches!(
            streamed(br#"{"Records":[{"eventName": oops}]}"#, 3, u64::MAX),
            Err(DecodeError::InvalidJson(_))
        ));
        assert!(matches!(
            streamed(br#"{"Records":[{"eventName":"A"}"#, 3, u64::MAX),
            Err(DecodeError::InvalidJson(_)) | Ok(_)
        ));
    }

    #[test]
    fn gzip_members_feed_the_stream() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(br#"{"Records":[{"eventName":"A"},"#).unwrap();
        let mut raw = gz.finish().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(br#"{"eventName":"B"}]}"#).unwrap();
        raw.extend(gz.finish().unwrap());
        raw.extend([0; 100]);
        let mut names = Vec::new();
        decode_stream(
            Members::new(&raw),
            &Projection::everything(),
            u64::MAX,
            &mut |r: Record<'_, '_>| names.push(r.str_field("eventName").unwrap_or("?").to_owned()),
        )
        .unwrap();
        assert_eq!(names, ["A", "B"]);
    }
}
