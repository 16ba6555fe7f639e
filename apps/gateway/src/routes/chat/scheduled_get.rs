//! # GET /api/scheduled-messages/{id}

use crate::error::{ApiError, Problem};
use crate::extract::AuthUser;
use crate::state::AppState;
use actix_web::get;
use actix_web::web;
use epop_chat::ScheduledMessage;
use epop_core::ScheduledMessageId;
use uuid::Uuid;

/// One of the caller's scheduled messages while it waits (`404` for anyone else's, and once it is posted or
/// cancelled).
#[utoipa::path(tag = "chat", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = ScheduledMessage), (status = 401, body = Problem), (status = 404, body = Problem)))]
#[get("/scheduled-messages/{id}")]
pub(crate) async fn get(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<web::Json<ScheduledMessage>, ApiError> {
    let id = ScheduledMessageId::from(id.into_inner());
    Ok(web::Json(state.chat.scheduled_message(user.id, id).await?))
}
