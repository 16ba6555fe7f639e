//! # PUT /api/messages/{id}

use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Json};
use crate::routes::required;
use crate::state::AppState;
use actix_web::put;
use actix_web::web;
use epop_chat::Message;
use epop_core::MessageId;
use serde::Deserialize;
use uuid::Uuid;

/// New text for a message.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct EditMessageRequest {
    /// The text, at most 10,000 characters.
    #[garde(required, length(chars, max = 10_000))]
    #[schema(value_type = String, max_length = 10_000)]
    pub content: Option<String>,
}

/// Edits the caller's own message (`403` for other members' messages).
#[utoipa::path(tag = "chat", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = EditMessageRequest,
    responses((status = 200, body = Message), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
#[put("/messages/{id}")]
pub(crate) async fn update(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: Json<EditMessageRequest>,
) -> Result<web::Json<Message>, ApiError> {
    let Json(body) = body;
    let content = required(body.content, "content")?;
    Ok(web::Json(
        state
            .chat
            .edit(user.id, MessageId::from(id.into_inner()), &content)
            .await?,
    ))
}
