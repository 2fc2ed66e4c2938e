//! Cron runs: SNS alerts against moto, incremental state with late files, failed
//! publishes, corrupt state, the configuration file and suppressions.

use std::io::Write;
use std::path::Path;

use serde_json::Value;

use crate::util::moto::{create_topic, endpoint, sent, trailscan_s3};
use crate::util::{code, stderr, stdout, trailscan, write};

const ACCOUNT: &str = "111122223333";

fn event(id: &str, time: &str, name: &str, who: &str) -> Value {
    let identity = match who {
        "root" => {
            serde_json::json!({"type": "Root", "arn": format!("arn:aws:iam::{ACCOUNT}:root"), "accountId": ACCOUNT})
        }
        user => {
            serde_json::json!({"type": "IAMUser", "arn": format!("arn:aws:iam::{ACCOUNT}:user/{user}"), "userName": user})
        }
    };
    serde_json::json!({
        "eventVersion": "1.09", "eventID": id, "eventTime": time, "eventName": name,
        "eventSource": if name == "ConsoleLogin" { "signin.amazonaws.com" } else { "cloudtrail.amazonaws.com" },
        "awsRegion": "us-east-1", "recipientAccountId": ACCOUNT, "sourceIPAddress": "203.0.113.5",
        "eventType": if name == "ConsoleLogin" { "AwsConsoleSignIn" } else { "AwsApiCall" },
        "userIdentity": identity, "readOnly": false,
    })
}

/// Writes one delivery file stamped `HHMM` on 2026-11-20 into the tree at `root`.
fn deliver(root: &Path, stamp: &str, events: &[Value]) {
    let key = format!(
        "AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/2026/11/20/{ACCOUNT}_CloudTrail_us-east-1_20261120T{stamp}Z_{stamp}.json.gz"
    );
    let body = serde_json::json!({ "Records": events }).to_string();
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(body.as_bytes()).unwrap();
    write(root, &key, &encoder.finish().unwrap());
}

fn summary(output: &std::process::Output) -> Value {
    serde_json::from_str(stdout(output).lines().last().expect("a summary"))
        .expect("the summary is JSON")
}

#[test]
fn alerts_go_out_once_and_later_runs_send_only_new_and_late_findings() {
    let endpoint = endpoint();
    let topic = create_topic(endpoint, "cron");
    let dir = tempfile::tempdir().unwrap();
    let (tree, state) = (dir.path().join("trail"), dir.path().join("state.json"));
    let run = || {
        let tree = tree.to_str().unwrap();
        let args = [
            "audit",
            tree,
            "--state",
            state.to_str().unwrap(),
            "--sns-topic",
            &topic,
            "--fail-on",
            "high",
            "--format",
            "jsonl",
        ];
        trailscan_s3(endpoint, &args)
    };
    deliver(
        &tree,
        "1000",
        &[event("e1", "2026-11-20T09:58:00Z", "StopLogging", "bob")],
    );
    deliver(
        &tree,
        "1005",
        &[event("e2", "2026-11-20T10:01:00Z", "ConsoleLogin", "root")],
    );

    let first = run();
    assert_eq!(code(&first), 1, "{}", stderr(&first));
    let messages = sent(endpoint, &topic);
    let subjects: Vec<&str> = messages.iter().map(|m| m.subject.as_str()).collect();
    assert_eq!(
        subjects,
        [
            "[trailscan] CRITICAL cloudtrail-changes: 1 finding (111122223333)",
            "[trailscan] CRITICAL root-usage: 1 finding (111122223333)"
        ]
    );
    assert_eq!(
        (messages[0].query.as_str(), messages[0].severity.as_str()),
        ("cloudtrail-changes", "critical")
    );
    assert!(messages[0].body.starts_with("CloudTrail configuration changes (cloudtrail-changes)\nSeverity: critical\nNew findings: 1\nRunbook: If logging was stopped"), "{}", messages[0].body);
    assert!(messages[0].body.contains("\n1. eventTime=2026-11-20T09:58:00Z account=111122223333 awsRegion=us-east-1 eventName=StopLogging"), "{}", messages[0].body);

    let second = run();
    assert_eq!(code(&second), 0, "nothing new: {}", stderr(&second));
    assert_eq!(
        sent(endpoint, &topic).len(),
        2,
        "the same state sends nothing again"
    );
    assert_eq!(summary(&second)["findings_already_reported"], 2);

    // New files arrive: one on time, one late (stamped before the newest, within the hour),
    // and one later than the look-back allows for.
    deliver(
        &tree,
        "1010",
        &[event("e3", "2026-11-20T10:07:00Z", "StopLogging", "bob")],
    );
    deliver(
        &tree,
        "0950",
        &[event(
            "e4",
            "2026-11-20T09:47:00Z",
            "DeleteTrail",
            "mallory",
        )],
    );
    deliver(
        &tree,
        "0800",
        &[event("e5", "2026-11-20T07:58:00Z", "StopLogging", "eve")],
    );
    let third = run();
    assert_eq!(code(&third), 1);
    let messages = sent(endpoint, &topic);
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert_eq!(
        messages[2].subject,
        "[trailscan] CRITICAL cloudtrail-changes: 2 findings (111122223333)"
    );
    assert!(
        messages[2].body.contains("eventName=DeleteTrail"),
        "the late file is read: {}",
        messages[2].body
    );
    assert!(
        messages[2].body.contains("eventTime=2026-11-20T10:07:00Z"),
        "{}",
        messages[2].body
    );
    assert!(
        !messages[2].body.contains("eventTime=2026-11-20T09:58:00Z"),
        "already alerted: {}",
        messages[2].body
    );
    assert!(
        !messages[2].body.contains("user/eve"),
        "older than the look-back: not read again"
    );
    assert_eq!(summary(&third)["objects_already_read"], 1);
}

#[test]
fn a_failed_publish_exits_2_leaves_the_state_and_the_next_run_delivers() {
    let endpoint = endpoint();
    let dir = tempfile::tempdir().unwrap();
    let (tree, state) = (dir.path().join("trail"), dir.path().join("state.json"));
    deliver(
        &tree,
        "1000",
        &[event("e1", "2026-11-20T09:58:00Z", "StopLogging", "bob")],
    );
    let missing = format!(
        "arn:aws:sns:us-east-1:123456789012:trailscan-missing-{}",
        std::process::id()
    );
    let run = |topic: &str, endpoint: &str| {
        let args = [
            "cloudtrail-changes",
            tree.to_str().unwrap(),
            "--state",
            state.to_str().unwrap(),
            "--sns-topic",
            topic,
            "--format",
            "jsonl",
        ];
        trailscan_s3(endpoint, &args)
    };

    let output = run(&missing, endpoint);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains(&format!("trailscan: alert for cloudtrail-changes not sent to {missing}: topic {missing} does not exist")),
        "{}",
        stderr(&output)
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let topic = create_topic(endpoint, "retry");
    let output = run(&topic, &format!("http://127.0.0.1:{closed}"));
    assert_eq!(code(&output), 2, "the SNS server is down");
    assert!(
        stderr(&output).contains("cannot reach SNS"),
        "{}",
        stderr(&output)
    );
    assert_eq!(summary(&output)["alerts_failed"], 1);

    let output = run(&topic, endpoint);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    assert_eq!(
        summary(&output)["objects_already_read"],
        0,
        "the failed runs did not advance the state"
    );
    let messages = sent(endpoint, &topic);
    assert_eq!(messages.len(), 1);
    assert_eq!(
        messages[0].subject,
        "[trailscan] CRITICAL cloudtrail-changes: 1 finding (111122223333)"
    );
}

#[test]
fn alert_test_reaches_the_topic() {
    let endpoint = endpoint();
    let topic = create_topic(endpoint, "alert-test");
    let output = trailscan_s3(endpoint, &["alert-test", "--sns-topic", &topic]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        format!("Sent a test notification to {topic}.\n")
    );
    let messages = sent(endpoint, &topic);
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].subject, "[trailscan] test notification");
}

#[test]
fn a_corrupt_state_file_is_a_clear_error_and_stays_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let state = write(dir.path(), "state.json", b"{\"version\": 1, \"prefixes\": ");
    let output = trailscan(&[
        "audit",
        "fixtures/trail",
        "--state",
        state.to_str().unwrap(),
    ]);
    assert_eq!(code(&output), 2);
    assert_eq!(stdout(&output), "");
    let err = stderr(&output);
    assert!(
        err.starts_with(&format!(
            "trailscan: state file {} is not a trailscan state file (",
            state.display()
        )),
        "{err}"
    );
    assert!(err.contains("it was left unchanged"), "{err}");
    assert_eq!(
        std::fs::read(&state).unwrap(),
        b"{\"version\": 1, \"prefixes\": "
    );
}

#[test]
fn config_file_settings_yield_to_flags_and_suppressions_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let repo = crate::util::repo();
    let config = write(
        dir.path(),
        "trailscan.toml",
        format!(
            "# sources and selection for a cron job\n\
             sources = [\"{}\"]\n\
             queries = [\"unauthorized-calls\", \"root-usage\", \"failed-logins\"]\n\
             exclude = [\"failed-logins\"]\n\
             fail_on = \"critical\"\n\
             format = \"jsonl\"\n\
             \n\
             [suppress.unauthorized-calls]\n\
             principals = [\"arn:aws:sts::*:assumed-role/OrganizationAccountAccessRole/*\"]\n\
             source_cidrs = [\"203.0.113.0/24\", \"2001:db8::/32\"]\n\
             \n\
             [suppress.root-usage]\n\
             event_names = [\"CreateAccessKey\"]\n",
            repo.join("fixtures/trail").display()
        )
        .as_bytes(),
    );
    let path = config.to_str().unwrap();
    let output = trailscan(&["--config", path]);
    assert_eq!(
        code(&output),
        1,
        "root-usage is critical: {}",
        stderr(&output)
    );
    let s = summary(&output);
    assert_eq!(
        s["rows_per_query"],
        serde_json::json!({"root-usage": 1, "unauthorized-calls": 0})
    );
    assert_eq!(
        s["suppressed_per_query"],
        serde_json::json!({"root-usage": 1, "unauthorized-calls": 13})
    );

    // Flags win over the file (here the format), and a query named on the command line runs
    // although the file's `queries` leaves it out; its suppressions still apply.
    let output = trailscan(&["--config", path, "unauthorized-calls", "--format", "csv"]);
    assert_eq!(
        stdout(&output),
        "query,severity,eventTime,account,awsRegion,eventName,principal,sourceIPAddress,errorCode,errorMessage\n"
    );
    assert_eq!(code(&output), 0);

    // The file is found through $TRAILSCAN_CONFIG as well.
    let output = crate::util::isolated(assert_cmd::Command::cargo_bin("trailscan").unwrap())
        .env("TRAILSCAN_CONFIG", path)
        .output()
        .unwrap();
    assert_eq!(summary(&output)["rows_per_query"]["root-usage"], 1);

    let bad = write(
        dir.path(),
        "bad.toml",
        b"sources = [\"x\"]\n\n[suppress.root-usage]\nprincipal = [\"x\"]\n",
    );
    let output = trailscan(&["--config", bad.to_str().unwrap()]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).starts_with(&format!(
            "trailscan: {}:4: unknown field `principal`",
            bad.display()
        )),
        "{}",
        stderr(&output)
    );
}

#[test]
fn dry_run_prints_the_messages_and_changes_no_state() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let output = trailscan(&[
        "root-usage",
        "fixtures/trail",
        "--sns-topic",
        "arn:aws:sns:us-east-1:123456789012:alerts",
        "--dry-run",
        "--state",
        state.to_str().unwrap(),
    ]);
    assert_eq!(code(&output), 1);
    let err = stderr(&output);
    assert!(err.starts_with("--- SNS message to arn:aws:sns:us-east-1:123456789012:alerts (dry run, not sent)\nSubject: [trailscan] CRITICAL root-usage: 2 findings (111122223333)\nAttributes: query=root-usage, severity=critical\n"), "{err}");
    assert!(!state.exists(), "a dry run writes no state");
}
