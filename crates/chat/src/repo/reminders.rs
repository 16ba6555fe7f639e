//! `message_reminders` and `saved_messages`: a user's own marks on messages.

use crate::error::ChatResult;
use crate::model::Reminder;
use chrono::{DateTime, Utc};
use diesel::{
    BoolExpressionMethods as _, ExpressionMethods as _, JoinOnDsl as _, OptionalExtension as _,
    QueryDsl as _, Queryable, Selectable, SelectableHelper as _,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use epop_core::{ConversationId, MessageId, ReminderId, UserId};
use epop_storage::schema::{conversation_members, message_reminders, messages, saved_messages};

/// A row of `message_reminders`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = message_reminders, check_for_backend(diesel::pg::Pg))]
pub(crate) struct ReminderRow {
    pub(crate) id: ReminderId,
    pub(crate) user_id: UserId,
    pub(crate) message_id: MessageId,
    pub(crate) conversation_id: ConversationId,
    pub(crate) remind_at: DateTime<Utc>,
    /// The job that announces it.
    pub(crate) job_id: i64,
    pub(crate) created_at: DateTime<Utc>,
}

impl From<ReminderRow> for Reminder {
    fn from(row: ReminderRow) -> Self {
        Reminder {
            id: row.id,
            message_id: row.message_id,
            conversation_id: row.conversation_id,
            remind_at: row.remind_at,
            created_at: row.created_at,
        }
    }
}

/// Serialises one user's writes of `kind` (`reminders`, `saved`) until commit, so a count and the insert it
/// allows hold together.
pub(crate) async fn lock_user(conn: &mut AsyncPgConnection, kind: &str, user: UserId) -> ChatResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended('epop:' || $1 || ':' || $2::text, 0))")
        .bind::<diesel::sql_types::Text, _>(kind)
        .bind::<diesel::sql_types::Uuid, _>(user)
        .execute(conn)
        .await?;
    Ok(())
}

/// How many reminders `user` has waiting.
pub(crate) async fn count_reminders(conn: &mut AsyncPgConnection, user: UserId) -> ChatResult<i64> {
    Ok(message_reminders::table
        .filter(message_reminders::user_id.eq(user))
        .count()
        .get_result(conn)
        .await?)
}

/// Inserts a reminder.
pub(crate) async fn insert_reminder(
    conn: &mut AsyncPgConnection,
    id: ReminderId,
    user: UserId,
    message: MessageId,
    conversation: ConversationId,
    remind_at: DateTime<Utc>,
    job: i64,
) -> ChatResult<ReminderRow> {
    Ok(diesel::insert_into(message_reminders::table)
        .values((
            message_reminders::id.eq(id),
            message_reminders::user_id.eq(user),
            message_reminders::message_id.eq(message),
            message_reminders::conversation_id.eq(conversation),
            message_reminders::remind_at.eq(remind_at),
            message_reminders::job_id.eq(job),
        ))
        .returning(ReminderRow::as_returning())
        .get_result(conn)
        .await?)
}

/// A reminder by id.
pub(crate) async fn find_reminder(
    conn: &mut AsyncPgConnection,
    id: ReminderId,
) -> ChatResult<Option<ReminderRow>> {
    Ok(message_reminders::table
        .find(id)
        .select(ReminderRow::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// One page of `user`'s reminders, soonest first, after `(remind_at, id)`; `limit + 1` rows.
pub(crate) async fn reminders_page(
    conn: &mut AsyncPgConnection,
    user: UserId,
    after: Option<(DateTime<Utc>, ReminderId)>,
    limit: i64,
) -> ChatResult<Vec<ReminderRow>> {
    let mut query = message_reminders::table
        .filter(message_reminders::user_id.eq(user))
        .order_by((message_reminders::remind_at.asc(), message_reminders::id.asc()))
        .limit(limit + 1)
        .select(ReminderRow::as_select())
        .into_boxed();
    if let Some((remind_at, id)) = after {
        query = query.filter(
            message_reminders::remind_at
                .gt(remind_at)
                .or(message_reminders::remind_at
                    .eq(remind_at)
                    .and(message_reminders::id.gt(id))),
        );
    }
    Ok(query.load(conn).await?)
}

/// Deletes a reminder, returning it if it was there (locked until commit: a concurrent delete waits, then finds
/// nothing).
pub(crate) async fn take_reminder(
    conn: &mut AsyncPgConnection,
    id: ReminderId,
) -> ChatResult<Option<ReminderRow>> {
    Ok(diesel::delete(message_reminders::table.find(id))
        .returning(ReminderRow::as_returning())
        .get_result(conn)
        .await
        .optional()?)
}

/// Saves a message for a user; returns whether it is new.
pub(crate) async fn save(conn: &mut AsyncPgConnection, user: UserId, message: MessageId) -> ChatResult<bool> {
    let inserted = diesel::insert_into(saved_messages::table)
        .values((
            saved_messages::user_id.eq(user),
            saved_messages::message_id.eq(message),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(inserted == 1)
}

/// Whether the user saved the message.
pub(crate) async fn is_saved(
    conn: &mut AsyncPgConnection,
    user: UserId,
    message: MessageId,
) -> ChatResult<bool> {
    let found: Option<MessageId> = saved_messages::table
        .find((user, message))
        .select(saved_messages::message_id)
        .first(conn)
        .await
        .optional()?;
    Ok(found.is_some())
}

/// How many messages the user saved.
pub(crate) async fn count_saved(conn: &mut AsyncPgConnection, user: UserId) -> ChatResult<i64> {
    Ok(saved_messages::table
        .filter(saved_messages::user_id.eq(user))
        .count()
        .get_result(conn)
        .await?)
}

/// Forgets a saved message; returns whether it was saved.
pub(crate) async fn unsave(
    conn: &mut AsyncPgConnection,
    user: UserId,
    message: MessageId,
) -> ChatResult<bool> {
    Ok(diesel::delete(saved_messages::table.find((user, message)))
        .execute(conn)
        .await?
        == 1)
}

/// One page of the messages `user` saved that they may still see (live, in a conversation they are in), most
/// recently saved first, after `(saved_at, message_id)`; `limit + 1` `(message, saved_at)` pairs.
pub(crate) async fn saved_page(
    conn: &mut AsyncPgConnection,
    user: UserId,
    after: Option<(DateTime<Utc>, MessageId)>,
    limit: i64,
) -> ChatResult<Vec<(MessageId, DateTime<Utc>)>> {
    let mut query = saved_messages::table
        .inner_join(messages::table)
        .inner_join(
            conversation_members::table.on(conversation_members::conversation_id
                .eq(messages::conversation_id)
                .and(conversation_members::user_id.eq(saved_messages::user_id))),
        )
        .filter(saved_messages::user_id.eq(user))
        .filter(messages::deleted_at.is_null())
        .order_by((saved_messages::saved_at.desc(), saved_messages::message_id.desc()))
        .limit(limit + 1)
        .select((saved_messages::message_id, saved_messages::saved_at))
        .into_boxed();
    if let Some((saved_at, message)) = after {
        query = query.filter(
            saved_messages::saved_at.lt(saved_at).or(saved_messages::saved_at
                .eq(saved_at)
                .and(saved_messages::message_id.lt(message))),
        );
    }
    Ok(query.load(conn).await?)
}
