//! What a trace starts from: an access key, a principal, a role session, an address or an event.

use std::net::IpAddr;

use crate::lang::sql::quote;

/// The seed of a trace, as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seed {
    /// An access key id: AKIA… (long-term) or ASIA… (temporary).
    Key(String),
    /// A principal's ARN: a user, root, a role (every session of it) or a role session.
    /// `also` is the assumed-role ARN when the text reads as `ROLE-ARN/SESSION`.
    Principal { arn: String, also: Option<String> },
    /// An address events came from.
    Address(String),
    /// One event, by its eventID: the credential that made it.
    Event(String),
}

impl Seed {
    pub fn parse(text: &str) -> Result<Seed, String> {
        let text = text.trim();
        if is_access_key(text) {
            return Ok(Seed::Key(text.to_owned()));
        }
        if text.starts_with("arn:") {
            if text.contains(['\'', '\n', '\r', '\0']) {
                return Err(format!("'{text}' is not an ARN"));
            }
            return Ok(Seed::Principal {
                arn: text.to_owned(),
                also: assumed_role_arn(text),
            });
        }
        if text.parse::<IpAddr>().is_ok() || text.ends_with(".amazonaws.com") {
            return Ok(Seed::Address(text.to_owned()));
        }
        if is_event_id(text) {
            return Ok(Seed::Event(text.to_ascii_lowercase()));
        }
        Err(format!(
            "'{text}' is not an access key id (AKIA…, ASIA…), an ARN, a role session \
             (arn:aws:iam::ACCOUNT:role/NAME/SESSION), an IP address or an eventID"
        ))
    }

    /// The SQL condition of the events the seed names itself.
    pub fn condition(&self) -> String {
        match self {
            Seed::Key(key) => format!("userIdentity.accessKeyId = {}", quote(key)),
            Seed::Principal { arn, also } => {
                let mut sql = format!(
                    "(userIdentity.arn = {0} OR userIdentity.sessionContext.sessionIssuer.arn = {0}",
                    quote(arn)
                );
                if let Some(also) = also {
                    sql.push_str(&format!(" OR userIdentity.arn = {}", quote(also)));
                }
                sql + ")"
            }
            Seed::Address(address) => format!("sourceIPAddress = {}", quote(address)),
            Seed::Event(id) => format!("eventID = {}", quote(id)),
        }
    }

    /// Whether an event by `arn` from `address`, with id `event_id`, is the seed's own.
    pub fn names(&self, arn: &str, address: &str, event_id: &str) -> bool {
        match self {
            Seed::Key(_) => false,
            Seed::Principal { arn: seed, also } => arn == seed || also.as_deref() == Some(arn),
            Seed::Address(seed) => address == seed,
            Seed::Event(seed) => event_id.eq_ignore_ascii_case(seed),
        }
    }

    /// How the seed reads in the tree.
    pub fn label(&self) -> String {
        match self {
            Seed::Key(key) => key.clone(),
            Seed::Principal { arn, .. } => arn.clone(),
            Seed::Address(address) => format!("address {address}"),
            Seed::Event(id) => format!("event {id}"),
        }
    }
}

/// An access key id: AKIA or ASIA, then upper-case letters and digits (16 to 128 in all).
pub fn is_access_key(text: &str) -> bool {
    (text.starts_with("AKIA") || text.starts_with("ASIA"))
        && (16..=128).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// An eventID: a UUID (8-4-4-4-12 hexadecimal digits).
pub fn is_event_id(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `arn:aws:iam::A:role/[PATH/]NAME/SESSION` as the session's ARN,
/// `arn:aws:sts::A:assumed-role/NAME/SESSION`; `None` for anything else.
fn assumed_role_arn(text: &str) -> Option<String> {
    let (head, rest) = text.split_once(":role/")?;
    let (partition, account) = head
        .strip_prefix("arn:")
        .and_then(|h| h.split_once(":iam::"))?;
    let mut segments = rest.rsplit('/');
    let session = segments.next().filter(|s| !s.is_empty())?;
    let name = segments.next().filter(|s| !s.is_empty())?;
    Some(format!(
        "arn:{partition}:sts::{account}:assumed-role/{name}/{session}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_seed_is_recognised() {
        assert_eq!(
            Seed::parse("AKIAALICELEAKED00001"),
            Ok(Seed::Key("AKIAALICELEAKED00001".into()))
        );
        assert_eq!(
            Seed::parse("arn:aws:iam::111122223333:role/deploy/breach"),
            Ok(Seed::Principal {
                arn: "arn:aws:iam::111122223333:role/deploy/breach".into(),
                also: Some("arn:aws:sts::111122223333:assumed-role/deploy/breach".into()),
            })
        );
        assert_eq!(
            Seed::parse("arn:aws:iam::111122223333:user/bob"),
            Ok(Seed::Principal {
                arn: "arn:aws:iam::111122223333:user/bob".into(),
                also: None,
            })
        );
        assert_eq!(
            Seed::parse("198.51.100.7"),
            Ok(Seed::Address("198.51.100.7".into()))
        );
        assert_eq!(
            Seed::parse("2001:db8::1"),
            Ok(Seed::Address("2001:db8::1".into()))
        );
        assert_eq!(
            Seed::parse("00000000-0000-4000-9000-00000000000A"),
            Ok(Seed::Event("00000000-0000-4000-9000-00000000000a".into()))
        );
        for bad in [
            "",
            "alice",
            "AKIA",
            "akiaalice0000000001",
            "1.2.3",
            "arn:aws:iam::1:user/o'neil",
        ] {
            assert!(Seed::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_role_without_a_session_matches_every_session_of_it() {
        let seed = Seed::parse("arn:aws:iam::111122223333:role/deploy").unwrap();
        assert_eq!(
            seed.condition(),
            "(userIdentity.arn = 'arn:aws:iam::111122223333:role/deploy' OR \
             userIdentity.sessionContext.sessionIssuer.arn = 'arn:aws:iam::111122223333:role/deploy')"
        );
        assert!(seed.names("arn:aws:iam::111122223333:role/deploy", "", ""));
    }

    #[test]
    fn quotes_in_sql_literals_are_doubled() {
        assert_eq!(quote("it's"), "'it''s'");
        let seed = Seed::Address("x'y".into());
        assert_eq!(seed.condition(), "sourceIPAddress = 'x''y'");
    }
}
