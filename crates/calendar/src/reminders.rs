//! Reminders of events (`docs/api.md`, Event reminders): each organiser or attendee chooses minutes before the
//! start; a reminder is due at every instance's start minus each of them (overrides and cancelled instances
//! included), and is announced as a `calendar_reminder` notification by the durable job queue.
//!
//! Design:
//! - **One job per (event or series, user).** A row of `calendar_event_reminders` keeps the next due instant
//!   (`next_at`) and the one job of the `calendar-reminders` queue queued for it (`job_id`). Every change to the
//!   event (times, rule, exdates, overrides, splits, attendees) recomputes `next_at` in its transaction and moves
//!   the job (`jobs::reschedule_all_queued`), or queues a new one when the old one is already running, or
//!   cancels it when nothing is ahead; all rows of an event in one statement each.
//! - **Chained.** The job, when it runs, locks the row, announces the reminders due at `next_at`, records it as
//!   `fired_until` and queues the job for the next one, in one transaction. A job that finds `next_at` still
//!   ahead (the event changed meanwhile and another job took over) does nothing, and nothing at or before
//!   `fired_until` is announced again: a job run twice announces once.
//! - **Times** are absolute instants (`start - minutes`): an instance's start is already placed in its series'
//!   zone (see [`crate::recurrence`]), so a reminder keeps its distance across daylight-saving changes.
//! - **Late.** Workers poll every second, so a reminder comes about a second late while they keep up.
//!   Reminders missed by more than [`STALE_AFTER`] (workers were down) are skipped, not announced in a burst.

use crate::error::{CalendarError, CalendarResult};
use crate::instances::{self, EventRef};
use crate::model::TimeRange;
use crate::repo::events::{self, EventRow, OverrideRow};
use crate::repo::reminders::{self as repo, ReminderRow, Schedule};
use crate::service::{CalendarService, blocking, notice};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use diesel_async::{AsyncConnection as _, AsyncPgConnection};
use epop_core::model::CalendarNoticeKind;
use epop_core::{CalendarEventId, FieldError, UserId};
use epop_storage::jobs::{self, JobHandler};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::HashMap;

/// The job queue of event reminders.
pub const REMINDERS_QUEUE: &str = "calendar-reminders";
/// The most minutes before a start a reminder may be (four weeks).
pub const MAX_REMINDER_MINUTES: i64 = 40_320;
/// Reminders due longer ago than this when their job runs are skipped.
pub const STALE_AFTER: Duration = Duration::minutes(10);

/// A user's reminders of an event or series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventReminders {
    /// The event or series (an instance id names its series).
    pub event_id: String,
    /// Minutes before the start of each instance, ascending (empty: no reminders).
    pub minutes: Vec<i32>,
    /// When the next reminder is due; `null` when none is ahead.
    pub next_reminder_at: Option<DateTime<Utc>>,
}

/// One instance a reminder can be about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Occurrence {
    /// Its API id (the event's, or the instance's).
    pub(crate) id: String,
    pub(crate) start: DateTime<Utc>,
    pub(crate) title: String,
}

/// The instances of `row` (a single event: itself) that start after `after`, by start, at most `max`.
pub(crate) fn upcoming(
    row: &EventRow,
    overrides: &[OverrideRow],
    after: DateTime<Utc>,
    max: usize,
) -> Vec<Occurrence> {
    if row.rrule.is_none() {
        return if row.start_time > after {
            vec![Occurrence {
                id: row.id.to_string(),
                start: row.start_time,
                title: row.title.clone(),
            }]
        } else {
            Vec::new()
        };
    }
    let own: Vec<OverrideRow> = overrides
        .iter()
        .filter(|o| o.event_id == row.id)
        .cloned()
        .collect();
    let range = TimeRange {
        from: Some(after),
        to: None,
    };
    instances::expand(std::slice::from_ref(row), &own, &range, None, max, max)
        .into_iter()
        .filter(|i| i.start > after)
        .map(|i| Occurrence {
            title: i.title.clone().unwrap_or_else(|| row.title.clone()),
            id: i.id,
            start: i.start,
        })
        .collect()
}

/// The first instant after `after` at which one of `occurrences` (by start) is `minutes` away.
pub(crate) fn next_due(
    occurrences: &[Occurrence],
    minutes: &[i32],
    after: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let furthest = Duration::minutes(i64::from(minutes.iter().copied().max()?));
    let mut best: Option<DateTime<Utc>> = None;
    for occurrence in occurrences {
        // Later instances are reminded of no earlier than their start minus the furthest offset.
        if best.is_some_and(|b| occurrence.start - furthest > b) {
            break;
        }
        for m in minutes {
            let at = occurrence.start - Duration::minutes(i64::from(*m));
            if at > after && best.is_none_or(|b| at < b) {
                best = Some(at);
            }
        }
    }
    best
}

/// The instances of `occurrences` that have a reminder due exactly at `at`.
pub(crate) fn due_at<'a>(
    occurrences: &'a [Occurrence],
    minutes: &[i32],
    at: DateTime<Utc>,
) -> Vec<&'a Occurrence> {
    occurrences
        .iter()
        .filter(|o| {
            minutes
                .iter()
                .any(|m| o.start - Duration::minutes(i64::from(*m)) == at)
        })
        .collect()
}

/// Checks a list of minutes: at most `max` entries, each 0..=[`MAX_REMINDER_MINUTES`]; answers it sorted,
/// without duplicates.
pub(crate) fn check_minutes(minutes: &[i64], max: usize) -> CalendarResult<Vec<i32>> {
    let mut errors: Vec<FieldError> = minutes
        .iter()
        .enumerate()
        .filter(|(_, m)| !(0..=MAX_REMINDER_MINUTES).contains(*m))
        .map(|(i, _)| {
            FieldError::new(
                format!("minutes[{i}]"),
                format!("must be 0 to {MAX_REMINDER_MINUTES} minutes before the start"),
            )
        })
        .collect();
    let mut out: Vec<i32> = minutes.iter().filter_map(|m| i32::try_from(*m).ok()).collect();
    out.sort_unstable();
    out.dedup();
    if out.len() > max {
        errors.insert(
            0,
            FieldError::new("minutes", format!("must have at most {max} different entries")),
        );
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(CalendarError::Invalid(errors))
    }
}

/// The payload of a reminder job.
fn job_payload(event: CalendarEventId, user: UserId) -> Value {
    json!({"event_id": event, "user_id": user})
}

impl CalendarService {
    /// Recomputes the next reminder of every reminder row of `events` (locked until the transaction ends) and
    /// moves, queues or cancels their jobs: one statement each, whatever the number of rows. Reminders at or
    /// before `floor`, or at or before a row's `fired_until` (`fired` when given: the reminder just
    /// announced, which becomes `fired_until`), are not due any more.
    pub(crate) async fn refresh_reminders(
        &self,
        conn: &mut AsyncPgConnection,
        rows: &[EventRow],
        floor: DateTime<Utc>,
        fired: Option<DateTime<Utc>>,
    ) -> CalendarResult<()> {
        let ids: Vec<CalendarEventId> = rows.iter().map(|r| r.id).collect();
        let reminders = repo::of_events(conn, &ids, true).await?;
        if reminders.is_empty() {
            return Ok(());
        }
        let series: Vec<CalendarEventId> = rows.iter().filter(|r| r.rrule.is_some()).map(|r| r.id).collect();
        let overrides = events::overrides_of(conn, &series, None).await?;
        let max = self.limits().max_series_instances;
        let rows = rows.to_vec();
        let planned: Vec<(ReminderRow, Option<DateTime<Utc>>)> = blocking(move || {
            let by_event: HashMap<CalendarEventId, Vec<Occurrence>> = rows
                .iter()
                .map(|row| (row.id, upcoming(row, &overrides, floor, max)))
                .collect();
            reminders
                .into_iter()
                .map(|reminder| {
                    let after = fired.or(reminder.fired_until).map_or(floor, |f| f.max(floor));
                    let next = by_event
                        .get(&reminder.event_id)
                        .and_then(|occurrences| next_due(occurrences, &reminder.minutes, after));
                    (reminder, next)
                })
                .collect()
        })
        .await?;
        apply(conn, planned, fired).await
    }

    /// `me`'s reminders of event, series or instance `id` (an instance names its series); `NotFound` when
    /// `me` neither organises nor attends it.
    #[tracing::instrument(skip(self))]
    pub async fn reminders(&self, me: UserId, id: &str) -> CalendarResult<EventReminders> {
        let reference = EventRef::parse(id).ok_or(CalendarError::NotFound)?;
        let mut conn = self.pool().get().await?;
        let row = events::find_visible(&mut conn, me, reference.event_id())
            .await?
            .ok_or(CalendarError::NotFound)?;
        self.check_instance(&row, reference).await?;
        let mine = repo::find(&mut conn, row.id, me, false).await?;
        Ok(EventReminders {
            event_id: row.id.to_string(),
            minutes: mine.as_ref().map(|r| r.minutes.clone()).unwrap_or_default(),
            next_reminder_at: mine.and_then(|r| r.next_at),
        })
    }

    /// Sets `me`'s reminders of event, series or instance `id` (an instance names its series) to `minutes`
    /// before each start; an empty list removes them. Schedules the next one at once.
    #[tracing::instrument(skip(self))]
    pub async fn set_reminders(
        &self,
        me: UserId,
        id: &str,
        minutes: &[i64],
    ) -> CalendarResult<EventReminders> {
        let minutes = check_minutes(minutes, self.limits().max_reminders)?;
        let reference = EventRef::parse(id).ok_or(CalendarError::NotFound)?;
        let now = self.clock().now();
        let mut conn = self.pool().get().await?;
        conn.transaction::<_, CalendarError, _>(async |conn| {
            events::find_visible(conn, me, reference.event_id())
                .await?
                .ok_or(CalendarError::NotFound)?;
            let row = events::find_for_update(conn, reference.event_id())
                .await?
                .ok_or(CalendarError::NotFound)?;
            self.check_instance(&row, reference).await?;
            if minutes.is_empty() {
                let jobs = repo::delete(conn, row.id, Some(&[me])).await?;
                jobs::cancel_all_queued(conn, &jobs).await?;
                return Ok(EventReminders {
                    event_id: row.id.to_string(),
                    minutes: Vec::new(),
                    next_reminder_at: None,
                });
            }
            repo::upsert(conn, row.id, me, &minutes, now).await?;
            self.refresh_reminders(conn, std::slice::from_ref(&row), now, None)
                .await?;
            let mine = repo::find(conn, row.id, me, false).await?;
            Ok(EventReminders {
                event_id: row.id.to_string(),
                minutes: minutes.clone(),
                next_reminder_at: mine.and_then(|r| r.next_at),
            })
        })
        .await
    }

    /// Runs a reminder job: announces `user`'s reminders of `event` due at the row's `next_at` (unless that is
    /// still ahead: another job took over) and chains the job of the next one.
    #[tracing::instrument(skip(self))]
    pub async fn announce_reminders(&self, event: CalendarEventId, user: UserId) -> CalendarResult<()> {
        let now = self.clock().now();
        let max = self.limits().max_series_instances;
        let mut conn = self.pool().get().await?;
        let noticed = conn
            .transaction::<_, CalendarError, _>(async |conn| {
                let Some(reminder) = repo::find(conn, event, user, true).await? else {
                    return Ok(false);
                };
                let Some(at) = reminder.next_at else {
                    return Ok(false);
                };
                // Workers claim a job once its time has come; a `next_at` still ahead belongs to another job.
                if at > now + Duration::seconds(1) {
                    return Ok(false);
                }
                // Not locked: changes lock the event, then its reminder rows; this job holds the row already.
                let Some(row) = events::find(conn, event).await? else {
                    return Ok(false);
                };
                let overrides = if row.rrule.is_some() {
                    events::overrides_of(conn, &[row.id], None).await?
                } else {
                    Vec::new()
                };
                let declined = events::attendees_of(conn, &[row.id])
                    .await?
                    .iter()
                    .any(|a| a.user_id == user && a.status == "declined");
                let (copy, minutes) = (row.clone(), reminder.minutes.clone());
                let due: Vec<Occurrence> = blocking(move || {
                    let occurrences = upcoming(&copy, &overrides, at - Duration::microseconds(1), max);
                    due_at(&occurrences, &minutes, at).into_iter().cloned().collect()
                })
                .await?;
                let mut noticed = false;
                if !declined && now - at <= STALE_AFTER {
                    for occurrence in &due {
                        let mut about = row.clone();
                        about.title.clone_from(&occurrence.title);
                        noticed |= notice(
                            conn,
                            CalendarNoticeKind::Reminder,
                            occurrence.id.clone(),
                            &about,
                            occurrence.start,
                            vec![user],
                            None,
                        )
                        .await?;
                    }
                }
                self.refresh_reminders(
                    conn,
                    std::slice::from_ref(&row),
                    at.max(now - STALE_AFTER),
                    Some(at),
                )
                .await?;
                Ok(noticed)
            })
            .await?;
        if noticed {
            self.notifier().notify();
        }
        Ok(())
    }

    /// `NotFound` when `reference` names an instance that `row` does not have.
    async fn check_instance(&self, row: &EventRow, reference: EventRef) -> CalendarResult<()> {
        match reference {
            EventRef::Whole(_) => Ok(()),
            EventRef::Instance(_, original) => {
                self.instance_of(row.clone(), original, None).await?;
                Ok(())
            }
        }
    }

    /// Cancels the reminders of `event` of `users` (all for `None`): their rows and queued jobs.
    pub(crate) async fn drop_reminders(
        conn: &mut AsyncPgConnection,
        event: CalendarEventId,
        users: Option<&[UserId]>,
    ) -> CalendarResult<()> {
        if users.is_some_and(<[UserId]>::is_empty) {
            return Ok(());
        }
        let jobs = repo::delete(conn, event, users).await?;
        jobs::cancel_all_queued(conn, &jobs).await?;
        Ok(())
    }
}

/// Stores planned schedules: cancels the jobs of rows with nothing ahead, moves queued jobs, queues new ones
/// where there was none or the old one already runs, and writes the rows that changed (or all, with `fired`).
async fn apply(
    conn: &mut AsyncPgConnection,
    planned: Vec<(ReminderRow, Option<DateTime<Utc>>)>,
    fired: Option<DateTime<Utc>>,
) -> CalendarResult<()> {
    let changed: Vec<(ReminderRow, Option<DateTime<Utc>>)> = planned
        .into_iter()
        .filter(|(row, next)| {
            fired.is_some() || row.next_at != *next || row.job_id.is_some() != next.is_some()
        })
        .collect();
    if changed.is_empty() {
        return Ok(());
    }
    let cancelled: Vec<i64> = changed
        .iter()
        .filter(|(_, next)| next.is_none())
        .filter_map(|(row, _)| row.job_id)
        .collect();
    jobs::cancel_all_queued(conn, &cancelled).await?;
    let moves: Vec<(i64, DateTime<Utc>)> = changed
        .iter()
        .filter_map(|(row, next)| Some((row.job_id?, (*next)?)))
        .collect();
    let moved = jobs::reschedule_all_queued(conn, &moves).await?;
    let fresh: Vec<(Value, DateTime<Utc>)> = changed
        .iter()
        .filter_map(|(row, next)| {
            let at = (*next)?;
            let kept = row.job_id.is_some_and(|job| moved.contains(&job));
            (!kept).then(|| (job_payload(row.event_id, row.user_id), at))
        })
        .collect();
    let mut new_ids = jobs::enqueue_all_at(conn, REMINDERS_QUEUE, &fresh)
        .await?
        .into_iter();
    let schedules: Vec<Schedule> = changed
        .iter()
        .map(|(row, next)| {
            let job_id = match next {
                None => None,
                Some(_) if row.job_id.is_some_and(|job| moved.contains(&job)) => row.job_id,
                Some(_) => new_ids.next(),
            };
            Schedule {
                event_id: row.event_id,
                user_id: row.user_id,
                next_at: job_id.and(*next),
                job_id,
            }
        })
        .collect();
    repo::set_schedules(conn, &schedules, fired).await
}

/// Runs the `calendar-reminders` jobs.
#[derive(Debug, Clone)]
pub struct ReminderJobs(pub CalendarService);

#[async_trait]
impl JobHandler for ReminderJobs {
    fn queue(&self) -> &'static str {
        REMINDERS_QUEUE
    }

    async fn run(&self, payload: &Value) -> Result<(), String> {
        let text = |key: &str| {
            payload
                .get(key)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("the job has no {key}"))
        };
        let event: CalendarEventId = text("event_id")?
            .parse()
            .map_err(|_| "the job's event_id is no id")?;
        let user: UserId = text("user_id")?
            .parse()
            .map_err(|_| "the job's user_id is no id")?;
        self.0
            .announce_reminders(event, user)
            .await
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn utc(m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, m, d, h, min, 0).unwrap()
    }

    fn series(rule: &str, tz: &str, start: DateTime<Utc>) -> EventRow {
        EventRow {
            id: CalendarEventId::new(),
            user_id: UserId::new(),
            title: "Stand-up".to_owned(),
            description: String::new(),
            start_time: start,
            end_time: start + Duration::minutes(15),
            created_at: start,
            updated_at: start,
            rrule: Some(rule.to_owned()),
            exdates: Vec::new(),
            time_zone: tz.to_owned(),
            series_end: Some(start + Duration::days(365)),
            last_start: None,
        }
    }

    #[test]
    fn reminders_keep_their_distance_across_daylight_saving_changes() {
        // 09:00 London every day from 26 March 2026; BST starts 29 March.
        let row = series("FREQ=DAILY;COUNT=7", "Europe/London", utc(3, 26, 9, 0));
        let occurrences = upcoming(&row, &[], utc(3, 28, 9, 0), 1000);
        assert_eq!(occurrences[0].start, utc(3, 29, 8, 0), "09:00 BST");
        let next = next_due(&occurrences, &[15, 60], utc(3, 28, 9, 0));
        assert_eq!(next, Some(utc(3, 29, 7, 0)), "an hour before 09:00 BST");
        let after = next_due(&occurrences, &[15, 60], utc(3, 29, 7, 0));
        assert_eq!(after, Some(utc(3, 29, 7, 45)));
        assert_eq!(due_at(&occurrences, &[15, 60], utc(3, 29, 7, 45)).len(), 1);
        // New York, 1 November 2026 (EDT ends): 09:00 local, reminded 30 minutes before at 13:30Z then 14:30Z.
        let row = series("FREQ=DAILY;COUNT=3", "America/New_York", utc(10, 31, 13, 0));
        let occurrences = upcoming(&row, &[], utc(10, 31, 13, 0), 1000);
        let starts: Vec<_> = occurrences.iter().map(|o| o.start).collect();
        assert_eq!(starts, [utc(11, 1, 14, 0), utc(11, 2, 14, 0)]);
        assert_eq!(
            next_due(&occurrences, &[30], utc(10, 31, 13, 0)),
            Some(utc(11, 1, 13, 30))
        );
    }

    #[test]
    fn overrides_and_exdates_move_and_drop_reminders() {
        let mut row = series("FREQ=DAILY;COUNT=3", "UTC", utc(5, 4, 9, 0));
        row.exdates = vec![utc(5, 5, 9, 0)];
        let moved = OverrideRow {
            event_id: row.id,
            original_start: utc(5, 6, 9, 0),
            title: Some("Moved".to_owned()),
            description: None,
            start_time: utc(5, 6, 15, 0),
            end_time: utc(5, 6, 16, 0),
            updated_at: utc(5, 1, 0, 0),
        };
        let occurrences = upcoming(&row, &[moved], utc(5, 4, 9, 0), 1000);
        assert_eq!(occurrences.len(), 1, "the cancelled one is gone");
        assert_eq!(occurrences[0].start, utc(5, 6, 15, 0));
        assert_eq!(occurrences[0].title, "Moved");
        assert_eq!(
            next_due(&occurrences, &[10], utc(5, 4, 9, 0)),
            Some(utc(5, 6, 14, 50))
        );
        assert_eq!(next_due(&occurrences, &[10], utc(5, 6, 14, 50)), None);
        assert_eq!(next_due(&occurrences, &[], utc(5, 1, 0, 0)), None);
    }

    #[test]
    fn minutes_are_bounded_sorted_and_deduplicated() {
        assert_eq!(check_minutes(&[60, 10, 60, 0], 5).unwrap(), [0, 10, 60]);
        let fields = |r: CalendarResult<Vec<i32>>| match r {
            Err(CalendarError::Invalid(errors)) => errors.into_iter().map(|e| e.field).collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            fields(check_minutes(&[5, -1, 40_321], 5)),
            ["minutes[1]", "minutes[2]"]
        );
        assert_eq!(fields(check_minutes(&[1, 2, 3], 2)), ["minutes"]);
    }
}
