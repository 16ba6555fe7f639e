//! RRULE validation (docs/api.md, Recurring series): any rule text, start and time zone is accepted or refused
//! without a panic; an accepted rule expands to increasing starts, within its instance bound.
#![no_main]

use chrono::{Duration, TimeZone as _, Utc};
use epop_calendar::recurrence::Recurrence;
use libfuzzer_sys::fuzz_target;

/// Zones with daylight saving time (north and south), a half-hour zone, and a half-hour DST shift.
const ZONES: [chrono_tz::Tz; 5] = [
    chrono_tz::UTC,
    chrono_tz::Europe::Berlin,
    chrono_tz::America::Santiago,
    chrono_tz::Asia::Kolkata,
    chrono_tz::Australia::Lord_Howe,
];

fuzz_target!(|data: &[u8]| {
    let Some((&[zone, a, b, c], rule)) = data.split_first_chunk::<4>() else {
        return;
    };
    let Ok(rule) = std::str::from_utf8(rule) else {
        return;
    };
    let tz = ZONES[usize::from(zone) % ZONES.len()];
    // A start within a few years of 2026, on the minute.
    let minutes = i64::from(u32::from_le_bytes([a, b, c, 0]) % (4 * 365 * 24 * 60));
    let Some(epoch) = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).single() else {
        return;
    };
    let start = epoch + Duration::minutes(minutes);
    let max = 100;
    if let Ok(recurrence) = Recurrence::parse(rule, start, tz, max) {
        let starts: Vec<_> = recurrence.starts().collect();
        assert!(starts.len() <= max);
        assert!(starts.windows(2).all(|w| w[0] < w[1]), "{rule}: {starts:?}");
    }
});
