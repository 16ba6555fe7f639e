//! Turns domain events into notifications, off the relay's path and set-based.
//!
//! 1. [`NotificationJobs`], an outbox handler, enqueues one `notifications` job per event that notifies
//!    someone: one `INSERT` per relay batch, however many members a conversation has.
//! 2. [`NotificationProjector`] runs those jobs. The jobs of one conversation claimed together become one
//!    statement: an upsert over the conversation's offline members that adds a `message` notification, or,
//!    while the member still has an unread one for the conversation, updates it (latest message, sender,
//!    preview, `count` of unread messages; it moves to the top of the list). The event's position is kept as
//!    `source_event`, so a job run twice changes nothing.
//! 3. Delivery (the live `notification:new` through the outbox, e-mail and Web Push jobs) goes out when a
//!    notification is created, and then at most once per conversation per interval: what arrives meanwhile
//!    is delivered as a digest when the interval is over ([`NotificationProjector::send_due_digests`]).

use crate::model::Notification;
use crate::repo::NotificationRow;
use async_trait::async_trait;
use diesel::{ExpressionMethods as _, QueryDsl as _};
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use epop_core::model::{CalendarNoticeKind, NotificationKind};
use epop_core::{ConversationId, DomainEvent, MessageId, NotificationId, PushSubscriptionId, UserId};
use epop_storage::events::{OutboxHandler, OutboxNotifier, PublishedEvent};
use epop_storage::schema::{conversation_members, push_subscriptions};
use epop_storage::{DbPool, StorageError, StorageResult, jobs, outbox};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Longest message preview in a `message` notification, in characters.
pub const PREVIEW_CHARS: usize = 140;
/// The job queue of notification work.
pub const NOTIFY_QUEUE: &str = "notifications";
/// Digests sent per sweep.
const DIGEST_BATCH: i64 = 500;

/// Who has a live connection right now (on any node).
#[async_trait]
pub trait LiveConnections: Send + Sync {
    /// Those of `users` with at least one connected socket.
    async fn online(&self, users: &[UserId]) -> Vec<UserId>;
}

/// The first `PREVIEW_CHARS` characters of a text.
pub fn preview(text: &str) -> String {
    text.chars().take(PREVIEW_CHARS).collect()
}

/// Whether an event notifies anyone.
fn notifies(event: &DomainEvent) -> bool {
    if let DomainEvent::MessageUpdated { mentioned, .. } = event {
        return !mentioned.is_empty();
    }
    matches!(
        event,
        DomainEvent::MessageCreated { .. }
            | DomainEvent::TaskAssigned { .. }
            | DomainEvent::ProjectMemberAdded { .. }
            | DomainEvent::ScheduledMessageFailed { .. }
            | DomainEvent::ReminderDue { .. }
            | DomainEvent::CalendarNotice { .. }
            | DomainEvent::TaskCommented { .. }
            | DomainEvent::TaskDueSoon { .. }
    )
}

/// The outbox handler: one `notifications` job per event that notifies someone, in one statement per batch.
#[derive(Debug)]
pub struct NotificationJobs {
    worker: Arc<Notify>,
    enqueued: AtomicBool,
}

impl NotificationJobs {
    /// A handler that wakes `worker` (the job worker's waker) once its jobs are committed.
    pub fn new(worker: Arc<Notify>) -> Self {
        Self {
            worker,
            enqueued: AtomicBool::new(false),
        }
    }
}

#[async_trait]
impl OutboxHandler for NotificationJobs {
    async fn handle(&self, conn: &mut AsyncPgConnection, events: &[PublishedEvent]) -> StorageResult<()> {
        let payloads: Vec<Value> = events
            .iter()
            .filter(|published| notifies(&published.event))
            .map(|published| json!({"position": published.position, "event": published.event}))
            .collect();
        if jobs::enqueue_all(conn, NOTIFY_QUEUE, &payloads).await? > 0 {
            self.enqueued.store(true, Ordering::Relaxed);
        }
        Ok(())
    }

    fn committed(&self) {
        if self.enqueued.swap(false, Ordering::Relaxed) {
            self.worker.notify_one();
        }
    }
}

/// Lets the current transaction commit without waiting for its WAL flush. Safe for a job's own writes: the job
/// is marked done afterwards by a flushed commit, which flushes the WAL before it, this commit included; if the
/// database stops in between, the job runs again, and its writes are idempotent by the event's position. It
/// saves a disk flush per conversation of every batch of notification jobs, as many as the sends themselves.
async fn commit_without_flush(conn: &mut AsyncPgConnection) -> StorageResult<()> {
    diesel::sql_query("SELECT set_config('synchronous_commit', 'off', true)")
        .execute(conn)
        .await?;
    Ok(())
}

/// One `message` event of a job, as the coalescing statement takes it.
struct MessageEvent {
    position: i64,
    message_id: MessageId,
    sender_id: UserId,
    preview: String,
    sent_at: chrono::DateTime<chrono::Utc>,
    /// Its position in the conversation (deliveries of what the user has read by then are dropped).
    seq: i64,
    /// The thread's root, for a reply.
    thread_root_id: Option<MessageId>,
    /// Who it mentions (the sender left out); for an edit, only those it mentions for the first time.
    mentioned: Vec<UserId>,
    /// An edit: it only mentions (its message was folded into the members' notifications when it was sent).
    edit: bool,
}

impl MessageEvent {
    /// A message event (sent, or an `edit` that mentions members anew) as the notifications take it, at `at`.
    fn of(
        position: i64,
        message: &epop_core::model::EventMessage,
        at: chrono::DateTime<chrono::Utc>,
        mentioned: Vec<UserId>,
        edit: bool,
    ) -> Self {
        Self {
            position,
            message_id: message.id,
            sender_id: message.sender_id,
            preview: preview(&message.content),
            sent_at: at,
            seq: message.seq,
            thread_root_id: message.thread_root_id,
            mentioned,
            edit,
        }
    }
}

/// The mentions of a conversation's messages as `INSERT_MENTIONS` takes them: one entry per (user, message).
#[derive(Default)]
struct MentionColumns<'a> {
    users: Vec<UserId>,
    messages: Vec<MessageId>,
    senders: Vec<UserId>,
    previews: Vec<&'a str>,
    sent_at: Vec<chrono::DateTime<chrono::Utc>>,
    positions: Vec<i64>,
    roots: Vec<Option<MessageId>>,
    seqs: Vec<i64>,
}

impl<'a> MentionColumns<'a> {
    /// The mentions of `messages` of those users `notified` lets through.
    fn of(messages: &[&'a MessageEvent], notified: impl Fn(&UserId) -> bool) -> Self {
        let mut columns = Self::default();
        for message in messages {
            for user in message.mentioned.iter().filter(|user| notified(user)) {
                columns.users.push(*user);
                columns.messages.push(message.message_id);
                columns.senders.push(message.sender_id);
                columns.previews.push(&message.preview);
                columns.sent_at.push(message.sent_at);
                columns.positions.push(message.position);
                columns.roots.push(message.thread_root_id);
                columns.seqs.push(message.seq);
            }
        }
        columns
    }
}

/// A member with their level of the conversation (`None`: the default) and mute, as `conversation_members` has them.
type MemberLevel = (UserId, Option<String>, Option<chrono::DateTime<chrono::Utc>>);

/// What each member of a conversation lets through, by level (`docs/api.md`, Notification control): `all`
/// every message and mention, `mentions` mentions only, `none` (or muted) nothing. Members without a level of their
/// own get the default by the conversation's size.
struct Levels {
    all: HashSet<UserId>,
    mentions: HashSet<UserId>,
}

impl Levels {
    fn of(rows: &[MemberLevel], all_max_members: usize, now: chrono::DateTime<chrono::Utc>) -> Self {
        let default_all = rows.len() <= all_max_members.max(2);
        let mut levels = Self {
            all: HashSet::new(),
            mentions: HashSet::new(),
        };
        for (user, level, muted_until) in rows {
            if muted_until.is_some_and(|until| until > now) {
                continue;
            }
            match level.as_deref() {
                Some("all") => levels.all.insert(*user),
                Some("mentions") => levels.mentions.insert(*user),
                Some(_) => false,
                None if default_all => levels.all.insert(*user),
                None => levels.mentions.insert(*user),
            };
        }
        levels
    }

    /// Whether `user` is notified of messages (while offline).
    fn messages(&self, user: &UserId) -> bool {
        self.all.contains(user)
    }

    /// Whether `user` is notified of mentions.
    fn mentions(&self, user: &UserId) -> bool {
        self.all.contains(user) || self.mentions.contains(user)
    }
}

/// A job's event, decoded.
enum Job {
    Message(ConversationId, MessageEvent),
    /// One event, one notification each for several users, each of its own kind (a task comment's watchers and
    /// mentioned members), or all of one kind ([`Job::same_kind`]).
    Fanout {
        position: i64,
        users: Vec<UserId>,
        kinds: Vec<NotificationKind>,
        payload: Value,
        /// A file their e-mails carry (`{filename, content_type, content}`): a calendar notice's `.ics`.
        attachment: Option<Value>,
    },
    Nothing,
}

impl Job {
    /// One notification of `kind` for each of `users` (task assigned, member added, calendar notices...).
    fn same_kind(position: i64, users: Vec<UserId>, kind: NotificationKind, payload: Value) -> Job {
        Job::Fanout {
            position,
            kinds: vec![kind; users.len()],
            users,
            payload,
            attachment: None,
        }
    }
}

fn decode(payload: &Value) -> Result<Job, String> {
    let position = payload
        .get("position")
        .and_then(Value::as_i64)
        .ok_or("the job has no position")?;
    let event: DomainEvent = serde_json::from_value(payload.get("event").cloned().unwrap_or(Value::Null))
        .map_err(|e| format!("the job's event is unreadable: {e}"))?;
    Ok(match event {
        DomainEvent::MessageCreated {
            conversation_id,
            message,
            mentioned,
            ..
        } => Job::Message(
            conversation_id,
            MessageEvent::of(position, &message, message.created_at, mentioned, false),
        ),
        DomainEvent::MessageUpdated {
            conversation_id,
            message,
            mentioned,
        } => {
            let edited_at = message.edited_at.unwrap_or(message.updated_at);
            Job::Message(
                conversation_id,
                MessageEvent::of(position, &message, edited_at, mentioned, true),
            )
        }
        DomainEvent::TaskAssigned {
            task_id,
            project_id,
            title,
            assigned_to,
            assigned_by,
        } => Job::same_kind(
            position,
            vec![assigned_to],
            NotificationKind::TaskAssigned,
            json!({"task_id": task_id, "project_id": project_id, "title": title, "assigned_by": assigned_by}),
        ),
        DomainEvent::ProjectMemberAdded {
            project_id,
            project_name,
            user_id,
            role,
            added_by,
        } => Job::same_kind(
            position,
            vec![user_id],
            NotificationKind::ProjectMemberAdded,
            json!({"project_id": project_id, "project_name": project_name, "role": role, "added_by": added_by}),
        ),
        DomainEvent::ScheduledMessageFailed {
            user_id,
            scheduled_message_id,
            conversation_id,
            preview,
            reason,
        } => Job::same_kind(
            position,
            vec![user_id],
            NotificationKind::ScheduledMessageFailed,
            json!({"scheduled_message_id": scheduled_message_id, "conversation_id": conversation_id, "preview": preview, "reason": reason}),
        ),
        DomainEvent::ReminderDue {
            user_id,
            reminder_id,
            message_id,
            conversation_id,
            preview,
        } => Job::same_kind(
            position,
            vec![user_id],
            NotificationKind::Reminder,
            json!({"reminder_id": reminder_id, "message_id": message_id, "conversation_id": conversation_id, "preview": preview}),
        ),
        DomainEvent::CalendarNotice {
            kind,
            event_id,
            calendar_event_id,
            title,
            start_time,
            organizer_id,
            recipients,
            ics,
        } => {
            let mut job = Job::same_kind(
                position,
                recipients,
                kind.notification_kind(),
                json!({"event_id": event_id, "calendar_event_id": calendar_event_id, "title": title,
                                "start_time": start_time, "organizer_id": organizer_id}),
            );
            if let (Job::Fanout { attachment, .. }, Some(ics)) = (&mut job, ics) {
                let cancel = kind == CalendarNoticeKind::Cancelled;
                let method = if cancel { "CANCEL" } else { "REQUEST" };
                *attachment = Some(json!({
                    "filename": if cancel { "cancel.ics" } else { "invite.ics" },
                    "content_type": format!("text/calendar; charset=utf-8; method={method}"),
                    "content": ics,
                }));
            }
            job
        }
        DomainEvent::TaskDueSoon {
            task_id,
            project_id,
            title,
            due_date,
            user_id,
            minutes_before,
        } => Job::same_kind(
            position,
            vec![user_id],
            NotificationKind::TaskDue,
            json!({"task_id": task_id, "project_id": project_id, "title": title, "due_date": due_date,
                   "minutes_before": minutes_before}),
        ),
        DomainEvent::TaskCommented {
            task_id,
            project_id,
            comment_id,
            title,
            author_id,
            preview,
            watchers,
            mentioned,
        } => {
            let kinds = std::iter::repeat_n(NotificationKind::TaskComment, watchers.len())
                .chain(std::iter::repeat_n(
                    NotificationKind::TaskMention,
                    mentioned.len(),
                ))
                .collect();
            Job::Fanout {
                position,
                users: watchers.into_iter().chain(mentioned).collect(),
                kinds,
                payload: json!({"task_id": task_id, "project_id": project_id, "comment_id": comment_id,
                                "title": title, "author_id": author_id, "preview": preview}),
                attachment: None,
            }
        }
        _ => Job::Nothing,
    })
}

/// Runs the `notifications` jobs: creates and coalesces notifications, and delivers them.
pub struct NotificationProjector {
    pool: DbPool,
    live: Arc<dyn LiveConnections>,
    /// Enqueue an e-mail job per delivered notification (SMTP is configured).
    email: bool,
    /// At most one delivery per conversation per user in this interval.
    interval: Duration,
    relay: OutboxNotifier,
    /// Conversations of at most this many members notify `all` by default, larger ones `mentions`.
    notify_all_max_members: usize,
}

impl std::fmt::Debug for NotificationProjector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotificationProjector")
            .field("email", &self.email)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

/// A notification just written, and whether it is to be delivered now.
#[derive(diesel::QueryableByName)]
struct Written {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: NotificationId,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    user_id: UserId,
    #[diesel(sql_type = diesel::sql_types::Text)]
    kind: NotificationKind,
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    payload: Value,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    is_read: bool,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    created_at: chrono::DateTime<chrono::Utc>,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    deliver: bool,
}

/// The statement behind `message` notifications: for every offline member of the conversation (`$7`, worked out
/// beforehand from the members and the presence index, so a large group that is all online costs no statement), the messages of the batch they did not send and that their unread notification does not count yet
/// are folded into it (or into a new one). Rows are taken in user order, so two workers never deadlock.
const COALESCE_MESSAGES: &str = "\
WITH msgs AS (
    SELECT * FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::timestamptz[], $6::bigint[], $10::bigint[])
        AS m(message_id, sender_id, preview, sent_at, position, seq)
), per_user AS (
    SELECT cm.user_id,
           count(*) AS n,
           (array_agg(m.message_id ORDER BY m.position DESC))[1] AS message_id,
           (array_agg(m.sender_id ORDER BY m.position DESC))[1] AS sender_id,
           (array_agg(m.preview ORDER BY m.position DESC))[1] AS preview,
           (array_agg(m.seq ORDER BY m.position DESC))[1] AS seq,
           max(m.sent_at) AS sent_at,
           max(m.position) AS position
    FROM unnest($7::uuid[]) AS cm(user_id)
    JOIN msgs m ON m.sender_id <> cm.user_id
    LEFT JOIN notifications ex
        ON ex.user_id = cm.user_id AND ex.group_key = $8 AND NOT ex.is_read
    WHERE ex.source_event IS NULL OR m.position > ex.source_event
    GROUP BY cm.user_id
)
INSERT INTO notifications AS n (id, user_id, kind, payload, created_at, group_key, source_event, notified_at)
SELECT gen_random_uuid(), user_id, 'message',
       jsonb_build_object('conversation_id', $1::uuid, 'message_id', message_id, 'sender_id', sender_id,
                          'preview', preview, 'seq', seq, 'count', n),
       sent_at, $8, position, now()
FROM per_user
ORDER BY user_id
ON CONFLICT (user_id, group_key) WHERE NOT is_read AND group_key IS NOT NULL DO UPDATE SET
    payload = EXCLUDED.payload
        || jsonb_build_object('count', coalesce((n.payload->>'count')::bigint, 1)
                                       + (EXCLUDED.payload->>'count')::bigint),
    created_at = greatest(n.created_at, EXCLUDED.created_at),
    source_event = EXCLUDED.source_event,
    notified_at = CASE WHEN n.notified_at IS NULL OR n.notified_at <= now() - make_interval(secs => $9)
                       THEN now() ELSE n.notified_at END,
    digest_due_at = CASE WHEN n.notified_at IS NULL OR n.notified_at <= now() - make_interval(secs => $9)
                         THEN NULL
                         ELSE coalesce(n.digest_due_at, n.notified_at + make_interval(secs => $9)) END
WHERE n.source_event IS NULL OR n.source_event < EXCLUDED.source_event
RETURNING n.id, n.user_id, n.kind, n.payload, n.is_read, n.created_at, n.notified_at = now() AS deliver";

/// `mention` notifications, one per mentioned user per message (`source_event` is the message's event: a job
/// run twice adds nothing), delivered at once. Rows are taken in user order, so two workers never deadlock.
const INSERT_MENTIONS: &str = "\
INSERT INTO notifications (id, user_id, kind, payload, created_at, source_event, notified_at)
SELECT gen_random_uuid(), v.user_id, 'mention',
       jsonb_build_object('conversation_id', $1::uuid, 'message_id', v.message_id, 'sender_id', v.sender_id,
                          'preview', v.preview, 'seq', v.seq, 'thread_root_id', v.thread_root_id),
       v.sent_at, v.position, now()
FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::timestamptz[], $7::bigint[], $8::uuid[],
            $9::bigint[])
    AS v(user_id, message_id, sender_id, preview, sent_at, position, thread_root_id, seq)
ORDER BY v.user_id, v.position
ON CONFLICT (user_id, source_event) WHERE source_event IS NOT NULL AND group_key IS NULL DO NOTHING
RETURNING id, user_id, kind, payload, is_read, created_at, true AS deliver";

/// One notification per listed user (`$1`, of kind `$2`) for one event (task assigned, member added, calendar
/// notices, task comments), in one statement however many recipients; once per event and user. Rows are taken in
/// user order, so two workers never deadlock.
const INSERT_FANOUT: &str = "\
INSERT INTO notifications (id, user_id, kind, payload, source_event, notified_at)
SELECT gen_random_uuid(), r.user_id, r.kind, $3, $4, now()
FROM unnest($1::uuid[], $2::text[]) AS r(user_id, kind)
ORDER BY r.user_id
ON CONFLICT (user_id, source_event) WHERE source_event IS NOT NULL AND group_key IS NULL DO NOTHING
RETURNING id, user_id, kind, payload, is_read, created_at, true AS deliver";

/// Digests that are due: marked delivered and returned, each taken by one sweeper only.
const TAKE_DUE_DIGESTS: &str = "\
UPDATE notifications SET notified_at = now(), digest_due_at = NULL
WHERE id IN (SELECT id FROM notifications
             WHERE digest_due_at <= now() AND NOT is_read
             ORDER BY digest_due_at LIMIT $1 FOR UPDATE SKIP LOCKED)
RETURNING id, user_id, kind, payload, is_read, created_at, true AS deliver";

impl NotificationProjector {
    /// A projector asking `live` who is connected, delivering at most once per conversation per `interval`,
    /// nudging `relay` after writing `notification:new` events; with `email`, deliveries also go by e-mail.
    pub fn new(
        pool: DbPool,
        live: Arc<dyn LiveConnections>,
        email: bool,
        interval: Duration,
        relay: OutboxNotifier,
    ) -> Self {
        Self {
            pool,
            live,
            email,
            interval,
            relay,
            notify_all_max_members: 10,
        }
    }

    /// The same projector with conversations of at most `members` members notifying `all` by default (larger
    /// ones `mentions`; values under 2 count as 2).
    #[must_use]
    pub fn with_notify_all_max_members(mut self, members: usize) -> Self {
        self.notify_all_max_members = members;
        self
    }

    /// Folds one conversation's messages into its offline members' notifications and adds a `mention`
    /// notification for each member they mention (online or not), in one transaction.
    async fn coalesce(&self, conversation: ConversationId, messages: &[&MessageEvent]) -> StorageResult<()> {
        let mut conn = self.pool.get().await?;
        let rows: Vec<(UserId, Option<String>, Option<chrono::DateTime<chrono::Utc>>)> =
            conversation_members::table
                .filter(conversation_members::conversation_id.eq(conversation))
                .select((
                    conversation_members::user_id,
                    conversation_members::notify_level,
                    conversation_members::muted_until,
                ))
                .load(&mut conn)
                .await?;
        let levels = Levels::of(&rows, self.notify_all_max_members, chrono::Utc::now());
        // Edits only mention: the `message` notifications count new messages alone.
        let sent: Vec<&MessageEvent> = messages.iter().copied().filter(|m| !m.edit).collect();
        // Only members whose level lets messages through are asked about: a large group of `mentions` members
        // costs no presence look-up.
        let candidates: Vec<UserId> = if sent.is_empty() {
            Vec::new()
        } else {
            rows.iter()
                .map(|(user, ..)| *user)
                .filter(|user| levels.messages(user))
                .collect()
        };
        let online: HashSet<UserId> = if candidates.is_empty() {
            HashSet::new()
        } else {
            self.live.online(&candidates).await.into_iter().collect()
        };
        let offline: Vec<UserId> = candidates
            .into_iter()
            .filter(|member| !online.contains(member))
            .collect();
        let mentions = MentionColumns::of(messages, |user| levels.mentions(user));
        if offline.is_empty() && mentions.users.is_empty() {
            return Ok(());
        }
        let group = format!("message:{conversation}");
        let interval = self.interval.as_secs_f64();
        let written: Vec<Written> = conn
            .transaction::<_, StorageError, _>(async |conn| {
                commit_without_flush(conn).await?;
                let mut written: Vec<Written> = if offline.is_empty() {
                    Vec::new()
                } else {
                    diesel::sql_query(COALESCE_MESSAGES)
                    .bind::<diesel::sql_types::Uuid, _>(conversation)
                    .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(
                        sent.iter().map(|m| m.message_id).collect::<Vec<_>>(),
                    )
                    .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(
                        sent.iter().map(|m| m.sender_id).collect::<Vec<_>>(),
                    )
                    .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(
                        sent.iter().map(|m| m.preview.as_str()).collect::<Vec<_>>(),
                    )
                    .bind::<diesel::sql_types::Array<diesel::sql_types::Timestamptz>, _>(
                        sent.iter().map(|m| m.sent_at).collect::<Vec<_>>(),
                    )
                    .bind::<diesel::sql_types::Array<diesel::sql_types::BigInt>, _>(
                        sent.iter().map(|m| m.position).collect::<Vec<_>>(),
                    )
                    .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(&offline)
                    .bind::<diesel::sql_types::Text, _>(&group)
                    .bind::<diesel::sql_types::Double, _>(interval)
                    .bind::<diesel::sql_types::Array<diesel::sql_types::BigInt>, _>(
                        sent.iter().map(|m| m.seq).collect::<Vec<_>>(),
                    )
                    .load(conn)
                    .await?
                };
                if !mentions.users.is_empty() {
                    let mentioned: Vec<Written> = diesel::sql_query(INSERT_MENTIONS)
                        .bind::<diesel::sql_types::Uuid, _>(conversation)
                        .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(&mentions.users)
                        .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(&mentions.messages)
                        .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(&mentions.senders)
                        .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(&mentions.previews)
                        .bind::<diesel::sql_types::Array<diesel::sql_types::Timestamptz>, _>(&mentions.sent_at)
                        .bind::<diesel::sql_types::Array<diesel::sql_types::BigInt>, _>(&mentions.positions)
                        .bind::<diesel::sql_types::Array<diesel::sql_types::Nullable<diesel::sql_types::Uuid>>, _>(
                            &mentions.roots,
                        )
                        .bind::<diesel::sql_types::Array<diesel::sql_types::BigInt>, _>(&mentions.seqs)
                        .load(conn)
                        .await?;
                    written.extend(mentioned);
                }
                self.deliver(conn, &written, None).await?;
                Ok(written)
            })
            .await?;
        if written.iter().any(|w| w.deliver) {
            self.relay.notify();
        }
        Ok(())
    }

    async fn fanout(
        &self,
        position: i64,
        users: &[UserId],
        kinds: &[NotificationKind],
        payload: &Value,
        attachment: Option<&Value>,
    ) -> StorageResult<()> {
        if users.is_empty() {
            return Ok(());
        }
        let mut conn = self.pool.get().await?;
        let delivered = conn
            .transaction::<_, StorageError, _>(async |conn| {
                commit_without_flush(conn).await?;
                let written: Vec<Written> = diesel::sql_query(INSERT_FANOUT)
                    .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(users)
                    .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(kinds)
                    .bind::<diesel::sql_types::Jsonb, _>(payload)
                    .bind::<diesel::sql_types::BigInt, _>(position)
                    .load(conn)
                    .await?;
                self.deliver(conn, &written, attachment).await?;
                Ok(!written.is_empty())
            })
            .await?;
        if delivered {
            self.relay.notify();
        }
        Ok(())
    }

    /// Delivers, on `conn`'s transaction, the notifications marked for delivery: the live event through the
    /// outbox, the Web Push jobs of their owners' subscriptions and the e-mail jobs (each with `attachment`,
    /// when given), three statements in all.
    async fn deliver(
        &self,
        conn: &mut AsyncPgConnection,
        written: &[Written],
        attachment: Option<&Value>,
    ) -> StorageResult<()> {
        let due: Vec<(UserId, Notification)> = written
            .iter()
            .filter(|w| w.deliver)
            .map(|w| {
                let notification = Notification::from(NotificationRow {
                    id: w.id,
                    kind: w.kind,
                    payload: w.payload.clone(),
                    is_read: w.is_read,
                    created_at: w.created_at,
                });
                (w.user_id, notification)
            })
            .collect();
        if due.is_empty() {
            return Ok(());
        }
        let events: Vec<DomainEvent> = due
            .iter()
            .map(|(user, notification)| DomainEvent::NotificationCreated {
                user_id: *user,
                notification: notification.clone(),
            })
            .collect();
        outbox::append_all(conn, &events).await?;
        let users: Vec<UserId> = due.iter().map(|(user, _)| *user).collect();
        let subscriptions: Vec<(PushSubscriptionId, UserId)> = push_subscriptions::table
            .filter(push_subscriptions::user_id.eq_any(&users))
            .filter(push_subscriptions::disabled_at.is_null())
            .select((push_subscriptions::id, push_subscriptions::user_id))
            .load(conn)
            .await?;
        if !subscriptions.is_empty() {
            let by_user: std::collections::HashMap<UserId, &Notification> =
                due.iter().map(|(user, n)| (*user, n)).collect();
            let pushes: Vec<Value> = subscriptions
                .iter()
                .filter_map(|(subscription, user)| {
                    by_user
                        .get(user)
                        .map(|n| json!({"subscription_id": subscription, "notification": n}))
                })
                .collect();
            jobs::enqueue_all(conn, crate::push::PUSH_QUEUE, &pushes).await?;
        }
        if self.email {
            let mails: Vec<Value> = due
                .iter()
                .map(|(user, n)| match attachment {
                    Some(file) => json!({"user_id": user, "notification": n, "attachment": file}),
                    None => json!({"user_id": user, "notification": n}),
                })
                .collect();
            jobs::enqueue_all(conn, crate::email::EMAIL_QUEUE, &mails).await?;
        }
        Ok(())
    }

    /// Delivers the digests that are due (notifications updated since their last delivery, once their
    /// interval is over); returns how many.
    pub async fn send_due_digests(&self) -> StorageResult<usize> {
        let mut conn = self.pool.get().await?;
        let sent = conn
            .transaction::<_, StorageError, _>(async |conn| {
                let written: Vec<Written> = diesel::sql_query(TAKE_DUE_DIGESTS)
                    .bind::<diesel::sql_types::BigInt, _>(DIGEST_BATCH)
                    .load(conn)
                    .await?;
                self.deliver(conn, &written, None).await?;
                Ok(written.len())
            })
            .await?;
        if sent > 0 {
            self.relay.notify();
        }
        Ok(sent)
    }

    /// Sends due digests every second until `cancel` (a round in progress is finished first).
    pub async fn run_digests(&self, cancel: CancellationToken) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                _ = tick.tick() => {}
            }
            if let Err(error) = self.send_due_digests().await {
                tracing::warn!(%error, "sending notification digests failed");
            }
        }
    }
}

#[async_trait]
impl jobs::JobHandler for NotificationProjector {
    fn queue(&self) -> &'static str {
        NOTIFY_QUEUE
    }

    async fn run(&self, payload: &Value) -> Result<(), String> {
        self.run_batch(&[payload]).await.pop().unwrap_or(Ok(()))
    }

    /// The `message` jobs of one conversation become one statement; the others run one by one.
    async fn run_batch(&self, payloads: &[&Value]) -> Vec<Result<(), String>> {
        let decoded: Vec<Result<Job, String>> = payloads.iter().map(|p| decode(p)).collect();
        let mut results: Vec<Result<(), String>> = vec![Ok(()); payloads.len()];
        let mut conversations: Vec<ConversationId> = Vec::new();
        let mut seen = HashSet::new();
        for (index, job) in decoded.iter().enumerate() {
            match job {
                Ok(Job::Message(conversation, _)) => {
                    if seen.insert(*conversation) {
                        conversations.push(*conversation);
                    }
                }
                Ok(Job::Fanout {
                    position,
                    users,
                    kinds,
                    payload,
                    attachment,
                }) => {
                    results[index] = self
                        .fanout(*position, users, kinds, payload, attachment.as_ref())
                        .await
                        .map_err(|e| e.to_string());
                }
                Ok(Job::Nothing) => {}
                Err(error) => results[index] = Err(error.clone()),
            }
        }
        for conversation in conversations {
            let (indexes, mut messages): (Vec<usize>, Vec<&MessageEvent>) = decoded
                .iter()
                .enumerate()
                .filter_map(|(index, job)| match job {
                    Ok(Job::Message(c, message)) if *c == conversation => Some((index, message)),
                    _ => None,
                })
                .unzip();
            messages.sort_by_key(|m| m.position);
            let outcome = self
                .coalesce(conversation, &messages)
                .await
                .map_err(|e| e.to_string());
            for index in indexes {
                results[index] = outcome.clone();
            }
        }
        results
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previews_are_at_most_140_characters() {
        assert_eq!(preview("short"), "short");
        let long = "字".repeat(200);
        assert_eq!(preview(&long).chars().count(), 140);
    }

    #[test]
    fn only_notifying_events_become_jobs() {
        let read = DomainEvent::ReadPositionMoved {
            conversation_id: ConversationId::new(),
            user_id: UserId::new(),
            message_id: MessageId::new(),
        };
        assert!(!notifies(&read));
        let conversation_id = ConversationId::new();
        let sender_id = UserId::new();
        let now = chrono::Utc::now();
        let message = DomainEvent::MessageCreated {
            conversation_id,
            sender_id,
            message: epop_core::model::EventMessage {
                id: MessageId::new(),
                conversation_id,
                seq: 1,
                sender_id,
                content: "hi".into(),
                client_id: None,
                attachments: Vec::new(),
                created_at: now,
                updated_at: now,
                edited_at: None,
                thread_root_id: None,
                sent_to_conversation: false,
                thread: None,
                reactions: Vec::new(),
                mentions: Vec::new(),
                mentions_here: false,
                mentions_all: false,
            },
            origin: None,
            mentioned: vec![UserId::new()],
        };
        assert!(notifies(&message));
        let job = decode(&json!({"position": 7, "event": message})).unwrap();
        assert!(
            matches!(job, Job::Message(_, ref m) if m.position == 7 && m.preview == "hi" && m.mentioned.len() == 1)
        );
    }

    #[test]
    fn levels_default_by_size_and_mutes_silence_a_member() {
        let now = chrono::Utc::now();
        let [a, b, c, d] = [UserId::new(), UserId::new(), UserId::new(), UserId::new()];
        let rows: Vec<MemberLevel> = vec![
            (a, None, None),
            (b, Some("mentions".into()), None),
            (c, Some("all".into()), Some(now + chrono::Duration::minutes(5))),
            (d, Some("all".into()), Some(now - chrono::Duration::minutes(5))),
        ];
        // Four members, default `all` up to four: A gets everything; B mentions only; C is muted; D's mute is over.
        let small = Levels::of(&rows, 4, now);
        assert!(small.messages(&a) && small.mentions(&a));
        assert!(!small.messages(&b) && small.mentions(&b));
        assert!(!small.messages(&c) && !small.mentions(&c));
        assert!(small.messages(&d));
        // Over the size, the default is `mentions`; a level of one's own is kept.
        let large = Levels::of(&rows, 3, now);
        assert!(!large.messages(&a) && large.mentions(&a));
        assert!(large.messages(&d));
        // Under 2 counts as 2: a direct conversation notifies everything.
        let direct = Levels::of(&rows[..2], 0, now);
        assert!(direct.messages(&a));
        let none = Levels::of(&[(a, Some("none".into()), None)], 10, now);
        assert!(!none.mentions(&a));
    }

    #[test]
    fn a_job_without_a_position_or_event_is_refused() {
        assert!(decode(&json!({"event": {"type": "sessions_revoked"}})).is_err());
        assert!(decode(&json!({"position": 1, "event": {"type": "nonsense"}})).is_err());
    }
}
