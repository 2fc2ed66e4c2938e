//! The JSON cursor the projecting reader is built on: tokens, strings, skips, whole values.

use std::borrow::Cow;

use simd_json::value::borrowed::Object;
use simd_json::{BorrowedValue, StaticNode};

use super::skip::{SkipError, container_end, object_rest_end};
use crate::json_text::string_stop;

/// Nesting deeper than this is refused rather than risking the stack.
pub(super) const MAX_DEPTH: usize = 128;

/// Where and why a document is not JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} at byte {offset}")]
pub struct SyntaxError {
    pub reason: &'static str,
    pub offset: usize,
}

/// A cursor over a document already known to be UTF-8, so the strings it hands out need no
/// second check.
pub(super) struct Scanner<'i> {
    pub(super) text: &'i str,
    pub(super) at: usize,
}

impl<'i> Scanner<'i> {
    pub(super) fn bytes(&self) -> &'i [u8] {
        self.text.as_bytes()
    }

    pub(super) fn fail<T>(&self, reason: &'static str) -> Result<T, SyntaxError> {
        Err(SyntaxError {
            reason,
            offset: self.at,
        })
    }

    /// The next byte that is not whitespace, left unconsumed.
    pub(super) fn peek(&mut self) -> Option<u8> {
        while let Some(&byte) = self.bytes().get(self.at) {
            if !matches!(byte, b' ' | b'\n' | b'\r' | b'\t') {
                return Some(byte);
            }
            self.at += 1;
        }
        None
    }

    pub(super) fn eat(&mut self, byte: u8, reason: &'static str) -> Result<(), SyntaxError> {
        if self.peek() == Some(byte) {
            self.at += 1;
            Ok(())
        } else {
            self.fail(reason)
        }
    }

    /// Calls `each` with every key of the object that starts here, the scanner then on the
    /// key's value, which `each` must consume.
    pub(super) fn entries(
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
    pub(super) fn entries_while<K>(
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
    pub(super) fn raw_key(&mut self) -> Result<RawKey<'i>, SyntaxError> {
        let offset = self.at;
        let (raw, escaped) = self.string_span()?;
        Ok(RawKey {
            raw,
            escaped,
            offset,
        })
    }

    /// Calls `each` with the scanner on every element of the array that starts here.
    pub(super) fn items(
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

    /// The whole value here.
    pub(super) fn value(&mut self, depth: usize) -> Result<BorrowedValue<'i>, SyntaxError> {
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

    /// Moves past the value here without building it.
    pub(super) fn skip_value(&mut self, depth: usize) -> Result<(), SyntaxError> {
        match self.peek() {
            Some(b'"') => self.string_span().map(drop),
            Some(b'{' | b'[') => self.skip_container(depth),
            Some(_) => self.scalar().map(drop),
            None => self.fail("unexpected end of the document"),
        }
    }

    /// Moves past the object or array here: brackets are matched, strings jumped over.
    pub(super) fn skip_container(&mut self, depth: usize) -> Result<(), SyntaxError> {
        let end = container_end(self.bytes(), self.at, MAX_DEPTH.saturating_sub(depth));
        self.at = self.skip_result(end)?;
        Ok(())
    }

    pub(super) fn skip_result(&self, end: Result<usize, SkipError>) -> Result<usize, SyntaxError> {
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
    pub(super) fn skip_object_rest(&mut self, depth: usize) -> Result<(), SyntaxError> {
        let end = object_rest_end(self.bytes(), self.at, MAX_DEPTH.saturating_sub(depth));
        self.at = self.skip_result(end)?;
        Ok(())
    }

    /// The raw text of the string that starts here (without quotes), and whether it holds
    /// escapes.
    pub(super) fn string_span(&mut self) -> Result<(&'i str, bool), SyntaxError> {
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

    pub(super) fn string(&mut self) -> Result<Cow<'i, str>, SyntaxError> {
        let offset = self.at;
        let (raw, escaped) = self.string_span()?;
        string_text(raw, escaped, offset)
    }

    /// `true`, `false`, `null` or a number.
    pub(super) fn scalar(&mut self) -> Result<StaticNode, SyntaxError> {
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
pub(super) struct RawKey<'i> {
    pub(super) raw: &'i str,
    pub(super) escaped: bool,
    pub(super) offset: usize,
}

impl<'i> RawKey<'i> {
    pub(super) fn text(&self) -> Result<Cow<'i, str>, SyntaxError> {
        string_text(self.raw, self.escaped, self.offset)
    }
}

/// `text.starts_with(prefix)` for a key: eight bytes at a time, inline, where `starts_with`
/// calls memcmp, which costs more than the comparison itself for keys this short.
pub(super) fn has_prefix(text: &[u8], prefix: &[u8]) -> bool {
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
pub(super) fn string_text(
    raw: &str,
    escaped: bool,
    offset: usize,
) -> Result<Cow<'_, str>, SyntaxError> {
    if !escaped {
        return Ok(Cow::Borrowed(raw));
    }
    unescape(raw.as_bytes()).map(Cow::Owned).ok_or(SyntaxError {
        reason: "invalid escape in a string",
        offset,
    })
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
}
