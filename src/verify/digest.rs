//! One CloudTrail digest file: its fields, what its name says, its hash and its signature.
//!
//! A digest lists the log files delivered in one hour with the SHA-256 of each (of the
//! uncompressed file), and names the digest before it with that digest's SHA-256 and
//! signature. Its own signature, SHA256withRSA in hex, is in the object's S3 metadata
//! (`x-amz-meta-signature`), over `digestEndTime`, `digestS3Bucket/digestS3Object`, the
//! hex SHA-256 of the uncompressed digest and the previous digest's signature (`null` for
//! the first), one per line: the format AWS documents and `aws cloudtrail validate-logs`
//! checks.

use aws_lc_rs::digest::{Context, SHA256};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;

use super::keys::PublicKeys;
use crate::source::{Metadata, SourceObject};

/// The only signature algorithm CloudTrail uses.
pub const ALGORITHM: &str = "SHA256withRSA";

/// A SHA-256.
pub type Sha256 = [u8; 32];

/// A digest file, read and checked on its own (the chain is `chain`'s).
#[derive(Debug, Clone)]
pub struct Digest {
    /// Its name as listed (`s3://…` or a path).
    pub name: String,
    /// Its key from `AWSLogs/` on: how digests name each other, whatever the bucket prefix
    /// or the folder a copy is in.
    pub tail: String,
    /// The trail whose chain it is part of (`<trail>_<home region>` in its name), with
    /// `_backfill` for the separate chain of backfill digests.
    pub chain: String,
    pub backfill: bool,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The SHA-256 of its uncompressed bytes, as the next digest records it.
    pub hash: Sha256,
    pub previous: Option<Previous>,
    /// Its signature from its metadata, when the copy has metadata with one (as
    /// `signature_id` keeps it).
    pub signature: Option<Sha256>,
    pub signed: Signed,
    /// Where it says it was delivered, when that is not where it was found.
    pub moved: Option<String>,
    pub logs: Vec<LogEntry>,
}

/// The previous digest, as a digest records it.
#[derive(Debug, Clone)]
pub struct Previous {
    /// `s3://bucket/key` as written.
    pub object: String,
    pub tail: String,
    /// Hex, lower case.
    pub hash: String,
    /// Its signature, as `signature_id` keeps it.
    pub signature: Sha256,
}

/// One log file a digest lists.
#[derive(Debug, Clone)]
pub struct LogEntry {
    /// `s3://bucket/key` as written.
    pub object: String,
    pub tail: String,
    /// `None` when the digest records no SHA-256 that can be read.
    pub hash: Option<Sha256>,
}

/// What became of a digest's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signed {
    Valid,
    /// It does not verify, for this reason.
    Invalid(String),
    /// The copy carries no metadata at all (a plain copy of the bucket).
    NoMetadata,
    /// No public keys were given.
    NoKeys,
}

/// Why a digest file could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unusable {
    /// Its bytes could not be read (an error of the run, not of the trail).
    Unread(String),
    /// It is not a digest file any more: not gzip, not JSON, fields missing.
    Invalid(String),
}

#[derive(Deserialize)]
struct Raw {
    #[serde(rename = "digestStartTime")]
    start: String,
    #[serde(rename = "digestEndTime")]
    end: String,
    #[serde(rename = "digestS3Bucket")]
    bucket: String,
    #[serde(rename = "digestS3Object")]
    object: String,
    #[serde(rename = "digestPublicKeyFingerprint")]
    fingerprint: Option<String>,
    #[serde(rename = "digestSignatureAlgorithm")]
    algorithm: Option<String>,
    #[serde(rename = "previousDigestS3Bucket")]
    previous_bucket: Option<String>,
    #[serde(rename = "previousDigestS3Object")]
    previous_object: Option<String>,
    #[serde(rename = "previousDigestHashValue")]
    previous_hash: Option<String>,
    #[serde(rename = "previousDigestHashAlgorithm")]
    previous_algorithm: Option<String>,
    #[serde(rename = "previousDigestSignature")]
    previous_signature: Option<String>,
    #[serde(rename = "logFiles")]
    logs: Option<Vec<RawLog>>,
}

#[derive(Deserialize)]
struct RawLog {
    #[serde(rename = "s3Bucket")]
    bucket: Option<String>,
    #[serde(rename = "s3Object")]
    object: String,
    #[serde(rename = "hashValue")]
    hash: Option<String>,
    #[serde(rename = "hashAlgorithm")]
    algorithm: Option<String>,
}

/// Reads the digest `object` (its bytes and metadata), checking its signature with `keys`.
pub fn read(
    object: &SourceObject,
    raw: &[u8],
    metadata: Option<&Metadata>,
    keys: Option<&PublicKeys>,
    max_bytes: u64,
) -> Result<Digest, Unusable> {
    let invalid = |reason: String| Unusable::Invalid(reason);
    let mut inflated = Vec::new();
    crate::decode::each_content_chunk(raw, max_bytes, |chunk| {
        inflated.extend_from_slice(chunk);
    })
    .map_err(|e| invalid(format!("cannot be read as a digest file: {e}")))?;
    let raw_digest: Raw = serde_json::from_slice(&inflated)
        .map_err(|e| invalid(format!("not a CloudTrail digest file: {e}")))?;
    let time = |field: &str, text: &str| {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| invalid(format!("{field} '{text}' is not a time")))
    };
    let start = time("digestStartTime", &raw_digest.start)?;
    let end = time("digestEndTime", &raw_digest.end)?;
    let hash = sha256(&inflated);
    let named = Named::parse(file_name(&object.name));
    let tail = tail_of(&object.name).unwrap_or(&object.name).to_owned();

    let previous = match (&raw_digest.previous_object, &raw_digest.previous_hash) {
        (None, _) => None,
        (Some(_), None) => {
            return Err(invalid(
                "names its previous digest without that digest's SHA-256 (previousDigestHashValue)"
                    .to_owned(),
            ));
        }
        (Some(previous), Some(previous_hash)) => {
            if let Some(algorithm) = &raw_digest.previous_algorithm
                && algorithm != "SHA-256"
            {
                return Err(invalid(format!(
                    "previousDigestHashAlgorithm '{algorithm}' is not SHA-256"
                )));
            }
            Some(Previous {
                object: s3_name(raw_digest.previous_bucket.as_deref(), previous),
                tail: tail_of(previous).unwrap_or(previous).to_owned(),
                hash: previous_hash.to_ascii_lowercase(),
                signature: signature_id(raw_digest.previous_signature.as_deref().unwrap_or("")),
            })
        }
    };
    let logs = (raw_digest.logs.iter().flatten())
        .map(|log| LogEntry {
            object: s3_name(log.bucket.as_deref(), &log.object),
            tail: tail_of(&log.object).unwrap_or(&log.object).to_owned(),
            hash: (log.algorithm.as_deref().is_none_or(|a| a == "SHA-256"))
                .then(|| parse_sha256(log.hash.as_deref()?))
                .flatten(),
        })
        .collect();

    let said = s3_name(Some(&raw_digest.bucket), &raw_digest.object);
    let moved = (!is_where_found(object, &raw_digest.object)).then_some(said);
    let signature = metadata
        .and_then(|m| m.get("signature"))
        .map(|s| signature_id(s));
    let signed = match metadata {
        None => Signed::NoMetadata,
        Some(metadata) => signed(&raw_digest, metadata, &hash, keys),
    };
    Ok(Digest {
        name: object.name.clone(),
        tail,
        chain: match named.backfill {
            true => format!("{}_backfill", named.trail),
            false => named.trail,
        },
        backfill: named.backfill,
        start,
        end,
        hash,
        previous,
        signature,
        signed,
        moved,
        logs,
    })
}

/// Checks the signature in `metadata` over what the digest says and its hash.
fn signed(raw: &Raw, metadata: &Metadata, hash: &Sha256, keys: Option<&PublicKeys>) -> Signed {
    let Some(signature) = metadata.get("signature") else {
        return Signed::Invalid("its metadata holds no signature (x-amz-meta-signature)".into());
    };
    for algorithm in [metadata.get("signature-algorithm"), raw.algorithm.as_ref()]
        .into_iter()
        .flatten()
    {
        if algorithm != ALGORITHM {
            return Signed::Invalid(format!("signed with '{algorithm}', not {ALGORITHM}"));
        }
    }
    let Some(keys) = keys else {
        return Signed::NoKeys;
    };
    let Some(fingerprint) = &raw.fingerprint else {
        return Signed::Invalid("it names no public key (digestPublicKeyFingerprint)".into());
    };
    let Some(key) = keys.get(fingerprint) else {
        return Signed::Invalid(format!(
            "no public key with fingerprint {fingerprint} among --public-keys (list the keys of its region for its time)"
        ));
    };
    let Ok(signature) = hex::decode(signature.trim()) else {
        return Signed::Invalid("its signature is not hex".into());
    };
    let signed_text = format!(
        "{}\n{}/{}\n{}\n{}",
        raw.end,
        raw.bucket,
        raw.object,
        hex::encode(hash),
        raw.previous_signature.as_deref().unwrap_or("null")
    );
    match key.verify_sig(signed_text.as_bytes(), &signature) {
        Ok(()) => Signed::Valid,
        Err(_) => Signed::Invalid(format!(
            "the signature does not verify with key {fingerprint}: the digest or its signature was changed"
        )),
    }
}

/// A signature (hex, 512 characters for a 2048-bit key) as it is compared with the one the
/// next digest records: the SHA-256 of its lower-case hex, which holds a year of a region's
/// chain in a sixteenth of the memory.
pub fn signature_id(hex_text: &str) -> Sha256 {
    sha256(hex_text.trim().to_ascii_lowercase().as_bytes())
}

/// The SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> Sha256 {
    let mut context = Context::new(&SHA256);
    context.update(bytes);
    to_array(context.finish().as_ref())
}

/// The SHA-256 of what a scan reads from `raw` (inflated when gzip), up to `max_bytes`:
/// what CloudTrail's digests record for a log file.
pub fn content_sha256(raw: &[u8], max_bytes: u64) -> Result<Sha256, String> {
    let mut context = Context::new(&SHA256);
    crate::decode::each_content_chunk(raw, max_bytes, |chunk| context.update(chunk))
        .map_err(|e| e.to_string())?;
    Ok(to_array(context.finish().as_ref()))
}

fn to_array(bytes: &[u8]) -> Sha256 {
    let mut hash = [0u8; 32];
    hash.copy_from_slice(&bytes[..32]);
    hash
}

fn parse_sha256(text: &str) -> Option<Sha256> {
    let bytes = hex::decode(text.trim()).ok()?;
    (bytes.len() == 32).then(|| to_array(&bytes))
}

/// `s3://bucket/key`, or the key alone when the bucket is not known.
fn s3_name(bucket: Option<&str>, key: &str) -> String {
    match bucket {
        Some(bucket) => format!("s3://{bucket}/{key}"),
        None => key.to_owned(),
    }
}

/// The last part of a key or path: a CloudTrail file's name says its account, region and
/// time, so it is how the report refers to another object.
pub fn file_name(name: &str) -> &str {
    name.rsplit(['/', '\\']).next().unwrap_or(name)
}

/// A CloudTrail file's name without its account, product and region, which the report
/// gives beside it: `20261120T0110Z_h0001n0.json.gz` for a log file,
/// `my-trail_us-east-1_20261120T020000Z.json.gz` for a digest.
pub fn short_name(name: &str) -> &str {
    let file = file_name(name);
    ["_CloudTrail-Digest_", "_CloudTrail_"]
        .iter()
        .find_map(|marker| file.split_once(marker))
        .and_then(|(_, rest)| rest.split_once('_'))
        .map_or(file, |(_, after_region)| after_region)
}

/// The part of a key or path from its last `AWSLogs/` folder on: the same for the object in
/// the bucket, in the cache, and in a copy.
pub fn tail_of(name: &str) -> Option<&str> {
    let normal = |c: char| c == '/' || c == '\\';
    let mut at = None;
    for (i, _) in name.match_indices("AWSLogs") {
        let before_ok = i == 0 || name[..i].ends_with(normal);
        let after_ok = name[i + "AWSLogs".len()..].starts_with(normal);
        if before_ok && after_ok {
            at = Some(i);
        }
    }
    at.map(|i| &name[i..])
}

/// Whether a digest that says it is `key` is where it was found: the same key from
/// `AWSLogs/` on. A copy of the bucket (a folder, another bucket, another prefix) keeps
/// that part; a digest put in another's place does not.
fn is_where_found(object: &SourceObject, key: &str) -> bool {
    let found = tail_of(&object.name).map(|t| t.replace('\\', "/"));
    found.is_some() && found.as_deref() == tail_of(key)
}

/// What a digest's file name says:
/// `<account>_CloudTrail-Digest_<region>_<trail>_<home region>_<YYYYMMDDTHHMMSSZ>[_backfill].json.gz`.
#[derive(Debug, PartialEq, Eq)]
pub struct Named {
    /// `<trail>_<home region>`, or empty when the name is not of that form.
    pub trail: String,
    pub end: Option<DateTime<Utc>>,
    pub backfill: bool,
}

impl Named {
    pub fn parse(file_name: &str) -> Named {
        let stem = file_name.strip_suffix(".json.gz").unwrap_or(file_name);
        let (stem, backfill) = match stem.strip_suffix("_backfill") {
            Some(stem) => (stem, true),
            None => (stem, false),
        };
        let (head, stamp) = stem.rsplit_once('_').unwrap_or(("", stem));
        // Sixteen characters exactly: chrono would read a signed year of six digits, and
        // times at the edge of its range do not survive arithmetic.
        let plain = stamp.len() == 16
            && (stamp.bytes().enumerate())
                .all(|(i, b)| matches!((i, b), (8, b'T') | (15, b'Z')) || b.is_ascii_digit());
        let end = (NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%SZ").ok())
            .filter(|_| plain)
            .map(|t| t.and_utc());
        // Past `<account>_CloudTrail-Digest_<region>_`.
        let trail = head
            .split_once("_CloudTrail-Digest_")
            .and_then(|(_, rest)| rest.split_once('_'))
            .map(|(_, trail)| trail.to_owned())
            .unwrap_or_default();
        Named {
            trail,
            end,
            backfill,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_say_trail_time_and_backfill() {
        let named = Named::parse(
            "111122223333_CloudTrail-Digest_us-east-2_my_trail_us-east-1_20150817T150131Z.json.gz",
        );
        assert_eq!(named.trail, "my_trail_us-east-1");
        assert_eq!(
            named.end.map(|t| t.to_rfc3339()),
            Some("2015-08-17T15:01:31+00:00".to_owned())
        );
        assert!(!named.backfill);
        let backfill = Named::parse(
            "111122223333_CloudTrail-Digest_eu-west-1_t_us-east-1_20150817T150131Z_backfill.json.gz",
        );
        assert!(backfill.backfill);
        assert_eq!(backfill.trail, "t_us-east-1");
        let odd = Named::parse("digest.json.gz");
        assert_eq!((odd.trail.as_str(), odd.end), ("", None));
        let far = Named::parse("1_CloudTrail-Digest_r_t_h_-2621440101T000000Z.json.gz");
        assert_eq!(far.end, None, "a six-digit year is not a digest's time");
    }

    #[test]
    fn short_names_leave_out_account_product_and_region() {
        assert_eq!(
            short_name(
                "/c/AWSLogs/1/CloudTrail/r/111122223333_CloudTrail_us-east-1_20261120T0110Z_a.json.gz"
            ),
            "20261120T0110Z_a.json.gz"
        );
        assert_eq!(
            short_name(
                "s3://b/111122223333_CloudTrail-Digest_eu-west-1_t_us-east-1_20261120T020000Z.json.gz"
            ),
            "t_us-east-1_20261120T020000Z.json.gz"
        );
        assert_eq!(short_name("exports/events.jsonl"), "events.jsonl");
    }

    #[test]
    fn tails_start_at_the_last_awslogs_folder() {
        assert_eq!(
            tail_of("s3://b/prefix/AWSLogs/1/CloudTrail/x.json.gz"),
            Some("AWSLogs/1/CloudTrail/x.json.gz")
        );
        assert_eq!(
            tail_of("/copy/AWSLogs/old/AWSLogs/1/f"),
            Some("AWSLogs/1/f")
        );
        assert_eq!(tail_of("AWSLogs/1/f"), Some("AWSLogs/1/f"));
        assert_eq!(tail_of("/data/MyAWSLogs/1/f"), None);
        assert_eq!(tail_of("exports/events.jsonl"), None);
    }

    #[test]
    fn hashes_are_of_the_content_a_scan_reads_and_capped() {
        let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(hex::encode(sha256(b"")), empty);
        assert_eq!(hex::encode(content_sha256(b"", 0).unwrap()), empty);
        assert_eq!(content_sha256(b"abc", 3).unwrap(), sha256(b"abc"));
        assert!(content_sha256(b"abcd", 3).is_err());
        // Gzip is hashed inflated, every member of it, as the scan reads it.
        let gzip = |text: &[u8]| {
            use std::io::Write;
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            encoder.write_all(text).unwrap();
            encoder.finish().unwrap()
        };
        assert_eq!(content_sha256(&gzip(b"abc"), 3).unwrap(), sha256(b"abc"));
        let mut two = gzip(b"ab");
        two.extend(gzip(b"cd"));
        assert_eq!(content_sha256(&two, 4).unwrap(), sha256(b"abcd"));
        assert!(content_sha256(&two, 3).is_err(), "over the limit");
        let mut appended = gzip(b"abc");
        appended.extend(b"garbage");
        assert!(content_sha256(&appended, 100).is_err());
        assert_eq!(parse_sha256(empty), Some(sha256(b"")));
        assert_eq!(parse_sha256("abc"), None);
    }
}
