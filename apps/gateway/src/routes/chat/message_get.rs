//! # GET /api/messages/{id}

use crate::error::{ApiError, Problem};
use crate::extract::AuthUser;
use crate::state::AppState;
use actix_web::get;
use actix_web::web;
use epop_chat::Message;
use epop_core::MessageId;
use uuid::Uuid;

/// A message of one of the caller's conversations.
#[utoipa::path(tag = "chat", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = Message), (status = 401, body = Problem), (status = 404, body = Problem)))]
#[get("/messages/{id}")]
pub(crate) async fn get(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<web::Json<Message>, ApiError> {
    Ok(web::Json(
        state
            .chat
            .message(user.id, MessageId::from(id.into_inner()))
            .await?,
    ))
}
