//! What goes wrong, said clearly: damaged objects, unknown names, missing paths, help.

use crate::util::{BROKEN, TRAIL, assert_golden, code, rows_per_query, stderr, stdout, trailscan};

#[test]
fn broken_objects_are_each_reported_and_the_rest_is_scanned() {
    let output = trailscan(&["cloudtrail-changes", TRAIL, BROKEN, "--format", "jsonl"]);
    assert_eq!(
        code(&output),
        2,
        "unreadable input exits 2 even with findings"
    );
    assert_golden("broken.stderr", &stderr(&output));
    let err = stderr(&output);
    for name in [
        "corrupt.json.gz",
        "truncated.json.gz",
        "invalid.json",
        "sns-notification.json",
        "mixed.jsonl: line 2",
    ] {
        assert!(
            err.contains(&format!("fixtures/broken/{name}")),
            "{name} not reported:\n{err}"
        );
    }
    assert!(
        err.contains("warning: fixtures/broken/empty-records.json.gz"),
        "{err}"
    );
    let text = stdout(&output);
    // The two good lines of mixed.jsonl still count: StopLogging twice, plus the trail's two.
    assert_eq!(rows_per_query(&text)["cloudtrail-changes"], 4);
    let summary: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(summary["errors"], 5);
    assert_eq!(summary["warnings"], 1);
}

#[test]
fn clear_errors_for_unknown_names_missing_paths_and_no_source() {
    let output = trailscan(&["failed-login", TRAIL]);
    assert_eq!(code(&output), 2);
    assert_eq!(
        stderr(&output),
        "trailscan: 'failed-login' is not a query, a command, or an existing file or folder; did you mean 'failed-logins'?\n"
    );
    let output = trailscan(&["zzzz", TRAIL]);
    assert_eq!(
        stderr(&output),
        "trailscan: 'zzzz' is not a query, a command, or an existing file or folder (`trailscan queries` lists the queries)\n",
        "nothing close: no guess"
    );
    let output = trailscan(&["audit", "no/such/dir", TRAIL, "--format", "jsonl"]);
    assert_eq!(
        code(&output),
        2,
        "a missing source is an error, and the rest is still scanned"
    );
    assert!(stderr(&output).starts_with("trailscan: no/such/dir: no such file or directory\n"));
    assert_eq!(rows_per_query(&stdout(&output))["root-usage"], 2);
    let output = trailscan(&["audit", "no/such/dir"]);
    assert_eq!(
        (code(&output), stdout(&output).as_str()),
        (2, ""),
        "no empty report when nothing could be listed"
    );
    let output = trailscan(&[]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).starts_with("trailscan: no source given: pass a folder"),
        "{}",
        stderr(&output)
    );
    let output = trailscan(&["audit", TRAIL, "--since", "yesterday"]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).starts_with("trailscan: invalid --since: 'yesterday'"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn help_lists_examples_and_named_query_help_works() {
    let output = trailscan(&["--help"]);
    assert_eq!(code(&output), 0);
    assert!(
        stdout(&output).contains("Examples:\n  trailscan audit ./AWSLogs"),
        "{}",
        stdout(&output)
    );
    let output = trailscan(&["failed-logins", "--help"]);
    assert_eq!(code(&output), 0);
    assert!(
        stdout(&output).contains("Usage: trailscan failed-logins"),
        "{}",
        stdout(&output)
    );
}
