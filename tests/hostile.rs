//! Hostile input and faults: each test is named after the hole it keeps closed.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

use crate::util::moto::{Bucket, endpoint, trailscan_s3};
use crate::util::{TRAIL, code, rows_per_query, stderr, stdout, trailscan, write};

const ACCOUNT: &str = "111122223333";

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// A root-user console sign-in: one row of `root-usage` each.
fn root_login(id: &str, time: &str) -> Value {
    serde_json::json!({
        "eventVersion": "1.09", "eventID": id, "eventTime": time, "eventName": "ConsoleLogin",
        "eventSource": "signin.amazonaws.com", "eventType": "AwsConsoleSignIn",
        "awsRegion": "us-east-1", "recipientAccountId": ACCOUNT, "sourceIPAddress": "203.0.113.5",
        "userIdentity": {"type": "Root", "arn": format!("arn:aws:iam::{ACCOUNT}:root"), "accountId": ACCOUNT},
        "responseElements": {"ConsoleLogin": "Success"},
    })
}

fn records(events: &[Value]) -> Vec<u8> {
    serde_json::json!({ "Records": events })
        .to_string()
        .into_bytes()
}

/// The key of a delivery file on `day` (YYYY/MM/DD) stamped `stamp` (YYYYMMDDTHHMM).
fn key(day: &str, stamp: &str) -> String {
    format!(
        "AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/{day}/{ACCOUNT}_CloudTrail_us-east-1_{stamp}Z_x.json.gz"
    )
}

fn lines_mentioning(text: &str, needle: &str) -> usize {
    text.lines().filter(|l| l.contains(needle)).count()
}

#[test]
fn regression_path_traversal_into_the_cache() {
    let endpoint = endpoint();
    let bucket = Bucket::create(endpoint, "traversal");
    let evil = format!(
        "AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/2026/11/20/../../../../../../../../../escape-{}/evil.sh",
        std::process::id()
    );
    bucket.put(
        &evil,
        gzip(&records(&[root_login("e1", "2026-11-20T10:00:00Z")])),
    );
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("deep/cache");
    std::fs::create_dir_all(&cache).unwrap();
    let output = trailscan_s3(
        endpoint,
        &[
            "root-usage",
            &bucket.url(""),
            "--cache-dir",
            cache.to_str().unwrap(),
            "--format",
            "jsonl",
        ],
    );
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    assert_eq!(rows_per_query(&stdout(&output))["root-usage"], 1);
    assert!(
        stderr(&output).contains("not a safe file path"),
        "{}",
        stderr(&output)
    );
    // Nothing anywhere above the cache: not in the temp dir, not at the filesystem's root.
    let escaped = format!("escape-{}", std::process::id());
    for root in [dir.path(), Path::new("/"), &dir.path().join("deep")] {
        assert!(
            !root.join(&escaped).exists(),
            "written under {}",
            root.display()
        );
    }
    let mut kept = Vec::new();
    collect(dir.path(), &mut kept);
    assert!(kept.iter().all(|p| p.starts_with(&cache)), "{kept:?}");
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn regression_an_s3_key_with_a_control_character_does_not_blind_the_run() {
    let endpoint = endpoint();
    let bucket = Bucket::create(endpoint, "escape-key");
    let good = key("2026/11/20", "20261120T1000");
    bucket.put(
        &good,
        gzip(&records(&[root_login("g1", "2026-11-20T10:00:00Z")])),
    );
    // (moto's HTTP layer refuses a newline in a key; the local tests cover that one.)
    let odd = format!(
        "AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/2026/11/20/odd\x1b[31mred\u{202e}line.json"
    );
    bucket.put(&odd, b"not json".to_vec());
    let output = trailscan_s3(
        endpoint,
        &["root-usage", &bucket.url(""), "--format", "jsonl"],
    );
    let err = stderr(&output);
    assert_eq!(code(&output), 2, "the odd object is an error: {err}");
    assert_eq!(rows_per_query(&stdout(&output))["root-usage"], 1);
    assert!(!err.contains('\x1b'), "raw ESC reached stderr: {err:?}");
    assert_eq!(
        lines_mentioning(&err, "odd"),
        1,
        "one line, newline escaped: {err}"
    );
    assert!(!err.contains('\u{202e}'), "{err:?}");
}

#[test]
fn regression_a_future_dated_object_does_not_poison_the_state() {
    let dir = tempfile::tempdir().unwrap();
    let (tree, state) = (dir.path().join("trail"), dir.path().join("state.json"));
    let deliver = |day: &str, stamp: &str, id: &str, time: &str| {
        write(
            &tree,
            &key(day, stamp),
            &gzip(&records(&[root_login(id, time)])),
        );
    };
    let run = || {
        trailscan(&[
            "root-usage",
            tree.to_str().unwrap(),
            "--state",
            state.to_str().unwrap(),
            "--format",
            "jsonl",
        ])
    };
    deliver("2099/12/31", "20991231T2359", "f1", "2026-11-20T09:00:00Z");
    deliver("2026/11/20", "20261120T1000", "a1", "2026-11-20T10:00:00Z");
    let first = run();
    assert!(
        stderr(&first).contains("in the future: that time is not trusted"),
        "{}",
        stderr(&first)
    );
    assert_eq!(rows_per_query(&stdout(&first))["root-usage"], 2);
    deliver("2026/11/20", "20261120T1100", "a2", "2026-11-20T11:00:00Z");
    let second = run();
    assert_eq!(
        rows_per_query(&stdout(&second))["root-usage"],
        1,
        "the later real file is read: {}",
        stderr(&second)
    );
}

#[test]
fn a_source_that_failed_is_read_in_full_once_it_appears() {
    let dir = tempfile::tempdir().unwrap();
    let (tree, late, state) = (
        dir.path().join("trail"),
        dir.path().join("late"),
        dir.path().join("state.json"),
    );
    write(
        &tree,
        &key("2026/11/20", "20261120T1200"),
        &gzip(&records(&[root_login("t1", "2026-11-20T12:00:00Z")])),
    );
    let run = || {
        trailscan(&[
            "root-usage",
            tree.to_str().unwrap(),
            late.to_str().unwrap(),
            "--state",
            state.to_str().unwrap(),
            "--format",
            "jsonl",
        ])
    };
    let first = run();
    assert_eq!(code(&first), 2, "{}", stderr(&first));
    // The source that failed now lists objects older than everything read so far.
    write(
        &late,
        &key("2026/11/20", "20261120T0800"),
        &gzip(&records(&[root_login("l1", "2026-11-20T08:00:00Z")])),
    );
    let second = run();
    assert_eq!(
        rows_per_query(&stdout(&second))["root-usage"],
        1,
        "{}",
        stderr(&second)
    );
    assert_eq!(code(&second), 1);
}

#[test]
fn regression_a_dangling_symlink_is_said_and_folder_links_are_followed() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real");
    write(
        &real,
        &key("2026/11/20", "20261120T1000"),
        &gzip(&records(&[root_login("s1", "2026-11-20T10:00:00Z")])),
    );
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    std::os::unix::fs::symlink(&real, tree.join("linked")).unwrap();
    std::os::unix::fs::symlink(
        dir.path().join("gone.json.gz"),
        tree.join("dangling.json.gz"),
    )
    .unwrap();
    let output = trailscan(&["root-usage", tree.to_str().unwrap(), "--format", "jsonl"]);
    assert_eq!(rows_per_query(&stdout(&output))["root-usage"], 1);
    let err = stderr(&output);
    assert_eq!(lines_mentioning(&err, "dangling.json.gz"), 1, "{err}");
}

#[test]
fn regression_object_names_in_error_lines_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let name = "bad\x1b]8;;http://x\x07\u{202e}name\r\nsecond.json";
    write(dir.path(), name, b"{broken");
    let output = trailscan(&["failed-logins", dir.path().to_str().unwrap()]);
    assert_eq!(code(&output), 2);
    let err = stderr(&output);
    assert!(
        !err.contains(['\x1b', '\x07', '\r', '\u{202e}']),
        "raw controls: {err:?}"
    );
    assert_eq!(lines_mentioning(&err, "second.json"), 1, "{err}");
}

#[test]
fn regression_deep_sql_is_refused_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let ors = vec!["eventName = 'x'"; 8000].join(" OR ");
    write(
        dir.path(),
        "deep.sql",
        format!("-- name: deep\n-- title: Deep\n-- severity: low\nSELECT eventName FROM cloudtrail_logs WHERE {ors}\n").as_bytes(),
    );
    let output = trailscan(&["queries", "lint", dir.path().to_str().unwrap()]);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let text = format!("{}{}", stdout(&output), stderr(&output));
    assert!(text.contains("deep.sql"), "{text}");
    assert!(text.contains("nested") || text.contains("deep"), "{text}");
    let sums = vec!["1"; 8000].join("+");
    let output = trailscan(&[
        "query",
        &format!("SELECT {sums} FROM cloudtrail_logs"),
        TRAIL,
    ]);
    assert_eq!(code(&output), 2, "{}", stderr(&output));
}

#[test]
fn regression_a_large_in_list_plans_and_matches() {
    let dir = tempfile::tempdir().unwrap();
    let mut names: Vec<String> = (0..200_000).map(|i| format!("'Name{i}'")).collect();
    names.push("'ConsoleLogin'".to_owned());
    let query = write(
        dir.path(),
        "big-in.sql",
        format!(
            "-- name: big-in\n-- title: Big IN\n-- severity: low\n\
             SELECT eventID FROM cloudtrail_logs WHERE eventName IN ({})\n",
            names.join(",")
        )
        .as_bytes(),
    );
    let output = trailscan(&[
        "big-in",
        TRAIL,
        "--queries",
        query.parent().unwrap().to_str().unwrap(),
        "--format",
        "jsonl",
    ]);
    let baseline = trailscan(&[
        "query",
        "SELECT eventID FROM cloudtrail_logs WHERE eventName = 'ConsoleLogin'",
        TRAIL,
        "--format",
        "jsonl",
    ]);
    let rows = |o: &std::process::Output| rows_per_query(&stdout(o)).into_values().sum::<u64>();
    assert!(rows(&baseline) > 0);
    assert_eq!(rows(&output), rows(&baseline), "{}", stderr(&output));
}

#[test]
fn regression_threads_are_bounded() {
    let output = trailscan(&["failed-logins", TRAIL, "--threads", "100000"]);
    assert_eq!(code(&output), 2);
    assert!(stderr(&output).contains("--threads"), "{}", stderr(&output));
}

#[test]
fn regression_sql_that_athena_refuses_is_refused_or_said() {
    let output = trailscan(&[
        "query",
        "SELECT eventID FROM cloudtrail_logs WHERE eventName > 5",
        TRAIL,
    ]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("compares text with a number"),
        "{}",
        stderr(&output)
    );
    let output = trailscan(&["query", "SELECT eventID FROM some_other_table", TRAIL]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("cloudtrail_logs"),
        "{}",
        stderr(&output)
    );
    let output = trailscan(&[
        "query",
        "SELECT count(*) / 0 AS n FROM cloudtrail_logs",
        TRAIL,
        "--format",
        "jsonl",
    ]);
    assert_eq!(code(&output), 2, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("integer operations failed"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn regression_a_profile_or_endpoint_that_cannot_be_is_one_clear_line() {
    let output = trailscan(&[
        "failed-logins",
        "s3://some-bucket/",
        "--profile",
        "doesnotexist",
    ]);
    assert_eq!(code(&output), 2);
    let err = stderr(&output);
    assert!(err.contains("'doesnotexist': no such profile"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let output = trailscan(&[
        "failed-logins",
        "s3://some-bucket/",
        "--endpoint-url",
        "not a url",
    ]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("is not a URL"),
        "{}",
        stderr(&output)
    );
    assert_eq!(stderr(&output).lines().count(), 1);
}

#[test]
fn regression_an_empty_source_keeps_a_cron_job_red() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let state = dir.path().join("state.json");
    let interactive = trailscan(&["failed-logins", empty.to_str().unwrap()]);
    assert_eq!(code(&interactive), 0);
    assert!(
        stderr(&interactive).contains("no objects"),
        "{}",
        stderr(&interactive)
    );
    let cron = trailscan(&[
        "failed-logins",
        empty.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
    ]);
    assert_eq!(code(&cron), 2, "{}", stderr(&cron));
    let typo = trailscan(&["failed-logins", TRAIL, "--region", "us-east1"]);
    assert!(stderr(&typo).contains("us-east1"), "{}", stderr(&typo));
}

#[test]
fn regression_odd_gzip_and_json_shapes_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut padded = gzip(&records(&[root_login("p1", "2026-11-20T10:00:00Z")]));
    padded.extend([0u8; 1024]);
    write(dir.path(), "padded.json.gz", &padded);
    let twice = format!(
        r#"{{"Records":[{}],"Records":[{}]}}"#,
        root_login("d1", "2026-11-20T10:00:00Z"),
        root_login("d2", "2026-11-20T11:00:00Z")
    );
    write(dir.path(), "twice.json.gz", &gzip(twice.as_bytes()));
    let output = trailscan(&[
        "root-usage",
        dir.path().to_str().unwrap(),
        "--format",
        "jsonl",
    ]);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    assert_eq!(rows_per_query(&stdout(&output))["root-usage"], 3);
    assert!(
        stderr(&output).contains("2 \"Records\" arrays"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn regression_an_object_that_inflates_past_the_limit_is_its_error() {
    let dir = tempfile::tempdir().unwrap();
    // 40 MB of one repeated byte inside a string: a few kB of gzip.
    let padding = "x".repeat(40 << 20);
    let mut event = root_login("big", "2026-11-20T10:00:00Z");
    event["padding"] = Value::String(padding);
    write(dir.path(), "bomb.json.gz", &gzip(&records(&[event])));
    write(
        dir.path(),
        "fine.json.gz",
        &gzip(&records(&[root_login("ok", "2026-11-20T11:00:00Z")])),
    );
    let output = trailscan(&[
        "root-usage",
        dir.path().to_str().unwrap(),
        "--max-object-size",
        "16M",
        "--format",
        "jsonl",
    ]);
    assert_eq!(code(&output), 2, "{}", stderr(&output));
    assert_eq!(rows_per_query(&stdout(&output))["root-usage"], 1);
    let err = stderr(&output);
    assert!(err.contains("bomb.json.gz"), "{err}");
    assert!(err.contains("--max-object-size"), "{err}");
    // Under the default limit the same object is read, a chunk at a time.
    let output = trailscan(&[
        "root-usage",
        dir.path().to_str().unwrap(),
        "--format",
        "jsonl",
    ]);
    assert_eq!(rows_per_query(&stdout(&output))["root-usage"], 2);
}

#[test]
fn regression_an_address_that_escalates_is_alerted_again() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let known = write(dir.path(), "known.txt", b"198.51.100.0/24\n");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "suspicious-ips",
            TRAIL,
            "--state",
            state.to_str().unwrap(),
            "--format",
            "jsonl",
        ];
        args.extend(extra);
        trailscan(&args)
    };
    let first = run(&[]);
    let flagged = rows_per_query(&stdout(&first))["suspicious-ips"];
    assert!(flagged > 0);
    assert_eq!(rows_per_query(&stdout(&run(&[])))["suspicious-ips"], 0);
    // The same addresses, now also outside the known networks: a new reason each.
    let escalated = run(&["--known-cidrs", known.to_str().unwrap()]);
    assert!(
        rows_per_query(&stdout(&escalated))["suspicious-ips"] >= flagged,
        "{}",
        stdout(&escalated)
    );
}

/// A stand-in endpoint on 127.0.0.1 for faults moto cannot make: `answer` gets each
/// request's first line and how many requests came before, and gives the bytes to send back
/// (`None`: close the connection without an answer).
fn fake_endpoint(
    answer: impl Fn(&str, usize) -> Option<Vec<u8>> + Send + Sync + 'static,
) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let answer = Arc::new(answer);
    let requests = Arc::new(AtomicUsize::new(0));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let (answer, requests) = (answer.clone(), requests.clone());
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                if reader.read_line(&mut request).is_err() {
                    return;
                }
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                if let Some(reply) = answer(&request, requests.fetch_add(1, Ordering::SeqCst)) {
                    let _ = stream.write_all(&reply);
                }
            });
        }
    });
    format!("http://{address}")
}

/// A stand-in S3 endpoint: it lists `keys`, and answers the n-th GET of an object as `get`
/// says, given one small delivery file.
fn fake_s3(keys: Vec<String>, get: fn(usize, &[u8]) -> Option<Vec<u8>>) -> String {
    let body = gzip(&records(&[root_login("f1", "2026-11-20T10:00:00Z")]));
    let gets = AtomicUsize::new(0);
    fake_endpoint(move |request, _| {
        if !request.contains("list-type=2") {
            return get(gets.fetch_add(1, Ordering::SeqCst), &body);
        }
        let contents: String = keys
            .iter()
            .map(|k| {
                format!(
                    "<Contents><Key>{k}</Key><Size>{}</Size><LastModified>2026-11-20T10:05:00.000Z</LastModified></Contents>",
                    body.len()
                )
            })
            .collect();
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult><Name>b</Name><Prefix></Prefix><KeyCount>{}</KeyCount><IsTruncated>false</IsTruncated><EncodingType>url</EncodingType>{contents}</ListBucketResult>",
            keys.len()
        );
        Some(reply("200 OK", "application/xml", xml.as_bytes()))
    })
}

fn reply(status: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut reply = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    reply.extend_from_slice(body);
    reply
}

fn object_reply(body: &[u8], cut: Option<usize>) -> Vec<u8> {
    let mut reply = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    reply.extend_from_slice(&body[..cut.unwrap_or(body.len())]);
    reply
}

#[test]
fn regression_a_download_cut_off_mid_body_is_retried() {
    let keys = vec![key("2026/11/20", "20261120T1000")];
    // The first answer stops half way; the next is whole.
    let endpoint = fake_s3(keys, |n, body| {
        Some(object_reply(body, (n == 0).then_some(body.len() / 2)))
    });
    let output = trailscan_s3(&endpoint, &["root-usage", "s3://b/", "--format", "jsonl"]);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    assert_eq!(rows_per_query(&stdout(&output))["root-usage"], 1);
}

#[test]
fn regression_an_endpoint_that_dies_mid_scan_is_one_line_not_one_per_object() {
    let keys: Vec<String> = (0..60)
        .map(|i| {
            key("2026/11/20", &format!("20261120T10{:02}", i % 60))
                .replace("_x.", &format!("_{i}."))
        })
        .collect();
    // Every GET: the connection closes with no answer.
    let endpoint = fake_s3(keys, |_, _| None);
    let output = trailscan_s3(
        &endpoint,
        &["root-usage", "s3://b/", "--s3-concurrency", "2"],
    );
    assert_eq!(code(&output), 2);
    let err = stderr(&output);
    assert!(
        err.lines().count() < 20,
        "{} lines: {err}",
        err.lines().count()
    );
    assert!(err.contains("not read"), "{err}");
}

#[test]
fn regression_an_sns_error_without_a_reason_says_the_status() {
    let endpoint =
        fake_endpoint(|_, _| Some(reply("500 Internal Server Error", "text/plain", b"oops")));
    let output = trailscan_s3(
        &endpoint,
        &[
            "alert-test",
            "--sns-topic",
            "arn:aws:sns:us-east-1:123456789012:security-alerts",
        ],
    );
    assert_eq!(code(&output), 2);
    let err = stderr(&output);
    assert!(err.contains("SNS answered HTTP 500"), "{err}");
}
