//! Domain types of accounts and sessions (what services return; not database rows, not wire DTOs).

use chrono::{DateTime, Utc};
use epop_core::UserId;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A user's global role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// May administer the whole workspace (acts as owner of every project).
    Admin,
    /// An ordinary user.
    Member,
}

impl Role {
    /// The stored and wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is neither `admin` nor `member`.
#[derive(Debug, thiserror::Error)]
#[error("unknown role `{0}`")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(Role::Admin),
            "member" => Ok(Role::Member),
            other => Err(UnknownRole(other.to_owned())),
        }
    }
}

/// An account as its owner sees it. Never carries the password hash.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    /// A UUIDv7: user ids sort by sign-up time.
    pub id: UserId,
    /// Shown to other users, 1..=100 characters.
    pub name: String,
    /// E-mail address, as the user typed it.
    pub email: String,
    /// `admin` (a global admin, who sees every project) or `member`; in the access token too.
    pub role: Role,
    /// Whether the owner proved control of `email` (a link sent to it was opened).
    pub email_verified: bool,
    /// A bot user: created by an admin (or with an incoming webhook), without a password; it acts only through
    /// access tokens.
    pub is_bot: bool,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
    /// When the account last changed.
    pub updated_at: DateTime<Utc>,
}

/// What other users see of an account.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserSummary {
    /// A UUIDv7: user ids sort by sign-up time.
    pub id: UserId,
    /// Shown to other users, 1..=100 characters.
    pub name: String,
    /// As the user typed it; the directory's prefix search also matches it.
    pub email: String,
}

/// A signed-in session: the user, a short-lived access token and a refresh token.
#[derive(Debug, Clone)]
pub struct Session {
    /// Who is signed in.
    pub user: User,
    /// The JWT access token.
    pub access_token: String,
    /// Lifetime of the access token, in seconds.
    pub expires_in: i64,
    /// The opaque refresh token (shown to the client once; stored only hashed).
    pub refresh_token: String,
    /// When the refresh token expires.
    pub refresh_expires_at: DateTime<Utc>,
}

/// Input for creating an account (validated by the caller's input layer and again by the service).
#[derive(Debug)]
pub struct NewAccount {
    /// Display name, 1..=100 characters.
    pub name: String,
    /// Unique regardless of case; kept as typed.
    pub email: String,
    /// Password, 8..=128 characters.
    pub password: SecretString,
    /// `member` at sign-up; `admin` only from the command line or the configured admin.
    pub role: Role,
}

/// A partial update of one's own profile. Changing `email` or `password` needs `current_password`.
#[derive(Debug, Default)]
pub struct ProfileChanges {
    /// 1..=100 characters; not sensitive, so sessions live on.
    pub name: Option<String>,
    /// Unique regardless of case; a different one ends every session issued before.
    pub email: Option<String>,
    /// 8..=128 characters; ends every session issued before.
    pub password: Option<SecretString>,
    /// The current password, proving the caller knows it.
    pub current_password: Option<SecretString>,
}

/// Where a request comes from, as the audit log and the sessions list record it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    /// The client's IP address.
    pub ip: Option<String>,
    /// Its `User-Agent`, cut to 512 characters.
    pub user_agent: Option<String>,
}

impl ClientInfo {
    /// The longest user agent kept.
    pub const MAX_USER_AGENT: usize = 512;

    /// A client at `ip` sending `user_agent` (cut to [`Self::MAX_USER_AGENT`] characters, control characters
    /// dropped).
    pub fn new(ip: Option<String>, user_agent: Option<&str>) -> Self {
        let user_agent = user_agent
            .map(|agent| {
                agent
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(Self::MAX_USER_AGENT)
                    .collect::<String>()
            })
            .filter(|agent| !agent.is_empty());
        Self { ip, user_agent }
    }

    /// A caller with no address (the command line, tests).
    pub fn none() -> Self {
        Self::default()
    }
}

/// A signed-in session as its owner lists it (one per sign-in: a refresh token family).
#[derive(Debug, Clone, PartialEq)]
pub struct SessionInfo {
    /// The session's id (`DELETE /api/auth/sessions/:id`).
    pub id: epop_core::TokenFamilyId,
    /// When it signed in.
    pub created_at: DateTime<Utc>,
    /// The last sign-in or refresh.
    pub last_used_at: DateTime<Utc>,
    /// The client's address at the last sign-in or refresh.
    pub ip: Option<String>,
    /// The client's user agent at the last sign-in or refresh.
    pub user_agent: Option<String>,
    /// Whether it is the caller's own session.
    pub current: bool,
}

/// An account as global admins see it.
#[derive(Debug, Clone, PartialEq)]
pub struct AdminUser {
    /// The account as its owner sees it (`GET /api/users/me`).
    pub user: User,
    /// When it was deactivated; `None` while active.
    pub deactivated_at: Option<DateTime<Utc>>,
    /// Whether the second factor is on.
    pub mfa_enabled: bool,
}
