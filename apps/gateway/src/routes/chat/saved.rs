//! # PUT /api/messages/{id}/saved, DELETE /api/messages/{id}/saved and GET /api/saved-messages

use super::PageQuery;
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Query, page_request};
use crate::state::AppState;
use actix_web::{HttpResponse, delete, get, put, web};
use epop_chat::SavedMessage;
use epop_core::{MessageId, Page};
use uuid::Uuid;

/// Saves a message of one of the caller's conversations (idempotent). A user keeps at most
/// `EPOP_MAX_SAVED_MESSAGES` (default 1000; past it `409`).
#[utoipa::path(tag = "chat", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses(
        (status = 204, description = "Saved (or already was)"),
        (status = 401, body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "As many saved messages as allowed", body = Problem),
    ))]
#[put("/messages/{id}/saved")]
pub(crate) async fn save(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    state.chat.save(user.id, MessageId::from(id.into_inner())).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Forgets a saved message (`404` when the caller had not saved it).
#[utoipa::path(tag = "chat", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 204, description = "Forgotten"), (status = 401, body = Problem), (status = 404, body = Problem)))]
#[delete("/messages/{id}/saved")]
pub(crate) async fn unsave(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    state
        .chat
        .unsave(user.id, MessageId::from(id.into_inner()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The messages the caller saved that they may still see (not deleted, in a conversation they are in), most
/// recently saved first.
#[utoipa::path(tag = "chat", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = Page<SavedMessage>), (status = 400, body = Problem), (status = 401, body = Problem), (status = 422, body = Problem)))]
#[get("/saved-messages")]
pub(crate) async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<PageQuery>,
) -> Result<web::Json<Page<SavedMessage>>, ApiError> {
    let Query(query) = query;
    let page = state
        .chat
        .saved_messages(user.id, &page_request(query.limit, query.cursor))
        .await?;
    Ok(web::Json(page))
}
