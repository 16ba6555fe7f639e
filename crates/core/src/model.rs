//! The wire types: what clients receive, over HTTP and over the socket, and what domain events carry. They
//! live here, next to [`crate::event`], so that an event is typed from the service that writes it to the
//! socket that delivers it (no `serde_json::Value` in between). Each serializes to the contract's JSON shape.

use crate::id::{AttachmentId, ConversationId, MessageId, NotificationId, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

mod notices;
mod personal;
mod projects;
mod wire_enum;

pub use notices::{CalendarNoticeKind, NotificationKind};
pub use personal::{Reminder, ReminderChange, ScheduledMessage, ScheduledMessageChange};
pub use projects::{
    DeletedTaskComment, Frequency, Progress, ProjectRole, ProjectStatus, Recurrence, Task, TaskComment,
    TaskCommentChange, TaskStatus,
};
pub use wire_enum::UnknownValue;

/// Direct (exactly two people) or group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Member {
    /// The user's id.
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub id: UserId,
    /// The name they chose for others to see (not unique).
    pub name: String,
}

/// A conversation as one of its members sees it (`conversation:new`, `conversation:updated`, and the REST
/// answers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// Of those, the ones that mention the caller (by name, `<!here>` or `<!all>`).
    #[serde(default)]
    pub unread_mention_count: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A file attached to a message, as clients receive it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Attachment {
    /// The `attachment_id` the upload slot gave, and the `{id}` of `GET /api/files/{id}`.
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub id: AttachmentId,
    /// The name the uploader gave it.
    pub file_name: String,
    /// The MIME type declared at upload, which the store enforced and which downloads are served with.
    pub content_type: String,
    /// Its size in bytes.
    pub file_size: i64,
    /// A short-lived download link; `None` when the stored object is no longer the one attached (a
    /// replacement uploaded while the upload URL still worked, through a store that ignores conditional
    /// writes), which is never served.
    pub url: Option<String>,
}

/// A file attached to a message, as events carry it: where its object is stored instead of a link, since a link
/// expires and an event may be delivered (or replayed) long after it was written. Signed on delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventAttachment {
    /// The same id as the [`Attachment`] clients receive.
    pub id: AttachmentId,
    /// The name the uploader gave it.
    pub file_name: String,
    /// The MIME type declared at upload, which the store enforced and which downloads are served with.
    pub content_type: String,
    /// Its size in bytes.
    pub file_size: i64,
    /// Its stored object; `None` when the attachment's row was not found as the event was written.
    #[serde(flatten)]
    pub stored: Option<StoredObject>,
}

/// Where an attachment's bytes are, and how to tell that they are still the ones attached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredObject {
    /// The object store key.
    pub object_key: String,
    /// The object's ETag recorded when it was attached, when the store gave one.
    pub object_etag: Option<String>,
    /// Until when the upload URL works (a replacement may be uploaded until then).
    pub upload_open_until: DateTime<Utc>,
}

impl From<Attachment> for EventAttachment {
    fn from(attachment: Attachment) -> Self {
        Self {
            id: attachment.id,
            file_name: attachment.file_name,
            content_type: attachment.content_type,
            file_size: attachment.file_size,
            stored: None,
        }
    }
}

/// A chat message: with [`Attachment`]s (download links) as clients receive it, or with [`EventAttachment`]s
/// as events carry it ([`EventMessage`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Message<A = Attachment> {
    /// A UUIDv7; within a conversation, [`Message::seq`] is the order to rely on.
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
    /// The text as written (mentions as `<@USER_ID>`; empty for a message of attachments only).
    pub content: String,
    /// The sender's idempotency key, if they gave one.
    pub client_id: Option<String>,
    /// Attached files.
    pub attachments: Vec<A>,
    /// When it was posted.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was last edited, if ever.
    pub edited_at: Option<DateTime<Utc>>,
    /// The top-level message this one replies to; `None` for a top-level message.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<uuid::Uuid>))]
    pub thread_root_id: Option<MessageId>,
    /// A reply that is also shown (and counted) in the conversation; always `false` for a top-level message.
    #[serde(default)]
    pub sent_to_conversation: bool,
    /// The thread this message starts: `None` until it has a reply (and on replies).
    #[serde(default)]
    pub thread: Option<ThreadSummary>,
    /// Its reactions, one entry per emoji, in the order each emoji was first used.
    #[serde(default)]
    pub reactions: Vec<Reaction>,
    /// The members it names with `<@USER_ID>`, each once, in order (names of non-members are left out).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<uuid::Uuid>))]
    pub mentions: Vec<UserId>,
    /// It says `<!here>`: the members online when it was posted are mentioned.
    #[serde(default)]
    pub mentions_here: bool,
    /// It says `<!all>`: every member is mentioned.
    #[serde(default)]
    pub mentions_all: bool,
}

/// One emoji's reactions to a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reaction {
    /// The emoji (a Unicode emoji sequence; shortcodes are stored as the emoji they name).
    pub emoji: String,
    /// How many users reacted with it.
    pub count: i64,
    /// Whether the caller is one of them. Only in answers to a user: events go to every member alike and leave
    /// it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub me: Option<bool>,
}

/// A thread as its root message shows it: kept in one row per thread, updated with each reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ThreadSummary {
    /// Live replies.
    pub reply_count: i64,
    /// When the newest reply was posted.
    pub last_reply_at: Option<DateTime<Utc>>,
    /// The most recent repliers, newest first (at most 5).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<uuid::Uuid>))]
    pub participant_ids: Vec<UserId>,
}

/// A message as `MessageCreated` and `MessageUpdated` carry it.
pub type EventMessage = Message<EventAttachment>;

impl<A> Message<A> {
    /// The same message with each attachment turned into another form.
    pub fn map_attachments<B>(self, into: impl FnMut(A) -> B) -> Message<B> {
        Message {
            id: self.id,
            conversation_id: self.conversation_id,
            seq: self.seq,
            sender_id: self.sender_id,
            content: self.content,
            client_id: self.client_id,
            attachments: self.attachments.into_iter().map(into).collect(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            edited_at: self.edited_at,
            thread_root_id: self.thread_root_id,
            sent_to_conversation: self.sent_to_conversation,
            thread: self.thread,
            reactions: self.reactions,
            mentions: self.mentions,
            mentions_here: self.mentions_here,
            mentions_all: self.mentions_all,
        }
    }
}

/// A notification as its owner sees it (`notification:new`, and the REST answers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notification {
    /// A UUIDv7: notification ids sort by creation time; the `{id}` of `POST /api/notifications/{id}/read`.
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub id: NotificationId,
    /// What it is about; `payload` depends on it.
    #[serde(rename = "type")]
    pub kind: NotificationKind,
    /// What it is about, a JSON object whose fields depend on `type` (`docs/api.md`, Notifications). Kept as
    /// JSON: it is the stored `jsonb` column, and the `message` kind's is built and coalesced by SQL (the
    /// latest message, its sender and preview, the unread `count`), never by Rust.
    pub payload: serde_json::Value,
    /// Whether it was read.
    pub is_read: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Serde and the OpenAPI schema name each variant in snake case; `as_str` and parsing use the words the
    /// enum was declared with. They must be the same.
    fn check_words<T>(all: &[T], as_str: impl Fn(&T) -> &'static str)
    where
        T: Serialize + for<'de> Deserialize<'de> + std::str::FromStr + PartialEq + std::fmt::Debug,
        <T as std::str::FromStr>::Err: std::fmt::Debug,
    {
        for value in all {
            let word = as_str(value);
            assert_eq!(serde_json::to_value(value).unwrap(), word);
            assert_eq!(&serde_json::from_value::<T>(word.into()).unwrap(), value);
            assert_eq!(&word.parse::<T>().unwrap(), value);
        }
    }

    #[test]
    fn wire_enums_are_their_words() {
        check_words(ProjectRole::ALL, |v| v.as_str());
        check_words(ProjectStatus::ALL, |v| v.as_str());
        check_words(TaskStatus::ALL, |v| v.as_str());
        check_words(Frequency::ALL, |v| v.as_str());
        check_words(NotificationKind::ALL, |v| v.as_str());
        check_words(CalendarNoticeKind::ALL, |v| v.as_str());
        check_words(ScheduledMessageChange::ALL, |v| v.as_str());
        check_words(ReminderChange::ALL, |v| v.as_str());
    }

    #[test]
    fn an_event_attachment_keeps_the_stored_object_beside_its_fields_and_round_trips() {
        let attachment = EventAttachment {
            id: AttachmentId::new(),
            file_name: "a.png".into(),
            content_type: "image/png".into(),
            file_size: 3,
            stored: Some(StoredObject {
                object_key: "k".into(),
                object_etag: None,
                upload_open_until: Utc::now(),
            }),
        };
        let json = serde_json::to_value(&attachment).unwrap();
        assert_eq!(json["object_key"], "k");
        assert!(json["object_etag"].is_null() && json.get("url").is_none());
        assert_eq!(
            serde_json::from_value::<EventAttachment>(json).unwrap(),
            attachment
        );
        let bare =
            serde_json::json!({"id": attachment.id, "file_name": "a", "content_type": "x", "file_size": 1});
        assert_eq!(
            serde_json::from_value::<EventAttachment>(bare).unwrap().stored,
            None
        );
    }
}
