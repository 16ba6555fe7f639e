//! Domain events: facts that happened, written to the outbox in the same transaction as the change and
//! published after commit. Subscribers (the real-time layer, notifications) react to them without the
//! publishing crate knowing they exist. Every domain event is stored; what is only ever live (typing,
//! presence) is not a domain event.

use crate::id::{
    CalendarEventId, ConversationId, MessageId, ProjectId, ReminderId, ScheduledMessageId, TaskCommentId,
    TaskId, TokenFamilyId, UserId,
};
use crate::model::{
    CalendarNoticeKind, EventMessage, Notification, ProjectRole, Reaction, Reminder, ReminderChange,
    ScheduledMessage, ScheduledMessageChange, Task, TaskCommentChange, ThreadSummary,
};
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
    /// One session of the user ended on its own (`DELETE /api/auth/sessions/:id`): the sockets signed in with
    /// it must be disconnected on every node.
    SessionEnded {
        /// Whose session.
        user_id: UserId,
        /// Which session (the refresh token family, the `sid` of its access tokens).
        session_id: TokenFamilyId,
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
        /// Everyone it mentions, the sender left out: the members it names, those online for `<!here>`, every
        /// member for `<!all>` (each gets a `mention` notification).
        #[serde(default)]
        mentioned: Vec<UserId>,
    },
    /// A message was edited.
    MessageUpdated {
        /// Where.
        conversation_id: ConversationId,
        /// The message as edited.
        message: EventMessage,
        /// The members the edit mentions who were not mentioned before it (each gets a `mention` notification).
        #[serde(default)]
        mentioned: Vec<UserId>,
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
        /// The group whose members changed (direct conversations never change).
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
    /// A member marked a message unread: their read position moved back to just before it (delivered as
    /// `message:read` to their own sockets only).
    ReadPositionMovedBack {
        /// Where.
        conversation_id: ConversationId,
        /// Whose position.
        user_id: UserId,
        /// The last message read now: the one the conversation shows before `unread_from`, if any.
        message_id: Option<MessageId>,
        /// The message marked unread, the first unread one now.
        unread_from: MessageId,
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
        /// Their role.
        role: ProjectRole,
        /// Who added them.
        added_by: UserId,
    },
    /// A comment was posted on a task: `task_comment` notifications for the task's watchers and assignee,
    /// `task_mention` for the project members it mentions (never the author).
    TaskCommented {
        /// The task commented on.
        task_id: TaskId,
        /// The task's project (only its members are notified of a mention).
        project_id: ProjectId,
        /// The new comment (its edits are [`DomainEvent::TaskCommentChanged`]).
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
        /// The task created, changed or deleted.
        task_id: TaskId,
        /// The project's members when it changed.
        member_ids: Vec<UserId>,
        /// The task as members see it; `None` when it was deleted.
        task: Option<Task>,
    },
    /// A comment on a task was posted, edited or deleted: `task:comment` to the project's connected members
    /// (live only).
    TaskCommentChanged {
        /// The task's project.
        project_id: ProjectId,
        /// The task the comment is on.
        task_id: TaskId,
        /// The project's members when it changed.
        member_ids: Vec<UserId>,
        /// What happened (`action`), with the comment as members see it (`comment`, its id only when deleted);
        /// flattened, so the event keeps those two fields.
        #[serde(flatten)]
        change: TaskCommentChange,
    },
    /// A notification was created for a user (delivered live as `notification:new`).
    NotificationCreated {
        /// Whose notification.
        user_id: UserId,
        /// The notification as its owner sees it.
        notification: Notification,
    },
    /// A scheduled message could not be posted at its time (its sender had left the conversation, or its
    /// thread's root was deleted); it is gone, and its sender is notified.
    ScheduledMessageFailed {
        /// The sender, who is notified.
        user_id: UserId,
        /// The scheduled message (no longer stored).
        scheduled_message_id: ScheduledMessageId,
        /// Where it was to be posted.
        conversation_id: ConversationId,
        /// The start of its text.
        preview: String,
        /// Why it was not posted, in words.
        reason: String,
    },
    /// A reminder about a message came due; its owner is notified.
    ReminderDue {
        /// Whose reminder.
        user_id: UserId,
        /// The reminder (no longer stored).
        reminder_id: ReminderId,
        /// The message it is about.
        message_id: MessageId,
        /// The message's conversation.
        conversation_id: ConversationId,
        /// The start of the message's text.
        preview: String,
    },
    /// One of a user's scheduled messages was created or changed, or is gone (cancelled, or posted): delivered to
    /// that user's own sockets (`scheduled_message:new`, `:updated`, `:deleted`). A failure to post is
    /// [`DomainEvent::ScheduledMessageFailed`].
    ScheduledMessageChanged {
        /// Its sender, the only one who sees it.
        user_id: UserId,
        /// The scheduled message.
        scheduled_message_id: ScheduledMessageId,
        /// Where it is to be posted.
        conversation_id: ConversationId,
        /// What happened to it.
        change: ScheduledMessageChange,
        /// The scheduled message as its sender sees it (`created`, `updated`).
        scheduled_message: Option<ScheduledMessage>,
        /// The message it was posted as (`posted`).
        message_id: Option<MessageId>,
    },
    /// One of a user's reminders was set, or is gone without a notification (cancelled, or dropped at its time
    /// because its message was deleted or its owner left the conversation): to that user's own sockets
    /// (`reminder:new`, `reminder:deleted`). A reminder that comes is [`DomainEvent::ReminderDue`].
    ReminderChanged {
        /// Whose reminder.
        user_id: UserId,
        /// The reminder.
        reminder_id: ReminderId,
        /// The message it is about.
        message_id: MessageId,
        /// The message's conversation.
        conversation_id: ConversationId,
        /// What happened to it.
        change: ReminderChange,
        /// The reminder as its owner sees it (`created`).
        reminder: Option<Reminder>,
    },
    /// A message was pinned in its conversation, or unpinned (delivered as `conversation:pins`).
    PinsChanged {
        /// Where.
        conversation_id: ConversationId,
        /// Which message.
        message_id: MessageId,
        /// Pinned now (`false`: unpinned).
        pinned: bool,
        /// Who pinned or unpinned it.
        user_id: UserId,
    },
    /// Attendees of a calendar event must hear of it: they were invited (`invited`), it changed (`updated`),
    /// it was cancelled or they were removed (`cancelled`), or a reminder is due (`reminder`). One event for
    /// all `recipients`, turned into their notifications by one statement.
    CalendarNotice {
        /// Why they hear of it.
        kind: CalendarNoticeKind,
        /// The event, series or instance id (as the calendar API names it).
        event_id: String,
        /// The series or event the notice is about.
        calendar_event_id: CalendarEventId,
        /// Its title at the time.
        title: String,
        /// When it starts.
        start_time: chrono::DateTime<chrono::Utc>,
        /// Who organises it.
        organizer_id: UserId,
        /// Who is notified.
        recipients: Vec<UserId>,
        /// For invitations, changes and cancellations: the iCalendar object (`METHOD:REQUEST` or
        /// `METHOD:CANCEL`) their e-mails carry as an attachment.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ics: Option<String>,
    },
    /// A task's due date is near (or here): its assignee is reminded (`EPOP_TASK_DUE_REMINDERS`).
    TaskDueSoon {
        /// The task.
        task_id: TaskId,
        /// Its project.
        project_id: ProjectId,
        /// Its title at the time.
        title: String,
        /// When it is due.
        due_date: chrono::DateTime<chrono::Utc>,
        /// Its assignee, who is notified.
        user_id: UserId,
        /// How long before the due date this reminder is (`0`: at the due time).
        minutes_before: i32,
    },
}

impl DomainEvent {
    /// The event's tag, as stored in the outbox's `event_type` column.
    pub fn event_type(&self) -> &'static str {
        match self {
            DomainEvent::SessionsRevoked { .. } => "sessions_revoked",
            DomainEvent::SessionEnded { .. } => "session_ended",
            DomainEvent::MessageCreated { .. } => "message_created",
            DomainEvent::MessageUpdated { .. } => "message_updated",
            DomainEvent::MessageDeleted { .. } => "message_deleted",
            DomainEvent::ConversationCreated { .. } => "conversation_created",
            DomainEvent::ConversationMembersChanged { .. } => "conversation_members_changed",
            DomainEvent::ReadPositionMoved { .. } => "read_position_moved",
            DomainEvent::ReadPositionMovedBack { .. } => "read_position_moved_back",
            DomainEvent::ThreadUpdated { .. } => "thread_updated",
            DomainEvent::ThreadRead { .. } => "thread_read",
            DomainEvent::ReactionsChanged { .. } => "reactions_changed",
            DomainEvent::TaskAssigned { .. } => "task_assigned",
            DomainEvent::ProjectMemberAdded { .. } => "project_member_added",
            DomainEvent::NotificationCreated { .. } => "notification_created",
            DomainEvent::ScheduledMessageFailed { .. } => "scheduled_message_failed",
            DomainEvent::ReminderDue { .. } => "reminder_due",
            DomainEvent::ScheduledMessageChanged { .. } => "scheduled_message_changed",
            DomainEvent::ReminderChanged { .. } => "reminder_changed",
            DomainEvent::PinsChanged { .. } => "pins_changed",
            DomainEvent::CalendarNotice { .. } => "calendar_notice",
            DomainEvent::TaskDueSoon { .. } => "task_due_soon",
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

    #[test]
    fn typed_fields_keep_the_stored_words_and_shapes() {
        let comment = TaskCommentId::new();
        let event = DomainEvent::TaskCommentChanged {
            project_id: ProjectId::new(),
            task_id: TaskId::new(),
            member_ids: vec![UserId::new()],
            change: TaskCommentChange::Deleted(crate::model::DeletedTaskComment { id: comment }),
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["action"], "deleted");
        assert_eq!(json["comment"], serde_json::json!({ "id": comment }));
        assert_eq!(json.get("change"), None);
        assert_eq!(serde_json::from_value::<DomainEvent>(json).unwrap(), event);

        let added = DomainEvent::ProjectMemberAdded {
            project_id: ProjectId::new(),
            project_name: "P".into(),
            user_id: UserId::new(),
            role: ProjectRole::Viewer,
            added_by: UserId::new(),
        };
        let json = serde_json::to_value(&added).unwrap();
        assert_eq!(json["role"], "viewer");
        assert_eq!(serde_json::from_value::<DomainEvent>(json).unwrap(), added);

        let notice = DomainEvent::CalendarNotice {
            kind: CalendarNoticeKind::Cancelled,
            event_id: "e".into(),
            calendar_event_id: CalendarEventId::new(),
            title: "T".into(),
            start_time: chrono::Utc::now(),
            organizer_id: UserId::new(),
            recipients: vec![],
            ics: None,
        };
        let json = serde_json::to_value(&notice).unwrap();
        assert_eq!(json["kind"], "cancelled");
        assert_eq!(serde_json::from_value::<DomainEvent>(json).unwrap(), notice);
    }
}
