//! What the notifications service returns; serializes to the contract's JSON.

use chrono::{DateTime, Utc};
use epop_core::NotificationId;
use serde::Serialize;

/// A notification as its owner sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notification {
    /// Its id.
    pub id: NotificationId,
    /// `task_assigned`, `project_member_added` or `message`.
    #[serde(rename = "type")]
    pub kind: String,
    /// What it is about (depends on the type).
    pub payload: serde_json::Value,
    /// Whether it was read.
    pub is_read: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}
