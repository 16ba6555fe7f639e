//! Domain events: facts that happened, written to the outbox in the same transaction as the change and
//! published after commit. Subscribers (the real-time layer, notifications) react to them without the
//! publishing crate knowing they exist. Every domain event is stored; what is only ever live (typing,
//! presence) is not a domain event.

use crate::id::{ConversationId, MessageId, ProjectId, TaskCommentId, TaskId, UserId};
use crate::model::{EventMessage, Notification, Reaction, ThreadSummary};
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
        /// The message, its attachments with their stored objects (links are signed on delivery).
        message: EventMessage,
        /// An opaque tag of the connection that sent it (a socket id), so it is not echoed back there.
        origin: Option<String>,
    },
    /// A message was edited.
    MessageUpdated {
        /// Where.
        conversation_id: ConversationId,
        /// The message as edited.
        message: EventMessage,
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
    /// A member's read position moved forward.
    ReadPositionMoved {
        /// Where.
        conversation_id: ConversationId,
        /// Whose position.
        user_id: UserId,
        /// The last message read.
        message_id: MessageId,
    },
    /// A thread got a reply, or lost one (delivered as `thread:updated`, at most once per thread per second).
    ThreadUpdated {
        /// The root's conversation.
        conversation_id: ConversationId,
        /// The thread's root message.
        root_id: MessageId,
        /// The thread's summary now.
        thread: ThreadSummary,
    },
    /// A user's read watermark of a thread moved forward (delivered to their own sockets).
    ThreadRead {
        /// Whose watermark.
        user_id: UserId,
        /// The root's conversation.
        conversation_id: ConversationId,
        /// The thread's root message.
        root_id: MessageId,
        /// The last reply read.
        message_id: MessageId,
    },
    /// A message's reactions changed (delivered as `message:reactions`, at most once per message per 250 ms).
    ReactionsChanged {
        /// Where.
        conversation_id: ConversationId,
        /// Which message.
        message_id: MessageId,
        /// Its reactions now (without `me`).
        reactions: Vec<Reaction>,
    },
    /// A task was assigned to someone other than the person who assigned it (on create or reassignment).
    TaskAssigned {
        /// Its notification links to it.
        task_id: TaskId,
        /// The project whose members the event concerns.
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
        /// The project the new member may now open.
        project_id: ProjectId,
        /// The name at the time, so the notification reads the same after a rename.
        project_name: String,
        /// The new member.
        user_id: UserId,
        /// Their role (`owner`, `admin`, `member` or `viewer`).
        role: String,
        /// Who added them.
        added_by: UserId,
    },
    /// A comment was posted on a task: `task_comment` notifications for the task's watchers and assignee,
    /// `task_mention` for the project members it mentions (never the author).
    TaskCommented {
        /// The task.
        task_id: TaskId,
        /// Its project.
        project_id: ProjectId,
        /// The comment.
        comment_id: TaskCommentId,
        /// The task's title at the time.
        title: String,
        /// Who wrote it.
        author_id: UserId,
        /// The comment's first characters.
        preview: String,
        /// Watchers to notify with `task_comment` (neither the author nor a mentioned member).
        watchers: Vec<UserId>,
        /// Members to notify with `task_mention`.
        mentioned: Vec<UserId>,
    },
    /// A task was created, changed or deleted: `task:updated` to the project's connected members (live only,
    /// not replayed to a recovering socket).
    TaskUpdated {
        /// The task's project.
        project_id: ProjectId,
        /// The task.
        task_id: TaskId,
        /// The project's members when it changed.
        member_ids: Vec<UserId>,
        /// The task as members see it; `None` when it was deleted.
        task: Option<serde_json::Value>,
    },
    /// A comment on a task was posted, edited or deleted: `task:comment` to the project's connected members
    /// (live only).
    TaskCommentChanged {
        /// The task's project.
        project_id: ProjectId,
        /// The task.
        task_id: TaskId,
        /// The project's members when it changed.
        member_ids: Vec<UserId>,
        /// `created`, `updated` or `deleted`.
        action: String,
        /// The comment as members see it (its id only when deleted).
        comment: serde_json::Value,
    },
    /// A notification was created for a user (delivered live as `notification:new`).
    NotificationCreated {
        /// Whose notification.
        user_id: UserId,
        /// The notification as its owner sees it.
        notification: Notification,
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
            DomainEvent::ThreadUpdated { .. } => "thread_updated",
            DomainEvent::ThreadRead { .. } => "thread_read",
            DomainEvent::ReactionsChanged { .. } => "reactions_changed",
            DomainEvent::TaskAssigned { .. } => "task_assigned",
            DomainEvent::ProjectMemberAdded { .. } => "project_member_added",
            DomainEvent::NotificationCreated { .. } => "notification_created",
            DomainEvent::TaskCommented { .. } => "task_commented",
            DomainEvent::TaskUpdated { .. } => "task_updated",
            DomainEvent::TaskCommentChanged { .. } => "task_comment_changed",
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
