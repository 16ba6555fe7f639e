//! Pins and edit history (`docs/api.md`, Pins; Edit history).
//!
//! Design notes:
//! - **Pins** belong to the conversation: any member pins or unpins a message of it, and every member is told
//!   (`PinsChanged`, delivered as `conversation:pins`). A conversation holds at most `max_pins`; the count and
//!   the insert hold together under the conversation's row lock. A deleted message's pin goes with it.
//! - **Edit history** is written by [`ChatService::edit`] in the edit's transaction (the text before it, and
//!   when that text was written); a message keeps its newest [`MAX_VERSIONS`]. Members of the conversation
//!   read it; deleting the message deletes it.

use super::{ChatService, decode};
use crate::error::{ChatError, ChatResult};
use crate::model::{MessageVersion, PinnedMessage};
use crate::repo::conversations as convs;
use crate::repo::{history, pins};
use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection as _;
use epop_core::{ConversationId, DomainEvent, MessageId, Page, PageRequest, UserId};
use epop_storage::outbox;
use serde::{Deserialize, Serialize};

/// Versions kept per message: older ones are dropped as new edits come.
pub(super) const MAX_VERSIONS: i64 = 100;

#[derive(Debug, Serialize, Deserialize)]
struct PinCursor {
    pinned_at: DateTime<Utc>,
    id: MessageId,
}

#[derive(Debug, Serialize, Deserialize)]
struct VersionCursor {
    before: i64,
}

impl ChatService {
    /// Pins a message of one of `me`'s conversations (idempotent: no event when it was pinned already).
    #[tracing::instrument(skip(self))]
    pub async fn pin(&self, me: UserId, message: MessageId) -> ChatResult<()> {
        let mut conn = self.pool.get().await?;
        let row = self.visible_message(&mut conn, me, message).await?;
        if pins::is_pinned(&mut conn, message).await? {
            return Ok(());
        }
        let limit = self.settings.max_pins;
        let conversation = row.conversation_id;
        let pinned = conn
            .transaction::<_, ChatError, _>(async |conn| {
                convs::lock(conn, conversation)
                    .await?
                    .ok_or(ChatError::NotFound)?;
                let held = u64::try_from(pins::count(conn, conversation).await?).unwrap_or(u64::MAX);
                if limit > 0 && held >= limit {
                    return Err(ChatError::LimitReached {
                        what: "pinned messages per conversation",
                        limit,
                    });
                }
                let pinned = pins::pin(conn, message, conversation, me).await?;
                if pinned {
                    Self::append_pins_changed(conn, conversation, message, true, me).await?;
                }
                Ok(pinned)
            })
            .await?;
        if pinned {
            self.notifier.notify();
        }
        Ok(())
    }

    /// Unpins a message (`NotFound` when it is not pinned, or `me` may not see it).
    #[tracing::instrument(skip(self))]
    pub async fn unpin(&self, me: UserId, message: MessageId) -> ChatResult<()> {
        let mut conn = self.pool.get().await?;
        let row = self.visible_message(&mut conn, me, message).await?;
        conn.transaction::<_, ChatError, _>(async |conn| {
            if !pins::unpin(conn, message).await? {
                return Err(ChatError::NotFound);
            }
            Self::append_pins_changed(conn, row.conversation_id, message, false, me).await
        })
        .await?;
        self.notifier.notify();
        Ok(())
    }

    async fn append_pins_changed(
        conn: &mut diesel_async::AsyncPgConnection,
        conversation: ConversationId,
        message: MessageId,
        pinned: bool,
        by: UserId,
    ) -> ChatResult<()> {
        outbox::append(
            conn,
            &DomainEvent::PinsChanged {
                conversation_id: conversation,
                message_id: message,
                pinned,
                user_id: by,
            },
        )
        .await?;
        Ok(())
    }

    /// The pinned messages of one of `me`'s conversations, most recently pinned first.
    pub async fn pins(
        &self,
        me: UserId,
        conversation: ConversationId,
        page: &PageRequest,
    ) -> ChatResult<Page<PinnedMessage>> {
        let after = page
            .cursor
            .as_ref()
            .map(|c| decode::<PinCursor>(&c.0))
            .transpose()?;
        let mut conn = self.pool.get().await?;
        if !convs::is_member(&conn, conversation, me).await? {
            return Err(ChatError::NotFound);
        }
        let found = pins::page(
            &mut conn,
            conversation,
            after.map(|c| (c.pinned_at, c.id)),
            i64::from(page.limit),
        )
        .await?;
        let page = Page::from_overfetch(found, page.limit, |pin| PinCursor {
            pinned_at: pin.pinned_at,
            id: pin.message_id,
        });
        let ids: Vec<MessageId> = page.items.iter().map(|pin| pin.message_id).collect();
        let mut by_id = self.assembled_by_id(&mut conn, &ids, me).await?;
        let items = page
            .items
            .into_iter()
            .filter_map(|pin| {
                by_id.remove(&pin.message_id).map(|message| PinnedMessage {
                    message,
                    pinned_by: pin.pinned_by,
                    pinned_at: pin.pinned_at,
                })
            })
            .collect();
        Ok(Page {
            items,
            next_cursor: page.next_cursor,
        })
    }

    /// The texts a message of one of `me`'s conversations had before its edits, newest first.
    pub async fn history(
        &self,
        me: UserId,
        message: MessageId,
        page: &PageRequest,
    ) -> ChatResult<Page<MessageVersion>> {
        let before = page
            .cursor
            .as_ref()
            .map(|c| decode::<VersionCursor>(&c.0))
            .transpose()?;
        let mut conn = self.pool.get().await?;
        self.visible_message(&mut conn, me, message).await?;
        let found = history::page(
            &mut conn,
            message,
            before.map(|c| c.before),
            i64::from(page.limit),
        )
        .await?;
        let page = Page::from_overfetch(found, page.limit, |row| VersionCursor { before: row.id });
        Ok(page.map(|row| MessageVersion {
            content: row.content,
            written_at: row.written_at,
            replaced_at: row.replaced_at,
        }))
    }
}
