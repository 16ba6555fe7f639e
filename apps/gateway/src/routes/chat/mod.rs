//! `/api/conversations`, `/api/messages`, `/api/search/messages`, `/api/files` and the local store's signed
//! file URLs.
//!
//! Responses serialize the chat crate's own types (`Conversation`, `Message`, in `epop_core::Page`), whose JSON is the contract's;
//! the `*Schema` types below only describe those shapes for the OpenAPI document.

pub mod conversation_create;
pub mod conversation_get;
pub mod conversations_list;
pub mod files;
pub mod local_store;
pub mod member_remove;
pub mod members_add;
pub mod message_delete;
pub mod message_get;
pub mod message_send;
pub mod message_update;
pub mod messages_list;
pub mod read;
pub mod search;

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// OpenAPI shape of an attachment.
#[derive(utoipa::ToSchema)]
#[expect(
    dead_code,
    reason = "describes the chat crate's JSON for the OpenAPI document only"
)]
pub struct AttachmentSchema {
    id: Uuid,
    file_name: String,
    content_type: String,
    file_size: i64,
    /// A short-lived download link; `null` when the stored object is no longer the one attached (replaced
    /// through an S3 server that ignores `If-None-Match` while the upload URL still worked): it is never served.
    url: Option<String>,
}

/// OpenAPI shape of a message.
#[derive(utoipa::ToSchema)]
#[expect(
    dead_code,
    reason = "describes the chat crate's JSON for the OpenAPI document only"
)]
pub struct MessageSchema {
    id: Uuid,
    conversation_id: Uuid,
    /// 1, 2, 3... in commit order within the conversation.
    seq: i64,
    sender_id: Uuid,
    content: String,
    client_id: Option<String>,
    attachments: Vec<AttachmentSchema>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    edited_at: Option<DateTime<Utc>>,
}

/// OpenAPI shape of a conversation member.
#[derive(utoipa::ToSchema)]
#[expect(
    dead_code,
    reason = "describes the chat crate's JSON for the OpenAPI document only"
)]
pub struct MemberSchema {
    id: Uuid,
    name: String,
}

/// OpenAPI shape of a conversation.
#[derive(utoipa::ToSchema)]
#[expect(
    dead_code,
    reason = "describes the chat crate's JSON for the OpenAPI document only"
)]
pub struct ConversationSchema {
    id: Uuid,
    #[schema(rename = "type")]
    kind: epop_chat::ConversationKind,
    name: Option<String>,
    created_by: Uuid,
    members: Vec<MemberSchema>,
    last_message: Option<MessageSchema>,
    unread_count: i64,
    created_at: DateTime<Utc>,
}

/// OpenAPI shape of a page of conversations.
#[derive(utoipa::ToSchema)]
#[expect(
    dead_code,
    reason = "describes the chat crate's JSON for the OpenAPI document only"
)]
pub struct ConversationPageSchema {
    items: Vec<ConversationSchema>,
    next_cursor: Option<String>,
}

/// OpenAPI shape of a page of messages.
#[derive(utoipa::ToSchema)]
#[expect(
    dead_code,
    reason = "describes the chat crate's JSON for the OpenAPI document only"
)]
pub struct MessagePageSchema {
    items: Vec<MessageSchema>,
    next_cursor: Option<String>,
}

/// Paging query of list endpoints.
#[derive(Debug, serde::Deserialize, garde::Validate, utoipa::IntoParams)]
pub struct PageQuery {
    /// Page size, 1..=100 (default 50).
    #[garde(range(min = 1, max = 100))]
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u16>,
    /// Cursor from the previous page.
    #[garde(skip)]
    pub cursor: Option<String>,
}
