//! `conversations` and `conversation_members`.

use crate::error::ChatResult;
use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel::{ExpressionMethods as _, OptionalExtension as _, QueryDsl as _, QueryableByName};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use epop_core::{ConversationId, MessageId, UserId};
use epop_storage::schema::{conversation_members, conversations, users};

/// What the rules need of a row of `conversations`: its kind and creator.
#[derive(Debug, Clone, diesel::Queryable, diesel::Selectable)]
#[diesel(table_name = conversations, check_for_backend(diesel::pg::Pg))]
pub(crate) struct ConversationRow {
    /// `direct` or `group`.
    pub(crate) kind: String,
    pub(crate) created_by: UserId,
}

/// Inserts a conversation. For direct conversations a concurrent insert of the same pair loses quietly
/// (`ON CONFLICT (direct_key) DO NOTHING`); returns whether this call inserted it.
pub(crate) async fn insert(
    conn: &mut AsyncPgConnection,
    id: ConversationId,
    kind: &str,
    name: Option<&str>,
    created_by: UserId,
    direct_key: Option<&str>,
) -> ChatResult<bool> {
    let inserted = diesel::insert_into(conversations::table)
        .values((
            conversations::id.eq(id),
            conversations::kind.eq(kind),
            conversations::name.eq(name),
            conversations::created_by.eq(created_by),
            conversations::direct_key.eq(direct_key),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(inserted == 1)
}

/// The direct conversation with this key, if it exists.
pub(crate) async fn find_direct(
    conn: &mut AsyncPgConnection,
    direct_key: &str,
) -> ChatResult<Option<ConversationId>> {
    Ok(conversations::table
        .filter(conversations::direct_key.eq(direct_key))
        .select(conversations::id)
        .first(conn)
        .await
        .optional()?)
}

/// The conversation, if `user` is a member of it (membership is part of the query).
pub(crate) async fn find_for_member(
    conn: &mut AsyncPgConnection,
    id: ConversationId,
    user: UserId,
) -> ChatResult<Option<ConversationRow>> {
    Ok(conversations::table
        .inner_join(conversation_members::table)
        .filter(conversations::id.eq(id))
        .filter(conversation_members::user_id.eq(user))
        .select(<ConversationRow as diesel::SelectableHelper<diesel::pg::Pg>>::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Adds members (ignoring those already in) with their read position at `last_read_seq`; returns who was
/// actually added.
pub(crate) async fn add_members(
    conn: &mut AsyncPgConnection,
    id: ConversationId,
    users: &[UserId],
    last_read_seq: i64,
) -> ChatResult<Vec<UserId>> {
    let rows: Vec<_> = users
        .iter()
        .map(|user| {
            (
                conversation_members::conversation_id.eq(id),
                conversation_members::user_id.eq(*user),
                conversation_members::last_read_seq.eq(last_read_seq),
            )
        })
        .collect();
    Ok(diesel::insert_into(conversation_members::table)
        .values(rows)
        .on_conflict_do_nothing()
        .returning(conversation_members::user_id)
        .get_results(conn)
        .await?)
}

/// Removes a member; returns whether they were one.
pub(crate) async fn remove_member(
    conn: &mut AsyncPgConnection,
    id: ConversationId,
    user: UserId,
) -> ChatResult<bool> {
    let removed = diesel::delete(
        conversation_members::table
            .filter(conversation_members::conversation_id.eq(id))
            .filter(conversation_members::user_id.eq(user)),
    )
    .execute(conn)
    .await?;
    Ok(removed == 1)
}

/// Whether `user` is a member. Takes a shared connection so that it can be pipelined with a request's other
/// first checks (see [`crate::repo::messages::is_thread_root`]).
pub(crate) async fn is_member(
    mut conn: &AsyncPgConnection,
    id: ConversationId,
    user: UserId,
) -> ChatResult<bool> {
    Ok(diesel::select(diesel::dsl::exists(
        conversation_members::table
            .filter(conversation_members::conversation_id.eq(id))
            .filter(conversation_members::user_id.eq(user)),
    ))
    .get_result(&mut conn)
    .await?)
}

/// Every member id of a conversation, in joining order.
pub(crate) async fn member_ids(conn: &mut AsyncPgConnection, id: ConversationId) -> ChatResult<Vec<UserId>> {
    Ok(conversation_members::table
        .filter(conversation_members::conversation_id.eq(id))
        .order_by((
            conversation_members::joined_at.asc(),
            conversation_members::user_id.asc(),
        ))
        .select(conversation_members::user_id)
        .load(conn)
        .await?)
}

/// `(conversation_id, user_id, name)` of every member of the given conversations, in joining order.
pub(crate) async fn members_of(
    conn: &mut AsyncPgConnection,
    ids: &[ConversationId],
) -> ChatResult<Vec<(ConversationId, UserId, String)>> {
    Ok(conversation_members::table
        .inner_join(users::table)
        .filter(conversation_members::conversation_id.eq_any(ids))
        .order_by((
            conversation_members::joined_at.asc(),
            conversation_members::user_id.asc(),
        ))
        .select((conversation_members::conversation_id, users::id, users::name))
        .load(conn)
        .await?)
}

/// Which of `ids` are existing users.
pub(crate) async fn existing_users(conn: &mut AsyncPgConnection, ids: &[UserId]) -> ChatResult<Vec<UserId>> {
    Ok(users::table
        .filter(users::id.eq_any(ids))
        .select(users::id)
        .load(conn)
        .await?)
}

/// Takes the next `count` numbers of the conversation (locking its row until commit); returns the last `seq`
/// before them, or `None` if the conversation is gone. `shown`: some of them are shown in the conversation
/// (not only thread replies), which makes it the conversation's latest activity.
pub(crate) async fn take_seqs(
    conn: &mut AsyncPgConnection,
    id: ConversationId,
    count: i64,
    shown: bool,
) -> ChatResult<Option<i64>> {
    let query = diesel::update(conversations::table.find(id));
    let last: Option<i64> = if shown {
        query
            .set((
                conversations::last_seq.eq(conversations::last_seq + count),
                conversations::last_message_at.eq(diesel::dsl::now),
                conversations::updated_at.eq(diesel::dsl::now),
            ))
            .returning(conversations::last_seq)
            .get_result(conn)
            .await
            .optional()?
    } else {
        query
            .set((
                conversations::last_seq.eq(conversations::last_seq + count),
                conversations::updated_at.eq(diesel::dsl::now),
            ))
            .returning(conversations::last_seq)
            .get_result(conn)
            .await
            .optional()?
    };
    Ok(last.map(|last| last - count))
}

/// Moves several members' read positions forward (never back) in one statement: `(user, seq, message)`, one
/// entry per user.
pub(crate) async fn move_read_positions(
    conn: &mut AsyncPgConnection,
    id: ConversationId,
    positions: &[(UserId, i64, MessageId)],
) -> ChatResult<()> {
    if positions.is_empty() {
        return Ok(());
    }
    let users: Vec<UserId> = positions.iter().map(|p| p.0).collect();
    let seqs: Vec<i64> = positions.iter().map(|p| p.1).collect();
    let messages: Vec<MessageId> = positions.iter().map(|p| p.2).collect();
    diesel::sql_query(
        "UPDATE conversation_members cm SET last_read_seq = v.seq, last_read_message_id = v.message \
         FROM unnest($2::uuid[], $3::bigint[], $4::uuid[]) AS v(user_id, seq, message) \
         WHERE cm.conversation_id = $1 AND cm.user_id = v.user_id AND cm.last_read_seq < v.seq",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Array<SqlUuid>, _>(users)
    .bind::<Array<BigInt>, _>(seqs)
    .bind::<Array<SqlUuid>, _>(messages)
    .execute(conn)
    .await?;
    Ok(())
}

/// A member's notification level (`None`: the default) and mute; `None` for a non-member.
pub(crate) async fn notify_settings(
    conn: &mut AsyncPgConnection,
    id: ConversationId,
    user: UserId,
) -> ChatResult<Option<(Option<String>, Option<DateTime<Utc>>)>> {
    Ok(conversation_members::table
        .filter(conversation_members::conversation_id.eq(id))
        .filter(conversation_members::user_id.eq(user))
        .select((
            conversation_members::notify_level,
            conversation_members::muted_until,
        ))
        .first(conn)
        .await
        .optional()?)
}

/// Sets a member's notification level and mute.
pub(crate) async fn set_notify_settings(
    conn: &mut AsyncPgConnection,
    id: ConversationId,
    user: UserId,
    level: Option<&str>,
    muted_until: Option<DateTime<Utc>>,
) -> ChatResult<()> {
    diesel::update(
        conversation_members::table
            .filter(conversation_members::conversation_id.eq(id))
            .filter(conversation_members::user_id.eq(user)),
    )
    .set((
        conversation_members::notify_level.eq(level),
        conversation_members::muted_until.eq(muted_until),
    ))
    .execute(conn)
    .await?;
    Ok(())
}

/// Locks the conversation row without changing it (serialises with senders).
pub(crate) async fn lock(conn: &mut AsyncPgConnection, id: ConversationId) -> ChatResult<Option<i64>> {
    Ok(conversations::table
        .find(id)
        .select(conversations::last_seq)
        .for_update()
        .first(conn)
        .await
        .optional()?)
}

/// Moves a member's read position forward to `seq` (never back); returns whether it moved.
pub(crate) async fn move_read_position(
    conn: &mut AsyncPgConnection,
    id: ConversationId,
    user: UserId,
    seq: i64,
    message: MessageId,
) -> ChatResult<bool> {
    let moved = diesel::update(
        conversation_members::table
            .filter(conversation_members::conversation_id.eq(id))
            .filter(conversation_members::user_id.eq(user))
            .filter(conversation_members::last_read_seq.lt(seq)),
    )
    .set((
        conversation_members::last_read_seq.eq(seq),
        conversation_members::last_read_message_id.eq(message),
    ))
    .execute(conn)
    .await?;
    Ok(moved == 1)
}

/// Sets a member's read position to `seq` (in either direction, for marking a message unread); returns whether
/// it changed.
pub(crate) async fn set_read_position(
    conn: &mut AsyncPgConnection,
    id: ConversationId,
    user: UserId,
    seq: i64,
    message: Option<MessageId>,
) -> ChatResult<bool> {
    let moved = diesel::update(
        conversation_members::table
            .filter(conversation_members::conversation_id.eq(id))
            .filter(conversation_members::user_id.eq(user))
            .filter(conversation_members::last_read_seq.ne(seq)),
    )
    .set((
        conversation_members::last_read_seq.eq(seq),
        conversation_members::last_read_message_id.eq(message),
    ))
    .execute(conn)
    .await?;
    Ok(moved == 1)
}

/// A conversation's position in a member's list.
#[derive(Debug, Clone, QueryableByName)]
pub(crate) struct ActivityRow {
    #[diesel(sql_type = SqlUuid)]
    pub(crate) id: ConversationId,
    /// Its latest activity as of the list's snapshot.
    #[diesel(sql_type = Timestamptz)]
    pub(crate) activity: DateTime<Utc>,
}

/// One page of a member's conversations by latest activity as it stood at `as_of` (newest first, then id),
/// after `(after_activity, after_id)`. Fetches `limit + 1` rows.
///
/// Conversations that changed after `as_of` are placed by the newest message they had then, so paging never
/// skips or repeats a conversation that gets a message meanwhile.
pub(crate) async fn page_by_activity(
    conn: &mut AsyncPgConnection,
    user: UserId,
    as_of: DateTime<Utc>,
    after: Option<(DateTime<Utc>, ConversationId)>,
    limit: i64,
) -> ChatResult<Vec<ActivityRow>> {
    let (after_activity, after_id) = after.map_or((None, None), |(a, i)| (Some(a), Some(i)));
    Ok(diesel::sql_query(
        "WITH mine AS (
             SELECT c.id,
                    CASE WHEN coalesce(c.last_message_at, c.created_at) <= $2
                         THEN coalesce(c.last_message_at, c.created_at)
                         ELSE coalesce((SELECT max(m.created_at) FROM messages m
                                        WHERE m.conversation_id = c.id AND m.created_at <= $2
                                          AND (m.thread_root_id IS NULL OR m.sent_to_conversation)),
                                       c.created_at)
                    END AS activity
             FROM conversation_members cm
             JOIN conversations c ON c.id = cm.conversation_id
             WHERE cm.user_id = $1 AND c.created_at <= $2
         )
         SELECT id, activity FROM mine
         WHERE $3::timestamptz IS NULL OR (activity, id) < ($3, $4)
         ORDER BY activity DESC, id DESC
         LIMIT $5",
    )
    .bind::<SqlUuid, _>(user)
    .bind::<Timestamptz, _>(as_of)
    .bind::<Nullable<Timestamptz>, _>(after_activity)
    .bind::<Nullable<SqlUuid>, _>(after_id)
    .bind::<BigInt, _>(limit + 1)
    .load(conn)
    .await?)
}

/// A conversation with the member's unread count and its newest message's id.
#[derive(Debug, Clone, QueryableByName)]
pub(crate) struct SummaryRow {
    #[diesel(sql_type = SqlUuid)]
    pub(crate) id: ConversationId,
    /// `direct` or `group`.
    #[diesel(sql_type = Text)]
    pub(crate) kind: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub(crate) name: Option<String>,
    #[diesel(sql_type = SqlUuid)]
    pub(crate) created_by: UserId,
    #[diesel(sql_type = Timestamptz)]
    pub(crate) created_at: DateTime<Utc>,
    /// Other people's live messages the conversation shows after the member's read position.
    #[diesel(sql_type = BigInt)]
    pub(crate) unread_count: i64,
    /// Of those, the ones that mention the member (rows of `message_mentions`, which live messages only have).
    #[diesel(sql_type = BigInt)]
    pub(crate) unread_mention_count: i64,
    /// The newest live message the conversation shows.
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub(crate) last_message_id: Option<MessageId>,
}

/// Summaries of the given conversations for `user` (only those they are a member of), in one query.
pub(crate) async fn summaries(
    conn: &mut AsyncPgConnection,
    user: UserId,
    ids: &[ConversationId],
) -> ChatResult<Vec<SummaryRow>> {
    Ok(diesel::sql_query(
        "SELECT c.id, c.kind, c.name, c.created_by, c.created_at,
                (SELECT count(*) FROM messages m
                  WHERE m.conversation_id = c.id AND m.seq > cm.last_read_seq
                    AND (m.thread_root_id IS NULL OR m.sent_to_conversation)
                    AND m.sender_id <> $1 AND m.deleted_at IS NULL) AS unread_count,
                (SELECT count(*) FROM message_mentions mm
                  WHERE mm.user_id = $1 AND mm.conversation_id = c.id AND mm.shown
                    AND mm.seq > cm.last_read_seq) AS unread_mention_count,
                (SELECT m.id FROM messages m
                  WHERE m.conversation_id = c.id AND m.deleted_at IS NULL
                    AND (m.thread_root_id IS NULL OR m.sent_to_conversation)
                  ORDER BY m.seq DESC LIMIT 1) AS last_message_id
         FROM conversations c
         JOIN conversation_members cm ON cm.conversation_id = c.id AND cm.user_id = $1
         WHERE c.id = ANY($2)",
    )
    .bind::<SqlUuid, _>(user)
    .bind::<Array<SqlUuid>, _>(ids)
    .load(conn)
    .await?)
}

/// Every conversation id of a user.
pub(crate) async fn ids_of_member(
    conn: &mut AsyncPgConnection,
    user: UserId,
) -> ChatResult<Vec<ConversationId>> {
    Ok(conversation_members::table
        .filter(conversation_members::user_id.eq(user))
        .select(conversation_members::conversation_id)
        .load(conn)
        .await?)
}

/// The members of `user`'s presence audience (`docs/api.md`, Presence): every `(conversation_id, user_id)` of the
/// other members of `user`'s direct conversations and of the groups with at most `limit` members. One query;
/// a group's size is counted only up to `limit + 1` rows (an index range of the primary key), so a
/// conversation of 10,000 members costs `limit + 1` index entries, never its whole membership.
pub(crate) async fn presence_audience(
    conn: &mut AsyncPgConnection,
    user: UserId,
    limit: i64,
) -> ChatResult<Vec<(ConversationId, UserId)>> {
    Ok(diesel::sql_query(
        "WITH small AS (
             SELECT mine.conversation_id
             FROM conversation_members mine
             JOIN conversations c ON c.id = mine.conversation_id
             WHERE mine.user_id = $1
               AND (c.kind = 'direct'
                    OR (SELECT count(*) FROM (SELECT 1 FROM conversation_members m
                                              WHERE m.conversation_id = mine.conversation_id
                                              LIMIT $2 + 1) AS bounded) <= $2)
         )
         SELECT other.conversation_id, other.user_id
         FROM small
         JOIN conversation_members other ON other.conversation_id = small.conversation_id
         WHERE other.user_id <> $1",
    )
    .bind::<SqlUuid, _>(user)
    .bind::<BigInt, _>(limit)
    .load::<MembershipRow>(conn)
    .await?
    .into_iter()
    .map(|row| (row.conversation_id, row.user_id))
    .collect())
}

/// Which of `users` share at least one conversation with `me` (`me` included when asked for and a member of
/// anything). One query over the `user_id` index, bounded by the number of ids asked for.
pub(crate) async fn sharing_a_conversation(
    conn: &mut AsyncPgConnection,
    me: UserId,
    users: &[UserId],
) -> ChatResult<Vec<UserId>> {
    Ok(diesel::sql_query(
        "SELECT DISTINCT other.user_id AS id
         FROM conversation_members other
         WHERE other.user_id = ANY($2)
           AND EXISTS (SELECT 1 FROM conversation_members mine
                       WHERE mine.user_id = $1 AND mine.conversation_id = other.conversation_id)",
    )
    .bind::<SqlUuid, _>(me)
    .bind::<Array<SqlUuid>, _>(users)
    .load::<IdRow>(conn)
    .await?
    .into_iter()
    .map(|row| row.id)
    .collect())
}

/// A `(conversation_id, user_id)` pair.
#[derive(Debug, Clone, QueryableByName)]
pub(crate) struct MembershipRow {
    #[diesel(sql_type = SqlUuid)]
    pub(crate) conversation_id: ConversationId,
    #[diesel(sql_type = SqlUuid)]
    pub(crate) user_id: UserId,
}

/// A single user id column.
#[derive(Debug, Clone, QueryableByName)]
pub(crate) struct IdRow {
    #[diesel(sql_type = SqlUuid)]
    pub(crate) id: UserId,
}
