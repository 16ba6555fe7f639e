//! # POST /api/conversations/{id}/scheduled-messages

use super::message_send::thread_reply;
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Json};
use crate::routes::required;
use crate::state::AppState;
use actix_web::http::header::LOCATION;
use actix_web::post;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use epop_chat::{ScheduleRequest, Scheduled};
use epop_core::ConversationId;
use serde::Deserialize;
use uuid::Uuid;

/// garde rule: an instant in the future, at most 365 days ahead (when scheduled messages and reminders may be
/// set; the service checks it again against its own clock).
pub(crate) fn in_future(value: &Option<DateTime<Utc>>, _: &()) -> garde::Result {
    let now = Utc::now();
    match value {
        Some(at) if *at <= now => Err(garde::Error::new("must be in the future")),
        Some(at) if *at > now + chrono::Duration::days(365) => {
            Err(garde::Error::new("must be at most 365 days ahead"))
        }
        _ => Ok(()),
    }
}

/// A message to post later.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct ScheduleMessageRequest {
    /// The text, 1..=10,000 characters.
    #[garde(required, length(chars, min = 1, max = 10_000))]
    #[schema(value_type = String, min_length = 1, max_length = 10_000)]
    pub content: Option<String>,
    /// When to post it (RFC 3339): in the future, at most 365 days ahead.
    #[garde(required, custom(in_future))]
    #[schema(value_type = DateTime<Utc>)]
    pub send_at: Option<DateTime<Utc>>,
    /// Post it as a reply in the thread of this top-level message of the same conversation.
    #[garde(skip)]
    pub thread_root_id: Option<Uuid>,
    /// With `thread_root_id`: also show the reply in the conversation (default `false`).
    #[garde(skip)]
    pub send_to_conversation: Option<bool>,
    /// An idempotency key: the same one again answers the first scheduled message and stores nothing; the
    /// posted message carries it as its `client_id`.
    #[garde(custom(crate::rules::client_id))]
    #[schema(min_length = 1, max_length = 128)]
    pub client_id: Option<String>,
}

/// Schedules a message to be posted at `send_at` as the caller, by the rules of a message sent now (checked now
/// and again at `send_at`). A repeated `client_id` answers `200` with the first one. A user has at most
/// `EPOP_MAX_PENDING_SCHEDULED` waiting (default 100; past it `409`).
#[utoipa::path(tag = "chat", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = ScheduleMessageRequest,
    responses(
        (status = 201, description = "Scheduled; `Location` points at it", body = epop_chat::ScheduledMessage),
        (status = 200, description = "The scheduled message first created with this `client_id`", body = epop_chat::ScheduledMessage),
        (status = 401, body = Problem),
        (status = 404, description = "Not a member of the conversation", body = Problem),
        (status = 409, description = "As many scheduled messages waiting as allowed", body = Problem),
        (status = 422, description = "Missing or invalid fields; `send_at` not in the future", body = Problem),
    ))]
#[post("/conversations/{id}/scheduled-messages")]
pub(crate) async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: Json<ScheduleMessageRequest>,
) -> Result<HttpResponse, ApiError> {
    let Json(body) = body;
    let request = ScheduleRequest {
        thread: thread_reply(body.thread_root_id, body.send_to_conversation)?,
        content: required(body.content, "content")?,
        send_at: required(body.send_at, "send_at")?,
        client_id: body.client_id,
    };
    let scheduled = state
        .chat
        .schedule(user.id, ConversationId::from(id.into_inner()), &request)
        .await?;
    Ok(match scheduled {
        Scheduled::Created(scheduled) => HttpResponse::Created()
            .insert_header((LOCATION, format!("/api/scheduled-messages/{}", scheduled.id)))
            .json(scheduled),
        Scheduled::Existing(scheduled) => HttpResponse::Ok().json(scheduled),
    })
}
