//! # POST /api/notifications/read-all

use crate::error::{ApiError, Problem};
use crate::extract::AuthUser;
use crate::state::AppState;
use actix_web::post;
use actix_web::{HttpResponse, web};

/// Marks all of the caller's notifications read.
#[utoipa::path(tag = "notifications", security(("bearer" = [])),
    responses((status = 204, description = "All read"), (status = 401, body = Problem)))]
#[post("/notifications/read-all")]
pub(crate) async fn read_all(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    state.notifications.read_all(user.id).await?;
    Ok(HttpResponse::NoContent().finish())
}
