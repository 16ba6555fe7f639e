//! # PUT /api/calendar-events/{id}

use super::{ScopeQuery, after_start};
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Json, Query};
use crate::state::AppState;
use actix_web::put;
use actix_web::web;
use chrono::{DateTime, Utc};
use epop_calendar::{CalendarEvent, EventChanges};
use epop_core::UserId;
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
    /// A new recurrence rule (as on create); `""` makes the event single again. Whole events, or with
    /// `scope=following`. A new rule, start or zone drops the series' changed instances.
    #[garde(length(max = 500))]
    #[schema(max_length = 500)]
    pub rrule: Option<String>,
    /// The new list of cancelled original starts (whole series only).
    #[garde(skip)]
    pub exdates: Option<Vec<DateTime<Utc>>>,
    /// A new IANA time zone (whole events, or with `scope=following`).
    #[garde(length(max = 64))]
    #[schema(max_length = 64)]
    pub time_zone: Option<String>,
    /// The new list of attendees (whole events only): added users are invited, removed ones told it is
    /// cancelled for them, existing answers kept.
    #[garde(skip)]
    #[schema(value_type = Option<Vec<uuid::Uuid>>)]
    pub attendees: Option<Vec<Uuid>>,
}

/// Changes the given fields of an event, series or instance the caller organises, validated against the stored
/// values (an `end_time` before the stored `start_time` is `422`, field `end_time`). For an instance id,
/// `scope=this` (default) stores an override of that instance only (`rrule`, `exdates`, `time_zone` and
/// `attendees` are `422` there), and `scope=following` splits the series: it ends before this instance, and a
/// new series (answered, with a new id) starts here with the changes. Attendees get `calendar_updated`
/// (and `calendar_invited`/`calendar_cancelled` when the attendee list changes). An attendee is answered `403`.
#[utoipa::path(tag = "calendar", security(("bearer" = [])),
    params(("id" = String, Path, description = "Event, series or instance id"), ScopeQuery),
    request_body = UpdateEventRequest,
    responses(
        (status = 200, body = CalendarEvent),
        (status = 401, body = Problem),
        (status = 403, description = "The caller is an attendee, not the organiser", body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "A split would exceed the caller's recurring series", body = Problem),
        (status = 422, description = "Over-long fields, the event would not end after it starts, a bad `rrule`, `time_zone`, `exdates`, `attendees` or `scope`", body = Problem),
    ))]
#[put("/calendar-events/{id}")]
pub(crate) async fn update(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    query: Query<ScopeQuery>,
    body: Json<UpdateEventRequest>,
) -> Result<web::Json<CalendarEvent>, ApiError> {
    let Json(body) = body;
    let Query(query) = query;
    let changes = EventChanges {
        title: body.title,
        description: body.description,
        start_time: body.start_time,
        end_time: body.end_time,
        rrule: body.rrule,
        exdates: body.exdates,
        time_zone: body.time_zone,
        attendees: body
            .attendees
            .map(|list| list.into_iter().map(UserId::from).collect()),
    };
    Ok(web::Json(
        state
            .calendar
            .update(user.id, &id, &changes, query.scope.unwrap_or_default())
            .await?,
    ))
}
