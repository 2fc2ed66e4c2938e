//! Projection: the fields asked for (`Needs`), and `Records` documents read keeping only those.
//!
//! Building every event whole costs more than the rest of a scan together, and what is asked
//! for is mostly a dozen fields of a few kinds of events. So a delivery document is walked once over
//! its text: the top-level fields an event's `eventName` calls for are built (see `triage`),
//! every other value is skipped by finding where it ends (strings eight bytes at a time,
//! containers 64 bytes at a time in `skip`). Skipped values are checked for structure
//! (closed strings without control characters, matched brackets; top-level scalars well
//! formed where they are walked), not token by token; built values are checked in full. The
//! whole text is checked to be UTF-8 first, once, so strings are borrowed from it without a
//! check each.

use std::borrow::Cow;

#[cfg(test)]
use simd_json::BorrowedValue;

use super::lexer::{Scanner, SyntaxError};
pub use super::triage::Element;
use super::triage::{EventScratch, Triage};
use super::trie::Trie;
use crate::needs::Needs;
use crate::record::FieldPath;

/// Which fields to keep: a trie of paths; a node marked `whole` keeps everything below it.
#[derive(Debug, Clone, Default)]
pub struct Projection {
    root: Trie,
    triage: Option<Triage>,
}

/// What the top level of a JSON document turned out to be.
#[derive(Debug)]
pub enum Document<'i> {
    /// `{"Records":[...]}`: each element projected.
    Records {
        elements: Vec<Element<'i>>,
        /// The first `eventVersion` that is not 1.x, when the projection triages events.
        unknown_version: Option<Cow<'i, str>>,
        /// How many `Records` arrays the document held (more than one is worth a warning).
        arrays: usize,
    },
    /// `Records` is there but is not an array.
    RecordsNotArray,
    /// Any other shape, for a full parser to read.
    Other,
}

impl Projection {
    /// Keeps every field: for shapes and queries that need the whole event.
    pub fn everything() -> Projection {
        Projection {
            root: Trie::whole(),
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

    /// Keeps, of each event, only the top-level fields `needs` asks for: those of every
    /// event, those of its `eventName`, and those of each gate it passes; an event whose
    /// name is not a string or null keeps everything. Every event's `eventVersion` is
    /// checked (`Document::Records` names the first unknown one). The rest of an event is
    /// skipped once its name, its version, the fields of `always` and those the field gates
    /// read have been seen, and no field gate was passed.
    pub fn new(needs: &Needs) -> Projection {
        let event_name = FieldPath::parse("eventName");
        let mut projection = Projection::of(needs.paths().chain([&event_name]));
        projection.triage = Triage::new(&mut projection.root, needs);
        projection
    }

    fn add(&mut self, path: &FieldPath) {
        self.root.add_path(path);
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
        let mut arrays = 0;
        let mut elements = Vec::new();
        let mut scratch = EventScratch::default();
        scanner.entries(0, |scanner, key| {
            if matches!(found, Some(Document::RecordsNotArray))
                || !key.text()?.eq_ignore_ascii_case("Records")
            {
                return scanner.skip_value(1);
            }
            if scanner.peek() != Some(b'[') {
                found = Some(Document::RecordsNotArray);
                return scanner.skip_value(1);
            }
            // A second `Records` array is read too: dropping either would lose events.
            arrays += 1;
            scanner.items(1, |scanner| {
                elements.push(self.element(scanner, &mut scratch)?);
                Ok(())
            })
        })?;
        if scanner.peek().is_some() {
            return scanner.fail("characters after the document");
        }
        Ok(match found {
            Some(not_array) => not_array,
            None if arrays == 0 => Document::Other,
            None => Document::Records {
                elements,
                unknown_version: scratch.unknown_version.take(),
                arrays,
            },
        })
    }

    /// The element of a `Records` array at the scanner, projected.
    fn element<'i>(
        &self,
        scanner: &mut Scanner<'i>,
        scratch: &mut EventScratch<'i>,
    ) -> Result<Element<'i>, SyntaxError> {
        if scanner.peek() != Some(b'{') {
            scanner.skip_value(2)?;
            return Ok(Element::NotAnObject);
        }
        match &self.triage {
            Some(triage) => scanner.triaged_event(&self.root, triage, scratch, 2),
            None => scanner.projected(&self.root, 2).map(Element::Event),
        }
    }

    /// Reads `text`, one whole element of a `Records` array, keeping the projected fields;
    /// with it, its `eventVersion` when that is not 1.x.
    pub(super) fn read_element<'i>(
        &self,
        text: &'i str,
    ) -> Result<(Element<'i>, Option<Cow<'i, str>>), SyntaxError> {
        let mut scanner = Scanner { text, at: 0 };
        let mut scratch = EventScratch::default();
        let element = self.element(&mut scanner, &mut scratch)?;
        match scanner.peek() {
            Some(_) => scanner.fail("characters after the element"),
            None => Ok((element, scratch.unknown_version.take())),
        }
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::needs::{FieldTest, Gate, NameTest};
    use crate::record::{Value, to_json};

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
    fn each_event_keeps_what_its_name_needs() {
        let always = paths(&["eventName", "eventTime"]);
        let for_login = paths(&["errorMessage", "userIdentity.arn"]);
        let for_roles = paths(&["requestParameters"]);
        let roles = NameTest::new(|name| name.contains("Role"));
        let projection = Projection::new(&Needs {
            always,
            by_name: HashMap::from([("ConsoleLogin".to_owned(), for_login)]),
            gated: vec![(Gate::Name(roles), for_roles)],
        });
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
        let projection = Projection::new(&Needs {
            always,
            by_name: HashMap::from([("ConsoleLogin".to_owned(), for_login)]),
            gated: Vec::new(),
        });
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
        let projection = Projection::new(&Needs {
            always: paths(&["awsRegion"]),
            by_name: HashMap::from([("ConsoleLogin".to_owned(), paths(&["errorMessage"]))]),
            gated: Vec::new(),
        });
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
    fn keys_guessed_from_the_previous_event_are_checked_byte_for_byte() {
        let projection = Projection::new(&Needs {
            always: paths(&["eventName", "awsRegion"]),
            ..Needs::default()
        });
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
        let test = FieldTest::new(FieldPath::parse(field), move |found, _| {
            found == Value::Str(value.into())
        });
        let projection = Projection::new(&Needs {
            always: paths(&["eventName"]),
            by_name: HashMap::new(),
            gated: vec![(Gate::Field(test), paths(built))],
        });
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
