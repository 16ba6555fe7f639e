//! Do not disturb (`docs/api.md`, Notification control): a weekly schedule in the user's IANA time zone plus a
//! manual "until" instant. Pure: [`DoNotDisturb::ends_after`] answers whether an instant falls in do-not-disturb
//! and, if so, when it ends, which is when deferred e-mail and Web Push go out.
//!
//! A window starts on a weekday at a local time and lasts until its end time, the next day when the end is not
//! after the start (`22:00`–`07:00` spans midnight; equal times are a whole day). Local times are placed in the
//! time zone as its rules stand on that date: a start or end that falls in a daylight-saving gap (clocks jump
//! forward over it) is taken at the end of the gap; one that falls in a repeated hour (clocks go back) is taken
//! at its first occurrence for a start and its second for an end, so that a window never ends early.

use chrono::{
    DateTime, Datelike as _, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone as _, Utc, Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// The most windows one schedule may hold.
pub const MAX_WINDOWS: usize = 28;

/// One weekly window of do-not-disturb.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DndWindow {
    /// The weekday it starts on (`mon` … `sun`).
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "mon"))]
    #[serde(with = "weekday")]
    pub day: Weekday,
    /// Local start time, `HH:MM`.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "22:00"))]
    #[serde(with = "hhmm")]
    pub start: NaiveTime,
    /// Local end time, `HH:MM`; not after `start`: the next day.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "07:00"))]
    #[serde(with = "hhmm")]
    pub end: NaiveTime,
}

/// A user's do-not-disturb settings, as the rules need them.
#[derive(Debug, Clone, PartialEq)]
pub struct DoNotDisturb {
    /// Where the schedule's local times are.
    pub time_zone: Tz,
    /// The weekly windows.
    pub windows: Vec<DndWindow>,
    /// Manual do-not-disturb until this instant.
    pub until: Option<DateTime<Utc>>,
}

/// Places a local date and time in `tz`: a time in a gap moves to the end of the gap; a repeated time is its
/// first occurrence (`late = false`) or its second (`late = true`).
fn place(tz: Tz, date: NaiveDate, time: NaiveTime, late: bool) -> DateTime<Utc> {
    let mut local = date.and_time(time);
    // Gaps are at most a few hours; step forward a quarter hour at a time to their end.
    for _ in 0..16 {
        match tz.from_local_datetime(&local) {
            LocalResult::Single(at) => return at.with_timezone(&Utc),
            LocalResult::Ambiguous(early, later) => {
                return if late { later } else { early }.with_timezone(&Utc);
            }
            LocalResult::None => {
                local = local.checked_add_signed(Duration::minutes(15)).unwrap_or(local);
            }
        }
    }
    Utc.from_utc_datetime(&local)
}

impl DndWindow {
    /// The window's occurrence starting on local `date` (which must be its weekday): `[start, end)` in UTC.
    fn occurrence(&self, tz: Tz, date: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
        let start = place(tz, date, self.start, false);
        let end_date = if self.end > self.start {
            date
        } else {
            date.succ_opt().unwrap_or(date)
        };
        let end = place(tz, end_date, self.end, true);
        (start, end)
    }
}

impl DoNotDisturb {
    /// If `at` is in do-not-disturb, the instant it ends (windows that meet or overlap, and the manual
    /// instant, count as one stretch); `None` otherwise.
    pub fn ends_after(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut end = at;
        // Each step moves past one window or the manual instant; a week of windows back to back ends in at most
        // one step per window, and a schedule that covers every hour of the week is capped at a week.
        for _ in 0..=(self.windows.len() * 2 + 2) {
            let next = self.covering(end);
            match next {
                Some(next) if next > end => end = next,
                _ => break,
            }
        }
        let cap = at + Duration::days(7);
        (end > at).then_some(end.min(cap))
    }

    /// The end of the stretch (a window or the manual instant) that covers `at`, the latest of them.
    fn covering(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut end = self.until.filter(|until| *until > at);
        let today = at.with_timezone(&self.time_zone).date_naive();
        // A window that covers `at` started today or yesterday (local), or the day before for one that ends
        // late in a day that a transition made longer.
        for back in 0..3 {
            let Some(date) = today.checked_sub_signed(Duration::days(back)) else {
                continue;
            };
            for window in self.windows.iter().filter(|w| w.day == date.weekday()) {
                let (start, stop) = window.occurrence(self.time_zone, date);
                if start <= at && at < stop {
                    end = Some(end.map_or(stop, |e| e.max(stop)));
                }
            }
        }
        end
    }
}

/// A weekday by its three-letter name (`mon` … `sun`).
pub fn parse_day(text: &str) -> Option<Weekday> {
    weekday::NAMES.iter().find(|(n, _)| *n == text).map(|(_, d)| *d)
}

/// A local time written `HH:MM` (00:00 to 23:59).
pub fn parse_time(text: &str) -> Option<NaiveTime> {
    if text.len() != 5 {
        return None;
    }
    NaiveTime::parse_from_str(text, "%H:%M").ok()
}

mod weekday {
    use chrono::Weekday;
    use serde::{Deserialize as _, Deserializer, Serializer};

    pub(super) const NAMES: [(&str, Weekday); 7] = [
        ("mon", Weekday::Mon),
        ("tue", Weekday::Tue),
        ("wed", Weekday::Wed),
        ("thu", Weekday::Thu),
        ("fri", Weekday::Fri),
        ("sat", Weekday::Sat),
        ("sun", Weekday::Sun),
    ];

    pub(super) fn serialize<S: Serializer>(day: &Weekday, serializer: S) -> Result<S::Ok, S::Error> {
        let name = NAMES.iter().find(|(_, d)| d == day).map_or("mon", |(n, _)| *n);
        serializer.serialize_str(name)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Weekday, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::parse_day(&text)
            .ok_or_else(|| serde::de::Error::custom("expected one of mon, tue, wed, thu, fri, sat, sun"))
    }
}

mod hhmm {
    use chrono::NaiveTime;
    use serde::{Deserialize as _, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(time: &NaiveTime, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&time.format("%H:%M").to_string())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NaiveTime, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::parse_time(&text).ok_or_else(|| serde::de::Error::custom("expected a time HH:MM"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn window(day: Weekday, start: &str, end: &str) -> DndWindow {
        DndWindow {
            day,
            start: NaiveTime::parse_from_str(start, "%H:%M").unwrap(),
            end: NaiveTime::parse_from_str(end, "%H:%M").unwrap(),
        }
    }

    fn dnd(tz: Tz, windows: Vec<DndWindow>) -> DoNotDisturb {
        DoNotDisturb {
            time_zone: tz,
            windows,
            until: None,
        }
    }

    #[test]
    fn a_night_window_spans_midnight_in_the_users_time_zone() {
        // Monday 22:00 to Tuesday 07:00 in Berlin (CET, UTC+1 in January).
        let night = dnd(
            chrono_tz::Europe::Berlin,
            vec![window(Weekday::Mon, "22:00", "07:00")],
        );
        // 2026-01-05 is a Monday.
        assert_eq!(night.ends_after(utc("2026-01-05T20:59:00Z")), None);
        assert_eq!(
            night.ends_after(utc("2026-01-05T21:00:00Z")),
            Some(utc("2026-01-06T06:00:00Z"))
        );
        assert_eq!(
            night.ends_after(utc("2026-01-06T03:00:00Z")),
            Some(utc("2026-01-06T06:00:00Z"))
        );
        assert_eq!(night.ends_after(utc("2026-01-06T06:00:00Z")), None);
        // Not on other days.
        assert_eq!(night.ends_after(utc("2026-01-06T22:00:00Z")), None);
    }

    #[test]
    fn the_same_local_window_moves_in_utc_across_daylight_saving_time() {
        let nights = dnd(
            chrono_tz::Europe::Berlin,
            vec![window(Weekday::Sat, "22:00", "07:00")],
        );
        // Spring forward on Sunday 2026-03-29 (02:00 CET -> 03:00 CEST): the night starts at 21:00Z, ends 05:00Z.
        assert_eq!(
            nights.ends_after(utc("2026-03-28T21:30:00Z")),
            Some(utc("2026-03-29T05:00:00Z"))
        );
        assert_eq!(nights.ends_after(utc("2026-03-29T05:00:00Z")), None);
        // Fall back on Sunday 2026-10-25 (03:00 CEST -> 02:00 CET): starts at 20:00Z, ends 06:00Z.
        assert_eq!(nights.ends_after(utc("2026-10-24T19:59:00Z")), None);
        assert_eq!(
            nights.ends_after(utc("2026-10-24T20:00:00Z")),
            Some(utc("2026-10-25T06:00:00Z"))
        );
        // New York: 2026-03-08 springs forward; the same local night ends at 11:00Z instead of 12:00Z.
        let ny = dnd(
            chrono_tz::America::New_York,
            vec![window(Weekday::Sat, "23:00", "07:00")],
        );
        assert_eq!(
            ny.ends_after(utc("2026-03-08T06:00:00Z")),
            Some(utc("2026-03-08T11:00:00Z"))
        );
        assert_eq!(
            ny.ends_after(utc("2026-03-01T06:00:00Z")),
            Some(utc("2026-03-01T12:00:00Z"))
        );
    }

    #[test]
    fn times_in_a_gap_or_a_repeated_hour_never_shorten_a_window() {
        let berlin = chrono_tz::Europe::Berlin;
        // 02:30 does not exist on 2026-03-29 in Berlin: the window starts at 03:00 CEST (01:00Z).
        let gap = dnd(berlin, vec![window(Weekday::Sun, "02:30", "04:00")]);
        assert_eq!(gap.ends_after(utc("2026-03-29T00:59:00Z")), None);
        assert_eq!(
            gap.ends_after(utc("2026-03-29T01:00:00Z")),
            Some(utc("2026-03-29T02:00:00Z"))
        );
        // 02:30 happens twice on 2026-10-25: a window ending then ends at the second one (01:30Z).
        let repeated = dnd(berlin, vec![window(Weekday::Sun, "01:00", "02:30")]);
        assert_eq!(
            repeated.ends_after(utc("2026-10-25T00:45:00Z")),
            Some(utc("2026-10-25T01:30:00Z"))
        );
    }

    #[test]
    fn windows_that_meet_and_the_manual_instant_make_one_stretch() {
        let berlin = chrono_tz::Europe::Berlin;
        let mut weekend = dnd(
            berlin,
            vec![
                window(Weekday::Fri, "18:00", "00:00"),
                window(Weekday::Sat, "00:00", "00:00"),
                window(Weekday::Sun, "00:00", "08:00"),
            ],
        );
        // Friday 2026-01-09 19:00 CET to Sunday 08:00 CET (07:00Z).
        assert_eq!(
            weekend.ends_after(utc("2026-01-09T18:00:00Z")),
            Some(utc("2026-01-11T07:00:00Z"))
        );
        // A manual instant past the stretch extends it; one inside it changes nothing; alone, it is the end.
        weekend.until = Some(utc("2026-01-11T09:00:00Z"));
        assert_eq!(
            weekend.ends_after(utc("2026-01-09T18:00:00Z")),
            Some(utc("2026-01-11T09:00:00Z"))
        );
        let manual = DoNotDisturb {
            time_zone: chrono_tz::UTC,
            windows: Vec::new(),
            until: Some(utc("2026-01-01T12:00:00Z")),
        };
        assert_eq!(
            manual.ends_after(utc("2026-01-01T10:00:00Z")),
            Some(utc("2026-01-01T12:00:00Z"))
        );
        assert_eq!(manual.ends_after(utc("2026-01-01T12:00:00Z")), None);
        // Always on: capped at a week.
        let always = dnd(
            chrono_tz::UTC,
            [
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
                Weekday::Sat,
                Weekday::Sun,
            ]
            .into_iter()
            .map(|day| window(day, "00:00", "00:00"))
            .collect(),
        );
        let at = utc("2026-01-05T10:00:00Z");
        assert_eq!(always.ends_after(at), Some(at + Duration::days(7)));
    }

    #[test]
    fn windows_read_and_write_days_and_times_as_text() {
        let parsed: DndWindow =
            serde_json::from_value(serde_json::json!({"day": "fri", "start": "22:30", "end": "06:00"}))
                .unwrap();
        assert_eq!(parsed, window(Weekday::Fri, "22:30", "06:00"));
        assert_eq!(
            serde_json::to_value(parsed).unwrap(),
            serde_json::json!({"day": "fri", "start": "22:30", "end": "06:00"})
        );
        for bad in [
            serde_json::json!({"day": "friday", "start": "22:30", "end": "06:00"}),
            serde_json::json!({"day": "fri", "start": "24:00", "end": "06:00"}),
            serde_json::json!({"day": "fri", "start": "7:00", "end": "06:00"}),
            serde_json::json!({"day": "fri", "start": "07:00:00", "end": "06:00"}),
        ] {
            assert!(serde_json::from_value::<DndWindow>(bad.clone()).is_err(), "{bad}");
        }
    }
}
