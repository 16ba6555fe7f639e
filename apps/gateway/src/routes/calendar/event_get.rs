//! # GET /api/calendar-events/{id}

use crate::error::{ApiError, Problem};
use crate::extract::AuthUser;
use crate::state::AppState;
use actix_web::get;
use actix_web::web;
use epop_calendar::CalendarEvent;
use epop_core::CalendarEventId;
use uuid::Uuid;

/// One of the caller's events (`404` for anyone else's).
#[utoipa::path(tag = "calendar", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = CalendarEvent), (status = 401, body = Problem), (status = 404, body = Problem)))]
#[get("/calendar-events/{id}")]
pub(crate) async fn get(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<web::Json<CalendarEvent>, ApiError> {
    Ok(web::Json(
        state
            .calendar
            .event(user.id, CalendarEventId::from(id.into_inner()))
            .await?,
    ))
}
