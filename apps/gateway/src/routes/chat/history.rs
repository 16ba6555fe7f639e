//! # GET /api/messages/{id}/history

use super::PageQuery;
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Query, page_request};
use crate::state::AppState;
use actix_web::{get, web};
use epop_chat::MessageVersion;
use epop_core::{MessageId, Page};
use uuid::Uuid;

/// The texts a message of one of the caller's conversations had before its edits, newest first (empty for a
/// message never edited).
#[utoipa::path(tag = "chat", security(("bearer" = [])), params(("id" = Uuid, Path), PageQuery),
    responses(
        (status = 200, body = Page<MessageVersion>),
        (status = 400, body = Problem),
        (status = 401, body = Problem),
        (status = 404, body = Problem),
        (status = 422, body = Problem),
    ))]
#[get("/messages/{id}/history")]
pub(crate) async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    query: Query<PageQuery>,
) -> Result<web::Json<Page<MessageVersion>>, ApiError> {
    let Query(query) = query;
    let page = state
        .chat
        .history(
            user.id,
            MessageId::from(id.into_inner()),
            &page_request(query.limit, query.cursor),
        )
        .await?;
    Ok(web::Json(page))
}
