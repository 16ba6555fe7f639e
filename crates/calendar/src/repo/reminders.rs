//! `calendar_event_reminders`: each user's reminders of an event or series, with the one job queued for the
//! next due reminder.

use crate::error::CalendarResult;
use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, Int8, Nullable, Timestamptz, Uuid as SqlUuid};
use diesel::{
    ExpressionMethods as _, OptionalExtension as _, QueryDsl as _, Queryable, Selectable,
    SelectableHelper as _,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use epop_core::{CalendarEventId, UserId};
use epop_storage::schema::calendar_event_reminders;

/// A row of `calendar_event_reminders`.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = calendar_event_reminders, check_for_backend(diesel::pg::Pg))]
pub(crate) struct ReminderRow {
    pub(crate) event_id: CalendarEventId,
    pub(crate) user_id: UserId,
    /// Minutes before each instance's start, sorted, without duplicates.
    pub(crate) minutes: Vec<i32>,
    /// When the next reminder is due (`None`: none is ahead).
    pub(crate) next_at: Option<DateTime<Utc>>,
    /// The job queued for `next_at`.
    pub(crate) job_id: Option<i64>,
    /// The latest reminder announced.
    pub(crate) fired_until: Option<DateTime<Utc>>,
}

/// What a row's schedule becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Schedule {
    pub(crate) event_id: CalendarEventId,
    pub(crate) user_id: UserId,
    pub(crate) next_at: Option<DateTime<Utc>>,
    pub(crate) job_id: Option<i64>,
}

/// The reminder rows of `events`, row-locked until the transaction ends when `lock`.
pub(crate) async fn of_events(
    conn: &mut AsyncPgConnection,
    events: &[CalendarEventId],
    lock: bool,
) -> CalendarResult<Vec<ReminderRow>> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let query = calendar_event_reminders::table
        .filter(calendar_event_reminders::event_id.eq_any(events))
        .select(ReminderRow::as_select())
        .order_by((
            calendar_event_reminders::event_id,
            calendar_event_reminders::user_id,
        ));
    Ok(if lock {
        query.for_update().load(conn).await?
    } else {
        query.load(conn).await?
    })
}

/// `user`'s row of `event`, row-locked when `lock`.
pub(crate) async fn find(
    conn: &mut AsyncPgConnection,
    event: CalendarEventId,
    user: UserId,
    lock: bool,
) -> CalendarResult<Option<ReminderRow>> {
    let query = calendar_event_reminders::table
        .find((event, user))
        .select(ReminderRow::as_select());
    Ok(if lock {
        query.for_update().first(conn).await.optional()?
    } else {
        query.first(conn).await.optional()?
    })
}

/// Sets `user`'s minutes of `event` (a new row has no schedule yet).
pub(crate) async fn upsert(
    conn: &mut AsyncPgConnection,
    event: CalendarEventId,
    user: UserId,
    minutes: &[i32],
    now: DateTime<Utc>,
) -> CalendarResult<()> {
    diesel::insert_into(calendar_event_reminders::table)
        .values((
            calendar_event_reminders::event_id.eq(event),
            calendar_event_reminders::user_id.eq(user),
            calendar_event_reminders::minutes.eq(minutes),
            calendar_event_reminders::updated_at.eq(now),
        ))
        .on_conflict((
            calendar_event_reminders::event_id,
            calendar_event_reminders::user_id,
        ))
        .do_update()
        .set((
            calendar_event_reminders::minutes.eq(minutes),
            calendar_event_reminders::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes the rows of `event` of `users` (all of them for `None`); answers their queued jobs' ids.
pub(crate) async fn delete(
    conn: &mut AsyncPgConnection,
    event: CalendarEventId,
    users: Option<&[UserId]>,
) -> CalendarResult<Vec<i64>> {
    let mut query = diesel::delete(calendar_event_reminders::table)
        .filter(calendar_event_reminders::event_id.eq(event))
        .into_boxed();
    if let Some(users) = users {
        query = query.filter(calendar_event_reminders::user_id.eq_any(users));
    }
    let jobs: Vec<Option<i64>> = query
        .returning(calendar_event_reminders::job_id)
        .get_results(conn)
        .await?;
    Ok(jobs.into_iter().flatten().collect())
}

/// Stores the schedules of several rows in one statement; `fired` (when given) becomes their `fired_until`.
pub(crate) async fn set_schedules(
    conn: &mut AsyncPgConnection,
    schedules: &[Schedule],
    fired: Option<DateTime<Utc>>,
) -> CalendarResult<()> {
    if schedules.is_empty() {
        return Ok(());
    }
    let events: Vec<CalendarEventId> = schedules.iter().map(|s| s.event_id).collect();
    let users: Vec<UserId> = schedules.iter().map(|s| s.user_id).collect();
    let next: Vec<Option<DateTime<Utc>>> = schedules.iter().map(|s| s.next_at).collect();
    let jobs: Vec<Option<i64>> = schedules.iter().map(|s| s.job_id).collect();
    diesel::sql_query(
        "UPDATE calendar_event_reminders r SET next_at = s.next_at, job_id = s.job_id, \
             fired_until = coalesce($5, r.fired_until) \
         FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::bigint[]) AS s(event_id, user_id, next_at, job_id) \
         WHERE r.event_id = s.event_id AND r.user_id = s.user_id",
    )
    .bind::<Array<SqlUuid>, _>(&events)
    .bind::<Array<SqlUuid>, _>(&users)
    .bind::<Array<Nullable<Timestamptz>>, _>(&next)
    .bind::<Array<Nullable<Int8>>, _>(&jobs)
    .bind::<Nullable<Timestamptz>, _>(fired)
    .execute(conn)
    .await?;
    Ok(())
}
