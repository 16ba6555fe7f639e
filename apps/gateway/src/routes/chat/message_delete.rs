//! # DELETE /api/messages/{id}

use crate::error::{ApiError, Problem};
use crate::extract::AuthUser;
use crate::state::AppState;
use actix_web::delete;
use actix_web::{HttpResponse, web};
use epop_core::MessageId;
use uuid::Uuid;

/// Deletes the caller's own message; its files are removed in the background.
#[utoipa::path(tag = "chat", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 204, description = "Deleted"), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
#[delete("/messages/{id}")]
pub(crate) async fn delete(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    state
        .chat
        .delete(user.id, MessageId::from(id.into_inner()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
