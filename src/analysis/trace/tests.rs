//! The tree of a trace, built from hand-made first-pass rows.

use chrono::{DateTime, Utc};

use super::seed::Seed;
use super::tree::{ConsoleKey, Issuance, KeyUse, build};

fn at(hms: &str) -> Option<DateTime<Utc>> {
    crate::record::parse_time(&format!("2026-11-22T{hms}Z"))
}

fn issued(
    time: &str,
    id: &str,
    name: &str,
    caller: &str,
    key: &str,
    arn: &str,
    shared: &str,
) -> Issuance {
    Issuance {
        time: at(time),
        event_id: id.into(),
        event_name: name.into(),
        account: "111122223333".into(),
        address: "203.0.113.66".into(),
        caller_key: caller.into(),
        caller_arn: "arn:aws:iam::111122223333:user/alice".into(),
        issued_key: key.into(),
        issued_arn: arn.into(),
        shared_event_id: shared.into(),
        ..Issuance::default()
    }
}

const SHARED: &str = "5f0c1d2e-0000-4000-8000-00000000c0de";

/// The fixture's chain, in an order no file would give: key → STS session, key → role →
/// role in the other account (logged twice), and an unrelated session of the same role.
fn chain() -> Vec<Issuance> {
    let mut other_copy = issued(
        "10:05:00",
        "e7b",
        "AssumeRole",
        "",
        "ASIAXACCTHOP00000001",
        "arn:aws:sts::444455556666:assumed-role/audit-xacct/hop",
        SHARED,
    );
    other_copy.account = "444455556666".into();
    vec![
        other_copy,
        issued(
            "10:05:00",
            "e7a",
            "AssumeRole",
            "ASIADEPLOYBREACH0001",
            "ASIAXACCTHOP00000001",
            "arn:aws:sts::444455556666:assumed-role/audit-xacct/hop",
            SHARED,
        ),
        issued(
            "09:30:00",
            "e0",
            "AssumeRole",
            "AKIACIUSER0000000001",
            "ASIADEPLOYCI00000001",
            "arn:aws:sts::111122223333:assumed-role/deploy/ci-1234",
            "",
        ),
        issued(
            "10:03:00",
            "e5",
            "AssumeRole",
            "AKIAALICELEAKED00001",
            "ASIADEPLOYBREACH0001",
            "arn:aws:sts::111122223333:assumed-role/deploy/breach",
            "",
        ),
        issued(
            "10:01:00",
            "e4",
            "GetSessionToken",
            "AKIAALICELEAKED00001",
            "ASIAALICESTS00000001",
            "arn:aws:iam::111122223333:user/alice",
            "",
        ),
    ]
}

fn shape(tree: &super::tree::Tree) -> Vec<String> {
    let drawn = tree.drawn();
    (tree.nodes.iter().zip(drawn))
        .map(|(n, line)| {
            format!("{} {line} [{}] {}", n.branch, n.via, n.note)
                .trim_end()
                .to_owned()
        })
        .collect()
}

#[test]
fn a_key_leads_to_its_sessions_and_none_of_another_callers() {
    let seed = Seed::Key("AKIAALICELEAKED00001".into());
    let tree = build(&seed, &[], &chain(), &[], None);
    assert_eq!(
        shape(&tree),
        [
            "1 AKIAALICELEAKED00001 [seed]",
            "1.1 ├─ ASIAALICESTS00000001 [GetSessionToken]",
            "1.2 └─ ASIADEPLOYBREACH0001 [AssumeRole]",
            "1.2.1    └─ ASIAXACCTHOP00000001 [AssumeRole]",
        ]
    );
    assert_eq!(tree.nodes[3].account, "444455556666");
    let keys: Vec<&str> = tree.keys().collect();
    assert!(!keys.contains(&"ASIADEPLOYCI00000001"));
    // The other account's copy of the chained AssumeRole belongs to its caller.
    assert_eq!(tree.node_of("", "e7b", SHARED), 2);
    assert_eq!(tree.node_of("ASIAXACCTHOP00000001", "x", ""), 3);
}

#[test]
fn depth_stops_following_and_says_how_much_was_left() {
    let seed = Seed::Key("AKIAALICELEAKED00001".into());
    let tree = build(&seed, &[], &chain(), &[], Some(1));
    assert_eq!(tree.nodes.len(), 3);
    assert_eq!(tree.beyond_depth, 1);
    let tree = build(&seed, &[], &chain(), &[], Some(0));
    assert_eq!(tree.nodes.len(), 1);
    assert_eq!(tree.beyond_depth, 2);
}

#[test]
fn a_middle_key_names_its_issuer_and_a_lost_one_says_so() {
    let seed = Seed::Key("ASIADEPLOYBREACH0001".into());
    let tree = build(&seed, &[], &chain(), &[], None);
    assert_eq!(
        tree.nodes[0].note,
        "issued by AKIAALICELEAKED00001 (AssumeRole e5)"
    );
    let seed = Seed::Key("ASIAORPHANMIDDLE0001".into());
    let tree = build(&seed, &[], &chain(), &[], None);
    assert_eq!(tree.nodes[0].note, "issuing event not in the sources");
}

#[test]
fn a_cycle_is_shown_once_and_not_followed() {
    let a = "ASIALOOPA00000000001";
    let b = "ASIALOOPB00000000001";
    let loop_edges = vec![
        issued("13:01:00", "l1", "AssumeRole", a, b, "arn:b", ""),
        issued("13:02:00", "l2", "AssumeRole", b, a, "arn:a", ""),
    ];
    let tree = build(&Seed::Key(a.into()), &[], &loop_edges, &[], None);
    assert_eq!(
        shape(&tree),
        [
            "1 ASIALOOPA00000000001 [seed] issued by ASIALOOPB00000000001 (AssumeRole l2)",
            "1.1 └─ ASIALOOPB00000000001 [AssumeRole]",
            "1.1.1    └─ ASIALOOPA00000000001 [AssumeRole] cycle: issued by its own session, at 1",
        ]
    );
    assert_eq!(tree.keys().count(), 2);
}

#[test]
fn a_console_sign_in_holds_its_session_keys() {
    let bob = "arn:aws:iam::111122223333:user/bob";
    let mut login = issued("11:00:00", "l", "ConsoleLogin", "", "", "", "");
    login.caller_arn = bob.into();
    login.address = "198.51.100.7".into();
    let console = [ConsoleKey {
        arn: bob.into(),
        created: at("11:00:00").unwrap(),
        key: "ASIABOBCONSOLE000001".into(),
    }];
    let uses = [
        KeyUse {
            key: "ASIABOBCONSOLE000001".into(),
            arn: bob.into(),
            account: "111122223333".into(),
            first: at("11:00:05"),
        },
        KeyUse {
            key: "AKIABOB0000000000001".into(),
            arn: bob.into(),
            account: "111122223333".into(),
            first: at("09:00:00"),
        },
    ];
    let seed = Seed::parse(bob).unwrap();
    let tree = build(&seed, &uses, &[login], &console, None);
    assert_eq!(
        shape(&tree),
        [
            "1 arn:aws:iam::111122223333:user/bob [seed]",
            "1.1 ├─ console session [ConsoleLogin] from 198.51.100.7",
            "1.1.1 │  └─ ASIABOBCONSOLE000001 [console]",
            "1.2 └─ AKIABOB0000000000001 [used by the seed]",
        ]
    );
    assert_eq!(tree.node_of("", "l", ""), 1);
    assert_eq!(tree.node_of("", "other", ""), 0);
}

#[test]
fn a_key_used_in_two_accounts_is_shown_once_at_its_first_use() {
    let bob = "arn:aws:iam::111122223333:user/bob";
    let used = |key: &str, account: &str, first: &str| KeyUse {
        key: key.into(),
        arn: bob.into(),
        account: account.into(),
        first: at(first),
    };
    // The seed SQL groups by account: one key, two rows, another key used in between.
    let uses = [
        used("AKIABOB0000000000001", "444455556666", "10:02:00"),
        used("AKIABOB0000000000002", "111122223333", "10:01:00"),
        used("AKIABOB0000000000001", "111122223333", "10:00:00"),
    ];
    let seed = Seed::parse(bob).unwrap();
    let tree = build(&seed, &uses, &[], &[], None);
    assert_eq!(
        shape(&tree),
        [
            "1 arn:aws:iam::111122223333:user/bob [seed]",
            "1.1 ├─ AKIABOB0000000000001 [used by the seed]",
            "1.2 └─ AKIABOB0000000000002 [used by the seed]",
        ]
    );
    assert_eq!(tree.nodes[1].account, "111122223333");
}
