//! `message_pins`: messages pinned in their conversation.

use crate::error::ChatResult;
use chrono::{DateTime, Utc};
use diesel::{BoolExpressionMethods as _, ExpressionMethods as _, QueryDsl as _, Queryable};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use epop_core::{ConversationId, MessageId, UserId};
use epop_storage::schema::{message_pins, messages};

/// A pin: `(message_id, pinned_by, pinned_at)`.
#[derive(Debug, Clone, Queryable)]
pub(crate) struct PinRow {
    pub(crate) message_id: MessageId,
    pub(crate) pinned_by: UserId,
    pub(crate) pinned_at: DateTime<Utc>,
}

/// How many messages are pinned in the conversation.
pub(crate) async fn count(conn: &mut AsyncPgConnection, conversation: ConversationId) -> ChatResult<i64> {
    Ok(message_pins::table
        .filter(message_pins::conversation_id.eq(conversation))
        .count()
        .get_result(conn)
        .await?)
}

/// Pins a message; returns whether it is new.
pub(crate) async fn pin(
    conn: &mut AsyncPgConnection,
    message: MessageId,
    conversation: ConversationId,
    by: UserId,
) -> ChatResult<bool> {
    let inserted = diesel::insert_into(message_pins::table)
        .values((
            message_pins::message_id.eq(message),
            message_pins::conversation_id.eq(conversation),
            message_pins::pinned_by.eq(by),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(inserted == 1)
}

/// Whether the message is pinned.
pub(crate) async fn is_pinned(conn: &mut AsyncPgConnection, message: MessageId) -> ChatResult<bool> {
    Ok(diesel::select(diesel::dsl::exists(
        message_pins::table.filter(message_pins::message_id.eq(message)),
    ))
    .get_result(conn)
    .await?)
}

/// Unpins a message; returns whether it was pinned.
pub(crate) async fn unpin(conn: &mut AsyncPgConnection, message: MessageId) -> ChatResult<bool> {
    Ok(
        diesel::delete(message_pins::table.filter(message_pins::message_id.eq(message)))
            .execute(conn)
            .await?
            == 1,
    )
}

/// One page of a conversation's pins of live messages, most recently pinned first, after
/// `(pinned_at, message_id)`; `limit + 1` rows.
pub(crate) async fn page(
    conn: &mut AsyncPgConnection,
    conversation: ConversationId,
    after: Option<(DateTime<Utc>, MessageId)>,
    limit: i64,
) -> ChatResult<Vec<PinRow>> {
    let mut query = message_pins::table
        .inner_join(messages::table)
        .filter(message_pins::conversation_id.eq(conversation))
        .filter(messages::deleted_at.is_null())
        .order_by((message_pins::pinned_at.desc(), message_pins::message_id.desc()))
        .limit(limit + 1)
        .select((
            message_pins::message_id,
            message_pins::pinned_by,
            message_pins::pinned_at,
        ))
        .into_boxed();
    if let Some((pinned_at, message)) = after {
        query = query.filter(
            message_pins::pinned_at.lt(pinned_at).or(message_pins::pinned_at
                .eq(pinned_at)
                .and(message_pins::message_id.lt(message))),
        );
    }
    Ok(query.load(conn).await?)
}
