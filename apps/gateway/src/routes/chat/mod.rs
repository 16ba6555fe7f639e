//! `/api/conversations`, `/api/messages`, `/api/threads`, `/api/scheduled-messages`, `/api/reminders`, `/api/saved-messages`, `/api/search/messages`, `/api/files` and the local store's signed
//! file URLs.
//!
//! Responses serialize the chat crate's own types (`Conversation`, `Message`, in `epop_core::Page`), whose JSON is the contract's;
//! the `*Schema` types below only describe those shapes for the OpenAPI document.

pub mod conversation_create;
pub mod conversation_get;
pub mod conversation_notifications;
pub mod conversations_list;
pub mod files;
pub mod history;
pub mod incoming_webhooks;
pub mod local_store;
pub mod member_remove;
pub mod members_add;
pub mod message_delete;
pub mod message_get;
pub mod message_send;
pub mod message_update;
pub mod messages_list;
pub mod pins;
pub mod reactions;
pub mod read;
pub mod reminder_create;
pub mod reminders;
pub mod replies_list;
pub mod saved;
pub mod scheduled_cancel;
pub mod scheduled_create;
pub mod scheduled_get;
pub mod scheduled_list;
pub mod scheduled_update;
pub mod search;
pub mod thread_follow;
pub mod thread_read;
pub mod threads_list;
pub mod unread;

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
