//! # GET /api/conversations/{id}/messages

use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Query};
use crate::state::AppState;
use actix_web::get;
use actix_web::web;
use epop_chat::Message;
use epop_chat::MessagePage as Direction;
use epop_core::{ConversationId, MessageId, Page};
use serde::Deserialize;
use uuid::Uuid;

/// Paging of a conversation's messages.
#[derive(Debug, Deserialize, garde::Validate, utoipa::IntoParams)]
pub struct MessagesQuery {
    /// Page size, 1..=100 (default 50).
    #[garde(range(min = 1, max = 100))]
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u16>,
    /// Cursor from the previous page (older pages, or forward after an `after` page).
    #[garde(skip)]
    pub cursor: Option<String>,
    /// A message id: everything newer, oldest first (catching up).
    #[garde(skip)]
    pub after: Option<Uuid>,
}

impl MessagesQuery {
    /// Which page is asked for, and its size.
    pub(crate) fn page(self) -> (Direction, u16) {
        let direction = match (self.after, self.cursor.filter(|c| !c.is_empty())) {
            // The cursor alone is enough for the next page, whatever else the client repeats.
            (_, Some(cursor)) => Direction::Cursor(cursor),
            (Some(after), None) => Direction::After(MessageId::from(after)),
            (None, None) => Direction::Latest,
        };
        (direction, self.limit.unwrap_or(epop_core::page::DEFAULT_LIMIT))
    }
}

/// Messages newest first; with `after`, everything newer than that message, oldest first.
#[utoipa::path(tag = "chat", security(("bearer" = [])),
    params(("id" = Uuid, Path), MessagesQuery),
    responses(
        (status = 200, body = Page<Message>),
        (status = 400, description = "Bad cursor", body = Problem),
        (status = 401, body = Problem),
        (status = 404, body = Problem),
        (status = 422, description = "Bad `limit`, or `after` from another conversation", body = Problem),
    ))]
#[get("/conversations/{id}/messages")]
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
        .messages(user.id, ConversationId::from(id.into_inner()), &direction, limit)
        .await?;
    Ok(web::Json(page))
}
