//! `calendar_events`, `calendar_event_overrides` and `calendar_event_attendees`. Reads name the caller: an
//! event is read only by its organiser or an attendee.

use crate::error::CalendarResult;
use crate::ics::{People, Person};
use crate::model::TimeRange;
use chrono::{DateTime, Utc};
use diesel::dsl::sql;
use diesel::sql_types::{Bool, Nullable, Timestamptz, Uuid as SqlUuid};
use diesel::{
    AsChangeset, BoolExpressionMethods as _, ExpressionMethods as _, Insertable, OptionalExtension as _,
    QueryDsl as _, Queryable, Selectable, SelectableHelper as _,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use epop_core::{CalendarEventId, UserId};
use epop_storage::schema::{calendar_event_attendees, calendar_event_overrides, calendar_events, users};

/// A row of `calendar_events`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = calendar_events, check_for_backend(diesel::pg::Pg))]
pub(crate) struct EventRow {
    pub(crate) id: CalendarEventId,
    /// The organiser: the one user who may change or delete the event.
    pub(crate) user_id: UserId,
    pub(crate) title: String,
    /// Description (`''` for none).
    pub(crate) description: String,
    pub(crate) start_time: DateTime<Utc>,
    pub(crate) end_time: DateTime<Utc>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
    /// The normalised rule of a series.
    pub(crate) rrule: Option<String>,
    pub(crate) exdates: Vec<DateTime<Utc>>,
    pub(crate) time_zone: String,
    /// End of the series' last instance.
    pub(crate) series_end: Option<DateTime<Utc>>,
    /// The series' last original start (`None` for single events and for series stored before it was kept).
    pub(crate) last_start: Option<DateTime<Utc>>,
}

/// A new row of `calendar_events`.
#[derive(Debug, Insertable)]
#[diesel(table_name = calendar_events)]
pub(crate) struct NewEventRow<'a> {
    pub(crate) id: CalendarEventId,
    pub(crate) user_id: UserId,
    pub(crate) title: &'a str,
    pub(crate) description: &'a str,
    pub(crate) start_time: DateTime<Utc>,
    pub(crate) end_time: DateTime<Utc>,
    pub(crate) created_at: DateTime<Utc>,
    /// Last change (the creation time).
    pub(crate) updated_at: DateTime<Utc>,
    pub(crate) rrule: Option<&'a str>,
    pub(crate) exdates: &'a [DateTime<Utc>],
    pub(crate) time_zone: &'a str,
    pub(crate) series_end: Option<DateTime<Utc>>,
    pub(crate) last_start: Option<DateTime<Utc>>,
}

/// Changed columns of a row; `None` keeps the stored value.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = calendar_events)]
pub(crate) struct EventChangeset<'a> {
    pub(crate) title: Option<&'a str>,
    pub(crate) description: Option<&'a str>,
    pub(crate) start_time: Option<DateTime<Utc>>,
    pub(crate) end_time: Option<DateTime<Utc>>,
    /// Last change (always set).
    pub(crate) updated_at: DateTime<Utc>,
    pub(crate) rrule: Option<Option<&'a str>>,
    pub(crate) exdates: Option<&'a [DateTime<Utc>]>,
    pub(crate) time_zone: Option<&'a str>,
    pub(crate) series_end: Option<Option<DateTime<Utc>>>,
    /// Set whenever the rule changes.
    pub(crate) last_start: Option<Option<DateTime<Utc>>>,
}

/// A row of `calendar_event_overrides`: one changed instance.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = calendar_event_overrides, check_for_backend(diesel::pg::Pg))]
pub(crate) struct OverrideRow {
    pub(crate) event_id: CalendarEventId,
    pub(crate) original_start: DateTime<Utc>,
    /// `None`: the series' title.
    pub(crate) title: Option<String>,
    /// `None`: the series' description.
    pub(crate) description: Option<String>,
    pub(crate) start_time: DateTime<Utc>,
    pub(crate) end_time: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
}

/// A row of `calendar_event_attendees`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = calendar_event_attendees, check_for_backend(diesel::pg::Pg))]
pub(crate) struct AttendeeRow {
    pub(crate) event_id: CalendarEventId,
    pub(crate) user_id: UserId,
    pub(crate) status: String,
}

/// Where a page starts: right after this `(start_time, id)`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Keyset {
    /// The last item's start.
    pub(crate) start_time: DateTime<Utc>,
    /// The last item's (or its series') id.
    pub(crate) id: CalendarEventId,
}

/// Whose events a list reads.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Whose {
    /// Those `UserId` organises.
    Organised(UserId),
    /// Those `UserId` is invited to.
    Invited(UserId),
}

/// Inserts an event.
pub(crate) async fn insert(conn: &mut AsyncPgConnection, row: &NewEventRow<'_>) -> CalendarResult<EventRow> {
    Ok(diesel::insert_into(calendar_events::table)
        .values(row)
        .returning(EventRow::as_returning())
        .get_result(conn)
        .await?)
}

/// Event `id` when `me` organises it or is invited to it.
pub(crate) async fn find_visible(
    conn: &mut AsyncPgConnection,
    me: UserId,
    id: CalendarEventId,
) -> CalendarResult<Option<EventRow>> {
    let invited = calendar_event_attendees::table
        .filter(calendar_event_attendees::user_id.eq(me))
        .filter(calendar_event_attendees::event_id.eq(id))
        .select(calendar_event_attendees::event_id);
    Ok(calendar_events::table
        .filter(calendar_events::id.eq(id))
        .filter(
            calendar_events::user_id
                .eq(me)
                .or(calendar_events::id.eq_any(invited)),
        )
        .select(EventRow::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Event `id`, whoever organises it (not locked).
pub(crate) async fn find(
    conn: &mut AsyncPgConnection,
    id: CalendarEventId,
) -> CalendarResult<Option<EventRow>> {
    Ok(calendar_events::table
        .find(id)
        .select(EventRow::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Event `id`, whoever organises it, row-locked until the transaction ends (the service checks who may change
/// it).
pub(crate) async fn find_for_update(
    conn: &mut AsyncPgConnection,
    id: CalendarEventId,
) -> CalendarResult<Option<EventRow>> {
    Ok(calendar_events::table
        .filter(calendar_events::id.eq(id))
        .select(EventRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?)
}

/// Applies `changes` to event `id`.
pub(crate) async fn update(
    conn: &mut AsyncPgConnection,
    id: CalendarEventId,
    changes: &EventChangeset<'_>,
) -> CalendarResult<EventRow> {
    Ok(diesel::update(calendar_events::table.find(id))
        .set(changes)
        .returning(EventRow::as_returning())
        .get_result(conn)
        .await?)
}

/// Deletes event `id` (its overrides and attendees go with it).
pub(crate) async fn delete(conn: &mut AsyncPgConnection, id: CalendarEventId) -> CalendarResult<bool> {
    let deleted = diesel::delete(calendar_events::table.find(id))
        .execute(conn)
        .await?;
    Ok(deleted > 0)
}

/// Single (non-recurring) events of `whose` overlapping `range`, by `start_time` then `id`, after `after`,
/// created no later than `as_of`; at most `limit` rows.
///
/// The overlap is written as `tstzrange(start_time, end_time) && tstzrange(from, to, '[]')`, the expression of
/// the GiST index, plus the exact half-open comparisons (see the crate's design note).
pub(crate) async fn list_singles(
    conn: &mut AsyncPgConnection,
    whose: Whose,
    range: &TimeRange,
    after: Option<Keyset>,
    as_of: Option<DateTime<Utc>>,
    limit: i64,
) -> CalendarResult<Vec<EventRow>> {
    let mut query = calendar_events::table
        .filter(calendar_events::rrule.is_null())
        .select(EventRow::as_select())
        .order_by((calendar_events::start_time.asc(), calendar_events::id.asc()))
        .limit(limit)
        .into_boxed();
    query = match whose {
        Whose::Organised(me) => query.filter(calendar_events::user_id.eq(me)),
        Whose::Invited(me) => query.filter(
            calendar_events::id.eq_any(
                calendar_event_attendees::table
                    .filter(calendar_event_attendees::user_id.eq(me))
                    .select(calendar_event_attendees::event_id),
            ),
        ),
    };
    if range.from.is_some() || range.to.is_some() {
        query = query.filter(
            sql::<Bool>("tstzrange(calendar_events.start_time, calendar_events.end_time) && tstzrange(")
                .bind::<Nullable<Timestamptz>, _>(range.from)
                .sql(", ")
                .bind::<Nullable<Timestamptz>, _>(range.to)
                .sql(", '[]')"),
        );
    }
    if let Some(to) = range.to {
        query = query.filter(calendar_events::start_time.lt(to));
    }
    if let Some(from) = range.from {
        query = query.filter(calendar_events::end_time.gt(from));
    }
    if let Some(after) = after {
        query = query.filter(
            sql::<Bool>("(calendar_events.start_time, calendar_events.id) > (")
                .bind::<Timestamptz, _>(after.start_time)
                .sql(", ")
                .bind::<SqlUuid, _>(after.id)
                .sql(")"),
        );
    }
    if let Some(as_of) = as_of {
        query = query.filter(calendar_events::created_at.le(as_of));
    }
    Ok(query.load(conn).await?)
}

/// Series of `whose` that may have an instance in `range`: first start before `to`, last end after `from`
/// (instances cannot move before their series' first start, so this holds for overrides too); at most
/// `limit`, the earliest.
pub(crate) async fn list_series(
    conn: &mut AsyncPgConnection,
    whose: Whose,
    range: &TimeRange,
    as_of: Option<DateTime<Utc>>,
    limit: i64,
) -> CalendarResult<Vec<EventRow>> {
    let mut query = calendar_events::table
        .filter(calendar_events::rrule.is_not_null())
        .select(EventRow::as_select())
        .order_by((calendar_events::start_time.asc(), calendar_events::id.asc()))
        .limit(limit)
        .into_boxed();
    query = match whose {
        Whose::Organised(me) => query.filter(calendar_events::user_id.eq(me)),
        Whose::Invited(me) => query.filter(
            calendar_events::id.eq_any(
                calendar_event_attendees::table
                    .filter(calendar_event_attendees::user_id.eq(me))
                    .select(calendar_event_attendees::event_id),
            ),
        ),
    };
    if let Some(to) = range.to {
        query = query.filter(calendar_events::start_time.lt(to));
    }
    if let Some(from) = range.from {
        query = query.filter(calendar_events::series_end.gt(from));
    }
    if let Some(as_of) = as_of {
        query = query.filter(calendar_events::created_at.le(as_of));
    }
    Ok(query.load(conn).await?)
}

/// How many series `owner` organises.
pub(crate) async fn count_series(conn: &mut AsyncPgConnection, owner: UserId) -> CalendarResult<i64> {
    Ok(calendar_events::table
        .filter(calendar_events::user_id.eq(owner))
        .filter(calendar_events::rrule.is_not_null())
        .count()
        .get_result(conn)
        .await?)
}

/// The overrides of `events` whose original or new start is before `before` (all of them for `None`).
pub(crate) async fn overrides_of(
    conn: &mut AsyncPgConnection,
    events: &[CalendarEventId],
    before: Option<DateTime<Utc>>,
) -> CalendarResult<Vec<OverrideRow>> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let mut query = calendar_event_overrides::table
        .filter(calendar_event_overrides::event_id.eq_any(events))
        .select(OverrideRow::as_select())
        .order_by((
            calendar_event_overrides::event_id,
            calendar_event_overrides::original_start,
        ))
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(
            calendar_event_overrides::original_start
                .lt(before)
                .or(calendar_event_overrides::start_time.lt(before)),
        );
    }
    Ok(query.load(conn).await?)
}

/// The override of instance `original_start` of `event`.
pub(crate) async fn find_override(
    conn: &mut AsyncPgConnection,
    event: CalendarEventId,
    original_start: DateTime<Utc>,
) -> CalendarResult<Option<OverrideRow>> {
    Ok(calendar_event_overrides::table
        .find((event, original_start))
        .select(OverrideRow::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Stores (or replaces) an override.
pub(crate) async fn upsert_override(conn: &mut AsyncPgConnection, row: &OverrideRow) -> CalendarResult<()> {
    diesel::insert_into(calendar_event_overrides::table)
        .values(row)
        .on_conflict((
            calendar_event_overrides::event_id,
            calendar_event_overrides::original_start,
        ))
        .do_update()
        .set((
            calendar_event_overrides::title.eq(&row.title),
            calendar_event_overrides::description.eq(&row.description),
            calendar_event_overrides::start_time.eq(row.start_time),
            calendar_event_overrides::end_time.eq(row.end_time),
            calendar_event_overrides::updated_at.eq(row.updated_at),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes the overrides of `event` with an original start at or after `from` (all for `None`).
pub(crate) async fn delete_overrides(
    conn: &mut AsyncPgConnection,
    event: CalendarEventId,
    from: Option<DateTime<Utc>>,
) -> CalendarResult<()> {
    let mut query = diesel::delete(calendar_event_overrides::table)
        .filter(calendar_event_overrides::event_id.eq(event))
        .into_boxed();
    if let Some(from) = from {
        query = query.filter(calendar_event_overrides::original_start.ge(from));
    }
    query.execute(conn).await?;
    Ok(())
}

/// Moves the overrides of `from_event` at or after `since` to `to_event` (a series split).
pub(crate) async fn move_overrides(
    conn: &mut AsyncPgConnection,
    from_event: CalendarEventId,
    to_event: CalendarEventId,
    since: DateTime<Utc>,
) -> CalendarResult<()> {
    diesel::update(
        calendar_event_overrides::table
            .filter(calendar_event_overrides::event_id.eq(from_event))
            .filter(calendar_event_overrides::original_start.ge(since)),
    )
    .set(calendar_event_overrides::event_id.eq(to_event))
    .execute(conn)
    .await?;
    Ok(())
}

/// The latest end among `event`'s overrides.
pub(crate) async fn latest_override_end(
    conn: &mut AsyncPgConnection,
    event: CalendarEventId,
) -> CalendarResult<Option<DateTime<Utc>>> {
    Ok(calendar_event_overrides::table
        .filter(calendar_event_overrides::event_id.eq(event))
        .select(diesel::dsl::max(calendar_event_overrides::end_time))
        .first(conn)
        .await?)
}

/// The attendees of `events`, by event then user.
pub(crate) async fn attendees_of(
    conn: &mut AsyncPgConnection,
    events: &[CalendarEventId],
) -> CalendarResult<Vec<AttendeeRow>> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    Ok(calendar_event_attendees::table
        .filter(calendar_event_attendees::event_id.eq_any(events))
        .select(AttendeeRow::as_select())
        .order_by((
            calendar_event_attendees::event_id,
            calendar_event_attendees::user_id,
        ))
        .load(conn)
        .await?)
}

/// Those of `ids` that are users.
pub(crate) async fn existing_users(
    conn: &mut AsyncPgConnection,
    ids: &[UserId],
) -> CalendarResult<Vec<UserId>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(users::table
        .filter(users::id.eq_any(ids))
        .select(users::id)
        .load(conn)
        .await?)
}

/// The names and e-mail addresses of `ids` (those still found), in one statement.
pub(crate) async fn people_of(conn: &mut AsyncPgConnection, ids: &[UserId]) -> CalendarResult<People> {
    if ids.is_empty() {
        return Ok(People::new());
    }
    let rows: Vec<(UserId, String, String)> = users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::name, users::email))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, email)| (id, Person { name, email }))
        .collect())
}

/// Makes `users` the attendees of `event` in two statements: the others are removed, new ones added
/// (`needs_action`), existing answers kept.
pub(crate) async fn set_attendees(
    conn: &mut AsyncPgConnection,
    event: CalendarEventId,
    users: &[UserId],
) -> CalendarResult<()> {
    diesel::delete(
        calendar_event_attendees::table
            .filter(calendar_event_attendees::event_id.eq(event))
            .filter(calendar_event_attendees::user_id.ne_all(users)),
    )
    .execute(conn)
    .await?;
    if users.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = users
        .iter()
        .map(|user| {
            (
                calendar_event_attendees::event_id.eq(event),
                calendar_event_attendees::user_id.eq(*user),
            )
        })
        .collect();
    diesel::insert_into(calendar_event_attendees::table)
        .values(&rows)
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(())
}

/// Copies the attendees (with their answers) and their reminders of `from_event` to `to_event` (a series split;
/// the reminders' jobs are queued by the caller).
pub(crate) async fn copy_for_split(
    conn: &mut AsyncPgConnection,
    from_event: CalendarEventId,
    to_event: CalendarEventId,
) -> CalendarResult<()> {
    for statement in [
        "INSERT INTO calendar_event_attendees (event_id, user_id, status, responded_at) \
         SELECT $2, user_id, status, responded_at FROM calendar_event_attendees WHERE event_id = $1",
        "INSERT INTO calendar_event_reminders (event_id, user_id, minutes, fired_until) \
         SELECT $2, user_id, minutes, fired_until FROM calendar_event_reminders WHERE event_id = $1",
    ] {
        diesel::sql_query(statement)
            .bind::<SqlUuid, _>(from_event)
            .bind::<SqlUuid, _>(to_event)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Records `user`'s answer to `event`; false when they are not invited.
pub(crate) async fn respond(
    conn: &mut AsyncPgConnection,
    event: CalendarEventId,
    user: UserId,
    status: &str,
    now: DateTime<Utc>,
) -> CalendarResult<bool> {
    let updated = diesel::update(calendar_event_attendees::table.find((event, user)))
        .set((
            calendar_event_attendees::status.eq(status),
            calendar_event_attendees::responded_at.eq(now),
        ))
        .execute(conn)
        .await?;
    Ok(updated > 0)
}

/// Deletes the override of instance `original_start` of `event`, if any.
pub(crate) async fn delete_overrides_at(
    conn: &mut AsyncPgConnection,
    event: CalendarEventId,
    original_start: DateTime<Utc>,
) -> CalendarResult<()> {
    diesel::delete(calendar_event_overrides::table.find((event, original_start)))
        .execute(conn)
        .await?;
    Ok(())
}

/// The events that make `users` busy in `[from, to)`, each with the user it concerns: events they organise,
/// and events they are invited to and did not decline (two statements); at most `limit` of each kind.
pub(crate) async fn busy_rows(
    conn: &mut AsyncPgConnection,
    users: &[UserId],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    limit: i64,
) -> CalendarResult<Vec<(UserId, EventRow)>> {
    let overlaps = || {
        sql::<Bool>("calendar_events.start_time < ")
            .bind::<Timestamptz, _>(to)
            .sql(" AND coalesce(calendar_events.series_end, calendar_events.end_time) > ")
            .bind::<Timestamptz, _>(from)
    };
    let mut rows: Vec<(UserId, EventRow)> = calendar_events::table
        .filter(calendar_events::user_id.eq_any(users))
        .filter(overlaps())
        .select((calendar_events::user_id, EventRow::as_select()))
        .limit(limit)
        .load(conn)
        .await?;
    let invited: Vec<(UserId, EventRow)> = calendar_event_attendees::table
        .inner_join(calendar_events::table)
        .filter(calendar_event_attendees::user_id.eq_any(users))
        .filter(calendar_event_attendees::status.ne("declined"))
        .filter(overlaps())
        .select((calendar_event_attendees::user_id, EventRow::as_select()))
        .limit(limit)
        .load(conn)
        .await?;
    rows.extend(invited);
    Ok(rows)
}
