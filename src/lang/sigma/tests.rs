//! Table-driven tests: each modifier and condition form on hand-written rules and events,
//! through the query set (prefilter included) and through the Athena SQL it prints.

use std::sync::Arc;

use simd_json::BorrowedValue;

use super::*;
use crate::query::QuerySet;
use crate::record::{OwnedValue, Record};

/// A rule with this detection (indented by four spaces under `detection:`).
fn rule(detection: &str) -> String {
    format!(
        "title: Test rule\nid: 11111111-2222-3333-4444-555555555555\nstatus: test\n\
         logsource:\n    product: aws\n    service: cloudtrail\ndetection:\n{detection}\nlevel: high\n"
    )
}

fn compile(text: &str) -> Query {
    parse_file(Origin::CommandLine, text).unwrap_or_else(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        panic!("{}\n{text}", lines.join("\n"))
    })
}

fn parse_event(json: &str) -> BorrowedValue<'static> {
    let mut bytes = json.as_bytes().to_vec();
    simd_json::to_owned_value(&mut bytes)
        .map(BorrowedValue::from)
        .unwrap_or_else(|e| panic!("{e}: {json}"))
}

/// The rows `query` gives over `events`, evaluated as a scan does (name dispatch too).
fn rows(query: Query, events: &[&str]) -> Vec<Vec<OwnedValue>> {
    let plan = query.plan.clone();
    let set = QuerySet::new(vec![Arc::new(query)]);
    let mut accumulators = set.accumulators();
    let parsed: Vec<BorrowedValue<'static>> = events.iter().map(|e| parse_event(e)).collect();
    for (i, event) in parsed.iter().enumerate() {
        set.accumulate(&mut accumulators, Record::new(event), (0, i as u32));
    }
    let acc = accumulators.pop().expect("one query");
    let (pending, _) = plan.rows_to_order(acc);
    let mut rows: Vec<Vec<OwnedValue>> = pending.into_iter().map(|p| p.row.values).collect();
    rows.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    rows
}

/// The same rows from the rule's Athena SQL, compiled by trailscan's SQL compiler.
fn sql_rows(text: &str, events: &[&str]) -> Vec<Vec<OwnedValue>> {
    let sql = athena_sql(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let plan = crate::lang::sql::compile(&sql).unwrap_or_else(|e| panic!("{e}\n{sql}"));
    let query = Query {
        meta: Arc::new(crate::meta::Meta::plain("sql", "sql")),
        plan,
        origin: Origin::CommandLine,
        text: sql,
    };
    rows(query, events)
}

fn matches(text: &str, event: &str) -> bool {
    !rows(compile(text), &[event]).is_empty()
}

/// Every case: the rule's detection, an event, and whether the rule matches it. Each is
/// checked on the plan, and on the plan of the Athena SQL that `show --sql` prints.
#[test]
fn modifiers_and_values() {
    let cases: &[(&str, &str, &str, bool)] = &[
        // (what, detection, event, matches)
        (
            "equality ignores case",
            "    s:\n        eventName: 'consolelogin'\n    condition: s",
            r#"{"eventName":"ConsoleLogin"}"#,
            true,
        ),
        (
            "equality is whole",
            "    s:\n        eventName: 'ConsoleLogin'\n    condition: s",
            r#"{"eventName":"ConsoleLogins"}"#,
            false,
        ),
        (
            "a list is any of",
            "    s:\n        eventName: [StopLogging, DeleteTrail]\n    condition: s",
            r#"{"eventName":"DeleteTrail"}"#,
            true,
        ),
        (
            "a list is any of (none)",
            "    s:\n        eventName: [StopLogging, DeleteTrail]\n    condition: s",
            r#"{"eventName":"UpdateTrail"}"#,
            false,
        ),
        (
            "a map is all of",
            "    s:\n        eventName: DeleteTrail\n        eventSource: cloudtrail.amazonaws.com\n    condition: s",
            r#"{"eventName":"DeleteTrail","eventSource":"s3.amazonaws.com"}"#,
            false,
        ),
        (
            "* is any run",
            "    s:\n        eventName: 'Delete*Policy'\n    condition: s",
            r#"{"eventName":"DeleteRolePolicy"}"#,
            true,
        ),
        (
            "* is any run (none)",
            "    s:\n        eventName: 'Delete*Policy'\n    condition: s",
            r#"{"eventName":"DeleteRolePolicyVersion"}"#,
            false,
        ),
        (
            "? is one character",
            "    s:\n        eventName: 'Get?ole'\n    condition: s",
            r#"{"eventName":"GetRole"}"#,
            true,
        ),
        (
            "? is exactly one",
            "    s:\n        eventName: 'Get?ole'\n    condition: s",
            r#"{"eventName":"GetRRole"}"#,
            false,
        ),
        (
            "\\* is a star",
            "    s:\n        userAgent: 'a\\*b'\n    condition: s",
            r#"{"userAgent":"a*b"}"#,
            true,
        ),
        (
            "\\* is only a star",
            "    s:\n        userAgent: 'a\\*b'\n    condition: s",
            r#"{"userAgent":"axb"}"#,
            false,
        ),
        (
            "\\\\ then * is a backslash, then any run",
            "    s:\n        userAgent: 'a\\\\*'\n    condition: s",
            r#"{"userAgent":"a\\bcd"}"#,
            true,
        ),
        (
            "a backslash before a letter is itself",
            "    s:\n        userAgent: 'C:\\Windows'\n    condition: s",
            r#"{"userAgent":"c:\\windows"}"#,
            true,
        ),
        (
            "% and _ are not wildcards",
            "    s:\n        userAgent: '100%_x'\n    condition: s",
            r#"{"userAgent":"100abx"}"#,
            false,
        ),
        (
            "% and _ are themselves",
            "    s:\n        userAgent|contains: '100%_x'\n    condition: s",
            r#"{"userAgent":"at 100%_x off"}"#,
            true,
        ),
        (
            "contains",
            "    s:\n        userAgent|contains: 'S3 Browser'\n    condition: s",
            r#"{"userAgent":"aws s3 browser 9.5"}"#,
            true,
        ),
        (
            "contains (none)",
            "    s:\n        userAgent|contains: 'S3 Browser'\n    condition: s",
            r#"{"userAgent":"S3Browser"}"#,
            false,
        ),
        (
            "contains a star is any text",
            "    s:\n        errorMessage|contains: '*'\n    condition: s",
            r#"{"errorMessage":""}"#,
            true,
        ),
        (
            "contains a star needs the field",
            "    s:\n        errorMessage|contains: '*'\n    condition: s",
            r#"{"errorCode":"x"}"#,
            false,
        ),
        (
            "startswith",
            "    s:\n        eventName|startswith: 'UpdateFunctionConfiguration'\n    condition: s",
            r#"{"eventName":"UpdateFunctionConfiguration20150331v2"}"#,
            true,
        ),
        (
            "startswith (none)",
            "    s:\n        eventName|startswith: 'Update'\n    condition: s",
            r#"{"eventName":"PutUpdate"}"#,
            false,
        ),
        (
            "endswith",
            "    s:\n        errorCode|endswith: 'UnauthorizedOperation'\n    condition: s",
            r#"{"errorCode":"Client.UnauthorizedOperation"}"#,
            true,
        ),
        (
            "endswith (none)",
            "    s:\n        errorCode|endswith: 'Denied'\n    condition: s",
            r#"{"errorCode":"AccessDeniedException"}"#,
            false,
        ),
        (
            "contains|all",
            "    s:\n        requestParameters|contains|all: ['\"s3:GetObject\"', '\"Allow\"']\n    condition: s",
            r#"{"requestParameters":{"policyDocument":"{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\"}"}}"#,
            false,
        ),
        (
            "contains|all (all there)",
            "    s:\n        requestParameters|contains|all: ['GetObject', 'Allow']\n    condition: s",
            r#"{"requestParameters":{"policyDocument":"{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\"}"}}"#,
            true,
        ),
        (
            "contains|all (one missing)",
            "    s:\n        requestParameters|contains|all: ['GetObject', 'Deny']\n    condition: s",
            r#"{"requestParameters":{"policyDocument":"Allow s3:GetObject"}}"#,
            false,
        ),
        (
            "re",
            "    s:\n        userIdentity.arn|re: '.+:assumed-role/aws:.+'\n    condition: s",
            r#"{"userIdentity":{"arn":"arn:aws:sts::1:assumed-role/aws:ec2-instance/i-1"}}"#,
            true,
        ),
        (
            "re is case-sensitive",
            "    s:\n        userIdentity.arn|re: ':assumed-role/'\n    condition: s",
            r#"{"userIdentity":{"arn":"arn:aws:sts::1:ASSUMED-ROLE/x"}}"#,
            false,
        ),
        (
            "re|i ignores case",
            "    s:\n        userIdentity.arn|re|i: ':assumed-role/'\n    condition: s",
            r#"{"userIdentity":{"arn":"arn:aws:sts::1:ASSUMED-ROLE/x"}}"#,
            true,
        ),
        (
            "re searches anywhere",
            "    s:\n        userAgent|re: 'boto3/1\\.'\n    condition: s",
            r#"{"userAgent":"aws-cli boto3/1.26"}"#,
            true,
        ),
        (
            "cidr /8",
            "    s:\n        sourceIPAddress|cidr: '10.0.0.0/8'\n    condition: s",
            r#"{"sourceIPAddress":"10.200.3.4"}"#,
            true,
        ),
        (
            "cidr /8 (outside)",
            "    s:\n        sourceIPAddress|cidr: '10.0.0.0/8'\n    condition: s",
            r#"{"sourceIPAddress":"110.0.0.1"}"#,
            false,
        ),
        (
            "cidr /12",
            "    s:\n        sourceIPAddress|cidr: '172.16.0.0/12'\n    condition: s",
            r#"{"sourceIPAddress":"172.31.255.1"}"#,
            true,
        ),
        (
            "cidr /12 (outside)",
            "    s:\n        sourceIPAddress|cidr: '172.16.0.0/12'\n    condition: s",
            r#"{"sourceIPAddress":"172.32.0.1"}"#,
            false,
        ),
        (
            "cidr /25",
            "    s:\n        sourceIPAddress|cidr: '192.168.1.0/25'\n    condition: s",
            r#"{"sourceIPAddress":"192.168.1.127"}"#,
            true,
        ),
        (
            "cidr /25 (outside)",
            "    s:\n        sourceIPAddress|cidr: '192.168.1.0/25'\n    condition: s",
            r#"{"sourceIPAddress":"192.168.1.128"}"#,
            false,
        ),
        (
            "cidr /32",
            "    s:\n        sourceIPAddress|cidr: '198.51.100.7/32'\n    condition: s",
            r#"{"sourceIPAddress":"198.51.100.7"}"#,
            true,
        ),
        (
            "cidr of a name",
            "    s:\n        sourceIPAddress|cidr: '10.0.0.0/8'\n    condition: s",
            r#"{"sourceIPAddress":"ec2.amazonaws.com"}"#,
            false,
        ),
        (
            "exists: true",
            "    s:\n        errorCode|exists: true\n    condition: s",
            r#"{"errorCode":"AccessDenied"}"#,
            true,
        ),
        (
            "exists: true (absent)",
            "    s:\n        errorCode|exists: true\n    condition: s",
            r#"{"eventName":"x"}"#,
            false,
        ),
        (
            "exists: false",
            "    s:\n        errorCode|exists: false\n    condition: s",
            r#"{"eventName":"x"}"#,
            true,
        ),
        (
            "null is absent",
            "    s:\n        errorCode: null\n    condition: s",
            r#"{"eventName":"x"}"#,
            true,
        ),
        (
            "null is JSON null",
            "    s:\n        errorCode: null\n    condition: s",
            r#"{"errorCode":null}"#,
            true,
        ),
        (
            "null is not a value",
            "    s:\n        errorCode: null\n    condition: s",
            r#"{"errorCode":"AccessDenied"}"#,
            false,
        ),
        (
            "null or a value",
            "    s:\n        errorCode: [Success, null]\n    condition: s",
            r#"{"errorCode":"Success"}"#,
            true,
        ),
        (
            "fieldref",
            "    s:\n        userIdentity.userName|fieldref: requestParameters.userName\n    condition: s",
            r#"{"userIdentity":{"userName":"alice"},"requestParameters":{"userName":"Alice"}}"#,
            true,
        ),
        (
            "fieldref (other)",
            "    s:\n        userIdentity.userName|fieldref: requestParameters.userName\n    condition: s",
            r#"{"userIdentity":{"userName":"alice"},"requestParameters":{"userName":"bob"}}"#,
            false,
        ),
        (
            "cased",
            "    s:\n        userAgent|cased: 'TruffleHog'\n    condition: s",
            r#"{"userAgent":"trufflehog"}"#,
            false,
        ),
        (
            "cased|contains",
            "    s:\n        userAgent|contains|cased: 'Truffle'\n    condition: s",
            r#"{"userAgent":"x TruffleHog"}"#,
            true,
        ),
        (
            "a JSON string field is looked into",
            "    s:\n        requestParameters.attribute: userData\n    condition: s",
            r#"{"requestParameters":"{\"attribute\":\"userData\"}"}"#,
            true,
        ),
        (
            "an object field is looked into",
            "    s:\n        requestParameters.attribute: userdata\n    condition: s",
            r#"{"requestParameters":{"attribute":"userData"}}"#,
            true,
        ),
        (
            "a JSON true is 'true'",
            "    s:\n        responseElements.publiclyAccessible: 'true'\n    condition: s",
            r#"{"responseElements":{"publiclyAccessible":true}}"#,
            true,
        ),
        (
            "a number compares as text",
            "    s:\n        requestParameters.maxResults: 50\n    condition: s",
            r#"{"requestParameters":{"maxResults":50}}"#,
            true,
        ),
        (
            "a value as written (1.10)",
            "    s:\n        eventVersion: 1.10\n    condition: s",
            r#"{"eventVersion":"1.10"}"#,
            true,
        ),
        (
            "a list's JSON text is searched",
            "    s:\n        requestParameters.layers|contains: 'arn:aws:lambda'\n    condition: s",
            r#"{"requestParameters":{"layers":["arn:aws:lambda:us-east-1:1:layer:x:1"]}}"#,
            true,
        ),
        (
            "a list of maps is any of",
            "    f:\n        - eventSource: 'ssm.amazonaws.com'\n        - sourceIPAddress: 'AWS Internal'\n    condition: f",
            r#"{"eventSource":"ec2.amazonaws.com","sourceIPAddress":"AWS Internal"}"#,
            true,
        ),
        (
            "a list of maps (none)",
            "    f:\n        - eventSource: 'ssm.amazonaws.com'\n        - sourceIPAddress: 'AWS Internal'\n    condition: f",
            r#"{"eventSource":"ec2.amazonaws.com","sourceIPAddress":"1.2.3.4"}"#,
            false,
        ),
    ];
    check(cases, true);
}

/// Keyword (field-less) selections: found anywhere in the event. Athena has no column
/// holding the whole event, so these have no SQL to compare with.
#[test]
fn keywords() {
    let cases: &[(&str, &str, &str, bool)] = &[
        (
            "a keyword anywhere",
            "    keywords:\n        - 'TruffleHog'\n    condition: keywords",
            r#"{"eventName":"GetCallerIdentity","userAgent":"trufflehog/3.0"}"#,
            true,
        ),
        (
            "a keyword nowhere",
            "    keywords:\n        - 'TruffleHog'\n    condition: keywords",
            r#"{"eventName":"GetCallerIdentity","userAgent":"aws-cli"}"#,
            false,
        ),
        (
            "keywords are any of",
            "    keywords:\n        - 'pacu'\n        - 'trufflehog'\n    condition: keywords",
            r#"{"userAgent":"Pacu/1.0"}"#,
            true,
        ),
        (
            "a keyword in a nested value",
            "    keywords: 'evil-bucket'\n    condition: keywords",
            r#"{"requestParameters":{"bucketName":"evil-bucket"}}"#,
            true,
        ),
    ];
    check(cases, false);
    let error = athena_sql(&rule("    keywords: ['x']\n    condition: keywords")).unwrap_err();
    assert!(error.contains("no Athena equivalent"), "{error}");
}

/// The condition's forms, over three selections.
#[test]
fn conditions() {
    let selections = "    sel_a:\n        eventName: A\n    sel_b:\n        eventSource: b.amazonaws.com\n    \
                      filter:\n        userIdentity.type: AssumedRole\n    _aside:\n        awsRegion: us-east-1\n";
    let both = r#"{"eventName":"A","eventSource":"b.amazonaws.com","awsRegion":"eu-west-1"}"#;
    let only_a = r#"{"eventName":"A","eventSource":"c.amazonaws.com","awsRegion":"eu-west-1"}"#;
    let filtered = r#"{"eventName":"A","eventSource":"b.amazonaws.com","userIdentity":{"type":"AssumedRole"},"awsRegion":"us-east-1"}"#;
    let cases: Vec<(&str, String, &str, bool)> = [
        ("and", "sel_a and sel_b", both, true),
        ("and (one)", "sel_a and sel_b", only_a, false),
        ("or", "sel_a or sel_b", only_a, true),
        (
            "not of an absent field is true",
            "sel_a and not filter",
            both,
            true,
        ),
        ("not", "sel_a and not filter", filtered, false),
        ("parentheses", "(sel_b or filter) and sel_a", only_a, false),
        (
            "precedence: and before or",
            "sel_b and filter or sel_a",
            only_a,
            true,
        ),
        ("not before and", "not sel_b and sel_a", only_a, true),
        ("1 of", "1 of sel_*", only_a, true),
        ("all of", "all of sel_*", only_a, false),
        ("all of (all)", "all of sel_*", both, true),
        ("all of them leaves out _names", "all of them", both, false),
        (
            "1 of them",
            "1 of them",
            r#"{"userIdentity":{"type":"AssumedRole"}}"#,
            true,
        ),
        (
            "1 of them leaves out _names",
            "1 of them",
            r#"{"awsRegion":"us-east-1"}"#,
            false,
        ),
        ("not 1 of", "sel_a and not 1 of filter*", filtered, false),
        ("NOT in capitals", "sel_a AND NOT filter", both, true),
    ]
    .into_iter()
    .map(|(what, condition, event, expected)| {
        (
            what,
            format!("{selections}    condition: {condition}"),
            event,
            expected,
        )
    })
    .collect();
    let borrowed: Vec<(&str, &str, &str, bool)> = (cases.iter())
        .map(|(w, d, e, m)| (*w, d.as_str(), *e, *m))
        .collect();
    check(&borrowed, true);
    // A list of conditions is an `or` of them (Sigma's first form).
    let list = format!("{selections}    condition:\n        - sel_b\n        - filter");
    assert!(matches(
        &rule(&list),
        r#"{"userIdentity":{"type":"AssumedRole"}}"#
    ));
}

fn check(cases: &[(&str, &str, &str, bool)], with_sql: bool) {
    let mut failures = Vec::new();
    for (what, detection, event, expected) in cases {
        let text = rule(detection);
        if matches(&text, event) != *expected {
            failures.push(format!("{what}: expected {expected}\n{detection}\n{event}"));
        }
        if with_sql && sql_rows(&text, &[event]).is_empty() == *expected {
            let sql = athena_sql(&text).unwrap_or_default();
            failures.push(format!("{what} (SQL): expected {expected}\n{sql}\n{event}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Rules that name events dispatch on the name, in any case, as SQL queries do.
#[test]
fn named_events_are_prefiltered() {
    let query = compile(&rule(
        "    s:\n        eventName: [DeleteTrail, StopLogging]\n        eventSource: cloudtrail.amazonaws.com\n    condition: s",
    ));
    let filter = query.plan.name_filter().expect("a name filter");
    assert!(filter.accepts("DeleteTrail") && filter.accepts("deletetrail"));
    assert!(!filter.accepts("UpdateTrail"));
    let set = QuerySet::new(vec![Arc::new(query)]);
    let needs = set.needs(true, false);
    assert!(
        needs
            .always
            .iter()
            .all(|p| p.segments()[0] != "eventSource")
    );
    assert_eq!(needs.gated.len(), 1, "{needs:?}");
    // A rule on another field is gated on it.
    let query = compile(&rule(
        "    s:\n        userIdentity.type: Root\n    f:\n        eventType: AwsServiceEvent\n    condition: s and not f",
    ));
    assert!(query.plan.name_filter().is_none());
    let gate = query.plan.field_gate().expect("a field gate");
    assert_eq!(gate.path.segments(), ["userIdentity", "type"]);
}

mod loading;
