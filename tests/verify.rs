//! `trailscan verify`: a generated trail with signed hourly digests in two regions, intact
//! and damaged in each of the ways an investigator must tell apart, locally and from S3.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;
use tempfile::TempDir;

use crate::util::moto::{Bucket, endpoint, trailscan_s3};
use crate::util::trail::{self, BUCKET, REGIONS, Trail};
use crate::util::{code, stderr, stdout, trailscan};

/// The trail written to a temporary folder, with the public keys beside it.
struct Written {
    dir: TempDir,
    keys: PathBuf,
}

impl Written {
    fn new(trail: &Trail, metadata: bool) -> Written {
        let dir = tempfile::tempdir().unwrap();
        trail.write(&dir.path().join("copy"), metadata);
        let keys = dir.path().join("keys.json");
        std::fs::write(&keys, trail::public_keys_json()).unwrap();
        Written { dir, keys }
    }

    fn copy(&self) -> String {
        self.dir.path().join("copy").display().to_string()
    }

    fn verify(&self, extra: &[&str]) -> Output {
        let copy = self.copy();
        let keys = self.keys.display().to_string();
        let mut args = vec!["verify", &copy, "--public-keys", &keys];
        args.extend(extra);
        trailscan(&args)
    }
}

fn json(output: &Output) -> Value {
    serde_json::from_str(&stdout(output))
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(output), stderr(output)))
}

/// Each problem as (kind, the object's key from `AWSLogs/` on, or its text).
fn problems(report: &Value) -> BTreeSet<(String, String)> {
    (report["problems"].as_array().unwrap().iter())
        .map(|p| {
            let object = p["object"].as_str().unwrap();
            let key = object.find("AWSLogs/").map_or(object, |at| &object[at..]);
            (p["kind"].as_str().unwrap().to_owned(), key.to_owned())
        })
        .collect()
}

fn account<'r>(report: &'r Value, region: &str) -> &'r Value {
    (report["accounts"].as_array().unwrap().iter())
        .find(|a| a["region"] == region)
        .unwrap_or_else(|| panic!("no {region} in {report}"))
}

fn pair(kind: &str, key: &str) -> (String, String) {
    (kind.to_owned(), key.to_owned())
}

#[test]
fn an_intact_trail_verifies_clean_with_its_signatures() {
    let written = Written::new(&Trail::generate(6, 2), true);
    let output = written.verify(&["--format", "json"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let report = json(&output);
    assert_eq!(report["summary"]["verified"], true);
    assert_eq!(problems(&report), BTreeSet::new());
    for region in REGIONS {
        let counts = account(&report, region);
        assert_eq!(counts["digests"], 6, "{counts}");
        assert_eq!(counts["signatures_valid"], 6, "{counts}");
        assert_eq!(counts["log_files"], 12, "{counts}");
        assert_eq!(counts["valid"], 12, "{counts}");
    }
    let table = stdout(&written.verify(&[]));
    assert!(table.contains("Verified: 24 of 24 log files"), "{table}");
    assert!(table.contains("6 valid"), "{table}");
}

#[test]
fn a_plain_copy_checks_hashes_and_chain_and_says_signatures_were_not_checked() {
    let written = Written::new(&Trail::generate(4, 1), false);
    let output = written.verify(&["--format", "json"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let report = json(&output);
    let counts = account(&report, "us-east-1");
    assert_eq!(
        (&counts["valid"], &counts["signatures_unchecked"]),
        (&4.into(), &4.into())
    );
    let notes = report["notes"].to_string();
    assert!(
        notes.contains("signatures not checked: these copies of the digests carry no S3 metadata"),
        "{notes}"
    );
    // With the metadata but no keys, it says what to fetch.
    let written = Written::new(&Trail::generate(2, 1), true);
    let copy = written.copy();
    let output = trailscan(&["verify", &copy, "--format", "json"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(
        json(&output)["notes"][0]
            .as_str()
            .unwrap()
            .contains("no --public-keys given"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn each_damage_is_reported_as_what_it_is() {
    let intact = Trail::generate(6, 2);
    let logs = intact.keys("us-east-1", false);
    let digests = intact.keys("us-east-1", true);
    let s3 = |key: &str| format!("s3://{BUCKET}/{key}");
    type Damage = Box<dyn Fn(&mut Trail) -> BTreeSet<(String, String)>>;
    let cases: Vec<(&str, Damage)> = vec![
        ("modified log", {
            let key = logs[3].clone();
            Box::new(move |t| {
                t.modify_log(&key);
                [pair("modified", &key)].into()
            })
        }),
        ("appended gzip member", {
            let key = logs[4].clone();
            Box::new(move |t| {
                t.append_to_log(&key, "us-east-1");
                [pair("modified", &key)].into()
            })
        }),
        ("deleted log", {
            let key = logs[5].clone();
            Box::new(move |t| {
                t.delete(&key);
                [pair("missing", &key)].into()
            })
        }),
        (
            "planted log",
            Box::new(|t| {
                let key = t.plant_log("us-east-1", 2);
                [pair("not-covered", &key)].into()
            }),
        ),
        // The log files of a deleted digest's hour are listed by none any more.
        ("deleted digest", {
            let key = digests[2].clone();
            let hour: Vec<String> = logs[4..6].to_vec();
            Box::new(move |t| {
                t.delete(&key);
                let mut expected: BTreeSet<_> = [pair("digest-missing", &key)].into();
                expected.extend(hour.iter().map(|log| pair("not-covered", log)));
                expected
            })
        }),
        ("two consecutive deleted digests", {
            let (first, second) = (digests[2].clone(), digests[3].clone());
            let hours: Vec<String> = logs[4..8].to_vec();
            Box::new(move |t| {
                t.delete(&first);
                t.delete(&second);
                let mut expected: BTreeSet<_> = [
                    pair("digest-missing", &second),
                    pair(
                        "digest-missing",
                        "1 digest between 2026-11-20T02:00:00Z and 2026-11-20T04:00:00Z",
                    ),
                ]
                .into();
                expected.extend(hours.iter().map(|log| pair("not-covered", log)));
                expected
            })
        }),
        ("tampered digest", {
            let (key, listed) = (digests[2].clone(), logs[4].clone());
            Box::new(move |t| {
                t.tamper_digest(&key);
                [
                    pair("bad-signature", &key),
                    pair("digest-modified", &key),
                    pair("modified", &listed),
                ]
                .into()
            })
        }),
        ("bad signature", {
            let key = digests[2].clone();
            Box::new(move |t| {
                t.spoil_signature(&key);
                [pair("bad-signature", &key)].into()
            })
        }),
    ];
    for (name, damage) in cases {
        let mut trail = intact.clone();
        let expected = damage(&mut trail);
        let written = Written::new(&trail, true);
        let output = written.verify(&["--format", "json"]);
        assert_eq!(code(&output), 1, "{name}: {}", stderr(&output));
        let report = json(&output);
        let found: BTreeSet<(String, String)> = problems(&report)
            .into_iter()
            .map(|(kind, object)| (kind, object.replace(&s3(""), "")))
            .collect();
        assert_eq!(found, expected, "{name}: {report:#}");
        assert_eq!(report["summary"]["verified"], false, "{name}");
        // The other region is untouched.
        let other = account(&report, "eu-west-1");
        assert_eq!(other["valid"], 12, "{name}: {other}");
    }
}

#[test]
fn the_counts_say_what_each_region_holds() {
    let mut trail = Trail::generate(6, 2);
    let logs = trail.keys("us-east-1", false);
    let digests = trail.keys("eu-west-1", true);
    trail.modify_log(&logs[0]);
    trail.delete(&logs[1]);
    trail.plant_log("us-east-1", 3);
    trail.delete(&digests[1]);
    trail.delete(&digests[2]);
    trail.spoil_signature(&digests[4]);
    let written = Written::new(&trail, true);
    let report = json(&written.verify(&["--format", "json"]));
    let east = account(&report, "us-east-1");
    for (field, value) in [
        ("modified", 1),
        ("missing", 1),
        ("not_covered", 1),
        ("valid", 10),
        ("chain_breaks", 0),
    ] {
        assert_eq!(east[field], value, "{field}: {east}");
    }
    let west = account(&report, "eu-west-1");
    for (field, value) in [
        ("digests", 4),
        ("signatures_invalid", 1),
        ("chain_breaks", 2),
        ("not_covered", 4),
    ] {
        assert_eq!(west[field], value, "{field}: {west}");
    }
    // The table and CSV say the same.
    let table = stdout(&written.verify(&[]));
    for kind in [
        "modified",
        "missing",
        "not-covered",
        "digest-missing",
        "bad-signature",
    ] {
        assert!(table.contains(kind), "{kind}: {table}");
    }
    assert!(table.contains("NOT VERIFIED"), "{table}");
    let csv = stdout(&written.verify(&["--format", "csv"]));
    assert!(csv.starts_with("account,region,digests,"), "{csv}");
    assert!(
        csv.contains("\nkind,account,region,object,time,detail\n"),
        "{csv}"
    );
}

#[test]
fn a_time_window_checks_only_its_hours() {
    let mut trail = Trail::generate(6, 1);
    let digests = trail.keys("us-east-1", true);
    let logs = trail.keys("us-east-1", false);
    trail.delete(&digests[1]);
    let written = Written::new(&trail, true);
    let output = written.verify(&["--since", "2026-11-20T04:00:00Z", "--format", "json"]);
    assert_eq!(code(&output), 0, "{}", stdout(&output));
    let report = json(&output);
    assert_eq!(account(&report, "us-east-1")["digests"], 2);
    assert_eq!(account(&report, "us-east-1")["valid"], 2);
    let output = written.verify(&["--until", "2026-11-20T04:00:00Z", "--format", "json"]);
    assert_eq!(code(&output), 1, "{}", stdout(&output));
    assert_eq!(
        problems(&json(&output)),
        [
            pair("digest-missing", &digests[1]),
            pair("not-covered", &logs[1])
        ]
        .into()
    );
}

#[test]
fn the_newest_hour_waits_for_its_digest_but_older_hours_do_not() {
    // A copy taken before the last hour's digest was delivered: its log files wait.
    let mut trail = Trail::generate(4, 2);
    let digests = trail.keys("us-east-1", true);
    let logs = trail.keys("us-east-1", false);
    trail.delete(&digests[3]);
    let written = Written::new(&trail, true);
    let output = written.verify(&["--format", "json"]);
    assert_eq!(code(&output), 0, "{}", stdout(&output));
    let report = json(&output);
    assert_eq!(account(&report, "us-east-1")["pending"], 2);
    assert!(
        report["notes"]
            .to_string()
            .contains("2 log files newer than the last digest"),
        "{report:#}"
    );
    // Two hours of log files past the last digest: the digests after it are gone.
    trail.delete(&digests[2]);
    let written = Written::new(&trail, true);
    let output = written.verify(&["--format", "json"]);
    assert_eq!(code(&output), 1, "{}", stdout(&output));
    let mut expected: BTreeSet<_> = [pair("chain-gap", &digests[1])].into();
    expected.extend(logs[4..8].iter().map(|log| pair("not-covered", log)));
    assert_eq!(problems(&json(&output)), expected);
}

#[test]
fn then_audit_reads_only_the_files_that_verified() {
    let mut trail = Trail::generate(3, 2);
    let logs = trail.keys("us-east-1", false);
    trail.modify_log(&logs[0]);
    trail.plant_log("us-east-1", 1);
    let written = Written::new(&trail, true);
    let output = written.verify(&["--then-audit", "--format", "jsonl"]);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let out = stdout(&output);
    let summary: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(
        summary["objects"], 11,
        "12 log files, 1 modified, 1 planted: {summary}"
    );
    assert!(out.contains("203.0.113.1"), "the intact files are audited");
    for absent in ["198.51.100.", "192.0.2.99"] {
        assert!(
            !out.contains(absent),
            "{absent} is in a file that did not verify"
        );
    }
    let err = stderr(&output);
    assert!(err.contains("verify: modified:"), "{err}");
    assert!(err.contains("verify: not-covered:"), "{err}");
    assert!(err.contains("11 of 13 log files verified"), "{err}");
}

#[test]
fn the_audit_still_skips_digest_files() {
    let written = Written::new(&Trail::generate(3, 1), false);
    let copy = written.copy();
    let output = trailscan(&["audit", &copy, "--format", "jsonl"]);
    let summary: Value = serde_json::from_str(stdout(&output).lines().last().unwrap()).unwrap();
    assert_eq!(summary["objects"], 6, "{summary}");
    assert_eq!(summary["skipped_digest"], 6, "{summary}");
    assert_eq!(summary["errors"], 0, "{summary}");
}

#[test]
fn without_digests_nothing_verifies_and_a_wrong_key_file_is_an_error() {
    // The hand-made fixture's digest is not a CloudTrail digest; its eu-west-1 has none.
    let output = trailscan(&["verify", "fixtures/trail", "--format", "json"]);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let report = json(&output);
    let kinds: BTreeSet<String> = problems(&report).into_iter().map(|(k, _)| k).collect();
    assert!(kinds.contains("digest-invalid"), "{report:#}");
    assert!(kinds.contains("not-covered"), "{report:#}");
    assert!(
        report
            .to_string()
            .contains("no usable CloudTrail-Digest file for this account and region"),
        "{report:#}"
    );

    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.json");
    std::fs::write(
        &keys,
        "{\"PublicKeyList\": [{\"Value\": \"bm90IGEga2V5\"}]}",
    )
    .unwrap();
    let output = trailscan(&[
        "verify",
        "fixtures/trail",
        "--public-keys",
        keys.to_str().unwrap(),
    ]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("keys.json: key 1: its Value is not an RSA public key"),
        "{}",
        stderr(&output)
    );
}

/// Uploads `trail` to a new bucket, with each object's metadata.
fn upload(endpoint: &str, name: &str, trail: &Trail) -> Bucket {
    let bucket = Bucket::create(endpoint, name);
    for object in trail.objects.values() {
        bucket.put_with_metadata(&object.key, object.bytes.clone(), &object.metadata);
    }
    bucket
}

fn cached_sidecars(cache: &Path) -> usize {
    fn walk(dir: &Path, count: &mut usize) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, count);
            } else if path.to_string_lossy().ends_with(".metadata.json") {
                *count += 1;
            }
        }
    }
    let mut count = 0;
    walk(cache, &mut count);
    count
}

#[test]
fn from_s3_with_metadata_then_offline_from_the_cache() {
    let endpoint = endpoint();
    let trail = Trail::generate(4, 2);
    let bucket = upload(endpoint, "verify-intact", &trail);
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.json");
    std::fs::write(&keys, trail::public_keys_json()).unwrap();
    let (keys, cache) = (keys.display().to_string(), dir.path().join("cache"));
    let cache_arg = cache.display().to_string();

    let output = trailscan_s3(
        endpoint,
        &[
            "verify",
            &bucket.url(""),
            "--public-keys",
            &keys,
            "--cache-dir",
            &cache_arg,
            "--format",
            "json",
        ],
    );
    assert_eq!(code(&output), 0, "{}{}", stderr(&output), stdout(&output));
    let report = json(&output);
    for region in REGIONS {
        let counts = account(&report, region);
        assert_eq!(counts["signatures_valid"], 4, "{counts}");
        assert_eq!(counts["valid"], 8, "{counts}");
    }
    assert_eq!(cached_sidecars(&cache), 8, "each digest's metadata kept");

    // A window lists the digest folders by day, as it lists the log folders.
    let output = trailscan_s3(
        endpoint,
        &[
            "verify",
            &bucket.url(""),
            "--since",
            "2026-11-20T02:00:00Z",
            "--public-keys",
            &keys,
            "--format",
            "json",
        ],
    );
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(account(&json(&output), "eu-west-1")["digests"], 2);

    // Later, offline: the cached copy verifies with its signatures.
    let cached = cache.join(&bucket.name).display().to_string();
    let output = trailscan(&[
        "verify",
        &cached,
        "--public-keys",
        &keys,
        "--format",
        "json",
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(account(&json(&output), "us-east-1")["signatures_valid"], 4);

    // A bad signature and a deleted digest on S3 are found there too.
    let mut damaged = trail.clone();
    let digests = damaged.keys("eu-west-1", true);
    damaged.spoil_signature(&digests[1]);
    damaged.delete(&digests[2]);
    let bucket = upload(endpoint, "verify-damaged", &damaged);
    let output = trailscan_s3(
        endpoint,
        &[
            "verify",
            &bucket.url(""),
            "--public-keys",
            &keys,
            "--format",
            "json",
        ],
    );
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let found = problems(&json(&output));
    assert!(
        found.contains(&pair("bad-signature", &digests[1])),
        "{found:?}"
    );
    assert!(
        found.contains(&pair("digest-missing", &digests[2])),
        "{found:?}"
    );
}

/// The damaged copy of the README's transcript, every kind of damage at once: written to
/// `$TRAILSCAN_VERIFY_FIXTURE` when set (to redo the transcript), else to a temporary folder,
/// and verified.
#[test]
fn the_readme_transcript_fixture_shows_every_kind_of_damage() {
    let temp = tempfile::tempdir().unwrap();
    let out = std::env::var_os("TRAILSCAN_VERIFY_FIXTURE")
        .map_or_else(|| temp.path().to_owned(), PathBuf::from);
    let mut trail = Trail::generate(6, 2);
    let logs = trail.keys("us-east-1", false);
    let east = trail.keys("us-east-1", true);
    let west = trail.keys("eu-west-1", true);
    trail.modify_log(&logs[0]);
    trail.delete(&logs[2]);
    trail.plant_log("us-east-1", 2);
    trail.tamper_digest(&east[4]);
    trail.delete(&west[1]);
    trail.delete(&west[3]);
    trail.delete(&west[4]);
    trail.spoil_signature(&west[5]);
    trail.write(&out.join("bucket-copy"), true);
    std::fs::write(out.join("keys.json"), trail::public_keys_json()).unwrap();
    let copy = out.join("bucket-copy");
    let keys = out.join("keys.json");
    let output = trailscan(&[
        "verify",
        copy.to_str().unwrap(),
        "--public-keys",
        keys.to_str().unwrap(),
    ]);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let text = stdout(&output).to_lowercase();
    for damage in ["modified", "missing", "planted", "signature"] {
        assert!(text.contains(damage), "{damage} not reported:\n{text}");
    }
}
