//! What the notifications service returns; serializes to the contract's JSON.

use chrono::{DateTime, Utc};
use epop_core::NotificationId;
use serde::Serialize;

/// A notification as its owner sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notification {
    /// A UUIDv7: notification ids sort by creation time.
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub id: NotificationId,
    /// `task_assigned`, `project_member_added` or `message`.
    #[serde(rename = "type")]
    pub kind: String,
    /// What it is about, by type: `task_assigned` `{task_id, project_id, title, assigned_by}`,
    /// `project_member_added` `{project_id, project_name, role, added_by}`, `message`
    /// `{conversation_id, message_id, sender_id, preview, count}`: while unread, one `message` notification per
    /// conversation stands for `count` messages and names the latest.
    pub payload: serde_json::Value,
    /// Whether it was read.
    pub is_read: bool,
    /// When it was created; for a `message` notification, the time of the latest message it stands for.
    pub created_at: DateTime<Utc>,
}
