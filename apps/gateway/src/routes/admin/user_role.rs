//! # PUT /api/admin/users/{id}/role

use super::AdminUserDto;
use crate::error::{ApiError, Problem};
use crate::extract::{GlobalAdmin, Json, RequestClient};
use crate::routes::required;
use crate::state::AppState;
use actix_web::put;
use actix_web::web;
use epop_auth::Role;
use epop_core::UserId;
use serde::Deserialize;
use uuid::Uuid;

/// The new global role.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct RoleRequest {
    /// `admin` or `member`.
    #[garde(required)]
    #[schema(value_type = Role)]
    pub role: Option<Role>,
}

/// Changes an account's global role. Every session of the account ends (its tokens carry the role), so the
/// user signs in again with the new one. The same role changes nothing. Demoting the last active admin is
/// `409`.
#[utoipa::path(tag = "admin", security(("bearer" = [])), params(("id" = Uuid, Path)), request_body = RoleRequest,
    responses(
        (status = 200, description = "The account with its new role", body = AdminUserDto),
        (status = 401, body = Problem),
        (status = 404, description = "No such account, or the caller is not a global admin", body = Problem),
        (status = 409, description = "It would demote the last active admin", body = Problem),
        (status = 422, description = "`role` missing or not `admin` or `member`", body = Problem),
    ))]
#[put("/admin/users/{id}/role")]
pub(crate) async fn set_role(
    state: web::Data<AppState>,
    admin: GlobalAdmin,
    client: RequestClient,
    id: web::Path<Uuid>,
    body: Json<RoleRequest>,
) -> Result<web::Json<AdminUserDto>, ApiError> {
    let Json(body) = body;
    let role = required(body.role, "role")?;
    let user = state
        .auth
        .set_role(admin.0.id, UserId::from(id.into_inner()), role, &client.0)
        .await?;
    Ok(web::Json(user.into()))
}
