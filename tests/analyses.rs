//! The built-in analyses: golden findings, the blocklist, known networks, and the state.

use crate::util::{
    TRAIL, assert_golden, code, rows_per_query, stderr, stdout, trailscan, without_timing, write,
};

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
