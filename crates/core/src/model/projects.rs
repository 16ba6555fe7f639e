//! The wire types of projects and tasks that domain events carry (`task:updated`, `task:comment`,
//! `project_member_added`): the same types the projects service answers with.

use crate::id::{LabelId, ProjectId, TaskCommentId, TaskId, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

crate::wire_enum!(
    /// A member's role in one project.
    ProjectRole {
        /// Everything, including deleting the project and granting or taking `owner`.
        Owner => "owner",
        /// Changes the project and its members (but not owners) and works on tasks.
        Admin => "admin",
        /// Works on tasks.
        Member => "member",
        /// Reads only.
        Viewer => "viewer",
    }
);

crate::wire_enum!(
    /// Where a project stands.
    ProjectStatus {
        /// In progress (the default).
        Active => "active",
        /// Paused.
        OnHold => "on_hold",
        /// Done.
        Completed => "completed",
        /// Kept for reference.
        Archived => "archived",
    }
);

crate::wire_enum!(
    /// Where a task stands. Every status but `done` is open.
    TaskStatus {
        /// Not started (the default).
        Todo => "todo",
        /// Being worked on.
        InProgress => "in_progress",
        /// Waiting for review.
        InReview => "in_review",
        /// Finished.
        Done => "done",
    }
);

crate::wire_enum!(
    /// How often a recurring task comes back.
    Frequency {
        /// Every `interval` days.
        Daily => "daily",
        /// Every `interval` weeks.
        Weekly => "weekly",
        /// Every `interval` months (the same day, or the month's last day when it has fewer).
        Monthly => "monthly",
        /// Every `interval` years.
        Yearly => "yearly",
    }
);

/// A recurring task's rule: when it is done, the next one is due `interval` `frequency` units after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Recurrence {
    /// `daily`, `weekly`, `monthly` or `yearly`.
    pub frequency: Frequency,
    /// 1..=365.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 365))]
    pub interval: u16,
}

impl Recurrence {
    /// The due date after `due`, if it can be represented.
    pub fn next(self, due: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let n = u32::from(self.interval);
        match self.frequency {
            Frequency::Daily => due.checked_add_days(chrono::Days::new(u64::from(n))),
            Frequency::Weekly => due.checked_add_days(chrono::Days::new(7 * u64::from(n))),
            Frequency::Monthly => due.checked_add_months(chrono::Months::new(n)),
            Frequency::Yearly => due.checked_add_months(chrono::Months::new(n.checked_mul(12)?)),
        }
    }
}

/// How far a task's direct subtasks are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Progress {
    /// Subtasks with status `done`.
    pub done: i64,
    /// All direct subtasks.
    pub total: i64,
}

/// A task of a project, as project members see it (the REST answers and `task:updated`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Task {
    /// A UUIDv7: task ids sort by creation time.
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub id: TaskId,
    /// The project it belongs to; it is deleted with it.
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub project_id: ProjectId,
    /// 1..=200 characters.
    pub title: String,
    /// Free text (empty when not given).
    pub description: String,
    /// Where it stands.
    pub status: TaskStatus,
    /// Who works on it, if anyone.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<uuid::Uuid>))]
    pub assigned_to: Option<UserId>,
    /// When it is due, if ever.
    pub due_date: Option<DateTime<Utc>>,
    /// The task it is a subtask of (in the same project), if any.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<uuid::Uuid>))]
    pub parent_id: Option<TaskId>,
    /// How far its direct subtasks are: `{done, total}` (`{0, 0}` without subtasks).
    pub progress: Progress,
    /// Its labels (labels of its project), in id order.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<uuid::Uuid>))]
    pub label_ids: Vec<LabelId>,
    /// Its rank within its status column of the board: tasks sort by `position` (bytewise), then `id`.
    pub position: String,
    /// Its recurrence rule: completing it creates the next task.
    pub recurrence: Option<Recurrence>,
    /// The recurring task whose completion created it.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<uuid::Uuid>))]
    pub recurred_from: Option<TaskId>,
    /// Starts at 1 and increases on every change; the task's ETag (not part of the JSON body, so `0` in a
    /// task read back from an event).
    #[serde(skip)]
    pub version: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// A comment on a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskComment {
    /// A UUIDv7.
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub id: TaskCommentId,
    /// The task it is on.
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub task_id: TaskId,
    /// Who wrote it; only they edit or delete it.
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub author_id: UserId,
    /// 1..=10,000 characters; `<@USER_ID>` mentions a project member.
    pub body: String,
    /// The project members the body mentions (never the author), in the order they first appear.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<uuid::Uuid>))]
    pub mentions: Vec<UserId>,
    /// When it was posted.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When its author last edited it, if ever.
    pub edited_at: Option<DateTime<Utc>>,
}

/// A comment that was deleted, as `task:comment` names it: its id only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletedTaskComment {
    /// The comment's id.
    pub id: TaskCommentId,
}

/// What happened to a task comment, with the comment as members see it. Serialized as `{"action", "comment"}`
/// (`action` one of `created`, `updated`, `deleted`), the fields of `task:comment` and of the comment webhooks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", content = "comment", rename_all = "snake_case")]
pub enum TaskCommentChange {
    /// It was posted.
    Created(TaskComment),
    /// Its author edited it.
    Updated(TaskComment),
    /// Its author deleted it.
    Deleted(DeletedTaskComment),
}
