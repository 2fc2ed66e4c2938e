//! Integration tests: trailscan as a user runs it, on the fixtures and on real third-party samples.

mod cron;
mod s3;
mod util;

use std::collections::BTreeMap;
use std::io::Read;
use std::process::{Command, Stdio};

use trailscan::projection::Projection;

use util::{
    assert_golden, code, repo, shared_data, stderr, stdout, trailscan, without_timing, write,
};

const TRAIL: &str = "fixtures/trail";
const BROKEN: &str = "fixtures/broken";
const DAY: [&str; 4] = [
    "--since",
    "2026-11-20T00:00:00Z",
    "--until",
    "2026-11-21T00:00:00Z",
];

fn rows_per_query(jsonl: &str) -> BTreeMap<String, u64> {
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

#[test]
fn audit_table_matches_golden() {
    let output = trailscan(&["audit", TRAIL]);
    assert_eq!(
        code(&output),
        1,
        "findings exit 1; stderr: {}",
        stderr(&output)
    );
    assert_eq!(
        stderr(&output),
        "",
        "nothing on stderr when all input is good"
    );
    assert_golden("audit.txt", &without_timing(&stdout(&output)));
}

#[test]
fn audit_jsonl_matches_golden() {
    let output = trailscan(&["audit", TRAIL, "--format", "jsonl"]);
    assert_eq!(code(&output), 1);
    assert_golden("audit.jsonl", &without_timing(&stdout(&output)));
}

#[test]
fn every_canned_query_fires_on_its_events_and_not_on_lookalikes() {
    let output = trailscan(&[TRAIL, "--format", "jsonl"]);
    let counts = rows_per_query(&stdout(&output));
    let expected: BTreeMap<String, u64> = [
        ("access-key-created-for-other-user", 1),
        ("athena-policy-and-role-events", 9),
        ("brute-force-logins", 1),
        ("brute-force-logins-by-user", 1),
        ("cloudtrail-changes", 2),
        ("config-changes", 1),
        ("console-auth-failures", 14),
        ("console-login-no-mfa", 1),
        ("console-login-no-mfa-not-sso", 2),
        ("ebs-default-encryption-disabled", 1),
        ("failed-logins", 16),
        ("guardduty-detector-deleted", 1),
        ("iam-policy-changes", 3),
        ("kms-key-deletion", 2),
        ("login-profile-changes", 1),
        ("mfa-device-deactivated", 1),
        ("nacl-changes", 1),
        ("network-gateway-changes", 1),
        ("organizations-changes", 1),
        ("policy-changes", 5),
        ("root-console-login", 1),
        ("root-usage", 2),
        ("route-table-changes", 1),
        ("s3-bucket-policy-changes", 2),
        ("secretsmanager-changes", 1),
        ("security-group-changes", 4),
        ("security-group-open-to-world", 2),
        ("snapshot-or-ami-made-public", 2),
        ("trail-event-selectors-weakened", 1),
        ("unauthorized-calls", 13),
        ("vpc-changes", 1),
        ("vpc-flow-logs-deleted", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(counts, expected);

    let events = |query: &str| -> Vec<String> {
        let output = trailscan(&[query, TRAIL, "--format", "jsonl"]);
        stdout(&output)
            .lines()
            .filter(|l| l.starts_with("{\"type\":\"row\""))
            .map(|l| {
                let row: serde_json::Value = serde_json::from_str(l).unwrap();
                row["row"]["eventName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    };
    let policy = events("policy-changes");
    for lookalike in ["GetRole", "AssumeRole", "ListAttachedUserPolicies"] {
        assert!(
            !policy.contains(&lookalike.to_owned()),
            "policy-changes fired on {lookalike}"
        );
    }
    let unauthorized = events("unauthorized-calls");
    let mut expected = vec!["GetObject", "RunInstances"];
    expected.extend(["ListBuckets"; 10]);
    expected.push("Decrypt");
    assert_eq!(
        unauthorized, expected,
        "log delivery and HeadBucket stay out"
    );
    assert_eq!(events("cloudtrail-changes"), ["UpdateTrail", "StopLogging"]);
    assert_eq!(
        events("root-usage"),
        ["ConsoleLogin", "CreateAccessKey"],
        "service-invoked root calls stay out"
    );
    assert_eq!(
        events("organizations-changes"),
        ["DetachPolicy"],
        "IAM's CreatePolicy is not an Organizations change"
    );
}

#[test]
fn time_window_prunes_by_key_then_by_event_time() {
    let mut args = vec!["audit", TRAIL, "--format", "jsonl"];
    args.extend(DAY);
    let output = trailscan(&args);
    let text = stdout(&output);
    assert_golden("audit-window.jsonl", &without_timing(&text));
    let summary: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    // The file of the 19th is read (one day of slack) and its event after midnight kept.
    assert_eq!(summary["pruned"], 0);
    assert_eq!(summary["records_outside_window"], 3);
    assert_eq!(summary["records_without_event_time"], 1);
    assert!(
        text.contains("\"eventTime\":\"2026-11-20T00:00:30Z\""),
        "the GetRole after midnight is kept"
    );
    assert!(
        !text.contains("UpdateTrail"),
        "the UpdateTrail before midnight is dropped"
    );

    let output = trailscan(&[
        "audit",
        TRAIL,
        "--format",
        "jsonl",
        "--since",
        "2026-11-23T00:00:00Z",
    ]);
    let summary: serde_json::Value =
        serde_json::from_str(stdout(&output).lines().last().unwrap()).unwrap();
    assert_eq!(
        summary["pruned"], 7,
        "every events file is older than the window"
    );
    assert_eq!(summary["objects"], 0);
    assert_eq!(code(&output), 0);
}

#[test]
fn account_and_region_filter_on_the_key_layout() {
    let output = trailscan(&[
        "audit",
        TRAIL,
        "--format",
        "jsonl",
        "--account",
        "444455556666",
    ]);
    let summary: serde_json::Value =
        serde_json::from_str(stdout(&output).lines().last().unwrap()).unwrap();
    assert_eq!(summary["objects"], 2);
    assert_eq!(summary["pruned"], 5);
    let output = trailscan(&["vpc-changes", TRAIL, "--region", "us-east-1"]);
    assert_eq!(code(&output), 0, "no VPC change in us-east-1: clean exit");
    assert!(
        stdout(&output).contains("VPC changes (vpc-changes) · MEDIUM · 0 rows"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn threads_do_not_change_a_single_byte() {
    for format in ["table", "jsonl", "csv", "json"] {
        let one = trailscan(&["audit", TRAIL, BROKEN, "--threads", "1", "--format", format]);
        let two = trailscan(&["audit", TRAIL, BROKEN, "--threads", "2", "--format", format]);
        assert_eq!(
            without_timing(&stdout(&one)),
            without_timing(&stdout(&two)),
            "{format}"
        );
        assert_eq!(stderr(&one), stderr(&two), "{format}");
    }
}

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

#[test]
fn exit_codes_follow_fail_on() {
    assert_eq!(
        code(&trailscan(&["audit", TRAIL, "--fail-on", "critical"])),
        1,
        "root-usage is critical"
    );
    assert_eq!(
        code(&trailscan(&["nacl-changes", TRAIL, "--fail-on", "high"])),
        0,
        "a medium finding below high"
    );
    assert_eq!(
        code(&trailscan(&["nacl-changes", TRAIL, "--fail-on", "medium"])),
        1
    );
    let output = trailscan(&["audit", TRAIL, "--fail-on", "severe"]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("unknown severity 'severe'"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn ad_hoc_query_returns_rows_and_exits_zero() {
    let sql = "SELECT errorCode, count(*) AS n FROM cloudtrail_logs WHERE errorCode IS NOT NULL \
               GROUP BY errorCode ORDER BY n DESC, errorCode LIMIT 3";
    let output = trailscan(&["query", sql, TRAIL, "--format", "csv"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            "query,severity,errorCode,n",
            "query,info,AccessDenied,13",
            "query,info,AccessDeniedException,1",
            "query,info,Client.RequestLimitExceeded,1"
        ]
    );

    let output = trailscan(&[
        "query",
        "SELECT eventName FROM cloudtrail_logs WHERE CAST(x AS int) = 1",
        TRAIL,
    ]);
    assert_eq!(code(&output), 2);
    assert_eq!(
        stderr(&output),
        "trailscan: in the SQL, line 1, column 50: CAST is not supported (in `CAST(x AS INT)`)\n"
    );
}

#[test]
fn queries_list_show_and_lint() {
    let output = trailscan(&["queries"]);
    assert_eq!(code(&output), 0);
    for name in catalogue_names() {
        assert!(
            stdout(&output).contains(&name),
            "{name} missing from `trailscan queries`"
        );
    }
    let output = trailscan(&["show", "root-usage"]);
    assert_eq!(code(&output), 0);
    let text = stdout(&output);
    assert!(
        text.starts_with("Root user activity (root-usage)\nseverity     critical\n"),
        "{text}"
    );
    assert!(
        text.contains("runbook      Root should be unused"),
        "{text}"
    );
    assert!(text.contains("WHERE userIdentity.type = 'Root'"), "{text}");
    assert_eq!(code(&trailscan(&["show", "nope"])), 2);

    let output = trailscan(&["queries", "lint"]);
    assert_eq!(code(&output), 0, "{}", stdout(&output));

    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "good.sql",
        b"-- name: good\n-- title: Good\n-- severity: low\nSELECT eventName FROM cloudtrail_logs\n",
    );
    write(dir.path(), "bad.sql", b"-- name: bad\n-- severity: urgent\nSELECT eventName\nFROM cloudtrail_logs\nWHERE eventName ILIKE 'x'\n");
    let output = trailscan(&["queries", "lint", dir.path().to_str().unwrap()]);
    assert_eq!(code(&output), 1);
    let text = stdout(&output);
    let bad = dir.path().join("bad.sql").display().to_string();
    assert!(
        text.contains(&format!("{bad}:1: the header needs a '-- title: …' line")),
        "{text}"
    );
    assert!(
        text.contains(&format!("{bad}:2: unknown severity 'urgent'")),
        "{text}"
    );
    assert!(
        text.contains(&format!("{bad}:5:7: ILIKE is not supported")),
        "{text}"
    );
    assert!(text.ends_with("2 files checked, 3 problems\n"), "{text}");
}

#[test]
fn user_queries_add_to_and_replace_builtins() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "root-usage.sql", b"-- name: root-usage\n-- title: Root, narrowed\n-- severity: low\nSELECT eventName FROM cloudtrail_logs WHERE userIdentity.type = 'Root' AND eventName = 'ConsoleLogin'\n");
    write(dir.path(), "stop-logging.sql", b"-- name: stop-logging\n-- title: StopLogging only\n-- severity: critical\nSELECT eventTime FROM cloudtrail_logs WHERE eventName = 'StopLogging'\n");
    let queries = dir.path().to_str().unwrap();
    let output = trailscan(&["root-usage", TRAIL, "--queries", queries]);
    assert!(
        stdout(&output).starts_with("Root, narrowed (root-usage) · LOW · 1 row"),
        "{}",
        stdout(&output)
    );
    let output = trailscan(&[
        "--queries",
        queries,
        "stop-logging",
        TRAIL,
        "--format",
        "csv",
    ]);
    assert_eq!(
        stdout(&output),
        "query,severity,eventTime\nstop-logging,critical,2026-11-20T12:05:00Z\n"
    );

    write(dir.path(), "broken.sql", b"-- name: broken\nSELECT\n");
    let output = trailscan(&["audit", TRAIL, "--queries", queries]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("broken.sql:1: the header needs a '-- title: …' line"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn clear_errors_for_unknown_names_missing_paths_and_no_source() {
    let output = trailscan(&["failed-login", TRAIL]);
    assert_eq!(code(&output), 2);
    assert_eq!(
        stderr(&output),
        "trailscan: 'failed-login' is not a query, a command, or an existing file or folder (`trailscan queries` lists the queries)\n"
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
fn a_path_without_a_command_runs_the_audit() {
    let audit = trailscan(&["audit", TRAIL, "--format", "jsonl"]);
    let bare = trailscan(&["--format", "jsonl", TRAIL]);
    assert_eq!(
        without_timing(&stdout(&audit)),
        without_timing(&stdout(&bare))
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

/// Names in the README's catalogue table, between its heading and the next heading.
fn readme_catalogue() -> Vec<String> {
    readme_section("## Query catalogue")
}

/// The names in the first column of the table under `heading`.
fn readme_section(heading: &str) -> Vec<String> {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let section = readme
        .split(heading)
        .nth(1)
        .unwrap_or_else(|| panic!("README has a '{heading}' section"));
    let section = section.split("\n## ").next().unwrap();
    section
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split('`').next())
        .map(str::to_owned)
        .collect()
}

fn catalogue_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo().join("queries"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn readme_catalogue_matches_the_queries_folder() {
    let mut documented = readme_catalogue();
    documented.sort();
    assert_eq!(documented, catalogue_names());
    let analyses = readme_section("## Built-in analyses");
    assert_eq!(analyses, ["suspicious-ips", "insights", "secrets-access"]);
    for name in &analyses {
        let output = trailscan(&[name, "--help"]);
        assert_eq!(code(&output), 0, "{name}");
    }
}

#[test]
fn analyses_match_golden_and_find_what_the_fixtures_hold() {
    let output = trailscan(&["suspicious-ips", TRAIL]);
    assert_eq!(code(&output), 1);
    assert_golden("suspicious-ips.txt", &without_timing(&stdout(&output)));
    let output = trailscan(&["insights", "fixtures/behaviour", "--format", "jsonl"]);
    assert_eq!(code(&output), 1);
    assert_golden("insights.jsonl", &without_timing(&stdout(&output)));
    let output = trailscan(&[
        "secrets-access",
        "fixtures/behaviour",
        TRAIL,
        "--format",
        "jsonl",
    ]);
    assert_eq!(code(&output), 1);
    assert_golden("secrets-access.jsonl", &without_timing(&stdout(&output)));
    let counts = rows_per_query(&stdout(&output));
    assert_eq!(
        counts["secret-new-reader"], 1,
        "alice reads the app's secret for the first time"
    );
    assert_eq!(counts["secret-read-burst"], 1, "25 secrets in two minutes");
    assert_eq!(counts["secretsmanager-changes"], 1);

    // A higher threshold and a longer sigma quieten them.
    let output = trailscan(&[
        "insights",
        "fixtures/behaviour",
        "--min-count",
        "50",
        "--format",
        "jsonl",
    ]);
    assert_eq!(rows_per_query(&stdout(&output))["api-rate-anomaly"], 0);
    let output = trailscan(&[
        "secrets-access",
        "fixtures/behaviour",
        "--burst",
        "30",
        "--format",
        "jsonl",
    ]);
    assert_eq!(rows_per_query(&stdout(&output))["secret-read-burst"], 0);
}

#[test]
fn blocklist_prints_flagged_addresses_as_cidrs() {
    let output = trailscan(&["suspicious-ips", TRAIL, "--format", "blocklist"]);
    assert_eq!(stdout(&output), "203.0.113.10/32\n2001:db8::66/128\n");
    let output = trailscan(&["audit", TRAIL, "--format", "blocklist"]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("use it with `trailscan suspicious-ips`"),
        "{}",
        stderr(&output)
    );

    // Known networks: every address outside them is flagged; service names never are.
    let dir = tempfile::tempdir().unwrap();
    let known = write(
        dir.path(),
        "known.txt",
        b"# offices\n198.51.100.0/24\n192.0.2.0/24 # VPN\n",
    );
    let output = trailscan(&[
        "suspicious-ips",
        TRAIL,
        "--known-cidrs",
        known.to_str().unwrap(),
        "--format",
        "blocklist",
    ]);
    assert_eq!(
        stdout(&output),
        "203.0.113.10/32\n203.0.113.50/32\n203.0.113.66/32\n203.0.113.99/32\n2001:db8::66/128\n"
    );
    let config = write(
        dir.path(),
        "trailscan.toml",
        b"known_cidrs = [\"0.0.0.0/0\", \"::/0\"]\n",
    );
    let output = trailscan(&[
        "--config",
        config.to_str().unwrap(),
        "suspicious-ips",
        TRAIL,
        "--format",
        "blocklist",
    ]);
    assert_eq!(
        stdout(&output),
        "203.0.113.10/32\n2001:db8::66/128\n",
        "everything is known: thresholds only"
    );
}

#[test]
fn analysis_findings_are_reported_once_with_a_state() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let run = || {
        trailscan(&[
            "suspicious-ips",
            TRAIL,
            "--state",
            state.to_str().unwrap(),
            "--format",
            "jsonl",
        ])
    };
    let first = run();
    assert_eq!(code(&first), 1);
    assert_eq!(rows_per_query(&stdout(&first))["suspicious-ips"], 2);
    let second = run();
    assert_eq!(
        code(&second),
        0,
        "the same addresses are not reported again"
    );
    assert_eq!(rows_per_query(&stdout(&second))["suspicious-ips"], 0);
}

/// What each third-party sample must give: its number of events, or the start of its error.
fn shared_expectations() -> BTreeMap<&'static str, Result<u64, &'static str>> {
    let mut expected = BTreeMap::from([
        (
            "aws_cloudtrail_processing_library/SQSMessageBody",
            Err("not CloudTrail"),
        ),
        (
            "aws_cloudtrail_processing_library/SQSMessageBodyWrongFormat",
            Err("not CloudTrail"),
        ),
        (
            "aws_cloudtrail_processing_library/SerializerAllFieldsNull.json",
            Ok(2),
        ),
        (
            "aws_cloudtrail_processing_library/SerializerTestFile.json",
            Ok(6),
        ),
        (
            "aws_cloudtrail_processing_library/SerializerTestFileBadFieldName.json",
            Ok(2),
        ),
        (
            "aws_cloudtrail_processing_library/SerializerTestFileBadJsonFormat.json",
            Err("invalid JSON"),
        ),
        (
            "aws_cloudtrail_processing_library/SerializerTestFileCompact.json",
            Ok(6),
        ),
        (
            "aws_cloudtrail_processing_library/SerializerTestFileCompact.json.gz",
            Ok(6),
        ),
        (
            "aws_cloudtrail_processing_library/SerializerTestFileLocation.json",
            Ok(6),
        ),
        (
            "aws_cloudtrail_processing_library/SerializerTestFileMissField.json",
            Ok(4),
        ),
        (
            "aws_cloudtrail_processing_library/SerializerTestFileNewFieldAtRandomPlaces.json",
            Ok(2),
        ),
        (
            "aws_cloudtrail_processing_library/SerializerTestFileNewFieldName.json",
            Ok(2),
        ),
        (
            "aws_cloudtrail_processing_library/SerializerTestFileNewFieldsInRoot.json",
            Ok(2),
        ),
        (
            "aws_cloudtrail_processing_library/SerializerTestFileNewFieldsInUserIdentity.json",
            Ok(2),
        ),
        (
            "aws_cloudtrail_processing_library/SerializerVariousUserIdentityTestFile.json",
            Ok(1),
        ),
        (
            "awsdocs_cloudtrail_user_guide/cloudtrail-event-reference-user-identity__01.json",
            Ok(1),
        ),
        (
            "awsdocs_cloudtrail_user_guide/cloudtrail-event-reference__01.invalid.json.txt",
            Err("invalid JSON"),
        ),
        (
            "awsdocs_cloudtrail_user_guide/cloudtrail-event-reference__02.json",
            Ok(1),
        ),
        (
            "awsdocs_cloudtrail_user_guide/cloudtrail-log-file-examples__06.invalid.json.txt",
            Err("invalid JSON"),
        ),
        (
            "awsdocs_cloudtrail_user_guide/cloudtrail-log-file-examples__08.json",
            Ok(2),
        ),
        (
            "awsdocs_cloudtrail_user_guide/cloudtrail-tutorial__01.json",
            Ok(1),
        ),
        (
            "awsdocs_cloudtrail_user_guide/non-api-aws-service-events__01.json",
            Ok(1),
        ),
        (
            "awsdocs_cloudtrail_user_guide/view-insights-events-cli__01.json",
            Ok(2),
        ),
        (
            "awsdocs_cloudtrail_user_guide/viewing-service-linked-channels__01.json",
            Ok(1),
        ),
        (
            "permiso_cloudconsolecartographer/Demo/InputEvents.json",
            Ok(1000),
        ),
        ("plaso/test_data/aws_cloudtrail.json", Ok(9)),
        ("plaso/test_data/jsonl/aws_cloudtrail.jsonl", Ok(6)),
        (
            "trailscraper/111111111111_CloudTrail_eu-central-1_20171211T1505Z_A6kvhMoVeCsc7v8U.json",
            Ok(2),
        ),
        (
            "trailscraper/111111111111_CloudTrail_eu-central-1_20171211T1505Z_A6kvhMoVeCsc7v8U.json.gz",
            Ok(2),
        ),
        ("trailscraper/events-for-smoke-test.json", Ok(3)),
    ]);
    for i in 1..=10 {
        let name = format!(
            "awsdocs_cloudtrail_user_guide/cloudtrail-event-reference-aws-console-sign-in-events__{i:02}.json"
        );
        expected.insert(Box::leak(name.into_boxed_str()), Ok(1));
    }
    for i in [1, 2, 3, 4, 5, 7] {
        let name =
            format!("awsdocs_cloudtrail_user_guide/cloudtrail-log-file-examples__{i:02}.json");
        expected.insert(Box::leak(name.into_boxed_str()), Ok(1));
    }
    expected
}

fn files_below(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_below(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn every_shared_sample_is_read_without_panic_with_the_right_event_count() {
    let Some(dir) = shared_data() else { return };
    let mut files = Vec::new();
    files_below(&dir, &mut files);
    files.sort();
    let expectations = shared_expectations();
    let permiso_sessions = [
        ("01b11411", 162),
        ("05a71330", 26),
        ("078ddd9d", 237),
        ("0a94aa63", 289),
        ("0eb95220", 168),
        ("1c719693", 414),
        ("28a37129", 246),
        ("2f8e56cc", 102),
        ("36183de1", 115),
        ("4ff42eca", 317),
        ("5721e3dc", 357),
        ("6044720a", 173),
        ("631f0603", 54),
        ("83679c6b", 331),
        ("8bf8ccf4", 210),
        ("96db9634", 1000),
        ("9900a55b", 122),
        ("9e6c8696", 80),
        ("9f92e6bb", 217),
        ("a7845cfb", 158),
        ("a8ed8c07", 140),
        ("ae2b9f71", 98),
        ("b5ff7b31", 258),
        ("b6dfc392", 270),
        ("d00fd583", 162),
        ("e07a7754", 410),
        ("e0d74f6e", 211),
        ("f41ce257", 1101),
        ("f8556c65", 622),
        ("f8ec0c8c", 108),
        ("fd15aac5", 68),
    ];
    let mut checked = 0;
    for path in &files {
        let relative = path
            .strip_prefix(&dir)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let mut events = 0u64;
        let result = trailscan::decode::decode(
            std::fs::read(path).unwrap(),
            &Projection::everything(),
            |_| events += 1,
        );
        let expected: Option<Result<u64, &str>> =
            if relative.ends_with("SOURCE.json") || relative.ends_with("ExpectedSignals.json") {
                Some(Err("not CloudTrail"))
            } else if relative.contains("/Tests/Sessions/") {
                permiso_sessions
                    .iter()
                    .find(|(prefix, _)| relative.contains(&format!("Sessions/{prefix}")))
                    .map(|(_, n)| Ok(*n))
            } else {
                expectations.get(relative.as_str()).cloned()
            };
        let expected = expected.unwrap_or_else(|| panic!("no expectation for {relative}"));
        match (&result, expected) {
            (Ok(decoded), Ok(n)) => {
                assert_eq!(decoded.events, n, "{relative}");
                assert_eq!(events, n, "{relative}");
                assert!(
                    decoded.problems.is_empty(),
                    "{relative}: {:?}",
                    decoded.problems
                );
            }
            (Err(e), Err(start)) => assert!(e.to_string().starts_with(start), "{relative}: {e}"),
            (got, want) => panic!("{relative}: got {got:?}, want {want:?}"),
        }
        checked += 1;
    }
    assert!(checked >= 90, "only {checked} samples found");

    // The same files through the CLI: every unreadable one named, no panic, exit 2.
    let output = trailscan(&["audit", dir.to_str().unwrap(), "--format", "jsonl"]);
    assert_eq!(code(&output), 2);
    let err = stderr(&output);
    assert!(!err.contains("panicked"), "{err}");
    let reported = err
        .lines()
        .filter(|l| !l.starts_with("trailscan: warning:"))
        .count();
    let unreadable = files.len()
        - files
            .iter()
            .filter(|p| {
                let mut n = 0;
                trailscan::decode::decode(
                    std::fs::read(p).unwrap(),
                    &Projection::everything(),
                    |_| n += 1,
                )
                .is_ok()
            })
            .count();
    assert_eq!(reported, unreadable, "{err}");
}
