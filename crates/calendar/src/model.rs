//! What the calendar service takes and returns. [`CalendarEvent`] serializes to the contract's JSON shape.

use chrono::{DateTime, Utc};
use epop_core::CalendarEventId;
use serde::Serialize;

/// A calendar event, as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CalendarEvent {
    /// A UUIDv7: event ids sort by creation time.
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub id: CalendarEventId,
    /// A short title, 1..=200 characters.
    pub title: String,
    /// Free text, at most 10,000 characters; empty when none was given.
    pub description: String,
    /// When it starts.
    pub start_time: DateTime<Utc>,
    /// When it ends; always after `start_time`.
    pub end_time: DateTime<Utc>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// What creating an event takes; the caller becomes its owner, the only one who sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// 1..=200 characters.
    pub title: String,
    /// The description (empty for none).
    pub description: String,
    /// Before `end_time`.
    pub start_time: DateTime<Utc>,
    /// End; must be after `start_time`.
    pub end_time: DateTime<Utc>,
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
}

impl EventChanges {
    /// True when nothing would change.
    pub fn is_empty(&self) -> bool {
        self.title.is_none()
            && self.description.is_none()
            && self.start_time.is_none()
            && self.end_time.is_none()
    }
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
