//! # DELETE /api/scheduled-messages/{id}

use crate::error::{ApiError, Problem};
use crate::extract::AuthUser;
use crate::state::AppState;
use actix_web::{HttpResponse, delete, web};
use epop_core::ScheduledMessageId;
use uuid::Uuid;

/// Cancels one of the caller's scheduled messages: it is never posted. Once it is being posted, `409`.
#[utoipa::path(tag = "chat", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses(
        (status = 204, description = "Cancelled"),
        (status = 401, body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "It is being posted", body = Problem),
    ))]
#[delete("/scheduled-messages/{id}")]
pub(crate) async fn cancel(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = ScheduledMessageId::from(id.into_inner());
    state.chat.cancel_scheduled(user.id, id).await?;
    Ok(HttpResponse::NoContent().finish())
}
