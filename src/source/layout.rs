//! The CloudTrail key layout: `[prefix/]AWSLogs/[o-org/]<account>/CloudTrail/<region>/YYYY/MM/DD/<file>`.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

/// Which CloudTrail product wrote an object, from the folder after the account id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    Events,
    Digest,
    Insight,
}

/// What the key of an object says about it. Fields are `None` when the key does not say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLayout {
    pub account: Option<String>,
    pub region: Option<String>,
    pub date: Option<NaiveDate>,
    /// The time in the file name (`…_CloudTrail_<region>_20261120T1005Z_<id>.json.gz`).
    pub delivered: Option<DateTime<Utc>>,
    pub kind: ObjectKind,
}

impl KeyLayout {
    /// Parses a key (or a local path with `/` separators). `None` when there is no `AWSLogs/`.
    pub fn parse(key: &str) -> Option<KeyLayout> {
        let parts: Vec<&str> = key.split(['/', '\\']).filter(|p| !p.is_empty()).collect();
        let start = parts.iter().rposition(|p| *p == "AWSLogs")?;
        let mut rest = &parts[start + 1..];
        let mut layout = KeyLayout {
            account: None,
            region: None,
            date: None,
            delivered: parts.last().and_then(|name| delivery_time(name)),
            kind: ObjectKind::Events,
        };
        // An organization trail files accounts under its organization id.
        if rest.first().is_some_and(|p| p.starts_with("o-")) {
            rest = &rest[1..];
        }
        if let Some(account) = rest
            .first()
            .filter(|p| p.len() == 12 && p.bytes().all(|b| b.is_ascii_digit()))
        {
            layout.account = Some((*account).to_owned());
            rest = &rest[1..];
        }
        layout.kind = match rest.first().copied() {
            Some("CloudTrail-Digest") => ObjectKind::Digest,
            Some("CloudTrail-Insight") => ObjectKind::Insight,
            Some("CloudTrail") => ObjectKind::Events,
            // Some other product's logs under AWSLogs/ (ELB, VPC flow logs): no layout we know.
            _ => return Some(layout),
        };
        rest = &rest[1..];
        if let Some(region) = rest.first().filter(|p| looks_like_region(p)) {
            layout.region = Some((*region).to_owned());
            rest = &rest[1..];
        }
        if let [year, month, day, ..] = rest {
            layout.date = match (year.parse(), month.parse(), day.parse()) {
                (Ok(y), Ok(m), Ok(d)) if year.len() == 4 => NaiveDate::from_ymd_opt(y, m, d),
                _ => None,
            };
        }
        Some(layout)
    }
}

/// Finds `YYYYMMDDTHHMMZ` between underscores in a CloudTrail file name.
fn delivery_time(name: &str) -> Option<DateTime<Utc>> {
    name.split('_')
        .filter(|part| part.len() == 14 && part.as_bytes()[8] == b'T' && part.ends_with('Z'))
        .find_map(|part| NaiveDateTime::parse_from_str(part, "%Y%m%dT%H%MZ").ok())
        .map(|t| t.and_utc())
}

fn looks_like_region(part: &str) -> bool {
    part.contains('-')
        && part
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_layouts_seen_in_buckets() {
        let plain = KeyLayout::parse("AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/20/111122223333_CloudTrail_us-east-1_20261120T1005Z_a.json.gz").unwrap();
        assert_eq!(plain.account.as_deref(), Some("111122223333"));
        assert_eq!(plain.region.as_deref(), Some("us-east-1"));
        assert_eq!(plain.date, NaiveDate::from_ymd_opt(2026, 11, 20));
        assert_eq!(plain.kind, ObjectKind::Events);
        assert_eq!(
            plain.delivered.map(|t| t.to_rfc3339()),
            Some("2026-11-20T10:05:00+00:00".into())
        );

        let org = KeyLayout::parse("/data/trail-prefix/AWSLogs/o-abc123defg/444455556666/CloudTrail/eu-west-1/2026/01/02/f.json.gz").unwrap();
        assert_eq!(org.account.as_deref(), Some("444455556666"));
        assert_eq!(org.region.as_deref(), Some("eu-west-1"));

        let digest = KeyLayout::parse(
            "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/20/d.json.gz",
        )
        .unwrap();
        assert_eq!(digest.kind, ObjectKind::Digest);
        let insight = KeyLayout::parse(
            "x/AWSLogs/111122223333/CloudTrail-Insight/us-east-1/2026/11/20/i.json.gz",
        )
        .unwrap();
        assert_eq!(insight.kind, ObjectKind::Insight);

        assert!(KeyLayout::parse("exports/events.jsonl").is_none());
        let bad_date =
            KeyLayout::parse("AWSLogs/111122223333/CloudTrail/us-east-1/2026/13/40/f.json")
                .unwrap();
        assert_eq!(bad_date.date, None);
    }
}
