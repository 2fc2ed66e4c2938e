//! What a target holds and what a run changes in it: matching networks, covering entries, free rule numbers.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::ops::RangeInclusive;

use crate::net::Networks;

/// What a target holds now: its inbound entries (a network ACL's) or addresses (an IP
/// set's), and which address families it takes.
#[derive(Debug, Clone, Default)]
pub struct Live {
    pub entries: Vec<Entry>,
    pub takes_v4: bool,
    pub takes_v6: bool,
}

/// The catch-all entry every network ACL ends with (`32767 DENY 0.0.0.0/0`, and `::/0`):
/// it denies what nothing before it allows, so it blocks nothing in particular.
pub const CATCH_ALL_RULE: i32 = 32767;

/// One inbound entry of a network ACL, or one address of an IP set (`rule` none, `deny`,
/// protocol `-1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub rule: Option<i32>,
    pub network: String,
    pub deny: bool,
    /// `-1` (all traffic), or a protocol number (`6` TCP, `17` UDP…).
    pub protocol: String,
    /// The ports it is for (`from`, `to`), when it names some.
    pub ports: Option<(i32, i32)>,
}

impl Entry {
    /// An entry for all traffic (protocol `-1`, no ports).
    pub fn all_traffic(&self) -> bool {
        matches!(self.protocol.as_str(), "-1" | "all") && self.ports.is_none()
    }

    fn contains(&self, address: IpAddr) -> bool {
        Networks::parse(std::slice::from_ref(&self.network)).is_ok_and(|n| n.contains(address))
    }
}

/// The changes to one target: removals first (they free rule numbers), then additions.
#[derive(Debug, Clone, Default)]
pub struct Change {
    pub remove: Vec<Removal>,
    pub add: Vec<Addition>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addition {
    pub network: String,
    pub address: IpAddr,
    /// The network ACL rule number it takes (none for an IP set, or none free).
    pub rule: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal {
    pub network: String,
    pub rule: Option<i32>,
}

/// What a target did of a change: the networks added and removed, and why it stopped.
#[derive(Debug, Clone, Default)]
pub struct Applied {
    pub added: BTreeSet<String>,
    pub removed: BTreeSet<String>,
    /// Removals refused (the entry is left in place, and its record kept).
    pub warnings: Vec<String>,
    pub error: Option<String>,
}

impl Live {
    /// Whether the target takes addresses of `address`'s family.
    pub fn takes(&self, address: IpAddr) -> bool {
        match address {
            IpAddr::V4(_) => self.takes_v4,
            IpAddr::V6(_) => self.takes_v6,
        }
    }

    /// The entry that already denies `address` all traffic, if any: an address of an IP set,
    /// or for a network ACL the lowest-numbered entry matching it, when that one is a DENY of
    /// all traffic before the catch-all rule 32767. An ALLOW numbered lower (of any protocol)
    /// lets it in first; DENY entries of one protocol or port are passed over.
    pub fn covering(&self, address: IpAddr) -> Option<&Entry> {
        let mut matching: Vec<&Entry> = (self.entries.iter())
            .filter(|e| e.contains(address))
            .collect();
        // An IP set's addresses (no rule) first: they all deny.
        matching.sort_by_key(|e| e.rule.unwrap_or(i32::MIN));
        for entry in matching {
            if !entry.deny || entry.rule.is_some_and(|r| r >= CATCH_ALL_RULE) {
                return None;
            }
            if entry.all_traffic() {
                return Some(entry);
            }
        }
        None
    }

    /// The DENY entry of all traffic for exactly `network` (one host) that an addition still
    /// to make may already be, when its answer was lost: an address of the IP set, or for a
    /// network ACL the lowest-numbered one inside `range`.
    pub fn exact(&self, network: &str, range: Option<&RangeInclusive<i32>>) -> Option<&Entry> {
        (self.entries.iter())
            .filter(|e| e.deny && e.all_traffic() && same_network(&e.network, network))
            .filter(|e| match (e.rule, range) {
                (None, _) => true,
                (Some(rule), Some(range)) => range.contains(&rule),
                (Some(_), None) => false,
            })
            .min_by_key(|e| e.rule)
    }

    /// Whether the DENY entry trailscan recorded (`network`, at `rule` for an ACL) is there.
    pub fn holds(&self, network: &str, rule: Option<i32>) -> bool {
        self.entries.iter().any(|e| {
            e.deny && e.all_traffic() && e.rule == rule && same_network(&e.network, network)
        })
    }

    /// An ALLOW entry numbered before `rule` that lets `address` in: the DENY would come too late.
    pub fn allowed_before(&self, address: IpAddr, rule: i32) -> Option<&Entry> {
        (self.entries.iter())
            .filter(|e| !e.deny && e.rule.is_some_and(|r| r < rule) && e.contains(address))
            .min_by_key(|e| e.rule)
    }

    /// The rule numbers in use.
    pub fn rules(&self) -> BTreeSet<i32> {
        self.entries.iter().filter_map(|e| e.rule).collect()
    }
}

/// A network as trailscan writes it (`2001:db8::1/128`, lower case, shortest form), or `None`.
pub fn normalise(text: &str) -> Option<String> {
    let (address, prefix) = text.trim().split_once('/')?;
    let address: IpAddr = address.parse().ok()?;
    let prefix: u8 = prefix.parse().ok()?;
    let most = if address.is_ipv4() { 32 } else { 128 };
    (prefix <= most).then(|| format!("{address}/{prefix}"))
}

/// The host address of a one-host network (`203.0.113.5/32`), or `None`.
pub fn host(network: &str) -> Option<IpAddr> {
    let (address, prefix) = network.split_once('/')?;
    let address: IpAddr = address.parse().ok()?;
    let whole = if address.is_ipv4() { "32" } else { "128" };
    (prefix == whole).then_some(address)
}

pub fn same_network(a: &str, b: &str) -> bool {
    match (normalise(a), normalise(b)) {
        (Some(a), Some(b)) => a == b,
        _ => a == b,
    }
}

/// The lowest number of `range` not in `used`.
pub fn free_rule(range: &RangeInclusive<i32>, used: &BTreeSet<i32>) -> Option<i32> {
    range.clone().find(|n| !used.contains(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(rule: Option<i32>, network: &str, deny: bool) -> Entry {
        Entry {
            rule,
            network: network.into(),
            deny,
            protocol: "-1".into(),
            ports: None,
        }
    }

    fn address(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_catch_all_and_port_entries_deny_nothing_in_particular() {
        let tcp22 = Entry {
            protocol: "6".into(),
            ports: Some((22, 22)),
            ..entry(Some(90), "0.0.0.0/0", true)
        };
        let mut live = Live {
            entries: vec![
                tcp22,
                entry(Some(CATCH_ALL_RULE), "0.0.0.0/0", true),
                entry(Some(CATCH_ALL_RULE), "::/0", true),
            ],
            takes_v4: true,
            takes_v6: true,
        };
        assert_eq!(live.covering(address("203.0.113.5")), None);
        assert_eq!(live.covering(address("2001:db8::5")), None);
        // Trailscan's own kind of entry does deny, unless an ALLOW comes first.
        live.entries.push(entry(Some(120), "203.0.113.5/32", true));
        assert_eq!(
            live.covering(address("203.0.113.5")).and_then(|e| e.rule),
            Some(120)
        );
        live.entries.push(Entry {
            protocol: "6".into(),
            ports: Some((443, 443)),
            ..entry(Some(110), "203.0.113.0/24", false)
        });
        assert_eq!(live.covering(address("203.0.113.5")), None);
        // One found in place: inside the range only.
        assert_eq!(
            live.exact("203.0.113.5/32", Some(&(100..=199)))
                .and_then(|e| e.rule),
            Some(120)
        );
        assert_eq!(live.exact("203.0.113.5/32", Some(&(1..=99))), None);
        assert_eq!(
            live.exact("0.0.0.0/0", Some(&(1..=32766))),
            None,
            "not for all traffic"
        );
        let set = Live {
            entries: vec![entry(None, "203.0.113.5/32", true)],
            takes_v4: true,
            takes_v6: false,
        };
        assert!(set.covering(address("203.0.113.5")).is_some());
        assert!(set.exact("203.0.113.5/32", None).is_some());
    }

    #[test]
    fn entries_cover_hold_and_come_before() {
        let live = Live {
            entries: vec![
                entry(Some(50), "198.51.100.0/24", true),
                entry(Some(100), "203.0.113.5/32", true),
                entry(Some(120), "2001:DB8::1/128", true),
                entry(Some(200), "0.0.0.0/0", false),
                entry(Some(32767), "0.0.0.0/0", true),
            ],
            takes_v4: true,
            takes_v6: true,
        };
        let address = |text: &str| text.parse::<IpAddr>().unwrap();
        assert_eq!(
            live.covering(address("198.51.100.9")).and_then(|e| e.rule),
            Some(50)
        );
        assert!(live.holds("2001:db8::1/128", Some(120)));
        assert!(!live.holds("2001:db8::1/128", Some(121)), "the rule counts");
        assert!(
            !live.holds("0.0.0.0/0", Some(200)),
            "an ALLOW is not a block"
        );
        assert!(
            live.allowed_before(address("192.0.2.1"), 150).is_none(),
            "the ALLOW comes after"
        );
        assert_eq!(
            live.allowed_before(address("192.0.2.1"), 250)
                .and_then(|e| e.rule),
            Some(200)
        );
        let used = live.rules();
        assert_eq!(free_rule(&(100..=102), &used), Some(101));
        assert_eq!(free_rule(&(100..=100), &used), None);
    }

    #[test]
    fn networks_are_compared_in_one_form() {
        assert_eq!(
            normalise("2001:DB8:0::1/128").as_deref(),
            Some("2001:db8::1/128")
        );
        assert_eq!(normalise("10.0.0.0/33"), None);
        assert_eq!(normalise("nonsense"), None);
        assert!(same_network("2001:db8::1/128", "2001:DB8::0001/128"));
        assert_eq!(host("203.0.113.5/32"), Some("203.0.113.5".parse().unwrap()));
        assert_eq!(host("203.0.113.0/24"), None);
        assert_eq!(host("x"), None);
    }
}
