//! CloudTrail's public keys, from what `aws cloudtrail list-public-keys` prints.
//!
//! `PublicKeyList[].Value` is a base64 DER PKCS#1 RSA public key, and `Fingerprint` the MD5
//! (hex) of that DER, which is what a digest's `digestPublicKeyFingerprint` names. Keys are
//! per region: a file holds the keys of the region it was asked of, so a trail of several
//! regions needs a file per region (`--public-keys` repeated).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use md5::{Digest, Md5};
use serde::Deserialize;

/// Public keys by fingerprint.
pub struct PublicKeys {
    keys: BTreeMap<String, ParsedPublicKey>,
}

#[derive(Deserialize)]
struct List {
    #[serde(rename = "PublicKeyList")]
    keys: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(rename = "Value")]
    value: String,
    #[serde(rename = "Fingerprint")]
    fingerprint: Option<String>,
}

impl PublicKeys {
    /// The keys of every file; an error names the file and the key that is wrong.
    pub fn load(files: &[impl AsRef<Path>]) -> anyhow::Result<PublicKeys> {
        let mut keys = BTreeMap::new();
        for file in files {
            let file = file.as_ref();
            let text = std::fs::read(file)
                .with_context(|| format!("--public-keys {}: cannot read it", file.display()))?;
            let list = parse(&text).with_context(|| {
                format!(
                    "--public-keys {}: not the JSON of `aws cloudtrail list-public-keys`",
                    file.display()
                )
            })?;
            for (index, (fingerprint, key)) in list.into_iter().enumerate() {
                let key = key.with_context(|| {
                    format!("--public-keys {}: key {}", file.display(), index + 1)
                })?;
                keys.insert(fingerprint, key);
            }
        }
        Ok(PublicKeys { keys })
    }

    pub fn get(&self, fingerprint: &str) -> Option<&ParsedPublicKey> {
        self.keys.get(&fingerprint.to_ascii_lowercase())
    }
}

type Key = anyhow::Result<ParsedPublicKey>;

/// Every key of a file with its fingerprint (the MD5 of its DER, which must be the one the
/// file gives, if it gives one).
fn parse(text: &[u8]) -> anyhow::Result<Vec<(String, Key)>> {
    let list: List = serde_json::from_slice(text)?;
    Ok((list.keys.into_iter())
        .map(|entry| {
            let der = STANDARD.decode(entry.value.trim());
            let fingerprint = match &der {
                Ok(der) => hex::encode(Md5::digest(der)),
                Err(_) => entry.fingerprint.clone().unwrap_or_default(),
            };
            let key = (|| {
                let der = der.context("its Value is not base64")?;
                if let Some(given) = &entry.fingerprint
                    && !given.eq_ignore_ascii_case(&fingerprint)
                {
                    bail!(
                        "its Fingerprint {given} is not the MD5 of its Value ({fingerprint}): the file was changed"
                    );
                }
                ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &der)
                    .map_err(|e| anyhow::anyhow!("its Value is not an RSA public key: {e}"))
            })();
            (fingerprint, key)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The AWS CLI's documented `list-public-keys` example.
    const DOCUMENTED: &str = include_str!("../../fixtures/verify/public-keys.json");

    #[test]
    fn the_documented_key_loads_under_its_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("keys.json");
        std::fs::write(&file, DOCUMENTED).unwrap();
        let keys = PublicKeys::load(&[&file]).unwrap();
        assert!(keys.get("7f3f401420072e50a65a141430817ab3").is_some());
        assert!(keys.get("7F3F401420072E50A65A141430817AB3").is_some());
        assert!(keys.get("00000000000000000000000000000000").is_none());
    }

    #[test]
    fn a_wrong_file_or_key_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("keys.json");
        let error = |text: &str| {
            std::fs::write(&file, text).unwrap();
            format!("{:#}", PublicKeys::load(&[&file]).err().unwrap())
        };
        assert!(error("{}").contains("not the JSON of `aws cloudtrail list-public-keys`"));
        let lying = DOCUMENTED.replace("7f3f4014", "00000000");
        assert!(error(&lying).contains("key 1: its Fingerprint 00000000"));
        let garbage = r#"{"PublicKeyList":[{"Value":"AAAA"}]}"#;
        assert!(error(garbage).contains("not an RSA public key"));
        let missing = dir.path().join("none.json");
        let e = format!("{:#}", PublicKeys::load(&[&missing]).err().unwrap());
        assert!(e.contains("none.json: cannot read it"), "{e}");
    }
}
