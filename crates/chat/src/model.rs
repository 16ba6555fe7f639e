//! What the chat service returns. These serialize to the contract's JSON shapes; the ones domain events carry
//! too (messages, conversations) are `epop_core::model`'s.

use chrono::{DateTime, Utc};
use epop_core::{AttachmentId, ConversationId, MessageId, UserId};
use serde::Serialize;

pub use epop_core::model::{
    Attachment, Conversation, ConversationKind, Member, Message, Reaction, Reminder, ReminderChange,
    ScheduledMessage, ScheduledMessageChange, ThreadSummary,
};

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
    /// The MIME type the upload URL is signed for: the store refuses an upload of another type.
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

/// Where a new message goes in a thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadReply {
    /// The top-level message of the same conversation it replies to.
    pub root: MessageId,
    /// Also show (and count) it in the conversation.
    pub send_to_conversation: bool,
}

/// A thread the caller follows, as `GET /api/threads` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FollowedThread {
    /// The root message, with its thread summary.
    pub root: Message,
    /// Other people's replies after the caller's read watermark of the thread.
    pub unread_reply_count: i64,
    /// Of those, the ones that mention the caller (by name, `<!here>` or `<!all>`).
    pub unread_mention_count: i64,
    /// The thread's latest activity: its newest reply, or the root's creation.
    pub last_activity_at: DateTime<Utc>,
}

/// How much a conversation notifies a member in the app (`docs/api.md`, Notification control).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum NotifyLevel {
    /// Every message (offline members) and every mention.
    All,
    /// Mentions only.
    Mentions,
    /// Nothing.
    None,
}

impl NotifyLevel {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyLevel::All => "all",
            NotifyLevel::Mentions => "mentions",
            NotifyLevel::None => "none",
        }
    }

    /// Parses the stored form (the CHECK constraint allows nothing else; anything else reads as `all`).
    pub fn from_stored(value: &str) -> Self {
        match value {
            "mentions" => NotifyLevel::Mentions,
            "none" => NotifyLevel::None,
            _ => NotifyLevel::All,
        }
    }
}

/// A member's notification settings of one conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConversationNotifications {
    /// The level the member chose; `null`: the default by the conversation's size.
    pub level: Option<NotifyLevel>,
    /// Muted (no in-app notifications at all) until this instant, if it is still ahead.
    pub muted_until: Option<DateTime<Utc>>,
    /// What applies now: `none` while muted, else the chosen level, else the default (`all` for direct
    /// conversations and groups up to the configured size, `mentions` for larger groups).
    pub effective_level: NotifyLevel,
}

/// The outcome of scheduling a message: new, or the earlier one with the same `client_id`.
#[derive(Debug, Clone, PartialEq)]
pub enum Scheduled {
    /// A new scheduled message was stored.
    Created(ScheduledMessage),
    /// The `client_id` was seen before; this is the first one, as it is now.
    Existing(ScheduledMessage),
}

/// What to schedule.
#[derive(Debug, Clone)]
pub struct ScheduleRequest {
    /// The text, 1..=10,000 characters.
    pub content: String,
    /// When to post it: in the future, at most a year ahead.
    pub send_at: DateTime<Utc>,
    /// Reply in this thread.
    pub thread: Option<ThreadReply>,
    /// Idempotency key of the create, carried by the posted message.
    pub client_id: Option<String>,
}

/// A message the caller saved (`docs/api.md`, Saved messages).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SavedMessage {
    /// The message as it is now.
    pub message: Message,
    /// When the caller saved it.
    pub saved_at: DateTime<Utc>,
}

/// A text a message had before an edit (`docs/api.md`, Edit history).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageVersion {
    /// The message's text as it was before an edit replaced it.
    pub content: String,
    /// When it was written: the message's `created_at`, or the edit that wrote it.
    pub written_at: DateTime<Utc>,
    /// When the next edit replaced it.
    pub replaced_at: DateTime<Utc>,
}

/// A message pinned in its conversation (`docs/api.md`, Pins).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PinnedMessage {
    /// The message as it is now.
    pub message: Message,
    /// Who pinned it.
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub pinned_by: UserId,
    /// When.
    pub pinned_at: DateTime<Utc>,
}

/// What a search narrows its matches to, besides the words (every field is optional and they combine).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SearchFilter {
    /// Only this conversation (the caller must be in it).
    pub conversation: Option<ConversationId>,
    /// Only messages sent by this user.
    pub sender: Option<UserId>,
    /// Only messages with at least one attached file.
    pub has_file: bool,
    /// Only messages that mention this user (the caller: named, or reached by `<!here>` / `<!all>`).
    pub mentions: Option<UserId>,
    /// Only messages sent at or after this instant.
    pub sent_after: Option<DateTime<Utc>>,
    /// Only messages sent before this instant.
    pub sent_before: Option<DateTime<Utc>>,
}
