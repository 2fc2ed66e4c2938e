//! Test harness: run the binary as a user does, normalise timing, compare with golden files.

pub mod browser;
pub mod moto;
pub mod targets;
pub mod trail;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

/// The fixtures' CloudTrail bucket, and their damaged objects.
pub const TRAIL: &str = "fixtures/trail";
pub const BROKEN: &str = "fixtures/broken";

/// One day of the fixtures, as `--since`/`--until` arguments.
pub const DAY: [&str; 4] = [
    "--since",
    "2026-11-20T00:00:00Z",
    "--until",
    "2026-11-21T00:00:00Z",
];

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `trailscan` from the repository root, so paths in output are stable, with no
/// configuration file but the ones a test names.
pub fn trailscan(args: &[&str]) -> Output {
    isolated(Command::cargo_bin("trailscan").expect("the binary is built"))
        .current_dir(repo())
        .args(args)
        .output()
        .expect("trailscan runs")
}

/// A command that finds no user configuration: HOME and XDG_CONFIG_HOME point nowhere.
pub fn isolated(mut command: Command) -> Command {
    command
        .env("HOME", "/nonexistent/trailscan-test")
        .env("XDG_CONFIG_HOME", "/nonexistent/trailscan-test")
        .env_remove("TRAILSCAN_CONFIG");
    command
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("stderr is UTF-8")
}

pub fn code(output: &Output) -> i32 {
    output.status.code().expect("exited, not killed")
}

/// Elapsed time and rate are the only parts of a report that vary between runs.
pub fn without_timing(text: &str) -> String {
    text.lines()
        .map(|line| {
            if line.starts_with("Elapsed ") {
                "Elapsed <timing>".to_owned()
            } else if line.starts_with("{\"type\":\"summary\"")
                || line.trim_start().starts_with("\"elapsed_ms\"")
                || line.trim_start().starts_with("\"records_per_second\"")
            {
                mask_json_number(&mask_json_number(line, "elapsed_ms"), "records_per_second")
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

fn mask_json_number(line: &str, key: &str) -> String {
    let needle = format!("\"{key}\":");
    let Some(start) = line.find(&needle) else {
        return line.to_owned();
    };
    let value_start = start + needle.len();
    let rest = &line[value_start..];
    let spaces = rest.len() - rest.trim_start().len();
    let digits = rest
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .count();
    format!(
        "{}{}0{}",
        &line[..value_start],
        &rest[..spaces],
        &rest[spaces + digits..]
    )
}

/// Compares with `tests/golden/NAME`; `UPDATE_GOLDEN=1` rewrites the file instead.
pub fn assert_golden(name: &str, actual: &str) {
    let path = repo().join("tests/golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("golden file is writable");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with UPDATE_GOLDEN=1 to create it)",
            path.display()
        )
    });
    if expected != actual {
        let diff: Vec<String> = expected
            .lines()
            .zip(actual.lines())
            .enumerate()
            .filter(|(_, (e, a))| e != a)
            .take(5)
            .map(|(i, (e, a))| format!("line {}:\n  expected: {e}\n  actual:   {a}", i + 1))
            .collect();
        panic!(
            "{name} differs from the golden file ({} vs {} lines); first differences:\n{}\n\
             If the change is intended, run UPDATE_GOLDEN=1 cargo test and review the diff.",
            expected.lines().count(),
            actual.lines().count(),
            diff.join("\n")
        );
    }
}

/// The third-party samples in ../shared/data, beside the repository: a test that needs
/// them fails, saying so, when they are not there.
pub fn shared_data() -> PathBuf {
    let dir = repo().join("../shared/data/third_party");
    assert!(
        dir.is_dir(),
        "{} is missing: the third-party samples sit beside the repository",
        dir.display()
    );
    dir
}

pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("temp dir is writable");
    }
    std::fs::write(&path, bytes).expect("temp file is writable");
    path
}

/// Rows per query, from the summary line that ends JSON Lines output.
pub fn rows_per_query(jsonl: &str) -> BTreeMap<String, u64> {
    let summary: serde_json::Value =
        serde_json::from_str(jsonl.lines().last().expect("a summary line"))
            .expect("summary is JSON");
    summary["rows_per_query"]
        .as_object()
        .expect("rows_per_query")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().expect("a count")))
        .collect()
}
