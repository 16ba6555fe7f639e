//! # GET /api/admin/audit-log

use crate::error::{ApiError, Problem};
use crate::extract::{GlobalAdmin, Query, page_request};
use crate::state::AppState;
use actix_web::get;
use actix_web::web;
use chrono::{DateTime, Utc};
use epop_core::{FieldError, UserId};
use epop_storage::audit::{AuditAction, AuditFilter, AuditRecord};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Filters and paging of the audit log.
#[derive(Debug, Deserialize, garde::Validate, utoipa::IntoParams)]
pub struct AuditLogQuery {
    /// Only what this user did.
    #[garde(skip)]
    pub actor: Option<Uuid>,
    /// Only this action, such as `auth.login` (the list is in docs/api.md).
    #[garde(length(chars, max = 64))]
    #[param(value_type = Option<AuditActionName>, inline)]
    pub action: Option<String>,
    /// Only what was done to this id (a user, a session or a project).
    #[garde(skip)]
    pub target: Option<Uuid>,
    /// Only at or after this RFC 3339 instant.
    #[garde(skip)]
    pub from: Option<DateTime<Utc>>,
    /// Only before this RFC 3339 instant (a `to` not after `from` selects nothing).
    #[garde(skip)]
    pub to: Option<DateTime<Utc>>,
    /// Page size, 1..=100 (default 50).
    #[garde(range(min = 1, max = 100))]
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u16>,
    /// Cursor from the previous page.
    #[garde(skip)]
    pub cursor: Option<String>,
}

/// The name of an audit action (the schema of the `action` filter: one of the actions the log records).
pub struct AuditActionName;

impl utoipa::PartialSchema for AuditActionName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(AuditAction::ALL.iter().map(|action| action.as_str())))
            .into()
    }
}

impl utoipa::ToSchema for AuditActionName {}

/// One audit row.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditEntryDto {
    /// A UUIDv7 of `at`.
    pub id: Uuid,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who did it; `null` for the system, the command line, or a failed sign-in (whoever tried is unknown).
    #[schema(value_type = Option<uuid::Uuid>)]
    pub actor_id: Option<UserId>,
    /// What was done, such as `auth.login` or `admin.user_deactivated`.
    pub action: String,
    /// The kind of what it was done to: `user`, `session`, `project` or `webhook`.
    pub target_type: Option<String>,
    /// The id of what it was done to.
    pub target_id: Option<Uuid>,
    /// The client's IP address.
    pub ip: Option<String>,
    /// Facts of the action (such as `{"from": "member", "to": "admin"}` for a role change); never a secret.
    /// Free-form on purpose: each action records its own facts, and the log keeps rows of every version.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

impl From<AuditRecord> for AuditEntryDto {
    fn from(record: AuditRecord) -> Self {
        Self {
            id: record.id,
            at: record.at,
            actor_id: record.actor_id,
            action: record.action,
            target_type: record.target_type,
            target_id: record.target_id,
            ip: record.ip,
            details: record.details,
        }
    }
}

/// A page of the audit log.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    /// Newest first.
    pub items: Vec<AuditEntryDto>,
    /// Cursor of the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// The audit log, newest first: sign-ins and their failures, password, e-mail and second factor changes, ended
/// sessions, role changes, deactivations, forced password resets, project deletions and member removals. Each
/// row was written in the same transaction as its action. Rows older than `EPOP_AUDIT_RETENTION_DAYS` are
/// deleted.
#[utoipa::path(tag = "admin", security(("bearer" = [])), params(AuditLogQuery),
    responses(
        (status = 200, body = AuditPage),
        (status = 400, description = "Bad cursor", body = Problem),
        (status = 401, body = Problem),
        (status = 404, description = "The caller is not a global admin", body = Problem),
        (status = 422, description = "An unknown `action`, a malformed id or instant, or a bad `limit`", body = Problem),
    ))]
#[get("/admin/audit-log")]
pub(crate) async fn list(
    state: web::Data<AppState>,
    _admin: GlobalAdmin,
    query: Query<AuditLogQuery>,
) -> Result<web::Json<AuditPage>, ApiError> {
    let Query(query) = query;
    let mut errors = Vec::new();
    let action = match query.action.as_deref().filter(|a| !a.is_empty()) {
        Some(name) => match name.parse::<AuditAction>() {
            Ok(action) => Some(action),
            Err(_) => {
                errors.push(FieldError::new("action", "is not an audit action"));
                None
            }
        },
        None => None,
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let filter = AuditFilter {
        actor: query.actor.map(UserId::from),
        action,
        target: query.target,
        from: query.from,
        to: query.to,
    };
    let page = page_request(query.limit, query.cursor);
    let page = state.auth.audit_log(&filter, &page).await?;
    Ok(web::Json(AuditPage {
        items: page.items.into_iter().map(AuditEntryDto::from).collect(),
        next_cursor: page.next_cursor,
    }))
}
