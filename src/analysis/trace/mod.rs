//! `trace SEED`: follow a credential through the sessions issued to it, in every account the sources hold.
//!
//! Two passes over the same objects. The first reads the events that issue credentials
//! (AssumeRole*, GetSessionToken, GetFederationToken, ConsoleLogin), the seed's own keys
//! and the keys of console sessions: rows as many as the sessions, in any file order. The
//! tree of credentials is built from them. The second pass reads the events of the keys in
//! the tree (and the other account's copies of their issuing events), with the canned
//! queries narrowed to those events, to say which of them fired.

mod seed;
mod tree;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use anyhow::Context;

use super::activity::{self, canned, fired_name, fired_query, narrowed};
use super::kit::{Analysis, Command, Describe, Inputs, Settings, int, rows_of, string, text, time};
use crate::catalog::Catalog;
use crate::lang::sql::quote;
use crate::meta::{Meta, Origin};
use crate::query::Query;
use crate::record::{OwnedValue, Value};
use crate::results::{ResultSet, Row};
use seed::{Seed, is_event_id};
use tree::{ConsoleKey, Issuance, KeyUse, Tree};

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// What to follow: an access key id (AKIA…, ASIA…), a principal ARN, a role session
    /// (arn:aws:iam::ACCOUNT:role/NAME/SESSION), a source address, or an eventID
    #[arg(value_name = "SEED")]
    pub seed: String,
    /// Follow at most N issuing events from the seed's own credentials [default: no limit]
    #[arg(long, value_name = "N")]
    pub depth: Option<usize>,
}

/// `trailscan trace --help`'s examples (tests/docs.rs runs those of `trailscan --help`).
pub const EXAMPLES: &str = "\
Examples:
  trailscan trace AKIAALICELEAKED00001 ./AWSLogs            a leaked key and every session it led to
  trailscan trace arn:aws:iam::111122223333:role/deploy/breach ./AWSLogs   one role session
  trailscan trace 198.51.100.7 ./AWSLogs --since 7d         what was done from an address
  trailscan trace AKIAALICELEAKED00001 ./AWSLogs --depth 1 --format jsonl

Prints the tree of credentials (key → sessions → roles → accounts), the timeline of every
call they made with the branch of the tree each belongs to, and a summary (accounts, regions,
APIs, writes, denials, data reads, addresses, user agents, canned queries that fired).
Sessions are linked by the keys in the issuing events' responseElements: give the logs of
every account the credentials reached. A session whose issuing event is missing is not
linked: trace its own key to follow it. Reads the sources twice.

Exit status: 0 the trace ran, 2 error (unreadable input too).";

impl Command for Args {
    fn build(self, _settings: &Settings) -> anyhow::Result<Box<dyn Analysis>> {
        let seed = Seed::parse(&self.seed).map_err(|e| anyhow::anyhow!("invalid SEED: {e}"))?;
        compiled(SEED_KEYS, &seed_sql(&seed))
            .map_err(|e| anyhow::anyhow!("invalid SEED '{}': {e}", self.seed))?;
        Ok(Box::new(Trace {
            seed,
            depth: self.depth,
        }))
    }
}

/// `trace` makes no findings of its own.
pub(super) const DESCRIBED: &[&Describe] = &[];

struct Trace {
    seed: Seed,
    depth: Option<usize>,
}

const ISSUED: &str = "trace-issued";
const SEED_KEYS: &str = "trace-seed";
const CONSOLE: &str = "trace-console";
const EVENTS: &str = "trace-events";

const ISSUED_SQL: &str = "SELECT eventTime, eventID, eventName, recipientAccountId, sourceIPAddress, \
     userIdentity.accessKeyId, userIdentity.arn, responseElements.credentials.accessKeyId, \
     coalesce(responseElements.assumedRoleUser.arn, responseElements.federatedUser.arn), \
     requestParameters.sourceIdentity, sharedEventID, errorCode, responseElements.ConsoleLogin \
     FROM cloudtrail_logs WHERE eventName IN ('AssumeRole', 'AssumeRoleWithSAML', \
     'AssumeRoleWithWebIdentity', 'GetSessionToken', 'GetFederationToken', 'ConsoleLogin')";

const CONSOLE_SQL: &str = "SELECT userIdentity.arn, userIdentity.sessionContext.attributes.creationDate, \
     userIdentity.accessKeyId FROM cloudtrail_logs WHERE userIdentity.sessionCredentialFromConsole = 'true' \
     GROUP BY userIdentity.arn, userIdentity.sessionContext.attributes.creationDate, userIdentity.accessKeyId";

fn seed_sql(seed: &Seed) -> String {
    format!(
        "SELECT userIdentity.accessKeyId, userIdentity.arn, recipientAccountId, min(eventTime) \
         FROM cloudtrail_logs WHERE {} \
         GROUP BY userIdentity.accessKeyId, userIdentity.arn, recipientAccountId",
        seed.condition()
    )
}

/// A query of trace's own, compiled: an error only if a value from the logs or the seed
/// made SQL that does not parse.
fn compiled(name: &str, sql: &str) -> anyhow::Result<Arc<Query>> {
    let plan = crate::lang::sql::compile(sql).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Arc::new(Query {
        meta: Arc::new(Meta::plain(name, name)),
        plan,
        origin: Origin::BuiltIn(format!("{name} (analysis)")),
        text: sql.to_owned(),
    }))
}

impl Analysis for Trace {
    fn inputs(&self, _catalog: &Catalog) -> Vec<Arc<Query>> {
        let mut queries = vec![super::kit::input(ISSUED, ISSUED_SQL)];
        // Checked when the command was built.
        queries.extend(compiled(SEED_KEYS, &seed_sql(&self.seed)));
        if !matches!(self.seed, Seed::Key(_)) {
            queries.push(super::kit::input(CONSOLE, CONSOLE_SQL));
        }
        queries
    }

    fn next_pass(
        &self,
        results: &[ResultSet],
        catalog: &Catalog,
    ) -> anyhow::Result<Option<Vec<Arc<Query>>>> {
        if results.iter().any(|r| r.meta.name == EVENTS) {
            return Ok(None);
        }
        let tree = self.tree(|name| rows_of(results, name));
        let sql = format!(
            "SELECT eventTime, recipientAccountId, awsRegion, sourceIPAddress, userAgent, eventName, \
             errorCode, eventID, userIdentity.accessKeyId, sharedEventID, readOnly, managementEvent \
             FROM cloudtrail_logs WHERE {} ORDER BY eventTime, eventID",
            self.events_condition(&tree)
        );
        let events = compiled(EVENTS, &sql).context("the trace's second pass")?;
        let condition = (events.plan.filter.clone()).context("the trace's second pass")?;
        let mut queries = vec![events];
        queries.extend(canned(catalog).map(|q| narrowed(q, fired_name(q.name()), &condition)));
        Ok(Some(queries))
    }

    fn finds(&self) -> bool {
        false
    }

    fn finish(&self, mut inputs: Inputs) -> Vec<ResultSet> {
        let tree = self.tree(|name| inputs.rows(name));
        let events = inputs.take(EVENTS);
        let fired: Vec<(String, usize)> = (self.fired_names(&inputs).into_iter())
            .filter_map(|name| {
                let rows = inputs.take(&name)?.rows.len();
                let query = fired_query(&name)?.to_owned();
                (rows > 0).then_some((query, rows))
            })
            .collect();
        let mut seen = Seen::default();
        let mut per_node = vec![0u64; tree.nodes.len()];
        let mut timeline = Vec::new();
        for row in events.iter().flat_map(|r| r.rows.iter()) {
            let v = &row.values;
            let node = tree.node_of(&text(&v[8]), &text(&v[7]), &text(&v[9]));
            per_node[node] += 1;
            seen.add(v);
            timeline.push(Row {
                values: vec![
                    v[0].clone(),
                    v[1].clone(),
                    v[2].clone(),
                    v[3].clone(),
                    v[4].clone(),
                    v[5].clone(),
                    v[6].clone(),
                    v[7].clone(),
                    string(tree.nodes[node].branch.clone()),
                ],
                identity: text(&v[7]),
            });
        }
        let drawn = tree.drawn();
        let nodes: Vec<Row> = (tree.nodes.iter().zip(drawn).zip(&per_node))
            .map(|((node, line), events)| Row {
                values: vec![
                    string(node.branch.clone()),
                    string(line),
                    string(node.principal.clone()),
                    string(node.account.clone()),
                    string(node.via.clone()),
                    node.issued_at.map_or(Value::Null, Value::Time),
                    string(node.issuing_event.clone()),
                    string(node.source_identity.clone()),
                    int(*events),
                    string(node.note.clone()),
                ],
                identity: node.branch.clone(),
            })
            .collect();
        let label = self.seed.label();
        let summary = seen.rows(&tree, &fired);
        vec![
            result(
                TREE,
                format!("Identity tree of {label}"),
                &TREE_COLUMNS,
                nodes,
            ),
            result(
                TIMELINE,
                format!("Timeline of {label}"),
                &TIMELINE_COLUMNS,
                timeline,
            ),
            result(
                SUMMARY,
                format!("Summary of {label}"),
                &["item", "value"],
                summary,
            ),
        ]
    }
}

const TREE: &str = "trace-tree";
const TIMELINE: &str = "trace-timeline";
const SUMMARY: &str = "trace-summary";
const TREE_COLUMNS: [&str; 10] = [
    "branch",
    "credential",
    "principal",
    "account",
    "via",
    "issued_at",
    "issuing_event",
    "source_identity",
    "events",
    "note",
];
const TIMELINE_COLUMNS: [&str; 9] = [
    "eventTime",
    "account",
    "region",
    "sourceIPAddress",
    "userAgent",
    "eventName",
    "errorCode",
    "eventID",
    "branch",
];

fn result(name: &str, title: String, columns: &[&str], rows: Vec<Row>) -> ResultSet {
    ResultSet::new(Arc::new(Meta::plain(name, &title)), columns, rows)
}

impl Trace {
    /// The tree, from the first pass's rows (`rows` finds them by input name).
    fn tree(&self, rows: impl Fn(&str) -> Vec<Row>) -> Tree {
        let issued: Vec<Issuance> = rows(ISSUED).iter().map(issuance).collect();
        let uses: Vec<KeyUse> = (rows(SEED_KEYS).iter())
            .map(|r| KeyUse {
                key: text(&r.values[0]),
                arn: text(&r.values[1]),
                account: text(&r.values[2]),
                first: time(&r.values[3]),
            })
            .collect();
        let console: Vec<ConsoleKey> = (rows(CONSOLE).iter())
            .filter_map(|r| {
                Some(ConsoleKey {
                    arn: text(&r.values[0]),
                    created: time(&r.values[1])?,
                    key: text(&r.values[2]),
                })
            })
            .collect();
        tree::build(&self.seed, &uses, &issued, &console, self.depth)
    }

    /// The events of the trace: those of its keys, its console sign-ins, the other
    /// account's copies of its issuing events, and the seed's own events made without a key.
    fn events_condition(&self, tree: &Tree) -> String {
        let list =
            |items: &mut dyn Iterator<Item = &str>| items.map(quote).collect::<Vec<_>>().join(", ");
        let mut clauses = Vec::new();
        let keys = list(&mut tree.keys());
        if !keys.is_empty() {
            clauses.push(format!("userIdentity.accessKeyId IN ({keys})"));
        }
        let logins = list(&mut tree.logins().filter(|id| is_event_id(id)));
        if !logins.is_empty() {
            clauses.push(format!("eventID IN ({logins})"));
        }
        let shared = list(&mut tree.shared_events());
        if !shared.is_empty() {
            clauses.push(format!("sharedEventID IN ({shared})"));
        }
        if !matches!(self.seed, Seed::Key(_)) {
            clauses.push(format!(
                "({} AND userIdentity.accessKeyId IS NULL)",
                self.seed.condition()
            ));
        }
        match clauses.is_empty() {
            true => "eventID IS NULL AND eventID IS NOT NULL".to_owned(),
            false => clauses.join(" OR "),
        }
    }

    /// The names of the narrowed canned queries among the inputs.
    fn fired_names(&self, inputs: &Inputs) -> Vec<String> {
        inputs
            .names()
            .filter(|n| fired_query(n).is_some())
            .map(str::to_owned)
            .collect()
    }
}

/// An issuing event, from a row of `ISSUED_SQL`.
fn issuance(row: &Row) -> Issuance {
    let v = &row.values;
    let event_name = text(&v[2]);
    let caller_arn = text(&v[6]);
    let mut issued_arn = text(&v[8]);
    // GetSessionToken's session acts as the user who asked for it.
    if issued_arn.is_empty() && event_name == "GetSessionToken" {
        issued_arn = caller_arn.clone();
    }
    Issuance {
        time: time(&v[0]),
        event_id: text(&v[1]),
        account: text(&v[3]),
        address: text(&v[4]),
        caller_key: text(&v[5]),
        caller_arn,
        issued_key: text(&v[7]),
        issued_arn,
        source_identity: text(&v[9]),
        shared_event_id: text(&v[10]),
        failed: !v[11].is_null() || text(&v[12]) == "Failure",
        event_name,
    }
}

/// What the trace's events came to, for its summary.
#[derive(Default)]
struct Seen {
    events: u64,
    accounts: BTreeSet<String>,
    regions: BTreeSet<String>,
    apis: BTreeSet<String>,
    addresses: BTreeSet<String>,
    user_agents: BTreeSet<String>,
    writes: u64,
    denied: u64,
    data_access: u64,
    first: Option<OwnedValue>,
    last: Option<OwnedValue>,
}

impl Seen {
    /// Counts one row of the second pass (rows come in time order).
    fn add(&mut self, v: &[OwnedValue]) {
        self.events += 1;
        for (set, value) in [
            (&mut self.accounts, &v[1]),
            (&mut self.regions, &v[2]),
            (&mut self.addresses, &v[3]),
            (&mut self.user_agents, &v[4]),
            (&mut self.apis, &v[5]),
        ] {
            if !value.is_null() {
                set.insert(text(value));
            }
        }
        self.writes += u64::from(activity::is_write(&v[10]));
        self.denied += u64::from(activity::is_denied(&text(&v[6])));
        self.data_access += u64::from(activity::is_data_access(&v[11], &text(&v[5])));
        if !v[0].is_null() {
            self.first.get_or_insert_with(|| v[0].clone());
            self.last = Some(v[0].clone());
        }
    }

    fn rows(self, tree: &Tree, fired: &[(String, usize)]) -> Vec<Row> {
        let listed = |set: &BTreeSet<String>| {
            let items: Vec<&str> = set.iter().map(String::as_str).collect();
            string(format!("{}: {}", items.len(), items.join(", ")))
        };
        let fired = fired
            .iter()
            .map(|(name, rows)| format!("{name} ({rows})"))
            .collect::<Vec<_>>();
        let keys = tree.keys().count() as u64;
        let mut items: Vec<(&str, OwnedValue)> = vec![
            ("credentials", int(keys)),
            ("events", int(self.events)),
            ("accounts", listed(&self.accounts)),
            ("regions", listed(&self.regions)),
            ("apis", listed(&self.apis)),
            ("write_calls", int(self.writes)),
            ("denied_calls", int(self.denied)),
            ("data_access_calls", int(self.data_access)),
            ("first_seen", self.first.unwrap_or(Value::Null)),
            ("last_seen", self.last.unwrap_or(Value::Null)),
            ("addresses", listed(&self.addresses)),
            ("user_agents", listed(&self.user_agents)),
            ("canned_queries_fired", string(fired.join(", "))),
        ];
        if tree.beyond_depth > 0 {
            items.push(("not_followed_beyond_depth", int(tree.beyond_depth as u64)));
        }
        let gaps: BTreeMap<&str, ()> = (tree.nodes.iter())
            .filter(|n| n.note.starts_with("issuing event not"))
            .map(|n| (n.credential.as_str(), ()))
            .collect();
        if !gaps.is_empty() {
            let keys: Vec<&str> = gaps.into_keys().collect();
            items.push(("issuer_not_in_sources", string(keys.join(", "))));
        }
        items
            .into_iter()
            .map(|(item, value)| Row {
                values: vec![string(item), value],
                identity: item.to_owned(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
