//! `message_reactions`: one row per (message, user, emoji).

use crate::error::ChatResult;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Uuid as SqlUuid};
use diesel::{
    AggregateExpressionMethods as _, ExpressionMethods as _, OptionalExtension as _, QueryDsl as _,
    QueryableByName,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use epop_core::{MessageId, UserId};
use epop_storage::schema::{message_reactions, messages};

/// Adds a reaction; returns whether it is new (a repeat changes nothing).
pub(crate) async fn add(
    conn: &mut AsyncPgConnection,
    message: MessageId,
    user: UserId,
    emoji: &str,
) -> ChatResult<bool> {
    let inserted = diesel::insert_into(message_reactions::table)
        .values((
            message_reactions::message_id.eq(message),
            message_reactions::user_id.eq(user),
            message_reactions::emoji.eq(emoji),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(inserted == 1)
}

/// Removes a reaction; returns whether there was one.
pub(crate) async fn remove(
    conn: &mut AsyncPgConnection,
    message: MessageId,
    user: UserId,
    emoji: &str,
) -> ChatResult<bool> {
    let removed = diesel::delete(
        message_reactions::table
            .filter(message_reactions::message_id.eq(message))
            .filter(message_reactions::emoji.eq(emoji))
            .filter(message_reactions::user_id.eq(user)),
    )
    .execute(conn)
    .await?;
    Ok(removed == 1)
}

/// Whether anyone reacted to the message with `emoji`.
pub(crate) async fn has_emoji(
    conn: &mut AsyncPgConnection,
    message: MessageId,
    emoji: &str,
) -> ChatResult<bool> {
    let found: Option<MessageId> = message_reactions::table
        .filter(message_reactions::message_id.eq(message))
        .filter(message_reactions::emoji.eq(emoji))
        .select(message_reactions::message_id)
        .first(conn)
        .await
        .optional()?;
    Ok(found.is_some())
}

/// Locks the message's row (serialises the reactions that add a new emoji to it) and counts its distinct emoji.
pub(crate) async fn lock_and_count_emoji(
    conn: &mut AsyncPgConnection,
    message: MessageId,
) -> ChatResult<i64> {
    messages::table
        .find(message)
        .select(messages::id)
        .for_update()
        .first::<MessageId>(conn)
        .await?;
    Ok(message_reactions::table
        .filter(message_reactions::message_id.eq(message))
        .select(diesel::dsl::count(message_reactions::emoji).aggregate_distinct())
        .first(conn)
        .await?)
}

/// One emoji's reactions on one message.
#[derive(Debug, Clone, QueryableByName)]
pub(crate) struct CountRow {
    #[diesel(sql_type = SqlUuid)]
    pub(crate) message_id: MessageId,
    #[diesel(sql_type = Text)]
    pub(crate) emoji: String,
    /// How many users reacted with it.
    #[diesel(sql_type = BigInt)]
    pub(crate) count: i64,
    /// Whether the viewer is one of them (`None` without a viewer).
    #[diesel(sql_type = Nullable<Bool>)]
    pub(crate) me: Option<bool>,
}

/// The reactions of several messages, per emoji in the order each emoji was first used, with whether `viewer`
/// reacted with it; one query over the primary key.
pub(crate) async fn counts(
    mut conn: &AsyncPgConnection,
    messages: &[MessageId],
    viewer: Option<UserId>,
) -> ChatResult<Vec<CountRow>> {
    if messages.is_empty() {
        return Ok(Vec::new());
    }
    Ok(diesel::sql_query(
        "SELECT message_id, emoji, count(*) AS count,
                CASE WHEN $2::uuid IS NULL THEN NULL ELSE bool_or(user_id = $2) END AS me
         FROM message_reactions
         WHERE message_id = ANY($1)
         GROUP BY message_id, emoji
         ORDER BY message_id, min(created_at), emoji",
    )
    .bind::<Array<SqlUuid>, _>(messages)
    .bind::<Nullable<SqlUuid>, _>(viewer)
    .load(&mut conn)
    .await?)
}
