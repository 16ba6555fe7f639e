//! Recurring series: RFC 5545 `RRULE` validation and expansion in the series' IANA time zone.
//!
//! Design:
//! - **Wall-clock expansion.** A rule repeats in local time: a 09:00 meeting in `Europe/London` stays at 09:00
//!   across the change to and from summer time. The `rrule` crate expands the rule over the *local wall-clock*
//!   times, fed to it as if they were UTC (so the crate never sees a daylight-saving change: its own handling of
//!   them has had duplicated and skipped instances, upstream issue 115); each local time is then placed in the
//!   real zone here: a time that occurs twice (clocks go back) takes its first occurrence, a time that does not
//!   exist (clocks go forward) is moved forward by the length of the gap (RFC 5545 section 3.3.5), so 02:30 on
//!   the spring-forward day becomes 03:30 local. Every instance keeps the series' duration in absolute time.
//! - **What is accepted.** `FREQ` other than `SECONDLY`/`MINUTELY`, any `BY*` part, `INTERVAL`, `WKST`, and at
//!   most one of `COUNT` (1..=the instance bound) and `UNTIL` (`YYYYMMDDTHHMMSSZ` in UTC, or a `YYYYMMDD` date,
//!   which includes every instance starting on that local date). The stored rule is normalised: upper case,
//!   no `RRULE:` prefix, `UNTIL` in UTC, as RFC 5545 requires next to a `DTSTART` with a `TZID`.
//! - **Bound.** No series has more than `max_instances` instances (a setting): an open-ended rule, or one whose
//!   `UNTIL` is far away, ends after that many. Expanding a series walks at most that many instances, whatever
//!   the range, so the CPU cost of one series is bounded; the service runs expansions on the blocking pool.
//! - **Exceptions.** `EXDATE`s are original instance starts; an excluded start is skipped but still counts
//!   towards `COUNT` (RFC 5545 section 3.8.5.1).
//! - **Starting late.** The `rrule` crate always walks a rule from its `DTSTART`, so a range far into a series
//!   would cost a walk over every earlier instance on every request. [`Recurrence::starts_near`] starts the
//!   walk at a period of the rule near the range instead: the validated rule has every default it takes from
//!   `DTSTART` (`BYHOUR`, `BYMINUTE`, `BYSECOND`, the weekday, day and month) written out, so handing it a
//!   later start at the beginning of one of its own periods (a day, week, month or year `INTERVAL` periods on
//!   from the first one) walks the same instances from there on. What the late walk cannot know, how many
//!   instances came before (for `COUNT` and the instance bound), the stored last original start of the series
//!   stands for. Only rules with at most one instance a day start late, because only for them is placing the
//!   local times in the zone strictly in order, so that the last start bounds the walk exactly; others walk
//!   from `DTSTART`.

use chrono::{DateTime, Datelike as _, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone as _, Utc};
use chrono_tz::Tz;
use rrule::{Frequency, RRule, RRuleSet, Unvalidated};
use std::str::FromStr as _;

/// Longest accepted rule text, in bytes.
pub const MAX_RULE_LEN: usize = 500;

/// A validated rule, ready to expand.
#[derive(Debug, Clone)]
pub struct Recurrence {
    /// The normalised rule text, as stored and exported.
    pub rule: String,
    set: RRuleSet,
    /// Last allowed original start (from `UNTIL`).
    until: Option<DateTime<Utc>>,
    tz: Tz,
    max_instances: usize,
    /// The first start as local wall-clock time (what the `rrule` crate walks from).
    local_start: NaiveDateTime,
}

/// How far before the first instance wanted a late walk starts (more than any zone's offset from UTC, so that
/// the local times walked cover every instant wanted).
const LATE_START_MARGIN: Duration = Duration::days(2);

/// Parses an IANA time zone name.
pub fn parse_time_zone(name: &str) -> Result<Tz, String> {
    name.parse::<Tz>()
        .map_err(|_| "must be an IANA time zone name such as Europe/London".to_owned())
}

/// Places a local wall-clock time in `tz`: the first of two occurrences, or moved forward past a gap.
pub fn place_local(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        chrono::LocalResult::Single(t) => t.with_timezone(&Utc),
        chrono::LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        chrono::LocalResult::None => {
            // In a gap: read the local time with the offset in force before it.
            let before = local - Duration::hours(6);
            let offset = match tz.from_local_datetime(&before) {
                chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => *t.offset(),
                chrono::LocalResult::None => tz.offset_from_utc_datetime(&before),
            };
            let seconds = chrono::Offset::fix(&offset).local_minus_utc();
            Utc.from_utc_datetime(&(local - Duration::seconds(i64::from(seconds))))
        }
    }
}

fn fake_utc(local: NaiveDateTime) -> DateTime<rrule::Tz> {
    rrule::Tz::UTC.from_utc_datetime(&local)
}

/// Reads an `UNTIL` value: UTC date-time or a date (end of that local day in `tz`).
fn parse_until(value: &str, tz: Tz) -> Result<DateTime<Utc>, String> {
    if let Some(utc) = value.strip_suffix('Z')
        && let Ok(t) = NaiveDateTime::parse_from_str(utc, "%Y%m%dT%H%M%S")
    {
        return Ok(Utc.from_utc_datetime(&t));
    }
    if value.len() == 8
        && let Ok(date) = NaiveDate::parse_from_str(value, "%Y%m%d")
        && let Some(next) = date.succ_opt()
    {
        return Ok(place_local(tz, next.and_time(NaiveTime::MIN)) - Duration::seconds(1));
    }
    Err("UNTIL must be a UTC date-time (YYYYMMDDTHHMMSSZ) or a date (YYYYMMDD)".to_owned())
}

/// The `UNTIL` value of a UTC instant, as stored.
pub fn until_text(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

impl Recurrence {
    /// Validates `text` for a series starting at `start` in `tz`; the error is a message for the `rrule` field.
    pub fn parse(text: &str, start: DateTime<Utc>, tz: Tz, max_instances: usize) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() || text.len() > MAX_RULE_LEN {
            return Err(format!("must be 1 to {MAX_RULE_LEN} characters"));
        }
        let body = match text.get(..6) {
            Some(prefix) if prefix.eq_ignore_ascii_case("RRULE:") => &text[6..],
            _ => text,
        };
        if body.chars().any(|c| c.is_control() || c == ':') {
            return Err("must be one RRULE value such as FREQ=WEEKLY;BYDAY=MO (no DTSTART)".to_owned());
        }
        let mut parts = Vec::new();
        let mut until = None;
        for part in body.split(';').filter(|p| !p.is_empty()) {
            let Some((name, value)) = part.split_once('=') else {
                return Err(format!("{part:?} is not NAME=VALUE"));
            };
            let (name, value) = (
                name.trim().to_ascii_uppercase(),
                value.trim().to_ascii_uppercase(),
            );
            if name == "UNTIL" {
                if until.is_some() {
                    return Err("UNTIL is given twice".to_owned());
                }
                until = Some(parse_until(&value, tz)?);
            } else {
                parts.push(format!("{name}={value}"));
            }
        }
        let without_until = parts.join(";");
        let rule: RRule<Unvalidated> =
            RRule::from_str(&without_until).map_err(|e| format!("is not a valid RRULE: {e}"))?;
        if matches!(rule.get_freq(), Frequency::Secondly | Frequency::Minutely) {
            return Err("FREQ=SECONDLY and FREQ=MINUTELY are not supported".to_owned());
        }
        if rule.get_interval() == 0 {
            return Err("INTERVAL must be at least 1".to_owned());
        }
        if let Some(count) = rule.get_count() {
            if until.is_some() {
                return Err("must not have both COUNT and UNTIL".to_owned());
            }
            if count == 0 || usize::try_from(count).map_or(true, |c| c > max_instances) {
                return Err(format!("COUNT must be 1 to {max_instances}"));
            }
        }
        let local = start.with_timezone(&tz).naive_local();
        let set = rule
            .build(fake_utc(local))
            .map_err(|e| format!("is not a valid RRULE: {e}"))?;
        let mut normalised = parts;
        if let Some(until) = until {
            if until < start {
                return Err("UNTIL must not be before start_time".to_owned());
            }
            normalised.push(format!("UNTIL={}", until_text(until)));
        }
        Ok(Self {
            rule: normalised.join(";"),
            set,
            until,
            tz,
            max_instances,
            local_start: local,
        })
    }

    /// Whether the rule places at most one instance on a local day (`FREQ=DAILY` or longer, one `BYHOUR`,
    /// `BYMINUTE` and `BYSECOND`): then its starts, placed in the zone, come strictly in order (a daylight-saving
    /// gap or fold moves a local time by less than a day).
    pub fn once_a_day(&self) -> bool {
        self.set.get_rrule().first().is_some_and(|rule| {
            matches!(
                rule.get_freq(),
                Frequency::Daily | Frequency::Weekly | Frequency::Monthly | Frequency::Yearly
            ) && rule.get_by_hour().len() == 1
                && rule.get_by_minute().len() == 1
                && rule.get_by_second().len() == 1
        })
    }

    /// Where a walk that must reach every start from `not_before` on may begin instead of `DTSTART`: the
    /// beginning (local midnight; the first of the month, of the year) of the last period of the rule that
    /// begins at least [`LATE_START_MARGIN`] before `not_before`. `None` when that is the first period, or for
    /// rules with more than one instance a day (see the module's design note).
    fn late_start(&self, not_before: DateTime<Utc>) -> Option<NaiveDateTime> {
        if !self.once_a_day() {
            return None;
        }
        let rule = self.set.get_rrule().first()?;
        let target = (not_before - LATE_START_MARGIN).naive_utc();
        let first = self.local_start;
        if target <= first {
            return None;
        }
        let interval = i64::from(rule.get_interval().max(1));
        let day_one = |year: i32, month: u32| NaiveDate::from_ymd_opt(year, month, 1);
        let date = match rule.get_freq() {
            Frequency::Daily | Frequency::Weekly => {
                let length = if rule.get_freq() == Frequency::Daily {
                    interval
                } else {
                    7 * interval
                };
                let periods = (target.date() - first.date()).num_days() / length;
                first.date() + Duration::days(periods.checked_mul(length)?)
            }
            Frequency::Monthly => {
                let months = i64::from(target.year() - first.year()) * 12 + i64::from(target.month())
                    - i64::from(first.month());
                let months = months / interval * interval + i64::from(first.month0());
                let year = first.year() + i32::try_from(months / 12).ok()?;
                day_one(year, u32::try_from(months % 12).ok()? + 1)?
            }
            Frequency::Yearly => {
                let years = i64::from(target.year() - first.year()) / interval * interval;
                day_one(first.year() + i32::try_from(years).ok()?, 1)?
            }
            _ => return None,
        };
        let start = date.and_time(NaiveTime::MIN);
        (start > first).then_some(start)
    }

    /// Original starts in order, as [`Self::starts`], but only from about `not_before` on (a few earlier ones
    /// may come first), walked from a later period of the rule where possible, and never after `last`, the
    /// series' last original start as stored. `None` when the walk must start at `DTSTART`: use
    /// [`Self::starts`] then.
    pub fn starts_near(
        &self,
        not_before: DateTime<Utc>,
        last: DateTime<Utc>,
    ) -> Option<impl Iterator<Item = DateTime<Utc>> + use<>> {
        let from = self.late_start(not_before)?;
        let rule = self.set.get_rrule().first()?.clone();
        let walk = (&RRuleSet::new(fake_utc(from)).rrule(rule)).into_iter();
        let (tz, until) = (self.tz, self.until);
        Some(
            walk.map(move |fake| place_local(tz, fake.naive_utc()))
                .take_while(move |start| *start <= last && until.is_none_or(|u| *start <= u)),
        )
    }

    /// Original starts of the series, in order, at most `max_instances` of them, stopping at `UNTIL`.
    pub fn starts(&self) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        let tz = self.tz;
        let until = self.until;
        (&self.set)
            .into_iter()
            .take(self.max_instances)
            .map(move |fake| place_local(tz, fake.naive_utc()))
            .take_while(move |start| until.is_none_or(|u| *start <= u))
    }

    /// [`Self::starts`], walked by an iterator that owns what it needs.
    pub fn into_starts(self) -> impl Iterator<Item = DateTime<Utc>> + use<> {
        let (tz, until) = (self.tz, self.until);
        (&self.set)
            .into_iter()
            .take(self.max_instances)
            .map(move |fake| place_local(tz, fake.naive_utc()))
            .take_while(move |start| until.is_none_or(|u| *start <= u))
    }

    /// Original starts whose instance `[start, start + duration)` overlaps `[from, to)` (`None`: unbounded)
    /// and that are not in `exdates`, the first `limit` of them.
    pub fn expand(
        &self,
        duration: Duration,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        exdates: &[DateTime<Utc>],
        limit: usize,
    ) -> Vec<DateTime<Utc>> {
        self.starts()
            .take_while(|start| to.is_none_or(|to| *start < to))
            .filter(|start| from.is_none_or(|from| *start + duration > from))
            .filter(|start| !exdates.contains(start))
            .take(limit)
            .collect()
    }

    /// Whether `start` is an original start of the series (excluded or not).
    pub fn has_start(&self, start: DateTime<Utc>) -> bool {
        self.starts().take_while(|s| *s <= start).any(|s| s == start)
    }

    /// How many original starts come before `start`.
    pub fn count_before(&self, start: DateTime<Utc>) -> usize {
        self.starts().take_while(|s| *s < start).count()
    }

    /// The last original start, if the series has any.
    pub fn last_start(&self) -> Option<DateTime<Utc>> {
        self.starts().last()
    }

    /// The rule's `COUNT`, if any.
    pub fn count(&self) -> Option<u32> {
        self.set.get_rrule().first().and_then(|r| r.get_count())
    }
}

/// `rule` with its `COUNT`/`UNTIL` replaced by `UNTIL=until` (for ending a series before a split).
pub fn with_until(rule: &str, until: DateTime<Utc>) -> String {
    let mut parts: Vec<&str> = rule
        .split(';')
        .filter(|p| !p.starts_with("COUNT=") && !p.starts_with("UNTIL="))
        .collect();
    let until = format!("UNTIL={}", until_text(until));
    parts.push(&until);
    parts.join(";")
}

/// `rule` with its `COUNT` replaced by `count`.
pub fn with_count(rule: &str, count: u32) -> String {
    rule.split(';')
        .map(|p| {
            if p.starts_with("COUNT=") {
                format!("COUNT={count}")
            } else {
                p.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(";")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    fn local(tz: Tz, t: DateTime<Utc>) -> String {
        t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
    }

    #[test]
    fn daily_nine_o_clock_stays_nine_in_london_across_both_changes() {
        let tz: Tz = "Europe/London".parse().unwrap();
        // 2026: BST starts 29 March, ends 25 October.
        let start = place_local(
            tz,
            NaiveDate::from_ymd_opt(2026, 3, 26)
                .unwrap()
                .and_hms_opt(9, 0, 0)
                .unwrap(),
        );
        let rule = Recurrence::parse("FREQ=DAILY;COUNT=7", start, tz, 1000).unwrap();
        let starts = rule.expand(Duration::hours(1), None, None, &[], 100);
        assert_eq!(starts.len(), 7, "no instance skipped or doubled");
        let locals: Vec<String> = starts.iter().map(|s| local(tz, *s)).collect();
        for (i, l) in locals.iter().enumerate() {
            assert_eq!(
                l,
                &format!("2026-03-{:02} 09:00", 26 + i as u32).replace("03-32", "04-01")
            );
        }
        assert_eq!(starts[0], utc(2026, 3, 26, 9, 0), "GMT");
        assert_eq!(starts[4], utc(2026, 3, 30, 8, 0), "BST");

        let autumn = place_local(
            tz,
            NaiveDate::from_ymd_opt(2026, 10, 23)
                .unwrap()
                .and_hms_opt(9, 0, 0)
                .unwrap(),
        );
        let rule = Recurrence::parse("FREQ=DAILY;COUNT=5", autumn, tz, 1000).unwrap();
        let starts = rule.expand(Duration::hours(1), None, None, &[], 100);
        let locals: Vec<String> = starts.iter().map(|s| local(tz, *s)).collect();
        assert_eq!(
            locals,
            [
                "2026-10-23 09:00",
                "2026-10-24 09:00",
                "2026-10-25 09:00",
                "2026-10-26 09:00",
                "2026-10-27 09:00"
            ]
        );
        assert_eq!(starts[3], utc(2026, 10, 26, 9, 0));
    }

    #[test]
    fn new_york_weekly_and_times_inside_the_changes() {
        let tz: Tz = "America/New_York".parse().unwrap();
        // 2026: EDT from 8 March 02:00, EST from 1 November 02:00.
        let start = place_local(
            tz,
            NaiveDate::from_ymd_opt(2026, 3, 1)
                .unwrap()
                .and_hms_opt(9, 0, 0)
                .unwrap(),
        );
        let rule = Recurrence::parse("FREQ=WEEKLY;BYDAY=SU;COUNT=3", start, tz, 1000).unwrap();
        let starts = rule.expand(Duration::hours(1), None, None, &[], 100);
        assert_eq!(
            starts,
            [
                utc(2026, 3, 1, 14, 0),
                utc(2026, 3, 8, 13, 0),
                utc(2026, 3, 15, 13, 0)
            ]
        );

        // 02:30 does not exist on 8 March: that instance is at 03:30 EDT; no day skipped or doubled.
        let night = place_local(
            tz,
            NaiveDate::from_ymd_opt(2026, 3, 7)
                .unwrap()
                .and_hms_opt(2, 30, 0)
                .unwrap(),
        );
        let rule = Recurrence::parse("FREQ=DAILY;COUNT=3", night, tz, 1000).unwrap();
        let locals: Vec<String> = rule
            .expand(Duration::minutes(30), None, None, &[], 10)
            .iter()
            .map(|s| local(tz, *s))
            .collect();
        assert_eq!(
            locals,
            ["2026-03-07 02:30", "2026-03-08 03:30", "2026-03-09 02:30"]
        );

        // 01:30 happens twice on 1 November: the first (EDT) one, once.
        let night = place_local(
            tz,
            NaiveDate::from_ymd_opt(2026, 10, 31)
                .unwrap()
                .and_hms_opt(1, 30, 0)
                .unwrap(),
        );
        let rule = Recurrence::parse("FREQ=DAILY;COUNT=3", night, tz, 1000).unwrap();
        let starts = rule.expand(Duration::minutes(30), None, None, &[], 10);
        assert_eq!(
            starts,
            [
                utc(2026, 10, 31, 5, 30),
                utc(2026, 11, 1, 5, 30),
                utc(2026, 11, 2, 6, 30)
            ]
        );
    }

    #[test]
    fn ranges_exdates_until_and_the_instance_bound() {
        let tz = Tz::UTC;
        let start = utc(2026, 1, 1, 9, 0);
        let rule = Recurrence::parse("rrule:freq=daily", start, tz, 30).unwrap();
        assert_eq!(rule.rule, "FREQ=DAILY");
        assert_eq!(
            rule.expand(Duration::hours(1), None, None, &[], 1000).len(),
            30,
            "open-ended: bounded"
        );
        let got = rule.expand(
            Duration::hours(1),
            Some(utc(2026, 1, 3, 9, 30)),
            Some(utc(2026, 1, 6, 9, 0)),
            &[utc(2026, 1, 4, 9, 0)],
            10,
        );
        assert_eq!(got, [utc(2026, 1, 3, 9, 0), utc(2026, 1, 5, 9, 0)]);
        assert!(rule.has_start(utc(2026, 1, 5, 9, 0)));
        assert!(!rule.has_start(utc(2026, 1, 5, 9, 1)));
        assert_eq!(rule.count_before(utc(2026, 1, 5, 9, 0)), 4);

        let until = Recurrence::parse("FREQ=DAILY;UNTIL=20260103", start, tz, 30).unwrap();
        assert_eq!(until.rule, "FREQ=DAILY;UNTIL=20260103T235959Z");
        assert_eq!(until.last_start(), Some(utc(2026, 1, 3, 9, 0)));
        let until = Recurrence::parse("FREQ=DAILY;UNTIL=20260102T090000Z", start, tz, 30).unwrap();
        assert_eq!(until.last_start(), Some(utc(2026, 1, 2, 9, 0)));
        assert_eq!(
            with_until("FREQ=DAILY;COUNT=5", utc(2026, 1, 2, 0, 0)),
            "FREQ=DAILY;UNTIL=20260102T000000Z"
        );
        assert_eq!(
            with_count("FREQ=DAILY;COUNT=5;BYHOUR=9", 2),
            "FREQ=DAILY;COUNT=2;BYHOUR=9"
        );
    }

    #[test]
    fn bad_rules_are_refused() {
        let start = utc(2026, 1, 1, 9, 0);
        for bad in [
            "",
            "FREQ=SECONDLY",
            "FREQ=MINUTELY;INTERVAL=5",
            "FREQ=FORTNIGHTLY",
            "BYDAY=MO",
            "FREQ=DAILY;COUNT=0",
            "FREQ=DAILY;COUNT=31",
            "FREQ=DAILY;COUNT=2;UNTIL=20270101T000000Z",
            "FREQ=DAILY;UNTIL=tomorrow",
            "FREQ=DAILY;UNTIL=20250101T000000Z",
            "DTSTART:20260101T090000Z\nRRULE:FREQ=DAILY",
            "FREQ=WEEKLY;BYDAY=XX",
            "FREQ=DAILY;INTERVAL=0",
            "garbage",
        ] {
            assert!(Recurrence::parse(bad, start, Tz::UTC, 30).is_err(), "{bad:?}");
        }
        assert!(Recurrence::parse(&"FREQ=DAILY;".repeat(60), start, Tz::UTC, 30).is_err());
        assert!(parse_time_zone("Mars/Olympus").is_err());
        assert!(parse_time_zone("Europe/London").is_ok());
    }
}

/// Property tests (docs/api.md, Recurring series): RRULE validation never panics, whatever the text; a rule it
/// accepts expands to original starts in strictly increasing order, none before the series' start or after
/// its `UNTIL`, at most the instance bound of them. CI runs them with the unit tests; `bench/fuzz.sh` fuzzes
/// the same validation (`fuzz/fuzz_targets/rrule.rs`).
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// One `NAME=VALUE` part, valid or not.
    fn part() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec![
                "DAILY", "WEEKLY", "MONTHLY", "YEARLY", "HOURLY", "MINUTELY", "x"
            ])
            .prop_map(|f| format!("FREQ={f}")),
            (0u32..400).prop_map(|n| format!("INTERVAL={n}")),
            (0u32..2000).prop_map(|n| format!("COUNT={n}")),
            prop_oneof![
                Just("UNTIL=20270101T000000Z".to_owned()),
                Just("UNTIL=20260315".to_owned()),
                Just("UNTIL=20200101T000000Z".to_owned()),
                Just("UNTIL=99999999T999999Z".to_owned()),
            ],
            "(-?[1-5]?(MO|TU|WE|TH|FR|SA|SU),){0,3}(MO|TU|WE|TH|FR|SA|SU)".prop_map(|d| format!("BYDAY={d}")),
            (-31i32..=31).prop_map(|d| format!("BYMONTHDAY={d}")),
            (0u32..=13).prop_map(|m| format!("BYMONTH={m}")),
            (-400i32..=400).prop_map(|p| format!("BYSETPOS={p}")),
            (0u32..=24).prop_map(|h| format!("BYHOUR={h}")),
            (-60i32..=60).prop_map(|w| format!("BYWEEKNO={w}")),
            (-400i32..=400).prop_map(|d| format!("BYYEARDAY={d}")),
            Just("WKST=SU".to_owned()),
            "[A-Z=;0-9,-]{0,12}",
        ]
    }

    fn rule() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            proptest::collection::vec(part(), 1..6).prop_map(|parts| parts.join(";")),
        ]
    }

    fn zone() -> impl Strategy<Value = Tz> {
        prop::sample::select(vec![
            Tz::UTC,
            chrono_tz::Europe::Berlin,
            chrono_tz::America::New_York,
            chrono_tz::Australia::Lord_Howe,
            chrono_tz::Asia::Kolkata,
        ])
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn accepted_rules_expand_in_order_within_their_bounds(
            text in rule(),
            tz in zone(),
            // Start times in 2025-2027, on the minute.
            minute in 0i64..(3 * 365 * 24 * 60),
        ) {
            let start = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap() + Duration::minutes(minute);
            let max = 200;
            let Ok(recurrence) = Recurrence::parse(&text, start, tz, max) else {
                return Ok(());
            };
            let starts: Vec<DateTime<Utc>> = recurrence.starts().collect();
            prop_assert!(starts.len() <= max);
            for pair in starts.windows(2) {
                prop_assert!(pair[0] < pair[1], "{text} in {tz}: {} then {}", pair[0], pair[1]);
            }
            if let Some(until) = recurrence.until {
                prop_assert!(starts.iter().all(|s| *s <= until));
            }
            // What was accepted is accepted again as stored (the normalised text).
            prop_assert!(Recurrence::parse(&recurrence.rule, start, tz, max).is_ok(), "{}", recurrence.rule);
        }
    }
}
