//! # GET /api/calendar/free-busy

use super::not_before_from;
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Query};
use crate::state::AppState;
use actix_web::get;
use actix_web::web;
use chrono::{DateTime, Utc};
use epop_calendar::{FreeBusy, TimeRange};
use epop_core::{FieldError, UserId};
use serde::{Deserialize, Serialize};

/// Whose busy times, over which range.
#[derive(Debug, Deserialize, garde::Validate, utoipa::IntoParams)]
pub struct FreeBusyQuery {
    /// Comma-separated user ids, 1 to `EPOP_CALENDAR_MAX_FREE_BUSY_USERS` (default 20).
    #[garde(length(max = 4000))]
    #[param(value_type = String, max_length = 4000)]
    pub users: Option<String>,
    /// RFC 3339 start of the range (required).
    #[garde(skip)]
    #[param(value_type = DateTime<Utc>)]
    pub from: Option<DateTime<Utc>>,
    /// RFC 3339 end of the range (required), after `from`, at most `EPOP_CALENDAR_MAX_FREE_BUSY_DAYS` (62)
    /// days later.
    #[garde(custom(not_before_from(self.from.as_ref())))]
    #[param(value_type = DateTime<Utc>)]
    pub to: Option<DateTime<Utc>>,
}

/// The answer: one entry per distinct user asked for, in id order.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FreeBusyResponse {
    /// Busy intervals per user.
    pub users: Vec<FreeBusy>,
}

/// When the given users are busy in `[from, to)`: the events they organise, and those they are invited to and
/// did not decline, merged into intervals clamped to the range. No titles or ids are revealed, so any signed-in
/// user may ask, to pick a time; an unknown user id is simply never busy.
#[utoipa::path(tag = "calendar", security(("bearer" = [])), params(FreeBusyQuery),
    responses(
        (status = 200, body = FreeBusyResponse),
        (status = 401, body = Problem),
        (status = 422, description = "`users` missing, malformed or too many; `from`/`to` missing, not RFC 3339, out of order or too far apart", body = Problem),
    ))]
#[get("/calendar/free-busy")]
pub(crate) async fn free_busy(
    state: web::Data<AppState>,
    _user: AuthUser,
    query: Query<FreeBusyQuery>,
) -> Result<web::Json<FreeBusyResponse>, ApiError> {
    let Query(query) = query;
    let users: Result<Vec<UserId>, _> = query
        .users
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse::<UserId>())
        .collect();
    let users = users.map_err(|_| {
        ApiError::validation(vec![FieldError::new("users", "must be comma-separated user ids")])
    })?;
    let range = TimeRange {
        from: query.from,
        to: query.to,
    };
    let users = state.calendar.free_busy(&users, &range).await?;
    Ok(web::Json(FreeBusyResponse { users }))
}
