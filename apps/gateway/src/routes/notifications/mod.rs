//! `/api/notifications`: the caller's notifications.

pub mod list;
pub mod read;
pub mod read_all;

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// OpenAPI shape of a notification.
#[derive(utoipa::ToSchema)]
#[expect(
    dead_code,
    reason = "describes the notifications crate's JSON for the OpenAPI document only"
)]
pub struct NotificationSchema {
    id: Uuid,
    /// `task_assigned`, `project_member_added` or `message`.
    #[schema(rename = "type")]
    kind: String,
    /// Depends on the type: `task_assigned` `{task_id, project_id, title, assigned_by}`,
    /// `project_member_added` `{project_id, project_name, role, added_by}`, `message`
    /// `{conversation_id, message_id, sender_id, preview, count}`: while unread, one notification per
    /// conversation stands for `count` messages and names the latest (`EPOP_NOTIFICATION_INTERVAL` bounds
    /// how often it is delivered).
    payload: serde_json::Value,
    is_read: bool,
    /// For a `message` notification, the time of the latest message it stands for.
    created_at: DateTime<Utc>,
}

/// OpenAPI shape of a page of notifications.
#[derive(utoipa::ToSchema)]
#[expect(
    dead_code,
    reason = "describes the notifications crate's JSON for the OpenAPI document only"
)]
pub struct NotificationPageSchema {
    items: Vec<NotificationSchema>,
    next_cursor: Option<String>,
    /// Unread notifications in all.
    unread_count: i64,
}
