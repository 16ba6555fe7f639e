//! # POST /api/conversations/{id}/read

use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, OptionalJson};
use crate::state::AppState;
use actix_web::post;
use actix_web::{HttpResponse, web};
use epop_core::{ConversationId, MessageId};
use serde::Deserialize;
use uuid::Uuid;

/// The last message read.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct ReadRequest {
    /// A message of this conversation; without it (or with an empty body), the newest one.
    #[garde(skip)]
    pub message_id: Option<Uuid>,
}

/// Moves the caller's read position forward (never back) and tells the other members.
#[utoipa::path(tag = "chat", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body(content = Option<ReadRequest>, description = "Optional"),
    responses(
        (status = 204, description = "Read position moved (or already further)"),
        (status = 401, body = Problem),
        (status = 404, body = Problem),
        (status = 422, description = "A message of another conversation", body = Problem),
    ))]
#[post("/conversations/{id}/read")]
pub(crate) async fn read(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: OptionalJson<ReadRequest>,
) -> Result<HttpResponse, ApiError> {
    let conversation = ConversationId::from(id.into_inner());
    let message = match body.0.and_then(|b| b.message_id) {
        Some(message) => Some(MessageId::from(message)),
        None => state
            .chat
            .conversation(user.id, conversation)
            .await?
            .last_message
            .map(|m| m.id),
    };
    if let Some(message) = message {
        state.chat.mark_read(user.id, conversation, message).await?;
    }
    Ok(HttpResponse::NoContent().finish())
}
