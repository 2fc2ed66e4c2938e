//! What compiled SQL means: the supported subset, its errors, and Athena's semantics when evaluated.

use std::sync::Arc;

use super::*;
use crate::decode::{Projection, decode};
use crate::query::eval::{Scope, holds, truth};
use crate::query::plan::Expr;
use crate::query::{Accumulator, QuerySet, Suppression};
use crate::record::{OwnedValue, Record};
use crate::results::{MEMORY_BUDGET, RowStore};

fn error(sql: &str) -> CompileError {
    compile(sql).expect_err("should not compile")
}

#[test]
fn compiles_the_supported_subset() {
    let plan = compile(
        "SELECT useridentity.arn AS who, count(*) AS n, count(DISTINCT sourceIPAddress), \
             min(eventTime), max(eventTime) FROM cloudtrail_logs \
             WHERE eventName LIKE '%Policy%' AND NOT (errorCode IS NULL) AND readOnly = false \
             AND eventSource IN ('iam.amazonaws.com', 'sts.amazonaws.com') \
             AND lower(userAgent) <> 'x' AND json_extract_scalar(requestParameters, '$.a.b') = 'c' \
             GROUP BY useridentity.arn HAVING count(*) >= 5 ORDER BY n DESC, 1 LIMIT 10",
    )
    .unwrap();
    assert_eq!(
        plan.columns,
        [
            "who",
            "n",
            "count(DISTINCT sourceIPAddress)",
            "min(eventTime)",
            "max(eventTime)"
        ]
    );
    assert!(plan.grouped);
    assert_eq!(plan.aggregates.len(), 4);
    assert_eq!(plan.order.limit, Some(10));
    assert!(matches!(plan.projections[0], Expr::GroupKey(0)));
    assert!(matches!(plan.projections[1], Expr::Aggregate(0)));
}

#[test]
fn star_expands_to_athena_columns() {
    let plan = compile("SELECT * FROM cloudtrail_logs").unwrap();
    assert_eq!(plan.columns.len(), compile::STAR_COLUMNS.len());
    assert_eq!(plan.columns[2], "eventTime");
}

#[test]
fn table_alias_prefix_is_stripped() {
    let plan = compile("SELECT t.eventName FROM cloudtrail_logs t").unwrap();
    assert!(matches!(&plan.projections[0], Expr::Column(p) if p.segments() == ["eventName"]));
}

#[test]
fn rejected_constructs_name_themselves_and_their_position() {
    let cases = [
        (
            "SELECT eventName FROM cloudtrail_logs a JOIN other b ON a.x = b.x",
            "JOIN",
            1,
        ),
        (
            "SELECT eventName\nFROM cloudtrail_logs\nWHERE CAST(x AS int) = 1",
            "CAST",
            3,
        ),
        (
            "SELECT sum(x) FROM cloudtrail_logs",
            "function sum() is not supported",
            1,
        ),
        (
            "SELECT eventName FROM cloudtrail_logs WHERE eventName ILIKE 'a%'",
            "ILIKE",
            1,
        ),
        (
            "SELECT eventName FROM (SELECT * FROM cloudtrail_logs)",
            "subquery",
            1,
        ),
        (
            "SELECT eventName, count(*) FROM cloudtrail_logs",
            "must appear in GROUP BY",
            1,
        ),
        (
            "SELECT eventName FROM cloudtrail_logs WHERE count(*) > 1",
            "not allowed in WHERE",
            1,
        ),
        (
            "SELECT eventName FROM cloudtrail_logs LIMIT 5 OFFSET 2",
            "OFFSET",
            1,
        ),
        (
            "SELECT date_trunc('week', eventTime) FROM cloudtrail_logs",
            "unit 'week'",
            1,
        ),
        (
            "SELECT eventName FROM cloudtrail_logs; SELECT 1 FROM t",
            "one statement",
            1,
        ),
        ("DELETE FROM cloudtrail_logs", "only SELECT", 1),
    ];
    for (sql, needle, line) in cases {
        let e = error(sql);
        assert!(e.message.contains(needle), "{sql}: {e}");
        assert_eq!(e.line, line, "{sql}: {e}");
        assert!(e.column > 0, "{sql}: {e}");
    }
}

#[test]
fn syntax_errors_carry_their_position() {
    let e = error("SELECT eventName\nFROM cloudtrail_logs WHERE eventName = = 'x'");
    assert_eq!(e.line, 2, "{e}");
    assert!(e.message.starts_with("SQL syntax"), "{e}");
}

#[test]
fn name_filters_follow_and_or_and_like_on_the_event_name() {
    let filter = |sql: &str| compile(sql).unwrap().name_filter();
    let base = "SELECT eventName FROM cloudtrail_logs WHERE ";
    let accepts = |sql: &str, names: &[&str]| -> Vec<bool> {
        let f = filter(&format!("{base}{sql}")).expect("a name filter");
        names.iter().map(|n| f.accepts(n)).collect()
    };
    let names = filter(&format!("{base}eventName = 'A' AND x = 1")).unwrap();
    let names: Option<Vec<&String>> = names.exact_names().map(|n| n.iter().collect());
    assert_eq!(names, Some(vec![&"A".to_owned()]));
    assert_eq!(
        accepts("x = 1 AND EVENTNAME IN ('A', 'B')", &["A", "B", "C", "a"]),
        [true, true, false, false]
    );
    assert_eq!(
        accepts(
            "(eventName = 'A' AND x = 1) OR (eventName LIKE '%Role%' AND y = 2)",
            &["A", "CreateRole", "B"]
        ),
        [true, true, false]
    );
    assert_eq!(
        accepts(
            "eventName LIKE 'Put%' AND eventName LIKE '%Policy'",
            &["PutPolicy", "PutX"]
        ),
        [true, false]
    );
    for unconstrained in [
        "eventName = 'A' OR x = 1",
        "eventName NOT IN ('A')",
        "eventName NOT LIKE 'A%'",
        "lower(eventName) = lower(x)",
        "eventName IN ('A', 1)",
    ] {
        assert!(
            filter(&format!("{base}{unconstrained}")).is_none(),
            "{unconstrained}"
        );
    }
    assert!(filter("SELECT eventName FROM cloudtrail_logs").is_none());
    // The name in lowercase, as Sigma rules compare it: any spelling of the name.
    assert_eq!(
        accepts(
            "lower(eventName) IN ('deletetrail', 'stoplogging')",
            &["DeleteTrail", "STOPLOGGING", "UpdateTrail"]
        ),
        [true, true, false]
    );
    let lowered = filter(&format!("{base}lower(eventName) = 'a'")).unwrap();
    assert_eq!(
        lowered
            .lowered_names()
            .map(|n| n.iter().cloned().collect::<Vec<_>>()),
        Some(vec!["a".to_owned()])
    );
}

#[test]
fn a_field_gate_is_one_condition_on_one_path_that_null_fails() {
    let gate = |sql: &str| {
        compile(sql)
            .unwrap()
            .field_gate()
            .map(|g| g.path.segments().join("."))
    };
    let from = "SELECT eventName FROM cloudtrail_logs";
    assert_eq!(
        gate(&format!(
            "{from} WHERE userIdentity.invokedBy IS NULL AND userIdentity.type = 'Root'"
        )),
        Some("userIdentity.type".into()),
        "the first conjunct is met by a record without the path"
    );
    assert_eq!(
        gate(&format!(
            "{from} WHERE (errorCode LIKE '%Denied' OR errorCode LIKE 'Unauth%') AND x <> 1"
        )),
        Some("errorCode".into())
    );
    assert_eq!(
        gate(&format!(
            "{from} WHERE json_extract_scalar(requestParameters, '$.a') = 'b'"
        )),
        Some("requestParameters.a".into())
    );
    assert_eq!(
        gate(&format!("{from} WHERE a = 1 OR b = 2")),
        None,
        "two paths"
    );
    assert_eq!(gate(&format!("{from} WHERE a = 1 OR a IS NULL")), None);
    assert_eq!(gate(&format!("{from} WHERE NOT (a IS NOT NULL)")), None);
    assert_eq!(gate(&format!("{from} WHERE 1 = 0")), None, "no path");
    assert_eq!(gate(from), None);
}

fn rows(sql: &str, events: &[&str]) -> Vec<Vec<OwnedValue>> {
    let plan = compile(sql).unwrap();
    let mut acc = Accumulator::default();
    for (i, text) in events.iter().enumerate() {
        let mut bytes = text.as_bytes().to_vec();
        let json = simd_json::to_borrowed_value(&mut bytes).unwrap();
        plan.accumulate(&mut acc, Record::new(&json), (0, i as u32), |_| false);
    }
    (plan.order.finish(plan.rows_to_order(acc).0).into_iter())
        .map(|row| row.values)
        .collect()
}

/// The rows of `sql` over `events` gathered by two accumulators (even and odd events) merged,
/// as two threads gather them; and how many integer operations failed making them.
fn rows_merged(sql: &str, events: &[&str]) -> (Vec<Vec<OwnedValue>>, u64) {
    let plan = compile(sql).unwrap();
    let mut parts = [Accumulator::default(), Accumulator::default()];
    for (i, text) in events.iter().enumerate() {
        let mut bytes = text.as_bytes().to_vec();
        let json = simd_json::to_borrowed_value(&mut bytes).unwrap();
        plan.accumulate(&mut parts[i % 2], Record::new(&json), (0, i as u32), |_| {
            false
        });
    }
    let [mut even, odd] = parts;
    plan.merge(&mut even, odd);
    let (rows, failed) = plan.rows_to_order(even);
    let rows = plan.order.finish(rows).into_iter().map(|row| row.values);
    (rows.collect(), failed)
}

fn texts(rows: Vec<Vec<OwnedValue>>) -> Vec<String> {
    rows.into_iter()
        .map(|r| {
            r.iter()
                .map(|v| v.to_text().map_or("NULL".into(), |t| t.into_owned()))
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

#[test]
fn null_follows_three_valued_logic() {
    let events = [
        r#"{"id":1,"errorCode":null}"#,
        r#"{"id":2,"errorCode":"AccessDenied"}"#,
        r#"{"id":3}"#,
    ];
    let q = |w: &str| {
        texts(rows(
            &format!("SELECT id FROM cloudtrail_logs WHERE {w}"),
            &events,
        ))
    };
    assert_eq!(q("errorCode <> 'AccessDenied'"), Vec::<String>::new());
    assert_eq!(q("NOT (errorCode = 'AccessDenied')"), Vec::<String>::new());
    assert_eq!(q("errorCode IS NULL"), ["1", "3"]);
    assert_eq!(q("errorCode IS NULL OR errorCode = 'x'"), ["1", "3"]);
    assert_eq!(q("errorCode = 'x' OR id = 3"), ["3"]);
    assert_eq!(q("NOT (errorCode = 'AccessDenied' AND id = 2)"), ["1", "3"]);
    assert_eq!(
        q("NOT (errorCode = 'AccessDenied' OR id = 2)"),
        Vec::<String>::new()
    );
    assert_eq!(q("errorCode NOT IN ('x', NULL)"), Vec::<String>::new());
    assert_eq!(q("errorCode IN ('AccessDenied', NULL)"), ["2"]);
    assert_eq!(q("errorCode NOT LIKE 'Access%'"), Vec::<String>::new());
}

#[test]
fn a_clause_holds_exactly_when_it_is_true() {
    // Every mix of TRUE, FALSE and NULL under AND, OR and NOT, nested.
    let events = [
        "{}",
        r#"{"a":true}"#,
        r#"{"a":false}"#,
        r#"{"b":true}"#,
        r#"{"b":false}"#,
    ]
    .iter()
    .flat_map(|x| {
        [
            x.replace('}', r#","c":true}"#),
            x.replace('}', r#","c":false}"#),
        ]
    })
    .map(|e| e.replace("{,", "{"));
    let clauses = [
        "a AND b",
        "a OR b",
        "(a AND b) OR c",
        "(a OR b) AND c",
        "NOT (a AND b) OR c",
        "NOT (a OR b) AND NOT c",
        "(a AND (b OR c)) OR (NOT a AND c)",
    ];
    for clause in clauses {
        let plan = compile(&format!("SELECT 1 FROM cloudtrail_logs WHERE {clause}")).unwrap();
        let filter = plan.filter.as_ref().unwrap();
        for event in events.clone() {
            let mut bytes = event.clone().into_bytes();
            let json = simd_json::to_borrowed_value(&mut bytes).unwrap();
            let scope = Scope::Record(Record::new(&json));
            assert_eq!(
                holds(filter, &scope),
                truth(filter, &scope) == Some(true),
                "{clause} on {event}"
            );
        }
    }
}

#[test]
fn json_string_fields_and_case_insensitive_keys() {
    let events = [
        r#"{"eventname":"PutBucketPolicy","requestParameters":"{\"bucketName\":\"a\"}"}"#,
        r#"{"eventName":"PutBucketPolicy","requestParameters":{"bucketName":"b"}}"#,
        r#"{"EVENTNAME":"PutBucketAcl","requestParameters":null}"#,
    ];
    let got = texts(rows(
        "SELECT requestParameters.bucketName, json_extract_scalar(requestparameters, '$.bucketName') \
             FROM cloudtrail_logs WHERE EventName = 'PutBucketPolicy'",
        &events,
    ));
    assert_eq!(got, ["a|a", "b|b"]);
}

#[test]
fn readonly_true_false_as_bool_or_string() {
    let events = [
        r#"{"id":1,"readOnly":false}"#,
        r#"{"id":2,"readOnly":"false"}"#,
        r#"{"id":3,"readOnly":true}"#,
    ];
    for predicate in ["readOnly = 'false'", "readOnly = false", "NOT readOnly"] {
        let got = texts(rows(
            &format!("SELECT id FROM cloudtrail_logs WHERE {predicate}"),
            &events,
        ));
        assert_eq!(got, ["1", "2"], "{predicate}");
    }
}

#[test]
fn aggregates_group_having_order_limit() {
    let events = [
        r#"{"ip":"1.1.1.1","u":"a","t":"2024-01-01T00:00:10Z"}"#,
        r#"{"ip":"1.1.1.1","u":"b","t":"2024-01-01T00:04:59Z"}"#,
        r#"{"ip":"1.1.1.1","u":"b","t":"2024-01-01T00:02:00Z"}"#,
        r#"{"ip":"2.2.2.2","u":null,"t":"2024-01-01T00:01:00Z"}"#,
        r#"{"ip":null,"u":"c","t":"bad"}"#,
    ];
    let got = texts(rows(
        "SELECT ip, count(*) AS n, count(DISTINCT u) AS users, count(u), min(t), max(t) \
             FROM cloudtrail_logs GROUP BY ip HAVING count(*) >= 1 ORDER BY n DESC, ip",
        &events,
    ));
    assert_eq!(
        got,
        [
            "1.1.1.1|3|2|3|2024-01-01T00:00:10Z|2024-01-01T00:04:59Z",
            "2.2.2.2|1|0|0|2024-01-01T00:01:00Z|2024-01-01T00:01:00Z",
            "NULL|1|1|1|bad|bad",
        ]
    );
    let windows = texts(rows(
        "SELECT from_unixtime(floor(to_unixtime(from_iso8601_timestamp(t)) / 300) * 300) AS w, count(*) \
             FROM cloudtrail_logs WHERE ip IS NOT NULL GROUP BY 1 ORDER BY w",
        &events,
    ));
    assert_eq!(windows, ["2024-01-01T00:00:00Z|4"]);
    let trunc = texts(rows(
        "SELECT date_trunc('minute', t) AS m, count(*) FROM cloudtrail_logs GROUP BY date_trunc('minute', t) \
             ORDER BY m NULLS FIRST LIMIT 2",
        &events,
    ));
    assert_eq!(trunc, ["NULL|1", "2024-01-01T00:00:00Z|1"]);
    let total = texts(rows(
        "SELECT count(*) FROM cloudtrail_logs WHERE ip = 'none'",
        &events,
    ));
    assert_eq!(total, ["0"]);
}

#[test]
fn a_grouped_limit_keeps_the_rows_of_the_full_order_ties_by_key() {
    // 400 addresses, counts 1 to 4 by address number, seen in a scrambled order (a third of
    // them tagged): more groups than a LIMIT's selection holds before it passes groups over.
    let events: Vec<String> = (0..400u32)
        .flat_map(|n| (0..=n % 4).map(move |_| n))
        .map(|n| (n * 17) % 400)
        .map(|n| match n % 3 {
            0 => format!(
                r#"{{"ip":"10.0.{}.{}","tag":"t{}"}}"#,
                n / 100,
                n % 100,
                n % 7
            ),
            _ => format!(r#"{{"ip":"10.0.{}.{}"}}"#, n / 100, n % 100),
        })
        .collect();
    let events: Vec<&str> = events.iter().map(String::as_str).collect();
    let grouped = "FROM cloudtrail_logs GROUP BY ip";
    for (sql, groups) in [
        (
            format!("SELECT ip, count(*) AS n {grouped} ORDER BY n DESC"),
            400,
        ),
        (
            format!("SELECT ip, count(*) AS n {grouped} ORDER BY n, ip DESC"),
            400,
        ),
        (
            format!("SELECT ip, count(*) AS n {grouped} ORDER BY ip DESC"),
            400,
        ),
        (format!("SELECT ip {grouped} ORDER BY count(*) DESC"), 400),
        (format!("SELECT ip, count(*) AS n {grouped}"), 400),
        (
            format!("SELECT ip, max(tag) AS t {grouped} ORDER BY t NULLS FIRST"),
            400,
        ),
        (
            format!("SELECT ip, max(tag) AS t {grouped} ORDER BY t DESC"),
            400,
        ),
        (
            format!("SELECT ip, count(*) AS n {grouped} HAVING count(*) >= 3 ORDER BY n"),
            200,
        ),
    ] {
        let everything = texts(rows(&sql, &events));
        assert_eq!(everything.len(), groups, "{sql}");
        for limit in [0, 1, 7, 10, 31, 32, 33, 64, 65, 150, 399, 400, 401] {
            let limited = format!("{sql} LIMIT {limit}");
            let head = &everything[..limit.min(groups)];
            assert_eq!(texts(rows(&limited, &events)), head, "{limited}");
            assert_eq!(
                texts(rows_merged(&limited, &events).0),
                head,
                "{limited}, merged"
            );
        }
    }
    // Ties in the count are ordered by the group's key.
    let top3 = texts(rows(
        &format!("SELECT ip, count(*) AS n {grouped} ORDER BY n DESC LIMIT 3"),
        &events,
    ));
    assert_eq!(top3, ["10.0.0.11|4", "10.0.0.15|4", "10.0.0.19|4"]);
    // A row that fails (a division by zero in the groups seen once) is counted whatever the
    // LIMIT, though the LIMIT leaves it out.
    let failing =
        format!("SELECT ip, count(*) AS n, 10 / (count(*) - 1) AS r {grouped} ORDER BY n DESC");
    assert_eq!(rows_merged(&failing, &events).1, 100);
    assert_eq!(rows_merged(&format!("{failing} LIMIT 5"), &events).1, 100);
}

#[test]
fn distinct_counts_are_exact_in_a_few_values_and_in_many() {
    // Group g has n events with n % 13 distinct names (a few, then many), read by two
    // accumulators merged, as two threads read them; NULL is never counted.
    let events: Vec<String> = (1..=40u32)
        .flat_map(|g| (0..g).map(move |i| (g, i % 13)))
        .map(|(g, name)| match name {
            0 => format!(r#"{{"g":{g},"name":null}}"#),
            _ => format!(r#"{{"g":{g},"name":"Call{name}"}}"#),
        })
        .collect();
    let events: Vec<&str> = events.iter().map(String::as_str).collect();
    let sql = "SELECT g, count(DISTINCT name) AS names, count(*) AS n FROM cloudtrail_logs \
               GROUP BY g ORDER BY g";
    let expected: Vec<String> = (1..=40u32)
        .map(|g| format!("{g}|{}|{g}", g.min(13) - 1))
        .collect();
    assert_eq!(texts(rows(sql, &events)), expected);
    assert_eq!(texts(rows_merged(sql, &events).0), expected);
}

#[test]
fn ungrouped_order_and_limit_keep_input_order_on_ties() {
    let events = [
        r#"{"k":2,"id":"a"}"#,
        r#"{"k":1,"id":"b"}"#,
        r#"{"k":2,"id":"c"}"#,
    ];
    assert_eq!(
        texts(rows(
            "SELECT id FROM cloudtrail_logs ORDER BY k DESC",
            &events
        )),
        ["a", "c", "b"]
    );
    assert_eq!(
        texts(rows("SELECT id FROM cloudtrail_logs LIMIT 2", &events)),
        ["a", "b"]
    );
    assert_eq!(
        texts(rows(
            "SELECT upper(id) FROM cloudtrail_logs WHERE k + 1 = 3",
            &events
        )),
        ["A", "C"]
    );
}

#[test]
fn header_problems_are_all_reported_with_lines() {
    let text = "-- name: Bad_Name\n-- severity: urgent\n-- name: again\nSELECT x FROM cloudtrail_logs WHERE CAST(x AS int) = 1\n";
    let errors = parse_file(Origin::File("q/bad.sql".into()), text).unwrap_err();
    let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert!(
        shown
            .iter()
            .any(|e| e.starts_with("q/bad.sql:3: header key 'name' is given twice")),
        "{shown:?}"
    );
    assert!(
        shown.iter().any(|e| e.contains("needs a '-- title")),
        "{shown:?}"
    );
    assert!(
        shown
            .iter()
            .any(|e| e.starts_with("q/bad.sql:1:") && e.contains("may only hold")),
        "{shown:?}"
    );
    assert!(
        shown
            .iter()
            .any(|e| e.starts_with("q/bad.sql:2:") && e.contains("unknown severity")),
        "{shown:?}"
    );
    assert!(
        shown
            .iter()
            .any(|e| e.starts_with("q/bad.sql:4:") && e.contains("CAST")),
        "{shown:?}"
    );
}

#[test]
fn continuation_lines_extend_a_value() {
    let text = "-- name: x\n-- title: T\n-- severity: low\n-- runbook: first\n--   second\n-- just a note\nSELECT 1 FROM cloudtrail_logs\n";
    let query = parse_file(Origin::CommandLine, text).unwrap();
    assert_eq!(query.meta.runbook, "first second");
    assert_eq!(query.meta.severity, Severity::Low);
}

#[test]
fn suppressions_see_the_fields_they_match_on_whatever_the_query_reads() {
    let query = ad_hoc(
        "SELECT eventTime FROM cloudtrail_logs WHERE errorCode IS NOT NULL ORDER BY eventTime",
    )
    .unwrap();
    let mut set = QuerySet::new(vec![Arc::new(query)]);
    let name = set.queries()[0].name().to_owned();
    let suppression = Suppression::new(&[], &[], &["GetObject".to_owned()]).unwrap();
    set.suppress(&name, suppression);
    let text = br#"{"Records":[
        {"eventTime":"2026-11-01T00:00:00Z","eventName":"GetObject","errorCode":"AccessDenied"},
        {"eventTime":"2026-11-01T00:00:01Z","eventName":"PutObject","errorCode":"AccessDenied"},
        {"eventTime":"2026-11-01T00:00:02Z","eventName":"GetObject"}]}"#;
    for located in [false, true] {
        let mut accumulators = set.accumulators();
        let mut index = 0;
        let projection = Projection::new(&set.needs(located, false));
        decode(text.to_vec(), &projection, u64::MAX, |record| {
            set.accumulate(&mut accumulators, record, (0, index));
            index += 1;
        })
        .unwrap();
        let store = RowStore::new(set.shapes(), MEMORY_BUDGET, std::env::temp_dir());
        let results = set.finish(accumulators, store);
        assert_eq!(
            (results[0].rows.len(), results[0].suppressed),
            (1, 1),
            "located: {located}"
        );
    }
}
