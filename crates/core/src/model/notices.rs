//! The kinds of notifications, and of the calendar notices that become some of them.

crate::wire_enum!(
    /// What a notification is about; its `payload` depends on it (`docs/api.md`, Notifications).
    NotificationKind {
        /// New messages in a conversation (coalesced: one unread notification per conversation).
        Message => "message",
        /// A message mentions the user (by name, `<!here>` or `<!all>`).
        Mention => "mention",
        /// A task was assigned to the user.
        TaskAssigned => "task_assigned",
        /// The user was added to a project.
        ProjectMemberAdded => "project_member_added",
        /// One of the user's scheduled messages could not be posted.
        ScheduledMessageFailed => "scheduled_message_failed",
        /// One of the user's reminders came due.
        Reminder => "reminder",
        /// The user was invited to a calendar event.
        CalendarInvited => "calendar_invited",
        /// A calendar event the user attends changed.
        CalendarUpdated => "calendar_updated",
        /// A calendar event the user attends was cancelled, or the user was removed from it.
        CalendarCancelled => "calendar_cancelled",
        /// A calendar event the user attends starts soon.
        CalendarReminder => "calendar_reminder",
        /// A task assigned to the user is due soon (or now).
        TaskDue => "task_due",
        /// A task the user watches has a new comment.
        TaskComment => "task_comment",
        /// A comment on a task mentions the user.
        TaskMention => "task_mention",
    }
);

crate::wire_enum!(
    /// Why a calendar event's attendees hear of it ([`crate::DomainEvent::CalendarNotice`]).
    CalendarNoticeKind {
        /// They were invited.
        Invited => "invited",
        /// It changed.
        Updated => "updated",
        /// It was cancelled, or they were removed from it.
        Cancelled => "cancelled",
        /// One of their reminders of it is due.
        Reminder => "reminder",
    }
);

impl CalendarNoticeKind {
    /// The kind of the notifications the notice becomes.
    pub fn notification_kind(self) -> NotificationKind {
        match self {
            CalendarNoticeKind::Invited => NotificationKind::CalendarInvited,
            CalendarNoticeKind::Updated => NotificationKind::CalendarUpdated,
            CalendarNoticeKind::Cancelled => NotificationKind::CalendarCancelled,
            CalendarNoticeKind::Reminder => NotificationKind::CalendarReminder,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_their_stored_words_on_the_wire() {
        for kind in NotificationKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
            assert_eq!(kind.as_str().parse::<NotificationKind>().unwrap(), *kind);
        }
        for kind in CalendarNoticeKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
            assert_eq!(
                kind.notification_kind().as_str(),
                format!("calendar_{}", kind.as_str())
            );
        }
        assert_eq!(
            serde_json::from_value::<NotificationKind>(serde_json::json!("task_mention")).unwrap(),
            NotificationKind::TaskMention
        );
        assert!("boss".parse::<NotificationKind>().is_err());
    }
}
