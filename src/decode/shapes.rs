//! The shapes of event files, found from their content, and the events read from each.
//!
//! Shapes: a `{"Records":[...]}` delivery document, a top-level array, a single event,
//! JSON Lines, `{"Events":[...]}` from `aws cloudtrail lookup-events`, and envelopes that
//! carry the event as a JSON string (`CloudTrailEvent`) or under `detail` (EventBridge).

use std::cell::Cell;

use simd_json::BorrowedValue;

use super::projection::{Document, Element, Projection};
use crate::record::{Record, object_get};

/// simd-json, which reads the shapes other than `Records`, addresses its input with 32-bit
/// offsets.
const MAX_DOCUMENT_BYTES: usize = u32::MAX as usize;

const EVENT_KEYS: &[&str] = &[
    "eventVersion",
    "eventTime",
    "eventName",
    "eventSource",
    "eventID",
];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("corrupt or truncated gzip: {0}")]
    Gzip(String),
    #[error("{0} bytes uncompressed: over the 4 GiB a single JSON document may hold")]
    TooLarge(usize),
    #[error(
        "inflates to more than {0} bytes, the most one object may (raise it with --max-object-size)"
    )]
    OverLimit(u64),
    #[error("empty file")]
    Empty,
    #[error("not JSON (starts with {0:?})")]
    NotJson(String),
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    #[error("not CloudTrail: {0}")]
    NotCloudTrail(String),
}

/// What a decoded object held.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Decoded {
    pub events: u64,
    pub uncompressed_bytes: u64,
    /// Parts that could not be read while the rest could (a bad JSON line, a non-object
    /// record): each is reported with the object's name, and the run exits 2.
    pub problems: Vec<String>,
    /// Things worth a warning that do not stop the events from being read.
    pub warnings: Vec<String>,
    /// A CloudTrail digest file, recognised by its content: not events.
    pub is_digest: bool,
}

/// Decodes one object and hands every event to `visit`, in file order. Events of a
/// `Records` document carry only the fields `projection` keeps. An object that inflates to
/// more than `limit` bytes is an error.
pub fn decode(
    mut raw: Vec<u8>,
    projection: &Projection,
    limit: u64,
    mut visit: impl FnMut(Record<'_, '_>),
) -> Result<Decoded, DecodeError> {
    if !super::inflate::is_gzip(&raw) {
        if raw.len() as u64 > limit {
            return Err(DecodeError::OverLimit(limit));
        }
        return decode_text(&mut raw, projection, &mut visit);
    }
    // The usual delivery file, a few MB, is inflated whole at once; anything larger, or that
    // the trailer does not describe, is read a chunk at a time.
    let small = STREAM_ABOVE.min(usize::try_from(limit).unwrap_or(usize::MAX));
    let mut buffer = INFLATE_BUFFER.take();
    let result = super::inflate::gunzip_small(&raw, &mut buffer, small)
        .map(|size| decode_text(&mut buffer[..size], projection, &mut visit));
    INFLATE_BUFFER.set(buffer);
    match result {
        Some(decoded) => decoded,
        None => super::stream::decode_stream(
            super::inflate::Members::new(&raw),
            projection,
            limit,
            &mut visit,
        ),
    }
}

/// A gzip object whose trailer says it inflates to more than this is read as a stream.
const STREAM_ABOVE: usize = 64 << 20;

/// A buffer larger than this is not kept for the thread's next object.
const KEPT_BUFFER_BYTES: usize = STREAM_ABOVE;

thread_local! {
    /// What each worker thread inflates into, object after object: a fresh buffer per object
    /// is pages to fault in and zero every time.
    static INFLATE_BUFFER: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// Calls `read` with the bytes of `raw`: gunzipped (multi-member too) when it is gzip, as
/// they are otherwise.
pub fn with_inflated<T>(
    mut raw: Vec<u8>,
    read: impl FnOnce(&mut [u8]) -> T,
) -> Result<T, DecodeError> {
    if !super::inflate::is_gzip(&raw) {
        return Ok(read(&mut raw));
    }
    // Taken, not borrowed: a nested call would only allocate a buffer of its own.
    let mut buffer = INFLATE_BUFFER.take();
    let result = super::inflate::gunzip_into(&raw, &mut buffer)
        .map(read)
        .map_err(DecodeError::Gzip);
    if buffer.capacity() <= KEPT_BUFFER_BYTES {
        INFLATE_BUFFER.set(buffer);
    }
    result
}

pub(super) fn decode_text(
    bytes: &mut [u8],
    projection: &Projection,
    visit: &mut impl FnMut(Record<'_, '_>),
) -> Result<Decoded, DecodeError> {
    let mut decoded = Decoded {
        uncompressed_bytes: bytes.len() as u64,
        ..Decoded::default()
    };
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .ok_or(DecodeError::Empty)?;
    let start = if bytes[start..].starts_with(b"\xEF\xBB\xBF") {
        start + 3
    } else {
        start
    };
    match bytes.get(start) {
        Some(b'{' | b'[') => {}
        Some(_) => {
            let head =
                String::from_utf8_lossy(&bytes[start..bytes.len().min(start + 12)]).into_owned();
            return Err(DecodeError::NotJson(head));
        }
        None => return Err(DecodeError::Empty),
    }
    let body = &mut bytes[start..];
    // The delivery format, nearly all of the volume, first: telling JSON Lines apart means
    // looking for a second line, through the whole of a one-line document.
    let not_one_document = match projection.read_document(body) {
        Ok(Document::Records {
            elements,
            unknown_version,
            arrays,
        }) => {
            if let Some(version) = unknown_version {
                note_unknown_version(&version, &mut decoded);
            }
            if arrays > 1 {
                decoded
                    .warnings
                    .push(super::stream::duplicate_records(arrays));
            }
            decode_records(&elements, &mut decoded, visit);
            return Ok(decoded);
        }
        Ok(Document::RecordsNotArray) => {
            return Err(DecodeError::NotCloudTrail(
                "\"Records\" is not an array".into(),
            ));
        }
        Ok(Document::Other) => None,
        Err(e) => Some(e),
    };
    if is_json_lines(body) {
        decode_lines(body, &mut decoded, visit);
        return Ok(decoded);
    }
    if let Some(e) = not_one_document {
        return Err(DecodeError::InvalidJson(e.to_string()));
    }
    if body.len() > MAX_DOCUMENT_BYTES {
        return Err(DecodeError::TooLarge(body.len()));
    }
    let document =
        simd_json::to_borrowed_value(body).map_err(|e| DecodeError::InvalidJson(e.to_string()))?;
    decode_document(&document, &mut decoded, visit)?;
    Ok(decoded)
}

fn decode_records(
    elements: &[Element<'_>],
    decoded: &mut Decoded,
    visit: &mut impl FnMut(Record<'_, '_>),
) {
    let keeping_nothing = BorrowedValue::Object(Box::default());
    for (index, element) in elements.iter().enumerate() {
        match element {
            Element::Event(event) => emit(event, decoded, visit),
            Element::EventKeepingNothing => emit(&keeping_nothing, decoded, visit),
            Element::NotAnObject => decoded
                .problems
                .push(format!("Records[{index}] is not a JSON object")),
        }
    }
    if elements.is_empty() {
        decoded
            .warnings
            .push("\"Records\" is empty: no events".into());
    }
}

/// JSON Lines: the first non-blank line is a whole object and another line follows.
/// A pretty-printed document starts with a line holding only `{` or `[`.
fn is_json_lines(body: &[u8]) -> bool {
    // memchr, not a byte loop: a delivery file is one line of megabytes.
    let mut lines = memchr::memchr_iter(b'\n', body)
        .chain([body.len()])
        .scan(0, |start, end| {
            let line = &body[*start..end];
            *start = end + 1;
            Some(line.trim_ascii())
        })
        .filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or_default();
    first.len() > 1 && first.starts_with(b"{") && first.ends_with(b"}") && lines.next().is_some()
}

fn decode_lines(body: &mut [u8], decoded: &mut Decoded, visit: &mut impl FnMut(Record<'_, '_>)) {
    for (index, line) in body.split_mut(|b| *b == b'\n').enumerate() {
        let line_no = index + 1;
        if line.trim_ascii().is_empty() {
            continue;
        }
        match simd_json::to_borrowed_value(line) {
            Ok(value) => {
                if let Err(e) = visit_event_or_envelope(&value, decoded, visit) {
                    decoded.problems.push(format!("line {line_no}: {e}"));
                }
            }
            Err(e) => decoded
                .problems
                .push(format!("line {line_no}: invalid JSON: {e}")),
        }
    }
}

fn decode_document(
    document: &BorrowedValue<'_>,
    decoded: &mut Decoded,
    visit: &mut impl FnMut(Record<'_, '_>),
) -> Result<(), DecodeError> {
    match document {
        BorrowedValue::Object(_) => {
            if let Some(records) = object_get(document, "Records") {
                let BorrowedValue::Array(records) = records else {
                    return Err(DecodeError::NotCloudTrail(
                        "\"Records\" is not an array".into(),
                    ));
                };
                if records.is_empty() {
                    decoded
                        .warnings
                        .push("\"Records\" is empty: no events".into());
                }
                for (index, record) in records.iter().enumerate() {
                    if matches!(record, BorrowedValue::Object(_)) {
                        emit(record, decoded, visit);
                    } else {
                        decoded
                            .problems
                            .push(format!("Records[{index}] is not a JSON object"));
                    }
                }
                Ok(())
            } else if let Some(BorrowedValue::Array(events)) = object_get(document, "Events") {
                decode_array(events, "Events", decoded, visit)
            } else if object_get(document, "digestStartTime").is_some() {
                decoded.is_digest = true;
                Ok(())
            } else {
                visit_event_or_envelope(document, decoded, visit)
                    .map_err(DecodeError::NotCloudTrail)
            }
        }
        BorrowedValue::Array(items) => decode_array(items, "array", decoded, visit),
        _ => Err(DecodeError::NotCloudTrail("a JSON scalar".into())),
    }
}

fn decode_array(
    items: &[BorrowedValue<'_>],
    what: &str,
    decoded: &mut Decoded,
    visit: &mut impl FnMut(Record<'_, '_>),
) -> Result<(), DecodeError> {
    if let Some(first) = items.first()
        && !(looks_like_event(first) || envelope_event(first).is_some())
    {
        return Err(DecodeError::NotCloudTrail(format!(
            "the {what}'s first element has no event fields"
        )));
    }
    for (index, item) in items.iter().enumerate() {
        if let Err(e) = visit_event_or_envelope(item, decoded, visit) {
            decoded.problems.push(format!("{what}[{index}]: {e}"));
        }
    }
    Ok(())
}

enum Envelope<'v, 'a> {
    /// The event as a JSON string (`aws cloudtrail lookup-events`, CloudTrail Lake exports).
    JsonText(&'v str),
    /// The event as an object (`detail` of an EventBridge event).
    Object(&'v BorrowedValue<'a>),
}

fn envelope_event<'v, 'a>(value: &'v BorrowedValue<'a>) -> Option<Envelope<'v, 'a>> {
    if let Some(BorrowedValue::String(text)) = object_get(value, "CloudTrailEvent") {
        return Some(Envelope::JsonText(text));
    }
    match object_get(value, "detail") {
        Some(detail @ BorrowedValue::Object(_)) if object_get(value, "detail-type").is_some() => {
            Some(Envelope::Object(detail))
        }
        _ => None,
    }
}

fn visit_event_or_envelope(
    value: &BorrowedValue<'_>,
    decoded: &mut Decoded,
    visit: &mut impl FnMut(Record<'_, '_>),
) -> Result<(), String> {
    if !matches!(value, BorrowedValue::Object(_)) {
        return Err("not a JSON object".into());
    }
    match envelope_event(value) {
        Some(Envelope::JsonText(text)) => {
            let mut inner = text.as_bytes().to_vec();
            let event = simd_json::to_borrowed_value(&mut inner)
                .map_err(|e| format!("CloudTrailEvent holds invalid JSON: {e}"))?;
            if !matches!(event, BorrowedValue::Object(_)) {
                return Err("CloudTrailEvent is not a JSON object".into());
            }
            emit(&event, decoded, visit);
            Ok(())
        }
        Some(Envelope::Object(event)) => {
            emit(event, decoded, visit);
            Ok(())
        }
        None if looks_like_event(value) => {
            emit(value, decoded, visit);
            Ok(())
        }
        None => {
            Err("a JSON object without Records or event fields (eventTime, eventName, …)".into())
        }
    }
}

pub(super) fn emit(
    event: &BorrowedValue<'_>,
    decoded: &mut Decoded,
    visit: &mut impl FnMut(Record<'_, '_>),
) {
    decoded.events += 1;
    let record = Record::new(event);
    if let Some(version) = record.str_field("eventVersion") {
        note_unknown_version(version, decoded);
    }
    visit(record);
}

/// Warns, once per object, of an event version other than 1.x.
pub(super) fn note_unknown_version(version: &str, decoded: &mut Decoded) {
    if !version.starts_with("1.")
        && decoded
            .warnings
            .iter()
            .all(|w| !w.starts_with("eventVersion"))
    {
        decoded.warnings.push(format!(
            "eventVersion {version:?} is unknown: fields are read as in 1.x"
        ));
    }
}

fn looks_like_event(value: &BorrowedValue<'_>) -> bool {
    EVENT_KEYS
        .iter()
        .any(|key| object_get(value, key).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn names(bytes: &[u8]) -> Result<(Vec<String>, Decoded), DecodeError> {
        let mut seen = Vec::new();
        let decoded = decode(bytes.to_vec(), &Projection::everything(), u64::MAX, |r| {
            seen.push(r.str_field("eventName").unwrap_or("?").to_owned());
        })?;
        Ok((seen, decoded))
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn every_shape_yields_its_events() {
        let cases: [(&str, &[u8]); 8] = [
            ("records", br#"{"Records":[{"eventName":"A"},{"eventName":"B"}]}"#),
            ("pretty records", b"{\n  \"Records\": [\n {\"eventName\":\"A\"},\n {\"eventName\":\"B\"}\n ]\n}\n"),
            ("array", br#"[{"eventName":"A"},{"eventName":"B"}]"#),
            ("lines", b"{\"eventName\":\"A\"}\n\n{\"eventName\":\"B\"}\n"),
            ("lookup-events", br#"{"Events":[{"CloudTrailEvent":"{\"eventName\":\"A\"}"},{"CloudTrailEvent":"{\"eventName\":\"B\"}"}]}"#),
            ("eventbridge lines", b"{\"detail-type\":\"AWS API Call via CloudTrail\",\"detail\":{\"eventName\":\"A\"}}\n{\"detail-type\":\"x\",\"detail\":{\"eventName\":\"B\"}}\n"),
            ("bom", b"\xEF\xBB\xBF[{\"eventName\":\"A\"},{\"eventName\":\"B\"}]"),
            ("single then more lines", b"{\"eventName\":\"A\"}\r\n{\"eventName\":\"B\"}"),
        ];
        for (label, bytes) in cases {
            let (seen, decoded) = names(bytes).unwrap_or_else(|e| panic!("{label}: {e}"));
            assert_eq!(seen, ["A", "B"], "{label}");
            assert!(
                decoded.problems.is_empty(),
                "{label}: {:?}",
                decoded.problems
            );
            let (seen, _) = names(&gzip(bytes)).unwrap();
            assert_eq!(seen, ["A", "B"], "{label} gzipped");
        }
    }

    #[test]
    fn multi_member_gzip_is_read_whole() {
        let mut bytes = gzip(b"{\"eventName\":\"A\"}\n");
        bytes.extend(gzip(b"{\"eventName\":\"B\"}\n"));
        assert_eq!(names(&bytes).unwrap().0, ["A", "B"]);
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let truncated = {
            let full = gzip(br#"{"Records":[{"eventName":"A"}]}"#);
            full[..full.len() / 2].to_vec()
        };
        assert!(matches!(names(&truncated), Err(DecodeError::Gzip(_))));
        assert!(matches!(
            names(&[0x1f, 0x8b, 0, 1, 2]),
            Err(DecodeError::Gzip(_))
        ));
        assert_eq!(names(b"  \n").unwrap_err(), DecodeError::Empty);
        assert!(matches!(names(b"hello"), Err(DecodeError::NotJson(_))));
        assert!(matches!(
            names(br#"{"Records":[{"eventName":"A"}"#),
            Err(DecodeError::InvalidJson(_))
        ));
        assert!(matches!(
            names(br#"{"Type":"Notification"}"#),
            Err(DecodeError::NotCloudTrail(_))
        ));
        assert!(matches!(
            names(br#"{"Records":"x"}"#),
            Err(DecodeError::NotCloudTrail(_))
        ));
        assert!(matches!(
            names(br#"[{"a":1}]"#),
            Err(DecodeError::NotCloudTrail(_))
        ));
        assert!(matches!(
            names(b"[1,2]"),
            Err(DecodeError::NotCloudTrail(_))
        ));
    }

    #[test]
    fn invalid_utf8_is_refused_even_where_no_query_reads() {
        let only_names = Projection::of([&crate::record::FieldPath::parse("eventName")]);
        let text = b"{\"Records\":[{\"eventName\":\"A\",\"userAgent\":\"x\xffy\"}]}";
        let result = decode(text.to_vec(), &only_names, u64::MAX, |_| {});
        assert_eq!(
            result,
            Err(DecodeError::InvalidJson("invalid UTF-8 at byte 43".into()))
        );
    }

    #[test]
    fn partial_problems_keep_the_good_events() {
        let (seen, decoded) =
            names(b"{\"eventName\":\"A\"}\n{broken\n{\"eventName\":\"B\"}\n").unwrap();
        assert_eq!(seen, ["A", "B"]);
        assert_eq!(decoded.problems.len(), 1);
        assert!(
            decoded.problems[0].starts_with("line 2: invalid JSON"),
            "{:?}",
            decoded.problems
        );

        let (seen, decoded) = names(br#"{"Records":[{"eventName":"A"},"junk",null]}"#).unwrap();
        assert_eq!(seen, ["A"]);
        assert_eq!(
            decoded.problems,
            [
                "Records[1] is not a JSON object",
                "Records[2] is not a JSON object"
            ]
        );
    }

    #[test]
    fn empty_records_digests_and_unknown_versions_are_noted() {
        let (seen, decoded) = names(br#"{"Records":[]}"#).unwrap();
        assert!(seen.is_empty());
        assert_eq!(decoded.warnings, ["\"Records\" is empty: no events"]);

        let (_, decoded) =
            names(br#"{"awsAccountId":"1","digestStartTime":"2024-01-01T00:00:00Z"}"#).unwrap();
        assert!(decoded.is_digest);

        let (_, decoded) = names(
            br#"{"Records":[{"eventVersion":"2.0","eventName":"A"},{"eventVersion":"2.0"}]}"#,
        )
        .unwrap();
        assert_eq!(decoded.warnings.len(), 1, "{:?}", decoded.warnings);
    }

    #[test]
    fn versions_are_checked_where_no_query_reads_them() {
        let triaged = Projection::new(&crate::needs::Needs::default());
        let text = br#"{"Records":[{"eventVersion":"1.08","eventName":"A"},{"eventName":"B","eventVersion":"2.0","x":1}]}"#;
        let mut events = 0;
        let decoded = decode(text.to_vec(), &triaged, u64::MAX, |_| events += 1).unwrap();
        assert_eq!((events, decoded.events), (2, 2));
        assert_eq!(
            decoded.warnings,
            ["eventVersion \"2.0\" is unknown: fields are read as in 1.x"]
        );
    }

    /// Every third-party CloudTrail sample gives its number of events, or its error, as
    /// `tests/golden/samples.tsv` lists them (the CLI sample test reads the same list).
    #[test]
    fn every_third_party_sample_gives_its_event_count_or_its_error() {
        let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let samples = repo.join("../shared/data/third_party");
        assert!(
            samples.is_dir(),
            "{} is missing: the third-party samples sit beside the repository",
            samples.display()
        );
        let list = std::fs::read_to_string(repo.join("tests/golden/samples.tsv")).unwrap();
        let mut checked = 0;
        for line in list.lines().filter(|l| !l.starts_with('#')) {
            let (relative, expected) = line.split_once('\t').unwrap();
            let mut events = 0u64;
            let result = decode(
                std::fs::read(samples.join(relative)).unwrap(),
                &Projection::everything(),
                u64::MAX,
                |_| events += 1,
            );
            match (&result, expected.strip_prefix("error: ")) {
                (Ok(decoded), None) => {
                    let n: u64 = expected.parse().unwrap();
                    assert_eq!((decoded.events, events), (n, n), "{relative}");
                    assert!(
                        decoded.problems.is_empty(),
                        "{relative}: {:?}",
                        decoded.problems
                    );
                }
                (Err(e), Some(start)) => {
                    assert!(e.to_string().starts_with(start), "{relative}: {e}")
                }
                (got, _) => panic!("{relative}: got {got:?}, want {expected}"),
            }
            checked += 1;
        }
        assert!(checked >= 110, "only {checked} samples listed");
    }
}
