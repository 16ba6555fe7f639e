//! `/api/users`: one's own account, and the people directory.

pub mod get;
pub mod list;
pub mod me_get;
pub mod me_update;
pub mod tokens;

use chrono::{DateTime, Utc};
use epop_auth::{Role, User, UserSummary};
use epop_core::UserId;
use serde::Serialize;

/// A user as its owner sees it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserDto {
    /// A UUIDv7: user ids sort by sign-up time.
    #[schema(value_type = uuid::Uuid)]
    pub id: UserId,
    /// Shown to other users, 1..=100 characters.
    pub name: String,
    /// Unique across accounts (compared case-insensitively), at most 254 characters.
    pub email: String,
    /// Global role: an `admin` acts as `owner` on every project.
    pub role: Role,
    /// Whether the owner proved control of `email` by opening a link sent to it (`POST /api/auth/verify-email`).
    /// No notification e-mail goes to an unverified address; `EPOP_REQUIRE_VERIFIED_EMAIL` makes it a condition
    /// of signing in. A new e-mail starts unverified.
    pub email_verified: bool,
    /// Whether the account is a bot: made by an admin (`POST /api/admin/bots`) or with an incoming webhook,
    /// it has no password, cannot sign in, and acts only through access tokens an admin issues for it (a bot's
    /// `email` is `{username}@bots.invalid`, never mailed).
    pub is_bot: bool,
    /// When the account was registered.
    pub created_at: DateTime<Utc>,
    /// When the name, e-mail or password last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<User> for UserDto {
    fn from(user: User) -> Self {
        Self {
            id: user.id,
            name: user.name,
            email: user.email,
            role: user.role,
            email_verified: user.email_verified,
            is_bot: user.is_bot,
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}

/// What other users see of a user.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserSummaryDto {
    /// A UUIDv7: user ids sort by sign-up time.
    #[schema(value_type = uuid::Uuid)]
    pub id: UserId,
    /// Shown to other users, 1..=100 characters.
    pub name: String,
    /// What people search for besides the name (`GET /api/users?query=`).
    pub email: String,
}

impl From<UserSummary> for UserSummaryDto {
    fn from(user: UserSummary) -> Self {
        Self {
            id: user.id,
            name: user.name,
            email: user.email,
        }
    }
}

/// A page of the people directory (`GET /api/users`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserPage {
    /// By lower-cased name, then id.
    pub items: Vec<UserSummaryDto>,
    /// Cursor of the next page; `null` on the last.
    pub next_cursor: Option<String>,
}
