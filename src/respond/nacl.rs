//! A VPC network ACL as a blocking target (aws-sdk-ec2): inbound DENY entries, one per address, at reserved rule numbers.

use std::ops::RangeInclusive;

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::RuleAction;

use super::plan::{Addition, Applied, Change, Entry, Live};
use super::{Target, describe};
use crate::aws::Connection;

/// `ec2:DescribeNetworkAcls`, `ec2:CreateNetworkAclEntry`, `ec2:DeleteNetworkAclEntry`.
const PERMISSIONS: &str =
    "ec2:DescribeNetworkAcls, ec2:CreateNetworkAclEntry and ec2:DeleteNetworkAclEntry";

pub struct NetworkAcl {
    /// `nacl:REGION:acl-…`, the region resolved: how its records are known in the state.
    pub key: String,
    /// `nacl:acl-…`, when that is what older runs recorded it under.
    pub aliases: Vec<String>,
    pub id: String,
    /// The target as typed (`nacl:acl-…`), in messages.
    pub name: String,
    /// `--rule-range`: the only numbers trailscan adds or deletes entries at.
    pub rules: Option<RangeInclusive<i32>>,
    pub client: Client,
    pub connection: Connection,
}

/// Whether trailscan may delete the entry at `rule`: only inside `--rule-range`, whatever
/// the state says (it may be old, or edited).
fn deletable(rule: i32, rules: Option<&RangeInclusive<i32>>) -> Result<i32, String> {
    match rules {
        Some(range) if range.contains(&rule) => Ok(rule),
        Some(range) => Err(format!(
            "rule {rule} is outside --rule-range {}-{}: not removed (remove it by hand, or give the range that holds it)",
            range.start(),
            range.end()
        )),
        None => Err(format!("rule {rule}: not removed without --rule-range")),
    }
}

impl NetworkAcl {
    fn object(&self) -> String {
        match &self.connection.region {
            Some(region) => format!("network ACL {} (in {region})", self.id),
            None => format!("network ACL {}", self.id),
        }
    }

    fn create(&self, runtime: &tokio::runtime::Runtime, add: &Addition) -> Result<(), String> {
        let rule = add.rule.ok_or("no free rule number")?;
        let mut request = (self.client.create_network_acl_entry())
            .network_acl_id(&self.id)
            .rule_number(rule)
            .protocol("-1")
            .rule_action(RuleAction::Deny)
            .egress(false);
        request = match add.address.is_ipv4() {
            true => request.cidr_block(&add.network),
            false => request.ipv6_cidr_block(&add.network),
        };
        runtime
            .block_on(request.send())
            .map(|_| ())
            .map_err(|e| describe("EC2", &self.object(), &e, &self.connection, PERMISSIONS))
    }

    fn delete(&self, runtime: &tokio::runtime::Runtime, rule: i32) -> Result<(), String> {
        let request = (self.client.delete_network_acl_entry())
            .network_acl_id(&self.id)
            .rule_number(rule)
            .egress(false);
        runtime
            .block_on(request.send())
            .map(|_| ())
            .map_err(|e| describe("EC2", &self.object(), &e, &self.connection, PERMISSIONS))
    }
}

impl Target for NetworkAcl {
    fn name(&self) -> &str {
        &self.name
    }

    fn key(&self) -> &str {
        &self.key
    }

    fn aliases(&self) -> Vec<String> {
        self.aliases.clone()
    }

    fn numbered(&self) -> bool {
        true
    }

    fn read(&self, runtime: &tokio::runtime::Runtime) -> Result<Live, String> {
        let request = self
            .client
            .describe_network_acls()
            .network_acl_ids(&self.id);
        let answer = runtime
            .block_on(request.send())
            .map_err(|e| describe("EC2", &self.object(), &e, &self.connection, PERMISSIONS))?;
        let acl = (answer.network_acls().iter())
            .find(|acl| acl.network_acl_id() == Some(self.id.as_str()))
            .ok_or_else(|| format!("{} does not exist: check --block", self.object()))?;
        let entries = (acl.entries().iter())
            .filter(|e| e.egress() == Some(false))
            .filter_map(|e| {
                let network = e.cidr_block().or(e.ipv6_cidr_block())?;
                Some(Entry {
                    rule: e.rule_number(),
                    network: network.to_owned(),
                    deny: e.rule_action() == Some(&RuleAction::Deny),
                    protocol: e.protocol().unwrap_or("-1").to_owned(),
                    ports: e
                        .port_range()
                        .map(|p| (p.from().unwrap_or_default(), p.to().unwrap_or_default())),
                })
            })
            .collect();
        Ok(Live {
            entries,
            takes_v4: true,
            takes_v6: true,
        })
    }

    /// One call per entry, removals first; the first failure stops the rest (the target is
    /// likely gone or unreachable), which the state keeps for the next run.
    fn apply(&self, runtime: &tokio::runtime::Runtime, change: &Change) -> Applied {
        let mut applied = Applied::default();
        for removal in &change.remove {
            let Some(rule) = removal.rule else {
                continue;
            };
            let rule = match deletable(rule, self.rules.as_ref()) {
                Ok(rule) => rule,
                Err(why) => {
                    (applied.warnings).push(format!("{}: {why}", removal.network));
                    continue;
                }
            };
            match self.delete(runtime, rule) {
                Ok(()) => {
                    applied.removed.insert(removal.network.clone());
                }
                Err(e) => {
                    applied.error = Some(e);
                    return applied;
                }
            }
        }
        for add in change.add.iter().filter(|a| a.rule.is_some()) {
            match self.create(runtime, add) {
                Ok(()) => {
                    applied.added.insert(add.network.clone());
                }
                Err(e) => {
                    applied.error = Some(e);
                    return applied;
                }
            }
        }
        applied
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_rule_numbers_inside_the_range_are_deleted() {
        assert_eq!(deletable(150, Some(&(100..=199))), Ok(150));
        let refused = deletable(5, Some(&(100..=199))).unwrap_err();
        assert!(
            refused.contains("outside --rule-range 100-199"),
            "{refused}"
        );
        assert!(deletable(100, None).is_err());
    }
}
