//! A CloudTrail trail with hourly digest files, generated and signed with a test RSA key,
//! and the ways to damage it that `verify` must tell apart.
//!
//! The digests follow AWS's documented format: each lists the log files of its hour with the
//! SHA-256 of each uncompressed file, and names the previous digest with its SHA-256 and
//! signature; the signature (SHA256withRSA, hex) covers `digestEndTime`, the digest's
//! `bucket/key`, its own SHA-256 and the previous signature (`null` for the first), and sits
//! in the object's metadata. The key is made once per test run; the public key is written
//! as `aws cloudtrail list-public-keys` prints it.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::Engine;
use chrono::{DateTime, TimeDelta, Utc};
use md5::Digest as _;
use serde_json::{Value, json};

pub const ACCOUNT: &str = "111122223333";
pub const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];
pub const BUCKET: &str = "trail-bucket";
const TRAIL: &str = "org-trail";
const HOME: &str = "us-east-1";

/// One object of the trail: its key, bytes and S3 user metadata.
#[derive(Debug, Clone)]
pub struct Object {
    pub key: String,
    pub bytes: Vec<u8>,
    pub metadata: BTreeMap<String, String>,
}

/// A trail: every object, by key.
#[derive(Debug, Clone)]
pub struct Trail {
    pub objects: BTreeMap<String, Object>,
}

/// The test key, made once.
fn key() -> &'static KeyPair {
    static KEY: OnceLock<KeyPair> = OnceLock::new();
    KEY.get_or_init(|| KeyPair::generate(KeySize::Rsa2048).expect("an RSA key"))
}

/// The public key as `aws cloudtrail list-public-keys` prints it.
pub fn public_keys_json() -> String {
    let der = key().public_key().as_ref();
    json!({"PublicKeyList": [{
        "Value": base64::engine::general_purpose::STANDARD.encode(der),
        "ValidityStartTime": 1_700_000_000.0,
        "ValidityEndTime": 1_900_000_000.0,
        "Fingerprint": hex::encode(md5::Md5::digest(der)),
    }]})
    .to_string()
}

fn fingerprint() -> String {
    hex::encode(md5::Md5::digest(key().public_key().as_ref()))
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("gzip in memory");
    encoder.finish().expect("gzip in memory")
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes))
}

fn sign(text: &str) -> String {
    let key = key();
    let mut signature = vec![0; key.public_modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        text.as_bytes(),
        &mut signature,
    )
    .expect("signing");
    hex::encode(signature)
}

/// The start of the fixtures' first hour.
pub fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-20T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

pub fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The key of a log file written at `at`.
pub fn log_key(region: &str, at: DateTime<Utc>, id: &str) -> String {
    format!(
        "AWSLogs/{ACCOUNT}/CloudTrail/{region}/{}/{ACCOUNT}_CloudTrail_{region}_{}_{id}.json.gz",
        at.format("%Y/%m/%d"),
        at.format("%Y%m%dT%H%MZ")
    )
}

/// The key of the digest of the hour ending at `end`.
pub fn digest_key(region: &str, end: DateTime<Utc>) -> String {
    format!(
        "AWSLogs/{ACCOUNT}/CloudTrail-Digest/{region}/{}/{ACCOUNT}_CloudTrail-Digest_{region}_{TRAIL}_{HOME}_{}.json.gz",
        end.format("%Y/%m/%d"),
        end.format("%Y%m%dT%H%M%SZ")
    )
}

/// A log file of one event at `at`: a root console sign-in, which the audit reports.
pub fn log_file(region: &str, at: DateTime<Utc>, source_ip: &str) -> Vec<u8> {
    let event = json!({
        "eventVersion": "1.08",
        "userIdentity": {"type": "Root", "principalId": ACCOUNT, "arn": format!("arn:aws:iam::{ACCOUNT}:root"), "accountId": ACCOUNT},
        "eventTime": time(at),
        "eventSource": "signin.amazonaws.com",
        "eventName": "ConsoleLogin",
        "awsRegion": region,
        "sourceIPAddress": source_ip,
        "userAgent": "Mozilla/5.0",
        "requestParameters": null,
        "responseElements": {"ConsoleLogin": "Success"},
        "additionalEventData": {"MFAUsed": "No"},
        "eventID": format!("{}-{region}", at.timestamp()),
        "readOnly": false,
        "eventType": "AwsConsoleSignIn",
        "recipientAccountId": ACCOUNT,
    });
    gzip(json!({ "Records": [event] }).to_string().as_bytes())
}

impl Trail {
    /// `hours` hourly digests in each of `REGIONS` from `start()`, each hour with
    /// `logs_per_hour` log files, every digest signed and chained to the one before.
    pub fn generate(hours: u32, logs_per_hour: u32) -> Trail {
        Trail::generate_in(start(), &REGIONS, hours, logs_per_hour)
    }

    /// `generate`, from `first` (an hour) in `regions`.
    pub fn generate_in(
        first: DateTime<Utc>,
        regions: &[&str],
        hours: u32,
        logs_per_hour: u32,
    ) -> Trail {
        let mut objects = BTreeMap::new();
        for &region in regions {
            let mut previous: Option<(String, String, String)> = None;
            for hour in 0..hours {
                let begin = first + TimeDelta::hours(hour.into());
                let end = begin + TimeDelta::hours(1);
                let mut logs = Vec::new();
                for n in 0..logs_per_hour {
                    let at = begin + TimeDelta::minutes(10 + 20 * i64::from(n));
                    let key = log_key(region, at, &format!("h{hour:04}n{n}"));
                    let raw = log_file(region, at, &format!("203.0.113.{}", n + 1));
                    let inflated = flate2_inflate(&raw);
                    logs.push(json!({
                        "s3Bucket": BUCKET, "s3Object": key,
                        "hashValue": sha256_hex(&inflated), "hashAlgorithm": "SHA-256",
                        "newestEventTime": time(at), "oldestEventTime": time(at),
                    }));
                    objects.insert(
                        key.clone(),
                        Object {
                            key,
                            bytes: raw,
                            metadata: BTreeMap::new(),
                        },
                    );
                }
                let key = digest_key(region, end);
                let (object, signature) = signed_digest(&key, begin, end, previous.as_ref(), logs);
                let inflated_hash = sha256_hex(&flate2_inflate(&object.bytes));
                objects.insert(key.clone(), object);
                previous = Some((key, inflated_hash, signature));
            }
        }
        Trail { objects }
    }

    /// Writes the trail below `dir` (`dir/AWSLogs/…`); with `metadata`, each digest's
    /// metadata beside it as `<file>.metadata.json`, as `verify` keeps it in its cache.
    pub fn write(&self, dir: &Path, metadata: bool) {
        for object in self.objects.values() {
            let path = dir.join(&object.key);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &object.bytes).unwrap();
            if metadata && !object.metadata.is_empty() {
                let sidecar = PathBuf::from(format!("{}.metadata.json", path.display()));
                let text = json!({ "Metadata": object.metadata }).to_string();
                std::fs::write(sidecar, text).unwrap();
            }
        }
    }

    /// The keys of log files, or of digests, of `region`, in time order.
    pub fn keys(&self, region: &str, digests: bool) -> Vec<String> {
        let folder = match digests {
            true => format!("AWSLogs/{ACCOUNT}/CloudTrail-Digest/{region}/"),
            false => format!("AWSLogs/{ACCOUNT}/CloudTrail/{region}/"),
        };
        (self.objects.keys())
            .filter(|k| k.starts_with(&folder))
            .cloned()
            .collect()
    }

    fn object(&mut self, key: &str) -> &mut Object {
        self.objects.get_mut(key).expect("a key of the trail")
    }

    /// Changes one event of a log file (re-compressed: only the content tells).
    pub fn modify_log(&mut self, key: &str) {
        let object = self.object(key);
        let text = String::from_utf8(flate2_inflate(&object.bytes)).unwrap();
        object.bytes = gzip(text.replace("203.0.113.", "198.51.100.").as_bytes());
    }

    /// Appends a second gzip member to a log file: more events, the same first member.
    pub fn append_to_log(&mut self, key: &str, region: &str) {
        let extra = log_file(region, start(), "192.0.2.66");
        self.object(key).bytes.extend(extra);
    }

    pub fn delete(&mut self, key: &str) {
        self.objects.remove(key).expect("a key of the trail");
    }

    /// Adds a log file no digest lists, in an hour the digests cover; returns its key.
    pub fn plant_log(&mut self, region: &str, hour: u32) -> String {
        let at = start() + TimeDelta::hours(hour.into()) + TimeDelta::minutes(40);
        let key = log_key(region, at, "planted");
        let bytes = log_file(region, at, "192.0.2.99");
        self.objects.insert(
            key.clone(),
            Object {
                key: key.clone(),
                bytes,
                metadata: BTreeMap::new(),
            },
        );
        key
    }

    /// Rewrites a digest's content (one log file's hash replaced), keeping its signature.
    pub fn tamper_digest(&mut self, key: &str) {
        let object = self.object(key);
        let mut digest: Value = serde_json::from_slice(&flate2_inflate(&object.bytes)).unwrap();
        digest["logFiles"][0]["hashValue"] = json!("00".repeat(32));
        object.bytes = gzip(digest.to_string().as_bytes());
    }

    /// Spoils a digest's signature in its metadata.
    pub fn spoil_signature(&mut self, key: &str) {
        let signature = self.object(key).metadata.get_mut("signature").unwrap();
        let first = if signature.starts_with('0') { "1" } else { "0" };
        signature.replace_range(0..1, first);
    }
}

/// A digest of the hour `begin`..`end` listing `logs`, and its signature.
fn signed_digest(
    key: &str,
    begin: DateTime<Utc>,
    end: DateTime<Utc>,
    previous: Option<&(String, String, String)>,
    logs: Vec<Value>,
) -> (Object, String) {
    let mut digest = json!({
        "awsAccountId": ACCOUNT,
        "digestStartTime": time(begin),
        "digestEndTime": time(end),
        "digestS3Bucket": BUCKET,
        "digestS3Object": key,
        "digestPublicKeyFingerprint": fingerprint(),
        "digestSignatureAlgorithm": "SHA256withRSA",
        "newestEventTime": time(end),
        "oldestEventTime": time(begin),
        "previousDigestS3Bucket": null,
        "previousDigestS3Object": null,
        "previousDigestHashValue": null,
        "previousDigestHashAlgorithm": null,
        "previousDigestSignature": null,
        "logFiles": logs,
    });
    if let Some((previous_key, previous_hash, previous_signature)) = previous {
        digest["previousDigestS3Bucket"] = json!(BUCKET);
        digest["previousDigestS3Object"] = json!(previous_key);
        digest["previousDigestHashValue"] = json!(previous_hash);
        digest["previousDigestHashAlgorithm"] = json!("SHA-256");
        digest["previousDigestSignature"] = json!(previous_signature);
    }
    let text = digest.to_string();
    let signed = format!(
        "{}\n{BUCKET}/{key}\n{}\n{}",
        time(end),
        sha256_hex(text.as_bytes()),
        previous.map_or("null", |p| p.2.as_str())
    );
    let signature = sign(&signed);
    let metadata = BTreeMap::from([
        ("signature".to_owned(), signature.clone()),
        ("signature-algorithm".to_owned(), "SHA256withRSA".to_owned()),
    ]);
    let object = Object {
        key: key.to_owned(),
        bytes: gzip(text.as_bytes()),
        metadata,
    };
    (object, signature)
}

fn flate2_inflate(bytes: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("a gzip file");
    out
}
