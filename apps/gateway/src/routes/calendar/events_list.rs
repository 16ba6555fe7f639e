//! # GET /api/calendar-events

use super::not_before_from;
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Query, page_request};
use crate::state::AppState;
use actix_web::get;
use actix_web::web;
use chrono::{DateTime, Utc};
use epop_calendar::CalendarEvent;
use epop_calendar::TimeRange;
use epop_core::Page;
use serde::Deserialize;

/// A range of the caller's calendar, one page of it.
#[derive(Debug, Deserialize, garde::Validate, utoipa::IntoParams)]
pub struct EventsQuery {
    /// RFC 3339; only events ending after it.
    #[garde(skip)]
    pub from: Option<DateTime<Utc>>,
    /// RFC 3339; only events starting before it. Must not be before `from`.
    #[garde(custom(not_before_from(self.from.as_ref())))]
    pub to: Option<DateTime<Utc>>,
    /// Page size, 1..=100 (default 50).
    #[garde(range(min = 1, max = 100))]
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u16>,
    /// Cursor from the previous page.
    #[garde(skip)]
    pub cursor: Option<String>,
}

/// The caller's events overlapping the half-open range `[from, to)` (`start_time < to` and
/// `end_time > from`; either bound may be left out), by `start_time` then `id`. Later pages walk the list as
/// it stood at the first page: events created since are left out, and an event moved meanwhile is placed by
/// its new start time.
#[utoipa::path(tag = "calendar", security(("bearer" = [])), params(EventsQuery),
    responses(
        (status = 200, body = Page<CalendarEvent>),
        (status = 400, description = "Bad cursor", body = Problem),
        (status = 401, body = Problem),
        (status = 422, description = "`from`/`to` not RFC 3339, `to` before `from`, or a bad `limit`", body = Problem),
    ))]
#[get("/calendar-events")]
pub(crate) async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<EventsQuery>,
) -> Result<web::Json<Page<CalendarEvent>>, ApiError> {
    let Query(query) = query;
    let range = TimeRange {
        from: query.from,
        to: query.to,
    };
    let page = state
        .calendar
        .events(user.id, &range, &page_request(query.limit, query.cursor))
        .await?;
    Ok(web::Json(page))
}
