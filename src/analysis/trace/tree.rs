//! The identity tree of a trace: the seed's credentials and the sessions issued to them, recursively.
//!
//! Built from the first pass's rows alone (issuing events, the seed's keys, console session
//! keys), whatever order the files were read in: its size is that of the sessions, never
//! of the events.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, Utc};

use super::seed::{Seed, is_access_key, is_event_id};

/// A credential the seed used: one row of the seed's first-pass query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyUse {
    pub key: String,
    pub arn: String,
    pub account: String,
    pub first: Option<DateTime<Utc>>,
}

/// An event that issued credentials (AssumeRole*, GetSessionToken, GetFederationToken) or
/// opened a console session (ConsoleLogin).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Issuance {
    pub time: Option<DateTime<Utc>>,
    pub event_id: String,
    pub event_name: String,
    pub account: String,
    pub address: String,
    pub caller_key: String,
    pub caller_arn: String,
    pub issued_key: String,
    pub issued_arn: String,
    pub source_identity: String,
    pub shared_event_id: String,
    /// It failed (an error code, or a console sign-in that did not succeed).
    pub failed: bool,
}

/// A key used in a console session: its user, and when the session began.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsoleKey {
    pub arn: String,
    pub created: DateTime<Utc>,
    pub key: String,
}

/// A console session's keys are those created this close to its sign-in.
const CONSOLE_SLACK: TimeDelta = TimeDelta::seconds(60);

/// One node of the tree: a credential, a console session, or the seed itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Node {
    /// Where it is: `1`, `1.2`, `1.2.1`.
    pub branch: String,
    pub parent: Option<usize>,
    /// Issuing events between it and the seed's own credentials.
    pub depth: usize,
    /// The access key, or what the node is (`console session`, the seed).
    pub credential: String,
    pub principal: String,
    pub account: String,
    /// The event that issued it (or `seed`, `used by the seed`).
    pub via: String,
    pub issued_at: Option<DateTime<Utc>>,
    pub issuing_event: String,
    pub source_identity: String,
    pub note: String,
    /// The key whose events belong to this node, when it has one of its own.
    pub key: Option<String>,
}

/// The tree, and how an event of the second pass finds its branch.
#[derive(Debug, Default)]
pub struct Tree {
    pub nodes: Vec<Node>,
    by_key: BTreeMap<String, usize>,
    /// Console sign-ins in the tree, by eventID.
    logins: BTreeMap<String, usize>,
    /// The other account's copy of an issuing event, by sharedEventID: the caller's node.
    shared: BTreeMap<String, usize>,
    /// Sessions not followed because of `--depth`.
    pub beyond_depth: usize,
}

/// Builds the tree of `seed` from the first pass's rows, following at most `depth` issuing
/// events from the seed's own credentials.
pub fn build(
    seed: &Seed,
    uses: &[KeyUse],
    issued: &[Issuance],
    console: &[ConsoleKey],
    depth: Option<usize>,
) -> Tree {
    let edges = Edges::new(issued);
    let mut tree = Tree::default();
    // Nodes waiting to be placed, the next on top: children are pushed in reverse so that
    // the nodes come out in the order a tree is read (preorder).
    let mut pending: Vec<(Parent, Node)> = Vec::new();
    match seed {
        Seed::Key(key) => {
            let used = uses.iter().find(|u| &u.key == key);
            let issuer = edges.by_issued.get(key.as_str());
            let note = match issuer {
                Some(i) => format!(
                    "issued by {} ({} {})",
                    or(&i.caller_key, &i.caller_arn),
                    i.event_name,
                    i.event_id
                ),
                None if key.starts_with("ASIA") => "issuing event not in the sources".into(),
                None => String::new(),
            };
            pending.push((
                Parent::None,
                Node {
                    credential: key.clone(),
                    principal: (used.map(|u| u.arn.clone()))
                        .or(issuer.map(|i| i.issued_arn.clone()))
                        .unwrap_or_default(),
                    account: used.map(|u| u.account.clone()).unwrap_or_default(),
                    via: "seed".into(),
                    issued_at: issuer.and_then(|i| i.time),
                    issuing_event: issuer.map(|i| i.event_id.clone()).unwrap_or_default(),
                    source_identity: (issuer.map(|i| i.source_identity.clone()))
                        .unwrap_or_default(),
                    note,
                    key: Some(key.clone()),
                    ..Node::default()
                },
            ));
        }
        _ => {
            pending.push((
                Parent::None,
                Node {
                    credential: seed.label(),
                    via: "seed".into(),
                    ..Node::default()
                },
            ));
            let mut sessions = Vec::new();
            let mut in_console = BTreeSet::new();
            let own_logins = (edges.logins.iter())
                .filter(|l| seed.names(&l.caller_arn, &l.address, &l.event_id));
            for login in own_logins {
                let keys = console_keys(login, &edges.logins, console);
                in_console.extend(keys.iter().map(|k| k.key.clone()));
                sessions.push((*login, keys));
            }
            let mut own: Vec<&KeyUse> = (uses.iter())
                .filter(|u| is_access_key(&u.key) && !in_console.contains(&u.key))
                .collect();
            // A key issued by another of the seed's keys is shown under it, not beside it.
            let own_keys: BTreeSet<&str> = own.iter().map(|u| u.key.as_str()).collect();
            own.retain(|u| {
                (edges.by_issued.get(u.key.as_str()))
                    .is_none_or(|i| !own_keys.contains(i.caller_key.as_str()))
            });
            // A key used in two accounts has a row in each: it is shown once, when first used.
            own.sort_by(|a, b| (&a.key, a.first).cmp(&(&b.key, b.first)));
            own.dedup_by(|a, b| a.key == b.key);
            own.sort_by(|a, b| (a.first, &a.key).cmp(&(b.first, &b.key)));
            // The seed's console sessions, each followed by its keys, then its other keys.
            let mut children = Vec::new();
            for (login, keys) in sessions {
                children.push((
                    Parent::Seed,
                    Node {
                        credential: CONSOLE_SESSION.into(),
                        principal: login.caller_arn.clone(),
                        account: login.account.clone(),
                        via: "ConsoleLogin".into(),
                        issued_at: login.time,
                        issuing_event: login.event_id.clone(),
                        note: format!("from {}", login.address),
                        ..Node::default()
                    },
                ));
                for k in keys {
                    let node = key_node(&k.key, &k.arn, &login.account, "console");
                    children.push((Parent::Session, node));
                }
            }
            for u in own {
                let node = key_node(&u.key, &u.arn, &u.account, "used by the seed");
                children.push((Parent::Seed, node));
            }
            pending.splice(0..0, children.into_iter().rev());
        }
    }
    tree.place(pending, &edges, depth);
    tree
}

/// What a console session's node is called.
const CONSOLE_SESSION: &str = "console session";

/// Where a pending node goes.
#[derive(Debug, Clone, Copy)]
enum Parent {
    /// It is the root.
    None,
    /// Under the root.
    Seed,
    /// Under the console session placed last.
    Session,
    Node(usize),
}

fn key_node(key: &str, arn: &str, account: &str, via: &str) -> Node {
    Node {
        credential: key.to_owned(),
        principal: arn.to_owned(),
        account: account.to_owned(),
        via: via.to_owned(),
        key: Some(key.to_owned()),
        ..Node::default()
    }
}

fn or(first: &str, second: &str) -> String {
    if first.is_empty() { second } else { first }.to_owned()
}

/// The keys of a console sign-in: those of its user created from just before it until the
/// user's next sign-in.
fn console_keys<'c>(
    login: &Issuance,
    logins: &[&Issuance],
    console: &'c [ConsoleKey],
) -> Vec<&'c ConsoleKey> {
    let Some(at) = login.time else {
        return Vec::new();
    };
    let next = (logins.iter())
        .filter(|l| l.caller_arn == login.caller_arn)
        .filter_map(|l| l.time)
        .filter(|t| *t > at)
        .min();
    let mut keys: Vec<&ConsoleKey> = (console.iter())
        .filter(|k| k.arn == login.caller_arn && is_access_key(&k.key))
        .filter(|k| k.created >= at - CONSOLE_SLACK && next.is_none_or(|n| k.created < n))
        .collect();
    keys.sort_by(|a, b| (&a.key, a.created).cmp(&(&b.key, b.created)));
    keys.dedup_by(|a, b| a.key == b.key);
    keys.sort_by(|a, b| (a.created, &a.key).cmp(&(b.created, &b.key)));
    keys
}

/// The issuing events, looked up by the key that made them and the key they issued.
struct Edges<'i> {
    by_caller: BTreeMap<&'i str, Vec<&'i Issuance>>,
    by_issued: BTreeMap<&'i str, &'i Issuance>,
    /// Every sharedEventID of the copies of an issuing event, by the key it issued.
    shared: BTreeMap<&'i str, Vec<&'i str>>,
    logins: Vec<&'i Issuance>,
}

impl<'i> Edges<'i> {
    fn new(issued: &'i [Issuance]) -> Edges<'i> {
        let mut sorted: Vec<&Issuance> = issued.iter().filter(|i| !i.failed).collect();
        // One issuing event may be logged in two accounts: the copy that names the caller's
        // key wins, then the earliest.
        sorted.sort_by(|a, b| {
            (a.caller_key.is_empty(), a.time, &a.event_id).cmp(&(
                b.caller_key.is_empty(),
                b.time,
                &b.event_id,
            ))
        });
        let mut edges = Edges {
            by_caller: BTreeMap::new(),
            by_issued: BTreeMap::new(),
            shared: BTreeMap::new(),
            logins: Vec::new(),
        };
        for issuance in sorted {
            if issuance.event_name == "ConsoleLogin" {
                edges.logins.push(issuance);
                continue;
            }
            if !is_access_key(&issuance.issued_key) {
                continue;
            }
            let key = issuance.issued_key.as_str();
            if is_event_id(&issuance.shared_event_id) {
                edges
                    .shared
                    .entry(key)
                    .or_default()
                    .push(&issuance.shared_event_id);
            }
            if edges.by_issued.contains_key(key) {
                continue;
            }
            edges.by_issued.insert(key, issuance);
            if !issuance.caller_key.is_empty() {
                edges
                    .by_caller
                    .entry(&issuance.caller_key)
                    .or_default()
                    .push(issuance);
            }
        }
        for children in edges.by_caller.values_mut() {
            children.sort_by(|a, b| (a.time, &a.event_id).cmp(&(b.time, &b.event_id)));
        }
        edges
            .logins
            .sort_by(|a, b| (a.time, &a.event_id).cmp(&(b.time, &b.event_id)));
        edges
    }
}

impl Tree {
    /// Places the pending nodes in preorder, each followed by the sessions its key issued.
    fn place(&mut self, mut pending: Vec<(Parent, Node)>, edges: &Edges<'_>, depth: Option<usize>) {
        let mut session = None;
        let mut children: BTreeMap<Option<usize>, usize> = BTreeMap::new();
        while let Some((parent, mut node)) = pending.pop() {
            let parent = match parent {
                Parent::None => None,
                Parent::Seed => Some(0),
                Parent::Session => session,
                Parent::Node(at) => Some(at),
            };
            let at = self.nodes.len();
            let count = children.entry(parent).or_default();
            *count += 1;
            node.branch = match parent {
                Some(p) => format!("{}.{count}", self.nodes[p].branch),
                None => count.to_string(),
            };
            node.parent = parent;
            if node.credential == CONSOLE_SESSION {
                session = Some(at);
                self.logins.insert(node.issuing_event.clone(), at);
            }
            if let Some(key) = node.key.clone() {
                if let Some(&first) = self.by_key.get(&key) {
                    let ancestor = self.ancestors(parent).any(|a| a == first);
                    node.note = match ancestor {
                        true => format!(
                            "cycle: issued by its own session, at {}",
                            self.nodes[first].branch
                        ),
                        false => format!("also at {}", self.nodes[first].branch),
                    };
                    node.key = None;
                    self.nodes.push(node);
                    continue;
                }
                self.by_key.insert(key.clone(), at);
                let issued = edges
                    .by_caller
                    .get(key.as_str())
                    .map_or(&[][..], Vec::as_slice);
                if depth.is_some_and(|limit| node.depth >= limit) {
                    self.beyond_depth += issued.len();
                } else {
                    for issuance in issued.iter().rev() {
                        let shared = edges.shared.get(issuance.issued_key.as_str());
                        for id in shared.into_iter().flatten() {
                            self.shared.insert((*id).to_owned(), at);
                        }
                        pending.push((Parent::Node(at), issued_node(issuance, node.depth + 1)));
                    }
                }
            }
            self.nodes.push(node);
        }
    }

    /// `at` and the nodes above it, up to the root.
    fn ancestors(&self, at: Option<usize>) -> impl Iterator<Item = usize> + '_ {
        std::iter::successors(at, |&i| self.nodes[i].parent)
    }

    /// The keys whose events the trace holds.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.by_key.keys().map(String::as_str)
    }

    /// The console sign-ins in the tree, by eventID.
    pub fn logins(&self) -> impl Iterator<Item = &str> {
        self.logins.keys().map(String::as_str)
    }

    /// The sharedEventIDs of issuing events logged in another account too.
    pub fn shared_events(&self) -> impl Iterator<Item = &str> {
        self.shared.keys().map(String::as_str)
    }

    /// The node an event of the trace belongs to: its key's, its console sign-in's, the
    /// caller's of an issuing event logged in the other account, or else the seed's.
    pub fn node_of(&self, key: &str, event_id: &str, shared_event_id: &str) -> usize {
        (self.by_key.get(key))
            .or_else(|| self.logins.get(event_id))
            .or_else(|| self.shared.get(shared_event_id))
            .copied()
            .unwrap_or(0)
    }

    /// Each node's line of the drawn tree: `├─ `, `└─ ` and `│  ` before its credential.
    pub fn drawn(&self) -> Vec<String> {
        // Whether each node is the last child of its parent: the first seen from the end.
        let mut seen = BTreeSet::new();
        let mut last = vec![false; self.nodes.len()];
        for (i, node) in self.nodes.iter().enumerate().rev() {
            last[i] = seen.insert(node.parent);
        }
        (0..self.nodes.len())
            .map(|i| {
                let mut line = String::new();
                for p in self.ancestors(self.nodes[i].parent) {
                    if self.nodes[p].parent.is_some() {
                        line.insert_str(0, if last[p] { "   " } else { "│  " });
                    }
                }
                line.push_str(match (self.nodes[i].parent, last[i]) {
                    (None, _) => "",
                    (Some(_), true) => "└─ ",
                    (Some(_), false) => "├─ ",
                });
                line.push_str(&self.nodes[i].credential);
                line
            })
            .collect()
    }
}

/// The node of a session issued by `issuance`, `depth` issuing events from the seed.
fn issued_node(issuance: &Issuance, depth: usize) -> Node {
    Node {
        credential: issuance.issued_key.clone(),
        principal: issuance.issued_arn.clone(),
        account: (account_of(&issuance.issued_arn))
            .unwrap_or(&issuance.account)
            .to_owned(),
        via: issuance.event_name.clone(),
        depth,
        issued_at: issuance.time,
        issuing_event: issuance.event_id.clone(),
        source_identity: issuance.source_identity.clone(),
        key: Some(issuance.issued_key.clone()),
        ..Node::default()
    }
}

/// The account of an ARN (`arn:aws:sts::ACCOUNT:…`).
fn account_of(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| a.len() == 12)
}
