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
use epop_core::UserId;
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
    /// An RFC 5545 recurrence rule (without `DTSTART`), e.g. `FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10`: the event
    /// repeats, in `time_zone`. `SECONDLY` and `MINUTELY` are refused; `COUNT` at most
    /// `EPOP_CALENDAR_MAX_SERIES_INSTANCES`, and an open-ended series ends after that many instances.
    #[garde(length(max = 500))]
    #[schema(example = "FREQ=WEEKLY;BYDAY=MO;COUNT=10", max_length = 500)]
    pub rrule: Option<String>,
    /// Original starts of instances to leave out (only with `rrule`).
    #[garde(skip)]
    #[schema(value_type = Option<Vec<DateTime<Utc>>>)]
    pub exdates: Option<Vec<DateTime<Utc>>>,
    /// The IANA time zone the series repeats in (default `UTC`): a 09:00 meeting stays at 09:00 local time
    /// across daylight-saving changes.
    #[garde(length(max = 64))]
    #[schema(example = "Europe/London", max_length = 64)]
    pub time_zone: Option<String>,
    /// Users to invite (not the organiser; at most `EPOP_CALENDAR_MAX_ATTENDEES`).
    #[garde(skip)]
    #[schema(value_type = Option<Vec<uuid::Uuid>>)]
    pub attendees: Option<Vec<uuid::Uuid>>,
}

/// Creates an event, or a recurring series (with `rrule`), organised by the caller; attendees are invited
/// (each gets a `calendar_invited` notification).
#[utoipa::path(tag = "calendar", security(("bearer" = [])),
    request_body = CreateEventRequest,
    responses(
        (status = 201, description = "Created; `Location` points at it", body = epop_calendar::CalendarEvent),
        (status = 401, body = Problem),
        (status = 409, description = "The caller organises the most recurring series allowed", body = Problem),
        (status = 422, description = "Missing or over-long fields, `end_time` not after `start_time`, a bad `rrule`, `time_zone`, `exdates` or `attendees`", body = Problem),
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
        rrule: body.rrule,
        exdates: body.exdates.unwrap_or_default(),
        time_zone: body.time_zone,
        attendees: body
            .attendees
            .unwrap_or_default()
            .into_iter()
            .map(UserId::from)
            .collect(),
    };
    let event = state.calendar.create(user.id, &new).await?;
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, format!("/api/calendar-events/{}", event.id)))
        .json(event))
}
