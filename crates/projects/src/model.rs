//! What the projects service takes and returns. Output types serialize to the contract's JSON shapes.

use chrono::{DateTime, Utc};
use epop_core::{LabelId, ProjectId, TaskId, UserId};
use serde::Serialize;

pub use epop_core::model::{
    DeletedTaskComment, Frequency, Progress, ProjectRole, ProjectStatus, Recurrence, Task, TaskComment,
    TaskCommentChange, TaskStatus, UnknownValue,
};

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

epop_core::wire_enum!(
    /// What deleting a task with subtasks does with them (`DELETE /api/tasks/:id?children=`).
    ChildrenChoice {
        /// Delete the whole subtree.
        Delete => "delete",
        /// Make the direct subtasks top-level tasks, and keep them.
        Detach => "detach",
    }
);

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
    /// The value before (any JSON value), as the task's JSON shows it (`null` for `created`). Free-form on
    /// purpose: its type is the type of `field`'s value (a string, a date, an id, a list of ids …), and rows keep
    /// the form each field had when they were written.
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
        for choice in ChildrenChoice::ALL {
            assert_eq!(choice.as_str().parse::<ChildrenChoice>().unwrap(), *choice);
            assert_eq!(serde_json::to_value(choice).unwrap(), choice.as_str());
        }
        assert!("boss".parse::<ProjectRole>().is_err());
    }
}
