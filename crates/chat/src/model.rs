//! What the chat service returns. These serialize to the contract's JSON shapes.

use chrono::{DateTime, Utc};
use epop_core::{AttachmentId, ConversationId, MessageId, UserId};
use serde::{Deserialize, Serialize};

/// Direct (exactly two people) or group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConversationKind {
    /// One conversation per pair of users.
    Direct,
    /// A named group of any size.
    Group,
}

impl ConversationKind {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationKind::Direct => "direct",
            ConversationKind::Group => "group",
        }
    }

    /// Parses the stored form (anything else is treated as a group, which the CHECK constraint rules out).
    pub fn from_stored(value: &str) -> Self {
        if value == "direct" {
            ConversationKind::Direct
        } else {
            ConversationKind::Group
        }
    }
}

/// A member as a conversation lists them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Member {
    /// The member's account.
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub id: UserId,
    /// Their display name as it is now (1..=100 characters).
    pub name: String,
}

/// A conversation as one of its members sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Conversation {
    /// A UUIDv7: conversation ids sort by creation time.
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub id: ConversationId,
    /// `direct` or `group`.
    #[serde(rename = "type")]
    pub kind: ConversationKind,
    /// The group's name; `None` for direct conversations.
    pub name: Option<String>,
    /// Who created it.
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub created_by: UserId,
    /// Everyone in it.
    pub members: Vec<Member>,
    /// The newest message, if any.
    pub last_message: Option<Message>,
    /// Other people's messages after the caller's read position.
    pub unread_count: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A file attached to a message.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Attachment {
    /// The `attachment_id` its upload slot was reserved under.
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub id: AttachmentId,
    /// The name the uploader gave it.
    pub file_name: String,
    /// The MIME type declared when the upload was reserved; the store refused any other.
    pub content_type: String,
    /// The size declared when the upload was reserved and checked when it was attached, in bytes.
    pub file_size: i64,
    /// A short-lived download link; `None` when the stored object is no longer the one attached (a
    /// replacement uploaded while the upload URL still worked, through a store that ignores conditional
    /// writes), which is never served.
    pub url: Option<String>,
}

/// A chat message.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Message {
    /// A UUIDv7; the order within a conversation is `seq`'s.
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub id: MessageId,
    /// Where it was posted.
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub conversation_id: ConversationId,
    /// Its position in the conversation: 1, 2, 3... in commit order.
    pub seq: i64,
    /// Who sent it.
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub sender_id: UserId,
    /// Up to 10,000 characters; empty only when the message has attachments.
    pub content: String,
    /// The sender's idempotency key, if they gave one.
    pub client_id: Option<String>,
    /// Attached files.
    pub attachments: Vec<Attachment>,
    /// When it was posted.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was last edited, if ever.
    pub edited_at: Option<DateTime<Utc>>,
}

/// The outcome of sending a message: new, or the earlier one with the same `client_id`.
#[derive(Debug, Clone, PartialEq)]
pub enum Sent {
    /// A new message was stored.
    Created(Message),
    /// The `client_id` was seen before; this is the first message, unchanged.
    Existing(Message),
}

/// The outcome of asking for a direct conversation.
#[derive(Debug, Clone, PartialEq)]
pub enum Opened {
    /// A new conversation was created.
    Created(Conversation),
    /// The two already shared this one.
    Existing(Conversation),
}

/// A presigned upload slot: where and how the client uploads one file.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UploadSlot {
    /// The attachment id to pass in `attachment_ids` once the upload is done.
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub attachment_id: AttachmentId,
    /// Where to send the bytes.
    pub url: String,
    /// Always `PUT`.
    pub method: &'static str,
    /// The headers to send unchanged: `Content-Type`; on S3 also the signed `Content-Length` and
    /// `If-None-Match: *`, which makes the URL single-use where the store honours conditional writes.
    pub headers: std::collections::BTreeMap<String, String>,
    /// When the URL stops working.
    pub expires_at: DateTime<Utc>,
}

/// What a client asks to upload.
#[derive(Debug, Clone)]
pub struct UploadRequest {
    /// The file's name (for display and the download's `Content-Disposition`; never part of the key).
    pub file_name: String,
    /// Its MIME type.
    pub content_type: String,
    /// Its exact size in bytes.
    pub file_size: u64,
}

/// Which page of a conversation's messages to read.
#[derive(Debug, Clone, PartialEq)]
pub enum MessagePage {
    /// The newest messages, newest first.
    Latest,
    /// Continue from a previous page's cursor (older pages go back; catch-up pages go forward).
    Cursor(String),
    /// Everything newer than this message (which may since have been deleted), oldest first.
    After(MessageId),
}

/// Who sees a user's presence (`docs/api.md`, Presence).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PresenceAudience {
    /// The user's direct conversations and groups up to the limit that have other members: their members are
    /// told when the user comes and goes.
    pub conversations: Vec<ConversationId>,
    /// Their other members, each once: whose presence the user is shown (`presence:list`).
    pub partners: Vec<UserId>,
}
