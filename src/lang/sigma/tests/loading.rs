//! Loading rules: located problems, metadata, correlations, the Athena SQL and regex literals.

use super::*;

/// A problem of a rule is refused with its line and what to do; a rule for another log
/// source is skipped.
#[test]
fn problems_are_located() {
    let cases: &[(&str, u64, &str)] = &[
        (
            "    s:\n        eventName: x\n    condition: s and filter",
            10,
            "'filter', which is not a selection",
        ),
        (
            "    s:\n        CommandLine|windash: '-x'\n    condition: s",
            9,
            "no CloudTrail field holds a Windows command line",
        ),
        (
            "    s:\n        status: 'success'\n    condition: s",
            9,
            "'status' is not a field of CloudTrail events",
        ),
        (
            "    s:\n        eventName: x\n    timeframe: 5m\n    condition: s | count() > 5",
            10,
            "timeframe belongs to Sigma's old aggregations",
        ),
        (
            "    s:\n        sourceIPAddress|cidr: '2001:db8::/32'\n    condition: s",
            9,
            "IPv6 networks are not supported",
        ),
        (
            "    s:\n        userAgent|re: '(unclosed'\n    condition: s",
            9,
            "not a regular expression",
        ),
        (
            "    s:\n        src_ip: '10.0.0.1'\n    condition: s",
            9,
            "'src_ip' is not a field",
        ),
        (
            "    s:\n        eventName|expand: '%names%'\n    condition: s",
            9,
            "placeholder values",
        ),
        (
            "    s:\n        eventName|contains|startswith: x\n    condition: s",
            9,
            "cannot go together",
        ),
        ("    s: {}\n    condition: s", 8, "match every event"),
        ("    s:\n        eventName: x\n", 8, "needs a condition"),
        (
            "    s:\n        eventName: x\n    condition: 2 of s",
            10,
            "'1 of' or 'all of'",
        ),
    ];
    for (detection, line, says) in cases {
        let errors = parse_file(Origin::CommandLine, &rule(detection)).unwrap_err();
        assert!(
            errors
                .iter()
                .any(|e| e.line == *line && e.message.contains(says)),
            "{detection}: {errors:?}"
        );
    }
    // Every problem of a rule at once.
    let errors = parse_file(
        Origin::CommandLine,
        &rule(
            "    a:\n        status: x\n    b:\n        eventName|wide: x\n    condition: a or c",
        ),
    )
    .unwrap_err();
    assert_eq!(errors.len(), 3, "{errors:?}");

    let bad_yaml = "title: x\ndetection:\n  s: [a\nlevel: high\n";
    let errors = parse_file(Origin::CommandLine, bad_yaml).unwrap_err();
    assert!(
        errors[0].message.starts_with("YAML:") && errors[0].line >= 3,
        "{errors:?}"
    );

    let no_level =
        rule("    s:\n        eventName: x\n    condition: s").replace("level: high\n", "");
    let errors = parse_file(Origin::CommandLine, &no_level).unwrap_err();
    assert!(errors[0].message.contains("needs a level"), "{errors:?}");
    let bad_level =
        rule("    s:\n        eventName: x\n    condition: s").replace("high", "severe");
    let errors = parse_file(Origin::CommandLine, &bad_level).unwrap_err();
    assert_eq!(errors[0].line, 11, "{errors:?}");

    let windows = rule("    s:\n        EventID: 4625\n    condition: s").replace(
        "product: aws\n    service: cloudtrail",
        "product: windows\n    service: security",
    );
    let errors = parse_file(Origin::CommandLine, &windows).unwrap_err();
    assert!(errors.iter().all(is_skipped), "{errors:?}");
    assert!(errors[0].message.contains("product: windows"), "{errors:?}");

    let two = format!(
        "{}---\n{}",
        rule("    s:\n        eventName: x\n    condition: s"),
        rule("    s:\n        eventName: y\n    condition: s")
    );
    let errors = parse_file(Origin::CommandLine, &two).unwrap_err();
    assert!(errors[0].message.contains("one rule"), "{errors:?}");
    assert!(parse_file(Origin::CommandLine, "").is_err());
    assert!(parse_file(Origin::CommandLine, "- a\n- b\n").is_err());
}

#[test]
fn metadata_level_tags_and_name() {
    let text = "title: Root account usage\nid: 8ad1600d-e9dc-4251-b0ee-a65268f29add\nstatus: test\n\
                description: |\n    Detects AWS root\n    account usage\nreferences:\n    - https://example.com/a\n\
                author: vitaliy0x1\ndate: 2020-01-21\ntags:\n    - attack.privilege-escalation\n    - attack.privilege_escalation\n    \
                - attack.t1078.004\n    - attack.initial-access\n    - attack.stealth\n    - detection.threat-hunting\n\
                logsource:\n    product: aws\n    service: cloudtrail\ndetection:\n    s:\n        userIdentity.type: Root\n    condition: s\n\
                falsepositives:\n    - AWS Tasks That Require Root\n    - Unknown\nlevel: informational\n";
    let origin = Origin::File("rules/aws_root_account_usage.yml".into());
    let query = parse_file(origin, text).unwrap();
    let meta = &query.meta;
    assert_eq!(meta.name, "aws-root-account-usage");
    assert_eq!(meta.severity, Severity::Info);
    assert_eq!(meta.description, "Detects AWS root account usage");
    assert_eq!(meta.tactics, ["initial-access", "privilege-escalation"]);
    assert_eq!(meta.techniques, ["T1078.004"]);
    let detail = |label: &str| {
        (meta.details.iter())
            .find(|(l, _)| l == label)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(detail("id"), Some("8ad1600d-e9dc-4251-b0ee-a65268f29add"));
    assert_eq!(detail("author"), Some("vitaliy0x1"));
    assert_eq!(
        detail("false alarms"),
        Some("AWS Tasks That Require Root; Unknown")
    );
    assert!(detail("tags").unwrap().contains("attack.stealth"));
    for (level, severity) in [
        ("low", Severity::Low),
        ("medium", Severity::Medium),
        ("high", Severity::High),
        ("critical", Severity::Critical),
    ] {
        let text = text.replace("level: informational", &format!("level: {level}"));
        assert_eq!(
            parse_file(Origin::CommandLine, &text)
                .unwrap()
                .meta
                .severity,
            severity
        );
    }
}

/// A base rule for the correlations below: failed console sign-ins.
const FAILED: &str = "title: Failed sign-in\nname: failed_signin\nlogsource:\n    product: aws\n    service: cloudtrail\n\
                      detection:\n    s:\n        eventName: ConsoleLogin\n        errorMessage|exists: true\n    condition: s\n";
const SUCCESS: &str = "title: Sign-in\nname: signin\nlogsource:\n    product: aws\n    service: cloudtrail\n\
                       detection:\n    s:\n        eventName: ConsoleLogin\n        responseElements.ConsoleLogin: Success\n    condition: s\n";

fn correlation(body: &str) -> String {
    format!(
        "{FAILED}---\n{SUCCESS}---\ntitle: Correlation\nid: 0e95725d-7320-415d-80f7-004da920fc11\nstatus: test\n\
         correlation:\n{body}\nlevel: high\n"
    )
}

fn sign_in(time: &str, ip: &str, user: &str, failed: bool) -> String {
    let outcome = if failed {
        r#""errorMessage":"Failed authentication","responseElements":{"ConsoleLogin":"Failure"}"#
    } else {
        r#""responseElements":{"ConsoleLogin":"Success"}"#
    };
    format!(
        r#"{{"eventTime":"{time}","eventName":"ConsoleLogin","sourceIPAddress":"{ip}","userIdentity":{{"userName":"{user}"}},{outcome}}}"#
    )
}

#[test]
fn correlations_count_per_group_and_window() {
    let events = [
        sign_in("2026-11-20T10:00:05Z", "203.0.113.9", "alice", true),
        sign_in("2026-11-20T10:01:00Z", "203.0.113.9", "bob", true),
        sign_in("2026-11-20T10:04:59Z", "203.0.113.9", "carol", true),
        // The next window: counted apart.
        sign_in("2026-11-20T10:05:00Z", "203.0.113.9", "alice", true),
        sign_in("2026-11-20T10:02:00Z", "198.51.100.1", "alice", true),
        sign_in("2026-11-20T10:03:00Z", "198.51.100.1", "alice", true),
        sign_in("2026-11-20T10:03:30Z", "198.51.100.1", "alice", false),
    ];
    let events: Vec<&str> = events.iter().map(String::as_str).collect();
    let cases: &[(&str, &str, usize)] = &[
        (
            "event_count",
            "    type: event_count\n    rules:\n        - failed_signin\n    group-by:\n        - sourceIPAddress\n    timespan: 5m\n    condition:\n        gte: 3",
            1,
        ),
        (
            "event_count, a range",
            "    type: event_count\n    rules: [failed_signin]\n    group-by: [sourceIPAddress]\n    timespan: 5m\n    condition:\n        gte: 2\n        lt: 3",
            1,
        ),
        (
            "event_count, a longer window",
            "    type: event_count\n    rules: [failed_signin]\n    group-by: [sourceIPAddress]\n    timespan: 1h\n    condition:\n        gt: 3",
            1,
        ),
        (
            "value_count",
            "    type: value_count\n    rules: [failed_signin]\n    group-by: [sourceIPAddress]\n    timespan: 5m\n    condition:\n        field: userIdentity.userName\n        gte: 3",
            1,
        ),
        (
            "value_count (one user)",
            "    type: value_count\n    rules: [failed_signin]\n    group-by: [sourceIPAddress]\n    timespan: 5m\n    condition:\n        field: userIdentity.userName\n        gte: 2\n        lte: 2",
            0,
        ),
        (
            "temporal: both rules in one window",
            "    type: temporal\n    rules:\n        - failed_signin\n        - signin\n    group-by:\n        - sourceIPAddress\n        - userIdentity.userName\n    timespan: 5m",
            1,
        ),
        (
            "temporal, one of two",
            "    type: temporal\n    rules: [failed_signin, signin]\n    group-by: [sourceIPAddress]\n    timespan: 5m\n    condition:\n        gte: 1",
            3,
        ),
        (
            "event_count, no group-by",
            "    type: event_count\n    rules: [signin]\n    timespan: 1d\n    condition:\n        eq: 1",
            1,
        ),
    ];
    for (what, body, expected) in cases {
        let text = correlation(body);
        let query = compile(&text);
        let found = rows(query, &events);
        assert_eq!(found.len(), *expected, "{what}: {found:?}");
        assert_eq!(
            sql_rows(&text, &events),
            found,
            "{what} (SQL)\n{}",
            athena_sql(&text).unwrap()
        );
    }
    let query = compile(&correlation(cases[0].1));
    assert_eq!(
        query.plan.columns,
        [
            "window_start",
            "sourceIPAddress",
            "events",
            "first_seen",
            "last_seen"
        ]
    );
    let found = rows(query, &events);
    assert_eq!(found[0][1], OwnedValue::Str("203.0.113.9".into()));
    assert_eq!(found[0][2], OwnedValue::Int(3));
}

#[test]
fn correlation_problems() {
    let cases: &[(&str, &str)] = &[
        (
            "    type: event_count\n    rules: [nope]\n    timespan: 5m\n    condition:\n        gte: 3",
            "'nope', which is not in this file",
        ),
        (
            "    type: temporal_ordered\n    rules: [signin]\n    timespan: 5m",
            "temporal_ordered is not supported",
        ),
        (
            "    type: event_count\n    rules: [signin]\n    timespan: 5 minutes\n    condition:\n        gte: 3",
            "timespan is a number",
        ),
        (
            "    type: event_count\n    rules: [signin]\n    timespan: 5m",
            "needs a condition",
        ),
        (
            "    type: value_count\n    rules: [signin]\n    timespan: 5m\n    condition:\n        gte: 3",
            "names the field",
        ),
        (
            "    type: event_count\n    rules: [signin]\n    timespan: 5m\n    condition:\n        most: 3",
            "'most' is not gt",
        ),
        (
            "    type: event_count\n    rules: [signin]\n    group-by: [host]\n    timespan: 5m\n    condition:\n        gte: 3",
            "'host' is not a field",
        ),
        (
            "    type: temporal\n    rules: [signin]\n    timespan: 5m\n    aliases:\n        ip: {}",
            "aliases are not supported",
        ),
    ];
    for (body, says) in cases {
        let errors = parse_file(Origin::CommandLine, &correlation(body)).unwrap_err();
        assert!(
            errors
                .iter()
                .any(|e| e.message.contains(says) && e.line > 0),
            "{says}: {errors:?}"
        );
    }
}

#[test]
fn athena_sql_reads_json_strings_and_structs() {
    let text = rule(
        "    s:\n        eventName: ModifyInstanceAttribute\n        requestParameters.attribute: userData\n        \
         userIdentity.sessionContext.sessionIssuer.type: Role\n        requestParameters.items.0.name|contains: x\n    \
         f:\n        additionalEventData.MFAUsed: null\n    condition: s and not f",
    );
    let sql = athena_sql(&text).unwrap();
    for part in [
        "lower(eventName) = 'modifyinstanceattribute'",
        "lower(json_extract_scalar(requestParameters, '$.attribute')) = 'userdata'",
        "lower(userIdentity.sessionContext.sessionIssuer.type) = 'role'",
        "coalesce(json_extract_scalar(requestParameters, '$.items[0].name'), json_format(json_extract(requestParameters, '$.items[0].name')))",
        "NOT json_extract(additionalEventData, '$.MFAUsed') IS NULL",
        "FROM cloudtrail_logs",
        "userIdentity.arn AS principal",
    ] {
        assert!(sql.contains(part), "{part}\n{sql}");
    }
    let quoted = athena_sql(&rule(
        "    s:\n        userAgent: \"it's\"\n    condition: s",
    ))
    .unwrap();
    assert!(quoted.contains("lower(userAgent) = 'it''s'"), "{quoted}");
}

/// A regular expression's required literal is searched before the expression runs: it
/// must be in every match, or matches would be lost.
#[test]
fn required_literals_of_regular_expressions() {
    use super::compile::required_literal;
    for (pattern, literal) in [
        (".+:assumed-role/aws:.+", Some(":assumed-role/aws:")),
        ("^arn:aws:iam::[0-9]+:root$", None),
        ("abx?cdef", Some("cdef")),
        ("boto3/1.2", Some("boto3/1")),
        ("xyzzy+q", Some("xyzzy")),
        ("ab*", None),
        ("a|bcdef", None),
        ("(?i)trufflehog", None),
        ("evil\\.com", None),
    ] {
        assert_eq!(required_literal(pattern).as_deref(), literal, "{pattern}");
    }
}
