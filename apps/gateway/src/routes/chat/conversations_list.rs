//! # GET /api/conversations

use super::PageQuery;
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Query, page_request};
use crate::state::AppState;
use actix_web::get;
use actix_web::web;
use epop_chat::Conversation;
use epop_core::Page;

/// The caller's conversations, most recent activity first.
#[utoipa::path(tag = "chat", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = Page<Conversation>), (status = 400, body = Problem), (status = 401, body = Problem), (status = 422, body = Problem)))]
#[get("/conversations")]
pub(crate) async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<PageQuery>,
) -> Result<web::Json<Page<Conversation>>, ApiError> {
    let Query(query) = query;
    let page = state
        .chat
        .conversations(user.id, &page_request(query.limit, query.cursor))
        .await?;
    Ok(web::Json(page))
}
