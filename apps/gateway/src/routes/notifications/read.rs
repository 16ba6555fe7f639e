//! # POST /api/notifications/{id}/read

use crate::error::{ApiError, Problem};
use crate::extract::AuthUser;
use crate::state::AppState;
use actix_web::post;
use actix_web::{HttpResponse, web};
use epop_core::NotificationId;
use uuid::Uuid;

/// Marks one of the caller's notifications read (`404` for anyone else's).
#[utoipa::path(tag = "notifications", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 204, description = "Read"), (status = 401, body = Problem), (status = 404, body = Problem)))]
#[post("/notifications/{id}/read")]
pub(crate) async fn read(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    state
        .notifications
        .read(user.id, NotificationId::from(id.into_inner()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
