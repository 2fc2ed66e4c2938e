//! `suspicious-ips --block` against moto: network ACL entries and WAF IP set addresses added,
//! kept, lifted on expiry, planned in a dry run, retried after a failure, capped and refused.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{Value, json};

use crate::util::moto::{create_topic, endpoint, sent, trailscan_s3};
use crate::util::targets::{
    AclEntry, acl_entries, create_acl, create_ip_set, default_acl, ip_set_addresses,
};
use crate::util::{code, stderr, trailscan, write};

/// `count` failed console sign-ins from `address`: enough to flag it.
fn failed_logins(address: &str, count: usize) -> Vec<Value> {
    (0..count)
        .map(|i| {
            json!({
                "eventVersion": "1.09", "eventID": format!("{address}-{i}"),
                "eventTime": format!("2026-11-20T10:{:02}:00Z", i % 60),
                "eventName": "ConsoleLogin", "eventSource": "signin.amazonaws.com",
                "eventType": "AwsConsoleSignIn", "awsRegion": "us-east-1",
                "recipientAccountId": "111122223333", "sourceIPAddress": address,
                "errorMessage": "Failed authentication",
                "responseElements": {"ConsoleLogin": "Failure"},
                "userIdentity": {"type": "IAMUser", "userName": "alice",
                                 "arn": "arn:aws:iam::111122223333:user/alice"},
            })
        })
        .collect()
}

/// A folder of logs in which `attackers` (address, failed sign-ins) are flagged; with none,
/// one ordinary call, so that nothing is flagged.
fn trail(dir: &Path, name: &str, attackers: &[(&str, usize)]) -> PathBuf {
    let mut events: Vec<Value> = (attackers.iter())
        .flat_map(|(address, count)| failed_logins(address, *count))
        .collect();
    if events.is_empty() {
        events.push(json!({
            "eventVersion": "1.09", "eventID": "quiet", "eventTime": "2026-11-20T10:00:00Z",
            "eventName": "DescribeInstances", "eventSource": "ec2.amazonaws.com",
            "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.200",
            "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/bob"},
        }));
    }
    let folder = dir.join(name);
    write(
        &folder,
        "events.json",
        json!({ "Records": events }).to_string().as_bytes(),
    );
    folder
}

fn run(endpoint: &str, trail: &Path, state: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "suspicious-ips",
        trail.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
        "--format",
        "jsonl",
    ];
    args.extend_from_slice(extra);
    trailscan_s3(endpoint, &args)
}

fn entry(rule: i32, network: &str, deny: bool) -> AclEntry {
    AclEntry {
        rule,
        network: network.to_owned(),
        deny,
    }
}

/// The lines of stderr that say a block was (or would be) made or lifted.
fn changes(output: &Output) -> Vec<String> {
    stderr(output)
        .lines()
        .filter(|l| l.contains("block ") && !l.contains("warning"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn flagged_addresses_get_deny_entries_at_reserved_rule_numbers_once_and_the_alert_says_so() {
    let endpoint = endpoint();
    // Someone else's entries: a DENY inside the reserved range, and the ALLOW after it.
    let foreign = [
        entry(100, "192.0.2.1/32", true),
        entry(300, "0.0.0.0/0", false),
    ];
    let acl = create_acl(endpoint, &foreign);
    let topic = create_topic(endpoint, "blocking");
    let dir = tempfile::tempdir().unwrap();
    let known = write(dir.path(), "known.txt", b"198.51.100.0/24\n");
    let logs = trail(
        dir.path(),
        "logs",
        &[
            ("203.0.113.50", 7),
            ("2001:db8::50", 5),
            ("10.0.0.9", 6),
            ("198.51.100.7", 6),
            ("ec2.amazonaws.com", 9),
        ],
    );
    let state = dir.path().join("state.json");
    let target = format!("nacl:{acl}");
    let args = [
        "--block",
        &target,
        "--rule-range",
        "100-199",
        "--known-cidrs",
        known.to_str().unwrap(),
        "--sns-topic",
        &topic,
    ];
    let first = run(endpoint, &logs, &state, &args);
    assert_eq!(code(&first), 1, "{}", stderr(&first));
    let mut expected = foreign.to_vec();
    expected.push(entry(101, "203.0.113.50/32", true));
    expected.push(entry(102, "2001:db8::50/128", true));
    expected.sort();
    assert_eq!(acl_entries(endpoint, &acl), expected);
    let said = stderr(&first);
    assert!(
        said.contains(&format!("trailscan: block 203.0.113.50/32 in {target} (rule 101) until removed by hand: failed sign-ins")),
        "{said}"
    );
    assert!(
        said.contains("warning: 10.0.0.9/32 not blocked: a private or reserved address")
            && said.contains("warning: 198.51.100.7/32 not blocked: it is in the known networks"),
        "{said}"
    );
    assert!(!said.contains("ec2.amazonaws.com"), "{said}");
    // The state says what was added where, when and why.
    let recorded: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    let record = &recorded["blocks"][&format!("nacl:us-east-1:{acl}")]["203.0.113.50/32"];
    assert_eq!(record["rule"], 101, "{recorded}");
    assert!(
        record["reasons"]
            .as_str()
            .unwrap()
            .contains("failed sign-ins"),
        "{recorded}"
    );
    assert!(record["added"].is_string(), "{recorded}");
    let alert = &sent(endpoint, &topic)[0];
    assert!(
        alert.body.contains("\nBlocking (--block):\n")
            && alert.body.contains(&format!(
                "\n- block 203.0.113.50/32 in {target} (rule 101) until removed by hand"
            )),
        "{}",
        alert.body
    );

    let second = run(endpoint, &logs, &state, &args);
    assert_eq!(code(&second), 0, "{}", stderr(&second));
    assert_eq!(changes(&second), Vec::<String>::new());
    assert_eq!(
        acl_entries(endpoint, &acl),
        expected,
        "a second run adds nothing"
    );
}

#[test]
fn expired_blocks_are_lifted_and_only_trailscans_own() {
    let endpoint = endpoint();
    let foreign = [
        entry(99, "192.0.2.2/32", true),
        entry(100, "192.0.2.1/32", true),
    ];
    let acl = create_acl(endpoint, &foreign);
    let set = create_ip_set(endpoint, "expiry", false, &["192.0.2.9/32"]);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let (nacl, wafv2) = (format!("nacl:{acl}"), format!("wafv2:{set}"));
    let args = [
        "--block",
        &nacl,
        "--block",
        &wafv2,
        "--rule-range",
        "100-199",
        "--block-for",
        "2s",
    ];
    let attack = trail(dir.path(), "attack", &[("203.0.113.60", 6)]);
    let first = run(endpoint, &attack, &state, &args);
    assert_eq!(code(&first), 1, "{}", stderr(&first));
    assert_eq!(
        acl_entries(endpoint, &acl),
        [
            foreign[0].clone(),
            foreign[1].clone(),
            entry(101, "203.0.113.60/32", true)
        ]
    );
    assert_eq!(
        ip_set_addresses(endpoint, &set),
        ["192.0.2.9/32", "203.0.113.60/32"]
    );

    std::thread::sleep(std::time::Duration::from_secs(3));
    let quiet = trail(dir.path(), "quiet", &[]);
    let dry = run(
        endpoint,
        &quiet,
        &state,
        &[&args[..], &["--dry-run"]].concat(),
    );
    assert_eq!(code(&dry), 0, "{}", stderr(&dry));
    assert_eq!(
        changes(&dry).len(),
        2,
        "the dry run says both: {}",
        stderr(&dry)
    );
    assert!(
        changes(&dry)[0].starts_with(&format!(
            "trailscan: dry run: would unblock 203.0.113.60/32 in {nacl} (rule 101): expired "
        )),
        "{}",
        stderr(&dry)
    );
    assert_eq!(
        acl_entries(endpoint, &acl).len(),
        3,
        "a dry run changes nothing"
    );

    // Nothing new is found, and the blocks lifted still get a message of their own.
    let topic = create_topic(endpoint, "lifted");
    let later = run(
        endpoint,
        &quiet,
        &state,
        &[&args[..], &["--sns-topic", &topic]].concat(),
    );
    assert_eq!(code(&later), 0, "{}", stderr(&later));
    let alerts = sent(endpoint, &topic);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(
        alerts[0].subject,
        "[trailscan] HIGH suspicious-ips: blocking"
    );
    assert!(
        alerts[0].body.contains(&format!(
            "\n- unblock 203.0.113.60/32 in {nacl} (rule 101): expired "
        )),
        "{}",
        alerts[0].body
    );
    assert_eq!(changes(&later).len(), 2, "{}", stderr(&later));
    assert_eq!(
        acl_entries(endpoint, &acl),
        foreign,
        "only trailscan's entry is removed"
    );
    assert_eq!(ip_set_addresses(endpoint, &set), ["192.0.2.9/32"]);
    let recorded = std::fs::read_to_string(&state).unwrap();
    assert!(!recorded.contains("\"blocks\""), "{recorded}");
}

#[test]
fn a_dry_run_says_what_it_would_add_and_changes_nothing() {
    let endpoint = endpoint();
    let acl = create_acl(endpoint, &[entry(100, "192.0.2.1/32", true)]);
    let set = create_ip_set(endpoint, "dry", true, &[]);
    let dir = tempfile::tempdir().unwrap();
    let logs = trail(
        dir.path(),
        "logs",
        &[("203.0.113.70", 6), ("2001:db8::70", 5)],
    );
    let state = dir.path().join("state.json");
    let (nacl, wafv2) = (format!("nacl:{acl}"), format!("wafv2:{set}"));
    let output = run(
        endpoint,
        &logs,
        &state,
        &[
            "--block",
            &nacl,
            "--block",
            &wafv2,
            "--rule-range",
            "100-199",
            "--dry-run",
        ],
    );
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    assert_eq!(
        changes(&output),
        [
            format!(
                "trailscan: dry run: would block 203.0.113.70/32 in {nacl} (rule 101) until removed by hand: failed sign-ins"
            ),
            format!(
                "trailscan: dry run: would block 2001:db8::70/128 in {nacl} (rule 102) until removed by hand: failed sign-ins"
            ),
            format!(
                "trailscan: dry run: would block 2001:db8::70/128 in {wafv2} until removed by hand: failed sign-ins"
            ),
        ]
    );
    assert_eq!(
        acl_entries(endpoint, &acl),
        [entry(100, "192.0.2.1/32", true)]
    );
    assert_eq!(ip_set_addresses(endpoint, &set), Vec::<String>::new());
    assert!(!state.exists(), "a dry run writes no state");
}

#[test]
fn a_missing_target_or_a_closed_port_exits_2_in_one_line_and_the_block_is_retried() {
    let endpoint = endpoint();
    let dir = tempfile::tempdir().unwrap();
    let logs = trail(dir.path(), "logs", &[("203.0.113.80", 6)]);
    let missing = [
        (
            "nacl:acl-0000000000000000f".to_owned(),
            "network ACL acl-0000000000000000f does not exist: check --block",
        ),
        (
            "wafv2:arn:aws:wafv2:us-east-1:123456789012:regional/ipset/gone/00000000-0000-0000-0000-000000000000".to_owned(),
            "WAF IP set gone (REGIONAL) does not exist: check --block",
        ),
    ];
    for (target, reason) in &missing {
        let state = dir.path().join("missing.json");
        let output = run(
            endpoint,
            &logs,
            &state,
            &["--block", target, "--rule-range", "100-199"],
        );
        assert_eq!(code(&output), 2, "{}", stderr(&output));
        let said = stderr(&output);
        let lines: Vec<&str> = said
            .lines()
            .filter(|l| l.contains(target.as_str()))
            .collect();
        assert_eq!(
            lines,
            [format!(
                "trailscan: {target}: {reason}; nothing changed there (kept for the next run: 203.0.113.80/32)"
            )],
            "{said}"
        );
        std::fs::remove_file(&state).unwrap();
    }

    // The network is down: the block waits in the state, and the next run makes it.
    let acl = create_acl(endpoint, &[]);
    let target = format!("nacl:{acl}");
    let state = dir.path().join("state.json");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut args = vec![
        "suspicious-ips".to_owned(),
        logs.to_string_lossy().into_owned(),
        "--state".to_owned(),
        state.to_string_lossy().into_owned(),
        "--block".to_owned(),
        target.clone(),
        "--rule-range".to_owned(),
        "100-199".to_owned(),
    ];
    args.extend([
        "--endpoint-url".to_owned(),
        format!("http://127.0.0.1:{closed}"),
    ]);
    let down = crate::util::isolated(assert_cmd::Command::cargo_bin("trailscan").unwrap())
        .args(&args)
        .envs(crate::util::moto::AWS_ENV.iter().copied())
        .output()
        .unwrap();
    assert_eq!(code(&down), 2, "{}", stderr(&down));
    let all = stderr(&down);
    let said: Vec<&str> = all.lines().filter(|l| l.contains(&target)).collect();
    assert_eq!(said.len(), 1, "{}", stderr(&down));
    assert!(
        said[0].contains("cannot reach EC2")
            && said[0].ends_with("(kept for the next run: 203.0.113.80/32)"),
        "{}",
        said[0]
    );
    let quiet = trail(dir.path(), "quiet", &[]);
    let retried = run(
        endpoint,
        &quiet,
        &state,
        &["--block", &target, "--rule-range", "100-199"],
    );
    assert_eq!(code(&retried), 0, "{}", stderr(&retried));
    assert_eq!(
        acl_entries(endpoint, &acl),
        [entry(100, "203.0.113.80/32", true)]
    );
}

#[test]
fn the_cap_and_the_configuration_file_block_from_cron() {
    let endpoint = endpoint();
    let acl = create_acl(endpoint, &[]);
    let dir = tempfile::tempdir().unwrap();
    let logs = trail(
        dir.path(),
        "logs",
        &[
            ("203.0.113.1", 9),
            ("203.0.113.2", 8),
            ("203.0.113.3", 7),
            ("203.0.113.4", 6),
            ("198.51.100.4", 10),
        ],
    );
    let config = write(
        dir.path(),
        "trailscan.toml",
        format!(
            "sources = [\"{}\"]\nstate = \"state.json\"\nblock = [\"nacl:{acl}\"]\nrule_range = \"10-19\"\n\
             max_blocks = 2\nknown_cidrs = [\"198.51.100.0/24\"]\n",
            logs.display()
        )
        .as_bytes(),
    );
    let output = trailscan_s3(
        endpoint,
        &["suspicious-ips", "--config", config.to_str().unwrap()],
    );
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    assert_eq!(
        acl_entries(endpoint, &acl),
        [
            entry(10, "203.0.113.1/32", true),
            entry(11, "203.0.113.2/32", true)
        ]
    );
    assert!(
        stderr(&output).contains("warning: --max-blocks 2 reached: 2 more flagged addresses not blocked (203.0.113.3/32, 203.0.113.4/32); raise --max-blocks to block them"),
        "{}",
        stderr(&output)
    );
    // The audit shares the file, and never blocks.
    let audit = trailscan_s3(endpoint, &["audit", "--config", config.to_str().unwrap()]);
    assert!(code(&audit) < 2, "{}", stderr(&audit));
    assert_eq!(acl_entries(endpoint, &acl).len(), 2);
}

#[test]
fn block_settings_are_checked_before_anything_is_read() {
    for (args, expected) in [
        (
            vec![
                "suspicious-ips",
                "fixtures/trail",
                "--block",
                "nacl:acl-01",
                "--rule-range",
                "1-99",
            ],
            "--block needs --state FILE",
        ),
        (
            vec![
                "suspicious-ips",
                "fixtures/trail",
                "--block",
                "nacl:acl-01",
                "--dry-run",
            ],
            "--block nacl:… needs --rule-range FROM-TO",
        ),
        (
            vec![
                "audit",
                "fixtures/trail",
                "--block",
                "nacl:acl-01",
                "--dry-run",
            ],
            "--block denies the addresses that suspicious-ips flags",
        ),
        (
            vec![
                "suspicious-ips",
                "fixtures/trail",
                "--block",
                "sg-01",
                "--dry-run",
            ],
            "invalid --block: 'sg-01' is not a blocking target",
        ),
        (
            vec![
                "suspicious-ips",
                "fixtures/trail",
                "--block",
                "nacl:acl-01",
                "--rule-range",
                "0-99",
                "--dry-run",
            ],
            "invalid --rule-range: '0-99' is not a range of rule numbers",
        ),
        (
            vec![
                "suspicious-ips",
                "fixtures/trail",
                "--block",
                "nacl:acl-01",
                "--rule-range",
                "1-9",
                "--max-blocks",
                "0",
                "--dry-run",
            ],
            "--max-blocks must be at least 1",
        ),
    ] {
        let output = trailscan(&args);
        assert_eq!(code(&output), 2, "{args:?}: {}", stderr(&output));
        assert!(
            stderr(&output).starts_with(&format!("trailscan: {expected}")),
            "{args:?}: {}",
            stderr(&output)
        );
        assert_eq!(stderr(&output).lines().count(), 1, "{}", stderr(&output));
    }
}

/// A state file holding `records` (network → record) for the target `key`.
fn state_with(path: &Path, key: &str, records: Value) {
    let contents = json!({
        "version": 3, "prefixes": {}, "alerted": {}, "blocks": { key: records },
    });
    std::fs::write(path, contents.to_string()).unwrap();
}

#[test]
fn the_catch_all_entry_of_a_default_acl_does_not_count_as_a_block() {
    let endpoint = endpoint();
    let acl = default_acl(endpoint);
    let before = acl_entries(endpoint, &acl);
    assert!(
        before.contains(&entry(32767, "0.0.0.0/0", true)),
        "{before:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    let logs = trail(dir.path(), "logs", &[("203.0.113.90", 6)]);
    let state = dir.path().join("state.json");
    let target = format!("nacl:{acl}");
    let output = run(
        endpoint,
        &logs,
        &state,
        &["--block", &target, "--rule-range", "1-99"],
    );
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let mut expected = before.clone();
    expected.push(entry(1, "203.0.113.90/32", true));
    expected.sort();
    assert_eq!(acl_entries(endpoint, &acl), expected, "{}", stderr(&output));
}

#[test]
fn a_retry_is_refused_once_known_and_a_lost_answer_is_adopted_not_forgotten() {
    let endpoint = endpoint();
    // The earlier run's CreateNetworkAclEntry went through; its answer did not.
    let acl = create_acl(endpoint, &[entry(150, "203.0.113.95/32", true)]);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let target = format!("nacl:{acl}");
    let pending = |expires: &str| json!({"expires": expires, "reasons": "failed sign-ins", "flagged": "2026-11-20T10:00:00Z"});
    state_with(
        &state,
        &format!("nacl:us-east-1:{acl}"),
        json!({
            "203.0.113.95/32": pending("2000-01-01T00:00:00Z"),
            "198.51.100.7/32": pending("2999-01-01T00:00:00Z"),
        }),
    );
    let known = write(dir.path(), "known.txt", b"198.51.100.0/24\n");
    // Only a private address is flagged: nothing new to block.
    let quiet = trail(dir.path(), "quiet", &[("10.0.0.8", 6)]);
    let output = run(
        endpoint,
        &quiet,
        &state,
        &[
            "--block",
            &target,
            "--rule-range",
            "100-199",
            "--known-cidrs",
            known.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let said = stderr(&output);
    assert!(
        said.contains("warning: 198.51.100.7/32: not added to")
            && said.contains("it is in the known networks"),
        "{said}"
    );
    assert!(
        said.contains(&format!(
            "trailscan: unblock 203.0.113.95/32 in {target} (rule 150): expired "
        )),
        "{said}"
    );
    assert_eq!(
        acl_entries(endpoint, &acl),
        Vec::<AclEntry>::new(),
        "{said}"
    );
    let recorded = std::fs::read_to_string(&state).unwrap();
    assert!(!recorded.contains("\"blocks\""), "{recorded}");
}

#[test]
fn old_state_keys_are_read_and_only_the_rule_range_is_deleted() {
    let endpoint = endpoint();
    let acl = create_acl(
        endpoint,
        &[
            entry(5, "192.0.2.5/32", true),
            entry(100, "203.0.113.99/32", true),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let added = |rule: i32| json!({"added": "2026-11-20T10:00:00Z", "expires": "2000-01-01T00:00:00Z", "rule": rule, "reasons": "r", "flagged": "2026-11-20T10:00:00Z"});
    // Written under the other spelling of the same ACL.
    state_with(
        &state,
        &format!("nacl:{acl}"),
        json!({ "192.0.2.5/32": added(5), "203.0.113.99/32": added(100) }),
    );
    let target = format!("nacl:us-east-1:{acl}");
    let quiet = trail(dir.path(), "quiet", &[]);
    let output = run(
        endpoint,
        &quiet,
        &state,
        &["--block", &target, "--rule-range", "100-199"],
    );
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(
        acl_entries(endpoint, &acl),
        [entry(5, "192.0.2.5/32", true)],
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains(&format!(
            "warning: {target}: 192.0.2.5/32: rule 5 is outside --rule-range 100-199: not removed"
        )),
        "{}",
        stderr(&output)
    );
    let recorded: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    let blocks = recorded["blocks"].as_object().unwrap();
    assert_eq!(blocks.keys().collect::<Vec<_>>(), [&target], "{recorded}");
    assert_eq!(blocks[&target]["192.0.2.5/32"]["rule"], 5, "{recorded}");
}

#[test]
fn warnings_alone_send_no_alert_from_cron() {
    let endpoint = endpoint();
    let acl = create_acl(endpoint, &[]);
    let topic = create_topic(endpoint, "quiet-blocking");
    let dir = tempfile::tempdir().unwrap();
    let logs = trail(dir.path(), "logs", &[("10.0.0.9", 6)]);
    let state = dir.path().join("state.json");
    let target = format!("nacl:{acl}");
    let args = [
        "--block",
        &target,
        "--rule-range",
        "100-199",
        "--sns-topic",
        &topic,
    ];
    let first = run(endpoint, &logs, &state, &args);
    assert_eq!(code(&first), 1, "{}", stderr(&first));
    assert!(stderr(&first).contains("warning: 10.0.0.9/32 not blocked"));
    let alerts = sent(endpoint, &topic);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(!alerts[0].body.contains("Blocking"), "{}", alerts[0].body);
    let second = run(endpoint, &logs, &state, &args);
    assert!(code(&second) < 2, "{}", stderr(&second));
    assert!(stderr(&second).contains("warning: 10.0.0.9/32 not blocked"));
    assert_eq!(sent(endpoint, &topic).len(), 1, "no new message");
}

#[test]
fn block_typed_with_the_audit_is_an_error_even_when_the_file_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "trailscan.toml",
        b"block = [\"nacl:acl-01\"]\nrule_range = \"1-99\"\n",
    );
    let output = trailscan(&[
        "audit",
        "fixtures/trail",
        "--config",
        config.to_str().unwrap(),
        "--block",
        "nacl:acl-02",
    ]);
    assert_eq!(code(&output), 2, "{}", stderr(&output));
    assert!(
        stderr(&output)
            .starts_with("trailscan: --block denies the addresses that suspicious-ips flags"),
        "{}",
        stderr(&output)
    );
    assert_eq!(stderr(&output).lines().count(), 1, "{}", stderr(&output));
}
