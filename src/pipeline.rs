//! A scan from end to end: list → scan → finish → block → only new → notify → print → commit.

use std::collections::BTreeSet;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::Path;

use anyhow::Context;
use chrono::TimeDelta;

use crate::config::Config;
use crate::exit::Exit;
use crate::job::Job;
use crate::notify::{self, Notifier, SendError};
use crate::output::html::Counted;
use crate::output::sanitize::for_terminal;
use crate::output::{Report, Scope};
use crate::query::QuerySet;
use crate::record::format_time;
use crate::respond::Candidate;
use crate::results::{self, ResultSet, Summary};
use crate::scan::{self, ScanOutcome};
use crate::source::{Filter, Listing, Sources};
use crate::state::State;

pub fn run(config: &Config, job: &Job) -> anyhow::Result<Exit> {
    run_over(config, job, &config.open_sources(), Sources::list)
}

/// A scan of the objects `list` gives from `sources` for the run's filter: the listing,
/// or for `verify --then-audit` the log files that verified.
pub fn run_over(
    config: &Config,
    job: &Job,
    sources: &Sources,
    list: impl FnOnce(&Sources, &Filter) -> Listing,
) -> anyhow::Result<Exit> {
    let started = config.now;
    let mut state = config.state()?;
    let notifier = config.notifier(job)?;
    let blocker = config.blocker()?;

    let mut filter = config.filter.clone();
    if filter.window.since.is_none() {
        filter.listing_since = state.as_ref().and_then(State::earliest_needed);
    }
    let mut listing = list(sources, &filter);
    let nothing_listed = listing.objects.is_empty()
        && listing.skipped_digest + listing.skipped_insight + listing.pruned == 0;
    if nothing_listed && !listing.errors.is_empty() {
        // Every source failed: the errors say it all, an empty report would only hide them.
        for error in &listing.errors {
            say(&error.to_string())?;
        }
        return Ok(Exit::Error);
    }
    note_listing(config, &mut listing);
    let listed = listing.objects.len();
    if let Some(state) = &state {
        listing.objects.retain(|object| state.wants(object));
    }
    let already_read = (listed - listing.objects.len()) as u64;

    let queries = job.scanned();
    let scan_with = |queries: &QuerySet| {
        config.in_pool(|| {
            scan::scan(
                sources,
                &listing.objects,
                queries,
                &filter,
                config.max_object_bytes,
                config.show_progress,
            )
        })
    };
    let mut outcome = scan_with(&queries)?;
    // An analysis that follows what the first pass found (`trace`) reads the objects again.
    while let Some(more) = job.next_pass(&outcome.results, config.catalog()?)? {
        let pass = scan_with(&more)?;
        let at = job.pass_results_at(outcome.results.len());
        outcome.add_pass(pass, at);
    }
    report_problems(&listing, &outcome)?;
    // In cron, a source with nothing in it is a mistake to fix, not a quiet day.
    let empty_source = config.is_cron() && !listing.empty.is_empty();

    // An analysis reads its inputs whole: rows that could not be read back would make
    // findings of part of them.
    let scanned = outcome.results.clone();
    let (results, counted) = job.finish(outcome.results);
    results::read_back(&scanned)?;
    let mut failed_queries = 0;
    for result in scanned.iter().filter(|r| r.failed > 0) {
        failed_queries += 1;
        say(&format!(
            "{}: {} integer operations failed (division by zero or overflow), which Athena refuses: those values are NULL",
            result.meta.name, result.failed
        ))?;
    }
    // `--block` takes every address flagged in this run, not only the new findings: one whose
    // block failed last time is alerted already, and its retry must not wait for news.
    let blocked = match (&blocker, job.blockable(&results)) {
        (Some(blocker), Some(blockable)) => {
            let candidates: Vec<Candidate> = (blockable.flagged.into_iter())
                .map(|(address, reasons)| Candidate { address, reasons })
                .collect();
            let response = blocker.respond(
                &candidates,
                blockable.known.as_ref(),
                state.as_mut(),
                config.dry_run(),
                started,
            )?;
            // The state was written as each target changed, before anything below can fail.
            Some((blockable.finding, response))
        }
        _ => None,
    };
    // With a state, only what it has not seen is reported, alerted and counted as findings.
    let (results, already_reported) = match &state {
        Some(state) => state.only_new(results),
        None => (results, 0),
    };
    results::read_back(&results)?;
    let blocking = (blocked.as_ref())
        .and_then(|(finding, response)| Some((finding.as_str(), response.for_alert()?)));
    let alerts = notify_all(
        config,
        job,
        notifier.as_deref(),
        &results,
        state.is_some(),
        blocking,
    )?;

    let errors = listing.errors.len()
        + outcome.errors.len()
        + failed_queries
        + usize::from(empty_source)
        + usize::from(outcome.abandoned > 0)
        + blocked.as_ref().map_or(0, |(_, response)| response.errors);
    let summary = Summary {
        stats: outcome.stats,
        skipped_digest: listing.skipped_digest,
        skipped_insight: listing.skipped_insight,
        pruned: listing.pruned,
        errors,
        warnings: outcome.warnings.len(),
        elapsed: outcome.elapsed,
        transfer: sources.transfer(),
        already_read,
        already_reported,
        alerts_sent: alerts.sent,
        alerts_failed: alerts.failed,
        athena: None,
    };
    let scope = Scope {
        sources: config.sources.clone(),
        since: filter.window.since,
        until: filter.window.until,
        accounts: filter.accounts.clone(),
        regions: filter.regions.clone(),
    };
    let report = Report {
        results: &results,
        summary: &summary,
        mode: job.mode(),
        scope: &scope,
        dashboard: (job.dashboard.as_ref()).map(|dashboard| Counted {
            dashboard,
            results: &counted,
        }),
    };
    print_report(config, job, &report)?;
    results::read_back(&results)?;

    if let Some(state) = state.as_mut().filter(|_| !config.dry_run()) {
        state.mark_alerted(&alerts.delivered, started);
        // Objects advance only once every alert about them went out: a failed publish
        // leaves them to be read, and alerted, again next time.
        if alerts.failed == 0 {
            let unread: BTreeSet<usize> = outcome.unread.iter().copied().collect();
            let (read, failed): (Vec<_>, Vec<_>) =
                (listing.objects.iter().enumerate()).partition(|(i, _)| !unread.contains(i));
            // A listing that failed somewhere may have missed objects: nothing moves past them.
            state.advance(
                read.into_iter().map(|(_, o)| o),
                failed.into_iter().map(|(_, o)| o),
                listing.errors.is_empty(),
            );
        }
        for given_up in state.save(started)? {
            say(&format!(
                "warning: {given_up}: could not be read for a week: no longer retried"
            ))?;
        }
    }

    let findings = job.finds()
        && (results.iter()).any(|r| !r.rows.is_empty() && r.meta.severity >= config.fail_on);
    Ok(if errors > 0 || alerts.failed > 0 {
        Exit::Error
    } else if findings {
        Exit::Findings
    } else {
        Exit::Clean
    })
}

/// The end of a run whose rows were computed elsewhere (`athena run`): only what the state
/// has not seen is reported and alerted, then printed, then the state saved, as a scan's.
/// `summary.errors` counts what failed on the way (said already); `state` and `notifier`
/// were made before the rows were asked for, so that a bad one stops the run first.
pub fn deliver(
    config: &Config,
    job: &Job,
    results: Vec<ResultSet>,
    mut summary: Summary,
    scope: Scope,
    mut state: Option<State>,
    notifier: Option<Box<dyn Notifier>>,
) -> anyhow::Result<Exit> {
    let started = config.now;
    let (results, already_reported) = match &state {
        Some(state) => state.only_new(results),
        None => (results, 0),
    };
    let alerts = notify_all(
        config,
        job,
        notifier.as_deref(),
        &results,
        state.is_some(),
        None,
    )?;
    summary.already_reported = already_reported;
    summary.alerts_sent = alerts.sent;
    summary.alerts_failed = alerts.failed;
    let report = Report {
        results: &results,
        summary: &summary,
        mode: job.mode(),
        scope: &scope,
        dashboard: None,
    };
    print_report(config, job, &report)?;
    if let Some(state) = state.as_mut().filter(|_| !config.dry_run()) {
        state.mark_alerted(&alerts.delivered, started);
        state.save(started)?;
    }
    let findings = job.finds()
        && (results.iter()).any(|r| !r.rows.is_empty() && r.meta.severity >= config.fail_on);
    Ok(if summary.errors > 0 || alerts.failed > 0 {
        Exit::Error
    } else if findings {
        Exit::Findings
    } else {
        Exit::Clean
    })
}

/// Prints the report on stdout, or into `--output`: written beside the file and renamed over
/// it once whole, so that a run that fails half-way leaves the last report as it was.
fn print_report(config: &Config, job: &Job, report: &Report<'_>) -> anyhow::Result<()> {
    let Some(path) = &config.output else {
        let stdout = io::stdout();
        let terminal = stdout.is_terminal();
        return Ok(config
            .printer(job, BufWriter::new(stdout.lock()), terminal)
            .print(report)?);
    };
    let cannot = || format!("cannot write --output {}", path.display());
    let folder = (path.parent())
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut builder = tempfile::Builder::new();
    builder.prefix(".trailscan-").suffix(".part");
    // Made as any new file is (the umask applies), not private as temporary files are.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut file = builder.tempfile_in(folder).with_context(cannot)?;
    config
        .printer(job, BufWriter::new(file.as_file_mut()), false)
        .print(report)
        .with_context(cannot)?;
    file.as_file().sync_all().with_context(cannot)?;
    file.persist(path)
        .map_err(|e| e.error)
        .with_context(cannot)?;
    Ok(())
}

/// Adds to the listing's warnings what its objects say of themselves: sources with nothing
/// in them, and names that claim a delivery in the future.
fn note_listing(config: &Config, listing: &mut Listing) {
    for source in &listing.empty {
        listing.warnings.push(format!(
            "{source}: no objects found: check the path or prefix (and --account, --region)"
        ));
    }
    let future = config.now + FUTURE;
    for object in &listing.objects {
        if let Some(delivered) = object.layout.as_ref().and_then(|l| l.delivered)
            && delivered > future
        {
            listing.warnings.push(format!(
                "{}: its name says it was delivered {}, in the future: that time is not trusted",
                object.name,
                format_time(&delivered)
            ));
        }
    }
}

/// How far past the run's clock a time is taken for a mistake or a forgery.
const FUTURE: TimeDelta = TimeDelta::days(1);

/// One line on stderr, after `trailscan: `: object names and reasons come from logs and
/// keys, which anyone who can write to the bucket chooses, so they are shown inert.
fn say(line: &str) -> io::Result<()> {
    writeln!(io::stderr().lock(), "trailscan: {}", for_terminal(line))
}

/// Listing errors and warnings, then each object's warnings and errors, one line each.
fn report_problems(listing: &Listing, outcome: &ScanOutcome) -> io::Result<()> {
    for error in &listing.errors {
        say(&error.to_string())?;
    }
    for warning in &listing.warnings {
        say(&format!("warning: {warning}"))?;
    }
    for warning in &outcome.warnings {
        say(&format!("warning: {}: {}", warning.object, warning.reason))?;
    }
    for error in &outcome.errors {
        say(&format!("{}: {}", error.object, error.reason))?;
    }
    if outcome.abandoned > 0 {
        say(&format!(
            "{} more objects not read: their source stopped answering (the errors above say how); a later run reads them",
            outcome.abandoned
        ))?;
    }
    Ok(())
}

/// What the alerts of a run came to.
struct Alerts {
    sent: usize,
    failed: usize,
    /// Fingerprints the state will remember as alerted (or not worth alerting).
    delivered: Vec<String>,
}

/// One message per result with findings at or above `--fail-on`; the fingerprints of what
/// needs no message, or went out, are remembered when there is a state (`tracked`). What
/// `--block` did (`blocking`: the finding it acted on, and its lines) goes at the end of that
/// finding's message, or in a message of its own when the finding has nothing new.
fn notify_all(
    config: &Config,
    job: &Job,
    notifier: Option<&dyn Notifier>,
    results: &[ResultSet],
    tracked: bool,
    mut blocking: Option<(&str, String)>,
) -> io::Result<Alerts> {
    let mut alerts = Alerts {
        sent: 0,
        failed: 0,
        delivered: Vec::new(),
    };
    let fingerprints = |result: &ResultSet| match tracked {
        true => State::fingerprints(result),
        false => Vec::new(),
    };
    for result in results {
        let alerted =
            job.finds() && !result.rows.is_empty() && result.meta.severity >= config.fail_on;
        let Some(notifier) = notifier.filter(|_| alerted) else {
            alerts.delivered.extend(fingerprints(result));
            continue;
        };
        let mut message = notify::compose(result);
        if let Some((_, text)) = blocking.take_if(|(finding, _)| *finding == result.meta.name) {
            message.body.push('\n');
            message.body.push_str(&text);
        }
        // Never a message made of part of the rows.
        results::read_back(std::slice::from_ref(result))?;
        if send_one(notifier, &message, &mut alerts)? {
            alerts.delivered.extend(fingerprints(result));
        }
    }
    // Blocks were added or lifted while their finding had nothing new: a message of their own.
    if let (Some((finding, text)), Some(notifier)) = (blocking, notifier)
        && let Some(result) = results.iter().find(|r| r.meta.name == finding)
    {
        send_one(notifier, &notify::blocking(result, &text), &mut alerts)?;
    }
    Ok(alerts)
}

/// Sends one message, counting it; whether it was delivered.
fn send_one(
    notifier: &dyn Notifier,
    message: &notify::Message,
    alerts: &mut Alerts,
) -> io::Result<bool> {
    match notifier.send(message) {
        Ok(true) => {
            alerts.sent += 1;
            Ok(true)
        }
        Ok(false) => Ok(false),
        Err(SendError::Print(e)) => Err(e),
        Err(reason) => {
            alerts.failed += 1;
            say(&format!(
                "alert for {} not sent to {}: {reason}",
                message.query,
                notifier.target()
            ))?;
            Ok(false)
        }
    }
}
