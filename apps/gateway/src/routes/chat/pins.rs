//! # PUT /api/messages/{id}/pin, DELETE /api/messages/{id}/pin and GET /api/conversations/{id}/pins

use super::PageQuery;
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Query, page_request};
use crate::state::AppState;
use actix_web::{HttpResponse, delete, get, put, web};
use epop_chat::PinnedMessage;
use epop_core::{ConversationId, MessageId, Page};
use uuid::Uuid;

/// Pins a message in its conversation (any member may; idempotent); the members get `conversation:pins`. A
/// conversation holds at most `EPOP_MAX_PINS` (default 100; past it `409`).
#[utoipa::path(tag = "chat", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses(
        (status = 204, description = "Pinned (or already was)"),
        (status = 401, body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "As many pinned messages as allowed", body = Problem),
    ))]
#[put("/messages/{id}/pin")]
pub(crate) async fn pin(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    state.chat.pin(user.id, MessageId::from(id.into_inner())).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Unpins a message (any member may; `404` when it is not pinned); the members get `conversation:pins`.
#[utoipa::path(tag = "chat", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 204, description = "Unpinned"), (status = 401, body = Problem), (status = 404, body = Problem)))]
#[delete("/messages/{id}/pin")]
pub(crate) async fn unpin(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    state
        .chat
        .unpin(user.id, MessageId::from(id.into_inner()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The pinned messages of one of the caller's conversations, most recently pinned first.
#[utoipa::path(tag = "chat", security(("bearer" = [])), params(("id" = Uuid, Path), PageQuery),
    responses(
        (status = 200, body = Page<PinnedMessage>),
        (status = 400, body = Problem),
        (status = 401, body = Problem),
        (status = 404, body = Problem),
        (status = 422, body = Problem),
    ))]
#[get("/conversations/{id}/pins")]
pub(crate) async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    query: Query<PageQuery>,
) -> Result<web::Json<Page<PinnedMessage>>, ApiError> {
    let Query(query) = query;
    let page = state
        .chat
        .pins(
            user.id,
            ConversationId::from(id.into_inner()),
            &page_request(query.limit, query.cursor),
        )
        .await?;
    Ok(web::Json(page))
}
