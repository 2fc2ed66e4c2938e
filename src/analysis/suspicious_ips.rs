//! `suspicious-ips`: source addresses with failed sign-ins, denied calls, many principals or user names.

use std::collections::{BTreeSet, HashMap};
use std::io::{self, Write};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;

use super::kit::{
    Analysis, Command, Describe, Inputs, Settings, finding, input, int, number, string, text,
};
use crate::catalog::Catalog;
use crate::meta::Severity;
use crate::net::Networks;
use crate::output::{Format, OwnFormat, Report};
use crate::query::Query;
use crate::record::OwnedValue;
use crate::results::Row;

/// Thresholds of `suspicious-ips`: reaching any one flags the address.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Failed console sign-ins from the address
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub failed_logins: u64,
    /// AccessDenied / UnauthorizedOperation errors from the address
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub denied_calls: u64,
    /// Distinct principals (ARNs) seen from the address (offices and NAT gateways share one)
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

const SUSPICIOUS_IPS: Describe = Describe {
    name: "suspicious-ips",
    title: "Suspicious source addresses",
    severity: Severity::High,
    description: "Addresses with many failed console sign-ins, denied calls, principals or user names tried, or calls from outside the known networks.",
    references: "seed Lambda: suspicious-IP finder; ATT&CK T1110, T1078",
    runbook: "Look up the address; if it is not yours, block it (trailscan suspicious-ips --format blocklist gives network ACL / WAF entries) and review what succeeded from it.",
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
                "ips-denied",
                "SELECT sourceIPAddress, count(*) FROM cloudtrail_logs \
                 WHERE errorCode LIKE '%UnauthorizedOperation' OR errorCode LIKE 'AccessDenied%' GROUP BY sourceIPAddress",
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
        let denied = by_address(inputs.rows("ips-denied"));
        let mut flagged: Vec<(u64, String, Row)> = Vec::new();
        for row in inputs.rows("ips") {
            let address_text = text(&row.values[0]);
            // Service hostnames and "AWS Internal" are not addresses: never flagged as such.
            let Ok(address) = address_text.trim().parse::<IpAddr>() else {
                continue;
            };
            let (failed_logins, user_names) = failed
                .get(&address_text)
                .map_or((0, 0), |v| (number(&v[1]), number(&v[2])));
            let denied_calls = denied.get(&address_text).map_or(0, |v| number(&v[1]));
            let principals = number(&row.values[2]);
            let mut reasons = Vec::new();
            if failed_logins >= self.failed_logins {
                reasons.push("failed sign-ins");
            }
            if user_names >= self.user_names {
                reasons.push("many user names (spraying)");
            }
            if denied_calls >= self.denied_calls {
                reasons.push("denied calls");
            }
            if principals >= self.principals {
                reasons.push("many principals");
            }
            if let Some(known) = &self.known_networks
                && !known.contains(address)
            {
                reasons.push("outside known networks");
            }
            if reasons.is_empty() {
                continue;
            }
            let values = vec![
                string(address.to_string()),
                string(reasons.join(", ")),
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
                address.to_string(),
                Row {
                    values,
                    identity: address.to_string(),
                },
            ));
        }
        // The busiest first, then by address: the same order every run.
        flagged.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        vec![finding(
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
        )]
    }

    fn own_format(&self, format: Format) -> Option<Box<dyn OwnFormat>> {
        (format == Format::Blocklist).then(|| Box::new(Blocklist) as Box<dyn OwnFormat>)
    }
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
