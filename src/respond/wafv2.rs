//! A WAFv2 IP set as a blocking target (aws-sdk-wafv2): the whole address list, replaced with the set's lock token.

use std::time::Duration;

use aws_sdk_wafv2::Client;
use aws_sdk_wafv2::error::ProvideErrorMetadata;
use aws_sdk_wafv2::types::{IpAddressVersion, Scope};

use super::plan::{Applied, Change, Entry, Live, same_network};
use super::{Target, describe};
use crate::aws::Connection;

const PERMISSIONS: &str = "wafv2:GetIPSet and wafv2:UpdateIPSet";
/// Updates tried when another writer changed the set between our read and our write.
const LOCK_ATTEMPTS: u32 = 5;

pub struct IpSet {
    pub key: String,
    pub name: String,
    pub id: String,
    pub cloudfront: bool,
    pub client: Client,
    pub connection: Connection,
}

/// The set as read: its addresses, family, and the token an update must carry.
struct Read {
    addresses: Vec<String>,
    version: IpAddressVersion,
    lock_token: String,
}

impl IpSet {
    fn scope(&self) -> Scope {
        match self.cloudfront {
            true => Scope::Cloudfront,
            false => Scope::Regional,
        }
    }

    fn object(&self) -> String {
        format!("WAF IP set {} ({})", self.name, self.scope().as_str())
    }

    fn get(&self, runtime: &tokio::runtime::Runtime) -> Result<Read, String> {
        let request = (self.client.get_ip_set())
            .name(&self.name)
            .id(&self.id)
            .scope(self.scope());
        let answer = runtime
            .block_on(request.send())
            .map_err(|e| describe("WAF", &self.object(), &e, &self.connection, PERMISSIONS))?;
        let set = answer
            .ip_set()
            .ok_or_else(|| format!("{}: WAF answered without the set", self.object()))?;
        Ok(Read {
            addresses: set.addresses().to_vec(),
            version: set.ip_address_version().clone(),
            lock_token: answer.lock_token().unwrap_or_default().to_owned(),
        })
    }
}

impl Target for IpSet {
    /// A WAF IP set has one spelling: its ARN.
    fn name(&self) -> &str {
        self.key.as_str()
    }

    fn key(&self) -> &str {
        &self.key
    }

    fn aliases(&self) -> Vec<String> {
        Vec::new()
    }

    fn numbered(&self) -> bool {
        false
    }

    fn read(&self, runtime: &tokio::runtime::Runtime) -> Result<Live, String> {
        let read = self.get(runtime)?;
        Ok(Live {
            entries: (read.addresses.into_iter())
                .map(|network| Entry {
                    rule: None,
                    network,
                    deny: true,
                    protocol: "-1".to_owned(),
                    ports: None,
                })
                .collect(),
            takes_v4: read.version == IpAddressVersion::Ipv4,
            takes_v6: read.version == IpAddressVersion::Ipv6,
        })
    }

    /// Reads the set again, applies the change to what it holds then, and writes it with that
    /// read's lock token; when another writer came in between (WAFOptimisticLockException), again.
    fn apply(&self, runtime: &tokio::runtime::Runtime, change: &Change) -> Applied {
        let mut applied = Applied::default();
        for attempt in 1..=LOCK_ATTEMPTS {
            let read = match self.get(runtime) {
                Ok(read) => read,
                Err(e) => {
                    applied.error = Some(e);
                    return applied;
                }
            };
            let mut addresses: Vec<String> = (read.addresses.into_iter())
                .filter(|a| !change.remove.iter().any(|r| same_network(a, &r.network)))
                .collect();
            for add in &change.add {
                if !addresses.iter().any(|a| same_network(a, &add.network)) {
                    addresses.push(add.network.clone());
                }
            }
            let request = (self.client.update_ip_set())
                .name(&self.name)
                .id(&self.id)
                .scope(self.scope())
                .set_addresses(Some(addresses))
                .lock_token(read.lock_token);
            match runtime.block_on(request.send()) {
                Ok(_) => {
                    applied.added = change.add.iter().map(|a| a.network.clone()).collect();
                    applied.removed = change.remove.iter().map(|r| r.network.clone()).collect();
                    return applied;
                }
                Err(e)
                    if e.code() == Some("WAFOptimisticLockException")
                        && attempt < LOCK_ATTEMPTS =>
                {
                    std::thread::sleep(Duration::from_millis(200 * u64::from(attempt)));
                }
                Err(e) => {
                    applied.error = Some(describe(
                        "WAF",
                        &self.object(),
                        &e,
                        &self.connection,
                        PERMISSIONS,
                    ));
                    return applied;
                }
            }
        }
        applied
    }
}
