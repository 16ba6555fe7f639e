//! # POST /api/admin/users/{id}/deactivate

use super::AdminUserDto;
use crate::error::{ApiError, Problem};
use crate::extract::{GlobalAdmin, RequestClient};
use crate::state::AppState;
use actix_web::post;
use actix_web::web;
use epop_core::UserId;
use uuid::Uuid;

/// Deactivates an account: it cannot sign in (the right password answers `403`), and every session of it
/// ends now: refresh tokens revoked, access tokens refused on every node, sockets disconnected. What the user
/// wrote stays. Deactivating a deactivated account changes nothing. The last active admin cannot be
/// deactivated (`409`).
#[utoipa::path(tag = "admin", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses(
        (status = 200, description = "Deactivated", body = AdminUserDto),
        (status = 401, body = Problem),
        (status = 404, description = "No such account, or the caller is not a global admin", body = Problem),
        (status = 409, description = "It is the last active admin", body = Problem),
    ))]
#[post("/admin/users/{id}/deactivate")]
pub(crate) async fn deactivate(
    state: web::Data<AppState>,
    admin: GlobalAdmin,
    client: RequestClient,
    id: web::Path<Uuid>,
) -> Result<web::Json<AdminUserDto>, ApiError> {
    let user = state
        .auth
        .deactivate_user(admin.0.id, UserId::from(id.into_inner()), &client.0)
        .await?;
    Ok(web::Json(user.into()))
}
