//! # POST /api/admin/users/{id}/password-reset

use super::AdminUserDto;
use crate::error::{ApiError, Problem};
use crate::extract::{GlobalAdmin, RequestClient};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::post;
use actix_web::{HttpResponse, web};
use epop_core::UserId;
use uuid::Uuid;

/// Makes the account's owner set a new password: the current password stops working at once, every session
/// ends, earlier reset links stop working, and a new reset link is e-mailed to the account's address (when
/// SMTP is configured; otherwise the owner asks for one with `POST /api/auth/password-reset`).
#[utoipa::path(tag = "admin", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses(
        (status = 202, description = "The password no longer works; a reset link is on its way", body = AdminUserDto),
        (status = 401, body = Problem),
        (status = 404, description = "No such account, or the caller is not a global admin", body = Problem),
    ))]
#[post("/admin/users/{id}/password-reset")]
pub(crate) async fn force_reset(
    state: web::Data<AppState>,
    admin: GlobalAdmin,
    client: RequestClient,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let user = state
        .auth
        .force_password_reset(admin.0.id, UserId::from(id.into_inner()), &client.0)
        .await?;
    Ok(HttpResponse::build(StatusCode::ACCEPTED).json(AdminUserDto::from(user)))
}
