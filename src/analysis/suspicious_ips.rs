//! `suspicious-ips`: source addresses with failed sign-ins, denied calls, stolen instance credentials, unknown networks.

use std::collections::{BTreeSet, HashMap};
use std::io::{self, Write};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;

use super::kit::{
    Analysis, Blockable, Command, Describe, Inputs, Settings, finding, input, int, number, string,
    text, time,
};
use crate::catalog::Catalog;
use crate::meta::Severity;
use crate::net::{Networks, is_private_or_reserved};
use crate::output::{Format, OwnFormat, Report};
use crate::query::Query;
use crate::record::OwnedValue;
use crate::results::Row;

/// Thresholds of `suspicious-ips`: reaching one flags the address (see each for when).
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Failed console sign-ins from the address (when they outnumber those that worked)
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub failed_logins: u64,
    /// AccessDenied / UnauthorizedOperation errors by one principal from the address, or
    /// by all of them when they are half its calls or more
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub denied_calls: u64,
    /// Distinct principals (ARNs) seen from the address: named beside another reason,
    /// never one alone (offices, NAT gateways and CI runners share addresses)
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub principals: u64,
    /// Distinct user names tried in failed sign-ins (password spraying)
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub user_names: u64,
    /// Your networks, one CIDR per line: any call from outside them is flagged
    #[arg(long, value_name = "FILE")]
    pub known_cidrs: Option<PathBuf>,
}

impl Command for Args {
    fn build(self, settings: &Settings) -> anyhow::Result<Box<dyn Analysis>> {
        let known_networks = match (&self.known_cidrs, &settings.known_cidrs) {
            (Some(path), _) => Some(
                Networks::parse(&read_networks(path)?)
                    .map_err(|e| anyhow::anyhow!("--known-cidrs {}: {e}", path.display()))?,
            ),
            (None, Some((list, place))) => {
                Some(Networks::parse(list).map_err(|e| anyhow::anyhow!("{place}: {e}"))?)
            }
            (None, None) => None,
        };
        Ok(Box::new(SuspiciousIps {
            failed_logins: self.failed_logins,
            denied_calls: self.denied_calls,
            principals: self.principals,
            user_names: self.user_names,
            known_networks,
        }))
    }
}

/// Parses a file of networks, one per line (`#` comments and blank lines allowed).
fn read_networks(path: &std::path::Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read --known-cidrs {}", path.display()))?;
    Ok(text
        .lines()
        .map(|line| line.split('#').next().unwrap_or_default().trim())
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect())
}

struct SuspiciousIps {
    failed_logins: u64,
    denied_calls: u64,
    principals: u64,
    user_names: u64,
    /// The organisation's own networks: calls from elsewhere are flagged when given.
    known_networks: Option<Networks>,
}

const FAILED_LOGIN: &str = "eventName = 'ConsoleLogin' AND (errorMessage IS NOT NULL OR responseElements.ConsoleLogin = 'Failure')";
const SIGN_IN: &str = "eventName = 'ConsoleLogin' AND responseElements.ConsoleLogin = 'Success'";
/// An EC2 instance's role session is named after the instance (`…/ROLE/i-0abc…`).
const INSTANCE_SESSION: &str =
    "userIdentity.type = 'AssumedRole' AND userIdentity.arn LIKE '%:assumed-role/%/i-%'";
/// Identities that people act as: users, root, console sign-ins, SSO and SAML sessions.
const PERSON: &str = "userIdentity.type IN ('IAMUser', 'Root', 'SAMLUser', 'WebIdentityUser', 'IdentityCenterUser') \
     OR eventName = 'ConsoleLogin' OR userIdentity.arn LIKE '%:assumed-role/AWSReservedSSO\\_%' ESCAPE '\\'";

/// The kinds of findings it makes.
pub(super) const DESCRIBED: &[&Describe] = &[&SUSPICIOUS_IPS, &UNREADABLE];

const SUSPICIOUS_IPS: Describe = Describe {
    name: "suspicious-ips",
    title: "Suspicious source addresses",
    severity: Severity::High,
    description: "Addresses with failed console sign-ins or user names tried that outnumber the sign-ins that worked, one principal denied again and again, EC2 instance credentials used away from their instance, or calls from outside the known networks. Many principals behind one address (a NAT gateway, a VPN, CI runners) is never a reason alone.",
    references: "seed Lambda: suspicious-IP finder; Stratus Red Team aws.credential-access.ec2-steal-instance-credentials, ec2-get-password-data; ATT&CK T1110, T1078.004, T1552.005",
    runbook: "Look up the address; if it is not yours, block it (trailscan suspicious-ips --format blocklist gives network ACL / WAF entries) and review what succeeded from it. For instance credentials, rotate the instance role's sessions (revoke older sessions in IAM) and find how they left the instance.",
    tactics: &["initial-access", "credential-access"],
    techniques: &["T1078.004", "T1110", "T1552.005"],
};

const UNREADABLE: Describe = Describe {
    name: "suspicious-ips-unreadable",
    title: "Source addresses that are not IP addresses",
    severity: Severity::Info,
    description: "sourceIPAddress values that are neither an IP address nor a service name (an address with leading zeros such as 255.18.064.253, a list, a redacted value). They are counted here so that none is lost; the thresholds still apply to them in suspicious-ips, but they cannot be checked against known networks or blocked.",
    references: "trailscan: never lose data silently",
    runbook: "Find where such values come from (an anonymiser, a proxy's forwarded-for list, a log pipeline) and what the events from them did.",
    tactics: &[],
    techniques: &[],
};

impl Analysis for SuspiciousIps {
    fn inputs(&self, _catalog: &Catalog) -> Vec<Arc<Query>> {
        vec![
            input(
                "ips",
                "SELECT sourceIPAddress, count(*), count(DISTINCT userIdentity.arn), min(eventTime), max(eventTime) \
                 FROM cloudtrail_logs GROUP BY sourceIPAddress",
            ),
            input(
                "ips-failed-logins",
                &format!(
                    "SELECT sourceIPAddress, count(*), count(DISTINCT userIdentity.userName) \
                     FROM cloudtrail_logs WHERE {FAILED_LOGIN} GROUP BY sourceIPAddress"
                ),
            ),
            input(
                "ips-sign-ins",
                &format!(
                    "SELECT sourceIPAddress, count(*) FROM cloudtrail_logs WHERE {SIGN_IN} GROUP BY sourceIPAddress"
                ),
            ),
            input(
                "ips-denied",
                "SELECT sourceIPAddress, userIdentity.arn, count(*) FROM cloudtrail_logs \
                 WHERE errorCode LIKE '%UnauthorizedOperation' OR errorCode LIKE 'AccessDenied%' \
                 GROUP BY sourceIPAddress, userIdentity.arn",
            ),
            input(
                "ips-instance-sessions",
                &format!(
                    "SELECT sourceIPAddress, userIdentity.arn, count(*), min(eventTime), max(eventTime) \
                     FROM cloudtrail_logs WHERE {INSTANCE_SESSION} GROUP BY sourceIPAddress, userIdentity.arn"
                ),
            ),
            input(
                "ips-people",
                &format!(
                    "SELECT sourceIPAddress, count(DISTINCT userIdentity.arn) FROM cloudtrail_logs \
                     WHERE {PERSON} GROUP BY sourceIPAddress"
                ),
            ),
        ]
    }

    fn finish(&self, inputs: Inputs) -> Vec<crate::results::ResultSet> {
        let by_address = |rows: Vec<Row>| -> HashMap<String, Vec<OwnedValue>> {
            rows.into_iter()
                .map(|row| (text(&row.values[0]), row.values))
                .collect()
        };
        let failed = by_address(inputs.rows("ips-failed-logins"));
        let sign_ins = by_address(inputs.rows("ips-sign-ins"));
        let people = by_address(inputs.rows("ips-people"));
        // Per address: every denial, and the most of them by any one principal.
        let mut denied: HashMap<String, (u64, u64)> = HashMap::new();
        for row in inputs.rows("ips-denied") {
            let entry = denied.entry(text(&row.values[0])).or_default();
            let count = number(&row.values[2]);
            *entry = (entry.0 + count, entry.1.max(count));
        }
        let away = instance_credentials_away(&inputs.rows("ips-instance-sessions"));

        let mut flagged: Vec<(u64, String, Row)> = Vec::new();
        let mut unreadable: Vec<Row> = Vec::new();
        for row in inputs.rows("ips") {
            let address_text = text(&row.values[0]);
            let address = match classify(&address_text) {
                Source::Service => continue,
                Source::Address(address) => Some(address),
                Source::Unreadable => {
                    let mut values = vec![string(address_text.clone())];
                    values.extend(row.values[1..].iter().cloned());
                    unreadable.push(Row {
                        values,
                        identity: address_text.clone(),
                    });
                    None
                }
            };
            let (failed_logins, user_names) = failed
                .get(&address_text)
                .map_or((0, 0), |v| (number(&v[1]), number(&v[2])));
            let signed_in = sign_ins.get(&address_text).map_or(0, |v| number(&v[1]));
            let (denied_calls, most_denied) =
                denied.get(&address_text).copied().unwrap_or_default();
            let principals = number(&row.values[2]);
            let mut reasons = Vec::new();
            // An office's address sees a few mistyped passwords among many sign-ins that
            // work; a guessing address sees mostly failures.
            let mostly_failing = failed_logins > signed_in;
            if failed_logins >= self.failed_logins && mostly_failing {
                reasons.push("failed sign-ins".to_owned());
            }
            if user_names >= self.user_names && mostly_failing {
                reasons.push("many user names (spraying)".to_owned());
            }
            // Sixty people behind a NAT gateway, each denied now and then, add up to many
            // denials among far more calls that work; stolen keys being tried are one
            // principal denied again and again, or an address whose calls mostly fail.
            let calls = number(&row.values[1]);
            if most_denied >= self.denied_calls
                || (denied_calls >= self.denied_calls && denied_calls * 2 >= calls)
            {
                reasons.push("denied calls".to_owned());
            }
            if let Some(sessions) = away.get(&address_text) {
                reasons.push(format!(
                    "instance credentials from a second address ({})",
                    sessions.join(", ")
                ));
            }
            if let Some(sessions) = instance_sessions_at(&inputs, &address_text)
                && people.contains_key(&address_text)
            {
                reasons.push(format!(
                    "instance credentials where people act ({})",
                    sessions.join(", ")
                ));
            }
            if let (Some(known), Some(address)) = (&self.known_networks, address)
                && !known.contains(address)
            {
                reasons.push("outside known networks".to_owned());
            }
            if reasons.is_empty() {
                continue;
            }
            // Only said beside another reason: it describes the address, it does not
            // make it suspicious.
            if principals >= self.principals {
                reasons.push("many principals".to_owned());
            }
            let reasons = reasons.join(", ");
            let shown = address.map_or_else(|| address_text.clone(), |a| a.to_string());
            // The reasons belong to the finding: an address that escalates (denied calls,
            // then failed sign-ins too) is news, and is alerted again.
            let identity = format!("{shown}\u{1f}{reasons}");
            let values = vec![
                string(shown.clone()),
                string(reasons),
                int(failed_logins),
                int(denied_calls),
                int(principals),
                int(user_names),
                row.values[1].clone(),
                row.values[3].clone(),
                row.values[4].clone(),
            ];
            flagged.push((
                failed_logins + denied_calls,
                shown,
                Row { values, identity },
            ));
        }
        // The busiest first, then by address: the same order every run.
        flagged.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        unreadable.sort_by(|a, b| a.identity.cmp(&b.identity));
        vec![
            finding(
                &SUSPICIOUS_IPS,
                &[
                    "sourceIPAddress",
                    "reasons",
                    "failed_logins",
                    "denied_calls",
                    "principals",
                    "user_names",
                    "calls",
                    "first_seen",
                    "last_seen",
                ],
                flagged.into_iter().map(|(_, _, row)| row).collect(),
            ),
            finding(
                &UNREADABLE,
                &[
                    "sourceIPAddress",
                    "calls",
                    "principals",
                    "first_seen",
                    "last_seen",
                ],
                unreadable,
            ),
        ]
    }

    fn own_format(&self, format: Format) -> Option<Box<dyn OwnFormat>> {
        (format == Format::Blocklist).then(|| Box::new(Blocklist) as Box<dyn OwnFormat>)
    }

    /// The flagged addresses that are IP addresses (service names and unreadable values
    /// never are), in the findings' order: the busiest first.
    fn blockable(&self, results: &[crate::results::ResultSet]) -> Option<Blockable> {
        let mut flagged = Vec::new();
        for result in results
            .iter()
            .filter(|r| r.meta.name == SUSPICIOUS_IPS.name)
        {
            let (Some(address), Some(reasons)) =
                (result.column("sourceIPAddress"), result.column("reasons"))
            else {
                continue;
            };
            for row in result.rows.iter() {
                if let Ok(ip) = text(&row.values[address]).trim().parse::<IpAddr>() {
                    flagged.push((ip, text(&row.values[reasons])));
                }
            }
        }
        Some(Blockable {
            finding: SUSPICIOUS_IPS.name.to_owned(),
            flagged,
            known: self.known_networks.clone(),
        })
    }
}

/// What a `sourceIPAddress` holds.
enum Source {
    Address(IpAddr),
    /// A service acting for a caller (`ec2.amazonaws.com`, `AWS Internal`), or none.
    Service,
    /// Neither: an address with leading zeros, a list, a redacted value.
    Unreadable,
}

fn classify(text: &str) -> Source {
    let text = text.trim();
    if let Ok(address) = text.parse::<IpAddr>() {
        return Source::Address(address);
    }
    let hostname = text.contains('.')
        && text.bytes().any(|b| b.is_ascii_alphabetic())
        && (text.bytes()).all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    if text.is_empty() || text == "AWS Internal" || hostname {
        Source::Service
    } else {
        Source::Unreadable
    }
}

/// The session ARN's last part is an instance id: `i-` and 8 or 17 hex digits.
fn is_instance_session(arn: &str) -> bool {
    arn.rsplit_once('/').is_some_and(|(_, session)| {
        session.strip_prefix("i-").is_some_and(|id| {
            matches!(id.len(), 8 | 17) && id.bytes().all(|b| b.is_ascii_hexdigit())
        })
    })
}

/// The instance sessions that acted from `address`.
fn instance_sessions_at(inputs: &Inputs, address: &str) -> Option<Vec<String>> {
    let sessions: BTreeSet<String> = (inputs.rows("ips-instance-sessions").iter())
        .filter(|row| text(&row.values[0]) == address && is_instance_session(&text(&row.values[1])))
        .map(|row| session_name(&text(&row.values[1])))
        .collect();
    (!sessions.is_empty()).then(|| sessions.into_iter().collect())
}

/// `ROLE/i-0abc…`, the part of a session ARN that says which role and which instance.
fn session_name(arn: &str) -> String {
    arn.split_once(":assumed-role/")
        .map_or(arn, |(_, rest)| rest)
        .to_owned()
}

/// Addresses an instance's credentials were used from while the same session was busy
/// elsewhere: per session, public addresses whose first-to-last spans overlap, all but the
/// one it used most (the instance's own; calls through VPC endpoints come from private
/// addresses and are left out). A new public address after a stop and start does not
/// overlap the old one.
fn instance_credentials_away(rows: &[Row]) -> HashMap<String, Vec<String>> {
    type Span = (
        String,
        u64,
        Option<chrono::DateTime<chrono::Utc>>,
        Option<chrono::DateTime<chrono::Utc>>,
    );
    let mut sessions: HashMap<String, Vec<Span>> = HashMap::new();
    for row in rows {
        let (address, arn) = (text(&row.values[0]), text(&row.values[1]));
        let public = address
            .trim()
            .parse::<IpAddr>()
            .is_ok_and(|a| !is_private_or_reserved(a));
        if public && is_instance_session(&arn) {
            let span = (
                address,
                number(&row.values[2]),
                time(&row.values[3]),
                time(&row.values[4]),
            );
            sessions.entry(arn).or_default().push(span);
        }
    }
    let mut away: HashMap<String, BTreeSet<String>> = HashMap::new();
    for (arn, spans) in sessions {
        let most = spans.iter().map(|s| s.1).max().unwrap_or(0);
        let all_equal = spans.iter().all(|s| s.1 == most);
        for (i, (address, calls, first, last)) in spans.iter().enumerate() {
            let overlaps = spans.iter().enumerate().any(|(j, other)| {
                j != i
                    && matches!((first, last, other.2, other.3), (Some(f), Some(l), Some(of), Some(ol)) if *f <= ol && of <= *l)
            });
            if overlaps && (*calls < most || all_equal) {
                away.entry(address.clone())
                    .or_default()
                    .insert(session_name(&arn));
            }
        }
    }
    away.into_iter()
        .map(|(address, sessions)| (address, sessions.into_iter().collect()))
        .collect()
}

/// `--format blocklist`: the flagged addresses as CIDRs (`/32`, `/128`), sorted, one per line.
struct Blocklist;

impl OwnFormat for Blocklist {
    fn print(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        let mut networks: BTreeSet<IpAddr> = BTreeSet::new();
        for result in report.results {
            let Some(column) = result.column("sourceIPAddress") else {
                continue;
            };
            for row in result.rows.iter() {
                networks.extend(text(&row.values[column]).trim().parse::<IpAddr>().ok());
            }
        }
        for network in networks {
            match network {
                IpAddr::V4(v4) => writeln!(out, "{v4}/32")?,
                IpAddr::V6(v6) => writeln!(out, "{v6}/128")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Value;

    fn span(address: &str, calls: i64, first: &str, last: &str) -> Row {
        let at = |hms: &str| {
            crate::record::parse_time(&format!("2026-11-22T{hms}Z"))
                .map_or(Value::Null, Value::Time)
        };
        Row {
            values: vec![
                Value::Str(address.to_owned().into()),
                Value::Str("arn:aws:sts::111122223333:assumed-role/web/i-0123456789abcdef0".into()),
                Value::Int(calls),
                at(first),
                at(last),
            ],
            identity: address.to_owned(),
        }
    }

    #[test]
    fn shared_and_reserved_addresses_are_not_somewhere_else() {
        // 100.64/10 is a VPC's secondary range (EKS pods) reaching AWS through an endpoint.
        let rows = [
            span("203.0.113.10", 10, "10:00:00", "11:00:00"),
            span("100.64.1.2", 5, "10:10:00", "10:20:00"),
            span("240.0.0.1", 5, "10:10:00", "10:20:00"),
        ];
        assert!(instance_credentials_away(&rows).is_empty());
        let rows = [
            span("203.0.113.10", 10, "10:00:00", "11:00:00"),
            span("198.51.100.7", 5, "10:10:00", "10:20:00"),
        ];
        let away = instance_credentials_away(&rows);
        assert_eq!(away.keys().collect::<Vec<_>>(), ["198.51.100.7"]);
    }
}
