//! # POST /api/conversations/{id}/unread

use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Json};
use crate::routes::required;
use crate::state::AppState;
use actix_web::post;
use actix_web::{HttpResponse, web};
use epop_core::{ConversationId, MessageId};
use serde::Deserialize;
use uuid::Uuid;

/// The message to mark unread.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct UnreadRequest {
    /// A live message this conversation shows (a top-level message, or a reply sent to the conversation).
    #[garde(required)]
    #[schema(value_type = Uuid)]
    pub message_id: Option<Uuid>,
}

/// Marks a message unread: the caller's read position moves to just before it (the one move that may go back),
/// and the caller's sockets get `message:read`.
#[utoipa::path(tag = "chat", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = UnreadRequest,
    responses(
        (status = 204, description = "The message and every later one are unread"),
        (status = 401, body = Problem),
        (status = 404, body = Problem),
        (status = 422, description = "No `message_id`, or not a live message this conversation shows", body = Problem),
    ))]
#[post("/conversations/{id}/unread")]
pub(crate) async fn unread(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: Json<UnreadRequest>,
) -> Result<HttpResponse, ApiError> {
    let Json(body) = body;
    let message = MessageId::from(required(body.message_id, "message_id")?);
    state
        .chat
        .mark_unread(user.id, ConversationId::from(id.into_inner()), message)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
