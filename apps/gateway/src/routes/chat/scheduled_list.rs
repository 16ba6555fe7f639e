//! # GET /api/scheduled-messages

use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Query, page_request};
use crate::state::AppState;
use actix_web::get;
use actix_web::web;
use epop_chat::ScheduledMessage;
use epop_core::{ConversationId, Page};
use serde::Deserialize;
use uuid::Uuid;

/// The query of `GET /api/scheduled-messages`.
#[derive(Debug, Deserialize, garde::Validate, utoipa::IntoParams)]
pub struct ScheduledQuery {
    /// Only those of this conversation (one the caller is not in is `404`).
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

/// The caller's scheduled messages still waiting, soonest first (by `send_at`, then `id`).
#[utoipa::path(tag = "chat", security(("bearer" = [])), params(ScheduledQuery),
    responses(
        (status = 200, body = Page<ScheduledMessage>),
        (status = 400, body = Problem),
        (status = 401, body = Problem),
        (status = 404, description = "`conversation_id` of a conversation the caller is not in", body = Problem),
        (status = 422, body = Problem),
    ))]
#[get("/scheduled-messages")]
pub(crate) async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<ScheduledQuery>,
) -> Result<web::Json<Page<ScheduledMessage>>, ApiError> {
    let Query(query) = query;
    let page = state
        .chat
        .scheduled_messages(
            user.id,
            query.conversation_id.map(ConversationId::from),
            &page_request(query.limit, query.cursor),
        )
        .await?;
    Ok(web::Json(page))
}
