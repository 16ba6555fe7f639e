//! The job that posts a scheduled message at its `send_at` (rules in `service/scheduled.rs`): enqueued with the
//! scheduled message, on the durable queue, so it runs once its time has come even across restarts.

use crate::ChatService;
use async_trait::async_trait;
use epop_core::ScheduledMessageId;
use epop_storage::jobs::JobHandler;
use serde_json::Value;

/// The job queue of scheduled messages.
pub const SCHEDULED_QUEUE: &str = "scheduled-messages";

/// Runs the `scheduled-messages` jobs.
#[derive(Debug, Clone)]
pub struct ScheduledPoster(pub ChatService);

#[async_trait]
impl JobHandler for ScheduledPoster {
    fn queue(&self) -> &'static str {
        SCHEDULED_QUEUE
    }

    async fn run(&self, payload: &Value) -> Result<(), String> {
        let id = payload
            .get("scheduled_message_id")
            .and_then(Value::as_str)
            .and_then(|id| id.parse::<uuid::Uuid>().ok())
            .map(ScheduledMessageId::from)
            .ok_or("the job has no scheduled_message_id")?;
        self.0.post_scheduled(id).await.map_err(|e| e.to_string())
    }
}
