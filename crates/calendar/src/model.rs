//! What the calendar service takes and returns. [`CalendarEvent`] serializes to the contract's JSON shape.

use chrono::{DateTime, Utc};
use epop_core::{CalendarEventId, UserId};
use serde::{Deserialize, Serialize};

/// A calendar event as its organiser or an attendee sees it: a single event, a recurring series (as stored, from
/// `GET /api/calendar-events/{id}`), or one instance of a series (from range queries and instance ids).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CalendarEvent {
    /// A single event or series: its UUIDv7. An instance of a series: `<series id>_<original start>`, the
    /// original start in UTC as `YYYYMMDDTHHMMSSZ` (e.g. `0190..._20260302T090000Z`); stable however the
    /// instance is later moved.
    pub id: String,
    /// A short title, 1..=200 characters.
    pub title: String,
    /// Free text, at most 10,000 characters; empty when none was given.
    pub description: String,
    /// When it starts (for a series: its first instance).
    pub start_time: DateTime<Utc>,
    /// When it ends; always after `start_time`.
    pub end_time: DateTime<Utc>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// The RFC 5545 rule of the series (normalised: no `RRULE:` prefix, `UNTIL` in UTC); `null` for a single event.
    pub rrule: Option<String>,
    /// Original starts of the series' cancelled instances.
    pub exdates: Vec<DateTime<Utc>>,
    /// The IANA time zone the series repeats in (its local times stay fixed across daylight-saving changes).
    pub time_zone: String,
    /// For an instance: its series' id; else `null`.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<uuid::Uuid>))]
    pub series_id: Option<CalendarEventId>,
    /// For an instance: when the rule placed it (its id's second half); else `null`.
    pub original_start: Option<DateTime<Utc>>,
    /// The user who created it; only they may change it.
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub organizer_id: UserId,
    /// Invited users and their answers, by user id.
    pub attendees: Vec<Attendee>,
}

/// An invited user and their answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Attendee {
    /// Who.
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub user_id: UserId,
    /// `needs_action` until they answer, then `accepted`, `declined` or `tentative`.
    pub status: AttendeeStatus,
}

/// An attendee's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AttendeeStatus {
    /// Not answered yet.
    NeedsAction,
    /// Coming.
    Accepted,
    /// Not coming.
    Declined,
    /// Maybe.
    Tentative,
}

impl AttendeeStatus {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            AttendeeStatus::NeedsAction => "needs_action",
            AttendeeStatus::Accepted => "accepted",
            AttendeeStatus::Declined => "declined",
            AttendeeStatus::Tentative => "tentative",
        }
    }

    /// Reads the stored text.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "needs_action" => AttendeeStatus::NeedsAction,
            "accepted" => AttendeeStatus::Accepted,
            "declined" => AttendeeStatus::Declined,
            "tentative" => AttendeeStatus::Tentative,
            _ => return None,
        })
    }

    /// The RFC 5545 `PARTSTAT`.
    pub fn partstat(self) -> &'static str {
        match self {
            AttendeeStatus::NeedsAction => "NEEDS-ACTION",
            AttendeeStatus::Accepted => "ACCEPTED",
            AttendeeStatus::Declined => "DECLINED",
            AttendeeStatus::Tentative => "TENTATIVE",
        }
    }
}

/// What creating an event takes; the caller becomes its organiser.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewEvent {
    /// 1..=200 characters.
    pub title: String,
    /// The description (empty for none).
    pub description: String,
    /// Before `end_time`; for a series, its first instance.
    pub start_time: DateTime<Utc>,
    /// End; must be after `start_time`.
    pub end_time: DateTime<Utc>,
    /// An RFC 5545 rule: the event repeats.
    pub rrule: Option<String>,
    /// Original starts to leave out of the series.
    pub exdates: Vec<DateTime<Utc>>,
    /// IANA zone of the series (default `UTC`).
    pub time_zone: Option<String>,
    /// Users to invite.
    pub attendees: Vec<UserId>,
}

/// A partial update: `None` keeps the stored value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventChanges {
    /// 1..=200 characters.
    pub title: Option<String>,
    /// A new description (`""` clears it).
    pub description: Option<String>,
    /// A new start.
    pub start_time: Option<DateTime<Utc>>,
    /// A new end.
    pub end_time: Option<DateTime<Utc>>,
    /// A new rule; `Some("")` makes the event single again (whole events only).
    pub rrule: Option<String>,
    /// New exception dates (whole series only).
    pub exdates: Option<Vec<DateTime<Utc>>>,
    /// A new time zone (whole events only).
    pub time_zone: Option<String>,
    /// The new list of attendees (whole events only).
    pub attendees: Option<Vec<UserId>>,
}

impl EventChanges {
    /// True when nothing would change.
    pub fn is_empty(&self) -> bool {
        self.title.is_none()
            && self.description.is_none()
            && self.start_time.is_none()
            && self.end_time.is_none()
            && self.rrule.is_none()
            && self.exdates.is_none()
            && self.time_zone.is_none()
            && self.attendees.is_none()
    }

    /// True when a series-level field is set (refused for an instance).
    pub fn touches_series(&self) -> bool {
        self.rrule.is_some() || self.exdates.is_some() || self.time_zone.is_some() || self.attendees.is_some()
    }
}

/// Which instances a change or deletion of an instance applies to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Only this instance (an override, or a cancellation).
    #[default]
    This,
    /// This instance and all later ones: the series is split here.
    Following,
}

/// One busy interval of a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BusyInterval {
    /// Start (clamped to the query's range).
    pub start: DateTime<Utc>,
    /// End (clamped to the query's range).
    pub end: DateTime<Utc>,
}

/// A user's busy intervals over a range: merged, sorted, no titles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FreeBusy {
    /// Whose.
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub user_id: UserId,
    /// When they are busy: events they organise or did not decline.
    pub busy: Vec<BusyInterval>,
}

/// A half-open time range `[from, to)`; a missing bound is unbounded. An event is in the range when
/// `start_time < to` and `end_time > from`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeRange {
    /// Inclusive lower bound: events ending at or before it are out.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive upper bound: events starting at or after it are out.
    pub to: Option<DateTime<Utc>>,
}

impl TimeRange {
    /// True when `[start, end)` overlaps this range.
    pub fn contains(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        self.to.is_none_or(|to| start < to) && self.from.is_none_or(|from| end > from)
    }
}
