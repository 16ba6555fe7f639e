//! # PATCH /api/scheduled-messages/{id}

use super::scheduled_create::in_future;
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Json};
use crate::state::AppState;
use actix_web::patch;
use actix_web::web;
use chrono::{DateTime, Utc};
use epop_chat::ScheduledMessage;
use epop_core::ScheduledMessageId;
use serde::Deserialize;
use uuid::Uuid;

/// What to change in a scheduled message (fields left out stay as they are).
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct UpdateScheduledRequest {
    /// The new text, 1..=10,000 characters.
    #[garde(length(chars, min = 1, max = 10_000))]
    #[schema(min_length = 1, max_length = 10_000)]
    pub content: Option<String>,
    /// The new time (RFC 3339): in the future, at most 365 days ahead.
    #[garde(custom(in_future))]
    pub send_at: Option<DateTime<Utc>>,
}

/// Changes the text or time of one of the caller's scheduled messages. Once it is being posted (its time has
/// come), `409`.
#[utoipa::path(tag = "chat", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = UpdateScheduledRequest,
    responses(
        (status = 200, body = ScheduledMessage),
        (status = 401, body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "It is being posted", body = Problem),
        (status = 422, body = Problem),
    ))]
#[patch("/scheduled-messages/{id}")]
pub(crate) async fn update(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: Json<UpdateScheduledRequest>,
) -> Result<web::Json<ScheduledMessage>, ApiError> {
    let Json(body) = body;
    let id = ScheduledMessageId::from(id.into_inner());
    Ok(web::Json(
        state
            .chat
            .update_scheduled(user.id, id, body.content.as_deref(), body.send_at)
            .await?,
    ))
}
