//! The rules of chat: who may see and change what, and how messages are ordered, deduplicated and found.

use crate::error::{ChatError, ChatResult};
use crate::files::FILES_QUEUE;
use crate::mentions::{self as mention_text, OnlineUsers, ResolvedMentions};
use crate::model::*;
use crate::repo::attachments::{self, AttachmentRow, NewAttachmentRow};
use crate::repo::conversations as convs;
use crate::repo::mentions::{self, MentionsOf};
use crate::repo::messages::{self, Listing, MessageRow, NewMessageRow};
use crate::repo::reactions;
use crate::repo::search;
use crate::repo::threads;
use crate::send_batch::{SendBatcher, Submission, Written};
use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection as _, AsyncPgConnection};
use epop_core::model::{EventAttachment, EventMessage, StoredObject};
use epop_core::{
    AttachmentId, Clock, ConversationId, Cursor, DomainEvent, FieldError, MessageId, Page, PageRequest,
    ScheduledMessageId, UserId,
};
use epop_storage::events::OutboxNotifier;
use epop_storage::object_store::{DownloadOptions, ObjectInfo, ObjectStore};
use epop_storage::{DbPool, outbox};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

mod incoming_webhooks;
mod pins;
mod reminders;
mod scheduled;

/// Limits and lifetimes of the chat service.
#[derive(Debug, Clone, Copy)]
pub struct ChatSettings {
    /// Largest upload in bytes (default 25 MiB).
    pub max_upload_bytes: u64,
    /// How long an upload URL works (15 minutes).
    pub upload_ttl: Duration,
    /// How long a download URL works (5 minutes).
    pub download_ttl: Duration,
    /// How long an upload may stay unattached before it is removed (24 hours).
    pub unattached_ttl: Duration,
    /// Upload slots one user may hold that are not attached to a message (default 50; 0: no limit).
    pub max_open_uploads: u64,
    /// Bytes (as declared) one user may hold in uploads not attached to a message (default 1 GiB; 0: no limit).
    pub max_unattached_bytes: u64,
    /// Distinct emoji one message may carry as reactions (default 20; 0: no limit).
    pub max_reaction_emoji: u64,
    /// The most members a conversation may have for `<!all>` or `<!here>` in a message (default 100).
    pub max_all_mention_members: u64,
    /// Conversations of at most this many members notify `all` by default, larger ones `mentions` (default
    /// 10; values under 2 count as 2, so a direct conversation is always `all`).
    pub notify_all_max_members: u64,
    /// Scheduled messages one user may have waiting (default 100; 0: no limit).
    pub max_pending_scheduled: u64,
    /// Reminders one user may have waiting (default 100; 0: no limit).
    pub max_pending_reminders: u64,
    /// Messages one user may have saved (default 1000; 0: no limit).
    pub max_saved_messages: u64,
    /// Messages one conversation may have pinned (default 100; 0: no limit).
    pub max_pins: u64,
    /// Incoming webhooks one conversation may have (default 20; 0: no limit).
    pub max_incoming_webhooks: u64,
}

impl Default for ChatSettings {
    fn default() -> Self {
        Self {
            max_upload_bytes: 26_214_400,
            upload_ttl: Duration::from_secs(15 * 60),
            download_ttl: Duration::from_secs(5 * 60),
            unattached_ttl: Duration::from_secs(24 * 3600),
            max_open_uploads: 50,
            max_unattached_bytes: 1 << 30,
            max_reaction_emoji: 20,
            max_all_mention_members: 100,
            notify_all_max_members: 10,
            max_pending_scheduled: 100,
            max_pending_reminders: 100,
            max_saved_messages: 1000,
            max_pins: 100,
            max_incoming_webhooks: 20,
        }
    }
}

/// Largest message text, in characters.
pub const MAX_CONTENT_CHARS: usize = 10_000;
/// Content types shown inline; everything else downloads as an attachment.
const INLINE_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];
/// Whether `object` is still the one that was attached: the declared size, and the ETag recorded at attach
/// time when there is one.
fn is_attached_object(object: &ObjectInfo, file_size: i64, recorded_etag: Option<&str>) -> bool {
    i64::try_from(object.size).ok() == Some(file_size)
        && recorded_etag.is_none_or(|recorded| object.etag.as_deref() == Some(recorded))
}

/// Conversations, messages, read positions, search and files.
#[derive(Clone)]
pub struct ChatService {
    pool: DbPool,
    store: Arc<dyn ObjectStore>,
    notifier: OutboxNotifier,
    clock: Arc<dyn Clock>,
    settings: ChatSettings,
    batcher: Arc<SendBatcher>,
    online: Arc<dyn OnlineUsers>,
}

impl std::fmt::Debug for ChatService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatService")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct ConversationCursor {
    activity: DateTime<Utc>,
    id: ConversationId,
    as_of: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(tag = "d")]
enum MessageCursor {
    /// Older than this seq.
    #[serde(rename = "b")]
    Before { seq: i64 },
    /// Newer than this seq.
    #[serde(rename = "a")]
    After { seq: i64 },
}

#[derive(Debug, Serialize, Deserialize)]
struct ThreadCursor {
    activity: DateTime<Utc>,
    root: MessageId,
}

#[derive(Debug, Serialize, Deserialize)]
struct SearchCursor {
    rank: f32,
    id: MessageId,
}

/// The parts of a message being sent, as [`ChatService::send`] takes them.
struct OutgoingMessage<'a> {
    content: &'a str,
    client_id: Option<&'a str>,
    attachment_ids: &'a [AttachmentId],
    thread: Option<ThreadReply>,
}

fn decode<T: serde::de::DeserializeOwned>(cursor: &str) -> ChatResult<T> {
    Cursor(cursor.to_owned())
        .decode()
        .map_err(|_| ChatError::BadCursor)
}

fn direct_key(a: UserId, b: UserId) -> String {
    if a < b {
        format!("{a}:{b}")
    } else {
        format!("{b}:{a}")
    }
}

/// The canonical form of a reaction's emoji: one Unicode emoji sequence (skin tones and unqualified forms
/// included, stored fully qualified), or a gemoji `:shortcode:` naming one; anything else is `Invalid`.
fn canonical_emoji(raw: &str) -> ChatResult<&'static str> {
    let found = match raw.strip_prefix(':').and_then(|s| s.strip_suffix(':')) {
        Some(name) if !name.is_empty() => emojis::get_by_shortcode(name),
        _ => emojis::get(raw),
    };
    found
        .map(emojis::Emoji::as_str)
        .ok_or_else(|| ChatError::invalid("emoji", "not one emoji, nor a :shortcode: of one"))
}

/// Splits a search query into words; in CJK text a run of characters is one word (the database rewrites it
/// into bigrams).
fn search_words(q: &str) -> Vec<String> {
    q.split_whitespace().map(str::to_owned).take(32).collect()
}

impl ChatService {
    /// Builds the service.
    pub fn new(
        pool: DbPool,
        store: Arc<dyn ObjectStore>,
        notifier: OutboxNotifier,
        clock: Arc<dyn Clock>,
        settings: ChatSettings,
    ) -> Self {
        Self {
            pool,
            store,
            notifier,
            clock,
            settings,
            batcher: Arc::default(),
            online: mention_text::nobody(),
        }
    }

    /// The same service asking `online` who is connected (for `<!here>`).
    #[must_use]
    pub fn with_online_users(mut self, online: Arc<dyn OnlineUsers>) -> Self {
        self.online = online;
        self
    }

    /// Resolves what `content` mentions in conversation `id`, sent by `me`: named users who are members;
    /// for `<!here>` the members online now, for `<!all>` every member, both only in a conversation of at
    /// most `max_all_mention_members` members (else `Invalid` on `content`). Costs nothing for a text without
    /// mentions, one query for named users, one bounded query (and one presence look-up) for `<!here>`/`<!all>`.
    async fn resolve_mentions(
        &self,
        conn: &mut AsyncPgConnection,
        id: ConversationId,
        me: UserId,
        content: &str,
    ) -> ChatResult<ResolvedMentions> {
        let parsed = mention_text::parse(content);
        if parsed.is_empty() {
            return Ok(ResolvedMentions::default());
        }
        let named: BTreeSet<UserId> = mentions::members_among(conn, id, &parsed.users)
            .await?
            .into_iter()
            .collect();
        let users: Vec<UserId> = parsed.users.into_iter().filter(|u| named.contains(u)).collect();
        let mut targets: Vec<UserId> = users.iter().copied().filter(|u| *u != me).collect();
        if parsed.here || parsed.all {
            let limit = i64::try_from(self.settings.max_all_mention_members).unwrap_or(i64::MAX);
            let Some(members) = mentions::members_up_to(conn, id, limit).await? else {
                let which = if parsed.all { "<!all>" } else { "<!here>" };
                return Err(ChatError::invalid(
                    "content",
                    format!("{which} is not allowed in a conversation of more than {limit} members"),
                ));
            };
            let others: Vec<UserId> = members.into_iter().filter(|u| *u != me).collect();
            let reached = if parsed.all {
                others
            } else {
                self.online.online(&others).await
            };
            for user in reached {
                if !targets.contains(&user) {
                    targets.push(user);
                }
            }
        }
        Ok(ResolvedMentions {
            users,
            here: parsed.here,
            all: parsed.all,
            targets,
        })
    }

    // ----- conversations -------------------------------------------------------------------------------------

    /// Opens the direct conversation between `me` and `other`, creating it once even when both ask at the
    /// same moment.
    #[tracing::instrument(skip(self))]
    pub async fn open_direct(&self, me: UserId, other: UserId) -> ChatResult<Opened> {
        if me == other {
            return Err(ChatError::invalid(
                "member_ids[0]",
                "a direct conversation needs another user",
            ));
        }
        let mut conn = self.pool.get().await?;
        if convs::existing_users(&mut conn, &[other]).await?.is_empty() {
            return Err(ChatError::invalid("member_ids[0]", "no such user"));
        }
        let key = direct_key(me, other);
        let id = ConversationId::new();
        let created = conn
            .transaction::<_, ChatError, _>(async |conn| {
                if !convs::insert(conn, id, ConversationKind::Direct.as_str(), None, me, Some(&key)).await? {
                    return Ok(None);
                }
                convs::add_members(conn, id, &[me, other], 0).await?;
                outbox::append(
                    conn,
                    &DomainEvent::ConversationCreated {
                        conversation_id: id,
                        member_ids: vec![me, other],
                    },
                )
                .await?;
                Ok(Some(id))
            })
            .await?;
        drop(conn);
        match created {
            Some(id) => {
                self.notifier.notify();
                Ok(Opened::Created(self.conversation(me, id).await?))
            }
            None => {
                let mut conn = self.pool.get().await?;
                let existing = convs::find_direct(&mut conn, &key)
                    .await?
                    .ok_or(ChatError::NotFound)?;
                drop(conn);
                Ok(Opened::Existing(self.conversation(me, existing).await?))
            }
        }
    }

    /// Creates a group with `me` and `members` (unknown user ids are `Invalid`, naming each one).
    #[tracing::instrument(skip(self, name, members))]
    pub async fn create_group(&self, me: UserId, name: &str, members: &[UserId]) -> ChatResult<Conversation> {
        let mut conn = self.pool.get().await?;
        self.check_users_exist(&mut conn, members, "member_ids").await?;
        let mut everyone: Vec<UserId> = vec![me];
        for member in members {
            if !everyone.contains(member) {
                everyone.push(*member);
            }
        }
        let id = ConversationId::new();
        conn.transaction::<_, ChatError, _>(async |conn| {
            convs::insert(conn, id, ConversationKind::Group.as_str(), Some(name), me, None).await?;
            convs::add_members(conn, id, &everyone, 0).await?;
            let member_ids = everyone.to_vec();
            outbox::append(
                conn,
                &DomainEvent::ConversationCreated {
                    conversation_id: id,
                    member_ids,
                },
            )
            .await?;
            Ok(())
        })
        .await?;
        drop(conn);
        self.notifier.notify();
        self.conversation(me, id).await
    }

    /// Checks that every user exists; each unknown one is an error on `{field}[i]`.
    async fn check_users_exist(
        &self,
        conn: &mut AsyncPgConnection,
        users: &[UserId],
        field: &str,
    ) -> ChatResult<()> {
        let ids = users;
        let existing: BTreeSet<_> = convs::existing_users(conn, ids).await?.into_iter().collect();
        let errors: Vec<FieldError> = ids
            .iter()
            .enumerate()
            .filter(|(_, id)| !existing.contains(id))
            .map(|(i, _)| FieldError::new(format!("{field}[{i}]"), "no such user"))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ChatError::Invalid(errors))
        }
    }

    /// One conversation of `me`.
    pub async fn conversation(&self, me: UserId, id: ConversationId) -> ChatResult<Conversation> {
        let mut conn = self.pool.get().await?;
        let mut found = self.load_conversations(&mut conn, me, &[id]).await?;
        found.pop().ok_or(ChatError::NotFound)
    }

    /// `me`'s conversations, most recent activity first.
    pub async fn conversations(&self, me: UserId, page: &PageRequest) -> ChatResult<Page<Conversation>> {
        let cursor = page
            .cursor
            .as_ref()
            .map(|c| decode::<ConversationCursor>(&c.0))
            .transpose()?;
        let as_of = cursor.as_ref().map_or_else(|| self.clock.now(), |c| c.as_of);
        let mut conn = self.pool.get().await?;
        let rows = convs::page_by_activity(
            &mut conn,
            me,
            as_of,
            cursor.map(|c| (c.activity, c.id)),
            i64::from(page.limit),
        )
        .await?;
        let page = Page::from_overfetch(rows, page.limit, |row| ConversationCursor {
            activity: row.activity,
            id: row.id,
            as_of,
        });
        let ids: Vec<_> = page.items.iter().map(|row| row.id).collect();
        let mut loaded: HashMap<ConversationId, Conversation> = self
            .load_conversations(&mut conn, me, &ids)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        Ok(Page {
            items: ids.iter().filter_map(|id| loaded.remove(id)).collect(),
            next_cursor: page.next_cursor,
        })
    }

    /// Loads conversations with members, last message and unread count in a fixed number of queries.
    async fn load_conversations(
        &self,
        conn: &mut AsyncPgConnection,
        me: UserId,
        ids: &[ConversationId],
    ) -> ChatResult<Vec<Conversation>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let summaries = convs::summaries(conn, me, ids).await?;
        let conversation_ids: Vec<_> = summaries.iter().map(|s| s.id).collect();
        let mut members: HashMap<_, Vec<Member>> = HashMap::new();
        for (conversation, user, name) in convs::members_of(conn, &conversation_ids).await? {
            members
                .entry(conversation)
                .or_default()
                .push(Member { id: user, name });
        }
        let last_ids: Vec<_> = summaries.iter().filter_map(|s| s.last_message_id).collect();
        let last_rows = messages::find_many(conn, &last_ids).await?;
        let mut last: HashMap<_, Message> = self
            .assemble(conn, last_rows, me)
            .await?
            .into_iter()
            .map(|m| (m.id, m))
            .collect();
        Ok(summaries
            .into_iter()
            .map(|s| Conversation {
                id: s.id,
                kind: ConversationKind::from_stored(&s.kind),
                name: s.name,
                created_by: s.created_by,
                members: members.remove(&s.id).unwrap_or_default(),
                last_message: s.last_message_id.and_then(|id| last.remove(&id)),
                unread_count: s.unread_count,
                unread_mention_count: s.unread_mention_count,
                created_at: s.created_at,
            })
            .collect())
    }

    /// Adds people to a group (any member may). People already in it change nothing; new members' read
    /// position starts at the latest message.
    #[tracing::instrument(skip(self, users))]
    pub async fn add_members(
        &self,
        me: UserId,
        id: ConversationId,
        users: &[UserId],
    ) -> ChatResult<Conversation> {
        let mut conn = self.pool.get().await?;
        let row = convs::find_for_member(&mut conn, id, me)
            .await?
            .ok_or(ChatError::NotFound)?;
        if ConversationKind::from_stored(&row.kind) == ConversationKind::Direct {
            return Err(ChatError::invalid(
                "user_ids",
                "members cannot be added to a direct conversation",
            ));
        }
        self.check_users_exist(&mut conn, users, "user_ids").await?;
        let ids = users;
        let added = conn
            .transaction::<_, ChatError, _>(async |conn| {
                let last_seq = convs::lock(conn, id).await?.ok_or(ChatError::NotFound)?;
                let added = convs::add_members(conn, id, ids, last_seq).await?;
                if !added.is_empty() {
                    let member_ids = convs::member_ids(conn, id).await?.into_iter().collect();
                    let added_ids = added.to_vec();
                    outbox::append(
                        conn,
                        &DomainEvent::ConversationMembersChanged {
                            conversation_id: id,
                            added: added_ids,
                            removed: vec![],
                            member_ids,
                        },
                    )
                    .await?;
                }
                Ok(added)
            })
            .await?;
        drop(conn);
        if !added.is_empty() {
            self.notifier.notify();
        }
        self.conversation(me, id).await
    }

    /// Removes `user` from a group: anyone may leave; only the group's creator may remove others.
    #[tracing::instrument(skip(self))]
    pub async fn remove_member(&self, me: UserId, id: ConversationId, user: UserId) -> ChatResult<()> {
        let mut conn = self.pool.get().await?;
        let row = convs::find_for_member(&mut conn, id, me)
            .await?
            .ok_or(ChatError::NotFound)?;
        if ConversationKind::from_stored(&row.kind) == ConversationKind::Direct {
            return Err(ChatError::invalid(
                "user_id",
                "a direct conversation cannot be left",
            ));
        }
        if user != me && row.created_by != me {
            return Err(ChatError::Forbidden);
        }
        conn.transaction::<_, ChatError, _>(async |conn| {
            convs::lock(conn, id).await?;
            if !convs::remove_member(conn, id, user).await? {
                return Err(ChatError::NotFound);
            }
            let member_ids = convs::member_ids(conn, id).await?.into_iter().collect();
            outbox::append(
                conn,
                &DomainEvent::ConversationMembersChanged {
                    conversation_id: id,
                    added: vec![],
                    removed: vec![user],
                    member_ids,
                },
            )
            .await?;
            Ok(())
        })
        .await?;
        self.notifier.notify();
        Ok(())
    }

    // ----- messages ------------------------------------------------------------------------------------------

    /// Posts a message, or with `thread` a reply to a top-level message of the same conversation (anything
    /// else is `Invalid` on `thread_root_id`). The same `client_id` from the same sender in the same
    /// conversation returns the first message unchanged (`Sent::Existing`), or `NotFound` if it was deleted.
    /// `origin` tags the connection that sent it, so real-time fan-out can skip it.
    #[tracing::instrument(skip(self, content, attachment_ids, origin))]
    #[expect(clippy::too_many_arguments, reason = "a message's parts, each checked here")]
    pub async fn send(
        &self,
        me: UserId,
        id: ConversationId,
        content: &str,
        client_id: Option<&str>,
        attachment_ids: &[AttachmentId],
        thread: Option<ThreadReply>,
        origin: Option<String>,
    ) -> ChatResult<Sent> {
        let message = OutgoingMessage {
            content,
            client_id,
            attachment_ids,
            thread,
        };
        self.submit(me, id, message, origin, None).await
    }

    /// [`Self::send`], posting `scheduled` when given (its row is deleted in the transaction that posts it).
    async fn submit(
        &self,
        me: UserId,
        id: ConversationId,
        message: OutgoingMessage<'_>,
        origin: Option<String>,
        scheduled: Option<ScheduledMessageId>,
    ) -> ChatResult<Sent> {
        let OutgoingMessage {
            content,
            client_id,
            attachment_ids,
            thread,
        } = message;
        let mut conn = self.pool.get().await?;
        // A reply's root is checked in the same round trip as the membership (pipelined on the connection), so a
        // reply costs no more waiting than a message to the conversation.
        let (member, root_ok) = {
            let shared: &AsyncPgConnection = &conn;
            let root_check = async {
                match thread {
                    Some(thread) => messages::is_thread_root(shared, thread.root, id).await,
                    None => Ok(true),
                }
            };
            tokio::try_join!(convs::is_member(shared, id, me), root_check)?
        };
        if !member {
            return Err(ChatError::NotFound);
        }
        if let Some(client_id) = client_id
            && let Some(existing) = messages::find_by_client_id(&mut conn, id, me, client_id).await?
        {
            return self.existing(&mut conn, existing).await;
        }
        let chars = content.chars().count();
        if chars > MAX_CONTENT_CHARS || (chars == 0 && attachment_ids.is_empty()) {
            return Err(ChatError::invalid(
                "content",
                "must be 1 to 10000 characters unless attachments are given",
            ));
        }
        if !root_ok {
            return Err(ChatError::invalid(
                "thread_root_id",
                "not a top-level message of this conversation",
            ));
        }
        let attachment_files = self.check_attachments(&mut conn, me, attachment_ids).await?;
        let mentions = self.resolve_mentions(&mut conn, id, me, content).await?;
        // The connection goes back before waiting: the batch's writer needs one.
        drop(conn);
        let (reply, answer) = tokio::sync::oneshot::channel();
        let submission = Submission {
            sender: me,
            content: content.to_owned(),
            client_id: client_id.map(str::to_owned),
            attachments: attachment_files,
            origin,
            thread,
            mentions,
            scheduled,
            reply,
        };
        if self.batcher.queue(id, submission) {
            // The first send of an idle conversation starts its writer; it runs to the end even if this
            // request is dropped, so nothing queued behind it waits for ever.
            let service = self.clone();
            tokio::spawn(async move {
                let conversation = id;
                while let Some(batch) = service.batcher.next_batch(conversation) {
                    service.write_batch(conversation, batch).await;
                }
            });
        }
        let written = answer
            .await
            .map_err(|_| ChatError::SendLost("the batch writer stopped"))??;
        match written {
            Written::Sent(sent) => {
                if matches!(sent, Sent::Created(_)) {
                    self.notifier.notify();
                }
                Ok(sent)
            }
            Written::Existing(row) => {
                let mut conn = self.pool.get().await?;
                self.existing(&mut conn, row).await
            }
        }
    }

    /// Writes a batch of sends into one conversation in one transaction and answers each. If the batch fails
    /// as a whole, its sends are written one by one, so each gets its own answer.
    async fn write_batch(&self, conversation: ConversationId, batch: Vec<Submission>) {
        let outcome = match self.pool.get().await {
            Ok(mut conn) => {
                conn.transaction::<_, ChatError, _>(async |conn| {
                    self.write_numbered(conn, conversation, &batch).await
                })
                .await
            }
            Err(error) => Err(error.into()),
        };
        match outcome {
            Ok(answers) => {
                for (submission, answer) in batch.into_iter().zip(answers) {
                    let _ = submission.reply.send(answer);
                }
            }
            Err(error) if batch.len() == 1 => crate::send_batch::answer_all(batch, error),
            Err(error) => {
                tracing::warn!(%error, sends = batch.len(), "a batch of sends failed; writing them one by one");
                for submission in batch {
                    Box::pin(self.write_batch(conversation, vec![submission])).await;
                }
            }
        }
    }

    /// The batch's statements, on its transaction: the conversation locked once, `client_id`s looked up once,
    /// the new messages numbered in arrival order and written, attached, read by their senders and announced
    /// with set-based statements. Answers one result per submission, in order.
    async fn write_numbered(
        &self,
        conn: &mut AsyncPgConnection,
        conversation: ConversationId,
        batch: &[Submission],
    ) -> ChatResult<Vec<ChatResult<Written>>> {
        // With client_ids, the conversation is locked before they are looked up: a concurrent retry with the
        // same client_id has then committed (found here) or waits. Without, taking the numbers locks it.
        let client_ids: Vec<&str> = batch.iter().filter_map(|s| s.client_id.as_deref()).collect();
        let earlier = if client_ids.is_empty() {
            Vec::new()
        } else {
            if convs::lock(conn, conversation).await?.is_none() {
                return Err(ChatError::NotFound);
            }
            messages::find_by_client_ids(conn, conversation, &client_ids).await?
        };
        enum Plan {
            Answer(Box<ChatResult<Written>>),
            New,
            SameAs(usize),
        }
        let mut plans: Vec<Plan> = Vec::with_capacity(batch.len());
        let mut first_of: HashMap<(UserId, &str), usize> = HashMap::new();
        let mut claimed: std::collections::HashSet<_> = std::collections::HashSet::new();
        // A scheduled message is posted by the transaction that deletes its row: one that another (or an
        // earlier) transaction deleted is not posted again.
        let scheduled: Vec<ScheduledMessageId> = batch.iter().filter_map(|s| s.scheduled).collect();
        let mut unposted: std::collections::HashSet<ScheduledMessageId> =
            crate::repo::scheduled::take(conn, &scheduled)
                .await?
                .into_iter()
                .collect();
        for (index, submission) in batch.iter().enumerate() {
            if let Some(scheduled) = submission.scheduled
                && !unposted.remove(&scheduled)
            {
                plans.push(Plan::Answer(Box::new(Err(ChatError::Conflict(
                    "the scheduled message was posted already",
                )))));
                continue;
            }
            if let Some(client_id) = submission.client_id.as_deref() {
                if let Some(row) = earlier.iter().find(|row| {
                    row.sender_id == submission.sender && row.client_id.as_deref() == Some(client_id)
                }) {
                    plans.push(Plan::Answer(Box::new(Ok(Written::Existing(row.clone())))));
                    continue;
                }
                if let Some(&first) = first_of.get(&(submission.sender, client_id)) {
                    plans.push(Plan::SameAs(first));
                    continue;
                }
                first_of.insert((submission.sender, client_id), index);
            }
            if !submission.attachments.is_empty() {
                let ids: Vec<_> = submission.attachments.iter().map(|(id, _)| *id).collect();
                let free = ids.iter().all(|a| !claimed.contains(a))
                    && attachments::lock_unattached(conn, &ids, submission.sender).await? == ids.len();
                if !free {
                    plans.push(Plan::Answer(Box::new(Err(ChatError::invalid(
                        "attachment_ids",
                        "an attachment was attached elsewhere meanwhile",
                    )))));
                    continue;
                }
                claimed.extend(ids);
            }
            plans.push(Plan::New);
        }
        let new: Vec<usize> = (0..batch.len())
            .filter(|i| matches!(plans[*i], Plan::New))
            .collect();
        let mut created: HashMap<usize, Message> = HashMap::new();
        if !new.is_empty() {
            let shown = new
                .iter()
                .any(|&index| batch[index].thread.is_none_or(|t| t.send_to_conversation));
            let last_seq = convs::take_seqs(conn, conversation, new.len() as i64, shown)
                .await?
                .ok_or(ChatError::NotFound)?;
            let rows: Vec<NewMessageRow<'_>> = new
                .iter()
                .zip(1i64..)
                .map(|(&index, offset)| NewMessageRow {
                    id: MessageId::new(),
                    conversation_id: conversation,
                    seq: last_seq + offset,
                    sender_id: batch[index].sender,
                    content: &batch[index].content,
                    client_id: batch[index].client_id.as_deref(),
                    thread_root_id: batch[index].thread.map(|t| t.root),
                    sent_to_conversation: batch[index].thread.is_some_and(|t| t.send_to_conversation),
                    mentions: &batch[index].mentions.users,
                    mentions_here: batch[index].mentions.here,
                    mentions_all: batch[index].mentions.all,
                })
                .collect();
            let mut inserted = messages::insert_all(conn, &rows).await?;
            inserted.sort_unstable_by_key(|row| row.seq);
            let mentioned: Vec<MentionsOf<'_>> = new
                .iter()
                .zip(&inserted)
                .map(|(&index, row)| MentionsOf {
                    message: row.id,
                    conversation,
                    seq: row.seq,
                    thread_root_id: row.thread_root_id,
                    shown: row.shown_in_conversation(),
                    targets: &batch[index].mentions.targets,
                })
                .collect();
            mentions::insert_all(conn, &mentioned).await?;
            for (&index, row) in new.iter().zip(&inserted) {
                if !batch[index].attachments.is_empty() {
                    attachments::attach(conn, &batch[index].attachments, row.sender_id, row.id).await?;
                }
            }
            // Each sender has read the conversation up to their newest message of the batch that it shows (a
            // reply only in a thread moves the thread's watermark instead).
            let mut read: HashMap<UserId, (i64, MessageId)> = HashMap::new();
            for row in inserted.iter().filter(|row| row.shown_in_conversation()) {
                read.insert(row.sender_id, (row.seq, row.id));
            }
            let read: Vec<(UserId, i64, MessageId)> = read
                .into_iter()
                .map(|(user, (seq, id))| (user, seq, id))
                .collect();
            convs::move_read_positions(conn, conversation, &read).await?;
            let thread_events = self
                .record_replies(conn, conversation, &inserted, &mentioned)
                .await?;
            let (messages, keys) = self.assemble_with_keys(conn, inserted, None).await?;
            let mut events = Vec::with_capacity(messages.len() + thread_events.len());
            for (&index, message) in new.iter().zip(&messages) {
                events.push(DomainEvent::MessageCreated {
                    conversation_id: conversation,
                    sender_id: message.sender_id,
                    message: Self::event_message(message, &keys),
                    origin: batch[index].origin.clone(),
                    mentioned: batch[index].mentions.targets.clone(),
                });
                // A scheduled message posted: gone from its sender's list (their sockets hear it).
                if let Some(scheduled) = batch[index].scheduled {
                    events.push(DomainEvent::ScheduledMessageChanged {
                        user_id: message.sender_id,
                        scheduled_message_id: scheduled,
                        conversation_id: conversation,
                        change: ScheduledMessageChange::Posted,
                        scheduled_message: None,
                        message_id: Some(message.id),
                    });
                }
            }
            events.extend(thread_events);
            outbox::append_all(conn, &events).await?;
            created = new.iter().copied().zip(messages).collect();
        }
        let lost = || Err(ChatError::NotFound);
        let out = plans
            .into_iter()
            .enumerate()
            .map(|(index, plan)| match plan {
                Plan::Answer(answer) => *answer,
                Plan::New => created
                    .get(&index)
                    .cloned()
                    .map_or_else(lost, |m| Ok(Written::created(m))),
                Plan::SameAs(first) => created
                    .get(&first)
                    .cloned()
                    .map_or_else(lost, |m| Ok(Written::Sent(Sent::Existing(m)))),
            })
            .collect();
        Ok(out)
    }

    /// The thread side of a batch's new messages, on its transaction: per thread replied to, its summary row
    /// counts the replies (one statement), the repliers follow it with their watermark at their reply, and on
    /// its first replies its starter follows it too; members its replies mention follow it (again, if they had
    /// unfollowed it). Returns a `ThreadUpdated` event per thread.
    async fn record_replies(
        &self,
        conn: &mut AsyncPgConnection,
        conversation: ConversationId,
        inserted: &[MessageRow],
        mentioned: &[MentionsOf<'_>],
    ) -> ChatResult<Vec<DomainEvent>> {
        let mut by_root: BTreeMap<MessageId, Vec<&MessageRow>> = BTreeMap::new();
        for row in inserted {
            if let Some(root) = row.thread_root_id {
                by_root.entry(root).or_default().push(row);
            }
        }
        let mut events = Vec::with_capacity(by_root.len());
        for (root, replies) in by_root {
            // `inserted` is in seq order: the last reply is the newest.
            let Some(newest) = replies.last() else { continue };
            let senders: Vec<UserId> = replies.iter().rev().map(|r| r.sender_id).collect();
            let mut repliers: HashMap<UserId, i64> = HashMap::new();
            for reply in &replies {
                repliers.insert(reply.sender_id, reply.seq);
            }
            let repliers: Vec<(UserId, i64)> = repliers.into_iter().collect();
            let summary = threads::record_replies(
                conn,
                root,
                conversation,
                &threads::Replies {
                    count: replies.len() as i64,
                    last_seq: newest.seq,
                    last_at: newest.created_at,
                    senders: &senders,
                    repliers: &repliers,
                },
            )
            .await?;
            let mut reached: Vec<UserId> = mentioned
                .iter()
                .filter(|m| m.thread_root_id == Some(root))
                .flat_map(|m| m.targets.iter().copied())
                .collect();
            reached.sort_unstable();
            reached.dedup();
            threads::follow_as_mentioned(conn, root, &reached).await?;
            events.push(DomainEvent::ThreadUpdated {
                conversation_id: conversation,
                root_id: root,
                thread: summary.summary(),
            });
        }
        Ok(events)
    }

    async fn existing(&self, conn: &mut AsyncPgConnection, row: MessageRow) -> ChatResult<Sent> {
        if row.deleted_at.is_some() {
            return Err(ChatError::NotFound);
        }
        Ok(Sent::Existing(
            self.assemble(conn, vec![row.clone()], row.sender_id)
                .await?
                .pop()
                .ok_or(ChatError::NotFound)?,
        ))
    }

    /// Checks that every attachment is the caller's, unattached, and uploaded (the object exists with the
    /// declared size); returns each with its object's ETag, recorded when it is attached. Errors name the
    /// failing `attachment_ids[i]`.
    async fn check_attachments(
        &self,
        conn: &mut AsyncPgConnection,
        me: UserId,
        ids: &[AttachmentId],
    ) -> ChatResult<Vec<(AttachmentId, Option<String>)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let uuids = ids;
        let rows: HashMap<_, AttachmentRow> = attachments::find_many(conn, uuids)
            .await?
            .into_iter()
            .map(|r| (r.id, r))
            .collect();
        let mut errors = Vec::new();
        let mut seen = BTreeSet::new();
        let mut files = Vec::with_capacity(uuids.len());
        for (i, id) in uuids.iter().enumerate() {
            let field = format!("attachment_ids[{i}]");
            let usable = rows
                .get(id)
                .filter(|row| row.uploader_id == me && row.message_id.is_none());
            match usable {
                None => errors.push(FieldError::new(
                    field,
                    "no such upload of yours, or already attached",
                )),
                Some(_) if !seen.insert(*id) => errors.push(FieldError::new(field, "listed twice")),
                Some(row) => match self.store.head(&row.object_key).await? {
                    Some(info) if is_attached_object(&info, row.file_size, None) => {
                        files.push((*id, info.etag));
                    }
                    Some(_) => errors.push(FieldError::new(
                        field,
                        "the uploaded file does not have the declared size",
                    )),
                    None => errors.push(FieldError::new(field, "the file has not been uploaded yet")),
                },
            }
        }
        if errors.is_empty() {
            Ok(files)
        } else {
            Err(ChatError::Invalid(errors))
        }
    }

    /// The messages `ids` as `me` sees them, by id (a page of pins, reminders or followed threads pairs its rows
    /// with them; ids of messages deleted since are absent).
    pub(crate) async fn assembled_by_id(
        &self,
        conn: &mut AsyncPgConnection,
        ids: &[MessageId],
        me: UserId,
    ) -> ChatResult<HashMap<MessageId, Message>> {
        let rows = messages::find_many(conn, ids).await?;
        Ok(self
            .assemble(conn, rows, me)
            .await?
            .into_iter()
            .map(|m| (m.id, m))
            .collect())
    }

    /// Turns rows into messages with their attachments (one query for all attachments).
    async fn assemble(
        &self,
        conn: &mut AsyncPgConnection,
        rows: Vec<MessageRow>,
        viewer: UserId,
    ) -> ChatResult<Vec<Message>> {
        Ok(self.assemble_with_keys(conn, rows, Some(viewer)).await?.0)
    }

    /// [`Self::assemble`], also giving what the events carry instead of links (object key, recorded ETag,
    /// upload window) for every attachment, by attachment id. With a `viewer`, the thread summaries of
    /// top-level messages and the reactions (`me` for the viewer) are loaded too, one query each; without one
    /// (messages being written, which have neither) they are not.
    async fn assemble_with_keys(
        &self,
        conn: &mut AsyncPgConnection,
        rows: Vec<MessageRow>,
        viewer: Option<UserId>,
    ) -> ChatResult<(Vec<Message>, HashMap<AttachmentId, StoredObject>)> {
        let ids: Vec<_> = rows.iter().map(|r| r.id).collect();
        let roots: Vec<MessageId> = rows
            .iter()
            .filter(|r| r.thread_root_id.is_none())
            .map(|r| r.id)
            .collect();
        // The reactions, thread summaries and attachments of the page are independent: they go to PostgreSQL
        // together (pipelined on the one connection), one round trip instead of three.
        let (reaction_rows, summary_rows, attachment_rows) = {
            let shared: &AsyncPgConnection = conn;
            let reactions = async {
                match viewer {
                    Some(viewer) if !ids.is_empty() => reactions::counts(shared, &ids, Some(viewer)).await,
                    _ => Ok(Vec::new()),
                }
            };
            let summaries = async {
                match viewer {
                    Some(_) => threads::summaries(shared, &roots).await,
                    None => Ok(Vec::new()),
                }
            };
            let files = async {
                if ids.is_empty() {
                    Ok(Vec::new())
                } else {
                    attachments::of_messages(shared, &ids).await
                }
            };
            tokio::try_join!(reactions, summaries, files)?
        };
        let mut reacted: HashMap<MessageId, Vec<Reaction>> = HashMap::new();
        for row in reaction_rows {
            reacted.entry(row.message_id).or_default().push(Reaction {
                emoji: row.emoji,
                count: row.count,
                me: row.me,
            });
        }
        let mut summaries: HashMap<MessageId, ThreadSummary> = summary_rows
            .into_iter()
            .map(|row| (row.root_id, row.summary()))
            .collect();
        let mut files: HashMap<_, Vec<Attachment>> = HashMap::new();
        let mut keys: HashMap<AttachmentId, StoredObject> = HashMap::new();
        for row in attachment_rows {
            let Some(message) = row.message_id else { continue };
            let url = self.attached_download_url(&row).await?;
            keys.insert(
                row.id,
                StoredObject {
                    object_key: row.object_key.clone(),
                    object_etag: row.object_etag.clone(),
                    upload_open_until: self.upload_open_until(row.created_at),
                },
            );
            files.entry(message).or_default().push(Attachment {
                id: row.id,
                file_name: row.file_name,
                content_type: row.content_type,
                file_size: row.file_size,
                url,
            });
        }
        let messages = rows
            .into_iter()
            .map(|row| Message {
                id: row.id,
                conversation_id: row.conversation_id,
                seq: row.seq,
                sender_id: row.sender_id,
                content: row.content,
                client_id: row.client_id,
                attachments: files.remove(&row.id).unwrap_or_default(),
                created_at: row.created_at,
                updated_at: row.updated_at,
                edited_at: row.edited_at,
                thread_root_id: row.thread_root_id,
                sent_to_conversation: row.sent_to_conversation,
                thread: summaries.remove(&row.id),
                reactions: reacted.remove(&row.id).unwrap_or_default(),
                mentions: row.mentions,
                mentions_here: row.mentions_here,
                mentions_all: row.mentions_all,
            })
            .collect();
        Ok((messages, keys))
    }

    async fn download_url(&self, row: &AttachmentRow) -> ChatResult<String> {
        let options = DownloadOptions {
            file_name: row.file_name.clone(),
            content_type: row.content_type.clone(),
            inline: INLINE_TYPES.contains(&row.content_type.as_str()),
        };
        Ok(self
            .store
            .presign_get(&row.object_key, &options, self.settings.download_ttl)
            .await?)
    }

    /// Until when the upload URL of a slot reserved at `reserved_at` works.
    fn upload_open_until(&self, reserved_at: DateTime<Utc>) -> DateTime<Utc> {
        reserved_at
            + chrono::Duration::from_std(self.settings.upload_ttl).unwrap_or(chrono::Duration::minutes(15))
    }

    /// A download link for an attached file as a message shows it. While its upload URL still works, a store
    /// that ignores conditional writes could hold a replacement by now: the object is checked against what
    /// was attached first, and a replaced one gets no link (`None`), as does one the store cannot be asked
    /// about now. After that nobody can write to its key, and the link is signed without asking the store.
    async fn attached_download_url(&self, row: &AttachmentRow) -> ChatResult<Option<String>> {
        if self.clock.now() < self.upload_open_until(row.created_at) {
            // An unreachable store costs this file its link, not the whole page of messages: the history reads
            // on, and `GET /api/files/{id}` answers `503` for the file until the store is back.
            let current = match self.store.head(&row.object_key).await {
                Ok(current) => current,
                Err(error) => {
                    tracing::warn!(attachment = %row.id, %error, "the object store did not answer; no link");
                    return Ok(None);
                }
            };
            if !current
                .as_ref()
                .is_some_and(|info| is_attached_object(info, row.file_size, row.object_etag.as_deref()))
            {
                tracing::warn!(attachment = %row.id, "an attached file's object changed or is gone; no link");
                return Ok(None);
            }
        }
        self.download_url(row).await.map(Some)
    }

    /// A message as its `MessageCreated`/`MessageUpdated` event carries it: attachments with their stored
    /// objects instead of a download link, since a link expires and an event may be delivered (or replayed)
    /// long after it was written. [`Self::signed_for_delivery`] signs the links on delivery.
    /// Reactions lose `me`: an event goes to every member alike.
    fn event_message(message: &Message, keys: &HashMap<AttachmentId, StoredObject>) -> EventMessage {
        let mut message = message.clone();
        for reaction in &mut message.reactions {
            reaction.me = None;
        }
        message.map_attachments(|attachment| {
            let stored = keys.get(&attachment.id).cloned();
            EventAttachment {
                stored,
                ..EventAttachment::from(attachment)
            }
        })
    }

    /// A message from an event, as clients receive it: every attachment with a freshly signed download link
    /// (`None` when its object is not the one attached, or cannot be signed now).
    pub async fn signed_for_delivery(&self, message: &EventMessage) -> Message {
        let mut urls = Vec::with_capacity(message.attachments.len());
        for attachment in &message.attachments {
            urls.push(match &attachment.stored {
                Some(stored) => self.signed_url(attachment, stored).await,
                None => None,
            });
        }
        let mut urls = urls.into_iter();
        message.clone().map_attachments(|attachment| Attachment {
            id: attachment.id,
            file_name: attachment.file_name,
            content_type: attachment.content_type,
            file_size: attachment.file_size,
            url: urls.next().flatten(),
        })
    }

    /// A download link for an event's attachment, if its object is still the one attached.
    async fn signed_url(&self, attachment: &EventAttachment, stored: &StoredObject) -> Option<String> {
        let options = DownloadOptions {
            file_name: attachment.file_name.clone(),
            inline: INLINE_TYPES.contains(&attachment.content_type.as_str()),
            content_type: attachment.content_type.clone(),
        };
        // While the upload URL works, a store that ignores conditional writes may hold a replacement.
        if self.clock.now() < stored.upload_open_until {
            let unchanged = match self.store.head(&stored.object_key).await {
                Ok(current) => current.as_ref().is_some_and(|info| {
                    is_attached_object(info, attachment.file_size, stored.object_etag.as_deref())
                }),
                Err(error) => {
                    tracing::warn!(%error, "could not check an attachment's object for delivery");
                    false
                }
            };
            if !unchanged {
                return None;
            }
        }
        match self
            .store
            .presign_get(&stored.object_key, &options, self.settings.download_ttl)
            .await
        {
            Ok(url) => Some(url),
            Err(error) => {
                tracing::warn!(%error, "could not sign an attachment's link for delivery");
                None
            }
        }
    }

    /// A message `me` may see.
    pub async fn message(&self, me: UserId, id: MessageId) -> ChatResult<Message> {
        let mut conn = self.pool.get().await?;
        let row = self.visible_message(&mut conn, me, id).await?;
        self.assemble(&mut conn, vec![row], me)
            .await?
            .pop()
            .ok_or(ChatError::NotFound)
    }

    async fn visible_message(
        &self,
        conn: &mut AsyncPgConnection,
        me: UserId,
        id: MessageId,
    ) -> ChatResult<MessageRow> {
        let row = messages::find(conn, id)
            .await?
            .filter(|r| r.deleted_at.is_none())
            .ok_or(ChatError::NotFound)?;
        if !convs::is_member(conn, row.conversation_id, me).await? {
            return Err(ChatError::NotFound);
        }
        Ok(row)
    }

    /// A page of a conversation's messages: newest first (older pages by cursor), or oldest first after a
    /// message (catching up; the cursor continues forward).
    pub async fn messages(
        &self,
        me: UserId,
        id: ConversationId,
        direction: &MessagePage,
        limit: u16,
    ) -> ChatResult<Page<Message>> {
        let mut conn = self.pool.get().await?;
        let listing = Listing::Conversation(id);
        let position = match direction {
            MessagePage::Latest => Ok(MessageCursor::Before { seq: i64::MAX }),
            MessagePage::Cursor(cursor) => decode::<MessageCursor>(cursor),
            MessagePage::After(message) => {
                if !convs::is_member(&conn, id, me).await? {
                    return Err(ChatError::NotFound);
                }
                let position = match messages::find(&mut conn, *message).await? {
                    Some(row) if row.conversation_id == id => MessageCursor::After { seq: row.seq },
                    _ => return Err(ChatError::invalid("after", "not a message of this conversation")),
                };
                return self.listing_page(&mut conn, me, listing, position, limit).await;
            }
        };
        // The first page (or a page by cursor) is read in the same round trip as the membership check
        // (pipelined on the connection) and thrown away for a non-member, who gets `NotFound` (before any
        // complaint about the cursor, as always).
        let (member, rows) = {
            let shared: &AsyncPgConnection = &conn;
            let page = async {
                match &position {
                    Ok(position) => Self::page_rows(shared, listing, *position, limit).await.map(Some),
                    Err(_) => Ok(None),
                }
            };
            tokio::try_join!(convs::is_member(shared, id, me), page)?
        };
        if !member {
            return Err(ChatError::NotFound);
        }
        let position = position?;
        let rows = rows.ok_or(ChatError::NotFound)?;
        self.finish_page(&mut conn, me, rows, position, limit).await
    }

    /// A page of a listing from `position`: backwards (newest first) or forwards (oldest first); the cursor
    /// continues in the same direction.
    async fn listing_page(
        &self,
        conn: &mut AsyncPgConnection,
        me: UserId,
        listing: Listing,
        position: MessageCursor,
        limit: u16,
    ) -> ChatResult<Page<Message>> {
        let rows = Self::page_rows(conn, listing, position, limit).await?;
        self.finish_page(conn, me, rows, position, limit).await
    }

    /// The rows of a page from `position` (one more than `limit`, to know whether another page follows).
    async fn page_rows(
        conn: &AsyncPgConnection,
        listing: Listing,
        position: MessageCursor,
        limit: u16,
    ) -> ChatResult<Vec<MessageRow>> {
        let limit_rows = i64::from(limit);
        match position {
            MessageCursor::Before { seq } => {
                messages::page_before(conn, listing, Some(seq), limit_rows).await
            }
            MessageCursor::After { seq } => messages::page_after(conn, listing, seq, limit_rows).await,
        }
    }

    /// A page of messages from the rows [`Self::page_rows`] read from `position`.
    async fn finish_page(
        &self,
        conn: &mut AsyncPgConnection,
        me: UserId,
        rows: Vec<MessageRow>,
        position: MessageCursor,
        limit: u16,
    ) -> ChatResult<Page<Message>> {
        let forward = matches!(position, MessageCursor::After { .. });
        let page = Page::from_overfetch(rows, limit, |row| {
            if forward {
                MessageCursor::After { seq: row.seq }
            } else {
                MessageCursor::Before { seq: row.seq }
            }
        });
        let items = self.assemble(conn, page.items, me).await?;
        Ok(Page {
            items,
            next_cursor: page.next_cursor,
        })
    }

    // ----- reactions -----------------------------------------------------------------------------------------

    /// Reacts to a message `me` may see with `emoji` (idempotent). A message holds at most
    /// `max_reaction_emoji` distinct emoji: a new one past it is `TooManyReactions`; the check and the insert
    /// are serialised per message by its row lock, taken only when the emoji is new to it.
    #[tracing::instrument(skip(self))]
    pub async fn react(&self, me: UserId, id: MessageId, emoji: &str) -> ChatResult<()> {
        let emoji = canonical_emoji(emoji)?;
        let mut conn = self.pool.get().await?;
        let row = self.visible_message(&mut conn, me, id).await?;
        let limit = self.settings.max_reaction_emoji;
        let changed = conn
            .transaction::<_, ChatError, _>(async |conn| {
                if !reactions::has_emoji(conn, id, emoji).await? {
                    let distinct = reactions::lock_and_count_emoji(conn, id).await?;
                    if limit > 0 && u64::try_from(distinct).unwrap_or(u64::MAX) >= limit {
                        return Err(ChatError::TooManyReactions { limit });
                    }
                }
                let added = reactions::add(conn, id, me, emoji).await?;
                if added {
                    self.append_reactions_changed(conn, row.conversation_id, id)
                        .await?;
                }
                Ok(added)
            })
            .await?;
        if changed {
            self.notifier.notify();
        }
        Ok(())
    }

    /// Takes back `me`'s reaction (`NotFound` when there is none).
    #[tracing::instrument(skip(self))]
    pub async fn unreact(&self, me: UserId, id: MessageId, emoji: &str) -> ChatResult<()> {
        let emoji = canonical_emoji(emoji)?;
        let mut conn = self.pool.get().await?;
        let row = self.visible_message(&mut conn, me, id).await?;
        conn.transaction::<_, ChatError, _>(async |conn| {
            if !reactions::remove(conn, id, me, emoji).await? {
                return Err(ChatError::NotFound);
            }
            self.append_reactions_changed(conn, row.conversation_id, id).await
        })
        .await?;
        self.notifier.notify();
        Ok(())
    }

    /// Appends `ReactionsChanged` with the message's reactions as they are in this transaction.
    async fn append_reactions_changed(
        &self,
        conn: &mut AsyncPgConnection,
        conversation: ConversationId,
        message: MessageId,
    ) -> ChatResult<()> {
        let reactions = reactions::counts(conn, &[message], None)
            .await?
            .into_iter()
            .map(|row| Reaction {
                emoji: row.emoji,
                count: row.count,
                me: None,
            })
            .collect();
        outbox::append(
            conn,
            &DomainEvent::ReactionsChanged {
                conversation_id: conversation,
                message_id: message,
                reactions,
            },
        )
        .await?;
        Ok(())
    }

    // ----- threads -------------------------------------------------------------------------------------------

    /// A thread's root that `me` may see: a live top-level message of one of their conversations (`NotFound`
    /// otherwise; a reply is `Invalid` on `id`).
    async fn visible_root(
        &self,
        conn: &mut AsyncPgConnection,
        me: UserId,
        root: MessageId,
    ) -> ChatResult<MessageRow> {
        let row = self.visible_message(conn, me, root).await?;
        if row.thread_root_id.is_some() {
            return Err(ChatError::invalid("id", "a reply, not a thread's root"));
        }
        Ok(row)
    }

    /// A page of a thread's replies, by the rules of [`Self::messages`]: newest first (older pages by cursor),
    /// or oldest first after a reply of the thread (or after its root: from the first reply).
    pub async fn replies(
        &self,
        me: UserId,
        root: MessageId,
        direction: &MessagePage,
        limit: u16,
    ) -> ChatResult<Page<Message>> {
        let mut conn = self.pool.get().await?;
        self.visible_root(&mut conn, me, root).await?;
        let position = match direction {
            MessagePage::Latest => MessageCursor::Before { seq: i64::MAX },
            MessagePage::Cursor(cursor) => decode::<MessageCursor>(cursor)?,
            MessagePage::After(message) => match messages::find(&mut conn, *message).await? {
                Some(row) if row.id == root || row.thread_root_id == Some(root) => {
                    MessageCursor::After { seq: row.seq }
                }
                _ => return Err(ChatError::invalid("after", "not a message of this thread")),
            },
        };
        self.listing_page(&mut conn, me, Listing::Thread(root), position, limit)
            .await
    }

    /// Follows (or unfollows) a thread explicitly. A later reply of `me` follows it again; a later reply of
    /// others does not.
    #[tracing::instrument(skip(self))]
    pub async fn set_following(&self, me: UserId, root: MessageId, following: bool) -> ChatResult<()> {
        let mut conn = self.pool.get().await?;
        self.visible_root(&mut conn, me, root).await?;
        threads::set_following(&mut conn, root, me, following).await
    }

    /// Moves `me`'s read watermark of a thread forward (never back) to `message`, a reply of the thread, or
    /// without one to its newest reply; `me`'s other sockets are told (`thread:read`).
    #[tracing::instrument(skip(self))]
    pub async fn mark_thread_read(
        &self,
        me: UserId,
        root: MessageId,
        message: Option<MessageId>,
    ) -> ChatResult<()> {
        let mut conn = self.pool.get().await?;
        let root_row = self.visible_root(&mut conn, me, root).await?;
        let read = match message {
            Some(message) => match messages::find(&mut conn, message).await? {
                Some(row) if row.thread_root_id == Some(root) => Some(row),
                _ => return Err(ChatError::invalid("message_id", "not a reply of this thread")),
            },
            None => messages::page_before(&conn, Listing::Thread(root), None, 0)
                .await?
                .into_iter()
                .next(),
        };
        let Some(read) = read else { return Ok(()) };
        let moved = conn
            .transaction::<_, ChatError, _>(async |conn| {
                let moved = threads::move_watermark(conn, root, me, read.seq).await?;
                if moved {
                    outbox::append(
                        conn,
                        &DomainEvent::ThreadRead {
                            user_id: me,
                            conversation_id: root_row.conversation_id,
                            root_id: root,
                            message_id: read.id,
                        },
                    )
                    .await?;
                }
                Ok(moved)
            })
            .await?;
        if moved {
            self.notifier.notify();
        }
        Ok(())
    }

    /// The threads `me` follows in their conversations, most recent activity first, each with its root (and
    /// summary) and how many replies of others `me` has not read.
    pub async fn followed_threads(&self, me: UserId, page: &PageRequest) -> ChatResult<Page<FollowedThread>> {
        let cursor = page
            .cursor
            .as_ref()
            .map(|c| decode::<ThreadCursor>(&c.0))
            .transpose()?;
        let mut conn = self.pool.get().await?;
        let rows = threads::followed_page(
            &mut conn,
            me,
            cursor.map(|c| (c.activity, c.root)),
            i64::from(page.limit),
        )
        .await?;
        let page = Page::from_overfetch(rows, page.limit, |row| ThreadCursor {
            activity: row.activity,
            root: row.root_id,
        });
        let ids: Vec<MessageId> = page.items.iter().map(|row| row.root_id).collect();
        let mut roots = self.assembled_by_id(&mut conn, &ids, me).await?;
        let items = page
            .items
            .into_iter()
            .filter_map(|row| {
                roots.remove(&row.root_id).map(|root| FollowedThread {
                    root,
                    unread_reply_count: row.unread_reply_count,
                    unread_mention_count: row.unread_mention_count,
                    last_activity_at: row.activity,
                })
            })
            .collect();
        Ok(Page {
            items,
            next_cursor: page.next_cursor,
        })
    }

    /// Edits one's own message (`Forbidden` for other members' messages).
    #[tracing::instrument(skip(self, content))]
    pub async fn edit(&self, me: UserId, id: MessageId, content: &str) -> ChatResult<Message> {
        let chars = content.chars().count();
        let mut conn = self.pool.get().await?;
        let row = self.visible_message(&mut conn, me, id).await?;
        if row.sender_id != me {
            return Err(ChatError::Forbidden);
        }
        if chars > MAX_CONTENT_CHARS {
            return Err(ChatError::invalid("content", "must be at most 10000 characters"));
        }
        let has_files = !attachments::of_messages(&conn, &[row.id]).await?.is_empty();
        if chars == 0 && !has_files {
            return Err(ChatError::invalid("content", "must be 1 to 10000 characters"));
        }
        let resolved = self
            .resolve_mentions(&mut conn, row.conversation_id, me, content)
            .await?;
        let message = conn
            .transaction::<_, ChatError, _>(async |conn| {
                // The text before the edit is kept (docs/api.md, Edit history).
                crate::repo::history::keep_current(conn, id, content, pins::MAX_VERSIONS).await?;
                let row =
                    messages::edit(conn, id, content, (&resolved.users, resolved.here, resolved.all)).await?;
                // Members the edit mentions for the first time are notified (once: the notification is keyed by
                // this edit's event); those it no longer mentions lose the mention from their counts.
                let before: BTreeSet<UserId> = mentions::targets_of(conn, id).await?.into_iter().collect();
                let mentioned: Vec<UserId> = resolved
                    .targets
                    .iter()
                    .copied()
                    .filter(|user| !before.contains(user))
                    .collect();
                mentions::delete_of(conn, id).await?;
                mentions::insert_all(
                    conn,
                    &[MentionsOf {
                        message: id,
                        conversation: row.conversation_id,
                        seq: row.seq,
                        thread_root_id: row.thread_root_id,
                        shown: row.shown_in_conversation(),
                        targets: &resolved.targets,
                    }],
                )
                .await?;
                // As on send, members a reply newly mentions follow its thread.
                if let Some(root) = row.thread_root_id {
                    let mut reached = mentioned.clone();
                    reached.sort_unstable();
                    threads::follow_as_mentioned(conn, root, &reached).await?;
                }
                let (mut messages, keys) = self.assemble_with_keys(conn, vec![row], Some(me)).await?;
                let message = messages.pop().ok_or(ChatError::NotFound)?;
                let payload = Self::event_message(&message, &keys);
                outbox::append(
                    conn,
                    &DomainEvent::MessageUpdated {
                        conversation_id: message.conversation_id,
                        message: payload,
                        mentioned,
                    },
                )
                .await?;
                Ok(message)
            })
            .await?;
        self.notifier.notify();
        Ok(message)
    }

    /// Deletes one's own message. Its files are removed from storage in the background.
    #[tracing::instrument(skip(self))]
    pub async fn delete(&self, me: UserId, id: MessageId) -> ChatResult<()> {
        let mut conn = self.pool.get().await?;
        let row = self.visible_message(&mut conn, me, id).await?;
        if row.sender_id != me {
            return Err(ChatError::Forbidden);
        }
        conn.transaction::<_, ChatError, _>(async |conn| {
            messages::soft_delete(conn, id).await?;
            mentions::delete_of(conn, id).await?;
            // Its earlier texts go with its text, and its pin with it.
            crate::repo::history::forget(conn, id).await?;
            crate::repo::pins::unpin(conn, id).await?;
            // A reply's thread is recounted, and its members' roots show the new summary.
            if let Some(root) = row.thread_root_id
                && let Some(summary) = threads::recount(conn, root).await?
            {
                outbox::append(
                    conn,
                    &DomainEvent::ThreadUpdated {
                        conversation_id: row.conversation_id,
                        root_id: root,
                        thread: summary.summary(),
                    },
                )
                .await?;
            }
            // Its files go within seconds, by a job committed with the delete (the sweep is the fallback).
            if !attachments::of_messages(conn, &[id]).await?.is_empty() {
                let job = serde_json::json!({"message_id": id});
                epop_storage::jobs::enqueue(conn, FILES_QUEUE, &job).await?;
            }
            outbox::append(
                conn,
                &DomainEvent::MessageDeleted {
                    conversation_id: row.conversation_id,
                    message_id: id,
                },
            )
            .await?;
            Ok(())
        })
        .await?;
        self.notifier.notify();
        Ok(())
    }

    /// Moves `me`'s read position forward to `message` (never back). A message of another conversation is
    /// `Invalid`.
    #[tracing::instrument(skip(self))]
    pub async fn mark_read(&self, me: UserId, id: ConversationId, message: MessageId) -> ChatResult<()> {
        let mut conn = self.pool.get().await?;
        if !convs::is_member(&conn, id, me).await? {
            return Err(ChatError::NotFound);
        }
        let row = messages::find(&mut conn, message).await?;
        let Some(row) = row.filter(|r| r.conversation_id == id) else {
            return Err(ChatError::invalid(
                "message_id",
                "not a message of this conversation",
            ));
        };
        let moved = conn
            .transaction::<_, ChatError, _>(async |conn| {
                let moved = convs::move_read_position(conn, id, me, row.seq, row.id).await?;
                if moved {
                    outbox::append(
                        conn,
                        &DomainEvent::ReadPositionMoved {
                            conversation_id: id,
                            user_id: me,
                            message_id: message,
                        },
                    )
                    .await?;
                }
                Ok(moved)
            })
            .await?;
        if moved {
            self.notifier.notify();
        }
        Ok(())
    }

    /// Marks `message`, one the conversation shows, unread for `me`: their read position moves to just before
    /// it (back, or forward when it was unread already), and their sockets are told (`message:read`). A message of
    /// another conversation, a deleted one or a reply shown only in its thread is `Invalid` on `message_id`.
    #[tracing::instrument(skip(self))]
    pub async fn mark_unread(&self, me: UserId, id: ConversationId, message: MessageId) -> ChatResult<()> {
        let mut conn = self.pool.get().await?;
        if !convs::is_member(&conn, id, me).await? {
            return Err(ChatError::NotFound);
        }
        let row = messages::find(&mut conn, message).await?;
        let Some(row) =
            row.filter(|r| r.conversation_id == id && r.deleted_at.is_none() && r.shown_in_conversation())
        else {
            return Err(ChatError::invalid(
                "message_id",
                "not a message this conversation shows",
            ));
        };
        let moved = conn
            .transaction::<_, ChatError, _>(async |conn| {
                let before = messages::page_before(conn, Listing::Conversation(id), Some(row.seq), 0)
                    .await?
                    .into_iter()
                    .next()
                    .map(|previous| previous.id);
                let moved = convs::set_read_position(conn, id, me, row.seq - 1, before).await?;
                if moved {
                    outbox::append(
                        conn,
                        &DomainEvent::ReadPositionMovedBack {
                            conversation_id: id,
                            user_id: me,
                            message_id: before,
                            unread_from: message,
                        },
                    )
                    .await?;
                }
                Ok(moved)
            })
            .await?;
        if moved {
            self.notifier.notify();
        }
        Ok(())
    }

    /// Messages of `me`'s conversations containing every word of `q` and passing `filter`, best match first, then
    /// newest. Thread replies are found like any message (they carry `thread_root_id`). A conversation `me` is not
    /// in is `NotFound`; `filter.mentions` may only be `me` (`Invalid` on `mentions` otherwise).
    pub async fn search(
        &self,
        me: UserId,
        q: &str,
        filter: &SearchFilter,
        page: &PageRequest,
    ) -> ChatResult<Page<Message>> {
        let words = search_words(q);
        if words.is_empty() {
            return Err(ChatError::invalid("q", "must not be empty"));
        }
        if filter.mentions.is_some_and(|user| user != me) {
            return Err(ChatError::invalid("mentions", "must be `me`"));
        }
        let after = page
            .cursor
            .as_ref()
            .map(|c| decode::<SearchCursor>(&c.0))
            .transpose()?;
        let mut conn = self.pool.get().await?;
        if let Some(conversation) = filter.conversation
            && !convs::is_member(&conn, conversation, me).await?
        {
            return Err(ChatError::NotFound);
        }
        let hits = search::search(
            &mut conn,
            me,
            &words,
            filter,
            after.map(|c| (c.rank, c.id)),
            i64::from(page.limit),
        )
        .await?;
        let page = Page::from_overfetch(hits, page.limit, |hit| SearchCursor {
            rank: hit.rank,
            id: hit.id,
        });
        let ids: Vec<_> = page.items.iter().map(|h| h.id).collect();
        let mut by_id: HashMap<_, MessageRow> = messages::find_many(&mut conn, &ids)
            .await?
            .into_iter()
            .map(|r| (r.id, r))
            .collect();
        let ordered: Vec<MessageRow> = ids.iter().filter_map(|id| by_id.remove(id)).collect();
        let items = self.assemble(&mut conn, ordered, me).await?;
        Ok(Page {
            items,
            next_cursor: page.next_cursor,
        })
    }

    // ----- notification control ---------------------------------------------------------------------------

    /// `me`'s notification settings of a conversation (`NotFound` for a non-member).
    pub async fn notification_settings(
        &self,
        me: UserId,
        id: ConversationId,
    ) -> ChatResult<ConversationNotifications> {
        let mut conn = self.pool.get().await?;
        let (level, muted_until) = convs::notify_settings(&mut conn, id, me)
            .await?
            .ok_or(ChatError::NotFound)?;
        self.notifications_view(&mut conn, id, level, muted_until).await
    }

    /// Sets `me`'s notification settings of a conversation, all at once: `level` (`None`: the default by size)
    /// and `muted_until` (`None`: not muted; an instant not in the future is `Invalid`).
    #[tracing::instrument(skip(self))]
    pub async fn set_notification_settings(
        &self,
        me: UserId,
        id: ConversationId,
        level: Option<NotifyLevel>,
        muted_until: Option<DateTime<Utc>>,
    ) -> ChatResult<ConversationNotifications> {
        let mut conn = self.pool.get().await?;
        if !convs::is_member(&conn, id, me).await? {
            return Err(ChatError::NotFound);
        }
        if muted_until.is_some_and(|until| until <= self.clock.now()) {
            return Err(ChatError::invalid("muted_until", "must be in the future"));
        }
        let level = level.map(NotifyLevel::as_str);
        convs::set_notify_settings(&mut conn, id, me, level, muted_until).await?;
        self.notifications_view(&mut conn, id, level.map(str::to_owned), muted_until)
            .await
    }

    /// The settings as a member sees them, with the level that applies now.
    async fn notifications_view(
        &self,
        conn: &mut AsyncPgConnection,
        id: ConversationId,
        level: Option<String>,
        muted_until: Option<DateTime<Utc>>,
    ) -> ChatResult<ConversationNotifications> {
        let now = self.clock.now();
        let muted_until = muted_until.filter(|until| *until > now);
        let level = level.as_deref().map(NotifyLevel::from_stored);
        let effective_level = match (muted_until, level) {
            (Some(_), _) => NotifyLevel::None,
            (None, Some(level)) => level,
            (None, None) => {
                let limit = i64::try_from(self.settings.notify_all_max_members.max(2)).unwrap_or(i64::MAX);
                if mentions::members_up_to(conn, id, limit).await?.is_some() {
                    NotifyLevel::All
                } else {
                    NotifyLevel::Mentions
                }
            }
        };
        Ok(ConversationNotifications {
            level,
            muted_until,
            effective_level,
        })
    }

    // ----- real time ---------------------------------------------------------------------------------------

    /// Every conversation `me` is in (the rooms a socket joins).
    pub async fn conversation_ids(&self, me: UserId) -> ChatResult<Vec<ConversationId>> {
        let mut conn = self.pool.get().await?;
        Ok(convs::ids_of_member(&mut conn, me).await?.into_iter().collect())
    }

    /// The current state of those of `ids` that `me` may see and that are not deleted, with fresh download
    /// links: a recovery replay sends these instead of what the events carried (never the content of a deleted
    /// message, never a text since edited, never an expired link).
    pub async fn current_messages(&self, me: UserId, ids: &[MessageId]) -> ChatResult<Vec<Message>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.pool.get().await?;
        let mine: std::collections::HashSet<_> =
            convs::ids_of_member(&mut conn, me).await?.into_iter().collect();
        let uuids = ids;
        let rows: Vec<MessageRow> = messages::find_many(&mut conn, uuids)
            .await?
            .into_iter()
            .filter(|row| row.deleted_at.is_none() && mine.contains(&row.conversation_id))
            .collect();
        self.assemble(&mut conn, rows, me).await
    }

    /// Who sees `me`'s presence (`docs/api.md`, Presence): the members of `me`'s direct conversations and of the
    /// groups with at most `group_limit` members. In one query, whatever the size of `me`'s groups.
    pub async fn presence_audience(&self, me: UserId, group_limit: usize) -> ChatResult<PresenceAudience> {
        let mut conn = self.pool.get().await?;
        let limit = i64::try_from(group_limit).unwrap_or(i64::MAX - 1);
        let rows = convs::presence_audience(&mut conn, me, limit).await?;
        let mut conversations: Vec<ConversationId> = rows.iter().map(|(c, _)| *c).collect();
        conversations.sort_unstable();
        conversations.dedup();
        let mut partners: Vec<UserId> = rows.iter().map(|(_, u)| *u).collect();
        partners.sort_unstable();
        partners.dedup();
        Ok(PresenceAudience {
            conversations,
            partners,
        })
    }

    /// Which of `users` `me` may see the presence of: those sharing a conversation with `me`, and `me`.
    pub async fn presence_visible(&self, me: UserId, users: &[UserId]) -> ChatResult<Vec<UserId>> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let ids = users;
        let mut conn = self.pool.get().await?;
        let mut visible: Vec<UserId> = convs::sharing_a_conversation(&mut conn, me, ids)
            .await?
            .into_iter()
            .collect();
        if users.contains(&me) && !visible.contains(&me) {
            visible.push(me);
        }
        Ok(visible)
    }

    /// Whether `me` is in the conversation.
    pub async fn is_member(&self, me: UserId, id: ConversationId) -> ChatResult<bool> {
        let conn = self.pool.get().await?;
        convs::is_member(&conn, id, me).await
    }

    // ----- files ---------------------------------------------------------------------------------------------

    /// Reserves an upload slot: a presigned `PUT` for exactly this file, under a key made of ids only. A user
    /// holds at most `max_open_uploads` slots and `max_unattached_bytes` declared bytes not yet attached to a
    /// message (`TooManyOpenUploads`, `UnattachedBytesOverLimit`; a file that could never fit is
    /// `FileTooLarge`); the check and the reservation are one transaction, serialised per user.
    #[tracing::instrument(skip(self, request))]
    pub async fn presign_upload(&self, me: UserId, request: &UploadRequest) -> ChatResult<UploadSlot> {
        let settings = &self.settings;
        let bytes_limit = (settings.max_unattached_bytes > 0).then_some(settings.max_unattached_bytes);
        let largest = bytes_limit.map_or(settings.max_upload_bytes, |b| b.min(settings.max_upload_bytes));
        if request.file_size > largest {
            return Err(ChatError::FileTooLarge { limit: largest });
        }
        // Presigning is local arithmetic: without this round trip an unreachable store would hand out URLs
        // nobody can use. Checked first, the client hears `unavailable` and when to retry instead.
        self.store.check().await?;
        let id = AttachmentId::new();
        let object_key = format!("uploads/{me}/{id}");
        let presigned = self
            .store
            .presign_put(
                &object_key,
                &request.content_type,
                request.file_size,
                self.settings.upload_ttl,
            )
            .await?;
        let row = NewAttachmentRow {
            id,
            uploader_id: me,
            object_key,
            file_name: request.file_name.clone(),
            content_type: request.content_type.clone(),
            file_size: i64::try_from(request.file_size).unwrap_or(i64::MAX),
        };
        let mut conn = self.pool.get().await?;
        conn.transaction::<_, ChatError, _>(async |conn| {
            attachments::lock_reservations_of(conn, me).await?;
            let held = attachments::unattached_of(conn, me).await?;
            // Reservations free up when attached, or when swept as unused after `unattached_ttl`.
            let retry_after = || {
                held.oldest.map_or(Duration::from_secs(1), |oldest| {
                    (oldest + chrono::Duration::from_std(self.settings.unattached_ttl).unwrap_or_default()
                        - self.clock.now())
                    .to_std()
                    .unwrap_or_default()
                })
            };
            let count = u64::try_from(held.count).unwrap_or(0);
            if settings.max_open_uploads > 0 && count >= settings.max_open_uploads {
                return Err(ChatError::TooManyOpenUploads {
                    limit: settings.max_open_uploads,
                    retry_after: retry_after(),
                });
            }
            let bytes = u64::try_from(held.bytes).unwrap_or(0);
            if let Some(limit) = bytes_limit
                && bytes.saturating_add(request.file_size) > limit
            {
                return Err(ChatError::UnattachedBytesOverLimit {
                    limit,
                    retry_after: retry_after(),
                });
            }
            attachments::insert(conn, &row).await
        })
        .await?;
        Ok(UploadSlot {
            attachment_id: id,
            url: presigned.url,
            method: "PUT",
            headers: presigned.headers,
            expires_at: presigned.expires_at,
        })
    }

    /// A short-lived download URL for a file `me` may see: their own upload, or a file of a message in one of
    /// their conversations. `NotFound` before the object exists.
    pub async fn download(&self, me: UserId, id: AttachmentId) -> ChatResult<String> {
        let mut conn = self.pool.get().await?;
        let row = attachments::find(&mut conn, id)
            .await?
            .ok_or(ChatError::NotFound)?;
        let visible = if row.uploader_id == me {
            true
        } else {
            match row.message_id {
                Some(message) => match messages::find(&mut conn, message).await? {
                    Some(message) if message.deleted_at.is_none() => {
                        convs::is_member(&conn, message.conversation_id, me).await?
                    }
                    _ => false,
                },
                None => false,
            }
        };
        drop(conn);
        if !visible {
            return Err(ChatError::NotFound);
        }
        // Only the object that was uploaded (and, once attached, the one that was attached) is ever served: a
        // replacement stored through a store that ignores `If-None-Match` is not.
        let current = self.store.head(&row.object_key).await?;
        if !current
            .as_ref()
            .is_some_and(|info| is_attached_object(info, row.file_size, row.object_etag.as_deref()))
        {
            if current.is_some() {
                tracing::warn!(attachment = %row.id, "a file's stored object is not the one uploaded; not served");
            }
            return Err(ChatError::NotFound);
        }
        self.download_url(&row).await
    }

    /// Whether the upload slot at `object_key` still takes its upload: reserved and not attached to a message
    /// (the local store's uploads are single-use: once attached, or removed with a deleted message, its URL
    /// stores nothing more).
    pub async fn upload_slot_open(&self, object_key: &str) -> ChatResult<bool> {
        let mut conn = self.pool.get().await?;
        Ok(attachments::find_by_key(&mut conn, object_key)
            .await?
            .is_some_and(|row| row.message_id.is_none()))
    }

    /// Removes the stored files of a deleted message and their rows; fails (to be retried) if the store
    /// could not remove one.
    pub async fn remove_files_of_deleted(&self, message: MessageId) -> ChatResult<usize> {
        let mut conn = self.pool.get().await?;
        let deleted = messages::find(&mut conn, message)
            .await?
            .is_none_or(|row| row.deleted_at.is_some());
        if !deleted {
            return Ok(0);
        }
        let rows = attachments::of_messages(&conn, &[message]).await?;
        let mut removed = Vec::new();
        let mut failed = None;
        let now = self.clock.now();
        for row in &rows {
            match self.store.delete(&row.object_key).await {
                // A row whose upload URL still works is kept (attached to the deleted message) until the sweep
                // after it closes, which removes whatever was stored at its key meanwhile.
                Ok(()) if now < self.upload_open_until(row.created_at) => {}
                Ok(()) => removed.push(row.id),
                Err(error) => failed = Some(error),
            }
        }
        let count = attachments::delete(&mut conn, &removed).await?;
        match failed {
            Some(error) => Err(error.into()),
            None => Ok(count),
        }
    }

    /// Removes uploads never attached within the configured time and files of deleted messages, from the
    /// store and the database. Returns how many were removed.
    pub async fn sweep_files(&self) -> ChatResult<usize> {
        let cutoff = self.clock.now()
            - chrono::Duration::from_std(self.settings.unattached_ttl).unwrap_or(chrono::Duration::days(1));
        let closed_before = self.clock.now()
            - chrono::Duration::from_std(self.settings.upload_ttl).unwrap_or(chrono::Duration::minutes(15));
        let mut conn = self.pool.get().await?;
        let rows = attachments::sweepable(&mut conn, cutoff, closed_before, 500).await?;
        let mut removed = Vec::new();
        for row in &rows {
            match self.store.delete(&row.object_key).await {
                Ok(()) => removed.push(row.id),
                Err(error) => {
                    tracing::warn!(%error, key = %row.object_key, "could not remove a stored file; will retry")
                }
            }
        }
        attachments::delete(&mut conn, &removed).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direct_keys_do_not_depend_on_who_asks() {
        let (a, b) = (UserId::new(), UserId::new());
        assert_eq!(direct_key(a, b), direct_key(b, a));
        assert_ne!(direct_key(a, b), direct_key(a, UserId::new()));
    }

    #[test]
    fn search_words_split_on_white_space_only() {
        assert_eq!(search_words("  hello   世界你好 "), vec!["hello", "世界你好"]);
        assert!(search_words("   ").is_empty());
    }
}
