//! S3 sources against moto's server on 127.0.0.1: same results as local, planned listing,
//! bad objects, clear errors, and the download cache.

use std::io::Write;

use serde_json::Value;

use crate::util::moto::{Bucket, endpoint, trailscan_s3};
use crate::util::{code, repo, stderr, stdout, trailscan};

fn rows(jsonl: &str) -> Vec<&str> {
    jsonl
        .lines()
        .filter(|l| l.starts_with("{\"type\":\"row\""))
        .collect()
}

fn summary(jsonl: &str) -> Value {
    serde_json::from_str(jsonl.lines().last().expect("a summary line"))
        .expect("the summary is JSON")
}

#[test]
fn s3_scan_gives_the_same_rows_as_the_local_tree() {
    let endpoint = endpoint();
    // Once under a bucket prefix (both the plain and the organization trail below it)...
    let bucket = Bucket::create(endpoint, "prefixed");
    bucket.upload_tree(&repo().join("fixtures/trail"), "security/");
    let remote = trailscan_s3(
        endpoint,
        &["audit", &bucket.url("security"), "--format", "jsonl"],
    );
    let local = trailscan(&["audit", "fixtures/trail", "--format", "jsonl"]);
    assert_eq!(code(&remote), 1, "{}", stderr(&remote));
    assert_eq!(rows(&stdout(&remote)), rows(&stdout(&local)));
    let s = summary(&stdout(&remote));
    assert_eq!(
        s["objects"], 7,
        "digest and Insights objects are never fetched"
    );
    assert_eq!(s["s3_get_requests"], 7);

    // ...and once as an organization trail at the bucket's root.
    let org = Bucket::create(endpoint, "org-trail");
    org.upload_tree(&repo().join("fixtures/trail/security-prefix"), "");
    let remote = trailscan_s3(endpoint, &["audit", &org.url(""), "--format", "jsonl"]);
    let local = trailscan(&[
        "audit",
        "fixtures/trail/security-prefix",
        "--format",
        "jsonl",
    ]);
    assert_eq!(rows(&stdout(&remote)), rows(&stdout(&local)));
    assert!(!rows(&stdout(&remote)).is_empty());

    // The same options narrow both alike.
    let args = [
        "--account",
        "444455556666",
        "--region",
        "us-east-1",
        "--format",
        "jsonl",
    ];
    let remote = trailscan_s3(
        endpoint,
        &[&["audit", &bucket.url("security")][..], &args[..]].concat(),
    );
    let local = trailscan(&[&["audit", "fixtures/trail"][..], &args[..]].concat());
    assert_eq!(rows(&stdout(&remote)), rows(&stdout(&local)));
}

fn gzip_records(records: &[Value]) -> Vec<u8> {
    let body = serde_json::json!({ "Records": records }).to_string();
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(body.as_bytes()).unwrap();
    encoder.finish().unwrap()
}

/// 10 days × 2 accounts × 3 regions × 4 files a day, one StopLogging event per file.
fn fill_ten_days(bucket: &Bucket) -> usize {
    let mut objects = 0;
    for account in ["111122223333", "444455556666"] {
        for region in ["us-east-1", "eu-west-1", "ap-southeast-2"] {
            for day in 1..=10 {
                for hour in [0, 6, 12, 18] {
                    let stamp = format!("202611{day:02}T{hour:02}05Z");
                    let time = format!("2026-11-{day:02}T{hour:02}:03:00Z");
                    let record = serde_json::json!({
                        "eventVersion": "1.09", "eventTime": time, "eventName": "StopLogging",
                        "eventSource": "cloudtrail.amazonaws.com", "awsRegion": region,
                        "recipientAccountId": account, "eventID": format!("{account}-{region}-{stamp}"),
                        "userIdentity": {"type": "IAMUser", "arn": format!("arn:aws:iam::{account}:user/bob")},
                    });
                    let key = format!(
                        "AWSLogs/{account}/CloudTrail/{region}/2026/11/{day:02}/{account}_CloudTrail_{region}_{stamp}_x.json.gz"
                    );
                    bucket.put(&key, gzip_records(&[record]));
                    objects += 1;
                }
            }
        }
    }
    objects
}

#[test]
fn a_time_window_lists_only_the_days_it_needs() {
    let endpoint = endpoint();
    let bucket = Bucket::create(endpoint, "ten-days");
    let total = fill_ten_days(&bucket);

    let full = trailscan_s3(
        endpoint,
        &["cloudtrail-changes", &bucket.url(""), "--format", "jsonl"],
    );
    let full_summary = summary(&stdout(&full));
    assert_eq!(full_summary["s3_keys_listed"], total);
    assert_eq!(rows(&stdout(&full)).len(), total);

    let window = [
        "--since",
        "2026-11-05T00:00:00Z",
        "--until",
        "2026-11-06T00:00:00Z",
    ];
    let narrow = trailscan_s3(
        endpoint,
        &[
            &["cloudtrail-changes", &bucket.url(""), "--format", "jsonl"][..],
            &window[..],
        ]
        .concat(),
    );
    let s = summary(&stdout(&narrow));
    let (accounts, regions, days) = (2, 3, 3); // the 5th, with a day of slack either side
    // Discovery: the bucket root, AWSLogs/, and each account's CloudTrail/ folder.
    let discovery = 2 + accounts;
    assert!(
        s["s3_list_requests"].as_u64().unwrap() <= discovery + accounts * regions * days,
        "{s}"
    );
    assert_eq!(
        s["s3_keys_listed"],
        accounts * regions * days * 4,
        "only the days in the window are listed"
    );
    assert_eq!(s["s3_get_requests"], accounts * regions * days * 4);
    assert_eq!(
        rows(&stdout(&narrow)).len() as u64,
        accounts * regions * 4,
        "then eventTime decides exactly"
    );

    let one = trailscan_s3(
        endpoint,
        &[
            &[
                "cloudtrail-changes",
                &bucket.url(""),
                "--format",
                "jsonl",
                "--account",
                "444455556666",
                "--region",
                "eu-west-1",
            ][..],
            &window[..],
        ]
        .concat(),
    );
    let s = summary(&stdout(&one));
    assert_eq!(s["s3_keys_listed"], days * 4);
    assert_eq!(rows(&stdout(&one)).len(), 4);
}

#[test]
fn a_corrupt_object_is_reported_and_the_rest_is_scanned() {
    let endpoint = endpoint();
    let bucket = Bucket::create(endpoint, "corrupt");
    bucket.upload_tree(&repo().join("fixtures/trail/AWSLogs"), "AWSLogs/");
    let key = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/20/111122223333_CloudTrail_us-east-1_20261120T2000Z_Broken.json.gz";
    bucket.put(
        key,
        std::fs::read(repo().join("fixtures/broken/truncated.json.gz")).unwrap(),
    );
    let output = trailscan_s3(
        endpoint,
        &["cloudtrail-changes", &bucket.url(""), "--format", "jsonl"],
    );
    assert_eq!(code(&output), 2);
    assert_eq!(
        stderr(&output),
        format!(
            "trailscan: s3://{}/{key}: corrupt or truncated gzip: incomplete deflate stream\n",
            bucket.name
        )
    );
    assert_eq!(
        rows(&stdout(&output)).len(),
        2,
        "the good objects still give their rows"
    );
}

#[test]
fn missing_bucket_wrong_endpoint_and_missing_credentials_are_one_clear_line() {
    let endpoint = endpoint();
    let output = trailscan_s3(
        endpoint,
        &["audit", "s3://trailscan-no-such-bucket/AWSLogs"],
    );
    assert_eq!(code(&output), 2);
    assert_eq!(
        stderr(&output),
        "trailscan: s3://trailscan-no-such-bucket/AWSLogs: no such bucket: check the name in the s3:// URL\n"
    );

    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let wrong = format!("http://127.0.0.1:{closed}");
    let output = trailscan_s3(&wrong, &["audit", "s3://any-bucket"]);
    assert_eq!(code(&output), 2);
    let err = stderr(&output);
    assert!(
        err.starts_with(&format!(
            "trailscan: s3://any-bucket/: cannot reach S3 (endpoint {wrong}): "
        )),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");

    let bucket = Bucket::create(endpoint, "creds");
    let output = std::process::Command::new(assert_cmd::cargo::cargo_bin("trailscan"))
        .args(["audit", &bucket.url(""), "--endpoint-url", endpoint])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", "/nonexistent/trailscan-test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/nonexistent/trailscan-test/config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/trailscan-test/credentials",
        )
        .output()
        .unwrap();
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("no AWS credentials found"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn the_cache_makes_a_second_run_download_nothing_and_scans_offline() {
    let endpoint = endpoint();
    let bucket = Bucket::create(endpoint, "cached");
    bucket.upload_tree(&repo().join("fixtures/trail"), "");
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path().to_str().unwrap();
    let url = bucket.url("");
    let run = || {
        trailscan_s3(
            endpoint,
            &["audit", &url, "--cache-dir", dir, "--format", "jsonl"],
        )
    };
    let (first, second) = (run(), run());
    assert_eq!(summary(&stdout(&first))["s3_get_requests"], 7);
    assert_eq!(summary(&stdout(&second))["s3_get_requests"], 0);
    assert_eq!(summary(&stdout(&second))["s3_cache_hits"], 7);
    assert_eq!(rows(&stdout(&first)), rows(&stdout(&second)));

    let offline = trailscan(&[
        "audit",
        &format!("{dir}/{}", bucket.name),
        "--format",
        "jsonl",
    ]);
    assert_eq!(
        rows(&stdout(&offline)),
        rows(&stdout(&first)),
        "the cache is a local source in the key layout"
    );
}
