//! What the projects service takes and returns. Output types serialize to the contract's JSON shapes.

use chrono::{DateTime, Utc};
use epop_core::{LabelId, ProjectId, TaskCommentId, TaskId, UserId};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A stored value that is not one of an enum's names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown value `{0}`")]
pub struct UnknownValue(pub String);

macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every value, in the contract's order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and wire form.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                match value {
                    $($text => Ok($name::$variant),)+
                    other => Err(UnknownValue(other.to_owned())),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
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

string_enum!(
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

string_enum!(
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

/// Who is acting: a user and whether they are a global admin (who acts as `owner` on every project).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    /// The acting user's account.
    pub id: UserId,
    /// Whether the user's global role is `admin`.
    pub global_admin: bool,
}

/// A project member as a project lists them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProjectMember {
    /// The member's account.
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub user_id: UserId,
    /// Their role in the project.
    pub role: ProjectRole,
}

/// A project with its members.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Project {
    /// A UUIDv7: project ids sort by creation time.
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub id: ProjectId,
    /// 1..=200 characters.
    pub name: String,
    /// Free text (empty when not given).
    pub description: String,
    /// An owner of the project (its creator while they remain one).
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub owner_id: UserId,
    /// Where it stands.
    pub status: ProjectStatus,
    /// Everyone in it, in the order they joined.
    pub members: Vec<ProjectMember>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// A task of a project, as project members see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    /// Starts at 1 and increases on every change; the task's ETag (not part of the JSON body).
    #[serde(skip)]
    pub version: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// How far a task's direct subtasks are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Progress {
    /// Subtasks with status `done`.
    pub done: i64,
    /// All direct subtasks.
    pub total: i64,
}

/// What creating a project takes; its creator becomes its first owner.
#[derive(Debug, Clone, PartialEq)]
pub struct NewProject {
    /// Already checked by the caller to be 1..=200 characters.
    pub name: String,
    /// Free text; `None` is empty.
    pub description: Option<String>,
    /// Where it stands; `None` is `active`.
    pub status: Option<ProjectStatus>,
}

/// A partial change to a project: `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProjectChanges {
    /// Already checked by the caller to be 1..=200 characters.
    pub name: Option<String>,
    /// Free text; `Some("")` empties it.
    pub description: Option<String>,
    /// Any status may follow any other.
    pub status: Option<ProjectStatus>,
}

/// What creating a task takes.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTask {
    /// Already checked by the caller to be 1..=200 characters.
    pub title: String,
    /// Free text; `None` is empty.
    pub description: Option<String>,
    /// Where it stands; `None` is `todo`.
    pub status: Option<TaskStatus>,
    /// Who works on it; must be a member of the project.
    pub assigned_to: Option<UserId>,
    /// When it is due.
    pub due_date: Option<DateTime<Utc>>,
    /// The task it is a subtask of: a task of the same project, within the depth limit.
    pub parent_id: Option<TaskId>,
    /// Its labels: labels of the project.
    pub label_ids: Vec<LabelId>,
    /// Its recurrence rule (it then needs a due date).
    pub recurrence: Option<Recurrence>,
}

/// A partial change to a task: an outer `None` leaves a field as it is; `Some(None)` clears the assignee or
/// the due date.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskChanges {
    /// Already checked by the caller to be 1..=200 characters.
    pub title: Option<String>,
    /// Free text; `Some("")` empties it.
    pub description: Option<String>,
    /// Any status may follow any other.
    pub status: Option<TaskStatus>,
    /// A new assignee (a project member), or `Some(None)` to unassign.
    pub assigned_to: Option<Option<UserId>>,
    /// A new due date, or `Some(None)` to clear it.
    pub due_date: Option<Option<DateTime<Utc>>>,
    /// A new parent (same project, no cycle, within the depth limit), or `Some(None)` to make it top-level.
    pub parent_id: Option<Option<TaskId>>,
    /// Its labels from now on (labels of the project).
    pub label_ids: Option<Vec<LabelId>>,
    /// A new recurrence rule, or `Some(None)` to stop it.
    pub recurrence: Option<Option<Recurrence>>,
}

string_enum!(
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

/// Where a task goes on the board: a column, and its neighbours there (`None`: the end of the column).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskMove {
    /// The column (`None`: the task's own).
    pub status: Option<TaskStatus>,
    /// The task it goes right after.
    pub after_id: Option<TaskId>,
    /// The task it goes right before.
    pub before_id: Option<TaskId>,
}

/// A label of a project.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Label {
    /// A UUIDv7.
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub id: LabelId,
    /// The project it belongs to: labels are per project, and only its tasks carry it.
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub project_id: ProjectId,
    /// 1..=50 characters, unique in the project whatever the case.
    pub name: String,
    /// `#rrggbb`, lower case.
    pub colour: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

string_enum!(
    /// What deleting a task with subtasks does with them (`DELETE /api/tasks/:id?children=`).
    ChildrenChoice {
        /// Delete the whole subtree.
        Delete => "delete",
        /// Make the direct subtasks top-level tasks, and keep them.
        Detach => "detach",
    }
);

/// A comment on a task.
#[derive(Debug, Clone, PartialEq, Serialize)]
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

/// One change to one field of a task.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskActivity {
    /// Increases with every entry (the list's order).
    pub id: i64,
    /// The task that changed.
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub task_id: TaskId,
    /// Who made the change (`null` once their account is deleted).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<uuid::Uuid>))]
    pub actor_id: Option<UserId>,
    /// `created`, `title`, `description`, `status`, `assigned_to`, `due_date`, `parent_id`, `label_ids`,
    /// `position` or `recurrence`.
    pub field: String,
    /// The value before (any JSON value), as the task's JSON shows it (`null` for `created`).
    pub old_value: serde_json::Value,
    /// The value after (for `created`, the new task's title).
    pub new_value: serde_json::Value,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// The limits of projects and tasks (settings of the gateway).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectsSettings {
    /// Levels of a task tree, a top-level task counting as one (`EPOP_TASK_MAX_DEPTH`, default 5).
    pub max_task_depth: u32,
    /// Comments one task may carry (`EPOP_TASK_MAX_COMMENTS`, default 5,000).
    pub max_comments_per_task: u64,
    /// Labels one project may have (`EPOP_PROJECT_MAX_LABELS`, default 100).
    pub max_labels_per_project: u64,
    /// Labels one task may carry (`EPOP_TASK_MAX_LABELS`, default 20).
    pub max_labels_per_task: u64,
    /// Minutes before a task's due date at which its assignee is reminded (`EPOP_TASK_DUE_REMINDERS`, default
    /// the day before and at the due time: `1440,0`; `none`: no reminders).
    pub due_reminder_minutes: Vec<i32>,
}

impl Default for ProjectsSettings {
    fn default() -> Self {
        Self {
            max_task_depth: 5,
            max_comments_per_task: 5_000,
            max_labels_per_project: 100,
            max_labels_per_task: 20,
            due_reminder_minutes: vec![1440, 0],
        }
    }
}

/// The versions an update may apply to (from `If-Match`). An empty list matches nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfMatch(pub Vec<i64>);

/// Filters of a project's task list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProjectTaskFilter {
    /// Only tasks with this status.
    pub status: Option<TaskStatus>,
    /// Only tasks assigned to this user.
    pub assigned_to: Option<UserId>,
    /// Only tasks with this label.
    pub label: Option<LabelId>,
    /// Only tasks due at or after this moment.
    pub due_after: Option<DateTime<Utc>>,
    /// Only tasks due strictly before this moment.
    pub due_before: Option<DateTime<Utc>>,
    /// Only tasks whose title or description has every word of this text.
    pub text: Option<String>,
}

/// Filters of the task list across every project the caller can see.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskFilter {
    /// Only tasks assigned to this user.
    pub assigned_to: Option<UserId>,
    /// Only tasks with this status.
    pub status: Option<TaskStatus>,
    /// Only tasks due strictly before this moment (tasks without a due date are left out).
    pub due_before: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip_through_their_stored_form() {
        for role in ProjectRole::ALL {
            assert_eq!(role.as_str().parse::<ProjectRole>().unwrap(), *role);
            assert_eq!(serde_json::to_value(role).unwrap(), role.as_str());
        }
        for status in ProjectStatus::ALL {
            assert_eq!(status.as_str().parse::<ProjectStatus>().unwrap(), *status);
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
        for status in TaskStatus::ALL {
            assert_eq!(status.as_str().parse::<TaskStatus>().unwrap(), *status);
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
        assert!("boss".parse::<ProjectRole>().is_err());
    }
}
