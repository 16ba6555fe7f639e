//! Domain events: facts that happened, written to the outbox in the same transaction as the change and
//! published after commit. Subscribers (the real-time layer, notifications) react to them without the
//! publishing crate knowing they exist.

use crate::id::{ConversationId, MessageId, ProjectId, TaskId, UserId};
use serde::{Deserialize, Serialize};

/// Everything that happened in the domain that another part of the system may react to.
///
/// Serialized with a `type` tag, so the outbox and the Redis channel carry self-describing JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DomainEvent {
    /// Every session of the user ended (logout everywhere, or a password or e-mail change): live sockets of
    /// the user must be disconnected on every node.
    SessionsRevoked {
        /// Whose sessions ended.
        user_id: UserId,
    },
    /// A message was posted.
    MessageCreated {
        /// Where.
        conversation_id: ConversationId,
        /// Who sent it.
        sender_id: UserId,
        /// The message as clients see it (the chat crate's `Message`, serialized).
        message: serde_json::Value,
        /// An opaque tag of the connection that sent it (a socket id), so it is not echoed back there.
        origin: Option<String>,
    },
    /// A message was edited.
    MessageUpdated {
        /// Where.
        conversation_id: ConversationId,
        /// The message as clients see it.
        message: serde_json::Value,
    },
    /// A message was deleted.
    MessageDeleted {
        /// Where.
        conversation_id: ConversationId,
        /// Which message.
        message_id: MessageId,
    },
    /// A conversation was created; its members should learn of it.
    ConversationCreated {
        /// The new conversation.
        conversation_id: ConversationId,
        /// Everyone in it.
        member_ids: Vec<UserId>,
    },
    /// Members joined or left a group.
    ConversationMembersChanged {
        /// The group.
        conversation_id: ConversationId,
        /// Who joined.
        added: Vec<UserId>,
        /// Who left or was removed.
        removed: Vec<UserId>,
        /// Everyone in it now.
        member_ids: Vec<UserId>,
    },
    /// Someone started or stopped typing. Ephemeral: published straight to the bus, never stored.
    TypingChanged {
        /// Where.
        conversation_id: ConversationId,
        /// Who.
        user_id: UserId,
        /// Typing or not.
        is_typing: bool,
    },
    /// A user came online or went offline. Ephemeral: published straight to the bus, never stored.
    PresenceChanged {
        /// Whose presence.
        user_id: UserId,
        /// Online on at least one node.
        online: bool,
        /// When they were last seen (`None` while online).
        last_seen_at: Option<chrono::DateTime<chrono::Utc>>,
        /// The conversations whose members are told (each socket once, never the user themself): the user's
        /// direct conversations and groups up to the presence group limit. Sockets that subscribed to the user
        /// are told too.
        conversations: Vec<ConversationId>,
    },
    /// A member's read position moved forward.
    ReadPositionMoved {
        /// Where.
        conversation_id: ConversationId,
        /// Whose position.
        user_id: UserId,
        /// The last message read.
        message_id: MessageId,
    },
    /// A task was assigned to someone other than the person who assigned it (on create or reassignment).
    TaskAssigned {
        /// The task.
        task_id: TaskId,
        /// Its project.
        project_id: ProjectId,
        /// The task's title.
        title: String,
        /// The new assignee.
        assigned_to: UserId,
        /// Who assigned it.
        assigned_by: UserId,
    },
    /// A user was added to a project.
    ProjectMemberAdded {
        /// The project.
        project_id: ProjectId,
        /// The project's name.
        project_name: String,
        /// The new member.
        user_id: UserId,
        /// Their role (`owner`, `admin`, `member` or `viewer`).
        role: String,
        /// Who added them.
        added_by: UserId,
    },
    /// A notification was created for a user (delivered live as `notification:new`).
    NotificationCreated {
        /// Whose notification.
        user_id: UserId,
        /// The notification as clients see it (the notifications crate's `Notification`, serialized).
        notification: serde_json::Value,
    },
}

impl DomainEvent {
    /// The event's tag, as stored in the outbox's `event_type` column.
    pub fn event_type(&self) -> &'static str {
        match self {
            DomainEvent::SessionsRevoked { .. } => "sessions_revoked",
            DomainEvent::MessageCreated { .. } => "message_created",
            DomainEvent::MessageUpdated { .. } => "message_updated",
            DomainEvent::MessageDeleted { .. } => "message_deleted",
            DomainEvent::ConversationCreated { .. } => "conversation_created",
            DomainEvent::ConversationMembersChanged { .. } => "conversation_members_changed",
            DomainEvent::ReadPositionMoved { .. } => "read_position_moved",
            DomainEvent::TypingChanged { .. } => "typing_changed",
            DomainEvent::PresenceChanged { .. } => "presence_changed",
            DomainEvent::TaskAssigned { .. } => "task_assigned",
            DomainEvent::ProjectMemberAdded { .. } => "project_member_added",
            DomainEvent::NotificationCreated { .. } => "notification_created",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_tagged_json_and_round_trip() {
        let event = DomainEvent::SessionsRevoked {
            user_id: UserId::new(),
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["type"], event.event_type());
        assert_eq!(serde_json::from_value::<DomainEvent>(json).unwrap(), event);
    }
}
