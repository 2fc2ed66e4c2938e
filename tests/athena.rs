//! Athena: every canned query, unchanged, in DuckDB over Athena's table gives trailscan's rows.
//!
//! DuckDB comes from PyPI into `target/duckdb-venv`, installed once by the harness (and by
//! `.ci/run` before the tests); tests/athena/duckdb_check.py builds the view from the
//! documented DDL (tests/athena/cloudtrail_logs.sql) and compares.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::util::moto::{self, Bucket};
use crate::util::{TRAIL, code, repo, stderr, stdout, trailscan};

/// The pinned DuckDB release (the one the end-to-end benchmark uses too).
const DUCKDB: &str = "duckdb==2.0.0";

/// The Python of `target/duckdb-venv`, with DuckDB installed; made the first time. Fails
/// the calling test, saying what to install, when it cannot be had.
fn duckdb_python() -> &'static Path {
    static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let provisioned = PYTHON.get_or_init(|| {
        let venv = repo().join("target/duckdb-venv");
        let python = venv.join("bin/python");
        let has_duckdb = |python: &Path| {
            Command::new(python)
                .args(["-c", "import duckdb"])
                .output()
                .is_ok_and(|o| o.status.success())
        };
        if has_duckdb(&python) {
            return Ok(python);
        }
        let run = |program: &Path, args: &[&str]| -> Result<(), String> {
            let output = Command::new(program)
                .args(args)
                .output()
                .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
            match output.status.success() {
                true => Ok(()),
                false => Err(format!(
                    "{} {} failed: {}",
                    program.display(),
                    args.join(" "),
                    String::from_utf8_lossy(&output.stderr).trim()
                )),
            }
        };
        run(
            Path::new("python3"),
            &["-m", "venv", &venv.to_string_lossy()],
        )?;
        run(&venv.join("bin/pip"), &["install", "--quiet", DUCKDB])?;
        match has_duckdb(&python) {
            true => Ok(python),
            false => Err(format!("{DUCKDB} installed, but `import duckdb` fails")),
        }
    });
    match provisioned {
        Ok(python) => python,
        Err(why) => panic!(
            "DuckDB is needed for this test and could not be installed: {why}\n\
             It is installed with: python3 -m venv target/duckdb-venv && \
             target/duckdb-venv/bin/pip install '{DUCKDB}'"
        ),
    }
}

/// tests/athena/duckdb_check.py with `args`, from the repository root.
fn duckdb_check(args: &[&str]) -> std::process::Output {
    Command::new(duckdb_python())
        .current_dir(repo())
        .arg("tests/athena/duckdb_check.py")
        .args(args)
        .output()
        .expect("the DuckDB check runs")
}

/// The names of the canned queries: the .sql files of queries/.
fn canned_queries() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo().join("queries"))
        .expect("queries/ is readable")
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let stem = path.file_stem()?.to_string_lossy().into_owned();
            (path.extension()? == "sql").then_some(stem)
        })
        .collect();
    names.sort();
    names
}

#[test]
fn every_canned_query_gives_trailscans_rows_in_duckdb_over_athenas_table() {
    let names = canned_queries();
    assert!(names.len() >= 32, "{names:?}");
    // One audit over every query (the informational ones too), as JSON Lines.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("every-query.toml");
    let list: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    std::fs::write(&config, format!("queries = [{}]\n", list.join(", "))).unwrap();
    let sources = [TRAIL, "fixtures/behaviour"];
    let mut args = vec!["audit"];
    args.extend(sources);
    args.extend(["--config", config.to_str().unwrap(), "--format", "jsonl"]);
    let audit = trailscan(&args);
    assert!(
        matches!(code(&audit), 0 | 1),
        "the audit: {}",
        stderr(&audit)
    );
    let expected = dir.path().join("trailscan.jsonl");
    std::fs::write(&expected, &audit.stdout).unwrap();

    let mut check = vec![
        "compare",
        "--ddl",
        "tests/athena/cloudtrail_logs.sql",
        "--queries",
        "queries",
        "--expected",
        expected.to_str().unwrap(),
    ];
    check.extend(sources);
    let compared = duckdb_check(&check);
    assert!(
        compared.status.success(),
        "DuckDB and trailscan differ:\n{}{}",
        stdout(&compared),
        stderr(&compared)
    );
    let said = stdout(&compared);
    assert!(
        said.contains(&format!("{} queries over", names.len())) && said.contains(" 0 differences"),
        "{said}"
    );
}

#[test]
fn a_field_read_with_a_dot_out_of_a_string_column_is_refused_by_duckdb_as_by_athena() {
    // The check itself: the shorthand trailscan takes is what Athena's table refuses.
    let dir = tempfile::tempdir().unwrap();
    let queries = dir.path().join("queries");
    std::fs::create_dir(&queries).unwrap();
    std::fs::write(
        queries.join("dotted.sql"),
        "-- name: dotted\n-- title: Dotted\n-- severity: low\n\
         SELECT eventTime, requestParameters.bucketName AS bucket FROM cloudtrail_logs\n",
    )
    .unwrap();
    let expected = dir.path().join("trailscan.jsonl");
    std::fs::write(
        &expected,
        "{\"type\":\"summary\",\"rows_per_query\":{\"dotted\":0}}\n",
    )
    .unwrap();
    let compared = duckdb_check(&[
        "compare",
        "--ddl",
        "tests/athena/cloudtrail_logs.sql",
        "--queries",
        queries.to_str().unwrap(),
        "--expected",
        expected.to_str().unwrap(),
        TRAIL,
    ]);
    assert_eq!(compared.status.code(), Some(1));
    let said = stdout(&compared);
    assert!(
        said.contains("dotted: DuckDB refuses the query")
            && said.contains("requestparameters")
            && said.contains("1 differences"),
        "{said}"
    );
}

#[test]
fn lint_warns_of_what_athena_refuses_with_its_spelling() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mine.sql"),
        "-- name: mine\n-- title: Mine\n-- severity: low\n\
         SELECT eventTime, requestParameters.bucketName AS bucket\n\
         FROM cloudtrail_logs\n\
         WHERE readOnly = false\n",
    )
    .unwrap();
    let output = trailscan(&["queries", "lint", dir.path().to_str().unwrap()]);
    let said = stdout(&output);
    let file = dir.path().join("mine.sql");
    let file = file.display();
    assert!(
        said.contains(&format!("{file}:4:19: warning: `requestParameters.bucketName` reads a field of requestParameters"))
            && said.contains("write json_extract_scalar(requestParameters, '$.bucketName')"),
        "{said}"
    );
    assert!(
        said.contains(&format!("{file}:6:7: warning: `readOnly = false`"))
            && said.contains("write readOnly = 'false'"),
        "{said}"
    );
    assert!(
        said.contains("1 files checked, 0 problems, 2 warnings"),
        "{said}"
    );
    // Warnings leave the exit status: trailscan runs the query as it is.
    assert_eq!(code(&output), 0, "{said}");
    let builtin = trailscan(&["queries", "lint"]);
    assert!(
        !stdout(&builtin).contains("warning"),
        "{}",
        stdout(&builtin)
    );
}

/// The fixtures' bucket on moto: two trails, an account's and an organization's below a prefix.
fn fixtures_bucket(endpoint: &str, name: &str) -> Bucket {
    let bucket = Bucket::create(endpoint, name);
    bucket.upload_tree(&repo().join(TRAIL), "");
    bucket
}

#[test]
fn athena_ddl_finds_each_trail_of_a_bucket_and_matches_the_documented_table() {
    let endpoint = moto::endpoint();
    let bucket = fixtures_bucket(endpoint, "athena-ddl");
    let output = moto::trailscan_s3(
        endpoint,
        &["athena", "ddl", &bucket.url(""), "--database", "security"],
    );
    let ddl = stdout(&output);
    assert_eq!(code(&output), 0, "{}{ddl}", stderr(&output));
    let name = &bucket.name;
    for expected in [
        "CREATE DATABASE IF NOT EXISTS security;".to_owned(),
        "CREATE EXTERNAL TABLE IF NOT EXISTS security.cloudtrail_logs_trail (".to_owned(),
        format!("LOCATION 's3://{name}/AWSLogs/'"),
        "'projection.account.values'='111122223333'".to_owned(),
        "'projection.region.values'='eu-west-1,us-east-1'".to_owned(),
        "'projection.timestamp.range'='2026/11/19,NOW'".to_owned(),
        "CREATE EXTERNAL TABLE IF NOT EXISTS security.cloudtrail_logs_security_prefix_o_a1b2c3d4e5 (".to_owned(),
        "-- the organization trail o-a1b2c3d4e5".to_owned(),
        "'projection.account.values'='444455556666'".to_owned(),
        format!(
            "'storage.location.template'='s3://{name}/security-prefix/AWSLogs/o-a1b2c3d4e5/${{account}}/CloudTrail/${{region}}/${{timestamp}}'"
        ),
        "-- 2 trails found with ".to_owned(),
    ] {
        assert!(ddl.contains(&expected), "{expected}\n{ddl}");
    }
    // Each table, compared with the documented one: columns, types, SerDe, projection.
    let dir = tempfile::tempdir().unwrap();
    for (i, table) in ddl.split("CREATE EXTERNAL TABLE").skip(1).enumerate() {
        let file = dir.path().join(format!("table{i}.sql"));
        std::fs::write(&file, format!("CREATE EXTERNAL TABLE{table}")).unwrap();
        let checked = duckdb_check(&[
            "ddl",
            "--ddl",
            "tests/athena/cloudtrail_logs.sql",
            file.to_str().unwrap(),
        ]);
        assert!(checked.status.success(), "{}\n{table}", stdout(&checked));
    }
}

#[test]
fn athena_ddl_takes_accounts_and_regions_given_and_says_what_is_wrong() {
    let endpoint = moto::endpoint();
    let bucket = fixtures_bucket(endpoint, "athena-ddl-given");
    let output = moto::trailscan_s3(
        endpoint,
        &[
            "athena",
            "ddl",
            &bucket.url("AWSLogs"),
            "--account",
            "111122223333,999988887777",
            "--region",
            "us-east-1",
            "--since",
            "2026-11-20",
            "--until",
            "2026-11-21",
            "--table",
            "trail",
        ],
    );
    let ddl = stdout(&output);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(
        ddl.contains("CREATE EXTERNAL TABLE IF NOT EXISTS trail (")
            && ddl.contains("'projection.account.values'='111122223333,999988887777'")
            && ddl.contains("'projection.region.values'='us-east-1'")
            && ddl.contains("'projection.timestamp.range'='2026/11/19,2026/11/21'")
            && ddl.contains("found with 1 LIST requests"),
        "{ddl}"
    );
    for (args, said) in [
        (
            vec![bucket.url("nothing-here")],
            "no CloudTrail folders (AWSLogs/<account>/CloudTrail/) below it",
        ),
        (
            vec!["s3://no-such-bucket-trailscan".to_owned()],
            "no such bucket",
        ),
        (
            vec![bucket.url(""), "--table".to_owned(), "my-table".to_owned()],
            "--table 'my-table' is not an Athena name",
        ),
        (
            vec!["./fixtures/trail".to_owned()],
            "give s3://BUCKET[/PREFIX]",
        ),
    ] {
        let mut all = vec!["athena".to_owned(), "ddl".to_owned()];
        all.extend(args);
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        let output = moto::trailscan_s3(endpoint, &all);
        assert_eq!(code(&output), 2, "{all:?}");
        let error = stderr(&output);
        assert!(
            error.contains(said) && error.lines().count() == 1,
            "{error}"
        );
    }
}

/// moto's server with the parts of Athena's API its mock leaves out (result pages, a query
/// that fails, data scanned: tests/athena/moto_athena.py), started once on a free port with
/// the Python of target/moto-venv. Each test runs Athena in a region of its own, so that
/// their queued results stay apart.
fn athena_endpoint() -> &'static str {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT.get_or_init(|| {
        // Installs moto into target/moto-venv when it is not there yet.
        let _ = moto::endpoint();
        let python = repo().join("target/moto-venv/bin/python");
        assert!(
            python.exists(),
            "moto's Python is needed: python3 -m venv target/moto-venv && target/moto-venv/bin/pip install 'moto[server]==5.2.5'"
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        // The shell waits on our stdin: when the tests end, the pipe closes and the server stops.
        let script = format!(
            "'{}' tests/athena/moto_athena.py -H 127.0.0.1 -p {port} >/dev/null 2>&1 & server=$!; cat >/dev/null; kill $server",
            python.display()
        );
        let child = Command::new("sh")
            .args(["-c", &script])
            .current_dir(repo())
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("the Athena server starts");
        std::mem::forget(child);
        let endpoint = format!("http://127.0.0.1:{port}");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while http(&endpoint, "GET", "/moto-api/", "").is_none() {
            assert!(
                std::time::Instant::now() < deadline,
                "moto_athena.py did not answer at {endpoint}"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        endpoint
    })
}

/// One HTTP/1.0 request to the test server; the response's status line and body.
fn http(endpoint: &str, method: &str, path: &str, body: &str) -> Option<String> {
    use std::io::{Read, Write};
    let address = endpoint.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).ok()?;
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.starts_with("HTTP/1.").then_some(response)
}

/// Queues results for the next queries started in `region`, in the order they start.
fn queue(region: &str, results: Vec<serde_json::Value>) {
    let body = serde_json::json!({ "region": region, "results": results }).to_string();
    let response = http(
        athena_endpoint(),
        "POST",
        "/moto-api/static/athena/query-results",
        &body,
    )
    .expect("moto answers");
    assert!(
        response.starts_with("HTTP/1.0 201") || response.starts_with("HTTP/1.1 201"),
        "{response}"
    );
}

/// A query's result as GetQueryResults gives it: a header row of the column names, then
/// each row's values as text (NULL without a value), with Athena's types: numbers
/// `bigint`, the alarms' windows `timestamp(3) with time zone`, the rest `varchar`.
fn athena_result(columns: &[String], rows: &[serde_json::Value]) -> serde_json::Value {
    use serde_json::{Value, json};
    let is_time = |column: &str| matches!(column, "window_start" | "hour");
    let kind = |i: usize| -> &str {
        if is_time(&columns[i]) {
            "timestamp(3) with time zone"
        } else if rows.iter().any(|r| r[&columns[i]].is_i64()) {
            "bigint"
        } else {
            "varchar"
        }
    };
    let datum = |column: &str, value: &Value| match value {
        Value::Null => json!({}),
        Value::String(text) if is_time(column) => {
            let athena = chrono::DateTime::parse_from_rfc3339(text)
                .expect("an RFC 3339 time")
                .format("%Y-%m-%d %H:%M:%S%.3f UTC")
                .to_string();
            json!({ "VarCharValue": athena })
        }
        Value::String(text) => json!({ "VarCharValue": text }),
        other => json!({ "VarCharValue": other.to_string() }),
    };
    let header: Vec<Value> = (columns.iter())
        .map(|c| json!({ "VarCharValue": c.to_lowercase() }))
        .collect();
    let mut data = vec![json!({ "Data": header })];
    data.extend(rows.iter().map(
        |row| json!({ "Data": columns.iter().map(|c| datum(c, &row[c])).collect::<Vec<_>>() }),
    ));
    let info: Vec<Value> = (0..columns.len())
        .map(|i| json!({ "Name": columns[i].to_lowercase(), "Label": columns[i].to_lowercase(), "Type": kind(i) }))
        .collect();
    json!({ "rows": data, "column_info": info })
}

/// trailscan against the Athena server, in `region`.
fn athena_run(region: &str, args: &[&str]) -> std::process::Output {
    let mut all = vec!["athena", "run"];
    all.extend(args);
    all.extend(["--athena-region", region]);
    moto::trailscan_s3(athena_endpoint(), &all)
}

/// The SQL of every query started in `region`, in the order they started.
fn statements_sent(region: &str) -> Vec<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = aws_sdk_athena::Config::builder()
        .behavior_version(aws_sdk_athena::config::BehaviorVersion::latest())
        .region(aws_sdk_athena::config::Region::new(region.to_owned()))
        .endpoint_url(athena_endpoint())
        .credentials_provider(aws_sdk_athena::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .build();
    let client = aws_sdk_athena::Client::from_conf(config);
    runtime.block_on(async {
        let listed = client
            .list_query_executions()
            .work_group("primary")
            .send()
            .await
            .expect("executions are listed");
        let mut sent = Vec::new();
        for id in listed.query_execution_ids() {
            let execution = (client.get_query_execution())
                .query_execution_id(id)
                .send()
                .await
                .expect("an execution");
            sent.push(
                execution
                    .query_execution()
                    .and_then(|e| e.query())
                    .unwrap_or_default()
                    .to_owned(),
            );
        }
        sent
    })
}

/// One query's result in JSON Lines: its name, its columns and its rows.
type Found = (String, Vec<String>, Vec<serde_json::Value>);

/// The rows a local audit of the fixtures finds, by query, in the audit's order, and their columns.
fn local_audit(extra: &[&str]) -> (Vec<Found>, String) {
    let mut args = vec!["audit", TRAIL, "--format", "jsonl"];
    args.extend(extra);
    let local = trailscan(&args);
    assert_eq!(code(&local), 1, "{}", stderr(&local));
    let text = stdout(&local);
    let mut order: Vec<Found> = Vec::new();
    let mut summary = serde_json::Value::Null;
    for line in text.lines() {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        if record["type"] == "summary" {
            summary = record;
            continue;
        }
        let name = record["query"].as_str().unwrap().to_owned();
        let row = record["row"].clone();
        let columns: Vec<String> = row.as_object().unwrap().keys().cloned().collect();
        match order.iter_mut().find(|(n, _, _)| *n == name) {
            Some((_, _, rows)) => rows.push(row),
            None => order.push((name, columns, vec![row])),
        }
    }
    // Every query the audit ran, in its order: those without rows too (from the summary).
    let ran: Vec<String> = summary["rows_per_query"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let all = ran
        .into_iter()
        .map(|name| match order.iter().find(|(n, _, _)| *n == name) {
            Some(found) => found.clone(),
            None => (name, Vec::new(), Vec::new()),
        })
        .collect();
    (all, text)
}

/// The row lines of JSON Lines output.
fn row_lines(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| l.starts_with("{\"type\":\"row\""))
        .collect()
}

#[test]
fn athena_run_prints_the_findings_a_local_scan_prints_for_the_same_rows() {
    let region = "eu-west-3";
    let (queries, local) = local_audit(&[]);
    assert!(queries.len() >= 30, "{}", queries.len());
    let results = queries
        .iter()
        .map(|(_, columns, rows)| athena_result(columns, rows))
        .collect();
    queue(region, results);
    let output = athena_run(
        region,
        &[
            "audit",
            "--database",
            "security",
            "--since",
            "2026-11-19",
            "--format",
            "jsonl",
        ],
    );
    let remote = stdout(&output);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    assert_eq!(row_lines(&remote), row_lines(&local), "{}", stderr(&output));
    let summary: serde_json::Value = serde_json::from_str(remote.lines().last().unwrap()).unwrap();
    assert_eq!(
        summary["athena_queries"].as_array().unwrap().len(),
        queries.len()
    );
    assert_eq!(summary["errors"], 0);
    // Every statement sent is the query file as written, behind the CTE.
    let sent = statements_sent(region);
    assert_eq!(sent.len(), queries.len());
    for ((name, _, _), sql) in queries.iter().zip(&sent) {
        let file = std::fs::read_to_string(repo().join(format!("queries/{name}.sql"))).unwrap();
        let body: Vec<&str> = file
            .lines()
            .skip_while(|l| l.trim().is_empty() || l.trim_start().starts_with("--"))
            .collect();
        let body = body.join("\n");
        assert!(
            sql.starts_with("WITH cloudtrail_logs AS (\n    SELECT eventversion, useridentity,"),
            "{sql}"
        );
        assert!(
            sql.contains("    FROM security.cloudtrail_logs\n    WHERE \"timestamp\" >= '2026/11/18'\n      AND try(from_iso8601_timestamp(eventtime)) >= from_iso8601_timestamp('2026-11-19T00:00:00Z')\n)\n"),
            "{sql}"
        );
        assert!(sql.ends_with(body.trim_end()), "{name}:\n{sql}");
    }
}

#[test]
fn athena_run_pushes_the_window_accounts_and_regions_into_the_partitions() {
    let region = "ap-south-1";
    queue(region, vec![serde_json::json!({ "rows": [] })]);
    let output = athena_run(
        region,
        &[
            "root-usage",
            "--since",
            "2026-11-20T08:00:00Z",
            "--until",
            "2026-11-21T00:00:00Z",
            "--account",
            "111122223333",
            "--region",
            "us-east-1,eu-west-1",
            "--table",
            "trail",
        ],
    );
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let sent = statements_sent(region);
    let expected = "WHERE \"timestamp\" BETWEEN '2026/11/19' AND '2026/11/21'\n      AND account IN ('111122223333')\n      AND region IN ('us-east-1', 'eu-west-1')\n      AND try(from_iso8601_timestamp(eventtime)) >= from_iso8601_timestamp('2026-11-20T08:00:00Z')\n      AND try(from_iso8601_timestamp(eventtime)) < from_iso8601_timestamp('2026-11-21T00:00:00Z')\n)\nSELECT eventTime, recipientAccountId AS account";
    assert!(
        sent.len() == 1 && sent[0].contains("    FROM trail\n") && sent[0].contains(expected),
        "{sent:?}"
    );
    let table = stdout(&output);
    assert!(
        table.contains("Athena: 1 query, 0.00 MB scanned, about $0.00005")
            && table.contains("  root-usage: 0.00 MB scanned, $0.00005"),
        "{table}"
    );
}

#[test]
fn athena_run_reads_every_page_of_a_large_result_and_says_what_it_scanned() {
    let region = "ca-central-1";
    let columns: Vec<String> = [
        "eventTime",
        "account",
        "user_name",
        "principal",
        "sourceIPAddress",
        "errorMessage",
        "mfa_used",
    ]
    .map(String::from)
    .to_vec();
    let rows: Vec<serde_json::Value> = (0..2_345)
        .map(|i| {
            serde_json::json!({
                "eventTime": format!("2026-11-20T{:02}:{:02}:{:02}Z", i / 3600, i / 60 % 60, i % 60),
                "account": "111122223333", "user_name": format!("user{i}"), "principal": null,
                "sourceIPAddress": "203.0.113.50", "errorMessage": "Failed authentication", "mfa_used": "No",
            })
        })
        .collect();
    let mut result = athena_result(&columns, &rows);
    result["data_scanned_in_bytes"] = serde_json::json!(2_500_000_000u64);
    result["engine_execution_time_in_millis"] = serde_json::json!(8_250);
    queue(region, vec![result]);
    let output = athena_run(region, &["failed-logins", "--format", "jsonl"]);
    let text = stdout(&output);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let printed = row_lines(&text);
    assert_eq!(printed.len(), 2_345, "pages of 1000 rows, all read");
    assert!(printed[2_344].contains("\"user_name\":\"user2344\""));
    let summary: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(summary["athena_data_scanned_bytes"], 2_500_000_000u64);
    assert_eq!(summary["athena_cost_usd"], 0.0125, "2,500 MB at $5 per TB");
    assert_eq!(summary["athena_queries"][0]["engine_ms"], 8_250);
}

#[test]
fn a_failed_query_is_one_line_and_exit_2_and_the_others_still_print() {
    let region = "sa-east-1";
    // Run by name, the queries start in the audit's order: the most severe first.
    let columns: Vec<String> = [
        "eventTime",
        "account",
        "awsRegion",
        "eventName",
        "principal",
        "sourceIPAddress",
        "errorCode",
    ]
    .map(String::from)
    .to_vec();
    let row = serde_json::json!({"eventTime": "2026-11-20T09:40:00Z", "account": "111122223333",
        "awsRegion": "us-east-1", "eventName": "ListBuckets", "principal": "arn:aws:iam::111122223333:root",
        "sourceIPAddress": "198.51.100.7", "errorCode": null});
    queue(
        region,
        vec![
            athena_result(&columns, &[row]),
            serde_json::json!({ "rows": [], "state": "FAILED",
                "state_change_reason": "COLUMN_NOT_FOUND: line 12:8: Column 'x' cannot be resolved" }),
            serde_json::json!({ "rows": [], "state": "CANCELLED", "state_change_reason": "Query cancelled by user" }),
        ],
    );
    let output = athena_run(region, &["root-usage", "kms-key-deletion", "nacl-changes"]);
    assert_eq!(code(&output), 2);
    let error = stderr(&output);
    let lines: Vec<&str> = error.lines().collect();
    assert_eq!(lines.len(), 2, "{error}");
    assert!(
        lines[0].starts_with("trailscan: kms-key-deletion: query ")
            && lines[0].ends_with(
                " FAILED on Athena: COLUMN_NOT_FOUND: line 12:8: Column 'x' cannot be resolved"
            ),
        "{error}"
    );
    assert!(
        lines[1].starts_with("trailscan: nacl-changes: query ")
            && lines[1].ends_with(" was CANCELLED: Query cancelled by user"),
        "{error}"
    );
    let table = stdout(&output);
    assert!(
        table.contains("198.51.100.7") && table.contains("  kms-key-deletion: failed"),
        "{table}"
    );
}

#[test]
fn a_missing_workgroup_is_one_line_and_nothing_else_is_started() {
    let region = "eu-north-1";
    let output = athena_run(region, &["audit", "--workgroup", "no-such-workgroup"]);
    assert_eq!(code(&output), 2);
    let error = stderr(&output);
    assert_eq!(error.lines().count(), 2, "{error}");
    assert!(
        error.contains(": not started on Athena: workgroup 'no-such-workgroup' does not exist: `aws athena list-work-groups` lists them")
            && error.lines().nth(1).is_some_and(|l| l.ends_with("more queries not started (the reason is above)")),
        "{error}"
    );
    assert!(statements_sent(region).is_empty());
}

#[test]
fn athena_run_alerts_and_remembers_findings_as_a_scan_does() {
    let region = "us-west-1";
    let endpoint = athena_endpoint();
    let topic = moto::create_topic(endpoint, "athena-alerts");
    let columns: Vec<String> = [
        "eventTime",
        "account",
        "awsRegion",
        "eventName",
        "principal",
        "sourceIPAddress",
        "errorCode",
    ]
    .map(String::from)
    .to_vec();
    let row = serde_json::json!({"eventTime": "2026-11-20T09:40:00Z", "account": "111122223333",
        "awsRegion": "us-east-1", "eventName": "ListBuckets", "principal": "arn:aws:iam::111122223333:root",
        "sourceIPAddress": "198.51.100.7", "errorCode": null});
    let result = athena_result(&columns, &[row]);
    queue(region, vec![result.clone(), result]);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let args = [
        "root-usage",
        "--since",
        "2026-11-20",
        "--sns-topic",
        &topic,
        "--state",
        state.to_str().unwrap(),
    ];
    let first = athena_run(region, &args);
    assert_eq!(code(&first), 1, "{}", stderr(&first));
    let sent = moto::sent(endpoint, &topic);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0]
            .subject
            .starts_with("[trailscan] CRITICAL root-usage: 1 finding"),
        "{sent:?}"
    );
    // The same row again: already reported, not alerted, exit 0.
    let second = athena_run(region, &args);
    assert_eq!(code(&second), 0, "{}", stderr(&second));
    assert!(stdout(&second).contains("From the state: 1 finding already reported"));
    assert_eq!(moto::sent(endpoint, &topic).len(), 1);
}

#[test]
fn athena_run_takes_its_table_and_workgroup_from_the_configuration_file() {
    let region = "ap-northeast-2";
    queue(region, vec![serde_json::json!({ "rows": [] })]);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("trailscan.toml");
    std::fs::write(
        &config,
        "since = \"2026-11-20\"\n\n[athena]\ndatabase = \"security\"\ntable = \"org_trail\"\nworkgroup = \"primary\"\noutput_location = \"s3://athena-results/trailscan/\"\nconcurrency = 2\n",
    )
    .unwrap();
    let output = athena_run(
        region,
        &["root-usage", "--config", config.to_str().unwrap()],
    );
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let sent = statements_sent(region);
    assert!(
        sent.len() == 1
            && sent[0]
                .contains("    FROM security.org_trail\n    WHERE \"timestamp\" >= '2026/11/19'"),
        "{sent:?}"
    );
    std::fs::write(
        &config,
        "[athena]\ntable = \"org_trail\"\noutput_location = \"athena-results\"\n",
    )
    .unwrap();
    let output = athena_run(
        region,
        &["root-usage", "--config", config.to_str().unwrap()],
    );
    assert_eq!(code(&output), 2);
    let error = stderr(&output);
    assert!(
        error.contains(
            "trailscan.toml:1: athena: output_location: 'athena-results' is not an s3:// URL"
        ),
        "{error}"
    );
}
