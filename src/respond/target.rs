//! What `--block` names: a network ACL (`nacl:[REGION:]acl-…`) or a WAF IP set (`wafv2:ARN`), and the settings of a blocking run.

use std::ops::RangeInclusive;

use chrono::TimeDelta;

/// Blocked addresses per run unless `--max-blocks` says otherwise: enough for an attack from
/// a few addresses, too few for a wrong finding to lock out a whole office.
pub const DEFAULT_MAX_BLOCKS: usize = 10;

/// A blocking run's settings, resolved.
#[derive(Debug, Clone)]
pub struct BlockSpec {
    pub targets: Vec<TargetSpec>,
    /// The network ACL rule numbers reserved for trailscan's entries (`--rule-range`).
    pub rules: Option<RangeInclusive<i32>>,
    /// The most addresses newly blocked in one run (`--max-blocks`).
    pub max_blocks: usize,
    /// How long a block lasts (`--block-for`); `None`: until removed by hand.
    pub block_for: Option<TimeDelta>,
    /// Whether private and reserved addresses may be blocked (`--block-private`).
    pub private: bool,
}

/// One place to block addresses in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetSpec {
    /// A VPC network ACL: inbound DENY entries. `region`: when the target names one.
    Nacl { id: String, region: Option<String> },
    /// A WAFv2 IP set; `scope` is `REGIONAL` or `CLOUDFRONT` (whose sets live in us-east-1).
    Wafv2 {
        arn: String,
        name: String,
        id: String,
        cloudfront: bool,
        region: String,
    },
}

impl TargetSpec {
    /// Reads `nacl:acl-0123…`, `nacl:eu-west-1:acl-0123…` or `wafv2:arn:aws:wafv2:…:regional/ipset/NAME/ID`.
    pub fn parse(text: &str) -> Result<TargetSpec, String> {
        let text = text.trim();
        if let Some(rest) = text.strip_prefix("nacl:") {
            let (region, id) = match rest.rsplit_once(':') {
                Some((region, id)) => (Some(region), id),
                None => (None, rest),
            };
            let hex = id.strip_prefix("acl-").unwrap_or_default();
            if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!(
                    "'{text}': '{id}' is not a network ACL id such as acl-0123456789abcdef0"
                ));
            }
            if let Some(region) = region
                && !is_region(region)
            {
                return Err(format!(
                    "'{text}': '{region}' is not a region such as us-east-1"
                ));
            }
            return Ok(TargetSpec::Nacl {
                id: id.to_owned(),
                region: region.map(str::to_owned),
            });
        }
        if let Some(arn) = text.strip_prefix("wafv2:") {
            return parse_ip_set(arn).ok_or_else(|| {
                format!(
                    "'{text}': not a WAF IP set ARN such as \
                     arn:aws:wafv2:us-east-1:111122223333:regional/ipset/NAME/ID"
                )
            });
        }
        Err(format!(
            "'{text}' is not a blocking target: nacl:acl-ID (a network ACL) or wafv2:ARN (a WAF IP set)"
        ))
    }

    /// How the target is known in messages and in the state file.
    pub fn key(&self) -> String {
        match self {
            TargetSpec::Nacl {
                id,
                region: Some(region),
            } => format!("nacl:{region}:{id}"),
            TargetSpec::Nacl { id, region: None } => format!("nacl:{id}"),
            TargetSpec::Wafv2 { arn, .. } => format!("wafv2:{arn}"),
        }
    }
}

/// `arn:PARTITION:wafv2:REGION:ACCOUNT:regional|global/ipset/NAME/ID`.
fn parse_ip_set(arn: &str) -> Option<TargetSpec> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, _partition, service, region, account, resource] = parts[..] else {
        return None;
    };
    if prefix != "arn" || service != "wafv2" || !is_region(region) || account.is_empty() {
        return None;
    }
    let pieces: Vec<&str> = resource.split('/').collect();
    let [scope, "ipset", name, id] = pieces[..] else {
        return None;
    };
    if name.is_empty() || id.is_empty() {
        return None;
    }
    let cloudfront = match scope {
        "regional" => false,
        "global" => true,
        _ => return None,
    };
    Some(TargetSpec::Wafv2 {
        arn: arn.to_owned(),
        name: name.to_owned(),
        id: id.to_owned(),
        cloudfront,
        // CloudFront's IP sets are managed in us-east-1, whatever the ARN says.
        region: if cloudfront { "us-east-1" } else { region }.to_owned(),
    })
}

fn is_region(text: &str) -> bool {
    !text.is_empty()
        && text.contains('-')
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// `FROM-TO`, network ACL rule numbers (1 to 32766), FROM at most TO.
pub fn parse_rule_range(text: &str) -> Result<RangeInclusive<i32>, String> {
    let bad = || {
        format!("'{text}' is not a range of rule numbers such as 100-199 (each from 1 to 32766)")
    };
    let (from, to) = text.trim().split_once('-').ok_or_else(bad)?;
    let from: i32 = from.trim().parse().map_err(|_| bad())?;
    let to: i32 = to.trim().parse().map_err(|_| bad())?;
    if !(1..=32766).contains(&from) || !(1..=32766).contains(&to) || from > to {
        return Err(bad());
    }
    Ok(from..=to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_read_and_named() {
        let acl = TargetSpec::parse("nacl:acl-0123456789abcdef0").unwrap();
        assert_eq!(acl.key(), "nacl:acl-0123456789abcdef0");
        let acl = TargetSpec::parse("nacl:eu-west-1:acl-0abc").unwrap();
        assert_eq!(
            acl,
            TargetSpec::Nacl {
                id: "acl-0abc".into(),
                region: Some("eu-west-1".into())
            }
        );
        let arn = "arn:aws:wafv2:eu-west-1:111122223333:regional/ipset/blocked/a1b2";
        let TargetSpec::Wafv2 {
            name,
            id,
            cloudfront,
            region,
            ..
        } = TargetSpec::parse(&format!("wafv2:{arn}")).unwrap()
        else {
            panic!("an IP set")
        };
        assert_eq!(
            (name.as_str(), id.as_str(), cloudfront, region.as_str()),
            ("blocked", "a1b2", false, "eu-west-1")
        );
        let global = "wafv2:arn:aws:wafv2:us-west-2:111122223333:global/ipset/edge/e1";
        assert!(matches!(
            TargetSpec::parse(global).unwrap(),
            TargetSpec::Wafv2 { cloudfront: true, ref region, .. } if region == "us-east-1"
        ));
        for bad in [
            "acl-0123",
            "nacl:acl-",
            "nacl:acl-xyz",
            "nacl:EU:acl-01",
            "wafv2:arn:aws:wafv2:us-east-1:1:regional/webacl/n/i",
            "wafv2:arn:aws:s3:::bucket",
            "wafv2:arn:aws:wafv2:us-east-1:1:local/ipset/n/i",
            "",
        ] {
            assert!(TargetSpec::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rule_ranges_are_within_network_acl_rule_numbers() {
        assert_eq!(parse_rule_range("100-199"), Ok(100..=199));
        assert_eq!(parse_rule_range(" 7 - 7 "), Ok(7..=7));
        for bad in ["0-10", "10-5", "1-32767", "100", "a-b", "-5-10", ""] {
            assert!(parse_rule_range(bad).is_err(), "{bad}");
        }
    }
}
