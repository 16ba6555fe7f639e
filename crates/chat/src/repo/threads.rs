//! `message_threads` (one summary row per thread) and `thread_followers` (who follows a thread, and how far
//! each has read it).

use crate::error::ChatResult;
use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, BigInt, Nullable, Timestamptz, Uuid as SqlUuid};
use diesel::{ExpressionMethods as _, OptionalExtension as _, QueryDsl as _, QueryableByName};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use epop_core::model::ThreadSummary;
use epop_core::{ConversationId, MessageId, UserId};
use epop_storage::schema::{message_threads, thread_followers};

/// How many recent repliers a summary keeps.
pub(crate) const PARTICIPANTS: i64 = 5;

/// A thread's summary row.
#[derive(Debug, Clone, QueryableByName, diesel::Queryable, diesel::Selectable)]
#[diesel(table_name = message_threads, check_for_backend(diesel::pg::Pg))]
pub(crate) struct SummaryRow {
    /// The root message.
    #[diesel(sql_type = SqlUuid)]
    pub(crate) root_id: MessageId,
    /// Live replies.
    #[diesel(sql_type = BigInt)]
    pub(crate) reply_count: i64,
    /// When the newest reply was posted.
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub(crate) last_reply_at: Option<DateTime<Utc>>,
    /// Recent repliers, newest first.
    #[diesel(sql_type = Array<SqlUuid>)]
    pub(crate) participant_ids: Vec<UserId>,
}

impl SummaryRow {
    /// The summary as messages show it.
    pub(crate) fn summary(&self) -> ThreadSummary {
        ThreadSummary {
            reply_count: self.reply_count,
            last_reply_at: self.last_reply_at,
            participant_ids: self.participant_ids.clone(),
        }
    }
}

/// New replies to one thread, as a batch of sends writes them.
pub(crate) struct Replies<'a> {
    /// How many replies.
    pub(crate) count: i64,
    /// The newest reply's `seq` and time.
    pub(crate) last_seq: i64,
    pub(crate) last_at: DateTime<Utc>,
    /// Their senders, newest first: the thread's most recent participants.
    pub(crate) senders: &'a [UserId],
    /// Each replier once, with the `seq` of their newest reply (their watermark moves there).
    pub(crate) repliers: &'a [(UserId, i64)],
}

/// Records new replies in one statement: counts them into the thread's summary (creating it with the first),
/// makes the repliers follow the thread (again, if they had unfollowed it) with their watermark at least at
/// their newest reply, and with the thread's first replies makes its starter follow it too (unless they have a
/// row already: a starter who unfollowed stays unfollowed). Returns the summary as it is now.
///
/// One statement, because it runs inside the batch's transaction while the conversation's row lock is held: a
/// reply costs the same round trips as a message to the conversation.
pub(crate) async fn record_replies(
    conn: &mut AsyncPgConnection,
    root: MessageId,
    conversation: ConversationId,
    replies: &Replies<'_>,
) -> ChatResult<SummaryRow> {
    let users: Vec<UserId> = replies.repliers.iter().map(|r| r.0).collect();
    let seqs: Vec<i64> = replies.repliers.iter().map(|r| r.1).collect();
    // The two inserts into `thread_followers` never touch the same row (the starter's is left out when they
    // are a replier), as one statement may not insert a key twice.
    Ok(diesel::sql_query(
        "WITH summary AS (
             INSERT INTO message_threads AS t
                 (root_id, conversation_id, reply_count, last_reply_seq, last_reply_at, participant_ids)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (root_id) DO UPDATE SET
                 reply_count = t.reply_count + excluded.reply_count,
                 last_reply_seq = greatest(t.last_reply_seq, excluded.last_reply_seq),
                 last_reply_at = greatest(t.last_reply_at, excluded.last_reply_at),
                 participant_ids = ARRAY(
                     SELECT p.id FROM unnest(excluded.participant_ids || t.participant_ids)
                                      WITH ORDINALITY AS p(id, n)
                     GROUP BY p.id ORDER BY min(p.n) LIMIT $7)
             RETURNING root_id, reply_count, last_reply_at, participant_ids
         ), repliers AS (
             INSERT INTO thread_followers AS f (root_id, user_id, following, last_read_seq)
             SELECT $1, v.user_id, true, v.seq FROM unnest($8::uuid[], $9::bigint[]) AS v(user_id, seq)
             ON CONFLICT (root_id, user_id) DO UPDATE SET
                 following = true,
                 last_read_seq = greatest(f.last_read_seq, excluded.last_read_seq)
         ), starter AS (
             INSERT INTO thread_followers (root_id, user_id)
             SELECT m.id, m.sender_id FROM messages m
             WHERE m.id = $1 AND m.sender_id <> ALL($8::uuid[])
               AND EXISTS (SELECT 1 FROM summary s WHERE s.reply_count = $3)
             ON CONFLICT (root_id, user_id) DO NOTHING
         )
         SELECT root_id, reply_count, last_reply_at, participant_ids FROM summary",
    )
    .bind::<SqlUuid, _>(root)
    .bind::<SqlUuid, _>(conversation)
    .bind::<BigInt, _>(replies.count)
    .bind::<BigInt, _>(replies.last_seq)
    .bind::<Timestamptz, _>(replies.last_at)
    .bind::<Array<SqlUuid>, _>(replies.senders)
    .bind::<BigInt, _>(PARTICIPANTS)
    .bind::<Array<SqlUuid>, _>(users)
    .bind::<Array<BigInt>, _>(seqs)
    .get_result(conn)
    .await?)
}

/// Recounts a thread's live replies after one was deleted; `None` if the thread has no summary.
pub(crate) async fn recount(conn: &mut AsyncPgConnection, root: MessageId) -> ChatResult<Option<SummaryRow>> {
    Ok(diesel::sql_query(
        "UPDATE message_threads t SET
             reply_count = live.n,
             last_reply_at = live.last_at
         FROM (SELECT count(*) AS n, max(created_at) AS last_at FROM messages
               WHERE thread_root_id = $1 AND deleted_at IS NULL) AS live
         WHERE t.root_id = $1
         RETURNING t.root_id, t.reply_count, t.last_reply_at, t.participant_ids",
    )
    .bind::<SqlUuid, _>(root)
    .get_result(conn)
    .await
    .optional()?)
}

/// The summaries of those of `roots` that have replies.
pub(crate) async fn summaries(
    mut conn: &AsyncPgConnection,
    roots: &[MessageId],
) -> ChatResult<Vec<SummaryRow>> {
    if roots.is_empty() {
        return Ok(Vec::new());
    }
    Ok(message_threads::table
        .filter(message_threads::root_id.eq_any(roots))
        .filter(message_threads::reply_count.gt(0))
        .select(<SummaryRow as diesel::SelectableHelper<diesel::pg::Pg>>::as_select())
        .load(&mut conn)
        .await?)
}

/// Makes members a reply mentions follow the thread (again, if they had unfollowed it), keeping their
/// watermark: the mention stays unread.
pub(crate) async fn follow_as_mentioned(
    conn: &mut AsyncPgConnection,
    root: MessageId,
    users: &[UserId],
) -> ChatResult<()> {
    if users.is_empty() {
        return Ok(());
    }
    diesel::sql_query(
        "INSERT INTO thread_followers AS f (root_id, user_id, following)
         SELECT $1, u, true FROM unnest($2::uuid[]) AS u
         ON CONFLICT (root_id, user_id) DO UPDATE SET following = true WHERE NOT f.following",
    )
    .bind::<SqlUuid, _>(root)
    .bind::<Array<SqlUuid>, _>(users)
    .execute(conn)
    .await?;
    Ok(())
}

/// Follows or unfollows a thread explicitly.
pub(crate) async fn set_following(
    conn: &mut AsyncPgConnection,
    root: MessageId,
    user: UserId,
    following: bool,
) -> ChatResult<()> {
    diesel::insert_into(thread_followers::table)
        .values((
            thread_followers::root_id.eq(root),
            thread_followers::user_id.eq(user),
            thread_followers::following.eq(following),
        ))
        .on_conflict((thread_followers::root_id, thread_followers::user_id))
        .do_update()
        .set(thread_followers::following.eq(following))
        .execute(conn)
        .await?;
    Ok(())
}

/// Moves a user's watermark of a thread forward to `seq` (never back), keeping whether they follow it (a
/// user without a row gets one, not following); returns whether it moved.
pub(crate) async fn move_watermark(
    conn: &mut AsyncPgConnection,
    root: MessageId,
    user: UserId,
    seq: i64,
) -> ChatResult<bool> {
    let moved = diesel::sql_query(
        "INSERT INTO thread_followers AS f (root_id, user_id, following, last_read_seq)
         VALUES ($1, $2, false, $3)
         ON CONFLICT (root_id, user_id) DO UPDATE SET last_read_seq = excluded.last_read_seq
         WHERE f.last_read_seq < excluded.last_read_seq",
    )
    .bind::<SqlUuid, _>(root)
    .bind::<SqlUuid, _>(user)
    .bind::<BigInt, _>(seq)
    .execute(conn)
    .await?;
    Ok(moved == 1)
}

/// A followed thread in a user's list.
#[derive(Debug, Clone, QueryableByName)]
pub(crate) struct FollowedRow {
    /// The root message.
    #[diesel(sql_type = SqlUuid)]
    pub(crate) root_id: MessageId,
    /// Its latest activity: the newest reply, or the root's creation.
    #[diesel(sql_type = Timestamptz)]
    pub(crate) activity: DateTime<Utc>,
    /// Other people's live replies after the user's watermark.
    #[diesel(sql_type = BigInt)]
    pub(crate) unread_reply_count: i64,
    /// Of those, the ones that mention the user (over `message_mentions_thread_idx`).
    #[diesel(sql_type = BigInt)]
    pub(crate) unread_mention_count: i64,
}

/// One page of the threads `user` follows in conversations they are still in, with live roots, most recent
/// activity first (then root id), after `(after_activity, after_root)`; `limit + 1` rows. The page is chosen
/// first, then only its threads' unread replies are counted (over `messages_thread_idx`).
pub(crate) async fn followed_page(
    conn: &mut AsyncPgConnection,
    user: UserId,
    after: Option<(DateTime<Utc>, MessageId)>,
    limit: i64,
) -> ChatResult<Vec<FollowedRow>> {
    let (after_activity, after_root) = after.map_or((None, None), |(a, r)| (Some(a), Some(r)));
    Ok(diesel::sql_query(
        "WITH followed AS (
             SELECT f.root_id, f.last_read_seq,
                    coalesce(t.last_reply_at, m.created_at) AS activity
             FROM thread_followers f
             JOIN messages m ON m.id = f.root_id AND m.deleted_at IS NULL
             JOIN conversation_members cm ON cm.conversation_id = m.conversation_id AND cm.user_id = $1
             LEFT JOIN message_threads t ON t.root_id = f.root_id
             WHERE f.user_id = $1 AND f.following
         ), page AS (
             SELECT * FROM followed
             WHERE $2::timestamptz IS NULL OR (activity, root_id) < ($2, $3)
             ORDER BY activity DESC, root_id DESC
             LIMIT $4
         )
         SELECT page.root_id, page.activity,
                (SELECT count(*) FROM messages r
                  WHERE r.thread_root_id = page.root_id AND r.seq > page.last_read_seq
                    AND r.sender_id <> $1 AND r.deleted_at IS NULL) AS unread_reply_count,
                (SELECT count(*) FROM message_mentions mm
                  WHERE mm.user_id = $1 AND mm.thread_root_id = page.root_id
                    AND mm.seq > page.last_read_seq) AS unread_mention_count
         FROM page
         ORDER BY page.activity DESC, page.root_id DESC",
    )
    .bind::<SqlUuid, _>(user)
    .bind::<Nullable<Timestamptz>, _>(after_activity)
    .bind::<Nullable<SqlUuid>, _>(after_root)
    .bind::<BigInt, _>(limit + 1)
    .load(conn)
    .await?)
}
