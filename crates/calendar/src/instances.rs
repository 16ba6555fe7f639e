//! Instances of series: their ids, and the expansion of stored series (with their overrides) over a range.
//!
//! An instance's id is `<series id>_<original start>`, the original start in UTC as `YYYYMMDDTHHMMSSZ` (the
//! form of an iCalendar `RECURRENCE-ID`). It stays the same when the instance is moved by an override, so
//! clients can keep references to it. Nothing is materialised: a range query expands each candidate series on
//! the fly, at most the page size (plus one) instances per series after the page's position, and never more
//! than the series' instance bound.

use crate::model::TimeRange;
use crate::recurrence::{Recurrence, parse_time_zone};
use crate::repo::events::{EventRow, OverrideRow};
use chrono::{DateTime, NaiveDateTime, TimeZone as _, Utc};
use epop_core::CalendarEventId;
use std::collections::HashMap;

/// What an API id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventRef {
    /// A single event or a whole series.
    Whole(CalendarEventId),
    /// One instance of a series, by its original start.
    Instance(CalendarEventId, DateTime<Utc>),
}

impl EventRef {
    /// Reads an id of the calendar API; `None` when it is neither form.
    pub fn parse(text: &str) -> Option<Self> {
        match text.split_once('_') {
            None => text.parse().ok().map(EventRef::Whole),
            Some((series, start)) => {
                let series = series.parse().ok()?;
                let start = start.strip_suffix('Z')?;
                let start = NaiveDateTime::parse_from_str(start, "%Y%m%dT%H%M%S").ok()?;
                Some(EventRef::Instance(series, Utc.from_utc_datetime(&start)))
            }
        }
    }

    /// The event or series row it belongs to.
    pub fn event_id(self) -> CalendarEventId {
        match self {
            EventRef::Whole(id) | EventRef::Instance(id, _) => id,
        }
    }
}

/// The id of the instance of `series` originally at `start`.
pub fn instance_id(series: CalendarEventId, start: DateTime<Utc>) -> String {
    format!("{series}_{}", start.format("%Y%m%dT%H%M%SZ"))
}

/// The rule of a stored series, as it was validated when stored.
pub(crate) fn recurrence_of(row: &EventRow, max_instances: usize) -> Option<Recurrence> {
    let rule = row.rrule.as_deref()?;
    let tz = parse_time_zone(&row.time_zone).ok()?;
    match Recurrence::parse(rule, row.start_time, tz, max_instances) {
        Ok(recurrence) => Some(recurrence),
        Err(error) => {
            tracing::warn!(event = %row.id, %error, "a stored rule no longer parses; its series is skipped");
            None
        }
    }
}

/// One instance, before it is dressed as a `CalendarEvent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Instance {
    /// Index of its series in the slice given to [`expand`].
    pub(crate) series: usize,
    pub(crate) original_start: DateTime<Utc>,
    pub(crate) start: DateTime<Utc>,
    pub(crate) end: DateTime<Utc>,
    /// The override's title, if it changes it.
    pub(crate) title: Option<String>,
    /// The override's description, if it changes it.
    pub(crate) description: Option<String>,
    pub(crate) id: String,
}

/// The instances of `series` overlapping `range` and sorting after `after` (`(start, id)`), in
/// `(start, id)` order: at most `limit` per series (so the first `limit` of the union are right), each series
/// walked for at most `max_instances` instances.
pub(crate) fn expand(
    series: &[EventRow],
    overrides: &[OverrideRow],
    range: &TimeRange,
    after: Option<&(DateTime<Utc>, String)>,
    limit: usize,
    max_instances: usize,
) -> Vec<Instance> {
    let mut by_series: HashMap<CalendarEventId, HashMap<DateTime<Utc>, &OverrideRow>> = HashMap::new();
    for row in overrides {
        by_series
            .entry(row.event_id)
            .or_default()
            .insert(row.original_start, row);
    }
    let empty = HashMap::new();
    let after_key =
        |start: DateTime<Utc>, id: &str| after.is_none_or(|(s, i)| (start, id) > (*s, i.as_str()));
    let mut out = Vec::new();
    for (index, row) in series.iter().enumerate() {
        let Some(recurrence) = recurrence_of(row, max_instances) else {
            continue;
        };
        let duration = row.end_time - row.start_time;
        let changed = by_series.get(&row.id).unwrap_or(&empty);
        let mut mine = Vec::new();
        // Instances as the rule places them (skipping changed and cancelled ones).
        let lower = after.map(|(s, _)| *s);
        for start in recurrence
            .starts()
            .take_while(|start| range.to.is_none_or(|to| *start < to))
        {
            if mine.len() >= limit {
                break;
            }
            if range.from.is_some_and(|from| start + duration <= from)
                || lower.is_some_and(|lower| start < lower)
                || changed.contains_key(&start)
                || row.exdates.contains(&start)
            {
                continue;
            }
            let id = instance_id(row.id, start);
            if !after_key(start, &id) {
                continue;
            }
            mine.push(Instance {
                series: index,
                original_start: start,
                start,
                end: start + duration,
                title: None,
                description: None,
                id,
            });
        }
        // Changed instances, where they are now.
        for (original, change) in changed {
            if row.exdates.contains(original) || !range.contains(change.start_time, change.end_time) {
                continue;
            }
            let id = instance_id(row.id, *original);
            if !after_key(change.start_time, &id) {
                continue;
            }
            mine.push(Instance {
                series: index,
                original_start: *original,
                start: change.start_time,
                end: change.end_time,
                title: change.title.clone(),
                description: change.description.clone(),
                id,
            });
        }
        mine.sort_by(|a, b| (a.start, &a.id).cmp(&(b.start, &b.id)));
        mine.truncate(limit);
        out.extend(mine);
    }
    out.sort_by(|a, b| (a.start, &a.id).cmp(&(b.start, &b.id)));
    out.truncate(limit);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        let series = CalendarEventId::new();
        let start = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
        let id = instance_id(series, start);
        assert!(id.ends_with("_20260302T090000Z"), "{id}");
        assert_eq!(EventRef::parse(&id), Some(EventRef::Instance(series, start)));
        assert_eq!(
            EventRef::parse(&series.to_string()),
            Some(EventRef::Whole(series))
        );
        for bad in [
            "",
            "x",
            "x_20260302T090000Z",
            &format!("{series}_2026"),
            &format!("{series}_20260302T090000"),
        ] {
            assert_eq!(EventRef::parse(bad), None, "{bad}");
        }
    }
}
