//! # POST /api/calendar-events

use super::after_start;
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Json};
use crate::routes::required;
use crate::state::AppState;
use actix_web::http::header::LOCATION;
use actix_web::post;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use epop_calendar::NewEvent;
use serde::Deserialize;

/// A new calendar event.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct CreateEventRequest {
    /// 1..=200 characters.
    #[garde(required, length(chars, min = 1, max = 200))]
    #[schema(value_type = String, example = "Design review", min_length = 1, max_length = 200)]
    pub title: Option<String>,
    /// At most 10,000 characters (default empty).
    #[garde(length(chars, max = 10_000))]
    #[schema(max_length = 10_000)]
    pub description: Option<String>,
    /// RFC 3339 start.
    #[garde(required)]
    #[schema(value_type = DateTime<Utc>)]
    pub start_time: Option<DateTime<Utc>>,
    /// RFC 3339 end, after `start_time`.
    #[garde(required, custom(after_start(self.start_time.as_ref())))]
    #[schema(value_type = DateTime<Utc>)]
    pub end_time: Option<DateTime<Utc>>,
}

/// Creates an event in the caller's calendar.
#[utoipa::path(tag = "calendar", security(("bearer" = [])),
    request_body = CreateEventRequest,
    responses(
        (status = 201, description = "Created; `Location` points at it", body = epop_calendar::CalendarEvent),
        (status = 401, body = Problem),
        (status = 422, description = "Missing or over-long fields, or `end_time` not after `start_time`", body = Problem),
    ))]
#[post("/calendar-events")]
pub(crate) async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<CreateEventRequest>,
) -> Result<HttpResponse, ApiError> {
    let Json(body) = body;
    let new = NewEvent {
        title: required(body.title, "title")?,
        description: body.description.unwrap_or_default(),
        start_time: required(body.start_time, "start_time")?,
        end_time: required(body.end_time, "end_time")?,
    };
    let event = state.calendar.create(user.id, &new).await?;
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, format!("/api/calendar-events/{}", event.id)))
        .json(event))
}
