//! Blocking targets in moto for the `--block` tests: a network ACL (EC2) and WAF IP sets, made and read back.

use aws_sdk_ec2::types::RuleAction;
use aws_sdk_wafv2::types::{IpAddressVersion, Scope};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn ec2(endpoint: &str) -> aws_sdk_ec2::Client {
    let config = aws_sdk_ec2::Config::builder()
        .behavior_version(aws_sdk_ec2::config::BehaviorVersion::latest())
        .region(aws_sdk_ec2::config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_ec2::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .build();
    aws_sdk_ec2::Client::from_conf(config)
}

fn wafv2(endpoint: &str) -> aws_sdk_wafv2::Client {
    let config = aws_sdk_wafv2::Config::builder()
        .behavior_version(aws_sdk_wafv2::config::BehaviorVersion::latest())
        .region(aws_sdk_wafv2::config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_wafv2::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .build();
    aws_sdk_wafv2::Client::from_conf(config)
}

/// An inbound entry of a network ACL: rule number, network, and whether it denies.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AclEntry {
    pub rule: i32,
    pub network: String,
    pub deny: bool,
}

/// A new network ACL in a new VPC, holding `entries` (inbound) made by someone else; its id.
pub fn create_acl(endpoint: &str, entries: &[AclEntry]) -> String {
    let (runtime, client) = (runtime(), ec2(endpoint));
    let vpc = runtime
        .block_on(client.create_vpc().cidr_block("10.0.0.0/16").send())
        .expect("a VPC is created");
    let vpc = vpc.vpc().and_then(|v| v.vpc_id()).expect("a VPC id");
    let acl = runtime
        .block_on(client.create_network_acl().vpc_id(vpc).send())
        .expect("a network ACL is created");
    let id = (acl.network_acl().and_then(|a| a.network_acl_id()))
        .expect("an ACL id")
        .to_owned();
    for entry in entries {
        let mut request = (client.create_network_acl_entry())
            .network_acl_id(&id)
            .rule_number(entry.rule)
            .protocol("-1")
            .egress(false)
            .rule_action(if entry.deny {
                RuleAction::Deny
            } else {
                RuleAction::Allow
            });
        request = match entry.network.contains(':') {
            true => request.ipv6_cidr_block(&entry.network),
            false => request.cidr_block(&entry.network),
        };
        runtime
            .block_on(request.send())
            .expect("an entry is created");
    }
    id
}

/// The inbound entries of the ACL `id`, sorted.
pub fn acl_entries(endpoint: &str, id: &str) -> Vec<AclEntry> {
    let (runtime, client) = (runtime(), ec2(endpoint));
    let answer = runtime
        .block_on(client.describe_network_acls().network_acl_ids(id).send())
        .expect("the ACL is described");
    let mut entries: Vec<AclEntry> = (answer.network_acls().iter())
        .flat_map(|acl| acl.entries())
        .filter(|e| e.egress() == Some(false))
        .map(|e| AclEntry {
            rule: e.rule_number().unwrap_or_default(),
            network: e
                .cidr_block()
                .or(e.ipv6_cidr_block())
                .unwrap_or_default()
                .to_owned(),
            deny: e.rule_action() == Some(&RuleAction::Deny),
        })
        .collect();
    entries.sort();
    entries
}

/// A new regional IP set of `version` (`IPV4`, `IPV6`) named `name-<pid>` holding
/// `addresses`; its ARN.
pub fn create_ip_set(endpoint: &str, name: &str, ipv6: bool, addresses: &[&str]) -> String {
    let (runtime, client) = (runtime(), wafv2(endpoint));
    let version = match ipv6 {
        true => IpAddressVersion::Ipv6,
        false => IpAddressVersion::Ipv4,
    };
    let created = runtime
        .block_on(
            (client.create_ip_set())
                .name(format!("{name}-{}", std::process::id()))
                .scope(Scope::Regional)
                .ip_address_version(version)
                .set_addresses(Some(addresses.iter().map(|a| (*a).to_owned()).collect()))
                .send(),
        )
        .expect("an IP set is created");
    (created.summary().and_then(|s| s.arn()))
        .expect("an ARN")
        .to_owned()
}

/// The addresses of the regional IP set `arn`, sorted.
pub fn ip_set_addresses(endpoint: &str, arn: &str) -> Vec<String> {
    let (runtime, client) = (runtime(), wafv2(endpoint));
    let resource = arn.rsplit(':').next().expect("an ARN");
    let parts: Vec<&str> = resource.split('/').collect();
    let set = runtime
        .block_on(
            (client.get_ip_set())
                .name(parts[2])
                .id(parts[3])
                .scope(Scope::Regional)
                .send(),
        )
        .expect("the IP set is read");
    let mut addresses = set.ip_set().expect("a set").addresses().to_vec();
    addresses.sort();
    addresses
}

/// The default network ACL of a new VPC, with the entries AWS gives it (ALLOW all at 100,
/// the catch-all DENY at 32767); its id.
pub fn default_acl(endpoint: &str) -> String {
    let (runtime, client) = (runtime(), ec2(endpoint));
    let vpc = runtime
        .block_on(client.create_vpc().cidr_block("10.1.0.0/16").send())
        .expect("a VPC is created");
    let vpc = vpc.vpc().and_then(|v| v.vpc_id()).expect("a VPC id");
    let filter = |name: &str, value: &str| {
        aws_sdk_ec2::types::Filter::builder()
            .name(name)
            .values(value)
            .build()
    };
    let answer = runtime
        .block_on(
            (client.describe_network_acls())
                .filters(filter("vpc-id", vpc))
                .filters(filter("default", "true"))
                .send(),
        )
        .expect("the ACLs are described");
    (answer
        .network_acls()
        .first()
        .and_then(|a| a.network_acl_id()))
    .expect("a default ACL")
    .to_owned()
}
