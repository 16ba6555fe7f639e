//! A user's own scheduled messages and reminders, as they and their sockets see them
//! ([`crate::DomainEvent::ScheduledMessageChanged`], [`crate::DomainEvent::ReminderChanged`]).

use crate::id::{ConversationId, MessageId, ReminderId, ScheduledMessageId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A message waiting to be posted at `send_at` (`docs/api.md`, Scheduled messages). Only its sender sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScheduledMessage {
    /// Its id (a UUIDv7).
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub id: ScheduledMessageId,
    /// Where it will be posted.
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub conversation_id: ConversationId,
    /// The text it will be posted with.
    pub content: String,
    /// The idempotency key of the create, which the posted message carries too.
    pub client_id: Option<String>,
    /// The thread it will reply in.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<uuid::Uuid>))]
    pub thread_root_id: Option<MessageId>,
    /// With `thread_root_id`: the reply will be shown in the conversation too.
    pub send_to_conversation: bool,
    /// When it will be posted.
    pub send_at: DateTime<Utc>,
    /// When it was scheduled.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

/// A reminder about a message (`docs/api.md`, Reminders): at `remind_at` its owner gets a `reminder`
/// notification. Only its owner sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reminder {
    /// Its id (a UUIDv7).
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub id: ReminderId,
    /// The message it is about.
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub message_id: MessageId,
    /// The message's conversation.
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub conversation_id: ConversationId,
    /// When the notification comes.
    pub remind_at: DateTime<Utc>,
    /// When it was set.
    pub created_at: DateTime<Utc>,
}

crate::wire_enum!(
    /// What happened to a scheduled message (the `reason` of `scheduled_message:deleted` when it is gone).
    ScheduledMessageChange {
        /// It was scheduled (`scheduled_message:new`).
        Created => "created",
        /// Its sender changed it (`scheduled_message:updated`).
        Updated => "updated",
        /// Its sender cancelled it.
        Cancelled => "cancelled",
        /// It was posted at its time.
        Posted => "posted",
    }
);

crate::wire_enum!(
    /// What happened to a reminder (the `reason` of `reminder:deleted` when it is gone without a notification).
    ReminderChange {
        /// It was set (`reminder:new`).
        Created => "created",
        /// Its owner cancelled it.
        Cancelled => "cancelled",
        /// It was dropped at its time: its message was deleted or its owner left the conversation.
        Dropped => "dropped",
    }
);
