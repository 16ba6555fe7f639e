//! Who may do what in a project: the one place that decides.
//!
//! The service resolves the caller's role with [`effective_role`] (a global admin acts as `owner` on every
//! project) and asks [`allowed`]. No role at all means the project is invisible: `NotFound`. A role that does
//! not allow the action means `Forbidden`.

use crate::model::ProjectRole;

/// Something a caller may want to do in a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// See the project, its members and its tasks.
    View,
    /// Change the project's name, description or status.
    UpdateProject,
    /// Delete the project and its tasks.
    DeleteProject,
    /// Add members, change roles other than `owner`, remove other members who are not owners.
    ManageMembers,
    /// Grant `owner`, or demote or remove an owner.
    ManageOwners,
    /// Leave the project oneself.
    Leave,
    /// Create, update and delete tasks.
    EditTasks,
    /// Comment on tasks (and edit or delete one's own comments).
    Comment,
    /// Create, see, change and delete the project's outgoing webhooks (they carry its content elsewhere).
    ManageWebhooks,
}

impl Action {
    /// Every action, for exhaustive tests.
    pub const ALL: [Action; 9] = [
        Action::View,
        Action::UpdateProject,
        Action::DeleteProject,
        Action::ManageMembers,
        Action::ManageOwners,
        Action::Leave,
        Action::EditTasks,
        Action::Comment,
        Action::ManageWebhooks,
    ];
}

/// The role the caller acts with: their membership, or `owner` for a global admin; `None` for someone who
/// may not see the project at all.
pub fn effective_role(membership: Option<ProjectRole>, global_admin: bool) -> Option<ProjectRole> {
    if global_admin {
        Some(ProjectRole::Owner)
    } else {
        membership
    }
}

/// Whether `role` (`None`: not a member) allows `action`.
pub fn allowed(role: Option<ProjectRole>, action: Action) -> bool {
    use ProjectRole::{Admin, Member, Owner, Viewer};
    let Some(role) = role else {
        return false;
    };
    match action {
        Action::View | Action::Leave => true,
        Action::UpdateProject | Action::ManageMembers | Action::ManageWebhooks => {
            matches!(role, Owner | Admin)
        }
        Action::DeleteProject | Action::ManageOwners => role == Owner,
        Action::EditTasks | Action::Comment => match role {
            Owner | Admin | Member => true,
            Viewer => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;

    /// The whole matrix, written out: rows are actions, columns owner, admin, member, viewer, non-member.
    const MATRIX: [(Action, [bool; 5]); 9] = [
        (View, [true, true, true, true, false]),
        (UpdateProject, [true, true, false, false, false]),
        (DeleteProject, [true, false, false, false, false]),
        (ManageMembers, [true, true, false, false, false]),
        (ManageOwners, [true, false, false, false, false]),
        (Leave, [true, true, true, true, false]),
        (EditTasks, [true, true, true, false, false]),
        (Comment, [true, true, true, false, false]),
        (ManageWebhooks, [true, true, false, false, false]),
    ];

    const ROLES: [Option<ProjectRole>; 5] = [
        Some(ProjectRole::Owner),
        Some(ProjectRole::Admin),
        Some(ProjectRole::Member),
        Some(ProjectRole::Viewer),
        None,
    ];

    #[test]
    fn the_matrix_covers_every_action() {
        for action in Action::ALL {
            assert!(MATRIX.iter().any(|(a, _)| *a == action), "{action:?} missing");
        }
    }

    #[test]
    fn members_get_exactly_the_matrix() {
        for (action, expected) in MATRIX {
            for (role, expected) in ROLES.iter().zip(expected) {
                assert_eq!(
                    allowed(effective_role(*role, false), action),
                    expected,
                    "{role:?} {action:?}"
                );
            }
        }
    }

    #[test]
    fn a_global_admin_acts_as_owner_on_every_project() {
        for role in ROLES {
            assert_eq!(effective_role(role, true), Some(ProjectRole::Owner));
            for action in Action::ALL {
                assert!(allowed(effective_role(role, true), action), "{role:?} {action:?}");
            }
        }
    }
}
