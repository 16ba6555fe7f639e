//! `scheduled_messages`: messages waiting for their `send_at`, one row each until posted, failed or cancelled.

use crate::error::ChatResult;
use crate::model::ScheduledMessage;
use chrono::{DateTime, Utc};
use diesel::{
    BoolExpressionMethods as _, ExpressionMethods as _, Insertable, OptionalExtension as _, QueryDsl as _,
    Queryable, Selectable, SelectableHelper as _,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use epop_core::{ConversationId, MessageId, ScheduledMessageId, UserId};
use epop_storage::schema::scheduled_messages;

/// A row of `scheduled_messages`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = scheduled_messages, check_for_backend(diesel::pg::Pg))]
pub(crate) struct ScheduledRow {
    pub(crate) id: ScheduledMessageId,
    pub(crate) conversation_id: ConversationId,
    pub(crate) sender_id: UserId,
    pub(crate) content: String,
    /// Idempotency key of the create; the posted message carries it.
    pub(crate) client_id: Option<String>,
    /// The thread it replies in.
    pub(crate) thread_root_id: Option<MessageId>,
    /// A reply also shown in the conversation.
    pub(crate) send_to_conversation: bool,
    pub(crate) send_at: DateTime<Utc>,
    /// The delivery job.
    pub(crate) job_id: i64,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
}

impl From<ScheduledRow> for ScheduledMessage {
    fn from(row: ScheduledRow) -> Self {
        ScheduledMessage {
            id: row.id,
            conversation_id: row.conversation_id,
            content: row.content,
            client_id: row.client_id,
            thread_root_id: row.thread_root_id,
            send_to_conversation: row.send_to_conversation,
            send_at: row.send_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// A new row of `scheduled_messages`.
#[derive(Debug, Insertable)]
#[diesel(table_name = scheduled_messages)]
pub(crate) struct NewScheduledRow<'a> {
    pub(crate) id: ScheduledMessageId,
    pub(crate) conversation_id: ConversationId,
    pub(crate) sender_id: UserId,
    pub(crate) content: &'a str,
    /// Idempotency key.
    pub(crate) client_id: Option<&'a str>,
    /// The thread it replies in.
    pub(crate) thread_root_id: Option<MessageId>,
    /// A reply also shown in the conversation.
    pub(crate) send_to_conversation: bool,
    pub(crate) send_at: DateTime<Utc>,
    /// The delivery job.
    pub(crate) job_id: i64,
}

/// Serialises the creates of one user until commit (the per-user count and the insert hold together).
pub(crate) async fn lock_sender(conn: &mut AsyncPgConnection, sender: UserId) -> ChatResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended('epop:scheduled:' || $1::text, 0))")
        .bind::<diesel::sql_types::Uuid, _>(sender)
        .execute(conn)
        .await?;
    Ok(())
}

/// How many scheduled messages `sender` has waiting.
pub(crate) async fn count_of(conn: &mut AsyncPgConnection, sender: UserId) -> ChatResult<i64> {
    Ok(scheduled_messages::table
        .filter(scheduled_messages::sender_id.eq(sender))
        .count()
        .get_result(conn)
        .await?)
}

/// Inserts a row; `None` when the sender used its `client_id` in the conversation before.
pub(crate) async fn insert(
    conn: &mut AsyncPgConnection,
    row: &NewScheduledRow<'_>,
) -> ChatResult<Option<ScheduledRow>> {
    Ok(diesel::insert_into(scheduled_messages::table)
        .values(row)
        .on_conflict_do_nothing()
        .returning(ScheduledRow::as_returning())
        .get_result(conn)
        .await
        .optional()?)
}

/// A row by id.
pub(crate) async fn find(
    conn: &mut AsyncPgConnection,
    id: ScheduledMessageId,
) -> ChatResult<Option<ScheduledRow>> {
    Ok(scheduled_messages::table
        .find(id)
        .select(ScheduledRow::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// A row of `sender` by id, locked until commit (`None` for another user's).
pub(crate) async fn lock_own(
    conn: &mut AsyncPgConnection,
    id: ScheduledMessageId,
    sender: UserId,
) -> ChatResult<Option<ScheduledRow>> {
    Ok(scheduled_messages::table
        .find(id)
        .filter(scheduled_messages::sender_id.eq(sender))
        .select(ScheduledRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?)
}

/// The row `sender` created with `client_id` in the conversation.
pub(crate) async fn find_by_client_id(
    conn: &mut AsyncPgConnection,
    conversation: ConversationId,
    sender: UserId,
    client_id: &str,
) -> ChatResult<Option<ScheduledRow>> {
    Ok(scheduled_messages::table
        .filter(scheduled_messages::conversation_id.eq(conversation))
        .filter(scheduled_messages::sender_id.eq(sender))
        .filter(scheduled_messages::client_id.eq(client_id))
        .select(ScheduledRow::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// One page of `sender`'s rows (of one conversation, or all), by `send_at` then id, after `(send_at, id)`;
/// `limit + 1` rows (over `scheduled_messages_sender_idx`).
pub(crate) async fn page(
    conn: &mut AsyncPgConnection,
    sender: UserId,
    conversation: Option<ConversationId>,
    after: Option<(DateTime<Utc>, ScheduledMessageId)>,
    limit: i64,
) -> ChatResult<Vec<ScheduledRow>> {
    let mut query = scheduled_messages::table
        .filter(scheduled_messages::sender_id.eq(sender))
        .order_by((scheduled_messages::send_at.asc(), scheduled_messages::id.asc()))
        .limit(limit + 1)
        .select(ScheduledRow::as_select())
        .into_boxed();
    if let Some(conversation) = conversation {
        query = query.filter(scheduled_messages::conversation_id.eq(conversation));
    }
    if let Some((send_at, id)) = after {
        query = query.filter(
            scheduled_messages::send_at
                .gt(send_at)
                .or(scheduled_messages::send_at
                    .eq(send_at)
                    .and(scheduled_messages::id.gt(id))),
        );
    }
    Ok(query.load(conn).await?)
}

/// Changes the text and time of a row.
pub(crate) async fn update(
    conn: &mut AsyncPgConnection,
    id: ScheduledMessageId,
    content: &str,
    send_at: DateTime<Utc>,
) -> ChatResult<ScheduledRow> {
    Ok(diesel::update(scheduled_messages::table.find(id))
        .set((
            scheduled_messages::content.eq(content),
            scheduled_messages::send_at.eq(send_at),
            scheduled_messages::updated_at.eq(diesel::dsl::now),
        ))
        .returning(ScheduledRow::as_returning())
        .get_result(conn)
        .await?)
}

/// Deletes rows (posted, failed or cancelled); returns how many were there.
pub(crate) async fn delete(conn: &mut AsyncPgConnection, ids: &[ScheduledMessageId]) -> ChatResult<usize> {
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(
        diesel::delete(scheduled_messages::table.filter(scheduled_messages::id.eq_any(ids)))
            .execute(conn)
            .await?,
    )
}

/// Deletes the rows of `ids` that are still there, locking them until commit; returns their ids (a row that a
/// concurrent transaction deletes is not returned once that one commits).
pub(crate) async fn take(
    conn: &mut AsyncPgConnection,
    ids: &[ScheduledMessageId],
) -> ChatResult<Vec<ScheduledMessageId>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(
        diesel::delete(scheduled_messages::table.filter(scheduled_messages::id.eq_any(ids)))
            .returning(scheduled_messages::id)
            .load(conn)
            .await?,
    )
}
