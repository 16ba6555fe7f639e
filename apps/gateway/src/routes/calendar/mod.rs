//! `/api/calendar-events`, `/api/calendar-events.ics`, `/api/calendar/free-busy` and `/api/calendar-feed`:
//! events, series and instances the caller organises or is invited to, answers to invitations, free/busy and
//! the secret iCalendar feed.
//!
//! Responses serialize the calendar crate's `CalendarEvent`, which also describes itself to the OpenAPI document
//! (its `openapi` feature).

pub mod event_create;
pub mod event_delete;
pub mod event_get;
pub mod event_respond;
pub mod event_update;
pub mod events_list;
pub mod export_ics;
pub mod feed;
pub mod free_busy;
pub mod reminders;

use chrono::{DateTime, Utc};
use epop_calendar::Scope;
use serde::Deserialize;

/// Which instances a change or deletion of an instance id concerns.
#[derive(Debug, Deserialize, garde::Validate, utoipa::IntoParams)]
pub struct ScopeQuery {
    /// `this` (default): only this instance; `following`: it and every later one (the series is split).
    /// Ignored for a single event or a whole series.
    #[garde(skip)]
    #[param(value_type = Option<Scope>)]
    pub scope: Option<Scope>,
}

/// garde rule for `end_time`: after `start_time` when both are given (so a body with other problems lists
/// this one too; the service checks again, against stored values on updates).
pub(crate) fn after_start(
    start: Option<&DateTime<Utc>>,
) -> impl FnOnce(&Option<DateTime<Utc>>, &()) -> garde::Result + '_ {
    move |end, _| match (start, end) {
        (Some(start), Some(end)) if end <= start => Err(garde::Error::new("must be after start_time")),
        _ => Ok(()),
    }
}

/// garde rule for `to`: not before `from` when both are given.
pub(crate) fn not_before_from(
    from: Option<&DateTime<Utc>>,
) -> impl FnOnce(&Option<DateTime<Utc>>, &()) -> garde::Result + '_ {
    move |to, _| match (from, to) {
        (Some(from), Some(to)) if to < from => Err(garde::Error::new("must not be before from")),
        _ => Ok(()),
    }
}
