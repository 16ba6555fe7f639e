//! `/api/users`: one's own account, and the people directory.

pub mod get;
pub mod list;
pub mod me_get;
pub mod me_update;

use chrono::{DateTime, Utc};
use epop_auth::{Role, User, UserSummary};
use serde::Serialize;
use uuid::Uuid;

/// A user as its owner sees it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserDto {
    /// The user's id.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// E-mail address.
    pub email: String,
    /// Global role.
    pub role: Role,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<User> for UserDto {
    fn from(user: User) -> Self {
        Self {
            id: user.id.into_uuid(),
            name: user.name,
            email: user.email,
            role: user.role,
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}

/// What other users see of a user.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserSummaryDto {
    /// The user's id.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// E-mail address.
    pub email: String,
}

impl From<UserSummary> for UserSummaryDto {
    fn from(user: UserSummary) -> Self {
        Self {
            id: user.id.into_uuid(),
            name: user.name,
            email: user.email,
        }
    }
}

/// A page of users.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserPage {
    /// This page's users.
    pub items: Vec<UserSummaryDto>,
    /// Cursor of the next page; `null` on the last.
    pub next_cursor: Option<String>,
}
