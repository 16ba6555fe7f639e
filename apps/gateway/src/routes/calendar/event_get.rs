//! # GET /api/calendar-events/{id}

use crate::error::{ApiError, Problem};
use crate::extract::AuthUser;
use crate::state::AppState;
use actix_web::get;
use actix_web::web;
use epop_calendar::CalendarEvent;

/// An event, series or instance the caller organises or is invited to (`404` for anyone else's). `id` is an
/// event or series id, or an instance id `<series id>_<YYYYMMDDTHHMMSSZ>` (`404` when the series has no
/// instance then, or it is cancelled).
#[utoipa::path(tag = "calendar", security(("bearer" = [])),
    params(("id" = String, Path, description = "Event, series or instance id")),
    responses((status = 200, body = CalendarEvent), (status = 401, body = Problem), (status = 404, body = Problem)))]
#[get("/calendar-events/{id}")]
pub(crate) async fn get(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
) -> Result<web::Json<CalendarEvent>, ApiError> {
    Ok(web::Json(state.calendar.event(user.id, &id).await?))
}
