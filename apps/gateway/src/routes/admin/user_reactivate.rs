//! # POST /api/admin/users/{id}/reactivate

use super::AdminUserDto;
use crate::error::{ApiError, Problem};
use crate::extract::{GlobalAdmin, RequestClient};
use crate::state::AppState;
use actix_web::post;
use actix_web::web;
use epop_core::UserId;
use uuid::Uuid;

/// Lets a deactivated account sign in again (its old sessions stay ended). An active account is left as it is.
#[utoipa::path(tag = "admin", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses(
        (status = 200, description = "Active", body = AdminUserDto),
        (status = 401, body = Problem),
        (status = 404, description = "No such account, or the caller is not a global admin", body = Problem),
    ))]
#[post("/admin/users/{id}/reactivate")]
pub(crate) async fn reactivate(
    state: web::Data<AppState>,
    admin: GlobalAdmin,
    client: RequestClient,
    id: web::Path<Uuid>,
) -> Result<web::Json<AdminUserDto>, ApiError> {
    let user = state
        .auth
        .reactivate_user(admin.0.id, UserId::from(id.into_inner()), &client.0)
        .await?;
    Ok(web::Json(user.into()))
}
