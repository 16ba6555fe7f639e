//! # POST /api/threads/{id}/read

use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, OptionalJson};
use crate::state::AppState;
use actix_web::post;
use actix_web::{HttpResponse, web};
use epop_core::MessageId;
use serde::Deserialize;
use uuid::Uuid;

/// The last reply read.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct ThreadReadRequest {
    /// A reply of this thread; without it (or with an empty body), the newest one.
    #[garde(skip)]
    pub message_id: Option<Uuid>,
}

/// Moves the caller's read watermark of a thread forward (never back); the caller's sockets get `thread:read`.
#[utoipa::path(tag = "chat", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The thread's root message")),
    request_body(content = Option<ThreadReadRequest>, description = "Optional"),
    responses(
        (status = 204, description = "Watermark moved (or already further)"),
        (status = 401, body = Problem),
        (status = 404, body = Problem),
        (status = 422, description = "`id` is a reply, or `message_id` is not a reply of this thread", body = Problem),
    ))]
#[post("/threads/{id}/read")]
pub(crate) async fn read(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: OptionalJson<ThreadReadRequest>,
) -> Result<HttpResponse, ApiError> {
    let message = body.0.and_then(|b| b.message_id).map(MessageId::from);
    state
        .chat
        .mark_thread_read(user.id, MessageId::from(id.into_inner()), message)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
