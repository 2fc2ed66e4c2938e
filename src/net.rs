//! Networks: CIDR lists (`10.0.0.0/8`, `2001:db8::/32`, a bare address for one host) and membership.

use std::net::IpAddr;

/// A text that is not a network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a network such as 10.0.0.0/8 or 2001:db8::/32")]
pub struct NotANetwork(pub String);

/// A list of networks (`10.0.0.0/8`, `2001:db8::/32`, or a bare address for one host).
#[derive(Debug, Clone, Default)]
pub struct Networks(Vec<Network>);

impl Networks {
    pub fn parse(cidrs: &[String]) -> Result<Networks, NotANetwork> {
        cidrs
            .iter()
            .map(|c| Network::parse(c))
            .collect::<Result<_, _>>()
            .map(Networks)
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(address))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Network {
    address: IpAddr,
    prefix: u8,
}

impl Network {
    fn parse(text: &str) -> Result<Network, NotANetwork> {
        let bad = || NotANetwork(text.to_owned());
        let (address, prefix) = text.trim().split_once('/').unwrap_or((text.trim(), ""));
        let address: IpAddr = address.parse().map_err(|_| bad())?;
        let max = if address.is_ipv4() { 32 } else { 128 };
        let prefix = if prefix.is_empty() {
            max
        } else {
            prefix.parse::<u8>().map_err(|_| bad())?
        };
        if prefix > max {
            return Err(bad());
        }
        Ok(Network { address, prefix })
    }

    fn contains(&self, address: IpAddr) -> bool {
        match (self.address, address) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}
