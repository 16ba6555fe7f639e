//! The rules of the calendar: owners only, `end_time` after `start_time` (also against stored values), range
//! listing with stable paging, and the export.

use crate::error::{CalendarError, CalendarResult};
use crate::ics;
use crate::model::{CalendarEvent, EventChanges, NewEvent, TimeRange};
use crate::repo::events::{self, EventChangeset, EventRow, Keyset, NewEventRow};
use chrono::{DateTime, Datelike as _, Utc};
use diesel_async::AsyncConnection as _;
use epop_core::{CalendarEventId, Clock, FieldError, Page, PageRequest, UserId};
use epop_storage::DbPool;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 10_000;
/// Most events in one `.ics` export.
pub const MAX_EXPORT_EVENTS: i64 = 10_000;

/// Each user's own calendar events.
#[derive(Clone)]
pub struct CalendarService {
    pool: DbPool,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for CalendarService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CalendarService").finish_non_exhaustive()
    }
}

/// Where the next page starts, and when the first page was read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct EventCursor {
    /// The last item's start.
    s: DateTime<Utc>,
    /// The last item's id.
    i: CalendarEventId,
    /// When the first page was read.
    a: DateTime<Utc>,
}

impl From<EventRow> for CalendarEvent {
    fn from(row: EventRow) -> Self {
        Self {
            id: row.id,
            title: row.title,
            description: row.description,
            start_time: row.start_time,
            end_time: row.end_time,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// Years both PostgreSQL and iCalendar (four-digit years) can write.
fn in_supported_years(time: DateTime<Utc>) -> bool {
    (1..=9999).contains(&time.year())
}

fn check_time(field: &str, time: Option<DateTime<Utc>>, errors: &mut Vec<FieldError>) {
    if time.is_some_and(|t| !in_supported_years(t)) {
        errors.push(FieldError::new(field, "must be within the years 1 to 9999"));
    }
}

/// Checks the fields of a new event or of a change: lengths of the given texts, supported years of the given
/// `times` (start, end), and, when known, that the `effective` (start, end) the event would have is in order.
fn check_fields(
    title: Option<&str>,
    description: Option<&str>,
    times: (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
    effective: Option<(DateTime<Utc>, DateTime<Utc>)>,
) -> CalendarResult<()> {
    let mut errors = Vec::new();
    if let Some(title) = title {
        let chars = title.chars().count();
        if chars == 0 || chars > MAX_TITLE_CHARS {
            errors.push(FieldError::new(
                "title",
                format!("must be 1 to {MAX_TITLE_CHARS} characters"),
            ));
        }
    }
    if description.is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS) {
        errors.push(FieldError::new(
            "description",
            format!("must be at most {MAX_DESCRIPTION_CHARS} characters"),
        ));
    }
    check_time("start_time", times.0, &mut errors);
    check_time("end_time", times.1, &mut errors);
    if let Some((start, end)) = effective
        && end <= start
        && !errors.iter().any(|e| e.field == "end_time")
    {
        errors.push(FieldError::new("end_time", "must be after start_time"));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(CalendarError::Invalid(errors))
    }
}

/// Checks a listing range: supported years, and `from` not after `to`.
fn check_range(range: &TimeRange) -> CalendarResult<()> {
    let mut errors = Vec::new();
    check_time("from", range.from, &mut errors);
    check_time("to", range.to, &mut errors);
    if let (Some(from), Some(to)) = (range.from, range.to)
        && to < from
    {
        errors.push(FieldError::new("to", "must not be before from"));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(CalendarError::Invalid(errors))
    }
}

impl CalendarService {
    /// Builds the service.
    pub fn new(pool: DbPool, clock: Arc<dyn Clock>) -> Self {
        Self { pool, clock }
    }

    /// Creates an event owned by `me`.
    #[tracing::instrument(skip(self, new), fields(title_chars = new.title.chars().count()))]
    pub async fn create(&self, me: UserId, new: &NewEvent) -> CalendarResult<CalendarEvent> {
        check_fields(
            Some(&new.title),
            Some(&new.description),
            (Some(new.start_time), Some(new.end_time)),
            Some((new.start_time, new.end_time)),
        )?;
        let now = self.clock.now();
        let mut conn = self.pool.get().await?;
        let row = events::insert(
            &mut conn,
            &NewEventRow {
                id: CalendarEventId::new(),
                user_id: me,
                title: &new.title,
                description: &new.description,
                start_time: new.start_time,
                end_time: new.end_time,
                created_at: now,
                updated_at: now,
            },
        )
        .await?;
        Ok(row.into())
    }

    /// `me`'s event `id`.
    #[tracing::instrument(skip(self))]
    pub async fn event(&self, me: UserId, id: CalendarEventId) -> CalendarResult<CalendarEvent> {
        let mut conn = self.pool.get().await?;
        events::find(&mut conn, me, id)
            .await?
            .map(CalendarEvent::from)
            .ok_or(CalendarError::NotFound)
    }

    /// Changes the given fields of `me`'s event `id`, checking the result against the stored values (a new
    /// `end_time` before the stored `start_time` is invalid). No changes answer the event as it is.
    #[tracing::instrument(skip(self, changes))]
    pub async fn update(
        &self,
        me: UserId,
        id: CalendarEventId,
        changes: &EventChanges,
    ) -> CalendarResult<CalendarEvent> {
        check_fields(
            changes.title.as_deref(),
            changes.description.as_deref(),
            (changes.start_time, changes.end_time),
            None,
        )?;
        let now = self.clock.now();
        let mut conn = self.pool.get().await?;
        let row = conn
            .transaction::<_, CalendarError, _>(async |conn| {
                let stored = events::find_for_update(conn, me, id)
                    .await?
                    .ok_or(CalendarError::NotFound)?;
                if changes.is_empty() {
                    return Ok(stored);
                }
                let start = changes.start_time.unwrap_or(stored.start_time);
                let end = changes.end_time.unwrap_or(stored.end_time);
                check_fields(None, None, (None, None), Some((start, end)))?;
                events::update(
                    conn,
                    stored.id,
                    &EventChangeset {
                        title: changes.title.as_deref(),
                        description: changes.description.as_deref(),
                        start_time: changes.start_time,
                        end_time: changes.end_time,
                        updated_at: now,
                    },
                )
                .await
            })
            .await?;
        Ok(row.into())
    }

    /// Deletes `me`'s event `id`.
    #[tracing::instrument(skip(self))]
    pub async fn delete(&self, me: UserId, id: CalendarEventId) -> CalendarResult<()> {
        let mut conn = self.pool.get().await?;
        if events::delete(&mut conn, me, id).await? {
            Ok(())
        } else {
            Err(CalendarError::NotFound)
        }
    }

    /// `me`'s events overlapping `range`, by `start_time` then `id`. Later pages walk the list as it stood
    /// at the first page (see the crate's design note).
    #[tracing::instrument(skip(self))]
    pub async fn events(
        &self,
        me: UserId,
        range: &TimeRange,
        page: &PageRequest,
    ) -> CalendarResult<Page<CalendarEvent>> {
        check_range(range)?;
        let cursor = page
            .cursor
            .as_ref()
            .map(|c| c.decode::<EventCursor>().map_err(|_| CalendarError::BadCursor))
            .transpose()?;
        let as_of = cursor.as_ref().map_or_else(|| self.clock.now(), |c| c.a);
        let after = cursor.map(|c| Keyset {
            start_time: c.s,
            id: c.i,
        });
        let mut conn = self.pool.get().await?;
        let rows = events::list(
            &mut conn,
            me,
            range,
            after,
            Some(as_of),
            i64::from(page.limit) + 1,
        )
        .await?;
        Ok(Page::from_overfetch(rows, page.limit, |row| EventCursor {
            s: row.start_time,
            i: row.id,
            a: as_of,
        })
        .map(CalendarEvent::from))
    }

    /// `me`'s events overlapping `range` as one iCalendar object: not paged, the earliest
    /// [`MAX_EXPORT_EVENTS`] at most.
    #[tracing::instrument(skip(self))]
    pub async fn export_ics(&self, me: UserId, range: &TimeRange) -> CalendarResult<String> {
        check_range(range)?;
        let mut conn = self.pool.get().await?;
        let rows = events::list(&mut conn, me, range, None, None, MAX_EXPORT_EVENTS).await?;
        drop(conn);
        let events: Vec<CalendarEvent> = rows.into_iter().map(CalendarEvent::from).collect();
        Ok(ics::render(&events))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;
    use epop_core::Cursor;

    fn decode(cursor: &str) -> CalendarResult<EventCursor> {
        Cursor(cursor.to_owned())
            .decode()
            .map_err(|_| CalendarError::BadCursor)
    }

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 4, h, 0, 0).unwrap()
    }

    fn fields(result: CalendarResult<()>) -> Vec<String> {
        match result {
            Err(CalendarError::Invalid(errors)) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn end_must_be_after_start() {
        assert!(
            check_fields(
                Some("a"),
                Some(""),
                (Some(at(9)), Some(at(10))),
                Some((at(9), at(10)))
            )
            .is_ok()
        );
        for end in [at(9), at(8)] {
            assert_eq!(
                fields(check_fields(
                    Some("a"),
                    None,
                    (Some(at(9)), Some(end)),
                    Some((at(9), end))
                )),
                vec!["end_time"]
            );
        }
    }

    #[test]
    fn every_failing_field_is_listed() {
        let long = "x".repeat(MAX_DESCRIPTION_CHARS + 1);
        let far = Utc.with_ymd_and_hms(10_000, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(
            fields(check_fields(Some(""), Some(&long), (Some(far), None), None)),
            vec!["title", "description", "start_time"]
        );
        let title = "é".repeat(MAX_TITLE_CHARS);
        assert!(check_fields(Some(&title), None, (None, None), None).is_ok());
        let title = "é".repeat(MAX_TITLE_CHARS + 1);
        assert_eq!(
            fields(check_fields(Some(&title), None, (None, None), None)),
            vec!["title"]
        );
    }

    #[test]
    fn ranges_are_half_open_and_ordered() {
        let range = TimeRange {
            from: Some(at(10)),
            to: Some(at(12)),
        };
        assert!(!range.contains(at(9), at(10)), "ends exactly at from");
        assert!(range.contains(at(9), at(11)));
        assert!(range.contains(at(11), at(13)));
        assert!(!range.contains(at(12), at(13)), "starts exactly at to");
        assert!(TimeRange::default().contains(at(1), at(2)));
        assert!(
            TimeRange {
                from: None,
                to: Some(at(2))
            }
            .contains(at(0), at(23))
        );
        let instant = TimeRange {
            from: Some(at(10)),
            to: Some(at(10)),
        };
        assert!(instant.contains(at(9), at(11)));
        assert!(check_range(&instant).is_ok());
        let inverted = TimeRange {
            from: Some(at(12)),
            to: Some(at(10)),
        };
        assert_eq!(fields(check_range(&inverted)), vec!["to"]);
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let cursor = EventCursor {
            s: at(9),
            i: CalendarEventId::new(),
            a: at(1),
        };
        let encoded = Cursor::encode(&cursor).0;
        assert_eq!(decode(&encoded).unwrap(), cursor);
        assert!(matches!(decode("nope"), Err(CalendarError::BadCursor)));
        assert!(matches!(
            decode(&Cursor::encode(&[1, 2]).0),
            Err(CalendarError::BadCursor)
        ));
    }

    #[test]
    fn events_serialize_as_the_contract_shape() {
        let event = CalendarEvent {
            id: CalendarEventId::new(),
            title: "t".into(),
            description: String::new(),
            start_time: at(9),
            end_time: at(10),
            created_at: at(1),
            updated_at: at(2),
        };
        let json = serde_json::to_value(&event).unwrap();
        let mut keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "created_at",
                "description",
                "end_time",
                "id",
                "start_time",
                "title",
                "updated_at"
            ]
        );
        assert_eq!(json["start_time"], "2026-05-04T09:00:00Z");
    }
}
