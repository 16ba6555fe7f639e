//! When a failed delivery is tried again: the Standard Webhooks schedule (immediately, then 5 seconds, 5
//! minutes, 30 minutes, 2 hours, 5 hours, 10 hours and 10 hours after each failure), and the receiver's
//! `Retry-After` (seconds or an HTTP date), honoured as a longer wait up to a bound.

use chrono::{DateTime, Utc};
use std::time::Duration;

/// The wait before each attempt: the first is immediate, then one entry per failure; after the last there is
/// no further attempt.
pub const SCHEDULE: [Duration; 8] = [
    Duration::ZERO,
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];

/// When to try again after the `step`th failed attempt of a schedule (1 for the first), if at all: the
/// schedule's next wait, or the receiver's `retry_after` when that is longer (at most `max_retry_after`).
pub fn next_attempt(
    step: usize,
    retry_after: Option<Duration>,
    max_retry_after: Duration,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let scheduled = *SCHEDULE.get(step)?;
    let asked = retry_after.unwrap_or(Duration::ZERO).min(max_retry_after);
    let wait = scheduled.max(asked);
    Some(now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(10)))
}

/// A `Retry-After` value: delay seconds, or an HTTP date (a date in the past is no wait).
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?.to_utc();
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-10T08:00:00Z")
            .unwrap()
            .to_utc()
    }

    #[test]
    fn failures_follow_the_schedule_then_stop() {
        let max = Duration::from_secs(3600);
        assert_eq!(
            next_attempt(1, None, max, now()),
            Some(now() + chrono::Duration::seconds(5))
        );
        assert_eq!(
            next_attempt(2, None, max, now()),
            Some(now() + chrono::Duration::minutes(5))
        );
        assert_eq!(
            next_attempt(7, None, max, now()),
            Some(now() + chrono::Duration::hours(10))
        );
        assert_eq!(next_attempt(8, None, max, now()), None);
    }

    #[test]
    fn retry_after_lengthens_the_wait_up_to_the_bound() {
        let max = Duration::from_secs(600);
        let after = |secs| Some(Duration::from_secs(secs));
        assert_eq!(
            next_attempt(1, after(120), max, now()),
            Some(now() + chrono::Duration::seconds(120))
        );
        assert_eq!(
            next_attempt(1, after(1), max, now()),
            Some(now() + chrono::Duration::seconds(5))
        );
        assert_eq!(
            next_attempt(1, after(999_999), max, now()),
            Some(now() + chrono::Duration::seconds(600))
        );
        assert_eq!(
            next_attempt(3, after(60), max, now()),
            Some(now() + chrono::Duration::minutes(30))
        );
    }

    #[test]
    fn retry_after_takes_seconds_and_http_dates() {
        assert_eq!(parse_retry_after("120", now()), Some(Duration::from_secs(120)));
        assert_eq!(
            parse_retry_after("Thu, 10 Dec 2026 08:01:00 GMT", now()),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse_retry_after("Thu, 10 Dec 2026 07:00:00 GMT", now()),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now()), None);
    }
}
