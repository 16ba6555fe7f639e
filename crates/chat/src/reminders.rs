//! The job that announces a reminder at its `remind_at` (rules in `service/reminders.rs`): enqueued with the
//! reminder, on the durable queue.

use crate::ChatService;
use async_trait::async_trait;
use epop_core::ReminderId;
use epop_storage::jobs::JobHandler;
use serde_json::Value;

/// The job queue of reminders.
pub const REMINDERS_QUEUE: &str = "reminders";

/// Runs the `reminders` jobs.
#[derive(Debug, Clone)]
pub struct ReminderAnnouncer(pub ChatService);

#[async_trait]
impl JobHandler for ReminderAnnouncer {
    fn queue(&self) -> &'static str {
        REMINDERS_QUEUE
    }

    async fn run(&self, payload: &Value) -> Result<(), String> {
        let id = payload
            .get("reminder_id")
            .and_then(Value::as_str)
            .and_then(|id| id.parse::<uuid::Uuid>().ok())
            .map(ReminderId::from)
            .ok_or("the job has no reminder_id")?;
        self.0.announce_reminder(id).await.map_err(|e| e.to_string())
    }
}
