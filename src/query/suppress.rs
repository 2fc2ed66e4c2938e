//! Suppressions: principals, source networks and event names a query is told to ignore.

use std::net::IpAddr;

use super::like::{BadEscape, LikePattern};
use crate::net::{Networks, NotANetwork};
use crate::record::{FieldPath, Record};

/// Why a suppression cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SuppressionError {
    #[error(transparent)]
    Network(#[from] NotANetwork),
    #[error(transparent)]
    Principal(#[from] BadEscape),
}

/// What one query ignores; a record matching any entry is counted, not reported.
#[derive(Debug, Clone, Default)]
pub struct Suppression {
    principals: Vec<LikePattern>,
    networks: Networks,
    event_names: Vec<String>,
}

impl Suppression {
    /// `principals` are ARN globs (`*` is any run of characters), `cidrs` networks such as
    /// `10.0.0.0/8` or `2001:db8::/32` (a bare address is one host), `event_names` exact names.
    pub fn new(
        principals: &[String],
        cidrs: &[String],
        event_names: &[String],
    ) -> Result<Suppression, SuppressionError> {
        let principals = principals
            .iter()
            .map(|glob| LikePattern::compile(&glob_to_like(glob), Some('\\')))
            .collect::<Result<_, _>>()?;
        let networks = Networks::parse(cidrs)?;
        Ok(Suppression {
            principals,
            networks,
            event_names: event_names.to_vec(),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.principals.is_empty() && self.networks.is_empty() && self.event_names.is_empty()
    }

    pub fn matches(&self, record: Record<'_, '_>) -> bool {
        if !self.event_names.is_empty()
            && let Some(name) = record.str_field("eventName")
            && self.event_names.iter().any(|n| n == name)
        {
            return true;
        }
        if !self.principals.is_empty()
            && let Some(arn) = record.get(&FieldPath::parse("userIdentity.arn")).to_text()
            && self.principals.iter().any(|p| p.matches(&arn))
        {
            return true;
        }
        if !self.networks.is_empty()
            && let Some(address) = record
                .str_field("sourceIPAddress")
                .and_then(|ip| ip.trim().parse::<IpAddr>().ok())
        {
            return self.networks.contains(address);
        }
        false
    }
}

fn glob_to_like(glob: &str) -> String {
    let mut like = String::with_capacity(glob.len());
    for c in glob.chars() {
        match c {
            '*' => like.push('%'),
            '%' | '_' | '\\' => {
                like.push('\\');
                like.push(c);
            }
            c => like.push(c),
        }
    }
    like
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(json: &str) -> simd_json::BorrowedValue<'static> {
        let mut bytes = json.as_bytes().to_vec();
        simd_json::to_owned_value(&mut bytes)
            .map(simd_json::BorrowedValue::from)
            .unwrap()
    }

    #[test]
    fn principals_networks_and_event_names() {
        let s = Suppression::new(
            &["arn:aws:sts::*:assumed-role/AWSServiceRoleForConfig/*".into()],
            &[
                "10.0.0.0/8".into(),
                "2001:db8::/32".into(),
                "192.0.2.7".into(),
            ],
            &["DescribeInstances".into()],
        )
        .unwrap();
        let cases = [
            (
                r#"{"userIdentity":{"arn":"arn:aws:sts::1:assumed-role/AWSServiceRoleForConfig/x"}}"#,
                true,
            ),
            (
                r#"{"userIdentity":{"arn":"arn:aws:sts::1:assumed-role/Admin/x"}}"#,
                false,
            ),
            (r#"{"sourceIPAddress":"10.20.30.40"}"#, true),
            (r#"{"sourceIPAddress":"11.0.0.1"}"#, false),
            (r#"{"sourceIPAddress":"2001:db8::1"}"#, true),
            (r#"{"sourceIPAddress":"192.0.2.7"}"#, true),
            (r#"{"sourceIPAddress":"192.0.2.8"}"#, false),
            (r#"{"sourceIPAddress":"ec2.amazonaws.com"}"#, false),
            (r#"{"eventName":"DescribeInstances"}"#, true),
            (r#"{"eventName":"RunInstances"}"#, false),
        ];
        for (json, expected) in cases {
            let value = record(json);
            assert_eq!(s.matches(Record::new(&value)), expected, "{json}");
        }
        assert!(Suppression::new(&[], &["10.0.0.0/33".into()], &[]).is_err());
        assert!(Suppression::new(&[], &["ten".into()], &[]).is_err());
        let zero = Suppression::new(&[], &["0.0.0.0/0".into()], &[]).unwrap();
        assert!(zero.matches(Record::new(&record(r#"{"sourceIPAddress":"8.8.8.8"}"#))));
    }
}
