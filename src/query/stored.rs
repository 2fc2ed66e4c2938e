//! Values as groups keep them: text of up to 22 bytes in place, so most keys cost no allocation.

use std::borrow::Cow;

use chrono::{DateTime, Utc};

use crate::record::Value;

/// A value a group keeps (a GROUP BY key, a MIN or MAX, a value `count(DISTINCT …)` met).
/// A query can hold hundreds of thousands of groups, and most of their text is short: an
/// account, a region, an address, an event name, a time as CloudTrail writes it. Kept in
/// place, such text costs neither an allocation nor a pointer to follow; longer text (an ARN)
/// is kept on the heap, with no spare capacity.
#[derive(Debug, Clone, Default)]
pub enum Stored {
    #[default]
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Time(DateTime<Utc>),
    Short(ShortText),
    Long(Box<str>),
}

/// The most bytes of text kept in place: with its length and the value's tag, 24 bytes.
const SHORT: usize = 22;

/// Text of up to `SHORT` bytes, in place. Only `ShortText::new` makes one, from a whole `str`.
#[derive(Clone, Copy)]
pub struct ShortText {
    len: u8,
    bytes: [u8; SHORT],
}

impl ShortText {
    fn new(text: &str) -> Option<ShortText> {
        let len = u8::try_from(text.len())
            .ok()
            .filter(|&n| usize::from(n) <= SHORT)?;
        let mut bytes = [0; SHORT];
        bytes[..text.len()].copy_from_slice(text.as_bytes());
        Some(ShortText { len, bytes })
    }

    fn as_str(&self) -> &str {
        let bytes = &self.bytes[..usize::from(self.len)];
        // SAFETY: `new` copied these bytes from a whole `str`, so they are UTF-8; the fields
        // are private to this module and nothing else writes them.
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }
}

impl std::fmt::Debug for ShortText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_str().fmt(f)
    }
}

impl Stored {
    /// Keeps `value`, copying its text when it borrows it.
    pub fn keep(value: Value<'_>) -> Stored {
        match value {
            Value::Null => Stored::Null,
            Value::Bool(b) => Stored::Bool(b),
            Value::Int(i) => Stored::Int(i),
            Value::Float(f) => Stored::Float(f),
            Value::Time(t) => Stored::Time(t),
            Value::Str(text) => match ShortText::new(&text) {
                Some(short) => Stored::Short(short),
                None => Stored::Long(text.into_owned().into_boxed_str()),
            },
        }
    }

    /// The value as the engine sees it, borrowing the text: it compares, hashes and orders as
    /// the value that was kept.
    pub fn view(&self) -> Value<'_> {
        match self {
            Stored::Null => Value::Null,
            Stored::Bool(b) => Value::Bool(*b),
            Stored::Int(i) => Value::Int(*i),
            Stored::Float(f) => Value::Float(*f),
            Stored::Time(t) => Value::Time(*t),
            Stored::Short(short) => Value::Str(Cow::Borrowed(short.as_str())),
            Stored::Long(text) => Value::Str(Cow::Borrowed(text)),
        }
    }
}

impl PartialEq for Stored {
    fn eq(&self, other: &Stored) -> bool {
        self.view() == other.view()
    }
}

#[cfg(test)]
mod tests {
    use std::cmp::Ordering;

    use super::*;

    #[test]
    fn a_stored_value_is_24_bytes() {
        assert_eq!(size_of::<Stored>(), 24);
    }

    #[test]
    fn a_kept_value_is_seen_as_it_was_whether_kept_in_place_or_not() {
        let time = DateTime::from_timestamp(1_700_000_000, 5).unwrap();
        let values = [
            Value::Null,
            Value::Bool(true),
            Value::Int(-3),
            Value::Float(-0.0),
            Value::Float(f64::NAN),
            Value::Time(time),
            Value::Str(Cow::Borrowed("")),
            Value::Str(Cow::Borrowed("203.0.113.7")),
            Value::Str(Cow::Borrowed("DescribeSecurityGroups")), // 22 bytes: in place
            Value::Str(Cow::Borrowed("DescribeSecurityGroupsX")), // 23 bytes: on the heap
            Value::Str(Cow::Owned("été → ünïcode, twenty-two+".to_owned())),
            Value::Str(Cow::Owned(
                "arn:aws:iam::123456789012:role/a-rather-long-role".into(),
            )),
        ];
        for value in &values {
            let kept = Stored::keep(value.clone());
            assert_eq!(kept.view(), *value, "{value:?}");
            assert_eq!(kept.view().total_cmp(value), Ordering::Equal, "{value:?}");
            for other in &values {
                assert_eq!(kept == Stored::keep(other.clone()), value == other);
            }
        }
        assert!(matches!(Stored::keep(values[8].clone()), Stored::Short(_)));
        assert!(matches!(Stored::keep(values[9].clone()), Stored::Long(_)));
    }
}
