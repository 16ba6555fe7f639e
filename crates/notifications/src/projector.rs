//! Turns domain events into notifications, exactly once (an outbox handler, inside the relay's transaction).

use crate::model::Notification;
use crate::repo;
use async_trait::async_trait;
use diesel::{ExpressionMethods as _, QueryDsl as _};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use epop_core::{ConversationId, DomainEvent, UserId};
use epop_storage::events::{OutboxHandler, PublishedEvent};
use epop_storage::schema::conversation_members;
use epop_storage::{StorageError, StorageResult, outbox};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Longest message preview in a `message` notification, in characters.
pub const PREVIEW_CHARS: usize = 140;

/// Who has a live connection right now (on any node).
#[async_trait]
pub trait LiveConnections: Send + Sync {
    /// Those of `users` with at least one connected socket.
    async fn online(&self, users: &[UserId]) -> Vec<UserId>;
}

/// Creates notifications from events: `task_assigned`, `project_member_added`, and `message` for members with
/// no live connection.
pub struct NotificationProjector {
    live: Arc<dyn LiveConnections>,
    /// Enqueue an e-mail job per notification (SMTP is configured).
    email: bool,
}

impl std::fmt::Debug for NotificationProjector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotificationProjector").finish_non_exhaustive()
    }
}

/// The first `PREVIEW_CHARS` characters of a text.
pub fn preview(text: &str) -> String {
    text.chars().take(PREVIEW_CHARS).collect()
}

fn to_storage(error: crate::NotificationsError) -> StorageError {
    match error {
        crate::NotificationsError::Storage(inner) => inner,
        other => StorageError::Object(other.to_string()),
    }
}

impl NotificationProjector {
    /// A projector asking `live` who is connected; with `email`, each notification also gets an e-mail job.
    pub fn new(live: Arc<dyn LiveConnections>, email: bool) -> Self {
        Self { live, email }
    }

    async fn notify(
        &self,
        conn: &mut AsyncPgConnection,
        user: UserId,
        kind: &str,
        payload: serde_json::Value,
    ) -> StorageResult<()> {
        let row = repo::insert(conn, user.into_uuid(), kind, &payload)
            .await
            .map_err(to_storage)?;
        let notification = serde_json::to_value(Notification::from(row))?;
        for subscription in crate::push::subscription_ids(conn, user).await? {
            let job = json!({"subscription_id": subscription, "notification": notification});
            epop_storage::jobs::enqueue(conn, crate::push::PUSH_QUEUE, &job).await?;
        }
        if self.email {
            let job = json!({"user_id": user, "notification": notification});
            epop_storage::jobs::enqueue(conn, crate::email::EMAIL_QUEUE, &job).await?;
        }
        outbox::append(
            conn,
            &DomainEvent::NotificationCreated {
                user_id: user,
                notification,
            },
        )
        .await?;
        Ok(())
    }
}

#[async_trait]
impl OutboxHandler for NotificationProjector {
    async fn handle(&self, conn: &mut AsyncPgConnection, events: &[PublishedEvent]) -> StorageResult<()> {
        let mut offline_by_conversation: HashMap<ConversationId, Vec<UserId>> = HashMap::new();
        for published in events {
            match &published.event {
                DomainEvent::TaskAssigned {
                    task_id,
                    project_id,
                    title,
                    assigned_to,
                    assigned_by,
                } => {
                    let payload = json!({"task_id": task_id, "project_id": project_id, "title": title, "assigned_by": assigned_by});
                    self.notify(conn, *assigned_to, "task_assigned", payload).await?;
                }
                DomainEvent::ProjectMemberAdded {
                    project_id,
                    project_name,
                    user_id,
                    role,
                    added_by,
                } => {
                    let payload = json!({"project_id": project_id, "project_name": project_name, "role": role, "added_by": added_by});
                    self.notify(conn, *user_id, "project_member_added", payload)
                        .await?;
                }
                DomainEvent::MessageCreated {
                    conversation_id,
                    sender_id,
                    message,
                    ..
                } => {
                    // Who is offline is asked once per conversation and batch: a burst of messages in a
                    // large group costs one member query and one presence lookup, not one per message.
                    let offline = match offline_by_conversation.get(conversation_id) {
                        Some(offline) => offline,
                        None => {
                            let members: Vec<uuid::Uuid> = conversation_members::table
                                .filter(conversation_members::conversation_id.eq(conversation_id.into_uuid()))
                                .select(conversation_members::user_id)
                                .load(conn)
                                .await?;
                            let members: Vec<UserId> = members.into_iter().map(UserId::from).collect();
                            let online: HashSet<UserId> =
                                self.live.online(&members).await.into_iter().collect();
                            let offline = members.into_iter().filter(|m| !online.contains(m)).collect();
                            offline_by_conversation.entry(*conversation_id).or_insert(offline)
                        }
                    };
                    let content = message
                        .get("content")
                        .and_then(serde_json::Value::as_str)
                        .unwrap_or_default();
                    let payload = json!({
                        "conversation_id": conversation_id,
                        "message_id": message.get("id"),
                        "sender_id": sender_id,
                        "preview": preview(content),
                    });
                    for &member in offline.iter().filter(|m| *m != sender_id) {
                        self.notify(conn, member, "message", payload.clone()).await?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::preview;

    #[test]
    fn previews_are_at_most_140_characters() {
        assert_eq!(preview("short"), "short");
        let long = "字".repeat(200);
        assert_eq!(preview(&long).chars().count(), 140);
    }
}
