//! Response: `--block` denies the addresses a finding flags in network ACLs and WAF IP sets, and lifts its own blocks when they expire.
//!
//! A run reads each target, plans what to add (flagged addresses that are not already
//! blocked there, within `--max-blocks`, never a known, private or reserved one) and what to
//! remove (trailscan's own entries whose `--block-for` ran out, recorded in the state), then
//! changes it, or with `--dry-run` only says what it would change. What could not be added
//! is recorded as still to add, and the next run tries again; what was added is recorded at
//! once, so that a run that dies later still knows what it owns.

mod nacl;
mod plan;
mod target;
mod wafv2;

pub use target::{BlockSpec, DEFAULT_MAX_BLOCKS, TargetSpec, parse_rule_range};

use std::collections::BTreeMap;
use std::io::Write;
use std::net::IpAddr;

use aws_sdk_ec2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use chrono::{DateTime, Utc};

use crate::aws::{self, Connection, RuntimeError};
use crate::net::{Networks, host_network, is_private_or_reserved};
use crate::output::sanitize::for_terminal;
use crate::state::{BlockRecord, State, StateError, TargetBlocks, stamp};
use plan::{Addition, Applied, Change, Live, Removal};

/// The most lines of a run's blocking an alert carries.
const LINES_IN_ALERT: usize = 40;

/// An address an analysis flagged, and why.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub address: IpAddr,
    pub reasons: String,
}

/// A place to block addresses in.
trait Target {
    /// How it is named in messages (`nacl:acl-…`, `wafv2:ARN`), as typed.
    fn name(&self) -> &str;
    /// How its records are known in the state: for a network ACL, with its region
    /// (`nacl:REGION:acl-…`), whichever way it was typed.
    fn key(&self) -> &str;
    /// Keys of its records in state files written before (`nacl:acl-…`), read and replaced.
    fn aliases(&self) -> Vec<String>;
    /// Whether its entries take rule numbers (a network ACL's do).
    fn numbered(&self) -> bool;
    fn read(&self, runtime: &tokio::runtime::Runtime) -> Result<Live, String>;
    fn apply(&self, runtime: &tokio::runtime::Runtime, change: &Change) -> Applied;
}

/// The targets of `--block`, connected, and the run's blocking settings.
pub struct Blocker {
    runtime: tokio::runtime::Runtime,
    targets: Vec<Box<dyn Target>>,
    spec: BlockSpec,
}

/// What a run's blocking did (or, in a dry run, would do), for the alert and the exit status.
#[derive(Debug, Default)]
pub struct Response {
    /// One line per change, refusal and failure, as printed.
    pub lines: Vec<String>,
    /// Targets that failed: the run exits 2.
    pub errors: usize,
    /// Whether a block was (or in a dry run, would be) added or lifted, or a target failed:
    /// only then do the lines go in an alert; refusals and warnings alone are said on stderr.
    pub changed: bool,
}

impl Response {
    /// The lines for the alert, or `None` when there is nothing to say.
    pub fn for_alert(&self) -> Option<String> {
        if self.lines.is_empty() || !self.changed {
            return None;
        }
        let mut text = String::from("Blocking (--block):\n");
        for line in self.lines.iter().take(LINES_IN_ALERT) {
            text.push_str("- ");
            text.push_str(&for_terminal(line));
            text.push('\n');
        }
        if self.lines.len() > LINES_IN_ALERT {
            text.push_str(&format!("and {} more\n", self.lines.len() - LINES_IN_ALERT));
        }
        Some(text)
    }

    /// Prints `line` and keeps it for the alert. A stderr that cannot be written is no
    /// reason to stop: the targets have changed, and the state must still say so.
    fn say(&mut self, line: String) {
        let _ = writeln!(
            std::io::stderr().lock(),
            "trailscan: {}",
            for_terminal(&line)
        );
        self.lines.push(line);
    }
}

impl Blocker {
    /// Clients for each target of `spec`, in the target's region.
    pub fn connect(spec: BlockSpec, connection: &Connection) -> Result<Blocker, RuntimeError> {
        let runtime = aws::runtime("trailscan-block")?;
        let mut targets: Vec<Box<dyn Target>> = Vec::new();
        for target in &spec.targets {
            let typed = target.key();
            match target {
                TargetSpec::Nacl { id, region } => {
                    let connection = Connection {
                        region: region.clone(),
                        ..connection.clone()
                    };
                    let shared = runtime.block_on(aws::load(&connection));
                    // One ACL, however typed, is one set of records: keyed with its region.
                    let resolved =
                        (region.clone()).or_else(|| shared.region().map(|r| r.as_ref().to_owned()));
                    let key = TargetSpec::Nacl {
                        id: id.clone(),
                        region: resolved,
                    }
                    .key();
                    if targets.iter().any(|t| t.key() == key) {
                        continue;
                    }
                    let legacy = TargetSpec::Nacl {
                        id: id.clone(),
                        region: None,
                    }
                    .key();
                    targets.push(Box::new(nacl::NetworkAcl {
                        aliases: Vec::from_iter((legacy != key).then_some(legacy)),
                        key,
                        name: typed,
                        id: id.clone(),
                        rules: spec.rules.clone(),
                        client: aws_sdk_ec2::Client::new(&shared),
                        connection,
                    }));
                }
                TargetSpec::Wafv2 {
                    name,
                    id,
                    cloudfront,
                    region,
                    ..
                } => {
                    let connection = Connection {
                        region: Some(region.clone()),
                        ..connection.clone()
                    };
                    let shared = runtime.block_on(aws::load(&connection));
                    targets.push(Box::new(wafv2::IpSet {
                        key: typed,
                        name: name.clone(),
                        id: id.clone(),
                        cloudfront: *cloudfront,
                        client: aws_sdk_wafv2::Client::new(&shared),
                        connection,
                    }));
                }
            }
        }
        Ok(Blocker {
            runtime,
            targets,
            spec,
        })
    }

    /// Blocks `candidates` (the busiest first) in every target and lifts expired blocks;
    /// `protected`: the known networks, never blocked. Without `dry_run` the state's records
    /// are updated and written right after each target changed (a real run always has a
    /// state: the configuration makes sure of it), before anything else can fail.
    pub fn respond(
        &self,
        candidates: &[Candidate],
        protected: Option<&Networks>,
        mut state: Option<&mut State>,
        dry_run: bool,
        now: DateTime<Utc>,
    ) -> Result<Response, StateError> {
        let mut response = Response::default();
        let mut flagged: BTreeMap<String, &Candidate> = BTreeMap::new();
        for candidate in candidates {
            let network = host_network(candidate.address);
            if flagged.contains_key(&network) {
                continue;
            }
            match self.refusal(candidate.address, protected) {
                Some(why) => response.say(format!("warning: {network} not blocked: {why}")),
                None => {
                    flagged.insert(network, candidate);
                }
            }
        }
        let lives: Vec<Result<Live, String>> = (self.targets.iter())
            .map(|t| t.read(&self.runtime))
            .collect();
        let records: Vec<TargetBlocks> = (self.targets.iter())
            .map(|t| {
                let Some(state) = state.as_ref() else {
                    return TargetBlocks::new();
                };
                let mut records = TargetBlocks::new();
                for alias in t.aliases() {
                    records.extend(state.blocks(&alias));
                }
                records.extend(state.blocks(t.key()));
                records
            })
            .collect();

        // The cap counts addresses that some target does not block yet; retries of earlier
        // runs were counted then.
        let mut admitted: Vec<&Candidate> = Vec::new();
        let mut capped: Vec<String> = Vec::new();
        for candidate in candidates {
            let network = host_network(candidate.address);
            if !flagged.contains_key(&network)
                || admitted.iter().any(|a| a.address == candidate.address)
            {
                continue;
            }
            let needed = (lives.iter().zip(&records)).any(|(live, records)| {
                if records.contains_key(&network) {
                    return false;
                }
                match live {
                    Ok(live) => {
                        live.takes(candidate.address) && live.covering(candidate.address).is_none()
                    }
                    Err(_) => true,
                }
            });
            if !needed {
                continue;
            }
            if admitted.len() < self.spec.max_blocks {
                admitted.push(candidate);
            } else if !capped.contains(&network) {
                capped.push(network);
            }
        }

        for ((target, live), records) in self.targets.iter().zip(lives).zip(records) {
            let records = self.respond_in(
                target.as_ref(),
                live,
                records,
                &admitted,
                &flagged,
                protected,
                dry_run,
                now,
                &mut response,
            );
            if let Some(state) = state.as_deref_mut().filter(|_| !dry_run) {
                for alias in target.aliases() {
                    state.set_blocks(&alias, TargetBlocks::new());
                }
                state.set_blocks(target.key(), records);
                state.checkpoint()?;
            }
        }
        if !capped.is_empty() {
            response.say(format!(
                "warning: --max-blocks {} reached: {} more flagged addresses not blocked ({}); raise --max-blocks to block them",
                self.spec.max_blocks,
                capped.len(),
                capped.join(", ")
            ));
        }
        Ok(response)
    }

    /// Why `address` may not be blocked, if it may not.
    fn refusal(&self, address: IpAddr, protected: Option<&Networks>) -> Option<&'static str> {
        if protected.is_some_and(|p| p.contains(address)) {
            Some("it is in the known networks (--known-cidrs, known_cidrs)")
        } else if !self.spec.private && is_private_or_reserved(address) {
            Some("a private or reserved address (--block-private blocks those too)")
        } else {
            None
        }
    }

    /// One target: plan, change (unless a dry run), say what happened; its records after.
    #[allow(clippy::too_many_arguments)]
    fn respond_in(
        &self,
        target: &dyn Target,
        live: Result<Live, String>,
        mut records: TargetBlocks,
        admitted: &[&Candidate],
        flagged: &BTreeMap<String, &Candidate>,
        protected: Option<&Networks>,
        dry_run: bool,
        now: DateTime<Utc>,
        response: &mut Response,
    ) -> TargetBlocks {
        let key = target.name();
        let expires = self.spec.block_for.map(|span| stamp(&(now + span)));
        let record = |candidate: &Candidate| BlockRecord {
            added: None,
            expires: expires.clone(),
            rule: None,
            reasons: candidate.reasons.clone(),
            flagged: stamp(&now),
        };
        // Still flagged: the block goes on from now.
        for (network, record) in records.iter_mut() {
            if record.added.is_some()
                && flagged.contains_key(network)
                && let Some(expires) = &expires
                && record.expires.as_ref().is_some_and(|old| old < expires)
            {
                record.expires = Some(expires.clone());
            }
        }
        let live = match live {
            Ok(live) => live,
            Err(reason) => {
                for candidate in admitted {
                    let network = host_network(candidate.address);
                    records.entry(network).or_insert_with(|| record(candidate));
                }
                response.errors += 1;
                response.changed = true;
                response.say(format!(
                    "{key}: {reason}; nothing changed there{}",
                    kept_for_later(&records)
                ));
                return records;
            }
        };

        // An addition whose answer was lost (the call went through, the reply did not) is
        // there: it is trailscan's, and expires as any other.
        let range = self.spec.rules.as_ref().filter(|_| target.numbered());
        for (network, record) in records.iter_mut().filter(|(_, r)| r.added.is_none()) {
            if let Some(entry) = live.exact(network, range) {
                record.added = Some(stamp(&now));
                record.rule = entry.rule;
                response.say(format!(
                    "{network} is in {key}{} already (added by an earlier run whose answer was lost): recorded as blocked",
                    entry.rule.map(|r| format!(" at rule {r}")).unwrap_or_default()
                ));
            }
        }

        let mut change = Change::default();
        let mut used = live.rules();
        let mut forgotten: Vec<(String, String)> = Vec::new();
        for (network, record) in &records {
            let Some(address) = plan::host(network) else {
                continue;
            };
            match &record.added {
                Some(_) if !live.holds(network, record.rule) => forgotten.push((
                    network.clone(),
                    format!("{network} is no longer blocked in {key} (removed or changed outside trailscan): forgotten"),
                )),
                Some(_) => {
                    let expired = record.expires_at().is_some_and(|t| t <= now);
                    if expired && !flagged.contains_key(network) {
                        change.remove.push(Removal {
                            network: network.clone(),
                            rule: record.rule,
                        });
                        // Removals go first: their numbers are free for this run's additions.
                        if let Some(rule) = record.rule {
                            used.remove(&rule);
                        }
                    }
                }
                None => {
                    let why = if record.expires_at().is_some_and(|t| t <= now) {
                        Some("expired before it could be added".to_owned())
                    } else if !live.takes(address) {
                        Some(format!("{key} does not take this address family"))
                    } else if let Some(entry) = live.covering(address) {
                        Some(format!("already denied by {}", entry.network))
                    } else {
                        self.refusal(address, protected).map(str::to_owned)
                    };
                    match why {
                        Some(why) => forgotten.push((network.clone(), format!("{network}: not added to {key}: {why}"))),
                        None => change.add.push(Addition {
                            network: network.clone(),
                            address,
                            rule: None,
                        }),
                    }
                }
            }
        }
        for (network, line) in forgotten {
            records.remove(&network);
            response.say(format!("warning: {line}"));
        }
        for candidate in admitted {
            let network = host_network(candidate.address);
            if records.contains_key(&network)
                || !live.takes(candidate.address)
                || live.covering(candidate.address).is_some()
            {
                continue;
            }
            records.insert(network.clone(), record(candidate));
            change.add.push(Addition {
                network,
                address: candidate.address,
                rule: None,
            });
        }
        if target.numbered() {
            for add in &mut change.add {
                // The configuration refuses a network ACL without a range.
                add.rule =
                    (self.spec.rules.as_ref()).and_then(|range| plan::free_rule(range, &used));
                used.extend(add.rule);
            }
            if let Some((add, entry)) = (change.add.iter())
                .filter_map(|a| Some((a, live.allowed_before(a.address, a.rule?)?)))
                .next()
            {
                response.say(format!(
                    "warning: {key}: rule {} allows {} before trailscan's rule {}: the DENY entries have no effect; reserve a --rule-range below {}",
                    entry.rule.unwrap_or_default(),
                    entry.network,
                    add.rule.unwrap_or_default(),
                    entry.rule.unwrap_or_default()
                ));
            }
        }

        let applied = match dry_run {
            true => Applied {
                added: change
                    .add
                    .iter()
                    .filter(|a| a.rule.is_some() || !target.numbered())
                    .map(|a| a.network.clone())
                    .collect(),
                removed: change.remove.iter().map(|r| r.network.clone()).collect(),
                warnings: Vec::new(),
                error: None,
            },
            false => target.apply(&self.runtime, &change),
        };
        response.changed |=
            !applied.added.is_empty() || !applied.removed.is_empty() || applied.error.is_some();
        let would = if dry_run { "dry run: would " } else { "" };
        let at = |rule: Option<i32>| rule.map(|r| format!(" (rule {r})")).unwrap_or_default();
        for removal in &change.remove {
            if !applied.removed.contains(&removal.network) {
                continue;
            }
            let expired = (records.get(&removal.network))
                .and_then(|r| r.expires.clone())
                .unwrap_or_default();
            response.say(format!(
                "{would}unblock {} in {key}{}: expired {expired}",
                removal.network,
                at(removal.rule)
            ));
            records.remove(&removal.network);
        }
        let mut full = Vec::new();
        for add in &change.add {
            let Some(record) = records.get_mut(&add.network) else {
                continue;
            };
            if !applied.added.contains(&add.network) {
                if target.numbered() && add.rule.is_none() {
                    full.push(add.network.clone());
                }
                continue;
            }
            record.added = Some(stamp(&now));
            record.rule = add.rule;
            let until = match &record.expires {
                Some(expires) => format!(" until {expires}"),
                None => " until removed by hand".to_owned(),
            };
            response.say(format!(
                "{would}block {} in {key}{}{until}: {}",
                add.network,
                at(add.rule),
                record.reasons
            ));
        }
        for warning in &applied.warnings {
            response.say(format!("warning: {key}: {warning}"));
        }
        if !full.is_empty() {
            response.errors += 1;
            response.changed = true;
            let (from, to) = (self.spec.rules.as_ref()).map_or((0, 0), |r| (*r.start(), *r.end()));
            response.say(format!(
                "{key}: no free rule number in --rule-range {from}-{to} for {}: widen the range or shorten --block-for (kept for the next run)",
                full.join(", ")
            ));
        }
        if let Some(error) = &applied.error {
            response.errors += 1;
            response.say(format!("{key}: {error}{}", kept_for_later(&records)));
        }
        if dry_run && change.add.is_empty() && change.remove.is_empty() {
            response.say(format!("dry run: nothing to block or unblock in {key}"));
        }
        // A dry run records nothing: what it planned is thrown away.
        records
    }
}

/// `; kept for the next run: 203.0.113.5/32, …`: the additions still to make, when any.
fn kept_for_later(records: &TargetBlocks) -> String {
    const SHOWN: usize = 5;
    let pending: Vec<&str> = (records.iter())
        .filter(|(_, r)| r.added.is_none())
        .map(|(network, _)| network.as_str())
        .collect();
    match pending.len() {
        0 => String::new(),
        n if n <= SHOWN => format!(" (kept for the next run: {})", pending.join(", ")),
        n => format!(
            " (kept for the next run: {} and {} more)",
            pending[..SHOWN].join(", "),
            n - SHOWN
        ),
    }
}

/// One line for an SDK error: what is missing, refused or unreachable, and what to do.
fn describe<E>(
    service: &str,
    object: &str,
    error: &SdkError<E, aws_sdk_ec2::config::http::HttpResponse>,
    connection: &Connection,
    permissions: &str,
) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match error {
        SdkError::ServiceError(_) => match error.code().unwrap_or_default() {
            code if code.contains("NotFound") || code.contains("Nonexistent") => {
                format!("{object} does not exist: check --block")
            }
            "UnauthorizedOperation"
            | "AccessDenied"
            | "AccessDeniedException"
            | "WAFAccessDeniedException" => {
                format!("not allowed to change {object}: needs {permissions}")
            }
            "AuthFailure" | "InvalidClientTokenId" | "SignatureDoesNotMatch" | "ExpiredToken" => {
                "the AWS credentials were refused: refresh them (aws sso login, or new keys)"
                    .to_owned()
            }
            "" => format!(
                "{service} answered HTTP {} about {object} without saying why",
                error.raw_response().map_or(0, |r| r.status().as_u16())
            ),
            code => match error.message() {
                Some(message) => format!("{object}: {service} error {code}: {message}"),
                None => format!("{object}: {service} error {code}"),
            },
        },
        _ if aws::lacks_credentials(error) => aws::NO_CREDENTIALS.to_owned(),
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => format!(
            "cannot reach {service} for {object} ({}): {}",
            aws::endpoint_hint(connection),
            aws::innermost_cause(error)
        ),
        _ => DisplayErrorContext(error)
            .to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned(),
    }
}
