//! Regression tests, each named after the bug it pins.

use std::io::Read;
use std::process::{Command, Stdio};

use crate::util::write;

#[test]
fn regression_closed_pipe_is_not_an_error() {
    // Enough output to fill a pipe: 20,000 events, each a row of SELECT *.
    let dir = tempfile::tempdir().unwrap();
    let line = r#"{"eventVersion":"1.09","eventTime":"2026-11-20T10:00:00Z","eventName":"GetObject","eventSource":"s3.amazonaws.com","recipientAccountId":"111122223333"}"#;
    let body = format!("{line}\n").repeat(20_000);
    let path = write(dir.path(), "many.jsonl", body.as_bytes());
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("trailscan"))
        .args([
            "query",
            "SELECT * FROM cloudtrail_logs",
            path.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 64];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}
