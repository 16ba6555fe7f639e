//! # POST /api/calendar-events/{id}/response

use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Json};
use crate::routes::required;
use crate::state::AppState;
use actix_web::post;
use actix_web::web;
use epop_calendar::{AttendeeStatus, CalendarEvent};
use serde::Deserialize;

/// What an attendee may answer.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvitationAnswer {
    /// Coming.
    Accepted,
    /// Not coming.
    Declined,
    /// Maybe.
    Tentative,
}

impl From<InvitationAnswer> for AttendeeStatus {
    fn from(answer: InvitationAnswer) -> Self {
        match answer {
            InvitationAnswer::Accepted => AttendeeStatus::Accepted,
            InvitationAnswer::Declined => AttendeeStatus::Declined,
            InvitationAnswer::Tentative => AttendeeStatus::Tentative,
        }
    }
}

/// An attendee's answer.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct RespondRequest {
    /// `accepted`, `declined` or `tentative`.
    #[garde(required)]
    #[schema(value_type = InvitationAnswer, example = "accepted")]
    pub status: Option<InvitationAnswer>,
}

/// Answers an invitation to an event or series (an instance id answers for its whole series). A declined event
/// still shows in the attendee's range queries (with their answer) but no longer makes them busy.
#[utoipa::path(tag = "calendar", security(("bearer" = [])),
    params(("id" = String, Path, description = "Event, series or instance id")),
    request_body = RespondRequest,
    responses(
        (status = 200, description = "The event with the answers now", body = CalendarEvent),
        (status = 401, body = Problem),
        (status = 403, description = "The caller is the organiser, not an attendee", body = Problem),
        (status = 404, body = Problem),
        (status = 422, description = "`status` missing or not `accepted`, `declined` or `tentative`", body = Problem),
    ))]
#[post("/calendar-events/{id}/response")]
pub(crate) async fn respond(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    body: Json<RespondRequest>,
) -> Result<web::Json<CalendarEvent>, ApiError> {
    let Json(body) = body;
    let status = required(body.status, "status")?;
    Ok(web::Json(
        state.calendar.respond(user.id, &id, status.into()).await?,
    ))
}
