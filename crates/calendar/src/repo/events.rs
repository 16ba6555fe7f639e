//! `calendar_events`. Every query names the owner, so another user's row is never read or changed.

use crate::error::CalendarResult;
use crate::model::TimeRange;
use chrono::{DateTime, Utc};
use diesel::dsl::sql;
use diesel::sql_types::{Bool, Nullable, Timestamptz, Uuid as SqlUuid};
use diesel::{
    AsChangeset, ExpressionMethods as _, Insertable, OptionalExtension as _, QueryDsl as _, Queryable,
    Selectable, SelectableHelper as _,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use epop_core::{CalendarEventId, UserId};
use epop_storage::schema::calendar_events;

/// A row of `calendar_events`, as its owner sees it (the owner is in every query's filter).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = calendar_events, check_for_backend(diesel::pg::Pg))]
pub(crate) struct EventRow {
    pub(crate) id: CalendarEventId,
    pub(crate) title: String,
    /// Description (`''` for none).
    pub(crate) description: String,
    pub(crate) start_time: DateTime<Utc>,
    pub(crate) end_time: DateTime<Utc>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
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
}

/// Where a page starts: right after this `(start_time, id)`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Keyset {
    /// The last item's start.
    pub(crate) start_time: DateTime<Utc>,
    /// The last item's id.
    pub(crate) id: CalendarEventId,
}

/// Inserts an event.
pub(crate) async fn insert(conn: &mut AsyncPgConnection, row: &NewEventRow<'_>) -> CalendarResult<EventRow> {
    Ok(diesel::insert_into(calendar_events::table)
        .values(row)
        .returning(EventRow::as_returning())
        .get_result(conn)
        .await?)
}

/// `owner`'s event `id`.
pub(crate) async fn find(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    id: CalendarEventId,
) -> CalendarResult<Option<EventRow>> {
    Ok(calendar_events::table
        .filter(calendar_events::id.eq(id))
        .filter(calendar_events::user_id.eq(owner))
        .select(EventRow::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// `owner`'s event `id`, row-locked until the transaction ends.
pub(crate) async fn find_for_update(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    id: CalendarEventId,
) -> CalendarResult<Option<EventRow>> {
    Ok(calendar_events::table
        .filter(calendar_events::id.eq(id))
        .filter(calendar_events::user_id.eq(owner))
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

/// Deletes `owner`'s event `id`; false when there was none.
pub(crate) async fn delete(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    id: CalendarEventId,
) -> CalendarResult<bool> {
    let deleted = diesel::delete(
        calendar_events::table
            .filter(calendar_events::id.eq(id))
            .filter(calendar_events::user_id.eq(owner)),
    )
    .execute(conn)
    .await?;
    Ok(deleted > 0)
}

/// `owner`'s events overlapping `range`, by `start_time` then `id`, after `after`, created no later than
/// `as_of`; at most `limit` rows.
///
/// The overlap is written as `tstzrange(start_time, end_time) && tstzrange(from, to, '[]')`, the expression of
/// the GiST index, plus the exact half-open comparisons (see the crate's design note).
pub(crate) async fn list(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    range: &TimeRange,
    after: Option<Keyset>,
    as_of: Option<DateTime<Utc>>,
    limit: i64,
) -> CalendarResult<Vec<EventRow>> {
    let mut query = calendar_events::table
        .filter(calendar_events::user_id.eq(owner))
        .select(EventRow::as_select())
        .order_by((calendar_events::start_time.asc(), calendar_events::id.asc()))
        .limit(limit)
        .into_boxed();
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
