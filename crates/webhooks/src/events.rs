//! Which domain events become webhook deliveries, and the payload each carries.
//!
//! Only events about a conversation's or a project's content are delivered: events private to one user
//! (sessions, read positions, notifications, reminders) never are. A payload is the Standard Webhooks shape
//! `{"type", "timestamp", "data"}`; `data` carries ids and content as members see them, never stored object keys
//! or download links.

use epop_core::model::{EventAttachment, EventMessage, TaskCommentChange};
use epop_core::{ConversationId, DomainEvent, ProjectId};
use serde_json::{Value, json};

/// The type of the test event `POST /api/webhooks/{id}/ping` sends (never filtered out).
pub const PING: &str = "webhook.ping";

/// Event types of a conversation (and of global webhooks).
pub const CONVERSATION_EVENTS: [&str; 8] = [
    "message.created",
    "message.updated",
    "message.deleted",
    "message.reactions_changed",
    "message.pinned",
    "message.unpinned",
    "conversation.created",
    "conversation.members_changed",
];

/// Event types of a project (and of global webhooks).
pub const PROJECT_EVENTS: [&str; 7] = [
    "task.updated",
    "task.deleted",
    "task.assigned",
    "task.comment_created",
    "task.comment_updated",
    "task.comment_deleted",
    "project.member_added",
];

/// An event as webhooks deliver it.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEvent {
    /// One of [`CONVERSATION_EVENTS`] or [`PROJECT_EVENTS`].
    pub event_type: &'static str,
    /// The conversation whose webhooks receive it.
    pub conversation_id: Option<ConversationId>,
    /// The project whose webhooks receive it.
    pub project_id: Option<ProjectId>,
    /// The payload's `data`.
    pub data: Value,
}

/// A message as a payload carries it: attachments without where they are stored.
fn message(message: &EventMessage) -> Value {
    let message = message.clone().map_attachments(|a: EventAttachment| {
        json!({
            "id": a.id,
            "file_name": a.file_name,
            "content_type": a.content_type,
            "file_size": a.file_size,
        })
    });
    serde_json::to_value(message).unwrap_or(Value::Null)
}

fn in_conversation(event_type: &'static str, id: ConversationId, data: Value) -> Option<WebhookEvent> {
    Some(WebhookEvent {
        event_type,
        conversation_id: Some(id),
        project_id: None,
        data,
    })
}

fn in_project(event_type: &'static str, id: ProjectId, data: Value) -> Option<WebhookEvent> {
    Some(WebhookEvent {
        event_type,
        conversation_id: None,
        project_id: Some(id),
        data,
    })
}

/// The webhook event of a domain event; `None` for events webhooks never deliver.
pub fn webhook_event(event: &DomainEvent) -> Option<WebhookEvent> {
    match event {
        DomainEvent::MessageCreated {
            conversation_id,
            message: m,
            ..
        } => in_conversation(
            "message.created",
            *conversation_id,
            json!({"conversation_id": conversation_id, "message": message(m)}),
        ),
        DomainEvent::MessageUpdated {
            conversation_id,
            message: m,
            ..
        } => in_conversation(
            "message.updated",
            *conversation_id,
            json!({"conversation_id": conversation_id, "message": message(m)}),
        ),
        DomainEvent::MessageDeleted {
            conversation_id,
            message_id,
        } => in_conversation(
            "message.deleted",
            *conversation_id,
            json!({"conversation_id": conversation_id, "message_id": message_id}),
        ),
        DomainEvent::ReactionsChanged {
            conversation_id,
            message_id,
            reactions,
        } => in_conversation(
            "message.reactions_changed",
            *conversation_id,
            json!({"conversation_id": conversation_id, "message_id": message_id, "reactions": reactions}),
        ),
        DomainEvent::PinsChanged {
            conversation_id,
            message_id,
            pinned,
            user_id,
        } => in_conversation(
            if *pinned {
                "message.pinned"
            } else {
                "message.unpinned"
            },
            *conversation_id,
            json!({"conversation_id": conversation_id, "message_id": message_id, "user_id": user_id}),
        ),
        DomainEvent::ConversationCreated {
            conversation_id,
            member_ids,
        } => in_conversation(
            "conversation.created",
            *conversation_id,
            json!({"conversation_id": conversation_id, "member_ids": member_ids}),
        ),
        DomainEvent::ConversationMembersChanged {
            conversation_id,
            added,
            removed,
            member_ids,
        } => in_conversation(
            "conversation.members_changed",
            *conversation_id,
            json!({
                "conversation_id": conversation_id,
                "added": added,
                "removed": removed,
                "member_ids": member_ids,
            }),
        ),
        DomainEvent::TaskUpdated {
            project_id,
            task_id,
            task,
            ..
        } => match task {
            Some(task) => in_project(
                "task.updated",
                *project_id,
                json!({"project_id": project_id, "task_id": task_id, "task": task}),
            ),
            None => in_project(
                "task.deleted",
                *project_id,
                json!({"project_id": project_id, "task_id": task_id}),
            ),
        },
        DomainEvent::TaskAssigned {
            task_id,
            project_id,
            title,
            assigned_to,
            assigned_by,
        } => in_project(
            "task.assigned",
            *project_id,
            json!({
                "project_id": project_id,
                "task_id": task_id,
                "title": title,
                "assigned_to": assigned_to,
                "assigned_by": assigned_by,
            }),
        ),
        DomainEvent::TaskCommentChanged {
            project_id,
            task_id,
            change,
            ..
        } => {
            let (event_type, comment) = match change {
                TaskCommentChange::Created(comment) => ("task.comment_created", json!(comment)),
                TaskCommentChange::Updated(comment) => ("task.comment_updated", json!(comment)),
                TaskCommentChange::Deleted(gone) => ("task.comment_deleted", json!(gone)),
            };
            in_project(
                event_type,
                *project_id,
                json!({"project_id": project_id, "task_id": task_id, "comment": comment}),
            )
        }
        DomainEvent::ProjectMemberAdded {
            project_id,
            project_name,
            user_id,
            role,
            added_by,
        } => in_project(
            "project.member_added",
            *project_id,
            json!({
                "project_id": project_id,
                "project_name": project_name,
                "user_id": user_id,
                "role": role,
                "added_by": added_by,
            }),
        ),
        DomainEvent::SessionsRevoked { .. }
        | DomainEvent::SessionEnded { .. }
        | DomainEvent::ReadPositionMoved { .. }
        | DomainEvent::ReadPositionMovedBack { .. }
        | DomainEvent::ThreadUpdated { .. }
        | DomainEvent::ThreadRead { .. }
        | DomainEvent::TaskCommented { .. }
        | DomainEvent::NotificationCreated { .. }
        | DomainEvent::ScheduledMessageFailed { .. }
        | DomainEvent::ReminderDue { .. }
        | DomainEvent::CalendarNotice { .. }
        | DomainEvent::ScheduledMessageChanged { .. }
        | DomainEvent::ReminderChanged { .. }
        | DomainEvent::TaskDueSoon { .. } => None,
    }
}

/// The body of a delivery: `{"type", "timestamp", "data"}`.
pub fn payload(event_type: &str, at: chrono::DateTime<chrono::Utc>, data: Value) -> Value {
    json!({
        "type": event_type,
        "timestamp": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": data,
    })
}

/// The event types a webhook of `scope` may filter on.
pub fn types_of(scope: crate::Scope) -> Vec<&'static str> {
    match scope {
        crate::Scope::Global => CONVERSATION_EVENTS
            .iter()
            .chain(PROJECT_EVENTS.iter())
            .copied()
            .collect(),
        crate::Scope::Conversation(_) => CONVERSATION_EVENTS.to_vec(),
        crate::Scope::Project(_) => PROJECT_EVENTS.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use epop_core::{MessageId, UserId};

    #[test]
    fn private_events_are_never_delivered() {
        let user_id = UserId::new();
        assert_eq!(webhook_event(&DomainEvent::SessionsRevoked { user_id }), None);
        assert_eq!(
            webhook_event(&DomainEvent::ReadPositionMoved {
                conversation_id: ConversationId::new(),
                user_id,
                message_id: MessageId::new(),
            }),
            None
        );
    }

    #[test]
    fn conversation_and_project_events_name_their_scope() {
        let conversation_id = ConversationId::new();
        let deleted = webhook_event(&DomainEvent::MessageDeleted {
            conversation_id,
            message_id: MessageId::new(),
        })
        .unwrap();
        assert_eq!(deleted.event_type, "message.deleted");
        assert_eq!(deleted.conversation_id, Some(conversation_id));
        assert!(CONVERSATION_EVENTS.contains(&deleted.event_type));
        let project_id = ProjectId::new();
        let gone = webhook_event(&DomainEvent::TaskUpdated {
            project_id,
            task_id: epop_core::TaskId::new(),
            member_ids: vec![],
            task: None,
        })
        .unwrap();
        assert_eq!(gone.event_type, "task.deleted");
        assert_eq!(gone.project_id, Some(project_id));
        assert!(PROJECT_EVENTS.contains(&gone.event_type));
    }

    #[test]
    fn comment_changes_name_their_action_and_carry_the_comment() {
        let project_id = ProjectId::new();
        let task_id = epop_core::TaskId::new();
        let id = epop_core::TaskCommentId::new();
        let gone = webhook_event(&DomainEvent::TaskCommentChanged {
            project_id,
            task_id,
            member_ids: vec![],
            change: TaskCommentChange::Deleted(epop_core::model::DeletedTaskComment { id }),
        })
        .unwrap();
        assert_eq!(gone.event_type, "task.comment_deleted");
        assert_eq!(
            gone.data,
            json!({"project_id": project_id, "task_id": task_id, "comment": {"id": id}})
        );
        assert!(PROJECT_EVENTS.contains(&gone.event_type));
    }

    #[test]
    fn payloads_follow_the_standard_shape() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-10T08:00:00Z")
            .unwrap()
            .to_utc();
        let body = payload("webhook.ping", at, json!({"x": 1}));
        assert_eq!(body["type"], "webhook.ping");
        assert_eq!(body["timestamp"], "2026-12-10T08:00:00.000Z");
        assert_eq!(body["data"]["x"], 1);
    }
}
