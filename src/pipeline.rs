//! A scan from end to end: list → scan → finish → only new → notify → print → commit.

use std::collections::BTreeSet;
use std::io::{self, BufWriter, Write};

use chrono::Utc;

use crate::config::Config;
use crate::exit::Exit;
use crate::job::Job;
use crate::notify::{self, Notifier};
use crate::output::Report;
use crate::results::{self, ResultSet, Summary};
use crate::scan::{self, ScanOutcome};
use crate::source::Listing;
use crate::state::State;

pub fn run(config: &Config, job: &Job) -> anyhow::Result<Exit> {
    let started = Utc::now();
    let sources = config.open_sources()?;
    let mut state = config.state()?;
    let notifier = config.notifier(job)?;

    let mut filter = config.filter.clone();
    if filter.window.since.is_none() {
        filter.listing_since = state.as_ref().and_then(State::earliest_needed);
    }
    let mut listing = sources.list(&filter);
    let nothing_listed = listing.objects.is_empty()
        && listing.skipped_digest + listing.skipped_insight + listing.pruned == 0;
    if nothing_listed && !listing.errors.is_empty() {
        // Every source failed: the errors say it all, an empty report would only hide them.
        let mut stderr = io::stderr().lock();
        for error in &listing.errors {
            writeln!(stderr, "trailscan: {error}")?;
        }
        return Ok(Exit::Error);
    }
    let listed = listing.objects.len();
    if let Some(state) = &state {
        listing.objects.retain(|object| state.wants(object));
    }
    let already_read = (listed - listing.objects.len()) as u64;

    let outcome = config.in_pool(|| {
        scan::scan(
            &sources,
            &listing.objects,
            &job.queries,
            &filter,
            config.show_progress,
        )
    })?;
    report_problems(&listing, &outcome)?;

    let results = job.finish(outcome.results);
    // With a state, only what it has not seen is reported, alerted and counted as findings.
    let (results, already_reported) = match &state {
        Some(state) => state.only_new(results),
        None => (results, 0),
    };
    results::read_back(&results)?;
    let alerts = notify_all(config, job, notifier.as_deref(), &results, state.is_some())?;

    let errors = listing.errors.len() + outcome.errors.len();
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
    };
    let report = Report {
        results: &results,
        summary: &summary,
        mode: job.mode(),
    };
    config
        .printer(job, BufWriter::new(io::stdout().lock()))
        .print(&report)?;
    results::read_back(&results)?;

    if let Some(state) = state.as_mut().filter(|_| !config.dry_run()) {
        state.mark_alerted(&alerts.delivered, started);
        // Objects advance only once every alert about them went out: a failed publish
        // leaves them to be read, and alerted, again next time.
        if alerts.failed == 0 {
            let unread: BTreeSet<usize> = outcome.unread.iter().copied().collect();
            let (read, failed): (Vec<_>, Vec<_>) =
                (listing.objects.iter().enumerate()).partition(|(i, _)| !unread.contains(i));
            state.advance(
                read.into_iter().map(|(_, o)| o),
                failed.into_iter().map(|(_, o)| o),
            );
        }
        state.save(started)?;
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

/// Listing errors, then each object's warnings and errors, one line each on stderr.
fn report_problems(listing: &Listing, outcome: &ScanOutcome) -> io::Result<()> {
    let mut stderr = io::stderr().lock();
    for error in &listing.errors {
        writeln!(stderr, "trailscan: {error}")?;
    }
    for warning in &outcome.warnings {
        writeln!(
            stderr,
            "trailscan: warning: {}: {}",
            warning.object, warning.reason
        )?;
    }
    for error in &outcome.errors {
        writeln!(stderr, "trailscan: {}: {}", error.object, error.reason)?;
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
/// needs no message, or went out, are remembered when there is a state (`tracked`).
fn notify_all(
    config: &Config,
    job: &Job,
    notifier: Option<&dyn Notifier>,
    results: &[ResultSet],
    tracked: bool,
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
        match notifier.send(&notify::compose(result)) {
            Ok(true) => {
                alerts.sent += 1;
                alerts.delivered.extend(fingerprints(result));
            }
            Ok(false) => {}
            Err(reason) => {
                alerts.failed += 1;
                writeln!(
                    io::stderr(),
                    "trailscan: alert for {} not sent to {}: {reason}",
                    result.meta.name,
                    notifier.target()
                )?;
            }
        }
    }
    Ok(alerts)
}
