//! `/api/admin`: what global admins do (accounts and the audit log). Every route takes [`GlobalAdmin`]: for
//! anyone else the whole API answers `404`, as if it did not exist.
//!
//! [`GlobalAdmin`]: crate::extract::GlobalAdmin

pub mod audit_log;
pub mod bots;
pub mod user_deactivate;
pub mod user_get;
pub mod user_password_reset;
pub mod user_reactivate;
pub mod user_role;
pub mod users_list;

use chrono::{DateTime, Utc};
use epop_auth::{AdminUser, Role};
use epop_core::UserId;
use serde::Serialize;

/// An account as admins see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AdminUserDto {
    /// A UUIDv7: user ids sort by sign-up time.
    #[schema(value_type = uuid::Uuid)]
    pub id: UserId,
    /// Shown to other users.
    pub name: String,
    /// The account's e-mail address.
    pub email: String,
    /// Global role.
    pub role: Role,
    /// Whether the owner proved control of `email`.
    pub email_verified: bool,
    /// Whether the account is a bot (no password; acts through access tokens only).
    pub is_bot: bool,
    /// Whether the second factor is on.
    pub mfa_enabled: bool,
    /// Whether the account may sign in (`false` once deactivated).
    pub active: bool,
    /// When it was deactivated; `null` while active.
    pub deactivated_at: Option<DateTime<Utc>>,
    /// When the account was registered.
    pub created_at: DateTime<Utc>,
    /// When the account last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<AdminUser> for AdminUserDto {
    fn from(admin: AdminUser) -> Self {
        Self {
            id: admin.user.id,
            name: admin.user.name,
            email: admin.user.email,
            role: admin.user.role,
            email_verified: admin.user.email_verified,
            is_bot: admin.user.is_bot,
            mfa_enabled: admin.mfa_enabled,
            active: admin.deactivated_at.is_none(),
            deactivated_at: admin.deactivated_at,
            created_at: admin.user.created_at,
            updated_at: admin.user.updated_at,
        }
    }
}

/// A page of accounts (`GET /api/admin/users`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AdminUserPage {
    /// By lower-cased name, then id.
    pub items: Vec<AdminUserDto>,
    /// Cursor of the next page; `null` on the last.
    pub next_cursor: Option<String>,
}
