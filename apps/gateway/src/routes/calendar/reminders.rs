//! # GET and PUT /api/calendar-events/{id}/reminders

use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Json};
use crate::routes::required;
use crate::state::AppState;
use actix_web::{get, put, web};
use epop_calendar::EventReminders;
use serde::Deserialize;

/// The caller's reminders of an event or series.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct RemindersRequest {
    /// Minutes before the start of each instance, 0 (at the start) to 40320 (four weeks); at most
    /// `EPOP_CALENDAR_MAX_REMINDERS` different values (default 5). `[]` removes the caller's reminders.
    #[garde(required)]
    #[schema(value_type = Vec<i64>, example = json!([10, 60]))]
    pub minutes: Option<Vec<i64>>,
}

/// The caller's reminders of an event or series (an instance id names its series): the minutes before each
/// start, and when the next one is due.
#[utoipa::path(tag = "calendar", security(("bearer" = [])),
    params(("id" = String, Path, description = "Event, series or instance id")),
    responses(
        (status = 200, body = EventReminders),
        (status = 401, body = Problem),
        (status = 404, description = "Not an event the caller organises or attends", body = Problem),
    ))]
#[get("/calendar-events/{id}/reminders")]
pub(crate) async fn get(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
) -> Result<web::Json<EventReminders>, ApiError> {
    Ok(web::Json(state.calendar.reminders(user.id, &id).await?))
}

/// Sets the caller's reminders of an event or series (an instance id names its series), organiser or
/// attendee: a `calendar_reminder` notification comes `minutes` before the start of every instance (changed
/// instances where they are now, cancelled ones not at all). Replaces the earlier list.
#[utoipa::path(tag = "calendar", security(("bearer" = [])),
    params(("id" = String, Path, description = "Event, series or instance id")),
    request_body = RemindersRequest,
    responses(
        (status = 200, description = "The reminders now", body = EventReminders),
        (status = 401, body = Problem),
        (status = 404, description = "Not an event the caller organises or attends", body = Problem),
        (status = 422, description = "`minutes` missing, too many, or one out of range (`minutes[i]`)", body = Problem),
    ))]
#[put("/calendar-events/{id}/reminders")]
pub(crate) async fn set(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    body: Json<RemindersRequest>,
) -> Result<web::Json<EventReminders>, ApiError> {
    let Json(body) = body;
    let minutes = required(body.minutes, "minutes")?;
    Ok(web::Json(
        state.calendar.set_reminders(user.id, &id, &minutes).await?,
    ))
}
