//! The statement sent to Athena: the query file as written, behind a `cloudtrail_logs` CTE that prunes partitions.
//!
//! The query reads `cloudtrail_logs`, as in every file. The CTE of that name selects the
//! documented table's columns from the user's partitioned table, keeping only the days,
//! accounts and regions asked for: Athena then reads only those partitions (and bills for
//! them), and the query text itself is the file's, unchanged.

use chrono::{DateTime, TimeDelta, Utc};

use super::{ACCOUNT, DAY, REGION};
use crate::cli::SuppressSettings;
pub use crate::config::AthenaScope as Scope;
use crate::lang::sql::{quote, table};
use crate::record::format_time;
#[cfg(test)]
use crate::source::TimeWindow;

/// The SQL of a query file without its header of `--` lines (and a final `;`): the text
/// Athena runs, as the file has it.
pub fn body(text: &str) -> &str {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        if !trimmed.is_empty() && !trimmed.starts_with("--") {
            return text[offset..].trim_end().trim_end_matches(';').trim_end();
        }
        offset += line.len();
    }
    ""
}

/// `WITH cloudtrail_logs AS (…) <the query>`: what Athena is sent for one query, with the
/// query's suppressions (`[suppress.NAME]`) left out in the CTE too.
pub fn statement(query: &str, scope: &Scope, suppress: Option<&SuppressSettings>) -> String {
    let columns: Vec<&str> = table::COLUMNS.iter().map(|(name, _)| *name).collect();
    let from = match &scope.database {
        Some(database) => format!("{database}.{}", scope.table),
        None => scope.table.clone(),
    };
    let mut conditions = partitions(scope);
    conditions.extend(
        suppress
            .and_then(suppressed)
            .map(|s| format!("NOT coalesce({s}, false)")),
    );
    let filter = match conditions.is_empty() {
        true => String::new(),
        false => format!("\n    WHERE {}", conditions.join("\n      AND ")),
    };
    format!(
        "WITH cloudtrail_logs AS (\n    SELECT {}\n    FROM {from}{filter}\n)\n{}",
        columns.join(", "),
        body(query)
    )
}

/// The conditions on the partitions (one day of slack either side, for files delivered
/// late or across midnight), then on `eventtime` exactly, as a local scan prunes.
fn partitions(scope: &Scope) -> Vec<String> {
    let mut conditions = Vec::new();
    let day = |t: DateTime<Utc>| format!("'{}'", t.format("%Y/%m/%d"));
    let slack = TimeDelta::days(1);
    match (scope.window.since, scope.window.last_day()) {
        (Some(since), Some(last)) => conditions.push(format!(
            "\"{DAY}\" BETWEEN {} AND '{}'",
            day(since - slack),
            (last + slack).format("%Y/%m/%d")
        )),
        (Some(since), None) => conditions.push(format!("\"{DAY}\" >= {}", day(since - slack))),
        (None, Some(last)) => conditions.push(format!(
            "\"{DAY}\" <= '{}'",
            (last + slack).format("%Y/%m/%d")
        )),
        (None, None) => {}
    }
    if !scope.accounts.is_empty() {
        conditions.push(format!("{ACCOUNT} IN ({})", quoted(&scope.accounts)));
    }
    if !scope.regions.is_empty() {
        conditions.push(format!("{REGION} IN ({})", quoted(&scope.regions)));
    }
    // A time Athena cannot read is NULL under try(), and left out, as a local scan drops it.
    let time = "try(from_iso8601_timestamp(eventtime))";
    if let Some(since) = scope.window.since {
        conditions.push(format!(
            "{time} >= from_iso8601_timestamp('{}')",
            in_millis(since, false)
        ));
    }
    if let Some(until) = scope.window.until {
        conditions.push(format!(
            "{time} < from_iso8601_timestamp('{}')",
            in_millis(until, true)
        ));
    }
    conditions
}

/// A time in RFC 3339 to the millisecond at most, as Athena's timestamps go (`--since 7d`
/// counts back from a clock with nanoseconds): rounded down, or up with `up`, so that the
/// window keeps every event a local scan keeps (CloudTrail's times are whole seconds).
fn in_millis(time: DateTime<Utc>, up: bool) -> String {
    let millis = time.timestamp_millis()
        + i64::from(up && !time.timestamp_subsec_nanos().is_multiple_of(1_000_000));
    DateTime::from_timestamp_millis(millis).map_or_else(|| format_time(&time), |t| format_time(&t))
}

/// What a `[suppress.NAME]` table leaves out, as one condition over the table's columns:
/// TRUE for a record it matches, as the local engine's `Suppression::matches` says.
fn suppressed(settings: &SuppressSettings) -> Option<String> {
    let mut any = Vec::new();
    if !settings.event_names.is_empty() {
        any.push(format!("eventname IN ({})", quoted(&settings.event_names)));
    }
    for glob in &settings.principals {
        let mut like = String::new();
        for c in glob.chars() {
            match c {
                '*' => like.push('%'),
                '%' | '_' | '\\' => {
                    like.push('\\');
                    like.push(c);
                }
                c => like.push(c),
            }
        }
        any.push(format!(
            "useridentity.arn LIKE {} ESCAPE '\\'",
            quote(&like)
        ));
    }
    for cidr in &settings.source_cidrs {
        let network = match cidr.contains('/') {
            true => cidr.trim().to_owned(),
            false if cidr.contains(':') => format!("{}/128", cidr.trim()),
            false => format!("{}/32", cidr.trim()),
        };
        any.push(format!(
            "try(contains({}, CAST(trim(sourceipaddress) AS IPADDRESS)))",
            quote(&network)
        ));
    }
    (!any.is_empty()).then(|| format!("({})", any.join(" OR ")))
}

fn quoted(values: &[String]) -> String {
    values
        .iter()
        .map(|v| quote(v))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "-- name: x\n-- title: X\n--   more\n\nSELECT eventTime\nFROM cloudtrail_logs -- the table\nWHERE eventName = 'A';\n";

    #[test]
    fn the_body_is_the_file_after_its_header() {
        assert_eq!(
            body(FILE),
            "SELECT eventTime\nFROM cloudtrail_logs -- the table\nWHERE eventName = 'A'"
        );
        assert_eq!(body("-- only a header\n"), "");
        assert_eq!(body("SELECT 1"), "SELECT 1");
    }

    #[test]
    fn the_cte_prunes_days_accounts_and_regions_and_keeps_the_query_as_written() {
        let since = DateTime::parse_from_rfc3339("2026-11-20T08:00:00Z")
            .unwrap()
            .to_utc();
        let scope = Scope {
            database: Some("security".into()),
            table: "cloudtrail_logs".into(),
            window: TimeWindow {
                since: Some(since),
                until: Some(since + TimeDelta::hours(30)),
            },
            accounts: vec!["111122223333".into()],
            regions: vec!["us-east-1".into(), "eu-west-1".into()],
        };
        let sent = statement(FILE, &scope, None);
        assert!(
            sent.starts_with(
                "WITH cloudtrail_logs AS (\n    SELECT eventversion, useridentity, eventtime,"
            ),
            "{sent}"
        );
        for expected in [
            "    FROM security.cloudtrail_logs\n    WHERE \"timestamp\" BETWEEN '2026/11/19' AND '2026/11/22'\n",
            "      AND account IN ('111122223333')\n      AND region IN ('us-east-1', 'eu-west-1')\n",
            "      AND try(from_iso8601_timestamp(eventtime)) >= from_iso8601_timestamp('2026-11-20T08:00:00Z')\n",
            "      AND try(from_iso8601_timestamp(eventtime)) < from_iso8601_timestamp('2026-11-21T14:00:00Z')\n)\n",
        ] {
            assert!(sent.contains(expected), "{expected}\n{sent}");
        }
        assert!(sent.ends_with(&format!(")\n{}", body(FILE))), "{sent}");
        let plain = statement(
            FILE,
            &Scope {
                table: "t".into(),
                ..Scope::default()
            },
            None,
        );
        assert!(plain.contains("    FROM t\n)\nSELECT eventTime"), "{plain}");
    }

    #[test]
    fn times_are_written_to_the_millisecond_keeping_the_window_whole() {
        let t = DateTime::parse_from_rfc3339("2026-11-26T07:13:29.376444174Z")
            .unwrap()
            .to_utc();
        assert_eq!(in_millis(t, false), "2026-11-26T07:13:29.376Z");
        assert_eq!(in_millis(t, true), "2026-11-26T07:13:29.377Z");
        let whole = DateTime::parse_from_rfc3339("2026-11-26T07:13:29Z")
            .unwrap()
            .to_utc();
        assert_eq!(in_millis(whole, true), "2026-11-26T07:13:29Z");
    }

    #[test]
    fn suppressions_leave_out_what_they_match_and_keep_what_they_cannot_tell() {
        let settings = SuppressSettings {
            principals: vec!["arn:aws:sts::*:assumed-role/Config_Role/*".into()],
            source_cidrs: vec!["10.0.0.0/8".into(), "2001:db8::1".into()],
            event_names: vec!["GetObject".into()],
        };
        let sent = statement(
            FILE,
            &Scope {
                table: "t".into(),
                ..Scope::default()
            },
            Some(&settings),
        );
        assert!(
            sent.contains(
                "WHERE NOT coalesce((eventname IN ('GetObject') \
                 OR useridentity.arn LIKE 'arn:aws:sts::%:assumed-role/Config\\_Role/%' ESCAPE '\\' \
                 OR try(contains('10.0.0.0/8', CAST(trim(sourceipaddress) AS IPADDRESS))) \
                 OR try(contains('2001:db8::1/128', CAST(trim(sourceipaddress) AS IPADDRESS)))), false)"
            ),
            "{sent}"
        );
    }
}
