//! Investigation: `trace` of each kind of seed, `summary` and `timeline`, on fixtures/investigate.

use crate::util::{code, stderr, stdout, trailscan, write};

const LOGS: &str = "fixtures/investigate";
const ALICE_KEY: &str = "AKIAALICELEAKED00001";

/// The rows of one result of a CSV report, without the `query,severity` cells, as lines.
fn csv_rows(output: &std::process::Output, query: &str) -> Vec<String> {
    let prefix = format!("{query},info,");
    stdout(output)
        .lines()
        .filter_map(|line| line.strip_prefix(&prefix).map(str::to_owned))
        .collect()
}

/// `trace SEED` over the fixtures as CSV, after checking it ran cleanly.
fn trace(args: &[&str]) -> std::process::Output {
    let mut all = vec!["trace"];
    all.extend(args);
    all.extend([LOGS, "--format", "csv"]);
    let output = trailscan(&all);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    output
}

/// The branch and drawn credential of each node of the tree.
fn tree(output: &std::process::Output) -> Vec<String> {
    csv_rows(output, "trace-tree")
        .iter()
        .map(|row| row.split(',').take(2).collect::<Vec<_>>().join(" "))
        .collect()
}

/// eventName and branch of each timeline row.
fn timeline(output: &std::process::Output) -> Vec<String> {
    csv_rows(output, "trace-timeline")
        .iter()
        .map(|row| {
            let cells: Vec<&str> = row.split(',').collect();
            format!("{} {} {}", cells[1], cells[5], cells[8])
        })
        .collect()
}

fn summary_item(output: &std::process::Output, item: &str) -> String {
    let prefix = format!("{item},");
    csv_rows(output, "trace-summary")
        .into_iter()
        .find_map(|row| row.strip_prefix(&prefix).map(str::to_owned))
        .unwrap_or_else(|| panic!("no {item} in the summary"))
}

#[test]
fn trace_of_a_leaked_key_finds_the_planted_branches_and_nothing_else() {
    let output = trace(&[ALICE_KEY]);
    assert_eq!(
        tree(&output),
        [
            "1 AKIAALICELEAKED00001",
            "1.1 ├─ ASIAALICESTS00000001",
            "1.2 └─ ASIADEPLOYBREACH0001",
            "1.2.1 \"   └─ ASIAXACCTHOP00000001\"",
        ]
    );
    assert_eq!(
        timeline(&output),
        [
            "111122223333 GetCallerIdentity 1",
            "111122223333 GetSessionToken 1",
            "111122223333 ListBuckets 1.1",
            "111122223333 AssumeRole 1",
            "111122223333 DescribeInstances 1.2",
            "111122223333 AssumeRole 1.2",
            // The role's account logs the same cross-account AssumeRole (one sharedEventID).
            "444455556666 AssumeRole 1.2",
            "444455556666 GetObject 1.2.1",
            "444455556666 PutBucketPolicy 1.2.1",
            "444455556666 DeleteTrail 1.2.1",
        ]
    );
    let text = stdout(&output);
    for unrelated in [
        "ci-1234",
        "ASIADEPLOYCI",
        "10.0.0.5",
        "RunInstances",
        "Boto3",
    ] {
        assert!(!text.contains(unrelated), "{unrelated} is not alice's");
    }
    assert_eq!(
        summary_item(&output, "accounts"),
        "\"2: 111122223333, 444455556666\""
    );
    assert_eq!(
        summary_item(&output, "regions"),
        "\"2: eu-west-1, us-east-1\""
    );
    assert_eq!(summary_item(&output, "write_calls"), "2");
    assert_eq!(summary_item(&output, "denied_calls"), "1");
    assert_eq!(summary_item(&output, "data_access_calls"), "1");
    assert_eq!(summary_item(&output, "first_seen"), "2026-11-22T10:00:00Z");
    assert_eq!(summary_item(&output, "last_seen"), "2026-11-22T10:08:00Z");
    assert_eq!(summary_item(&output, "addresses"), "1: 203.0.113.66");
    assert_eq!(
        summary_item(&output, "canned_queries_fired"),
        "\"cloudtrail-changes (1), policy-changes (1), s3-bucket-policy-changes (1), unauthorized-calls (1)\""
    );
}

#[test]
fn trace_of_each_kind_of_seed() {
    // A role session: its key, and the role it chained into in the other account.
    let output = trace(&["arn:aws:iam::111122223333:role/deploy/breach"]);
    assert_eq!(
        tree(&output),
        [
            "1 arn:aws:iam::111122223333:role/deploy/breach",
            "1.1 └─ ASIADEPLOYBREACH0001",
            "1.1.1 \"   └─ ASIAXACCTHOP00000001\"",
        ]
    );
    assert_eq!(timeline(&output).len(), 6);
    // A principal: bob's console sign-in and the key of that session.
    let bob = trace(&["arn:aws:iam::111122223333:user/bob"]);
    let console_tree = [
        "1.1 └─ console session",
        "1.1.1 \"   └─ ASIABOBCONSOLE000001\"",
    ];
    assert_eq!(tree(&bob)[1..], console_tree);
    assert_eq!(
        timeline(&bob),
        [
            "111122223333 ConsoleLogin 1.1",
            "111122223333 DescribeInstances 1.1.1",
            "111122223333 DescribeVolumes 1.1.1",
            "111122223333 DescribeSecurityGroups 1.1.1",
            "111122223333 DescribeVpcs 1.1.1",
            "111122223333 DescribeSubnets 1.1.1",
            "111122223333 CreateAccessKey 1.1.1",
        ]
    );
    // An address: the same session, found from where it came.
    let address = trace(&["198.51.100.7"]);
    assert_eq!(tree(&address)[0], "1 address 198.51.100.7");
    assert_eq!(tree(&address)[1..], console_tree);
    assert_eq!(timeline(&address), timeline(&bob));
    // An eventID: the key that made it, and all it led to.
    let event = trace(&["00000000-0000-4000-9000-000000000001"]);
    assert_eq!(tree(&event).len(), 5);
    assert_eq!(tree(&event)[1], "1.1 └─ AKIAALICELEAKED00001");
    assert_eq!(timeline(&event).len(), 10);
}

#[test]
fn trace_says_where_a_chain_is_broken_and_stops_at_cycles_and_depth() {
    // The AssumeRole that issued the orphan session is not in the logs: from carol's key
    // nothing leads to it, and tracing the orphan's key says its issuer is missing.
    let carol = trace(&["AKIACAROL00000000001"]);
    assert_eq!(tree(&carol), ["1 AKIACAROL00000000001"]);
    assert_eq!(timeline(&carol), ["111122223333 GetCallerIdentity 1"]);
    let orphan = trace(&["ASIAORPHANMIDDLE0001"]);
    assert_eq!(
        tree(&orphan),
        ["1 ASIAORPHANMIDDLE0001", "1.1 └─ ASIAORPHANHOP0000001"]
    );
    assert!(csv_rows(&orphan, "trace-tree")[0].ends_with(",issuing event not in the sources"));
    assert_eq!(
        summary_item(&orphan, "issuer_not_in_sources"),
        "ASIAORPHANMIDDLE0001"
    );

    // Two sessions that issued each other: each shown once, the loop named.
    let cycle = trace(&["ASIALOOPA00000000001"]);
    let rows = csv_rows(&cycle, "trace-tree");
    assert_eq!(rows.len(), 3);
    assert!(
        rows[2].ends_with(",0,\"cycle: issued by its own session, at 1\""),
        "{}",
        rows[2]
    );
    assert_eq!(timeline(&cycle).len(), 3);

    let shallow = trace(&[ALICE_KEY, "--depth", "1"]);
    assert_eq!(tree(&shallow).len(), 3);
    assert!(!stdout(&shallow).contains("444455556666,us-east-1"));
    assert_eq!(summary_item(&shallow, "not_followed_beyond_depth"), "1");
}

#[test]
fn trace_output_is_the_same_whatever_the_thread_count_and_format() {
    let run = |threads: &str, format: &str| {
        let output = trailscan(&[
            "trace",
            ALICE_KEY,
            LOGS,
            "--threads",
            threads,
            "--format",
            format,
        ]);
        assert_eq!(code(&output), 0);
        crate::util::without_timing(&stdout(&output))
    };
    for format in ["table", "jsonl"] {
        assert_eq!(run("1", format), run("2", format), "{format}");
    }
    let jsonl = run("2", "jsonl");
    assert_eq!(jsonl.matches("\"query\":\"trace-timeline\"").count(), 10);
    assert!(jsonl.contains("\"credential\":\"└─ ASIADEPLOYBREACH0001\""));
}

#[test]
fn a_seed_that_is_none_of_the_kinds_is_one_clear_error() {
    let output = trailscan(&["trace", "alice", LOGS]);
    assert_eq!(code(&output), 2);
    let text = stderr(&output);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        text.contains("invalid SEED: 'alice' is not an access key id"),
        "{text}"
    );
}

#[test]
fn suppressions_reach_the_canned_queries_of_summary_and_trace() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "trailscan.toml",
        b"[suppress.cloudtrail-changes]\n\
          principals = [\"arn:aws:sts::444455556666:assumed-role/audit-xacct/*\"]\n",
    );
    let config = config.to_str().unwrap();
    let output = trailscan(&["--config", config, "summary", LOGS, "--format", "csv"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let rows = csv_rows(&output, "summary");
    let xacct = (rows.iter())
        .find(|row| row.starts_with("arn:aws:iam::444455556666:role/audit-xacct,"))
        .expect("audit-xacct is summarised");
    assert!(
        xacct.contains(
            "\"policy-changes (1), s3-bucket-policy-changes (1), unauthorized-calls (1)\",3"
        ),
        "{xacct}"
    );
    assert!(!xacct.contains("cloudtrail-changes"), "{xacct}");
    // The second pass's copies of the canned queries are suppressed as well.
    let mut args = vec!["--config", config];
    args.extend(["trace", ALICE_KEY, LOGS, "--format", "csv"]);
    let output = trailscan(&args);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(
        summary_item(&output, "canned_queries_fired"),
        "\"policy-changes (1), s3-bucket-policy-changes (1), unauthorized-calls (1)\""
    );
}

#[test]
fn summary_ranks_principals_by_risk() {
    let output = trailscan(&["summary", LOGS, "--format", "csv"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let principals: Vec<String> = csv_rows(&output, "summary")
        .iter()
        .map(|row| row.split(',').take(3).collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        principals,
        [
            "arn:aws:iam::444455556666:role/audit-xacct AssumedRole critical",
            "arn:aws:iam::111122223333:user/bob IAMUser high",
            "arn:aws:iam::111122223333:role/deploy AssumedRole none",
            "arn:aws:iam::111122223333:user/alice IAMUser none",
            "arn:aws:iam::111122223333:role/loop AssumedRole none",
            "arn:aws:iam::111122223333:user/ci IAMUser none",
            "111122223333 AWSAccount none",
            "arn:aws:iam::111122223333:user/carol IAMUser none",
        ]
    );
    let output = trailscan(&[
        "summary",
        LOGS,
        "--principal",
        "*:role/deploy",
        "--format",
        "csv",
    ]);
    let rows = csv_rows(&output, "summary");
    assert_eq!(rows.len(), 1);
    // events, error ratio, APIs, writes, denied, regions, addresses, agents, keys
    assert!(
        rows[0].starts_with(
            "arn:aws:iam::111122223333:role/deploy,AssumedRole,none,6,0,4,1,0,2,3,2,3,"
        ),
        "{}",
        rows[0]
    );
}

#[test]
fn timeline_condenses_a_burst_of_console_reads_and_raw_shows_each() {
    let args = [
        "timeline",
        LOGS,
        "--principal",
        "*:user/bob",
        "--format",
        "csv",
    ];
    let output = trailscan(&args);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let names: Vec<String> = csv_rows(&output, "timeline")
        .iter()
        .map(|row| {
            let cells: Vec<&str> = row.split(',').collect();
            format!("{} {}", cells[0], cells[6..cells.len() - 3].join(","))
        })
        .collect();
    assert_eq!(
        names,
        [
            "2026-11-22T11:00:00Z ConsoleLogin",
            "2026-11-22T11:00:05Z \"console: 5 read calls, Describe*, 4 s\"",
            "2026-11-22T11:02:00Z CreateAccessKey",
        ]
    );
    let raw = trailscan(&[&args[..], &["--raw"]].concat());
    assert_eq!(csv_rows(&raw, "timeline").len(), 7);
    let filtered = trailscan(&[
        "timeline",
        LOGS,
        "--address",
        "203.0.113.66",
        "--event",
        "Put*",
        "--format",
        "csv",
    ]);
    let rows = csv_rows(&filtered, "timeline");
    assert_eq!(rows.len(), 1);
    assert!(rows[0].contains(",PutBucketPolicy,"));
}
