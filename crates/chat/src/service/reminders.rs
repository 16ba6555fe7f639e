//! Reminders and saved messages (`docs/api.md`, Reminders; Saved messages): a user's own marks on messages
//! they may see.
//!
//! Design notes:
//! - **A reminder is a job.** Setting one enqueues a job of the `reminders` queue at `remind_at` in the same
//!   transaction; cancelling deletes it while no worker holds it. At its time the job deletes the row and
//!   appends `ReminderDue` in one transaction (the notifications projector turns it into the `reminder`
//!   notification, once per event), so a job run twice notifies once. A reminder whose message was deleted
//!   since, or whose owner left the conversation, goes without a notification.
//! - **Bounds.** A user has at most `max_pending_reminders` reminders waiting and `max_saved_messages` saved
//!   messages (`LimitReached`); the count and the insert are serialised per user.
//! - **Visibility.** Setting either needs a message the caller may see (`NotFound` otherwise); lists show only
//!   what the caller may still see.

use super::{ChatService, decode};
use crate::error::{ChatError, ChatResult};
use crate::model::{Reminder, ReminderChange, SavedMessage};
use crate::reminders::REMINDERS_QUEUE;
use crate::repo::conversations as convs;
use crate::repo::messages;
use crate::repo::reminders as rows;
use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection as _;
use epop_core::{DomainEvent, MessageId, Page, PageRequest, ReminderId, UserId};
use epop_storage::{jobs, outbox};
use serde::{Deserialize, Serialize};

/// How far ahead a reminder may be set.
const MAX_REMIND_AHEAD_DAYS: i64 = 365;

#[derive(Debug, Serialize, Deserialize)]
struct ReminderCursor {
    remind_at: DateTime<Utc>,
    id: ReminderId,
}

#[derive(Debug, Serialize, Deserialize)]
struct SavedCursor {
    saved_at: DateTime<Utc>,
    id: MessageId,
}

/// What the owner's own sockets hear of a change to `row`: `created` carries the reminder, `cancelled` and
/// `dropped` only name it.
fn reminder_changed(row: &rows::ReminderRow, change: ReminderChange) -> DomainEvent {
    let shown = (change == ReminderChange::Created).then(|| Reminder::from(row.clone()));
    DomainEvent::ReminderChanged {
        user_id: row.user_id,
        reminder_id: row.id,
        message_id: row.message_id,
        conversation_id: row.conversation_id,
        change,
        reminder: shown,
    }
}

impl ChatService {
    /// Sets a reminder about a message `me` may see, at `remind_at` (in the future, at most a year ahead).
    #[tracing::instrument(skip(self))]
    pub async fn remind(
        &self,
        me: UserId,
        message: MessageId,
        remind_at: DateTime<Utc>,
    ) -> ChatResult<Reminder> {
        let mut conn = self.pool.get().await?;
        let row = self.visible_message(&mut conn, me, message).await?;
        let now = self.clock.now();
        if remind_at <= now {
            return Err(ChatError::invalid("remind_at", "must be in the future"));
        }
        if remind_at > now + chrono::Duration::days(MAX_REMIND_AHEAD_DAYS) {
            return Err(ChatError::invalid("remind_at", "must be at most 365 days ahead"));
        }
        let limit = self.settings.max_pending_reminders;
        let id = ReminderId::new();
        let created = conn
            .transaction::<_, ChatError, _>(async |conn| {
                rows::lock_user(conn, "reminders", me).await?;
                let pending = u64::try_from(rows::count_reminders(conn, me).await?).unwrap_or(u64::MAX);
                if limit > 0 && pending >= limit {
                    return Err(ChatError::LimitReached {
                        what: "pending reminders",
                        limit,
                    });
                }
                let job = jobs::enqueue_at(
                    conn,
                    REMINDERS_QUEUE,
                    &serde_json::json!({ "reminder_id": id }),
                    remind_at,
                )
                .await?;
                let row =
                    rows::insert_reminder(conn, id, me, message, row.conversation_id, remind_at, job).await?;
                outbox::append(conn, &reminder_changed(&row, ReminderChange::Created)).await?;
                Ok(row)
            })
            .await?;
        self.notifier.notify();
        Ok(created.into())
    }

    /// One of `me`'s reminders while it waits (`NotFound` for anyone else's, and once it came or was cancelled).
    pub async fn reminder(&self, me: UserId, id: ReminderId) -> ChatResult<Reminder> {
        let mut conn = self.pool.get().await?;
        rows::find_reminder(&mut conn, id)
            .await?
            .filter(|row| row.user_id == me)
            .map(Reminder::from)
            .ok_or(ChatError::NotFound)
    }

    /// `me`'s reminders waiting, soonest first.
    pub async fn reminders(&self, me: UserId, page: &PageRequest) -> ChatResult<Page<Reminder>> {
        let after = page
            .cursor
            .as_ref()
            .map(|c| decode::<ReminderCursor>(&c.0))
            .transpose()?;
        let mut conn = self.pool.get().await?;
        let found = rows::reminders_page(
            &mut conn,
            me,
            after.map(|c| (c.remind_at, c.id)),
            i64::from(page.limit),
        )
        .await?;
        let page = Page::from_overfetch(found, page.limit, |row| ReminderCursor {
            remind_at: row.remind_at,
            id: row.id,
        });
        Ok(page.map(Reminder::from))
    }

    /// Cancels one of `me`'s reminders; `Conflict` once it is being announced.
    #[tracing::instrument(skip(self))]
    pub async fn cancel_reminder(&self, me: UserId, id: ReminderId) -> ChatResult<()> {
        let mut conn = self.pool.get().await?;
        conn.transaction::<_, ChatError, _>(async |conn| {
            let row = rows::take_reminder(conn, id)
                .await?
                .filter(|row| row.user_id == me)
                .ok_or(ChatError::NotFound)?;
            if !jobs::cancel_queued(conn, row.job_id).await? {
                return Err(ChatError::Conflict("the reminder is being announced"));
            }
            outbox::append(conn, &reminder_changed(&row, ReminderChange::Cancelled)).await?;
            Ok(())
        })
        .await?;
        self.notifier.notify();
        Ok(())
    }

    /// Announces a reminder whose time has come (the `reminders` job): deletes it and appends `ReminderDue`, in
    /// one transaction. Nothing to do when it was announced or cancelled already; a reminder about a message
    /// that was deleted, or in a conversation its owner left, goes silently.
    #[tracing::instrument(skip(self))]
    pub async fn announce_reminder(&self, id: ReminderId) -> ChatResult<()> {
        let mut conn = self.pool.get().await?;
        let announced = conn
            .transaction::<_, ChatError, _>(async |conn| {
                let Some(row) = rows::take_reminder(conn, id).await? else {
                    return Ok(false);
                };
                let message = messages::find(conn, row.message_id)
                    .await?
                    .filter(|m| m.deleted_at.is_none());
                // Gone silently: only the owner's own sockets hear that it is no longer waiting.
                let Some(message) = message else {
                    outbox::append(conn, &reminder_changed(&row, ReminderChange::Dropped)).await?;
                    return Ok(true);
                };
                if !convs::is_member(conn, row.conversation_id, row.user_id).await? {
                    outbox::append(conn, &reminder_changed(&row, ReminderChange::Dropped)).await?;
                    return Ok(true);
                }
                outbox::append(
                    conn,
                    &DomainEvent::ReminderDue {
                        user_id: row.user_id,
                        reminder_id: row.id,
                        message_id: row.message_id,
                        conversation_id: row.conversation_id,
                        preview: message.content.chars().take(140).collect(),
                    },
                )
                .await?;
                Ok(true)
            })
            .await?;
        if announced {
            self.notifier.notify();
        }
        Ok(())
    }

    /// Saves a message `me` may see (idempotent); at most `max_saved_messages` per user (`LimitReached`).
    #[tracing::instrument(skip(self))]
    pub async fn save(&self, me: UserId, message: MessageId) -> ChatResult<()> {
        let mut conn = self.pool.get().await?;
        self.visible_message(&mut conn, me, message).await?;
        if rows::is_saved(&mut conn, me, message).await? {
            return Ok(());
        }
        let limit = self.settings.max_saved_messages;
        conn.transaction::<_, ChatError, _>(async |conn| {
            rows::lock_user(conn, "saved", me).await?;
            let saved = u64::try_from(rows::count_saved(conn, me).await?).unwrap_or(u64::MAX);
            if limit > 0 && saved >= limit {
                return Err(ChatError::LimitReached {
                    what: "saved messages",
                    limit,
                });
            }
            rows::save(conn, me, message).await?;
            Ok(())
        })
        .await
    }

    /// Forgets a saved message (`NotFound` when `me` had not saved it, or may not see it).
    #[tracing::instrument(skip(self))]
    pub async fn unsave(&self, me: UserId, message: MessageId) -> ChatResult<()> {
        let mut conn = self.pool.get().await?;
        self.visible_message(&mut conn, me, message).await?;
        if rows::unsave(&mut conn, me, message).await? {
            Ok(())
        } else {
            Err(ChatError::NotFound)
        }
    }

    /// The messages `me` saved and may still see, most recently saved first.
    pub async fn saved_messages(&self, me: UserId, page: &PageRequest) -> ChatResult<Page<SavedMessage>> {
        let after = page
            .cursor
            .as_ref()
            .map(|c| decode::<SavedCursor>(&c.0))
            .transpose()?;
        let mut conn = self.pool.get().await?;
        let found = rows::saved_page(
            &mut conn,
            me,
            after.map(|c| (c.saved_at, c.id)),
            i64::from(page.limit),
        )
        .await?;
        let page = Page::from_overfetch(found, page.limit, |(id, saved_at)| SavedCursor {
            saved_at: *saved_at,
            id: *id,
        });
        let ids: Vec<MessageId> = page.items.iter().map(|(id, _)| *id).collect();
        let mut by_id = self.assembled_by_id(&mut conn, &ids, me).await?;
        let items = page
            .items
            .into_iter()
            .filter_map(|(id, saved_at)| {
                by_id
                    .remove(&id)
                    .map(|message| SavedMessage { message, saved_at })
            })
            .collect();
        Ok(Page {
            items,
            next_cursor: page.next_cursor,
        })
    }
}
