//! # GET /api/search/messages

use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Query, page_request};
use crate::routes::required;
use crate::state::AppState;
use actix_web::get;
use actix_web::web;
use epop_chat::Message;
use epop_core::ConversationId;
use epop_core::Page;
use serde::Deserialize;
use uuid::Uuid;

/// The query of `GET /api/search/messages`: the caller's own conversations only.
#[derive(Debug, Deserialize, garde::Validate, utoipa::IntoParams)]
pub struct SearchQuery {
    /// Words to find (all of them); in Chinese or Japanese text, a run of two or more characters is a word.
    #[garde(required, length(chars, min = 1, max = 500))]
    #[param(value_type = String, min_length = 1, max_length = 500)]
    pub q: Option<String>,
    /// Only this conversation; one the caller is not in is `404`.
    #[garde(skip)]
    pub conversation_id: Option<Uuid>,
    /// Page size, 1..=100 (default 50).
    #[garde(range(min = 1, max = 100))]
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u16>,
    /// Cursor from the previous page.
    #[garde(skip)]
    pub cursor: Option<String>,
}

/// Messages of the caller's conversations matching every word of `q`, best match first, then newest.
#[utoipa::path(tag = "chat", security(("bearer" = [])), params(SearchQuery),
    responses(
        (status = 200, body = Page<Message>),
        (status = 400, body = Problem),
        (status = 401, body = Problem),
        (status = 404, description = "`conversation_id` of a conversation the caller is not in", body = Problem),
        (status = 422, description = "Empty `q`", body = Problem),
    ))]
#[get("/search/messages")]
pub(crate) async fn search(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<SearchQuery>,
) -> Result<web::Json<Page<Message>>, ApiError> {
    let Query(query) = query;
    let q = required(query.q, "q")?;
    let page = page_request(query.limit, query.cursor);
    let found = state
        .chat
        .search(
            user.id,
            &q,
            query.conversation_id.map(ConversationId::from),
            &page,
        )
        .await?;
    Ok(web::Json(found))
}
