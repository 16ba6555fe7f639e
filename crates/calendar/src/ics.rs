//! The iCalendar (RFC 5545) export.
//!
//! One `VCALENDAR` (`VERSION:2.0`, `PRODID`, `CALSCALE:GREGORIAN`) with one `VEVENT` per event:
//! `UID` is `<event id>@epop` (stable, so calendar clients update rather than duplicate an event on
//! re-import), `DTSTAMP` and `LAST-MODIFIED` are the event's `updated_at` (for an object without `METHOD`,
//! RFC 5545 section 3.8.7.2 makes `DTSTAMP` the last revision time), `CREATED` its `created_at`,
//! `DTSTART`/`DTEND` are UTC date-times (`...Z`, whole seconds), `SUMMARY` the title and `DESCRIPTION` the
//! description when it is not empty. Text escaping, line folding at 75 octets and CRLF line ends are done by
//! the `icalendar` crate.

use crate::model::CalendarEvent;
use chrono::{DateTime, Utc};
use icalendar::{Calendar, Component as _, Event, EventLike as _, Property};

/// The `PRODID` of exported calendars.
pub const PRODUCT_ID: &str = "-//EPOP//Calendar//EN";

fn utc(time: DateTime<Utc>) -> String {
    time.format("%Y%m%dT%H%M%SZ").to_string()
}

/// The `UID` of an event.
pub fn uid(event: &CalendarEvent) -> String {
    format!("{}@epop", event.id)
}

/// Renders `events` as one iCalendar object.
pub fn render(events: &[CalendarEvent]) -> String {
    let mut calendar = Calendar::empty();
    calendar
        .append_property(Property::new("VERSION", "2.0"))
        .append_property(Property::new("PRODID", PRODUCT_ID))
        .append_property(Property::new("CALSCALE", "GREGORIAN"));
    for event in events {
        let mut vevent = Event::new();
        vevent
            .uid(&uid(event))
            .timestamp(event.updated_at)
            .add_property("CREATED", utc(event.created_at))
            .add_property("LAST-MODIFIED", utc(event.updated_at))
            .starts(event.start_time)
            .ends(event.end_time)
            .summary(&event.title);
        if !event.description.is_empty() {
            vevent.description(&event.description);
        }
        calendar.push(vevent.done());
    }
    calendar.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;
    use epop_core::CalendarEventId;

    fn event(title: &str, description: &str) -> CalendarEvent {
        let at = |h| Utc.with_ymd_and_hms(2026, 3, 1, h, 30, 0).unwrap();
        CalendarEvent {
            id: CalendarEventId::new(),
            title: title.to_owned(),
            description: description.to_owned(),
            start_time: at(9),
            end_time: at(10),
            created_at: at(1),
            updated_at: at(2),
        }
    }

    #[test]
    fn renders_one_vevent_per_event_in_utc() {
        let events = [event("Stand-up", ""), event("Review", "Bring notes")];
        let text = render(&events);
        assert!(text.starts_with("BEGIN:VCALENDAR\r\n"), "{text}");
        assert!(text.ends_with("END:VCALENDAR\r\n"), "{text}");
        assert!(text.contains("VERSION:2.0\r\n"));
        assert!(text.contains(&format!("PRODID:{PRODUCT_ID}\r\n")));
        assert_eq!(text.matches("BEGIN:VEVENT\r\n").count(), 2);
        assert_eq!(text.matches("END:VEVENT\r\n").count(), 2);
        for e in &events {
            assert!(text.contains(&format!("UID:{}@epop\r\n", e.id)), "{text}");
        }
        assert!(text.contains("DTSTART:20260301T093000Z\r\n"), "{text}");
        assert!(text.contains("DTEND:20260301T103000Z\r\n"), "{text}");
        assert!(text.contains("DTSTAMP:20260301T023000Z\r\n"), "{text}");
        assert!(text.contains("SUMMARY:Stand-up\r\n"));
        assert!(text.contains("DESCRIPTION:Bring notes\r\n"));
        assert_eq!(
            text.matches("DESCRIPTION:").count(),
            1,
            "empty descriptions are left out"
        );
    }

    #[test]
    fn escapes_text_and_folds_long_lines() {
        let long = "ü".repeat(100);
        let text = render(&[event("a, b; c\\d", &format!("line1\nline2 {long}"))]);
        assert!(text.contains("SUMMARY:a\\, b\\; c\\\\d\r\n"), "{text}");
        assert!(text.contains("line1\\nline2"), "{text}");
        for line in text.split("\r\n") {
            assert!(line.len() <= 75, "unfolded line: {line:?}");
        }
    }

    #[test]
    fn an_empty_export_is_a_valid_calendar() {
        let text = render(&[]);
        assert!(text.starts_with("BEGIN:VCALENDAR\r\n"));
        assert!(!text.contains("BEGIN:VEVENT"));
    }
}
