//! The audit log: one append-only row per security-relevant action (sign-ins and their failures, password,
//! e-mail and second factor changes, ended sessions, administration, project deletions and member removals,
//! webhook changes).
//!
//! It lives here, beside the outbox, because several domain crates write it and they may not depend on each
//! other: each service calls [`append`] **inside the transaction of the action itself**, so an action is
//! logged exactly when it happened (a rolled-back change leaves no row, a committed one always has its row).
//! Rows are never updated (a database trigger refuses it); [`purge_before`] deletes those older than the
//! retention setting, in batches.
//!
//! Ids are UUIDv7 made from the row's own instant, so the primary key orders the log by time: pages run on it
//! (newest first), and a time range is an id range (plus an exact check of `at`).

use crate::StorageResult;
use crate::schema::audit_log;
use chrono::{DateTime, Utc};
use diesel::{
    ExpressionMethods as _, Insertable, QueryDsl as _, Queryable, Selectable, SelectableHelper as _,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use epop_core::{AccessTokenId, IncomingWebhookId, ProjectId, TokenFamilyId, UserId};
use serde::Serialize;
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! actions {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)*) => {
        /// What an audit row records.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
        pub enum AuditAction {
            $($(#[$doc])* #[serde(rename = $name)] $variant,)*
        }

        impl AuditAction {
            /// Every action, in the order of this list.
            pub const ALL: &'static [AuditAction] = &[$(AuditAction::$variant,)*];

            /// The stored and wire name, such as `auth.login`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(AuditAction::$variant => $name,)*
                }
            }
        }
    };
}

actions! {
    /// A sign-in succeeded (with a password, or a second factor completing one).
    Login => "auth.login",
    /// A sign-in failed: wrong e-mail or password, a wrong second factor, a deactivated account, or a single
    /// sign-on refused (details `method: oidc`, the provider and the reason).
    LoginFailed => "auth.login_failed",
    /// Single sign-on linked a provider's identity to the account with its verified e-mail.
    SsoLinked => "auth.sso_linked",
    /// Single sign-on created an account for a provider's identity.
    SsoAccountCreated => "auth.sso_account_created",
    /// The user ended every session of theirs.
    LogoutAll => "auth.logout_all",
    /// The user ended one of their sessions.
    SessionEnded => "auth.session_ended",
    /// The user changed their password.
    PasswordChanged => "auth.password_changed",
    /// The user set a new password with a reset link.
    PasswordReset => "auth.password_reset",
    /// The user changed their e-mail address.
    EmailChanged => "auth.email_changed",
    /// The user turned the second factor on.
    MfaEnabled => "auth.mfa_enabled",
    /// The user turned the second factor off.
    MfaDisabled => "auth.mfa_disabled",
    /// A recovery code completed a sign-in.
    MfaRecoveryCodeUsed => "auth.mfa_recovery_code_used",
    /// An operator turned a user's second factor off from the command line.
    MfaReset => "admin.mfa_reset",
    /// An admin deactivated a user.
    UserDeactivated => "admin.user_deactivated",
    /// An admin reactivated a user.
    UserReactivated => "admin.user_reactivated",
    /// An admin changed a user's global role.
    RoleChanged => "admin.role_changed",
    /// An admin made a user set a new password.
    PasswordResetForced => "admin.password_reset_forced",
    /// A project was deleted.
    ProjectDeleted => "project.deleted",
    /// A member left or was removed from a project.
    ProjectMemberRemoved => "project.member_removed",
    /// A personal access token was created (by its owner, or by an admin for a bot).
    AccessTokenCreated => "auth.token_created",
    /// A personal access token was revoked.
    AccessTokenRevoked => "auth.token_revoked",
    /// An admin created a bot user.
    BotCreated => "admin.bot_created",
    /// A member created an incoming webhook in a conversation.
    IncomingWebhookCreated => "webhook.incoming_created",
    /// A member deleted an incoming webhook of a conversation.
    IncomingWebhookDeleted => "webhook.incoming_deleted",
    /// An outgoing webhook endpoint was created.
    WebhookCreated => "webhook.created",
    /// An outgoing webhook endpoint was changed (its URL, event types, description, or turned on or off).
    WebhookUpdated => "webhook.updated",
    /// An outgoing webhook endpoint was deleted.
    WebhookDeleted => "webhook.deleted",
    /// An outgoing webhook endpoint's signing secret was rotated.
    WebhookSecretRotated => "webhook.secret_rotated",
    /// An outgoing webhook endpoint was turned off because its receiver answered `410 Gone`.
    WebhookDisabled => "webhook.disabled",
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is no [`AuditAction`].
#[derive(Debug, thiserror::Error)]
#[error("unknown audit action")]
pub struct UnknownAction;

impl FromStr for AuditAction {
    type Err = UnknownAction;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|action| action.as_str() == s)
            .ok_or(UnknownAction)
    }
}

/// What an action was done to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditTarget {
    /// A user account.
    User(UserId),
    /// A signed-in session (a refresh token family).
    Session(TokenFamilyId),
    /// A project (deleted, or a member removed from it).
    Project(ProjectId),
    /// A personal access token.
    AccessToken(AccessTokenId),
    /// An incoming webhook.
    IncomingWebhook(IncomingWebhookId),
    /// An outgoing webhook endpoint.
    Webhook(Uuid),
}

impl AuditTarget {
    fn parts(self) -> (&'static str, Uuid) {
        match self {
            AuditTarget::User(id) => ("user", id.into_uuid()),
            AuditTarget::Session(id) => ("session", id.into_uuid()),
            AuditTarget::Project(id) => ("project", id.into_uuid()),
            AuditTarget::AccessToken(id) => ("access_token", id.into_uuid()),
            AuditTarget::IncomingWebhook(id) => ("incoming_webhook", id.into_uuid()),
            AuditTarget::Webhook(id) => ("webhook", id),
        }
    }
}

/// One action to log.
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    /// Who did it (`None`: the system or the command line, or nobody known, as a sign-in with an unknown
    /// e-mail).
    pub actor: Option<UserId>,
    /// What.
    pub action: AuditAction,
    /// To what.
    pub target: Option<AuditTarget>,
    /// From which client address (actions through the API).
    pub ip: Option<&'a str>,
    /// Facts of the action, never a secret (`{}` when none).
    pub details: serde_json::Value,
}

impl<'a> AuditEntry<'a> {
    /// `actor` did `action`, from `ip`, with no target or details yet.
    pub fn new(actor: Option<UserId>, action: AuditAction, ip: Option<&'a str>) -> Self {
        Self {
            actor,
            action,
            target: None,
            ip,
            details: serde_json::Value::Object(serde_json::Map::new()),
        }
    }

    /// The entry done to `target`.
    pub fn on(mut self, target: AuditTarget) -> Self {
        self.target = Some(target);
        self
    }

    /// The entry with these details.
    pub fn with(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

#[derive(Insertable)]
#[diesel(table_name = audit_log)]
struct NewAuditRow<'a> {
    id: Uuid,
    at: DateTime<Utc>,
    actor_id: Option<UserId>,
    action: &'a str,
    target_type: Option<&'a str>,
    target_id: Option<Uuid>,
    ip: Option<&'a str>,
    details: &'a serde_json::Value,
}

/// A stored audit row.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Serialize)]
#[diesel(table_name = audit_log, check_for_backend(diesel::pg::Pg))]
pub struct AuditRecord {
    /// UUIDv7 of `at`.
    pub id: Uuid,
    /// When.
    pub at: DateTime<Utc>,
    /// Who (`None`: the system, the command line, or nobody known).
    pub actor_id: Option<UserId>,
    /// What (an [`AuditAction`] name).
    pub action: String,
    /// The kind of what it was done to: `user`, `session`, `project`, `access_token`, `incoming_webhook` or
    /// `webhook`.
    pub target_type: Option<String>,
    /// The id of what it was done to.
    pub target_id: Option<Uuid>,
    /// The client's address.
    pub ip: Option<String>,
    /// Facts of the action.
    pub details: serde_json::Value,
}

/// The smallest UUIDv7 of the millisecond `at` falls in (every id made in or after that millisecond is at
/// least this).
pub fn id_floor(at: DateTime<Utc>) -> Uuid {
    let millis = u128::try_from(at.timestamp_millis()).unwrap_or(0);
    Uuid::from_u128(millis << 80)
}

/// A UUIDv7 whose timestamp is `at`'s millisecond.
fn id_at(at: DateTime<Utc>) -> Uuid {
    let secs = u64::try_from(at.timestamp()).unwrap_or(0);
    let nanos = at.timestamp_subsec_nanos();
    Uuid::new_v7(uuid::Timestamp::from_unix(uuid::NoContext, secs, nanos))
}

/// Appends `entry` at `at`; call it inside the transaction of the action.
pub async fn append(
    conn: &mut AsyncPgConnection,
    entry: &AuditEntry<'_>,
    at: DateTime<Utc>,
) -> StorageResult<()> {
    let (target_type, target_id) = entry.target.map(AuditTarget::parts).unzip();
    diesel::insert_into(audit_log::table)
        .values(NewAuditRow {
            id: id_at(at),
            at,
            actor_id: entry.actor,
            action: entry.action.as_str(),
            target_type,
            target_id,
            ip: entry.ip,
            details: &entry.details,
        })
        .execute(conn)
        .await?;
    Ok(())
}

/// Which rows a reader wants.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this actor's.
    pub actor: Option<UserId>,
    /// Only this action.
    pub action: Option<AuditAction>,
    /// Only those done to this id (a user, session or project).
    pub target: Option<Uuid>,
    /// Only those at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Only those before this instant.
    pub to: Option<DateTime<Utc>>,
}

/// Reading direction of [`page`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Newest first (the API).
    NewestFirst,
    /// Oldest first (the export).
    OldestFirst,
}

/// Up to `limit` rows matching `filter` past `after` (the last id of the previous page) in `order`.
pub async fn page(
    conn: &mut AsyncPgConnection,
    filter: &AuditFilter,
    after: Option<Uuid>,
    order: Order,
    limit: i64,
) -> StorageResult<Vec<AuditRecord>> {
    let mut query = audit_log::table
        .select(AuditRecord::as_select())
        .limit(limit)
        .into_boxed();
    query = match order {
        Order::NewestFirst => query.order(audit_log::id.desc()),
        Order::OldestFirst => query.order(audit_log::id.asc()),
    };
    if let Some(after) = after {
        query = match order {
            Order::NewestFirst => query.filter(audit_log::id.lt(after)),
            Order::OldestFirst => query.filter(audit_log::id.gt(after)),
        };
    }
    if let Some(actor) = filter.actor {
        query = query.filter(audit_log::actor_id.eq(actor));
    }
    if let Some(action) = filter.action {
        query = query.filter(audit_log::action.eq(action.as_str()));
    }
    if let Some(target) = filter.target {
        query = query.filter(audit_log::target_id.eq(target));
    }
    if let Some(from) = filter.from {
        query = query
            .filter(audit_log::id.ge(id_floor(from)))
            .filter(audit_log::at.ge(from));
    }
    if let Some(to) = filter.to {
        let past = to + chrono::Duration::milliseconds(1);
        query = query
            .filter(audit_log::id.lt(id_floor(past)))
            .filter(audit_log::at.lt(to));
    }
    Ok(query.load(conn).await?)
}

/// Deletes up to `batch` rows older than `before`; returns how many went.
pub async fn purge_before(
    conn: &mut AsyncPgConnection,
    before: DateTime<Utc>,
    batch: i64,
) -> StorageResult<usize> {
    let doomed: Vec<Uuid> = audit_log::table
        .select(audit_log::id)
        .filter(audit_log::id.lt(id_floor(before)))
        .order(audit_log::id.asc())
        .limit(batch)
        .load(conn)
        .await?;
    if doomed.is_empty() {
        return Ok(0);
    }
    Ok(
        diesel::delete(audit_log::table.filter(audit_log::id.eq_any(doomed)))
            .execute(conn)
            .await?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_names_round_trip_and_unknown_ones_are_refused() {
        for action in AuditAction::ALL {
            assert_eq!(action.as_str().parse::<AuditAction>().unwrap(), *action);
            assert_eq!(serde_json::to_value(action).unwrap(), action.as_str());
        }
        assert!("auth.nothing".parse::<AuditAction>().is_err());
    }

    #[test]
    fn ids_sort_by_their_instant_and_floors_bound_them() {
        let at = DateTime::parse_from_rfc3339("2026-12-09T10:00:00.123456Z")
            .unwrap()
            .to_utc();
        let id = id_at(at);
        assert!(id >= id_floor(at));
        assert!(id < id_floor(at + chrono::Duration::milliseconds(1)));
        assert!(id_at(at + chrono::Duration::milliseconds(1)) > id);
    }
}
