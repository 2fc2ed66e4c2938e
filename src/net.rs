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

/// The one-host network of an address: `203.0.113.5/32`, `2001:db8::1/128`.
pub fn host_network(address: IpAddr) -> String {
    match address {
        IpAddr::V4(v4) => format!("{v4}/32"),
        IpAddr::V6(v6) => format!("{v6}/128"),
    }
}

/// Whether `address` never comes from the internet: private (10/8, 172.16/12, 192.168/16,
/// fc00::/7), shared (100.64/10), loopback, link-local, unspecified, multicast, broadcast or
/// reserved (0/8, 240/4), and IPv6's mapped IPv4 addresses of those. Documentation ranges
/// (203.0.113/24, 2001:db8::/32) are not among them: they are public in form.
pub fn is_private_or_reserved(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => {
            let [first, second, ..] = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || first == 0
                || first >= 240
                || (first == 100 && second & 0xc0 == 64)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private_or_reserved(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || first & 0xfe00 == 0xfc00
                || first & 0xffc0 == 0xfe80
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_reserved_addresses_are_told_apart_from_public_ones() {
        for private in [
            "10.1.2.3",
            "172.31.0.1",
            "192.168.1.1",
            "100.64.0.1",
            "127.0.0.1",
            "169.254.169.254",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(
                is_private_or_reserved(private.parse().unwrap()),
                "{private}"
            );
        }
        for public in [
            "203.0.113.5",
            "8.8.8.8",
            "100.128.0.1",
            "172.32.0.1",
            "2001:db8::1",
            "2a00::1",
            "::ffff:8.8.8.8",
        ] {
            assert!(!is_private_or_reserved(public.parse().unwrap()), "{public}");
        }
        assert_eq!(
            host_network("2001:DB8::1".parse().unwrap()),
            "2001:db8::1/128"
        );
        assert_eq!(
            host_network("203.0.113.5".parse().unwrap()),
            "203.0.113.5/32"
        );
    }
}
