//! # POST /api/messages/{id}/reminders

use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Json};
use crate::routes::required;
use crate::state::AppState;
use actix_web::http::header::LOCATION;
use actix_web::post;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use epop_core::MessageId;
use serde::Deserialize;
use uuid::Uuid;

/// When to be reminded.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct RemindRequest {
    /// When (RFC 3339): in the future, at most 365 days ahead.
    #[garde(required, custom(super::scheduled_create::in_future))]
    #[schema(value_type = DateTime<Utc>)]
    pub remind_at: Option<DateTime<Utc>>,
}

/// Sets a reminder about a message of one of the caller's conversations: at `remind_at` the caller gets a
/// `reminder` notification. A user has at most `EPOP_MAX_PENDING_REMINDERS` waiting (default 100; past it `409`).
#[utoipa::path(tag = "chat", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = RemindRequest,
    responses(
        (status = 201, description = "Set; `Location` points at it", body = epop_chat::Reminder),
        (status = 401, body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "As many reminders waiting as allowed", body = Problem),
        (status = 422, description = "`remind_at` missing, not in the future, or too far ahead", body = Problem),
    ))]
#[post("/messages/{id}/reminders")]
pub(crate) async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: Json<RemindRequest>,
) -> Result<HttpResponse, ApiError> {
    let Json(body) = body;
    let remind_at = required(body.remind_at, "remind_at")?;
    let reminder = state
        .chat
        .remind(user.id, MessageId::from(id.into_inner()), remind_at)
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, format!("/api/reminders/{}", reminder.id)))
        .json(reminder))
}
