//! # GET /api/threads

use super::PageQuery;
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Query, page_request};
use crate::state::AppState;
use actix_web::get;
use actix_web::web;
use epop_chat::FollowedThread;
use epop_core::Page;

/// The threads the caller follows, most recent activity first, each with its root (and summary) and how many
/// replies of others the caller has not read.
#[utoipa::path(tag = "chat", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = Page<FollowedThread>), (status = 400, body = Problem), (status = 401, body = Problem), (status = 422, body = Problem)))]
#[get("/threads")]
pub(crate) async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<PageQuery>,
) -> Result<web::Json<Page<FollowedThread>>, ApiError> {
    let Query(query) = query;
    let page = state
        .chat
        .followed_threads(user.id, &page_request(query.limit, query.cursor))
        .await?;
    Ok(web::Json(page))
}
