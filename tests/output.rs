//! What reaches a terminal or a spreadsheet: escapes neutralised, formulas defused.

use crate::util::{TRAIL, assert_golden, stdout, trailscan};

#[test]
fn terminal_escapes_are_neutralised_and_csv_formulas_defused() {
    let output = trailscan(&["audit", TRAIL]);
    let text = stdout(&output);
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "a raw control character reached the terminal"
    );
    assert!(text.contains("Mozilla/5.0 \\x1b[31mEvil\\x1b[0m"));
    assert!(text.contains("Access Denied \\x1b]0;pwned\\x07"));

    let output = trailscan(&["failed-logins", TRAIL, "--format", "csv"]);
    assert_golden("failed-logins.csv", &stdout(&output));
    assert!(stdout(&output).contains(",\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\","));
}
