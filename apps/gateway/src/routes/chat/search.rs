//! # GET /api/search/messages

use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Query, page_request};
use crate::routes::projects::DueDate;
use crate::routes::required;
use crate::state::AppState;
use actix_web::get;
use actix_web::web;
use epop_chat::{Message, SearchFilter};
use epop_core::{ConversationId, FieldError, Page, UserId};
use serde::Deserialize;
use uuid::Uuid;

/// What `has` may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SearchHas {
    /// Messages with at least one attached file.
    File,
}

/// Whom `mentions` may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SearchMentions {
    /// The caller (named in the message, or reached by `<!here>` / `<!all>`).
    Me,
}

/// The query of `GET /api/search/messages`: the caller's own conversations only; the filters combine.
#[derive(Debug, Deserialize, garde::Validate, utoipa::IntoParams)]
pub struct SearchQuery {
    /// Words to find (all of them); in Chinese or Japanese text, a run of two or more characters is a word.
    #[garde(required, length(chars, min = 1, max = 500))]
    #[param(value_type = String, min_length = 1, max_length = 500)]
    pub q: Option<String>,
    /// Only this conversation; one the caller is not in is `404`.
    #[garde(skip)]
    pub conversation_id: Option<Uuid>,
    /// Only this conversation (Slack's `in:`), the same as `conversation_id`; both, naming different
    /// conversations, are `422`.
    #[garde(skip)]
    #[serde(rename = "in")]
    #[param(rename = "in")]
    pub in_conversation: Option<Uuid>,
    /// Only messages sent by this user (Slack's `from:`).
    #[garde(skip)]
    pub from: Option<Uuid>,
    /// `file`: only messages with an attached file (Slack's `has:file`).
    #[garde(skip)]
    #[param(inline, nullable = false)]
    pub has: Option<SearchHas>,
    /// `me`: only messages that mention the caller (`mentions:me`).
    #[garde(skip)]
    #[param(inline, nullable = false)]
    pub mentions: Option<SearchMentions>,
    /// Only messages sent at or after this RFC 3339 timestamp or `YYYY-MM-DD` date (midnight UTC).
    #[garde(skip)]
    #[param(value_type = Option<String>, format = DateTime)]
    pub sent_after: Option<DueDate>,
    /// Only messages sent strictly before this RFC 3339 timestamp or `YYYY-MM-DD` date (midnight UTC).
    #[garde(skip)]
    #[param(value_type = Option<String>, format = DateTime)]
    pub sent_before: Option<DueDate>,
    /// Page size, 1..=100 (default 50).
    #[garde(range(min = 1, max = 100))]
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u16>,
    /// Cursor from the previous page.
    #[garde(skip)]
    pub cursor: Option<String>,
}

impl SearchQuery {
    /// The filters, as the chat service takes them (`me` stands for the caller).
    fn filter(&self, me: UserId) -> Result<SearchFilter, ApiError> {
        let conversation = match (self.conversation_id, self.in_conversation) {
            (Some(a), Some(b)) if a != b => {
                return Err(ApiError::validation(vec![FieldError::new(
                    "in",
                    "names another conversation than `conversation_id`",
                )]));
            }
            (a, b) => a.or(b).map(ConversationId::from),
        };
        Ok(SearchFilter {
            conversation,
            sender: self.from.map(UserId::from),
            has_file: self.has == Some(SearchHas::File),
            mentions: self.mentions.map(|SearchMentions::Me| me),
            sent_after: self.sent_after.map(|d| d.0),
            sent_before: self.sent_before.map(|d| d.0),
        })
    }
}

/// Messages (thread replies included) of the caller's conversations matching every word of `q`, filtered by
/// conversation, sender, files, mentions of the caller and send time (`[sent_after, sent_before)`); best match
/// first, then newest.
#[utoipa::path(tag = "chat", security(("bearer" = [])), params(SearchQuery),
    responses(
        (status = 200, body = Page<Message>),
        (status = 400, body = Problem),
        (status = 401, body = Problem),
        (status = 404, description = "`conversation_id` (or `in`) of a conversation the caller is not in", body = Problem),
        (status = 422, description = "Empty `q`, or a filter that is not one of its values", body = Problem),
    ))]
#[get("/search/messages")]
pub(crate) async fn search(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<SearchQuery>,
) -> Result<web::Json<Page<Message>>, ApiError> {
    let Query(query) = query;
    let filter = query.filter(user.id)?;
    let q = required(query.q, "q")?;
    let page = page_request(query.limit, query.cursor);
    let found = state.chat.search(user.id, &q, &filter, &page).await?;
    Ok(web::Json(found))
}
