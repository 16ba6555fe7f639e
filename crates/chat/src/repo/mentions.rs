//! `message_mentions`: one row per member a live message mentions, where the unread mention counts are counted.

use crate::error::ChatResult;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Uuid as SqlUuid};
use diesel::{ExpressionMethods as _, QueryDsl as _};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use epop_core::{ConversationId, MessageId, UserId};
use epop_storage::schema::{conversation_members, message_mentions};

/// Where a message is, and who it mentions.
#[derive(Debug, Clone)]
pub(crate) struct MentionsOf<'a> {
    pub(crate) message: MessageId,
    pub(crate) conversation: ConversationId,
    pub(crate) seq: i64,
    pub(crate) thread_root_id: Option<MessageId>,
    /// Shown (and counted) in the conversation.
    pub(crate) shown: bool,
    /// Mentioned members, the sender left out.
    pub(crate) targets: &'a [UserId],
}

/// Records who the messages mention, in one statement for all of them.
pub(crate) async fn insert_all(conn: &mut AsyncPgConnection, all: &[MentionsOf<'_>]) -> ChatResult<()> {
    let rows: Vec<&MentionsOf<'_>> = all.iter().filter(|m| !m.targets.is_empty()).collect();
    if rows.is_empty() {
        return Ok(());
    }
    let total: usize = rows.iter().map(|m| m.targets.len()).sum();
    let (mut messages, mut users, mut conversations, mut seqs, mut roots, mut shown) = (
        Vec::with_capacity(total),
        Vec::with_capacity(total),
        Vec::with_capacity(total),
        Vec::with_capacity(total),
        Vec::with_capacity(total),
        Vec::with_capacity(total),
    );
    for row in rows {
        for user in row.targets {
            messages.push(row.message);
            users.push(*user);
            conversations.push(row.conversation);
            seqs.push(row.seq);
            roots.push(row.thread_root_id);
            shown.push(row.shown);
        }
    }
    diesel::sql_query(
        "INSERT INTO message_mentions (message_id, user_id, conversation_id, seq, thread_root_id, shown)
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::bigint[], $5::uuid[], $6::boolean[])
         ON CONFLICT (message_id, user_id) DO NOTHING",
    )
    .bind::<Array<SqlUuid>, _>(messages)
    .bind::<Array<SqlUuid>, _>(users)
    .bind::<Array<SqlUuid>, _>(conversations)
    .bind::<Array<BigInt>, _>(seqs)
    .bind::<Array<Nullable<SqlUuid>>, _>(roots)
    .bind::<Array<Bool>, _>(shown)
    .execute(conn)
    .await?;
    Ok(())
}

/// Who a message mentions now (its `message_mentions` rows; the primary key's range).
pub(crate) async fn targets_of(conn: &mut AsyncPgConnection, message: MessageId) -> ChatResult<Vec<UserId>> {
    Ok(message_mentions::table
        .filter(message_mentions::message_id.eq(message))
        .select(message_mentions::user_id)
        .load(conn)
        .await?)
}

/// Forgets who a message mentions (deleted, or edited: then recorded again).
pub(crate) async fn delete_of(conn: &mut AsyncPgConnection, message: MessageId) -> ChatResult<()> {
    diesel::delete(message_mentions::table.filter(message_mentions::message_id.eq(message)))
        .execute(conn)
        .await?;
    Ok(())
}

/// Which of `users` are members of the conversation (one index look-up per user asked for).
pub(crate) async fn members_among(
    conn: &mut AsyncPgConnection,
    conversation: ConversationId,
    users: &[UserId],
) -> ChatResult<Vec<UserId>> {
    if users.is_empty() {
        return Ok(Vec::new());
    }
    Ok(conversation_members::table
        .filter(conversation_members::conversation_id.eq(conversation))
        .filter(conversation_members::user_id.eq_any(users))
        .select(conversation_members::user_id)
        .load(conn)
        .await?)
}

/// The conversation's members if there are at most `limit`, else `None`: reads at most `limit + 1` entries
/// of the primary key, whatever the conversation's size.
pub(crate) async fn members_up_to(
    conn: &mut AsyncPgConnection,
    conversation: ConversationId,
    limit: i64,
) -> ChatResult<Option<Vec<UserId>>> {
    let members: Vec<UserId> = conversation_members::table
        .filter(conversation_members::conversation_id.eq(conversation))
        .select(conversation_members::user_id)
        .order_by(conversation_members::user_id)
        .limit(limit.saturating_add(1))
        .load(conn)
        .await?;
    Ok((i64::try_from(members.len()).unwrap_or(i64::MAX) <= limit).then_some(members))
}
