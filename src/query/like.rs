//! SQL LIKE patterns: `%` is any run of characters, `_` exactly one, with an optional escape.

use memchr::memmem::Finder;

/// A LIKE pattern whose escape character is not followed by `%`, `_` or itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("in LIKE '{0}', the escape character must be followed by %, _ or itself")]
pub struct BadEscape(String);

/// A compiled LIKE pattern: `%` is any run of characters, `_` exactly one.
#[derive(Debug, Clone)]
pub struct LikePattern {
    /// The pattern split at `%`: each piece is matched as a whole, left to right.
    pieces: Vec<Vec<PatternChar>>,
    /// Per piece without `_`, a searcher for its text, built once rather than per record.
    finders: Vec<Option<Finder<'static>>>,
    anchored_start: bool,
    anchored_end: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PatternChar {
    Literal(char),
    AnyOne,
}

impl LikePattern {
    pub fn compile(pattern: &str, escape: Option<char>) -> Result<Self, BadEscape> {
        let mut pieces = vec![Vec::new()];
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            if Some(c) == escape {
                match chars.next() {
                    Some(next @ ('%' | '_')) => {
                        pieces.last_mut().unwrap().push(PatternChar::Literal(next))
                    }
                    Some(next) if Some(next) == escape => {
                        pieces.last_mut().unwrap().push(PatternChar::Literal(next))
                    }
                    _ => {
                        return Err(BadEscape(pattern.to_owned()));
                    }
                }
            } else if c == '%' {
                pieces.push(Vec::new());
            } else if c == '_' {
                pieces.last_mut().unwrap().push(PatternChar::AnyOne);
            } else {
                pieces.last_mut().unwrap().push(PatternChar::Literal(c));
            }
        }
        let anchored_start = !pieces.first().is_some_and(Vec::is_empty) || pieces.len() == 1;
        let anchored_end = pieces.len() == 1 || !pieces.last().is_some_and(Vec::is_empty);
        pieces.retain(|p| !p.is_empty());
        let finders = pieces
            .iter()
            .map(|piece| literal_piece(piece).map(|text| Finder::new(text.as_bytes()).into_owned()))
            .collect();
        Ok(LikePattern {
            pieces,
            finders,
            anchored_start,
            anchored_end,
        })
    }

    pub fn matches(&self, text: &str) -> bool {
        if self.pieces.is_empty() {
            // '' matches only '', and any pattern of only % matches everything.
            return !(self.anchored_start && self.anchored_end) || text.is_empty();
        }
        let last = self.pieces.len() - 1;
        let mut pos = 0;
        for (i, piece) in self.pieces.iter().enumerate() {
            let must_start_here = i == 0 && self.anchored_start;
            let must_end_here = i == last && self.anchored_end;
            if must_end_here {
                // Each piece is a fixed number of characters, so the last one has one place.
                let Some(start) = start_of_last_chars(text, piece.len()) else {
                    return false;
                };
                if start < pos || (must_start_here && start != 0) {
                    return false;
                }
                return piece_matches_at(piece, &text[start..]).is_some();
            }
            if must_start_here {
                match piece_matches_at(piece, text) {
                    Some(len) => pos = len,
                    None => return false,
                }
                continue;
            }
            // Leftmost match is optimal when every piece has a fixed length.
            match find_piece(piece, self.finders[i].as_ref(), text, pos) {
                Some(end) => pos = end,
                None => return false,
            }
        }
        true
    }
}

/// Byte offset where the last `count` characters of `text` start.
fn start_of_last_chars(text: &str, count: usize) -> Option<usize> {
    if count == 0 {
        return Some(text.len());
    }
    text.char_indices().rev().nth(count - 1).map(|(i, _)| i)
}

/// If `piece` matches at the start of `text`, the number of bytes it covers.
fn piece_matches_at(piece: &[PatternChar], text: &str) -> Option<usize> {
    let mut chars = text.char_indices();
    let mut end = 0;
    for expected in piece {
        let (i, c) = chars.next()?;
        if let PatternChar::Literal(l) = expected
            && *l != c
        {
            return None;
        }
        end = i + c.len_utf8();
    }
    Some(end)
}

fn find_piece(
    piece: &[PatternChar],
    finder: Option<&Finder<'_>>,
    text: &str,
    from: usize,
) -> Option<usize> {
    let rest = &text[from..];
    if let Some(finder) = finder {
        return finder
            .find(rest.as_bytes())
            .map(|i| from + i + finder.needle().len());
    }
    for (i, _) in rest.char_indices() {
        if let Some(len) = piece_matches_at(piece, &rest[i..]) {
            return Some(from + i + len);
        }
    }
    None
}

fn literal_piece(piece: &[PatternChar]) -> Option<String> {
    piece
        .iter()
        .map(|p| match p {
            PatternChar::Literal(c) => Some(*c),
            PatternChar::AnyOne => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn like(pattern: &str, text: &str) -> bool {
        LikePattern::compile(pattern, None).unwrap().matches(text)
    }

    #[test]
    fn like_edge_cases() {
        let cases = [
            ("%Policy%", "PutRolePolicy", true),
            ("%Policy%", "Policy", true),
            ("%Policy%", "policy", false),
            ("AccessDenied%", "AccessDenied", true),
            ("AccessDenied%", "Client.AccessDenied", false),
            (
                "%UnauthorizedOperation",
                "Client.UnauthorizedOperation",
                true,
            ),
            ("%UnauthorizedOperation", "UnauthorizedOperationX", false),
            ("", "", true),
            ("", "a", false),
            ("%", "", true),
            ("%%", "anything", true),
            ("_", "é", true),
            ("_", "ab", false),
            ("a_c", "abc", true),
            ("a_c", "ac", false),
            ("%a_c%", "xxabcxx", true),
            ("%ab%ab%", "abab", true),
            ("%ab%ab%", "aba", false),
            ("a%a", "a", false),
            ("a%a", "aa", true),
            ("%_", "", false),
            ("%_", "x", true),
            ("Get%", "GetRole", true),
            ("%Role", "AssumeRole", true),
            ("ümlaut%", "ümlauts", true),
        ];
        for (pattern, text, expected) in cases {
            assert_eq!(like(pattern, text), expected, "'{text}' LIKE '{pattern}'");
        }
    }

    #[test]
    fn like_escape() {
        let p = LikePattern::compile("100\\%", Some('\\')).unwrap();
        assert!(p.matches("100%"));
        assert!(!p.matches("1000"));
        assert!(LikePattern::compile("a\\b", Some('\\')).is_err());
    }
}
