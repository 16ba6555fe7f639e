//! # PUT /api/calendar-events/{id}

use super::after_start;
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Json};
use crate::state::AppState;
use actix_web::put;
use actix_web::web;
use chrono::{DateTime, Utc};
use epop_calendar::{CalendarEvent, EventChanges};
use epop_core::CalendarEventId;
use serde::Deserialize;
use uuid::Uuid;

/// A partial update: absent (or `null`) fields keep their stored values.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct UpdateEventRequest {
    /// 1..=200 characters.
    #[garde(length(chars, min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub title: Option<String>,
    /// At most 10,000 characters; `""` clears it.
    #[garde(length(chars, max = 10_000))]
    #[schema(max_length = 10_000)]
    pub description: Option<String>,
    /// RFC 3339 start; must stay before the (new or stored) `end_time`.
    #[garde(skip)]
    pub start_time: Option<DateTime<Utc>>,
    /// RFC 3339 end; must be after the (new or stored) `start_time`.
    #[garde(custom(after_start(self.start_time.as_ref())))]
    pub end_time: Option<DateTime<Utc>>,
}

/// Changes the given fields of one of the caller's events, validated against the stored values (an
/// `end_time` before the stored `start_time` is `422`, field `end_time`).
#[utoipa::path(tag = "calendar", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = UpdateEventRequest,
    responses(
        (status = 200, body = CalendarEvent),
        (status = 401, body = Problem),
        (status = 404, body = Problem),
        (status = 422, description = "Over-long fields, or the event would not end after it starts", body = Problem),
    ))]
#[put("/calendar-events/{id}")]
pub(crate) async fn update(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: Json<UpdateEventRequest>,
) -> Result<web::Json<CalendarEvent>, ApiError> {
    let Json(body) = body;
    let changes = EventChanges {
        title: body.title,
        description: body.description,
        start_time: body.start_time,
        end_time: body.end_time,
    };
    Ok(web::Json(
        state
            .calendar
            .update(user.id, CalendarEventId::from(id.into_inner()), &changes)
            .await?,
    ))
}
