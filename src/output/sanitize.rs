//! Terminal, spreadsheet and HTML safety for strings that come from logs (attacker-controlled).

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{self, Write};

/// Characters that must never reach a terminal raw: C0 and C1 controls (ANSI escapes
/// start with ESC or CSI), DEL, the marks and overrides that reorder text, line and
/// paragraph separators, characters of no width that hide text, and tag characters.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}' | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}' | '\u{E0000}'..='\u{E007F}')
}

/// Replaces unsafe characters with visible escapes (`\n`, `\x1b`, `\u{202e}`).
pub fn for_terminal(text: &str) -> Cow<'_, str> {
    // Printable ASCII, most log text, is checked without decoding characters (and without
    // an early exit, which lets the loop be vectorised).
    let printable_ascii =
        (text.as_bytes().iter()).fold(true, |all, b| all & (b' '..=b'~').contains(b));
    if printable_ascii || !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe(c) && (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if is_unsafe(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Text for an HTML page, from a string that may come from a log: made terminal-safe first
/// (control characters and bidirectional overrides shown as escapes, so the page shows what
/// the table shows), then with `& < > " '` as character references, so that it stays text
/// in an element and in a quoted attribute alike.
pub fn for_html(text: &str) -> Cow<'_, str> {
    let safe = for_terminal(text);
    if !safe.contains(['&', '<', '>', '"', '\'']) {
        return safe;
    }
    let mut out = String::with_capacity(safe.len() + 16);
    for c in safe.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Writes a CSV cell for a string from a log: terminal-safe, and defused when a spreadsheet
/// would read it as a formula (`=`, `+`, `-`, `@`, or their full-width forms, after any
/// spaces), then quoted as RFC 4180 asks.
pub fn write_csv_text_cell(text: &str, out: &mut impl Write) -> io::Result<()> {
    let safe = for_terminal(text);
    let defuse = (safe.trim_start()).starts_with([
        '=', '+', '-', '@', '\u{FF1D}', '\u{FF0B}', '\u{FF0D}', '\u{FF20}',
    ]);
    write_csv_quoted(&safe, defuse, out)
}

/// Writes `text` as a CSV cell, after a `'` when `defuse`, quoted when it must be (a `'`
/// is quoted too, so that the defusing one is not taken for the cell's own).
pub fn write_csv_quoted(text: &str, defuse: bool, out: &mut impl Write) -> io::Result<()> {
    let quoted =
        defuse || text.contains([',', '"', '\'']) || text.starts_with(' ') || text.ends_with(' ');
    if !quoted {
        return out.write_all(text.as_bytes());
    }
    out.write_all(if defuse { b"\"'" } else { b"\"" })?;
    for (i, part) in text.split('"').enumerate() {
        if i > 0 {
            out.write_all(b"\"\"")?;
        }
        out.write_all(part.as_bytes())?;
    }
    out.write_all(b"\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_neutralised() {
        assert_eq!(for_terminal("plain"), "plain");
        assert_eq!(for_terminal("a\x1b[31mred\x1b[0m"), "a\\x1b[31mred\\x1b[0m");
        assert_eq!(for_terminal("line\nnext\ttab\r"), "line\\nnext\\ttab\\r");
        assert_eq!(for_terminal("\u{9b}31m"), "\\x9b31m");
        assert_eq!(for_terminal("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(for_terminal("\x07\x7f"), "\\x07\\x7f");
        assert_eq!(for_terminal("del\x7f"), "del\\x7f");
        assert_eq!(for_terminal("~ !"), "~ !");
        for hidden in [
            "\u{061c}",
            "\u{2028}",
            "\u{2029}",
            "\u{200b}",
            "\u{feff}",
            "\u{e0041}",
        ] {
            assert!(
                !for_terminal(&format!("a{hidden}b")).contains(hidden),
                "{hidden:?}"
            );
        }
        assert_eq!(for_terminal("é ✓ 日本"), "é ✓ 日本");
    }

    #[test]
    fn html_text_stays_text() {
        assert_eq!(for_html("ConsoleLogin"), "ConsoleLogin");
        assert_eq!(
            for_html("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(
            for_html("\"><img src=x onerror='alert(1)'>"),
            "&quot;&gt;&lt;img src=x onerror=&#39;alert(1)&#39;&gt;"
        );
        assert_eq!(for_html("a&amp;b"), "a&amp;amp;b");
        assert_eq!(for_html("\x1b[31mred\u{202e}"), "\\x1b[31mred\\u{202e}");
        assert_eq!(for_html("é ✓ 日本"), "é ✓ 日本");
    }

    fn csv_text_cell(text: &str) -> String {
        let mut cell = Vec::new();
        write_csv_text_cell(text, &mut cell).unwrap();
        String::from_utf8(cell).unwrap()
    }

    #[test]
    fn csv_formulas_are_defused() {
        assert_eq!(
            csv_text_cell("=HYPERLINK(\"http://x\")"),
            "\"'=HYPERLINK(\"\"http://x\"\")\""
        );
        assert_eq!(csv_text_cell("+1"), "\"'+1\"");
        assert_eq!(csv_text_cell("-cmd"), "\"'-cmd\"");
        assert_eq!(csv_text_cell("@SUM(A1)"), "\"'@SUM(A1)\"");
        assert_eq!(csv_text_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_text_cell("ConsoleLogin"), "ConsoleLogin");
        assert_eq!(csv_text_cell("\x1b]0;x\x07"), "\\x1b]0;x\\x07");
        assert_eq!(csv_text_cell("  =1+1"), "\"'  =1+1\"");
        assert_eq!(csv_text_cell("\u{ff1d}cmd"), "\"'\u{ff1d}cmd\"");
    }
}
