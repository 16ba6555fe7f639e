//! The iCalendar (RFC 5545) export and feed.
//!
//! One `VCALENDAR` (`VERSION:2.0`, `PRODID`, `CALSCALE:GREGORIAN`) with one `VEVENT` per event:
//! `UID` is `<event id>@epop` (stable, so calendar clients update rather than duplicate an event on
//! re-import), `DTSTAMP` and `LAST-MODIFIED` are the event's `updated_at` (for an object without `METHOD`,
//! RFC 5545 section 3.8.7.2 makes `DTSTAMP` the last revision time), `CREATED` its `created_at`,
//! `SUMMARY` the title and `DESCRIPTION` the description when it is not empty. `ORGANIZER` and `ATTENDEE`
//! name users as calendar apps expect them, by e-mail address with their display name:
//! `ATTENDEE;CN=Bob;PARTSTAT=ACCEPTED:mailto:bob@example.com` (a user no longer found is written as
//! `urn:uuid:<user id>`). The names and addresses are loaded for all the events of an export together, in one
//! statement. A `CN` is a parameter value: it cannot hold a double quote or a control character, so those
//! become `'` and a space (the `icalendar` crate quotes values with `:`, `;` or `,`). Text escaping, line
//! folding at 75 octets and CRLF line ends are done by the `icalendar` crate.
//!
//! Single events have UTC `DTSTART`/`DTEND` (`...Z`, whole seconds). A series is one `VEVENT` with `RRULE`;
//! its `DTSTART`/`DTEND` are local times with `TZID=<IANA zone>` (UTC times when the zone is `UTC`), so the
//! rule repeats in local time as EPOP expands it, and its cancelled instances are one `EXDATE` in the same
//! form. Each changed instance is a further `VEVENT` with the same `UID` and a `RECURRENCE-ID` (the original
//! start, same form), its own times in UTC. Clients resolve the IANA `TZID`s themselves: no `VTIMEZONE` is
//! written.

use crate::model::{Attendee, CalendarEvent};
use crate::repo::events::{EventRow, OverrideRow};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use epop_core::{CalendarEventId, UserId};
use icalendar::{Calendar, Component as _, Event, EventLike as _, Property, Todo};
use std::collections::HashMap;

/// The `PRODID` of exported calendars.
pub const PRODUCT_ID: &str = "-//EPOP//Calendar//EN";

fn utc(time: DateTime<Utc>) -> String {
    time.format("%Y%m%dT%H%M%SZ").to_string()
}

/// The `UID` of an event.
pub fn uid(event: &CalendarEvent) -> String {
    format!("{}@epop", event.id)
}

fn calendar() -> Calendar {
    let mut calendar = Calendar::empty();
    calendar
        .append_property(Property::new("VERSION", "2.0"))
        .append_property(Property::new("PRODID", PRODUCT_ID))
        .append_property(Property::new("CALSCALE", "GREGORIAN"));
    calendar
}

/// A date-time property in the series' zone: local time with `TZID`, or UTC for `UTC`.
fn zoned(name: &str, tz: Option<Tz>, times: &[DateTime<Utc>]) -> Property {
    match tz {
        Some(tz) if tz != Tz::UTC => {
            let value = times
                .iter()
                .map(|t| t.with_timezone(&tz).format("%Y%m%dT%H%M%S").to_string())
                .collect::<Vec<_>>()
                .join(",");
            let mut property = Property::new(name, value);
            property.add_parameter("TZID", tz.name());
            property.done()
        }
        _ => Property::new(name, times.iter().map(|t| utc(*t)).collect::<Vec<_>>().join(",")),
    }
}

/// A user as an iCalendar object names them: display name and e-mail address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Person {
    /// The user's name (`CN`).
    pub(crate) name: String,
    /// The user's address (`mailto:`).
    pub(crate) email: String,
}

/// The people of an export or message, by user id.
pub(crate) type People = HashMap<UserId, Person>;

/// A `CN` parameter value: no double quote or control character (RFC 5545 section 3.1, `param-value`).
fn common_name(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            '"' => '\'',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

/// A calendar user property (`ORGANIZER`, `ATTENDEE`) naming `user`: `CN` and `mailto:` when known.
fn calendar_user(name: &str, user: UserId, people: &People) -> Property {
    match people.get(&user) {
        Some(person) => {
            let mut property = Property::new(name, format!("mailto:{}", person.email));
            property.add_parameter("CN", &common_name(&person.name));
            property.done()
        }
        None => Property::new(name, format!("urn:uuid:{user}")),
    }
}

fn people(vevent: &mut Event, organizer: UserId, attendees: &[Attendee], known: &People) {
    vevent.append_property(calendar_user("ORGANIZER", organizer, known));
    for attendee in attendees {
        let mut property = calendar_user("ATTENDEE", attendee.user_id, known);
        property.add_parameter("PARTSTAT", attendee.status.partstat());
        vevent.append_multi_property(property.done());
    }
}

fn base(
    id: CalendarEventId,
    title: &str,
    description: &str,
    created: DateTime<Utc>,
    updated: DateTime<Utc>,
) -> Event {
    let mut vevent = Event::new();
    vevent
        .uid(&format!("{id}@epop"))
        .timestamp(updated)
        .add_property("CREATED", utc(created))
        .add_property("LAST-MODIFIED", utc(updated))
        .summary(title);
    if !description.is_empty() {
        vevent.description(description);
    }
    vevent
}

/// The `VEVENT` of a stored event or series with its people, without its times.
fn base_of(row: &EventRow, attendees: &[Attendee], known: &People) -> Event {
    let mut vevent = base(
        row.id,
        &row.title,
        &row.description,
        row.created_at,
        row.updated_at,
    );
    people(&mut vevent, row.user_id, attendees, known);
    vevent
}

/// The times of series `row` repeating by `rule` in `tz`: `DTSTART`, `DTEND`, `RRULE` and `EXDATE`.
fn repeats(vevent: &mut Event, row: &EventRow, rule: &str, tz: Option<Tz>) {
    vevent
        .append_property(zoned("DTSTART", tz, &[row.start_time]))
        .append_property(zoned("DTEND", tz, &[row.end_time]))
        .append_property(Property::new("RRULE", rule));
    if !row.exdates.is_empty() {
        vevent.append_property(zoned("EXDATE", tz, &row.exdates));
    }
}

/// A task with a due date, as a calendar feed shows it: a `VTODO` with `DUE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedTask {
    /// The task's id (its `UID` is `<id>@epop`).
    pub id: String,
    /// Its title (`SUMMARY`).
    pub title: String,
    /// Its description (`DESCRIPTION`, left out when empty).
    pub description: String,
    /// When it is due (`DUE`, UTC).
    pub due: DateTime<Utc>,
    /// `todo`, `in_progress`, `in_review` or `done` (`STATUS` `NEEDS-ACTION`, `IN-PROCESS` or `COMPLETED`).
    pub status: String,
    /// When it was created (`CREATED`).
    pub created_at: DateTime<Utc>,
    /// When it last changed (`DTSTAMP`, `LAST-MODIFIED`).
    pub updated_at: DateTime<Utc>,
}

fn vtodo(task: &FeedTask) -> Todo {
    let mut vtodo = Todo::new();
    vtodo
        .uid(&format!("{}@epop", task.id))
        .timestamp(task.updated_at)
        .add_property("CREATED", utc(task.created_at))
        .add_property("LAST-MODIFIED", utc(task.updated_at))
        .add_property("DUE", utc(task.due))
        .add_property(
            "STATUS",
            match task.status.as_str() {
                "done" => "COMPLETED",
                "in_progress" | "in_review" => "IN-PROCESS",
                _ => "NEEDS-ACTION",
            },
        )
        .summary(&task.title);
    if !task.description.is_empty() {
        vtodo.description(&task.description);
    }
    vtodo.done()
}

/// One instance of a series an iTIP message is about: original start, start, end.
pub(crate) type InstanceTimes = (DateTime<Utc>, DateTime<Utc>, DateTime<Utc>);

/// An iTIP (RFC 5546) message about event or series `row` for its attendees' e-mails: `METHOD:REQUEST` (an
/// invitation or a change) or `METHOD:CANCEL`, with `SEQUENCE` growing with every change. With `instance`,
/// about that instance only (`RECURRENCE-ID`; `this_and_future` adds `RANGE=THISANDFUTURE`).
pub(crate) fn render_message(
    method: &str,
    row: &EventRow,
    attendees: &[Attendee],
    known: &People,
    instance: Option<InstanceTimes>,
    this_and_future: bool,
) -> String {
    let mut calendar = calendar();
    calendar.append_property(Property::new("METHOD", method));
    let mut vevent = base_of(row, attendees, known);
    let sequence = (row.updated_at - row.created_at)
        .num_seconds()
        .clamp(0, i64::from(i32::MAX));
    vevent.add_property("SEQUENCE", sequence.to_string());
    if method == "CANCEL" {
        vevent.add_property("STATUS", "CANCELLED");
    }
    let tz = row.time_zone.parse::<Tz>().ok();
    match (instance, &row.rrule) {
        (Some((original, start, end)), _) => {
            let mut id = zoned("RECURRENCE-ID", tz, &[original]);
            if this_and_future {
                id.add_parameter("RANGE", "THISANDFUTURE");
            }
            vevent.append_property(id.done()).starts(start).ends(end);
        }
        (None, Some(rule)) => repeats(&mut vevent, row, rule, tz),
        (None, None) => {
            vevent.starts(row.start_time).ends(row.end_time);
        }
    }
    calendar.push(vevent.done());
    calendar.to_string()
}

/// Renders stored events and series (with their changed instances and attendees, named from `known`), and
/// `tasks` (as `VTODO`s), as one iCalendar object.
pub(crate) fn render_rows(
    rows: &[EventRow],
    overrides: &[OverrideRow],
    attendees: &HashMap<CalendarEventId, Vec<Attendee>>,
    known: &People,
    tasks: &[FeedTask],
) -> String {
    let mut calendar = calendar();
    for task in tasks {
        calendar.push(vtodo(task));
    }
    let none = Vec::new();
    for row in rows {
        let who = attendees.get(&row.id).unwrap_or(&none);
        let mut vevent = base_of(row, who, known);
        let Some(rule) = &row.rrule else {
            vevent.starts(row.start_time).ends(row.end_time);
            calendar.push(vevent.done());
            continue;
        };
        let tz = row.time_zone.parse::<Tz>().ok();
        repeats(&mut vevent, row, rule, tz);
        calendar.push(vevent.done());
        for change in overrides.iter().filter(|o| o.event_id == row.id) {
            let mut instance = base(
                row.id,
                change.title.as_deref().unwrap_or(&row.title),
                change.description.as_deref().unwrap_or(&row.description),
                row.created_at,
                change.updated_at.max(row.updated_at),
            );
            people(&mut instance, row.user_id, who, known);
            instance
                .append_property(zoned("RECURRENCE-ID", tz, &[change.original_start]))
                .starts(change.start_time)
                .ends(change.end_time);
            calendar.push(instance.done());
        }
    }
    calendar.to_string()
}

/// Renders `events` (as the API answers them) as one iCalendar object: each as a single event in UTC.
pub fn render(events: &[CalendarEvent]) -> String {
    let mut calendar = calendar();
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
    use crate::model::AttendeeStatus;
    use chrono::TimeZone as _;

    fn at(d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, d, h, 30, 0).unwrap()
    }

    fn row(title: &str, description: &str) -> EventRow {
        EventRow {
            id: CalendarEventId::new(),
            user_id: UserId::new(),
            title: title.to_owned(),
            description: description.to_owned(),
            start_time: at(1, 9),
            end_time: at(1, 10),
            created_at: at(1, 1),
            updated_at: at(1, 2),
            rrule: None,
            exdates: Vec::new(),
            time_zone: "UTC".to_owned(),
            series_end: None,
            last_start: None,
        }
    }

    #[test]
    fn renders_one_vevent_per_event_in_utc() {
        let rows = [row("Stand-up", ""), row("Review", "Bring notes")];
        let text = render_rows(&rows, &[], &HashMap::new(), &HashMap::new(), &[]);
        assert!(text.starts_with("BEGIN:VCALENDAR\r\n"), "{text}");
        assert!(text.ends_with("END:VCALENDAR\r\n"), "{text}");
        assert!(text.contains("VERSION:2.0\r\n"));
        assert!(text.contains(&format!("PRODID:{PRODUCT_ID}\r\n")));
        assert_eq!(text.matches("BEGIN:VEVENT\r\n").count(), 2);
        for r in &rows {
            assert!(text.contains(&format!("UID:{}@epop\r\n", r.id)), "{text}");
        }
        assert!(text.contains("DTSTART:20260301T093000Z\r\n"), "{text}");
        assert!(text.contains("DTEND:20260301T103000Z\r\n"), "{text}");
        assert!(text.contains("DTSTAMP:20260301T023000Z\r\n"), "{text}");
        assert!(text.contains("DESCRIPTION:Bring notes\r\n"));
        assert_eq!(
            text.matches("DESCRIPTION:").count(),
            1,
            "empty descriptions are left out"
        );
    }

    #[test]
    fn series_carry_rrule_exdate_and_recurrence_ids_in_their_zone() {
        let mut series = row("Weekly", "");
        series.rrule = Some("FREQ=WEEKLY;COUNT=5".to_owned());
        series.time_zone = "Europe/London".to_owned();
        series.exdates = vec![at(8, 9), at(15, 9)];
        let change = OverrideRow {
            event_id: series.id,
            original_start: at(22, 9),
            title: Some("Moved".to_owned()),
            description: None,
            start_time: at(22, 11),
            end_time: at(22, 12),
            updated_at: at(2, 0),
        };
        let (bob, gone) = (UserId::new(), UserId::new());
        let who = HashMap::from([(
            series.id,
            vec![
                Attendee {
                    user_id: bob,
                    status: AttendeeStatus::Accepted,
                },
                Attendee {
                    user_id: gone,
                    status: AttendeeStatus::Tentative,
                },
            ],
        )]);
        let known = HashMap::from([
            (
                series.user_id,
                Person {
                    name: "Ann".to_owned(),
                    email: "ann@example.com".to_owned(),
                },
            ),
            (
                bob,
                Person {
                    name: "Bob \"B\", Jr.\n".to_owned(),
                    email: "bob@example.com".to_owned(),
                },
            ),
        ]);
        let text = render_rows(std::slice::from_ref(&series), &[change], &who, &known, &[]);
        assert!(
            text.contains("DTSTART;TZID=Europe/London:20260301T093000\r\n"),
            "{text}"
        );
        assert!(text.contains("RRULE:FREQ=WEEKLY;COUNT=5\r\n"), "{text}");
        assert!(
            text.contains("EXDATE;TZID=Europe/London:20260308T093000,20260315T093000\r\n"),
            "{text}"
        );
        assert!(
            text.contains("RECURRENCE-ID;TZID=Europe/London:20260322T093000\r\n"),
            "{text}"
        );
        assert!(text.contains("SUMMARY:Moved\r\n"), "{text}");
        let unfolded = text.replace("\r\n ", "");
        assert_eq!(
            unfolded
                .matches("ORGANIZER;CN=Ann:mailto:ann@example.com\r\n")
                .count(),
            2,
            "on the series and its changed instance: {text}"
        );
        assert_eq!(
            unfolded
                .matches("ATTENDEE;CN=\"Bob 'B', Jr. \";PARTSTAT=ACCEPTED:mailto:bob@example.com\r\n")
                .count(),
            2,
            "quoted, without double quotes or line breaks: {text}"
        );
        assert!(
            unfolded.contains(&format!("ATTENDEE;PARTSTAT=TENTATIVE:urn:uuid:{gone}\r\n")),
            "a user no longer found: {text}"
        );
        assert_eq!(text.matches(&format!("UID:{}@epop", series.id)).count(), 2);
    }

    #[test]
    fn escapes_text_and_folds_long_lines() {
        let long = "ü".repeat(100);
        let text = render_rows(
            &[row("a, b; c\\d", &format!("line1\nline2 {long}"))],
            &[],
            &HashMap::new(),
            &HashMap::new(),
            &[],
        );
        assert!(text.contains("SUMMARY:a\\, b\\; c\\\\d\r\n"), "{text}");
        assert!(text.contains("line1\\nline2"), "{text}");
        for line in text.split("\r\n") {
            assert!(line.len() <= 75, "unfolded line: {line:?}");
        }
    }

    #[test]
    fn tasks_are_todos_and_messages_carry_their_method() {
        let task = FeedTask {
            id: "t1".to_owned(),
            title: "File taxes".to_owned(),
            description: String::new(),
            due: at(9, 17),
            status: "in_review".to_owned(),
            created_at: at(1, 1),
            updated_at: at(2, 1),
        };
        let text = render_rows(&[], &[], &HashMap::new(), &HashMap::new(), &[task]);
        assert!(text.contains("BEGIN:VTODO\r\n"), "{text}");
        assert!(text.contains("DUE:20260309T173000Z\r\n"), "{text}");
        assert!(text.contains("STATUS:IN-PROCESS\r\n"), "{text}");
        assert!(text.contains("UID:t1@epop\r\n"), "{text}");

        let mut series = row("Weekly", "");
        series.rrule = Some("FREQ=WEEKLY;COUNT=5".to_owned());
        series.time_zone = "Europe/London".to_owned();
        let request = render_message("REQUEST", &series, &[], &HashMap::new(), None, false);
        assert!(request.contains("METHOD:REQUEST\r\n"), "{request}");
        assert!(request.contains("RRULE:FREQ=WEEKLY;COUNT=5\r\n"), "{request}");
        assert!(request.contains("SEQUENCE:3600\r\n"), "{request}");
        let cancel = render_message(
            "CANCEL",
            &series,
            &[],
            &HashMap::new(),
            Some((at(8, 9), at(8, 9), at(8, 10))),
            true,
        );
        assert!(cancel.contains("METHOD:CANCEL\r\n"), "{cancel}");
        assert!(cancel.contains("STATUS:CANCELLED\r\n"), "{cancel}");
        assert!(
            cancel.contains("RECURRENCE-ID;TZID=Europe/London;RANGE=THISANDFUTURE:20260308T093000\r\n")
                || cancel
                    .contains("RECURRENCE-ID;RANGE=THISANDFUTURE;TZID=Europe/London:20260308T093000\r\n"),
            "{cancel}"
        );
    }

    #[test]
    fn an_empty_export_is_a_valid_calendar() {
        let text = render(&[]);
        assert!(text.starts_with("BEGIN:VCALENDAR\r\n"));
        assert!(!text.contains("BEGIN:VEVENT"));
    }
}
