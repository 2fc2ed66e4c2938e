//! A parsed CloudTrail event and field access by path (case-insensitive, into JSON-string fields).

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};

use chrono::{DateTime, SecondsFormat, Utc};
use simd_json::{BorrowedValue, StaticNode};

/// A scalar as the query engine sees it. Objects and arrays reach it as their JSON text,
/// which is how Athena's CloudTrail table exposes `requestParameters` and friends.
#[derive(Debug, Clone)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Cow<'a, str>),
    Time(DateTime<Utc>),
}

pub type OwnedValue = Value<'static>;

impl Value<'_> {
    pub fn into_owned(self) -> OwnedValue {
        match self {
            Value::Null => Value::Null,
            Value::Bool(b) => Value::Bool(b),
            Value::Int(i) => Value::Int(i),
            Value::Float(f) => Value::Float(f),
            Value::Str(s) => Value::Str(Cow::Owned(s.into_owned())),
            Value::Time(t) => Value::Time(t),
        }
    }

    /// The same value borrowing its text, so a literal costs no allocation per record.
    pub fn borrowed(&self) -> Value<'_> {
        match self {
            Value::Str(s) => Value::Str(Cow::Borrowed(s.as_ref())),
            Value::Null => Value::Null,
            Value::Bool(b) => Value::Bool(*b),
            Value::Int(i) => Value::Int(*i),
            Value::Float(f) => Value::Float(*f),
            Value::Time(t) => Value::Time(*t),
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// Interprets the value as a point in time: a timestamp, or a string in RFC 3339
    /// (CloudTrail's `eventTime`, also with a space instead of `T`).
    pub fn as_time(&self) -> Option<DateTime<Utc>> {
        match self {
            Value::Time(t) => Some(*t),
            Value::Str(s) => parse_time(s),
            _ => None,
        }
    }

    /// The text shown in tables and CSV; `None` for NULL.
    pub fn to_text(&self) -> Option<Cow<'_, str>> {
        Some(match self {
            Value::Null => return None,
            Value::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
            Value::Int(i) => Cow::Owned(i.to_string()),
            Value::Float(f) => Cow::Owned(format_float(*f)),
            Value::Str(s) => Cow::Borrowed(s.as_ref()),
            Value::Time(t) => Cow::Owned(format_time(t)),
        })
    }

    /// SQL comparison: `None` when either side is NULL or the two cannot be compared.
    pub fn sql_cmp(&self, other: &Value<'_>) -> Option<Ordering> {
        use Value::*;
        match (self, other) {
            (Null, _) | (_, Null) => None,
            (Str(a), Str(b)) => Some(a.as_ref().cmp(b.as_ref())),
            (Bool(a), Bool(b)) => Some(a.cmp(b)),
            // Athena's table declares readOnly a STRING; logs store a JSON bool or a string.
            (Bool(a), Str(s)) => parse_bool(s).map(|b| a.cmp(&b)),
            (Str(s), Bool(b)) => parse_bool(s).map(|a| a.cmp(b)),
            (Int(a), Int(b)) => Some(a.cmp(b)),
            (Time(a), Time(b)) => Some(a.cmp(b)),
            (Time(a), Str(_)) => other.as_time().map(|b| a.cmp(&b)),
            (Str(_), Time(b)) => self.as_time().map(|a| a.cmp(b)),
            (Int(_) | Float(_), _) | (_, Int(_) | Float(_)) => {
                match (self.as_f64(), other.as_f64()) {
                    (Some(a), Some(b)) => a.partial_cmp(&b),
                    // A number against text that is not a number compares as text.
                    _ => Some(self.to_text()?.as_ref().cmp(other.to_text()?.as_ref())),
                }
            }
            _ => None,
        }
    }

    /// A total order for ORDER BY and for sorting groups: NULL first, then by type, then value;
    /// an integer just before a float of the same value, so that only values that are the same
    /// tie (MIN, MAX and the order of groups then do not depend on which one a thread met first).
    pub fn total_cmp(&self, other: &Value<'_>) -> Ordering {
        fn rank(v: &Value<'_>) -> u8 {
            match v {
                Value::Null => 0,
                Value::Bool(_) => 1,
                Value::Int(_) | Value::Float(_) => 2,
                Value::Time(_) => 3,
                Value::Str(_) => 4,
            }
        }
        match (self, other) {
            (Value::Int(a), Value::Int(b)) => a.cmp(b),
            (Value::Float(a), Value::Float(b)) => a.total_cmp(b),
            (Value::Int(a), Value::Float(b)) => int_float_cmp(*a, *b).then(Ordering::Less),
            (Value::Float(a), Value::Int(b)) => {
                int_float_cmp(*b, *a).reverse().then(Ordering::Greater)
            }
            (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
            (Value::Time(a), Value::Time(b)) => a.cmp(b),
            (Value::Str(a), Value::Str(b)) => a.cmp(b),
            _ => rank(self).cmp(&rank(other)),
        }
    }
}

/// An integer against a float, exactly (through f64, integers past 2^53 would compare equal
/// to floats they are not, and sorting needs an order that is transitive), in the order of
/// `f64::total_cmp`: NaN past every number, -0.0 just below 0.
fn int_float_cmp(int: i64, float: f64) -> Ordering {
    const TWO_TO_63: f64 = 9_223_372_036_854_775_808.0;
    if float.is_nan() {
        return match float.is_sign_negative() {
            true => Ordering::Greater,
            false => Ordering::Less,
        };
    }
    if float >= TWO_TO_63 {
        return Ordering::Less;
    }
    if float < -TWO_TO_63 {
        return Ordering::Greater;
    }
    // -2^63 <= whole < 2^63 and whole has no fraction, so the cast is exact.
    let whole = float.trunc();
    match int.cmp(&(whole as i64)) {
        Ordering::Equal if float.fract() > 0.0 => Ordering::Less,
        Ordering::Equal if float.fract() < 0.0 => Ordering::Greater,
        Ordering::Equal if float == 0.0 && float.is_sign_negative() => Ordering::Greater,
        ordering => ordering,
    }
}

/// Grouping and DISTINCT treat two values as one key when they are the same type and value.
impl PartialEq for Value<'_> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::Float(a), Value::Float(b)) => a.to_bits() == b.to_bits(),
            (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::Time(a), Value::Time(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Value<'_> {}

impl Hash for Value<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        std::mem::discriminant(self).hash(state);
        match self {
            Value::Null => {}
            Value::Bool(b) => b.hash(state),
            Value::Int(i) => i.hash(state),
            Value::Float(f) => f.to_bits().hash(state),
            Value::Str(s) => s.hash(state),
            Value::Time(t) => t.hash(state),
        }
    }
}

fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// RFC 3339 in UTC, with milliseconds only when the time has them.
pub fn format_time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn format_float(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{f:.0}")
    } else {
        f.to_string()
    }
}

/// A column path as written in SQL (`userIdentity.sessionContext.attributes.mfaAuthenticated`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldPath {
    segments: Vec<String>,
}

impl FieldPath {
    pub fn new(segments: Vec<String>) -> Self {
        FieldPath { segments }
    }

    pub fn parse(dotted: &str) -> Self {
        FieldPath::new(dotted.split('.').map(str::to_owned).collect())
    }

    pub fn segments(&self) -> &[String] {
        &self.segments
    }
}

/// One CloudTrail event, borrowed from the decoded document.
#[derive(Clone, Copy)]
pub struct Record<'r, 'a> {
    root: &'r BorrowedValue<'a>,
}

impl<'r, 'a> Record<'r, 'a> {
    pub fn new(root: &'r BorrowedValue<'a>) -> Self {
        Record { root }
    }

    /// The event as compact JSON, its keys sorted.
    #[cfg(feature = "fuzzing")]
    pub fn to_json(&self) -> String {
        to_json(self.root)
    }

    /// Looks a path up: keys match case-insensitively (as Athena's columns do), and a
    /// string met on the way that holds JSON is parsed and descended into, because
    /// Athena stores `requestParameters` and `responseElements` as JSON strings.
    pub fn get(&self, path: &FieldPath) -> Value<'r> {
        resolve(self.root, path.segments()).0
    }

    /// `json_extract_scalar` semantics: the text of a scalar, NULL for objects and arrays.
    pub fn json_scalar(&self, path: &FieldPath) -> Value<'r> {
        let (value, is_container) = resolve(self.root, path.segments());
        json_scalar_text(value, is_container)
    }

    /// `json_extract` semantics: the value as JSON text (see `json_text`).
    pub fn json(&self, path: &FieldPath) -> Value<'r> {
        let (value, is_container) = resolve(self.root, path.segments());
        json_text(value, is_container)
    }

    /// Whether `test` holds of one of the values at `path`, where a list met on the way
    /// (and not indexed by the path) stands for each of its elements: Sigma's reading of
    /// `requestParameters.containerDefinitions.command`, as Elasticsearch's. A path that
    /// leads nowhere is tested as NULL.
    pub fn any_value(
        &self,
        path: &FieldPath,
        test: &mut dyn FnMut(Value<'_>, bool) -> bool,
    ) -> bool {
        any_value(self.root, path.segments(), test)
    }

    /// The top-level field `key` as a string, if it is one.
    pub fn str_field(&self, key: &str) -> Option<&'r str> {
        match object_get(self.root, key)? {
            BorrowedValue::String(s) => Some(s.as_ref()),
            _ => None,
        }
    }
}

/// The member `key` of an object: the one spelled so, else the first spelled so in another
/// ASCII case (SQL's names are case-insensitive).
pub fn object_get<'r, 'a>(
    value: &'r BorrowedValue<'a>,
    key: &str,
) -> Option<&'r BorrowedValue<'a>> {
    let BorrowedValue::Object(map) = value else {
        return None;
    };
    // An event keeps only the fields the queries read, so most objects are small, and most
    // names asked for are absent from most events (errorCode): one pass over the members,
    // comparing only names of the right length, rather than a lookup and then a second pass.
    if map.len() > SMALL_OBJECT {
        if let Some(v) = map.get(key) {
            return Some(v);
        }
        return (map.iter())
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v);
    }
    let mut other_case = None;
    for (k, v) in map.iter() {
        if k.len() != key.len() {
            continue;
        }
        if k.as_bytes() == key.as_bytes() {
            return Some(v);
        }
        if other_case.is_none() && k.eq_ignore_ascii_case(key) {
            other_case = Some(v);
        }
    }
    other_case
}

/// Up to this many members an object is looked through rather than looked up in.
const SMALL_OBJECT: usize = 32;

/// A scalar as `json_extract_scalar` returns it: always text, NULL for containers.
pub fn json_scalar_text(value: Value<'_>, is_container: bool) -> Value<'_> {
    match value {
        _ if is_container => Value::Null,
        Value::Str(s) => Value::Str(s),
        Value::Null => Value::Null,
        other => match other.to_text() {
            Some(text) => Value::Str(Cow::Owned(text.into_owned())),
            None => Value::Null,
        },
    }
}

/// `json_extract`'s result as trailscan holds it: JSON text. Objects and arrays are their
/// text already; a scalar becomes its JSON literal (a string keeps its quotes), as
/// `json_format` shows it in Athena.
pub fn json_text(value: Value<'_>, is_container: bool) -> Value<'_> {
    match value {
        _ if is_container => value,
        Value::Null => Value::Null,
        Value::Str(s) => Value::Str(Cow::Owned(
            serde_json::to_string(s.as_ref()).unwrap_or_default(),
        )),
        other => match other.to_text() {
            Some(text) => Value::Str(Cow::Owned(text.into_owned())),
            None => Value::Null,
        },
    }
}

fn child<'r, 'a>(node: &'r BorrowedValue<'a>, segment: &str) -> Option<&'r BorrowedValue<'a>> {
    match node {
        BorrowedValue::Object(_) => object_get(node, segment),
        BorrowedValue::Array(items) => items.get(segment.parse::<usize>().ok()?),
        _ => None,
    }
}

/// The value at `segments`, and whether it was an object or an array.
pub fn resolve<'r>(mut node: &'r BorrowedValue<'_>, segments: &[String]) -> (Value<'r>, bool) {
    for (i, segment) in segments.iter().enumerate() {
        if let BorrowedValue::String(text) = node {
            return resolve_in_json_text(text, &segments[i..]);
        }
        match child(node, segment) {
            Some(next) => node = next,
            None => return (Value::Null, false),
        }
    }
    (
        leaf_value(node),
        matches!(node, BorrowedValue::Array(_) | BorrowedValue::Object(_)),
    )
}

fn any_value(
    mut node: &BorrowedValue<'_>,
    segments: &[String],
    test: &mut dyn FnMut(Value<'_>, bool) -> bool,
) -> bool {
    for (i, segment) in segments.iter().enumerate() {
        match node {
            // A field that holds JSON as a string, as `resolve` descends into it.
            BorrowedValue::String(text) => {
                if !text.trim_start().starts_with(['{', '[']) {
                    return test(Value::Null, false);
                }
                let mut bytes = text.as_bytes().to_vec();
                return match simd_json::to_borrowed_value(&mut bytes) {
                    Ok(parsed) => any_value(&parsed, &segments[i..], test),
                    Err(_) => test(Value::Null, false),
                };
            }
            BorrowedValue::Array(items) if segment.parse::<usize>().is_err() => {
                return items
                    .iter()
                    .any(|item| any_value(item, &segments[i..], test));
            }
            _ => match child(node, segment) {
                Some(next) => node = next,
                None => return test(Value::Null, false),
            },
        }
    }
    // A list at the end stands for its elements too (`command` of `["sh", "-c", …]`).
    if let BorrowedValue::Array(items) = node
        && !items.is_empty()
    {
        return items.iter().any(|item| any_value(item, &[], test));
    }
    let is_container = matches!(node, BorrowedValue::Array(_) | BorrowedValue::Object(_));
    test(leaf_value(node), is_container)
}

/// Descends into a field that holds JSON as a string; anything unparsable is NULL.
fn resolve_in_json_text(text: &str, segments: &[String]) -> (Value<'static>, bool) {
    let trimmed = text.trim_start();
    if !(trimmed.starts_with('{') || trimmed.starts_with('[')) {
        return (Value::Null, false);
    }
    let mut bytes = text.as_bytes().to_vec();
    match simd_json::to_borrowed_value(&mut bytes) {
        Ok(parsed) => {
            let (value, is_container) = resolve(&parsed, segments);
            (value.into_owned(), is_container)
        }
        Err(_) => (Value::Null, false),
    }
}

fn leaf_value<'r>(node: &'r BorrowedValue<'_>) -> Value<'r> {
    match node {
        BorrowedValue::Static(StaticNode::Null) => Value::Null,
        BorrowedValue::Static(StaticNode::Bool(b)) => Value::Bool(*b),
        BorrowedValue::Static(StaticNode::I64(i)) => Value::Int(*i),
        BorrowedValue::Static(StaticNode::U64(u)) => match i64::try_from(*u) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::Float(*u as f64),
        },
        BorrowedValue::Static(StaticNode::F64(f)) => Value::Float(*f),
        BorrowedValue::String(s) => Value::Str(Cow::Borrowed(s.as_ref())),
        BorrowedValue::Array(_) | BorrowedValue::Object(_) => Value::Str(Cow::Owned(to_json(node))),
    }
}

/// Compact JSON with object keys sorted, so the same event always prints the same text.
pub fn to_json(node: &BorrowedValue<'_>) -> String {
    let mut out = String::new();
    write_json(node, &mut out);
    out
}

fn write_json(node: &BorrowedValue<'_>, out: &mut String) {
    match node {
        BorrowedValue::Static(StaticNode::Null) => out.push_str("null"),
        BorrowedValue::Static(StaticNode::Bool(b)) => {
            out.push_str(if *b { "true" } else { "false" })
        }
        BorrowedValue::Static(StaticNode::I64(i)) => {
            let _ = write!(out, "{i}");
        }
        BorrowedValue::Static(StaticNode::U64(u)) => {
            let _ = write!(out, "{u}");
        }
        BorrowedValue::Static(StaticNode::F64(f)) => {
            let _ = write!(out, "{f}");
        }
        BorrowedValue::String(s) => write_json_string(s, out),
        BorrowedValue::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out);
            }
            out.push(']');
        }
        BorrowedValue::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(key, out);
                out.push(':');
                write_json(value, out);
            }
            out.push('}');
        }
    }
}

fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> BorrowedValue<'static> {
        let mut bytes = text.as_bytes().to_vec();
        simd_json::to_owned_value(&mut bytes)
            .map(BorrowedValue::from)
            .unwrap()
    }

    fn get(json: &BorrowedValue<'_>, path: &str) -> OwnedValue {
        Record::new(json).get(&FieldPath::parse(path)).into_owned()
    }

    #[test]
    fn keys_match_case_insensitively() {
        let json = parse(r#"{"eventName":"ConsoleLogin","userIdentity":{"type":"Root"}}"#);
        assert_eq!(get(&json, "eventname"), Value::Str("ConsoleLogin".into()));
        assert_eq!(get(&json, "USERIDENTITY.Type"), Value::Str("Root".into()));
        assert_eq!(get(&json, "userIdentity.arn"), Value::Null);
    }

    #[test]
    fn the_name_spelled_as_asked_wins_over_another_case_in_small_and_large_objects() {
        for filler in [0, 40] {
            let mut members: Vec<String> =
                (0..filler).map(|i| format!("\"f{i:04}\":{i}")).collect();
            members.push(r#""ERRORCODE":"other case first""#.to_owned());
            members.push(r#""errorCode":"as asked""#.to_owned());
            members.push(r#""Region":"only in another case""#.to_owned());
            let json = parse(&format!("{{{}}}", members.join(",")));
            assert_eq!(
                get(&json, "errorCode"),
                Value::Str("as asked".into()),
                "{filler}"
            );
            assert_eq!(
                get(&json, "region"),
                Value::Str("only in another case".into()),
                "{filler}"
            );
            assert_eq!(get(&json, "errorMessage"), Value::Null, "{filler}");
            assert_eq!(get(&json, "errorcod"), Value::Null, "{filler}");
        }
    }

    #[test]
    fn json_string_fields_are_descended_into() {
        let json = parse(r#"{"requestParameters":"{\"bucketName\":\"logs\",\"n\":3}"}"#);
        assert_eq!(
            get(&json, "requestParameters.bucketName"),
            Value::Str("logs".into())
        );
        assert_eq!(get(&json, "requestParameters.n"), Value::Int(3));
        let not_json = parse(r#"{"requestParameters":"plain text"}"#);
        assert_eq!(get(&not_json, "requestParameters.bucketName"), Value::Null);
    }

    #[test]
    fn objects_read_as_sorted_json_text() {
        let json = parse(r#"{"r":{"b":1,"a":[true,null,"x\u001b"]}}"#);
        assert_eq!(
            get(&json, "r"),
            Value::Str(r#"{"a":[true,null,"x\u001b"],"b":1}"#.into())
        );
    }

    #[test]
    fn readonly_compares_as_boolean_whatever_its_json_type() {
        let t = Value::Bool(false);
        assert_eq!(
            t.sql_cmp(&Value::Str("false".into())),
            Some(Ordering::Equal)
        );
        assert_eq!(
            Value::Str("TRUE".into()).sql_cmp(&Value::Bool(true)),
            Some(Ordering::Equal)
        );
        assert_eq!(t.sql_cmp(&Value::Null), None);
    }

    #[test]
    fn integers_and_floats_sort_exactly_and_transitively() {
        let big = 1i64 << 53;
        let values = [
            Value::Float(f64::NAN.copysign(-1.0)),
            Value::Float(f64::NEG_INFINITY),
            Value::Int(i64::MIN),
            Value::Float(-1.5),
            Value::Int(-1),
            Value::Float(-0.5),
            Value::Float(-0.0),
            Value::Int(0),
            Value::Float(0.5),
            Value::Int(big),
            Value::Int(big + 1),
            Value::Float(2f64.powi(53) + 2.0),
            Value::Int(i64::MAX),
            Value::Float(2f64.powi(63)),
            Value::Float(f64::INFINITY),
            Value::Float(f64::NAN),
        ];
        for (i, a) in values.iter().enumerate() {
            for (j, b) in values.iter().enumerate() {
                assert_eq!(a.total_cmp(b), i.cmp(&j), "{a:?} against {b:?}");
            }
        }
        // Equal values of the two types: the integer first, whichever side it is on.
        assert_eq!(Value::Int(0).total_cmp(&Value::Float(0.0)), Ordering::Less);
        assert_eq!(
            Value::Float(0.0).total_cmp(&Value::Int(0)),
            Ordering::Greater
        );
        assert_eq!(
            Value::Int(big).total_cmp(&Value::Float(2f64.powi(53))),
            Ordering::Less
        );
    }

    #[test]
    fn times_parse_with_offsets_and_compare_with_strings() {
        let a = parse_time("2022-02-08T09:23:37+11:00").unwrap();
        assert_eq!(format_time(&a), "2022-02-07T22:23:37Z");
        assert!(parse_time("ThisIsAWrongEventTime").is_none());
        let v = Value::Time(a);
        assert_eq!(
            v.sql_cmp(&Value::Str("2022-02-07T22:23:37Z".into())),
            Some(Ordering::Equal)
        );
    }
}
