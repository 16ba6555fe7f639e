//! Scheduled messages (`docs/api.md`, Scheduled messages).
//!
//! Design notes:
//! - **Same path as a message sent now.** At `send_at` a job of the `scheduled-messages` queue posts the row
//!   through [`ChatService::send`]'s own path (membership, thread and `client_id` rules, batching, events), so
//!   a scheduled message is indistinguishable from one typed at that moment. The rules are also checked when it
//!   is scheduled and changed, so most mistakes are `422` at once.
//! - **Never twice.** The message is inserted by the transaction that deletes the row (the send batch's; a row
//!   already gone means posted: nothing is inserted), and a failure is recorded by the one that deletes it; a
//!   job run again (its worker died after the commit), or twice at once, posts nothing more.
//! - **Never lost.** The job is enqueued in the row's transaction on the durable queue (it survives restarts and
//!   is taken back from dead workers); a change moves it (`reschedule_queued`) and a cancel deletes it
//!   (`cancel_queued`) while no worker holds it. Once a worker holds it, the message is being posted: changes
//!   and cancels are `409`.
//! - **Failure.** A send the rules refuse at `send_at` (the sender left the conversation, the thread's root was
//!   deleted) removes the row and notifies the sender (`scheduled_message_failed`), in one transaction.

use super::{ChatService, OutgoingMessage, decode};
use crate::error::{ChatError, ChatResult};
use crate::model::{ScheduleRequest, Scheduled, ScheduledMessage, ScheduledMessageChange, Sent};
use crate::repo::conversations as convs;
use crate::repo::messages;
use crate::repo::scheduled::{self as rows, NewScheduledRow, ScheduledRow};
use crate::scheduled::SCHEDULED_QUEUE;
use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection as _, AsyncPgConnection};
use epop_core::{ConversationId, DomainEvent, FieldError, Page, PageRequest, ScheduledMessageId, UserId};
use epop_storage::{jobs, outbox};
use serde::{Deserialize, Serialize};

/// How far ahead a message may be scheduled.
const MAX_SCHEDULE_AHEAD_DAYS: i64 = 365;

#[derive(Debug, Serialize, Deserialize)]
struct ScheduledCursor {
    send_at: DateTime<Utc>,
    id: ScheduledMessageId,
}

/// What the sender's own sockets hear of a change to `row` (`docs/api.md`, Scheduled messages: events):
/// `created` and `updated` carry the scheduled message as they see it, `cancelled` and `posted` only name it
/// (and the message it was posted as).
fn scheduled_changed(
    row: &ScheduledRow,
    change: ScheduledMessageChange,
    message_id: Option<epop_core::MessageId>,
) -> DomainEvent {
    let shown = matches!(
        change,
        ScheduledMessageChange::Created | ScheduledMessageChange::Updated
    )
    .then(|| ScheduledMessage::from(row.clone()));
    DomainEvent::ScheduledMessageChanged {
        user_id: row.sender_id,
        scheduled_message_id: row.id,
        conversation_id: row.conversation_id,
        change,
        scheduled_message: shown,
        message_id,
    }
}

impl ChatService {
    /// The errors of a scheduled message's text and time (every failing field).
    fn check_schedule(&self, content: Option<&str>, send_at: Option<DateTime<Utc>>) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if let Some(content) = content {
            let chars = content.chars().count();
            if chars == 0 || chars > super::MAX_CONTENT_CHARS {
                errors.push(FieldError::new("content", "must be 1 to 10000 characters"));
            }
        }
        if let Some(send_at) = send_at {
            let now = self.clock.now();
            if send_at <= now {
                errors.push(FieldError::new("send_at", "must be in the future"));
            } else if send_at > now + chrono::Duration::days(MAX_SCHEDULE_AHEAD_DAYS) {
                errors.push(FieldError::new("send_at", "must be at most 365 days ahead"));
            }
        }
        errors
    }

    /// Schedules a message for `send_at` in a conversation of `me` (`NotFound` otherwise), checked by the rules
    /// of a message sent now. The same `client_id` again answers the first one (`Scheduled::Existing`). A user
    /// has at most `max_pending_scheduled` waiting (`LimitReached`).
    #[tracing::instrument(skip(self, request))]
    pub async fn schedule(
        &self,
        me: UserId,
        conversation: ConversationId,
        request: &ScheduleRequest,
    ) -> ChatResult<Scheduled> {
        let mut conn = self.pool.get().await?;
        if convs::find_for_member(&mut conn, conversation, me)
            .await?
            .is_none()
        {
            return Err(ChatError::NotFound);
        }
        if let Some(client_id) = request.client_id.as_deref()
            && let Some(row) = rows::find_by_client_id(&mut conn, conversation, me, client_id).await?
        {
            return Ok(Scheduled::Existing(row.into()));
        }
        let mut errors = self.check_schedule(Some(&request.content), Some(request.send_at));
        if let Some(thread) = request.thread
            && !self.is_live_root(&mut conn, conversation, thread.root).await?
        {
            errors.push(FieldError::new(
                "thread_root_id",
                "not a top-level message of this conversation",
            ));
        }
        if !errors.is_empty() {
            return Err(ChatError::Invalid(errors));
        }
        let limit = self.settings.max_pending_scheduled;
        let id = ScheduledMessageId::new();
        let created = conn
            .transaction::<_, ChatError, _>(async |conn| {
                rows::lock_sender(conn, me).await?;
                let pending = u64::try_from(rows::count_of(conn, me).await?).unwrap_or(u64::MAX);
                if limit > 0 && pending >= limit {
                    return Err(ChatError::LimitReached {
                        what: "pending scheduled messages",
                        limit,
                    });
                }
                let job = jobs::enqueue_at(
                    conn,
                    SCHEDULED_QUEUE,
                    &serde_json::json!({ "scheduled_message_id": id }),
                    request.send_at,
                )
                .await?;
                let row = NewScheduledRow {
                    id,
                    conversation_id: conversation,
                    sender_id: me,
                    content: &request.content,
                    client_id: request.client_id.as_deref(),
                    thread_root_id: request.thread.map(|t| t.root),
                    send_to_conversation: request.thread.is_some_and(|t| t.send_to_conversation),
                    send_at: request.send_at,
                    job_id: job,
                };
                // A concurrent create with the same client_id won: this one's job goes with the rollback.
                let row = rows::insert(conn, &row)
                    .await?
                    .ok_or(ChatError::Conflict("client_id"))?;
                outbox::append(
                    conn,
                    &scheduled_changed(&row, ScheduledMessageChange::Created, None),
                )
                .await?;
                Ok(row)
            })
            .await;
        match created {
            Ok(row) => {
                self.notifier.notify();
                Ok(Scheduled::Created(row.into()))
            }
            Err(ChatError::Conflict("client_id")) => {
                let client_id = request.client_id.as_deref().unwrap_or_default();
                rows::find_by_client_id(&mut conn, conversation, me, client_id)
                    .await?
                    .map(|row| Scheduled::Existing(row.into()))
                    .ok_or(ChatError::NotFound)
            }
            Err(error) => Err(error),
        }
    }

    /// Whether `root` is a live top-level message of `conversation`.
    async fn is_live_root(
        &self,
        conn: &mut AsyncPgConnection,
        conversation: ConversationId,
        root: epop_core::MessageId,
    ) -> ChatResult<bool> {
        Ok(messages::find(conn, root).await?.is_some_and(|row| {
            row.conversation_id == conversation && row.thread_root_id.is_none() && row.deleted_at.is_none()
        }))
    }

    /// One of `me`'s scheduled messages (`NotFound` for anyone else's, and once posted or cancelled).
    pub async fn scheduled_message(
        &self,
        me: UserId,
        id: ScheduledMessageId,
    ) -> ChatResult<ScheduledMessage> {
        let mut conn = self.pool.get().await?;
        rows::find(&mut conn, id)
            .await?
            .filter(|row| row.sender_id == me)
            .map(ScheduledMessage::from)
            .ok_or(ChatError::NotFound)
    }

    /// `me`'s scheduled messages waiting (of one of their conversations, or all), soonest first.
    pub async fn scheduled_messages(
        &self,
        me: UserId,
        conversation: Option<ConversationId>,
        page: &PageRequest,
    ) -> ChatResult<Page<ScheduledMessage>> {
        let after = page
            .cursor
            .as_ref()
            .map(|c| decode::<ScheduledCursor>(&c.0))
            .transpose()?;
        let mut conn = self.pool.get().await?;
        if let Some(conversation) = conversation
            && !convs::is_member(&conn, conversation, me).await?
        {
            return Err(ChatError::NotFound);
        }
        let found = rows::page(
            &mut conn,
            me,
            conversation,
            after.map(|c| (c.send_at, c.id)),
            i64::from(page.limit),
        )
        .await?;
        let page = Page::from_overfetch(found, page.limit, |row| ScheduledCursor {
            send_at: row.send_at,
            id: row.id,
        });
        Ok(page.map(ScheduledMessage::from))
    }

    /// Changes the text or time of one of `me`'s scheduled messages (by the rules of scheduling); `Conflict`
    /// once it is being posted.
    #[tracing::instrument(skip(self, content))]
    pub async fn update_scheduled(
        &self,
        me: UserId,
        id: ScheduledMessageId,
        content: Option<&str>,
        send_at: Option<DateTime<Utc>>,
    ) -> ChatResult<ScheduledMessage> {
        let errors = self.check_schedule(content, send_at);
        if !errors.is_empty() {
            return Err(ChatError::Invalid(errors));
        }
        let mut conn = self.pool.get().await?;
        let row = conn
            .transaction::<_, ChatError, _>(async |conn| {
                let row = rows::lock_own(conn, id, me).await?.ok_or(ChatError::NotFound)?;
                let send_at = send_at.unwrap_or(row.send_at);
                // Moving the job (to the same time when only the text changes) also proves that no worker
                // holds it: its row stays locked until this commits, so none takes it meanwhile.
                if !jobs::reschedule_queued(conn, row.job_id, send_at).await? {
                    return Err(ChatError::Conflict("the scheduled message is being posted"));
                }
                let row = rows::update(conn, id, content.unwrap_or(&row.content), send_at).await?;
                outbox::append(
                    conn,
                    &scheduled_changed(&row, ScheduledMessageChange::Updated, None),
                )
                .await?;
                Ok(row)
            })
            .await?;
        self.notifier.notify();
        Ok(row.into())
    }

    /// Cancels one of `me`'s scheduled messages; `Conflict` once it is being posted.
    #[tracing::instrument(skip(self))]
    pub async fn cancel_scheduled(&self, me: UserId, id: ScheduledMessageId) -> ChatResult<()> {
        let mut conn = self.pool.get().await?;
        conn.transaction::<_, ChatError, _>(async |conn| {
            let row = rows::lock_own(conn, id, me).await?.ok_or(ChatError::NotFound)?;
            if !jobs::cancel_queued(conn, row.job_id).await? {
                return Err(ChatError::Conflict("the scheduled message is being posted"));
            }
            rows::delete(conn, &[id]).await?;
            outbox::append(
                conn,
                &scheduled_changed(&row, ScheduledMessageChange::Cancelled, None),
            )
            .await?;
            Ok(())
        })
        .await?;
        self.notifier.notify();
        Ok(())
    }

    /// Posts a scheduled message whose time has come (the `scheduled-messages` job). Nothing to do when it was
    /// posted or cancelled already. A send the rules refuse now removes it and notifies its sender; any other
    /// error is returned, for the job to be retried.
    #[tracing::instrument(skip(self))]
    pub async fn post_scheduled(&self, id: ScheduledMessageId) -> ChatResult<()> {
        let row = {
            let mut conn = self.pool.get().await?;
            match rows::find(&mut conn, id).await? {
                Some(row) => row,
                None => return Ok(()),
            }
        };
        let thread = row.thread_root_id.map(|root| crate::model::ThreadReply {
            root,
            send_to_conversation: row.send_to_conversation,
        });
        let message = OutgoingMessage {
            content: &row.content,
            client_id: row.client_id.as_deref(),
            attachment_ids: &[],
            thread,
        };
        match self
            .submit(row.sender_id, row.conversation_id, message, None, Some(id))
            .await
        {
            // Posted by another run meanwhile.
            Ok(Sent::Created(_)) | Err(ChatError::Conflict(_)) => Ok(()),
            // Its client_id had been used by a message already: that one stands for it.
            Ok(Sent::Existing(existing)) => {
                let mut conn = self.pool.get().await?;
                let gone = conn
                    .transaction::<_, ChatError, _>(async |conn| {
                        if rows::delete(conn, &[id]).await? == 0 {
                            return Ok(false);
                        }
                        outbox::append(
                            conn,
                            &scheduled_changed(&row, ScheduledMessageChange::Posted, Some(existing.id)),
                        )
                        .await?;
                        Ok(true)
                    })
                    .await?;
                if gone {
                    self.notifier.notify();
                }
                Ok(())
            }
            Err(ChatError::NotFound) => {
                let mut conn = self.pool.get().await?;
                let reason = if convs::is_member(&conn, row.conversation_id, row.sender_id).await? {
                    "a message with its client_id was deleted"
                } else {
                    "you are no longer a member of the conversation"
                };
                self.fail_scheduled(&mut conn, &row, reason).await
            }
            Err(ChatError::Invalid(errors)) => {
                let reason = if errors.iter().any(|e| e.field == "thread_root_id") {
                    "the thread's root message was deleted"
                } else {
                    "the message breaks a rule of messages"
                };
                let mut conn = self.pool.get().await?;
                self.fail_scheduled(&mut conn, &row, reason).await
            }
            Err(error) => Err(error),
        }
    }

    /// Removes a scheduled message that could not be posted and tells its sender why, in one transaction.
    async fn fail_scheduled(
        &self,
        conn: &mut AsyncPgConnection,
        row: &ScheduledRow,
        reason: &str,
    ) -> ChatResult<()> {
        tracing::info!(scheduled = %row.id, reason, "a scheduled message could not be posted");
        let failed = conn
            .transaction::<_, ChatError, _>(async |conn| {
                if rows::delete(conn, &[row.id]).await? == 0 {
                    return Ok(false);
                }
                outbox::append(
                    conn,
                    &DomainEvent::ScheduledMessageFailed {
                        user_id: row.sender_id,
                        scheduled_message_id: row.id,
                        conversation_id: row.conversation_id,
                        preview: row.content.chars().take(140).collect(),
                        reason: reason.to_owned(),
                    },
                )
                .await?;
                Ok(true)
            })
            .await?;
        if failed {
            self.notifier.notify();
        }
        Ok(())
    }
}
