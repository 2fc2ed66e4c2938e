//! The audit and single queries on the fixtures: golden output, what fires, windows, filters, threads.

use std::collections::BTreeMap;

use crate::util::{
    BROKEN, DAY, TRAIL, assert_golden, code, rows_per_query, stderr, stdout, trailscan,
    without_timing,
};

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
    // Informational queries (athena-policy-and-role-events) are not in the default audit.
    let expected: BTreeMap<String, u64> = [
        ("access-key-created-for-other-user", 1),
        ("bedrock-model-access-changes", 0),
        ("bedrock-probing", 0),
        ("brute-force-logins", 1),
        ("brute-force-logins-by-user", 1),
        ("cloudtrail-changes", 2),
        ("config-changes", 1),
        ("console-auth-failures", 14),
        ("console-login-no-mfa", 1),
        ("console-login-no-mfa-not-sso", 2),
        ("discovery-burst", 0),
        ("dns-query-logging-deleted", 0),
        ("ebs-default-encryption-disabled", 1),
        ("ec2-ami-deregistered", 0),
        ("ec2-instance-connect-to-many-instances", 0),
        ("ec2-password-data-retrieval", 0),
        ("ec2-serial-console-access", 0),
        ("ec2-unusual-instance-launch", 0),
        ("ec2-user-data-modified", 0),
        ("ec2-user-data-read-burst", 0),
        ("failed-logins", 16),
        ("guardduty-detector-deleted", 1),
        ("iam-admin-policy-attached", 1),
        ("iam-policy-changes", 3),
        ("instance-role-discovery", 0),
        ("kms-key-deletion", 2),
        ("lambda-code-updated", 0),
        ("lambda-function-shared-externally", 0),
        ("lambda-layer-added", 0),
        ("login-profile-changes", 1),
        ("mfa-device-deactivated", 1),
        ("nacl-changes", 1),
        ("network-gateway-changes", 1),
        ("organizations-changes", 1),
        ("policy-changes", 5),
        ("rolesanywhere-trust-anchor-changes", 0),
        ("root-access-key-created", 1),
        ("root-console-login", 1),
        ("root-usage", 2),
        ("route-table-changes", 1),
        ("s3-bucket-policy-changes", 2),
        ("s3-mass-object-deletion", 0),
        ("s3-objects-encrypted-with-customer-key", 0),
        ("s3-versions-listed-then-batch-deleted", 0),
        ("sagemaker-lifecycle-config-changed", 0),
        ("secrets-batch-retrieval", 0),
        ("secrets-bulk-retrieval", 0),
        ("secretsmanager-changes", 1),
        ("security-group-changes", 4),
        ("security-group-open-to-broad-range", 0),
        ("security-group-open-to-world", 2),
        ("ses-enumeration", 0),
        ("snapshot-or-ami-made-public", 2),
        ("snapshot-or-ami-shared", 1),
        ("ssm-parameters-bulk-decryption", 0),
        ("ssm-send-command", 0),
        ("ssm-sessions-to-many-instances", 0),
        ("sts-federation-token", 0),
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
    // The GetRole after midnight is a row of an informational query, run by name.
    let mut named = vec!["athena-policy-and-role-events", TRAIL, "--format", "jsonl"];
    named.extend(DAY);
    assert!(
        stdout(&trailscan(&named)).contains("\"eventTime\":\"2026-11-20T00:00:30Z\""),
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
fn a_path_without_a_command_runs_the_audit() {
    let audit = trailscan(&["audit", TRAIL, "--format", "jsonl"]);
    let bare = trailscan(&["--format", "jsonl", TRAIL]);
    assert_eq!(
        without_timing(&stdout(&audit)),
        without_timing(&stdout(&bare))
    );
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
