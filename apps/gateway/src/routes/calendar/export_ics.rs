//! # GET /api/calendar-events.ics

use super::not_before_from;
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Query};
use crate::state::AppState;
use actix_web::get;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION};
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use epop_calendar::TimeRange;
use serde::Deserialize;

/// The range to export.
#[derive(Debug, Deserialize, garde::Validate, utoipa::IntoParams)]
pub struct ExportQuery {
    /// RFC 3339; only events ending after it.
    #[garde(skip)]
    pub from: Option<DateTime<Utc>>,
    /// RFC 3339; only events starting before it. Must not be before `from`.
    #[garde(custom(not_before_from(self.from.as_ref())))]
    pub to: Option<DateTime<Utc>>,
}

/// The caller's events in `[from, to)` (as `GET /api/calendar-events` selects them) as one RFC 5545
/// calendar: not paged, the earliest 10,000 events at most. `UID` is `<id>@epop`; times are UTC.
#[utoipa::path(tag = "calendar", security(("bearer" = [])), params(ExportQuery),
    responses(
        (status = 200, description = "An iCalendar object", content_type = "text/calendar", body = String),
        (status = 401, body = Problem),
        (status = 422, description = "`from`/`to` not RFC 3339, or `to` before `from`", body = Problem),
    ))]
#[get("/calendar-events.ics")]
pub(crate) async fn export(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let Query(query) = query;
    let range = TimeRange {
        from: query.from,
        to: query.to,
    };
    let text = state.calendar.export_ics(user.id, &range).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/calendar; charset=utf-8")
        .insert_header((CACHE_CONTROL, "no-store"))
        .insert_header((CONTENT_DISPOSITION, "inline; filename=\"calendar.ics\""))
        .body(text))
}
