//! The time window (`--since`, `--until`) and the two-stage pruning it drives.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

/// Events at or after `since` and strictly before `until`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeWindow {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

impl TimeWindow {
    pub fn is_bounded(&self) -> bool {
        self.since.is_some() || self.until.is_some()
    }

    pub fn contains(&self, time: DateTime<Utc>) -> bool {
        self.since.is_none_or(|s| time >= s) && self.until.is_none_or(|u| time < u)
    }

    /// Stage one: could an object filed under `date` hold events in the window? Files
    /// are delivered late and cross midnight, so one day of slack is kept either side.
    pub fn may_hold(&self, date: NaiveDate) -> bool {
        let slack = TimeDelta::days(1);
        self.since.is_none_or(|s| date >= s.date_naive() - slack)
            && self.last_day().is_none_or(|last| date <= last + slack)
    }

    /// The last day with events in the window (`until` itself is excluded).
    pub fn last_day(&self) -> Option<NaiveDate> {
        self.until
            .map(|u| (u - TimeDelta::nanoseconds(1)).date_naive())
    }
}

/// A time bound that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    #[error("'{0}' reaches too far back")]
    TooFarBack(String),
    #[error(
        "'{0}' is neither a duration (90m, 24h, 7d, 2w) nor a time (2026-11-20T08:00:00Z, 2026-11-20)"
    )]
    Unreadable(String),
}

/// Parses `90m`, `24h`, `7d`, `2w` (before `now`), an RFC 3339 time, or a `YYYY-MM-DD` date.
pub fn parse_time_bound(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, TimeError> {
    let text = text.trim();
    if let Some(duration) = parse_duration(text) {
        return now
            .checked_sub_signed(duration)
            .ok_or_else(|| TimeError::TooFarBack(text.to_owned()));
    }
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc());
    }
    Err(TimeError::Unreadable(text.to_owned()))
}

/// Parses `90m`, `24h`, `7d`, `2w` (also `30s`).
pub fn parse_duration(text: &str) -> Option<TimeDelta> {
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: i64 = number.parse().ok()?;
    match unit {
        "s" => TimeDelta::try_seconds(n),
        "m" => TimeDelta::try_minutes(n),
        "h" => TimeDelta::try_hours(n),
        "d" => TimeDelta::try_days(n),
        "w" => TimeDelta::try_weeks(n),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn durations_times_and_dates() {
        let now = at("2026-11-21T12:00:00Z");
        assert_eq!(
            parse_time_bound("90m", now).unwrap(),
            at("2026-11-21T10:30:00Z")
        );
        assert_eq!(
            parse_time_bound("24h", now).unwrap(),
            at("2026-11-20T12:00:00Z")
        );
        assert_eq!(
            parse_time_bound("7d", now).unwrap(),
            at("2026-11-14T12:00:00Z")
        );
        assert_eq!(
            parse_time_bound("2026-11-20T08:00:00+02:00", now).unwrap(),
            at("2026-11-20T06:00:00Z")
        );
        assert_eq!(
            parse_time_bound("2026-11-20", now).unwrap(),
            at("2026-11-20T00:00:00Z")
        );
        for bad in ["7x", "d", "yesterday", "", "-5d"] {
            assert!(parse_time_bound(bad, now).is_err(), "{bad}");
        }
    }

    #[test]
    fn path_pruning_keeps_a_day_of_slack() {
        let window = TimeWindow {
            since: Some(at("2026-11-20T00:30:00Z")),
            until: Some(at("2026-11-20T23:00:00Z")),
        };
        let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        assert!(!window.may_hold(day(18)));
        assert!(window.may_hold(day(19)));
        assert!(window.may_hold(day(21)));
        assert!(!window.may_hold(day(22)));
        let to_midnight = TimeWindow {
            until: Some(at("2026-11-21T00:00:00Z")),
            ..window
        };
        assert!(
            to_midnight.may_hold(day(21)),
            "events of the 20th may be filed on the 21st"
        );
        assert!(!to_midnight.may_hold(day(22)));
        assert!(window.contains(at("2026-11-20T00:30:00Z")));
        assert!(!window.contains(at("2026-11-20T23:00:00Z")));
    }
}
