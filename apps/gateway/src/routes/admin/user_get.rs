//! # GET /api/admin/users/{id}

use super::AdminUserDto;
use crate::error::{ApiError, Problem};
use crate::extract::GlobalAdmin;
use crate::state::AppState;
use actix_web::get;
use actix_web::web;
use epop_core::UserId;
use uuid::Uuid;

/// One account as admins see it.
#[utoipa::path(tag = "admin", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = AdminUserDto),
        (status = 401, body = Problem),
        (status = 404, description = "No such account, or the caller is not a global admin", body = Problem),
    ))]
#[get("/admin/users/{id}")]
pub(crate) async fn get(
    state: web::Data<AppState>,
    _admin: GlobalAdmin,
    id: web::Path<Uuid>,
) -> Result<web::Json<AdminUserDto>, ApiError> {
    let user = state.auth.admin_user(UserId::from(id.into_inner())).await?;
    Ok(web::Json(user.into()))
}
