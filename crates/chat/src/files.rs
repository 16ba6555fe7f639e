//! Background removal of a deleted message's files: a job enqueued in the delete's transaction, so the files
//! are gone within seconds (the periodic sweep only catches what a failed job left).

use crate::ChatService;
use async_trait::async_trait;
use epop_core::MessageId;
use epop_storage::jobs::JobHandler;
use serde_json::Value;

/// The job queue of file removals.
pub const FILES_QUEUE: &str = "chat-files";

/// Runs the `chat-files` jobs.
#[derive(Debug, Clone)]
pub struct FileRemover(pub ChatService);

#[async_trait]
impl JobHandler for FileRemover {
    fn queue(&self) -> &'static str {
        FILES_QUEUE
    }

    async fn run(&self, payload: &Value) -> Result<(), String> {
        let message = payload
            .get("message_id")
            .and_then(Value::as_str)
            .and_then(|id| id.parse::<uuid::Uuid>().ok())
            .map(MessageId::from)
            .ok_or("the job has no message_id")?;
        self.0
            .remove_files_of_deleted(message)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}
