//! The message for one query's new findings, within SNS's limits, and what sends it.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::meta::{Severity, attack};
use crate::output::sanitize::for_terminal;
use crate::results::{ResultSet, Row};

/// SNS limits: subjects under 100 ASCII characters, messages up to 256 KB.
const SUBJECT_MAX: usize = 99;
const BODY_MAX: usize = 250_000;
const ROWS_SHOWN: usize = 25;
const VALUE_MAX: usize = 500;

/// One notification, ready to publish or print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub query: String,
    pub severity: Severity,
    pub subject: String,
    pub body: String,
}

/// Where alerts go.
pub trait Notifier {
    /// The destination, for messages about it (a topic ARN).
    fn target(&self) -> &str;

    /// Sends `message`; `Ok(false)` when it was only shown, not delivered (a dry run).
    fn send(&self, message: &Message) -> Result<bool, SendError>;
}

/// Why a message did not go out.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// What the service answered, in one line that says what to do.
    #[error("{0}")]
    Refused(String),
    #[error("cannot print the message: {0}")]
    Print(#[from] std::io::Error),
}

/// The message for the rows (the new findings) of one query's result.
pub fn compose(result: &ResultSet) -> Message {
    let query = &result.meta;
    let columns = &result.columns;
    let count = result.rows.len();
    let plural = if count == 1 { "finding" } else { "findings" };
    let mut accounts: BTreeSet<String> = BTreeSet::new();
    let account_column = columns.iter().position(|c| {
        c.eq_ignore_ascii_case("account") || c.eq_ignore_ascii_case("recipientAccountId")
    });
    let mut shown_rows: Vec<Row> = Vec::new();
    for row in result.rows.iter() {
        if let Some(text) = account_column.and_then(|i| row.values[i].to_text()) {
            accounts.insert(text.into_owned());
        }
        if shown_rows.len() < ROWS_SHOWN {
            shown_rows.push(row.into_owned());
        } else if account_column.is_none() {
            break;
        }
    }
    let scope = match accounts.len() {
        0 => String::new(),
        1 => format!(" ({})", accounts.iter().next().expect("one account")),
        n => format!(" ({n} accounts)"),
    };
    let subject = subject_line(&format!(
        "[trailscan] {} {}: {count} {plural}{scope}",
        query.severity.as_str().to_uppercase(),
        query.name
    ));

    let mut body = String::new();
    let _ = writeln!(body, "{} ({})", query.title, query.name);
    let _ = writeln!(body, "Severity: {}", query.severity);
    let _ = writeln!(body, "New findings: {count}");
    if !query.runbook.is_empty() {
        let _ = writeln!(body, "Runbook: {}", query.runbook);
    }
    body.push('\n');
    let mut shown = 0;
    for row in &shown_rows {
        let mut line = format!("{}.", shown + 1);
        for (column, value) in columns.iter().zip(&row.values) {
            let text = value
                .to_text()
                .map(|t| clip(&for_terminal(&t)))
                .unwrap_or_default();
            if !text.is_empty() {
                let _ = write!(line, " {column}={text}");
            }
        }
        if body.len() + line.len() + 200 > BODY_MAX {
            break;
        }
        body.push_str(&line);
        body.push('\n');
        shown += 1;
    }
    if shown < count {
        let _ = writeln!(body, "and {} more", count - shown);
    }
    if !query.description.is_empty() {
        let _ = write!(body, "\nAbout: {}\n", query.description);
    }
    if !query.references.is_empty() {
        let _ = writeln!(body, "References: {}", query.references);
    }
    // What a Sigma rule says of itself (author, tags, false positives): its file is anyone's
    // text, so each value is made safe and clipped like a row's.
    for (label, value) in &query.details {
        let _ = writeln!(body, "{label}: {}", clip(&for_terminal(value)));
    }
    if !query.techniques.is_empty() {
        let tactics: Vec<String> = (query.tactics.iter())
            .map(|t| match attack::tactic(t) {
                Some((id, name)) => format!("{name} ({id})"),
                None => t.clone(),
            })
            .collect();
        let techniques: Vec<String> = (query.techniques.iter())
            .map(|t| attack::describe_technique(t))
            .collect();
        let _ = writeln!(
            body,
            "ATT&CK: {}; {}",
            tactics.join(", "),
            techniques.join(", ")
        );
    }
    Message {
        query: query.name.clone(),
        severity: query.severity,
        subject,
        body,
    }
}

/// The message for what `--block` did (`text`) in a run where its finding (`result`) had
/// nothing new to alert: blocks lifted on expiry, or retried.
pub fn blocking(result: &ResultSet, text: &str) -> Message {
    let query = &result.meta;
    Message {
        query: query.name.clone(),
        severity: query.severity,
        subject: subject_line(&format!(
            "[trailscan] {} {}: blocking",
            query.severity.as_str().to_uppercase(),
            query.name
        )),
        body: format!(
            "{} ({})\nNo new findings; what --block did in this run:\n\n{text}",
            query.title, query.name
        ),
    }
}

/// The notification `trailscan alert-test` sends.
pub fn test_message(topic: &str, now: &str) -> Message {
    Message {
        query: "alert-test".into(),
        severity: Severity::Info,
        subject: "[trailscan] test notification".into(),
        body: format!(
            "This is a test notification from trailscan alert-test, sent at {now} to {topic}.\n\
             If you read this, trailscan's alerts will reach you.\n"
        ),
    }
}

/// ASCII only, no control characters, under SNS's 100-character limit.
fn subject_line(text: &str) -> String {
    let ascii: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect();
    if ascii.len() <= SUBJECT_MAX {
        ascii
    } else {
        format!("{}...", &ascii[..SUBJECT_MAX - 3])
    }
}

fn clip(text: &str) -> String {
    if text.len() <= VALUE_MAX {
        text.to_owned()
    } else {
        format!("{}…", &text[..text.floor_char_boundary(VALUE_MAX)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Value;
    use crate::results::sample;

    /// A result of root-usage, of rows of texts.
    fn result(rows: Vec<Vec<&str>>) -> ResultSet {
        let rows = rows
            .into_iter()
            .enumerate()
            .map(|(i, r)| Row {
                values: r
                    .into_iter()
                    .map(|v| Value::Str(v.to_owned().into()))
                    .collect(),
                identity: i.to_string(),
            })
            .collect::<Vec<Row>>();
        sample::result("root-usage", Severity::Critical, rows)
    }

    #[test]
    fn subject_body_and_limits() {
        let one = result(vec![vec![
            "2026-11-20T09:40:00Z",
            "111122223333",
            "us-east-1",
            "ConsoleLogin",
            "arn:aws:iam::111122223333:root",
            "203.0.113.99",
            "",
        ]]);
        let message = compose(&one);
        assert_eq!(
            message.subject,
            "[trailscan] CRITICAL root-usage: 1 finding (111122223333)"
        );
        assert!(message.body.starts_with("Root user activity (root-usage)\nSeverity: critical\nNew findings: 1\nRunbook: Root should be unused"), "{}", message.body);
        assert!(message.body.contains("\n1. eventTime=2026-11-20T09:40:00Z account=111122223333 awsRegion=us-east-1 eventName=ConsoleLogin"), "{}", message.body);
        assert!(
            message.body.ends_with(
                "ATT&CK: Initial Access (TA0001); T1078.004 Valid Accounts: Cloud Accounts\n"
            ),
            "{}",
            message.body
        );

        let long = "x".repeat(2_000);
        let many: Vec<Vec<&str>> = (0..40)
            .map(|i| {
                vec![
                    "t",
                    if i % 2 == 0 {
                        "111122223333"
                    } else {
                        "444455556666"
                    },
                    "r",
                    "e",
                    long.as_str(),
                    "\u{1b}[31m",
                    "",
                ]
            })
            .collect();
        let many = result(many);
        let message = compose(&many);
        assert_eq!(
            message.subject,
            "[trailscan] CRITICAL root-usage: 40 findings (2 accounts)"
        );
        assert!(message.body.contains("\nand 15 more\n"), "{}", message.body);
        assert!(!message.body.contains('\u{1b}'));
        assert!(message.body.len() < BODY_MAX);
    }

    #[test]
    fn subjects_stay_ascii_and_short() {
        let subject = subject_line(&format!(
            "[trailscan] HIGH {}: 1 finding (ü)",
            "q".repeat(120)
        ));
        assert!(
            subject.len() <= SUBJECT_MAX && subject.is_ascii() && subject.ends_with("..."),
            "{subject}"
        );
        assert_eq!(subject_line("a\nb ü"), "a?b ?");
    }
}
