//! # GET and PUT /api/users/me/notification-settings

use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Json};
use crate::state::AppState;
use actix_web::{get, put, web};
use chrono::{DateTime, Utc};
use epop_core::FieldError;
use epop_notifications::NotificationSettings;
use epop_notifications::dnd::{self, DndWindow};
use serde::Deserialize;

/// One weekly do-not-disturb window.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct DndWindowRequest {
    /// The weekday it starts on: `mon`, `tue`, `wed`, `thu`, `fri`, `sat` or `sun`.
    #[schema(example = "mon")]
    pub day: Option<String>,
    /// Local start time, `HH:MM`.
    #[schema(example = "22:00")]
    pub start: Option<String>,
    /// Local end time, `HH:MM`; not after `start`: the next day.
    #[schema(example = "07:00")]
    pub end: Option<String>,
}

/// The windows of a request, each part checked: every missing or malformed one is an error on
/// `dnd_schedule[i].day`, `.start` or `.end`.
fn windows(requested: Vec<DndWindowRequest>) -> Result<Vec<DndWindow>, ApiError> {
    let mut errors = Vec::new();
    let mut windows = Vec::with_capacity(requested.len());
    for (i, window) in requested.into_iter().enumerate() {
        let mut part = |name: &str, value: Option<String>, parse: &dyn Fn(&str) -> bool, what: &str| {
            let field = format!("dnd_schedule[{i}].{name}");
            match value {
                None => errors.push(FieldError::new(field, "is required")),
                Some(text) if !parse(&text) => errors.push(FieldError::new(field, what)),
                Some(_) => {}
            }
        };
        let (day, start, end) = (window.day.clone(), window.start.clone(), window.end.clone());
        part(
            "day",
            window.day,
            &|t| dnd::parse_day(t).is_some(),
            "one of mon, tue, wed, thu, fri, sat, sun",
        );
        part(
            "start",
            window.start,
            &|t| dnd::parse_time(t).is_some(),
            "a time HH:MM",
        );
        part(
            "end",
            window.end,
            &|t| dnd::parse_time(t).is_some(),
            "a time HH:MM",
        );
        if let (Some(day), Some(start), Some(end)) = (
            day.as_deref().and_then(dnd::parse_day),
            start.as_deref().and_then(dnd::parse_time),
            end.as_deref().and_then(dnd::parse_time),
        ) {
            windows.push(DndWindow { day, start, end });
        }
    }
    if errors.is_empty() {
        Ok(windows)
    } else {
        Err(ApiError::validation(errors))
    }
}

/// The caller's do-not-disturb settings, all at once (a field left out is reset).
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct NotificationSettingsRequest {
    /// An IANA time zone name such as `Europe/Berlin` (default `UTC`): where the schedule's times are.
    #[garde(length(max = 64))]
    #[schema(max_length = 64, example = "Europe/Berlin")]
    pub time_zone: Option<String>,
    /// Weekly windows `{day: mon..sun, start: "HH:MM", end: "HH:MM"}` (an end not after the start is the next
    /// day), at most 28 (default none).
    #[garde(skip)]
    #[schema(max_items = 28)]
    pub dnd_schedule: Option<Vec<DndWindowRequest>>,
    /// Manual do-not-disturb until this instant, which must be in the future (default none).
    #[garde(skip)]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub dnd_until: Option<DateTime<Utc>>,
}

/// The caller's do-not-disturb settings, with whether it is on now and until when.
#[utoipa::path(tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = NotificationSettings), (status = 401, body = Problem)))]
#[get("/users/me/notification-settings")]
pub(crate) async fn get(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<web::Json<NotificationSettings>, ApiError> {
    Ok(web::Json(state.notifications.settings(user.id).await?))
}

/// Sets the caller's do-not-disturb: a weekly schedule in an IANA time zone and a manual "until" instant. While
/// it is on, e-mail and Web Push wait until it ends, and are dropped if the user reads the message (on any
/// device) before then; in-app notifications are unaffected.
#[utoipa::path(tag = "notifications", security(("bearer" = [])),
    request_body = NotificationSettingsRequest,
    responses(
        (status = 200, body = NotificationSettings),
        (status = 401, body = Problem),
        (status = 422, description = "An unknown time zone, a malformed or too long schedule, or `dnd_until` not in the future", body = Problem),
    ))]
#[put("/users/me/notification-settings")]
pub(crate) async fn put(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<NotificationSettingsRequest>,
) -> Result<web::Json<NotificationSettings>, ApiError> {
    let Json(body) = body;
    let settings = state
        .notifications
        .set_settings(
            user.id,
            body.time_zone.as_deref().unwrap_or("UTC"),
            windows(body.dnd_schedule.unwrap_or_default())?,
            body.dnd_until,
        )
        .await?;
    Ok(web::Json(settings))
}
