//! # GET /api/conversations/{id}

use crate::error::{ApiError, Problem};
use crate::extract::AuthUser;
use crate::state::AppState;
use actix_web::get;
use actix_web::web;
use epop_chat::Conversation;
use epop_core::ConversationId;
use uuid::Uuid;

/// One of the caller's conversations (`404` for anyone else).
#[utoipa::path(tag = "chat", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = Conversation), (status = 401, body = Problem), (status = 404, body = Problem)))]
#[get("/conversations/{id}")]
pub(crate) async fn get(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<web::Json<Conversation>, ApiError> {
    Ok(web::Json(
        state
            .chat
            .conversation(user.id, ConversationId::from(id.into_inner()))
            .await?,
    ))
}
