//! # GET /api/messages/{id}/replies

use super::messages_list::MessagesQuery;
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Query};
use crate::state::AppState;
use actix_web::get;
use actix_web::web;
use epop_chat::Message;
use epop_core::{MessageId, Page};
use uuid::Uuid;

/// A thread's replies newest first; with `after` (a reply of the thread, or its root), everything newer, oldest
/// first. The same cursor rules as a conversation's messages.
#[utoipa::path(tag = "chat", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The thread's root message"), MessagesQuery),
    responses(
        (status = 200, body = Page<Message>),
        (status = 400, description = "Bad cursor", body = Problem),
        (status = 401, body = Problem),
        (status = 404, body = Problem),
        (status = 422, description = "Bad `limit`, `after` not of this thread, or `id` is a reply", body = Problem),
    ))]
#[get("/messages/{id}/replies")]
pub(crate) async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    query: Query<MessagesQuery>,
) -> Result<web::Json<Page<Message>>, ApiError> {
    let Query(query) = query;
    let (direction, limit) = query.page();
    let page = state
        .chat
        .replies(user.id, MessageId::from(id.into_inner()), &direction, limit)
        .await?;
    Ok(web::Json(page))
}
