//! Sigma rules run as a user runs them: SigmaHQ's CloudTrail rules over events written from
//! their text, a correlation firing, `show`, `show --sql`, `queries lint` and the configuration.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::util::{
    assert_golden, code, repo, shared_data, stderr, stdout, trailscan, without_timing, write,
};

fn sigmahq(folder: &str) -> PathBuf {
    shared_data().join("sigma_aws_cloudtrail").join(folder)
}

fn text(path: &Path) -> String {
    path.to_str().expect("a UTF-8 path").to_owned()
}

/// A rule's query name: its file name, lowercase, `-` for the rest.
fn rule_name(file: &str) -> String {
    let stem = file.trim_end_matches(".yml").to_lowercase();
    stem.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// The files of a `queries lint` report that have problems, and its closing line.
fn lint(folder: &Path) -> (BTreeMap<String, Vec<String>>, String) {
    let output = trailscan(&["queries", "lint", &text(folder)]);
    let report = stdout(&output);
    let mut problems: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in report.lines().filter(|l| l.contains(".yml:")) {
        let (path, rest) = line.split_once(".yml:").expect("file:line: message");
        let file = Path::new(path).file_name().unwrap().to_string_lossy();
        problems
            .entry(format!("{file}.yml"))
            .or_default()
            .push(rest.to_owned());
    }
    let last = report.lines().last().unwrap_or_default().to_owned();
    (problems, last)
}

/// Every SigmaHQ CloudTrail rule compiles or is refused with its reason, counted.
#[test]
fn sigmahq_rules_compile_or_are_refused_with_a_reason() {
    let (problems, summary) = lint(&sigmahq("rules"));
    assert_eq!(summary, "57 files checked, 1 problems");
    let refused: Vec<&String> = problems.keys().collect();
    assert_eq!(refused, ["aws_delete_saml_provider.yml"]);
    assert!(
        problems["aws_delete_saml_provider.yml"][0]
            .starts_with("26: 'status' is not a field of CloudTrail events"),
        "{problems:?}"
    );

    // The rules SigmaHQ marks unsupported use Sigma's first aggregations: each is refused,
    // saying to write a correlation rule instead.
    let (problems, summary) = lint(&sigmahq("unsupported"));
    assert!(summary.starts_with("8 files checked, "), "{summary}");
    assert_eq!(problems.len(), 8, "{problems:?}");
    for (file, reasons) in &problems {
        assert!(
            reasons.iter().any(|r| r.contains("correlation rule")),
            "{file}: {reasons:?}"
        );
    }

    // The placeholder needs values filled in by a Sigma pipeline.
    let (problems, summary) = lint(&sigmahq("placeholder"));
    assert_eq!(summary, "1 files checked, 2 problems");
    assert!(
        problems
            .values()
            .flatten()
            .all(|r| r.contains("placeholder values")),
        "{problems:?}"
    );

    // Loaded for a run, the 56 that compile are listed and the other is said on stderr.
    let output = trailscan(&["queries", "--rules", &text(&sigmahq("rules"))]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let listed = stdout(&output)
        .lines()
        .filter(|l| l.contains("sigma_aws_cloudtrail/rules/"))
        .count();
    assert_eq!(listed, 56);
    assert_eq!(stderr(&output).lines().count(), 1, "{}", stderr(&output));
    assert!(stderr(&output).starts_with("trailscan: warning: rule not loaded: "));
    assert!(stderr(&output).contains("aws_delete_saml_provider.yml:26:"));
}

/// Per SigmaHQ rule that compiles, `tests/sigma/<id>.json` holds events written from its
/// text: each of `match` must be among its findings, none of `no_match`.
#[test]
fn each_sigmahq_rule_finds_its_events_and_only_those() {
    let mut cases: Vec<(String, Vec<serde_json::Value>, Vec<serde_json::Value>)> = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("tests/sigma"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for path in files {
        let case: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let events = |key: &str| case[key].as_array().expect(key).clone();
        let (matching, other) = (events("match"), events("no_match"));
        assert!(
            !matching.is_empty() && !other.is_empty(),
            "{}",
            path.display()
        );
        cases.push((case["rule"].as_str().unwrap().to_owned(), matching, other));
    }
    let covered: BTreeSet<&str> = cases.iter().map(|(rule, _, _)| rule.as_str()).collect();
    let compiled: BTreeSet<String> = std::fs::read_dir(sigmahq("rules"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|f| f != "aws_delete_saml_provider.yml")
        .collect();
    let compiled: BTreeSet<&str> = compiled.iter().map(String::as_str).collect();
    assert_eq!(covered, compiled, "one case file per rule that compiles");

    // Every event gets its own time, which tells its findings apart.
    let dir = tempfile::tempdir().unwrap();
    let mut lines = String::new();
    let mut expected: Vec<(String, String, bool)> = Vec::new();
    let mut n = 0;
    for (rule, matching, other) in &cases {
        for (events, must) in [(matching, true), (other, false)] {
            for event in events {
                let mut event = event.clone();
                let time = format!(
                    "2026-11-20T{:02}:{:02}:{:02}Z",
                    n / 3600,
                    n / 60 % 60,
                    n % 60
                );
                event["eventTime"] = time.clone().into();
                event["eventID"] = format!("sigma-{n}").into();
                lines.push_str(&event.to_string());
                lines.push('\n');
                expected.push((rule_name(rule), time, must));
                n += 1;
            }
        }
    }
    write(dir.path(), "events.jsonl", lines.as_bytes());
    let output = trailscan(&[
        "audit",
        &text(dir.path()),
        "--rules",
        &text(&sigmahq("rules")),
        "--format",
        "jsonl",
    ]);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let mut found: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in stdout(&output).lines() {
        let row: serde_json::Value = serde_json::from_str(line).unwrap();
        if row["type"] == "row" {
            found
                .entry(row["query"].as_str().unwrap().to_owned())
                .or_default()
                .insert(row["row"]["eventTime"].as_str().unwrap().to_owned());
        }
    }
    let wrong: Vec<String> = (expected.iter())
        .filter(|(rule, time, must)| {
            found.get(rule).is_some_and(|times| times.contains(time)) != *must
        })
        .map(|(rule, time, must)| {
            let says = if *must { "missed" } else { "wrongly found" };
            format!("{rule} {says} its event at {time}")
        })
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// A correlation rule: its base rule and the correlation in one file.
const BRUTE_FORCE: &str = "\
title: Failed console sign-in
name: failed_console_signin
status: test
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventName: ConsoleLogin
        errorMessage|exists: true
    condition: selection
---
title: Console sign-in brute force from one address
id: 5b0bd2d1-5d2e-4b8a-9b4e-0d6f9bd1c001
status: experimental
description: Five or more failed console sign-ins from one address within five minutes.
author: trailscan tests
tags:
    - attack.credential-access
    - attack.t1110.001
correlation:
    type: event_count
    rules:
        - failed_console_signin
    group-by:
        - sourceIPAddress
    timespan: 5m
    condition:
        gte: 5
falsepositives:
    - A user who forgot a password
level: high
";

fn sign_in(time: &str, address: &str, user: &str) -> String {
    format!(
        r#"{{"eventVersion":"1.09","eventTime":"{time}","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"{address}","userIdentity":{{"type":"IAMUser","userName":"{user}"}},"errorMessage":"Failed authentication","responseElements":{{"ConsoleLogin":"Failure"}},"recipientAccountId":"111122223333","eventID":"{time}-{address}"}}"#
    )
}

/// The transcript the closing note shows: a correlation firing, by its name.
#[test]
fn a_correlation_rule_fires_per_address_and_window() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    write(&rules, "mr_console_brute_force.yml", BRUTE_FORCE.as_bytes());
    let mut events: Vec<String> = (0..6)
        .map(|i| {
            sign_in(
                &format!("2026-11-20T10:0{i}:30Z"),
                "203.0.113.66",
                ["alice", "bob"][i % 2],
            )
        })
        .collect();
    // Four from another address: under the threshold.
    events.extend(
        (0..4).map(|i| sign_in(&format!("2026-11-20T10:0{i}:10Z"), "198.51.100.7", "carol")),
    );
    let logs = dir.path().join("logs");
    write(&logs, "events.jsonl", events.join("\n").as_bytes());

    let output = trailscan(&[
        "mr-console-brute-force",
        &text(&logs),
        "--rules",
        &text(&rules),
    ]);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let shown = without_timing(&stdout(&output)).replace(&text(&logs), "LOGS");
    assert_golden("sigma-correlation.txt", &shown);

    let output = trailscan(&[
        "audit",
        &text(&logs),
        "--rules",
        &text(&rules),
        "--format",
        "jsonl",
    ]);
    let rows: Vec<serde_json::Value> = (stdout(&output).lines())
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|r: &serde_json::Value| r["query"] == "mr-console-brute-force")
        .collect();
    assert_eq!(rows.len(), 1, "{}", stdout(&output));
    let row = &rows[0]["row"];
    assert_eq!(row["window_start"], "2026-11-20T10:00:00Z");
    assert_eq!(row["sourceIPAddress"], "203.0.113.66");
    assert_eq!(row["events"], 5);
    assert_eq!(rows[0]["techniques"][0], "T1110.001");
}

#[test]
fn show_prints_a_rule_by_name_or_id_and_its_athena_sql() {
    let rules = text(&sigmahq("rules"));
    let output = trailscan(&[
        "show",
        "4db60cc0-36fb-42b7-9b58-a5b53019fb74",
        "--rules",
        &rules,
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let shown = stdout(&output);
    assert!(
        shown.starts_with("AWS CloudTrail Important Change (aws-cloudtrail-disable-logging)\nseverity     medium\n"),
        "{shown}"
    );
    for line in [
        "author       vitaliy0x1",
        "status       test",
        "false alarms Valid change in a Trail",
        "techniques   T1685.002",
        "tags         attack.defense-impairment, attack.t1685.002",
        "    condition: selection_source",
    ] {
        assert!(shown.contains(line), "{line}\n{shown}");
    }

    let output = trailscan(&[
        "show",
        "--sql",
        "aws-cloudtrail-disable-logging",
        "--rules",
        &rules,
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "SELECT eventTime, recipientAccountId AS account, awsRegion, eventName, userIdentity.arn AS principal, sourceIPAddress, errorCode\n\
         FROM cloudtrail_logs\n\
         WHERE lower(eventSource) = 'cloudtrail.amazonaws.com'\n  \
         AND lower(eventName) IN ('stoplogging', 'updatetrail', 'deletetrail')\n\
         ORDER BY eventTime\n"
    );
    // The SQL that `show --sql` prints runs as an ad-hoc query too.
    let sql = stdout(&output);
    let output = trailscan(&["query", &sql, "fixtures/trail", "--format", "csv"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));

    let output = trailscan(&["show", "--sql", "root-usage"]);
    assert!(
        stdout(&output).starts_with("SELECT eventTime"),
        "{}",
        stdout(&output)
    );
    let output = trailscan(&["show", "no-such-rule", "--rules", &rules]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("rules need --rules DIR"),
        "{}",
        stderr(&output)
    );
}

/// One rule that does not compile is said with its file and line; the others run.
#[test]
fn a_bad_rule_is_reported_and_the_rest_still_load() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    let good = "title: Trail stopped\nlogsource:\n    product: aws\n    service: cloudtrail\n\
                detection:\n    s:\n        eventName: StopLogging\n    condition: s\nlevel: high\n";
    write(&rules, "trail_stopped.yml", good.as_bytes());
    write(
        &rules,
        "broken.yml",
        good.replace("condition: s", "condition: s and nope")
            .as_bytes(),
    );
    write(
        &rules,
        "windows.yml",
        good.replace(
            "product: aws\n    service: cloudtrail",
            "product: windows\n    service: security",
        )
        .as_bytes(),
    );
    let logs = dir.path().join("logs");
    write(
        &logs,
        "e.json",
        br#"{"eventTime":"2026-11-20T10:00:00Z","eventName":"StopLogging","eventSource":"cloudtrail.amazonaws.com"}"#,
    );
    let output = trailscan(&[
        "trail-stopped",
        &text(&logs),
        "--rules",
        &text(&rules),
        "--format",
        "csv",
    ]);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    assert_eq!(stdout(&output).lines().count(), 2, "{}", stdout(&output));
    let warnings = stderr(&output);
    assert!(
        warnings.contains("broken.yml:8: the condition names 'nope', which is not a selection"),
        "{warnings}"
    );
    assert!(warnings.contains("1 rule files skipped"), "{warnings}");

    let output = trailscan(&["queries", "lint", &text(&rules)]);
    assert_eq!(code(&output), 1);
    assert!(
        stdout(&output)
            .ends_with("3 files checked, 1 problems, 1 rules skipped (not AWS CloudTrail)\n"),
        "{}",
        stdout(&output)
    );
}

/// `rules_dir` in the configuration file: one folder or a list, relative to the file.
#[test]
fn rules_dir_in_the_configuration_file() {
    let dir = tempfile::tempdir().unwrap();
    let rule = "title: Trail stopped\nlogsource:\n    product: aws\n    service: cloudtrail\n\
                detection:\n    s:\n        eventName: StopLogging\n    condition: s\nlevel: high\n";
    write(dir.path(), "a/trail_stopped.yml", rule.as_bytes());
    write(dir.path(), "b/trail_stopped_too.yml", rule.as_bytes());
    for (setting, names) in [
        ("rules_dir = \"a\"\n", vec!["trail-stopped"]),
        (
            "rules_dir = [\"a\", \"b\"]\n",
            vec!["trail-stopped", "trail-stopped-too"],
        ),
    ] {
        let config = write(dir.path(), "trailscan.toml", setting.as_bytes());
        let output = trailscan(&["queries", "--config", &text(&config)]);
        assert_eq!(code(&output), 0, "{}", stderr(&output));
        for name in names {
            assert!(stdout(&output).contains(&format!("│ {name} ")), "{setting}");
        }
    }
    let config = write(dir.path(), "trailscan.toml", b"rules_dir = 3\n");
    let output = trailscan(&["queries", "--config", &text(&config)]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("rules_dir: a folder, or a list of folders"),
        "{}",
        stderr(&output)
    );
}
