//! The `notifications` table.

use crate::error::NotificationsResult;
use crate::model::Notification;
use chrono::{DateTime, Utc};
use diesel::{
    BoolExpressionMethods as _, ExpressionMethods as _, QueryDsl as _, Queryable, Selectable,
    SelectableHelper as _,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use epop_core::model::NotificationKind;
use epop_core::{NotificationId, UserId};
use epop_storage::schema::notifications;

/// A row of `notifications`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = notifications, check_for_backend(diesel::pg::Pg))]
pub(crate) struct NotificationRow {
    pub(crate) id: NotificationId,
    /// Type.
    pub(crate) kind: NotificationKind,
    pub(crate) payload: serde_json::Value,
    /// Read flag.
    pub(crate) is_read: bool,
    pub(crate) created_at: DateTime<Utc>,
}

impl From<NotificationRow> for Notification {
    fn from(row: NotificationRow) -> Self {
        Notification {
            id: row.id,
            kind: row.kind,
            payload: row.payload,
            is_read: row.is_read,
            created_at: row.created_at,
        }
    }
}

/// One page of a user's notifications, newest first, after `(created_at, id)`; `limit + 1` rows.
pub(crate) async fn page(
    conn: &mut AsyncPgConnection,
    user: UserId,
    unread_only: bool,
    after: Option<(DateTime<Utc>, NotificationId)>,
    limit: i64,
) -> NotificationsResult<Vec<NotificationRow>> {
    let mut query = notifications::table
        .filter(notifications::user_id.eq(user))
        .order_by((notifications::created_at.desc(), notifications::id.desc()))
        .limit(limit + 1)
        .select(NotificationRow::as_select())
        .into_boxed();
    if unread_only {
        query = query.filter(notifications::is_read.eq(false));
    }
    if let Some((created_at, id)) = after {
        query = query.filter(
            notifications::created_at
                .lt(created_at)
                .or(notifications::created_at
                    .eq(created_at)
                    .and(notifications::id.lt(id))),
        );
    }
    Ok(query.load(conn).await?)
}

/// How many unread notifications a user has.
pub(crate) async fn unread_count(conn: &mut AsyncPgConnection, user: UserId) -> NotificationsResult<i64> {
    Ok(notifications::table
        .filter(notifications::user_id.eq(user))
        .filter(notifications::is_read.eq(false))
        .count()
        .get_result(conn)
        .await?)
}

/// Marks one of the user's notifications read; returns whether it exists and is theirs.
pub(crate) async fn mark_read(
    conn: &mut AsyncPgConnection,
    user: UserId,
    id: NotificationId,
) -> NotificationsResult<bool> {
    let updated = diesel::update(
        notifications::table
            .filter(notifications::id.eq(id))
            .filter(notifications::user_id.eq(user)),
    )
    .set(notifications::is_read.eq(true))
    .execute(conn)
    .await?;
    Ok(updated == 1)
}

/// Marks all of the user's notifications read.
pub(crate) async fn mark_all_read(conn: &mut AsyncPgConnection, user: UserId) -> NotificationsResult<usize> {
    Ok(diesel::update(
        notifications::table
            .filter(notifications::user_id.eq(user))
            .filter(notifications::is_read.eq(false)),
    )
    .set(notifications::is_read.eq(true))
    .execute(conn)
    .await?)
}
