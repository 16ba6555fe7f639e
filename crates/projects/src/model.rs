//! What the projects service takes and returns. Output types serialize to the contract's JSON shapes.

use chrono::{DateTime, Utc};
use epop_core::{ProjectId, TaskId, UserId};
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
    /// Starts at 1 and increases on every change; the task's ETag (not part of the JSON body).
    #[serde(skip)]
    pub version: i64,
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
