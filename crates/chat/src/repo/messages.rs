//! `messages`.

use crate::error::ChatResult;
use chrono::{DateTime, Utc};
use diesel::{
    BoolExpressionMethods as _, ExpressionMethods as _, Insertable, OptionalExtension as _, QueryDsl as _,
    Queryable, Selectable, SelectableHelper as _,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use epop_core::{ConversationId, MessageId, UserId};
use epop_storage::schema::messages;

/// A row of `messages` (without the search vector).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = messages, check_for_backend(diesel::pg::Pg))]
pub(crate) struct MessageRow {
    pub(crate) id: MessageId,
    pub(crate) conversation_id: ConversationId,
    /// Position in the conversation.
    pub(crate) seq: i64,
    pub(crate) sender_id: UserId,
    pub(crate) content: String,
    /// Sender's idempotency key.
    pub(crate) client_id: Option<String>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
    pub(crate) edited_at: Option<DateTime<Utc>>,
    /// Soft deletion time.
    pub(crate) deleted_at: Option<DateTime<Utc>>,
    /// The thread's root, for a reply.
    pub(crate) thread_root_id: Option<MessageId>,
    /// A reply also shown in the conversation.
    pub(crate) sent_to_conversation: bool,
    /// The members it names.
    pub(crate) mentions: Vec<UserId>,
    /// It says `<!here>`.
    pub(crate) mentions_here: bool,
    /// It says `<!all>`.
    pub(crate) mentions_all: bool,
}

impl MessageRow {
    /// Whether the conversation shows it: a top-level message, or a reply sent to the conversation.
    pub(crate) fn shown_in_conversation(&self) -> bool {
        self.thread_root_id.is_none() || self.sent_to_conversation
    }
}

/// A new row of `messages`.
#[derive(Debug, Insertable)]
#[diesel(table_name = messages)]
pub(crate) struct NewMessageRow<'a> {
    pub(crate) id: MessageId,
    pub(crate) conversation_id: ConversationId,
    /// Position.
    pub(crate) seq: i64,
    pub(crate) sender_id: UserId,
    pub(crate) content: &'a str,
    /// Idempotency key.
    pub(crate) client_id: Option<&'a str>,
    /// The thread's root, for a reply.
    pub(crate) thread_root_id: Option<MessageId>,
    /// A reply also shown in the conversation.
    pub(crate) sent_to_conversation: bool,
    /// The members it names.
    pub(crate) mentions: &'a [UserId],
    /// It says `<!here>`.
    pub(crate) mentions_here: bool,
    /// It says `<!all>`.
    pub(crate) mentions_all: bool,
}

/// Inserts several messages in one statement; returns them (in no particular order).
pub(crate) async fn insert_all(
    conn: &mut AsyncPgConnection,
    rows: &[NewMessageRow<'_>],
) -> ChatResult<Vec<MessageRow>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    Ok(diesel::insert_into(messages::table)
        .values(rows)
        .returning(MessageRow::as_returning())
        .load(conn)
        .await?)
}

/// Messages of a conversation carrying one of `client_ids` (the caller matches the senders).
pub(crate) async fn find_by_client_ids(
    conn: &mut AsyncPgConnection,
    conversation: ConversationId,
    client_ids: &[&str],
) -> ChatResult<Vec<MessageRow>> {
    Ok(messages::table
        .filter(messages::conversation_id.eq(conversation))
        .filter(messages::client_id.eq_any(client_ids))
        .select(MessageRow::as_select())
        .load(conn)
        .await?)
}

/// A message by id (deleted ones included; callers decide).
pub(crate) async fn find(conn: &mut AsyncPgConnection, id: MessageId) -> ChatResult<Option<MessageRow>> {
    Ok(messages::table
        .find(id)
        .select(MessageRow::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Whether `root` is a live top-level message of `conversation`, one a reply may be posted to. Takes a shared
/// connection so that it can be pipelined with the membership check of the same send.
pub(crate) async fn is_thread_root(
    mut conn: &AsyncPgConnection,
    root: MessageId,
    conversation: ConversationId,
) -> ChatResult<bool> {
    Ok(diesel::select(diesel::dsl::exists(
        messages::table
            .filter(messages::id.eq(root))
            .filter(messages::conversation_id.eq(conversation))
            .filter(messages::thread_root_id.is_null())
            .filter(messages::deleted_at.is_null()),
    ))
    .get_result(&mut conn)
    .await?)
}

/// Several messages by id.
pub(crate) async fn find_many(
    conn: &mut AsyncPgConnection,
    ids: &[MessageId],
) -> ChatResult<Vec<MessageRow>> {
    Ok(messages::table
        .filter(messages::id.eq_any(ids))
        .select(MessageRow::as_select())
        .load(conn)
        .await?)
}

/// The message a sender already posted with `client_id` in this conversation.
pub(crate) async fn find_by_client_id(
    conn: &mut AsyncPgConnection,
    conversation: ConversationId,
    sender: UserId,
    client_id: &str,
) -> ChatResult<Option<MessageRow>> {
    Ok(messages::table
        .filter(messages::conversation_id.eq(conversation))
        .filter(messages::sender_id.eq(sender))
        .filter(messages::client_id.eq(client_id))
        .select(MessageRow::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Which messages a page walks: what a conversation shows, or the replies of one thread.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Listing {
    /// Top-level messages and replies sent to the conversation.
    Conversation(ConversationId),
    /// The replies of a thread.
    Thread(MessageId),
}

type BoxedMessages<'a> = messages::BoxedQuery<'a, diesel::pg::Pg>;

impl Listing {
    /// The live messages of this listing (over `messages_shown_idx` or `messages_thread_idx`).
    fn live<'a>(self) -> BoxedMessages<'a> {
        let query = messages::table
            .filter(messages::deleted_at.is_null())
            .into_boxed();
        match self {
            Listing::Conversation(conversation) => {
                query.filter(messages::conversation_id.eq(conversation)).filter(
                    messages::thread_root_id
                        .is_null()
                        .or(messages::sent_to_conversation),
                )
            }
            Listing::Thread(root) => query.filter(messages::thread_root_id.eq(root)),
        }
    }
}

/// Live messages of a listing with `seq < before` (or the newest), newest first; `limit + 1` rows.
pub(crate) async fn page_before(
    mut conn: &AsyncPgConnection,
    listing: Listing,
    before: Option<i64>,
    limit: i64,
) -> ChatResult<Vec<MessageRow>> {
    let mut query = listing
        .live()
        .order_by(messages::seq.desc())
        .limit(limit + 1)
        .select(MessageRow::as_select());
    if let Some(before) = before {
        query = query.filter(messages::seq.lt(before));
    }
    Ok(query.load(&mut conn).await?)
}

/// Live messages of a listing with `seq > after`, oldest first; `limit + 1` rows.
pub(crate) async fn page_after(
    mut conn: &AsyncPgConnection,
    listing: Listing,
    after: i64,
    limit: i64,
) -> ChatResult<Vec<MessageRow>> {
    Ok(listing
        .live()
        .filter(messages::seq.gt(after))
        .order_by(messages::seq.asc())
        .limit(limit + 1)
        .select(MessageRow::as_select())
        .load(&mut conn)
        .await?)
}

/// Replaces the text of a message (and what it mentions) and marks it edited.
pub(crate) async fn edit(
    conn: &mut AsyncPgConnection,
    id: MessageId,
    content: &str,
    mentions: (&[UserId], bool, bool),
) -> ChatResult<MessageRow> {
    let (users, here, all) = mentions;
    Ok(diesel::update(messages::table.find(id))
        .set((
            messages::content.eq(content),
            messages::mentions.eq(users),
            messages::mentions_here.eq(here),
            messages::mentions_all.eq(all),
            messages::edited_at.eq(diesel::dsl::now),
            messages::updated_at.eq(diesel::dsl::now),
        ))
        .returning(MessageRow::as_returning())
        .get_result(conn)
        .await?)
}

/// Soft-deletes a message: its text is erased; the row stays so its `client_id` and `seq` stay taken.
pub(crate) async fn soft_delete(conn: &mut AsyncPgConnection, id: MessageId) -> ChatResult<()> {
    diesel::update(messages::table.find(id))
        .set((
            messages::deleted_at.eq(diesel::dsl::now),
            messages::content.eq(""),
            messages::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}
