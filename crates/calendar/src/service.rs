//! The rules of the calendar: the organiser changes, attendees read and answer; `end_time` after `start_time`
//! (also against stored values); recurring series and their instances; range listing with stable paging;
//! free/busy; the export and the feed.

use crate::error::{CalendarError, CalendarResult};
use crate::ics;
use crate::instances::{self, Entry, EventRef, Instance, ListKey, instance_id, recurrence_of};
use crate::model::{
    Attendee, AttendeeStatus, BusyInterval, CalendarEvent, EventChanges, FreeBusy, NewEvent, Scope, TimeRange,
};
use crate::recurrence::{self, Recurrence, parse_time_zone};
use crate::repo::events::{
    self, AttendeeRow, EventChangeset, EventRow, Keyset, NewEventRow, OverrideRow, Whose,
};
use crate::repo::feeds;
use chrono::{DateTime, Datelike as _, Duration, Utc};
use diesel_async::{AsyncConnection as _, AsyncPgConnection};
use epop_core::model::CalendarNoticeKind;
use epop_core::{CalendarEventId, Clock, DomainEvent, FieldError, Page, PageRequest, UserId};
use epop_storage::events::OutboxNotifier;
use epop_storage::{DbPool, outbox};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 10_000;
/// Most events in one `.ics` export.
pub const MAX_EXPORT_EVENTS: i64 = 10_000;
/// Most series one range query or export considers per source (organised, invited).
const MAX_SERIES_PER_QUERY: i64 = 5_000;
/// Most series a range query walks on the async worker itself; more go to the blocking pool.
const INLINE_SERIES: usize = 256;

/// The calendar's bounds (settings of the gateway).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CalendarLimits {
    /// Most instances of one series: an open-ended series ends after this many (`COUNT` may not exceed it).
    pub max_series_instances: usize,
    /// Most series one user may organise.
    pub max_series_per_user: i64,
    /// Most attendees of one event.
    pub max_attendees: usize,
    /// Most `exdates` of one series.
    pub max_exdates: usize,
    /// Most users in one free/busy query.
    pub max_free_busy_users: usize,
    /// Longest free/busy range, in days.
    pub max_free_busy_days: i64,
    /// Most reminders (minutes before the start) one user sets on one event.
    pub max_reminders: usize,
}

impl Default for CalendarLimits {
    fn default() -> Self {
        Self {
            max_series_instances: 1_000,
            max_series_per_user: 500,
            max_attendees: 100,
            max_exdates: 1_000,
            max_free_busy_users: 20,
            max_free_busy_days: 62,
            max_reminders: 5,
        }
    }
}

/// Calendars: events, series, invitations.
#[derive(Clone)]
pub struct CalendarService {
    pool: DbPool,
    clock: Arc<dyn Clock>,
    notifier: OutboxNotifier,
    limits: CalendarLimits,
}

impl std::fmt::Debug for CalendarService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CalendarService")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// Where the next page starts, and when the first page was read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct EventCursor {
    /// The last item's start.
    s: DateTime<Utc>,
    /// The last item's id (an event id or an instance id).
    i: String,
    /// When the first page was read.
    a: DateTime<Utc>,
}

/// Years both PostgreSQL and iCalendar (four-digit years) can write.
fn in_supported_years(time: DateTime<Utc>) -> bool {
    (1..=9999).contains(&time.year())
}

fn check_time(field: &str, time: Option<DateTime<Utc>>, errors: &mut Vec<FieldError>) {
    if time.is_some_and(|t| !in_supported_years(t)) {
        errors.push(FieldError::new(field, "must be within the years 1 to 9999"));
    }
}

fn done(errors: Vec<FieldError>) -> CalendarResult<()> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(CalendarError::Invalid(errors))
    }
}

/// Checks the fields of a new event or of a change: lengths of the given texts, supported years of the given
/// `times` (start, end), and, when known, that the `effective` (start, end) the event would have is in order.
fn check_fields(
    title: Option<&str>,
    description: Option<&str>,
    times: (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
    effective: Option<(DateTime<Utc>, DateTime<Utc>)>,
) -> CalendarResult<()> {
    let mut errors = Vec::new();
    if let Some(title) = title {
        let chars = title.chars().count();
        if chars == 0 || chars > MAX_TITLE_CHARS {
            errors.push(FieldError::new(
                "title",
                format!("must be 1 to {MAX_TITLE_CHARS} characters"),
            ));
        }
    }
    if description.is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS) {
        errors.push(FieldError::new(
            "description",
            format!("must be at most {MAX_DESCRIPTION_CHARS} characters"),
        ));
    }
    check_time("start_time", times.0, &mut errors);
    check_time("end_time", times.1, &mut errors);
    if let Some((start, end)) = effective
        && end <= start
        && !errors.iter().any(|e| e.field == "end_time")
    {
        errors.push(FieldError::new("end_time", "must be after start_time"));
    }
    done(errors)
}

/// Checks a listing range: supported years, and `from` not after `to`.
fn check_range(range: &TimeRange) -> CalendarResult<()> {
    let mut errors = Vec::new();
    check_time("from", range.from, &mut errors);
    check_time("to", range.to, &mut errors);
    if let (Some(from), Some(to)) = (range.from, range.to)
        && to < from
    {
        errors.push(FieldError::new("to", "must not be before from"));
    }
    done(errors)
}

/// The shape of a series as stored: normalised rule, zone, sorted exdates and the end of its last instance.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SeriesShape {
    rule: Option<String>,
    time_zone: String,
    exdates: Vec<DateTime<Utc>>,
    series_end: Option<DateTime<Utc>>,
    last_start: Option<DateTime<Utc>>,
}

/// Validates the recurrence fields of an event from `start` to `end` (CPU work: run it on the blocking pool).
fn series_shape(
    rule: Option<&str>,
    time_zone: &str,
    exdates: &[DateTime<Utc>],
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    limits: &CalendarLimits,
) -> CalendarResult<SeriesShape> {
    let mut errors = Vec::new();
    let tz = match parse_time_zone(time_zone) {
        Ok(tz) => Some(tz),
        Err(message) => {
            errors.push(FieldError::new("time_zone", message));
            None
        }
    };
    if exdates.len() > limits.max_exdates {
        errors.push(FieldError::new(
            "exdates",
            format!("must have at most {} entries", limits.max_exdates),
        ));
    } else if exdates.iter().any(|t| !in_supported_years(*t)) {
        errors.push(FieldError::new("exdates", "must be within the years 1 to 9999"));
    } else if rule.is_none() && !exdates.is_empty() {
        errors.push(FieldError::new(
            "exdates",
            "only a recurring event (with rrule) has exdates",
        ));
    }
    let recurrence = match (rule, tz) {
        (Some(rule), Some(tz)) => match Recurrence::parse(rule, start, tz, limits.max_series_instances) {
            Ok(r) => Some(r),
            Err(message) => {
                errors.push(FieldError::new("rrule", message));
                None
            }
        },
        _ => None,
    };
    done(errors)?;
    let exdates: Vec<DateTime<Utc>> = exdates
        .iter()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let (rule, series_end, last_start) = match recurrence {
        Some(r) => {
            let last = r
                .last_start()
                .ok_or_else(|| CalendarError::invalid("rrule", "has no instance from start_time on"))?;
            (Some(r.rule), Some(last + (end - start)), Some(last))
        }
        None => (None, None, None),
    };
    Ok(SeriesShape {
        rule,
        time_zone: time_zone.to_owned(),
        exdates,
        series_end,
        last_start,
    })
}

/// A `[start, end)` interval.
type Interval = (DateTime<Utc>, DateTime<Utc>);

/// Runs CPU-bound calendar work on the blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> CalendarResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| CalendarError::Internal(format!("calendar work failed: {e}")))
}

/// A `CalendarEvent` of a stored row (a single event or a whole series).
fn whole_event(row: &EventRow, attendees: Vec<Attendee>) -> CalendarEvent {
    CalendarEvent {
        id: row.id.to_string(),
        title: row.title.clone(),
        description: row.description.clone(),
        start_time: row.start_time,
        end_time: row.end_time,
        created_at: row.created_at,
        updated_at: row.updated_at,
        rrule: row.rrule.clone(),
        exdates: row.exdates.clone(),
        time_zone: row.time_zone.clone(),
        series_id: None,
        original_start: None,
        organizer_id: row.user_id,
        attendees,
    }
}

/// A `CalendarEvent` of one instance of `row`.
fn instance_event(row: &EventRow, instance: &Instance, attendees: Vec<Attendee>) -> CalendarEvent {
    CalendarEvent {
        id: instance.id.clone(),
        title: instance.title.clone().unwrap_or_else(|| row.title.clone()),
        description: instance
            .description
            .clone()
            .unwrap_or_else(|| row.description.clone()),
        start_time: instance.start,
        end_time: instance.end,
        series_id: Some(row.id),
        original_start: Some(instance.original_start),
        ..whole_event(row, attendees)
    }
}

fn attendee_map(rows: Vec<AttendeeRow>) -> HashMap<CalendarEventId, Vec<Attendee>> {
    let mut map: HashMap<CalendarEventId, Vec<Attendee>> = HashMap::new();
    for row in rows {
        let status = AttendeeStatus::parse(&row.status).unwrap_or(AttendeeStatus::NeedsAction);
        map.entry(row.event_id).or_default().push(Attendee {
            user_id: row.user_id,
            status,
        });
    }
    map
}

/// The users an iCalendar object about `rows` with `attendees` names: their organisers and attendees, once each.
fn people_in<'a>(rows: &[EventRow], attendees: impl IntoIterator<Item = &'a Vec<Attendee>>) -> Vec<UserId> {
    rows.iter()
        .map(|row| row.user_id)
        .chain(attendees.into_iter().flatten().map(|a| a.user_id))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The iTIP message (RFC 5546) the e-mails of an invitation, change or cancellation carry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Itip {
    /// `REQUEST` or `CANCEL`.
    method: &'static str,
    /// About one instance only.
    instance: Option<ics::InstanceTimes>,
    /// That instance and all later ones.
    this_and_future: bool,
}

impl Itip {
    /// An invitation or a change of the whole event.
    pub(crate) fn request() -> Option<Self> {
        Some(Self {
            method: "REQUEST",
            instance: None,
            this_and_future: false,
        })
    }

    /// A cancellation of the whole event (or of an attendee's invitation).
    pub(crate) fn cancel() -> Option<Self> {
        Some(Self {
            method: "CANCEL",
            ..Self::request()?
        })
    }

    /// The same message about one instance: its original start, start and end.
    fn of(self, times: ics::InstanceTimes) -> Option<Self> {
        Some(Self {
            instance: Some(times),
            ..self
        })
    }
}

/// A notice for `recipients` (none: nothing is written), with the iTIP `message` their e-mails carry.
pub(crate) async fn notice(
    conn: &mut AsyncPgConnection,
    kind: CalendarNoticeKind,
    event_id: String,
    row: &EventRow,
    start_time: DateTime<Utc>,
    recipients: Vec<UserId>,
    message: Option<Itip>,
) -> CalendarResult<bool> {
    if recipients.is_empty() {
        return Ok(false);
    }
    let ics = match message {
        Some(message) => {
            let attendees = attendee_map(events::attendees_of(conn, &[row.id]).await?)
                .remove(&row.id)
                .unwrap_or_default();
            let known = events::people_of(conn, &people_in(std::slice::from_ref(row), [&attendees])).await?;
            Some(ics::render_message(
                message.method,
                row,
                &attendees,
                &known,
                message.instance,
                message.this_and_future,
            ))
        }
        None => None,
    };
    outbox::append(
        conn,
        &DomainEvent::CalendarNotice {
            kind,
            event_id,
            calendar_event_id: row.id,
            title: row.title.clone(),
            start_time,
            organizer_id: row.user_id,
            recipients,
            ics,
        },
    )
    .await?;
    Ok(true)
}

/// The attendee list of a request: without duplicates or the organiser, within the bound, all existing users.
async fn check_attendees(
    conn: &mut AsyncPgConnection,
    organizer: UserId,
    requested: &[UserId],
    max: usize,
) -> CalendarResult<Vec<UserId>> {
    let wanted: Vec<UserId> = requested
        .iter()
        .copied()
        .filter(|u| *u != organizer)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if wanted.len() > max {
        return Err(CalendarError::invalid(
            "attendees",
            format!("must have at most {max} users"),
        ));
    }
    let existing = events::existing_users(conn, &wanted).await?;
    if existing.len() != wanted.len() {
        return Err(CalendarError::invalid(
            "attendees",
            "names a user that does not exist",
        ));
    }
    Ok(wanted)
}

impl CalendarService {
    /// Builds the service with the default [`CalendarLimits`].
    pub fn new(pool: DbPool, clock: Arc<dyn Clock>, notifier: OutboxNotifier) -> Self {
        Self {
            pool,
            clock,
            notifier,
            limits: CalendarLimits::default(),
        }
    }

    /// The same service with other limits.
    #[must_use]
    pub fn with_limits(mut self, limits: CalendarLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The limits in force.
    pub fn limits(&self) -> &CalendarLimits {
        &self.limits
    }

    pub(crate) fn pool(&self) -> &DbPool {
        &self.pool
    }

    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub(crate) fn notifier(&self) -> &OutboxNotifier {
        &self.notifier
    }

    /// Creates an event (or series) organised by `me`, inviting its attendees.
    #[tracing::instrument(skip(self, new), fields(title_chars = new.title.chars().count()))]
    pub async fn create(&self, me: UserId, new: &NewEvent) -> CalendarResult<CalendarEvent> {
        check_fields(
            Some(&new.title),
            Some(&new.description),
            (Some(new.start_time), Some(new.end_time)),
            Some((new.start_time, new.end_time)),
        )?;
        let limits = self.limits;
        let (rule, tz, exdates, times) = (
            new.rrule.clone(),
            new.time_zone.clone().unwrap_or_else(|| "UTC".to_owned()),
            new.exdates.clone(),
            (new.start_time, new.end_time),
        );
        let shape = blocking(move || series_shape(rule.as_deref(), &tz, &exdates, times, &limits)).await??;
        let now = self.clock.now();
        let mut conn = self.pool.get().await?;
        let (row, attendees, notified) = conn
            .transaction::<_, CalendarError, _>(async |conn| {
                if shape.rule.is_some() && events::count_series(conn, me).await? >= limits.max_series_per_user
                {
                    return Err(CalendarError::LimitReached(format!(
                        "at most {} recurring series per user",
                        limits.max_series_per_user
                    )));
                }
                let attendees = check_attendees(conn, me, &new.attendees, limits.max_attendees).await?;
                let row = events::insert(
                    conn,
                    &NewEventRow {
                        id: CalendarEventId::new(),
                        user_id: me,
                        title: &new.title,
                        description: &new.description,
                        start_time: new.start_time,
                        end_time: new.end_time,
                        created_at: now,
                        updated_at: now,
                        rrule: shape.rule.as_deref(),
                        exdates: &shape.exdates,
                        time_zone: &shape.time_zone,
                        series_end: shape.series_end,
                        last_start: shape.last_start,
                    },
                )
                .await?;
                events::set_attendees(conn, row.id, &attendees).await?;
                let notified = notice(
                    conn,
                    CalendarNoticeKind::Invited,
                    row.id.to_string(),
                    &row,
                    row.start_time,
                    attendees.clone(),
                    Itip::request(),
                )
                .await?;
                Ok((row, attendees, notified))
            })
            .await?;
        if notified {
            self.notifier.notify();
        }
        let attendees = attendees
            .into_iter()
            .map(|user_id| Attendee {
                user_id,
                status: AttendeeStatus::NeedsAction,
            })
            .collect();
        Ok(whole_event(&row, attendees))
    }

    /// Event, series or instance `id` as `me` (organiser or attendee) sees it.
    #[tracing::instrument(skip(self))]
    pub async fn event(&self, me: UserId, id: &str) -> CalendarResult<CalendarEvent> {
        let reference = EventRef::parse(id).ok_or(CalendarError::NotFound)?;
        let mut conn = self.pool.get().await?;
        let row = events::find_visible(&mut conn, me, reference.event_id())
            .await?
            .ok_or(CalendarError::NotFound)?;
        let attendees = attendee_map(events::attendees_of(&mut conn, &[row.id]).await?)
            .remove(&row.id)
            .unwrap_or_default();
        match reference {
            EventRef::Whole(_) => Ok(whole_event(&row, attendees)),
            EventRef::Instance(_, original) => {
                let change = events::find_override(&mut conn, row.id, original).await?;
                drop(conn);
                let instance = self.instance_of(row.clone(), original, change).await?;
                Ok(instance_event(&row, &instance, attendees))
            }
        }
    }

    /// The instance of series `row` originally at `original` (with its override), or `NotFound` when the rule
    /// has no such instance or it is cancelled.
    pub(crate) async fn instance_of(
        &self,
        row: EventRow,
        original: DateTime<Utc>,
        change: Option<OverrideRow>,
    ) -> CalendarResult<Instance> {
        if row.rrule.is_none() || row.exdates.contains(&original) {
            return Err(CalendarError::NotFound);
        }
        let max = self.limits.max_series_instances;
        let id = instance_id(row.id, original);
        let exists = blocking(move || {
            recurrence_of(&row, max)
                .is_some_and(|r| r.has_start(original))
                .then(|| row.end_time - row.start_time)
        })
        .await?;
        let duration = exists.ok_or(CalendarError::NotFound)?;
        let (start, end, title, description) = match change {
            Some(c) => (c.start_time, c.end_time, c.title, c.description),
            None => (original, original + duration, None, None),
        };
        Ok(Instance {
            series: 0,
            original_start: original,
            start,
            end,
            title,
            description,
            id,
        })
    }

    /// Locks event `id` for a change by `me`: `NotFound` when `me` cannot see it, `Forbidden` for an attendee.
    async fn lock_own(
        conn: &mut AsyncPgConnection,
        me: UserId,
        id: CalendarEventId,
    ) -> CalendarResult<(EventRow, Vec<UserId>)> {
        let row = events::find_for_update(conn, id)
            .await?
            .ok_or(CalendarError::NotFound)?;
        let attendees: Vec<UserId> = events::attendees_of(conn, &[id])
            .await?
            .into_iter()
            .map(|a| a.user_id)
            .collect();
        if row.user_id != me {
            return Err(if attendees.contains(&me) {
                CalendarError::Forbidden("only the organiser may change or delete the event")
            } else {
                CalendarError::NotFound
            });
        }
        Ok((row, attendees))
    }

    /// Changes event, series or instance `id` of `me`. For an instance, `scope` says whether only it changes
    /// (an override) or it and all later ones (the series is split, and the new series is answered).
    #[tracing::instrument(skip(self, changes))]
    pub async fn update(
        &self,
        me: UserId,
        id: &str,
        changes: &EventChanges,
        scope: Scope,
    ) -> CalendarResult<CalendarEvent> {
        check_fields(
            changes.title.as_deref(),
            changes.description.as_deref(),
            (changes.start_time, changes.end_time),
            None,
        )?;
        let reference = EventRef::parse(id).ok_or(CalendarError::NotFound)?;
        match reference {
            EventRef::Whole(id) => self.update_whole(me, id, changes).await,
            EventRef::Instance(id, original) => match scope {
                Scope::This => self.update_instance(me, id, original, changes).await,
                Scope::Following => self.split(me, id, original, changes).await,
            },
        }
    }

    async fn update_whole(
        &self,
        me: UserId,
        id: CalendarEventId,
        changes: &EventChanges,
    ) -> CalendarResult<CalendarEvent> {
        let now = self.clock.now();
        let limits = self.limits;
        let mut conn = self.pool.get().await?;
        let (row, attendees, notified) = conn
            .transaction::<_, CalendarError, _>(async |conn| {
                let (stored, before) = Self::lock_own(conn, me, id).await?;
                if changes.is_empty() {
                    return Ok((stored, before, false));
                }
                let start = changes.start_time.unwrap_or(stored.start_time);
                let end = changes.end_time.unwrap_or(stored.end_time);
                check_fields(None, None, (None, None), Some((start, end)))?;
                let rule = match &changes.rrule {
                    Some(r) if r.trim().is_empty() => None,
                    Some(r) => Some(r.clone()),
                    None => stored.rrule.clone(),
                };
                let tz = changes
                    .time_zone
                    .clone()
                    .unwrap_or_else(|| stored.time_zone.clone());
                let exdates = match (&changes.exdates, &rule) {
                    (Some(e), _) => e.clone(),
                    (None, Some(_)) => stored.exdates.clone(),
                    (None, None) => Vec::new(),
                };
                let was_series = stored.rrule.is_some();
                if rule.is_some()
                    && !was_series
                    && events::count_series(conn, me).await? >= limits.max_series_per_user
                {
                    return Err(CalendarError::LimitReached(format!(
                        "at most {} recurring series per user",
                        limits.max_series_per_user
                    )));
                }
                let shape =
                    blocking(move || series_shape(rule.as_deref(), &tz, &exdates, (start, end), &limits))
                        .await??;
                // Instances are keyed by their original start: a new rule, start or zone orphans the overrides.
                let reshaped = shape.rule != stored.rrule
                    || start != stored.start_time
                    || shape.time_zone != stored.time_zone;
                let mut series_end = shape.series_end;
                if was_series && reshaped {
                    events::delete_overrides(conn, id, None).await?;
                } else if let (Some(end), Some(latest)) =
                    (series_end, events::latest_override_end(conn, id).await?)
                {
                    series_end = Some(end.max(latest));
                }
                let row = events::update(
                    conn,
                    id,
                    &EventChangeset {
                        title: changes.title.as_deref(),
                        description: changes.description.as_deref(),
                        start_time: changes.start_time,
                        end_time: changes.end_time,
                        updated_at: now,
                        rrule: Some(shape.rule.as_deref()),
                        exdates: Some(&shape.exdates),
                        time_zone: Some(&shape.time_zone),
                        series_end: Some(series_end),
                        last_start: Some(shape.last_start),
                    },
                )
                .await?;
                let after = match &changes.attendees {
                    Some(list) => {
                        let list = check_attendees(conn, me, list, limits.max_attendees).await?;
                        events::set_attendees(conn, id, &list).await?;
                        list
                    }
                    None => before.clone(),
                };
                let added: Vec<UserId> = after.iter().filter(|u| !before.contains(u)).copied().collect();
                let removed: Vec<UserId> = before.iter().filter(|u| !after.contains(u)).copied().collect();
                let kept: Vec<UserId> = after.iter().filter(|u| before.contains(u)).copied().collect();
                Self::drop_reminders(conn, id, Some(&removed)).await?;
                self.refresh_reminders(conn, std::slice::from_ref(&row), now, None)
                    .await?;
                let event_changed = changes.title.is_some()
                    || changes.description.is_some()
                    || changes.start_time.is_some()
                    || changes.end_time.is_some()
                    || changes.rrule.is_some()
                    || changes.exdates.is_some()
                    || changes.time_zone.is_some();
                let mut notified = false;
                let whole = row.id.to_string();
                notified |= notice(
                    conn,
                    CalendarNoticeKind::Invited,
                    whole.clone(),
                    &row,
                    row.start_time,
                    added,
                    Itip::request(),
                )
                .await?;
                notified |= notice(
                    conn,
                    CalendarNoticeKind::Cancelled,
                    whole.clone(),
                    &row,
                    row.start_time,
                    removed,
                    Itip::cancel(),
                )
                .await?;
                if event_changed {
                    notified |= notice(
                        conn,
                        CalendarNoticeKind::Updated,
                        whole,
                        &row,
                        row.start_time,
                        kept,
                        Itip::request(),
                    )
                    .await?;
                }
                Ok((row, after, notified))
            })
            .await?;
        if notified {
            self.notifier.notify();
        }
        let answers = attendee_map(events::attendees_of(&mut conn, &[row.id]).await?)
            .remove(&row.id)
            .unwrap_or_default();
        debug_assert_eq!(answers.len(), attendees.len());
        Ok(whole_event(&row, answers))
    }

    async fn update_instance(
        &self,
        me: UserId,
        id: CalendarEventId,
        original: DateTime<Utc>,
        changes: &EventChanges,
    ) -> CalendarResult<CalendarEvent> {
        if changes.touches_series() {
            let field = if changes.rrule.is_some() {
                "rrule"
            } else if changes.exdates.is_some() {
                "exdates"
            } else if changes.time_zone.is_some() {
                "time_zone"
            } else {
                "attendees"
            };
            return Err(CalendarError::invalid(
                field,
                "can only be changed on the whole event",
            ));
        }
        let now = self.clock.now();
        let mut conn = self.pool.get().await?;
        let (row, instance, notified) = conn
            .transaction::<_, CalendarError, _>(async |conn| {
                let (stored, attendees) = Self::lock_own(conn, me, id).await?;
                let change = events::find_override(conn, id, original).await?;
                let current = self.instance_of(stored.clone(), original, change.clone()).await?;
                let start = changes.start_time.unwrap_or(current.start);
                let end = changes.end_time.unwrap_or(current.end);
                check_fields(None, None, (None, None), Some((start, end)))?;
                if start < stored.start_time {
                    return Err(CalendarError::invalid(
                        "start_time",
                        "must not be before the series' first instance",
                    ));
                }
                let row = OverrideRow {
                    event_id: id,
                    original_start: original,
                    title: changes.title.clone().or(current.title),
                    description: changes.description.clone().or(current.description),
                    start_time: start,
                    end_time: end,
                    updated_at: now,
                };
                events::upsert_override(conn, &row).await?;
                let series_end = stored.series_end.map(|e| e.max(end));
                let stored = events::update(
                    conn,
                    id,
                    &EventChangeset {
                        title: None,
                        description: None,
                        start_time: None,
                        end_time: None,
                        updated_at: now,
                        rrule: None,
                        exdates: None,
                        time_zone: None,
                        series_end: Some(series_end),
                        last_start: None,
                    },
                )
                .await?;
                self.refresh_reminders(conn, std::slice::from_ref(&stored), now, None)
                    .await?;
                let instance = Instance {
                    series: 0,
                    original_start: original,
                    start,
                    end,
                    title: row.title,
                    description: row.description,
                    id: instance_id(id, original),
                };
                let notified = notice(
                    conn,
                    CalendarNoticeKind::Updated,
                    instance.id.clone(),
                    &stored,
                    start,
                    attendees,
                    Itip::request().and_then(|m| m.of((original, start, end))),
                )
                .await?;
                Ok((stored, instance, notified))
            })
            .await?;
        if notified {
            self.notifier.notify();
        }
        let answers = attendee_map(events::attendees_of(&mut conn, &[id]).await?)
            .remove(&id)
            .unwrap_or_default();
        Ok(instance_event(&row, &instance, answers))
    }

    /// "This and following": ends series `id` before `original` and starts a new series there with `changes`.
    async fn split(
        &self,
        me: UserId,
        id: CalendarEventId,
        original: DateTime<Utc>,
        changes: &EventChanges,
    ) -> CalendarResult<CalendarEvent> {
        if changes.exdates.is_some() || changes.attendees.is_some() {
            let field = if changes.exdates.is_some() {
                "exdates"
            } else {
                "attendees"
            };
            return Err(CalendarError::invalid(
                field,
                "can only be changed on the whole event",
            ));
        }
        let now = self.clock.now();
        let limits = self.limits;
        let mut conn = self.pool.get().await?;
        let (row, notified) = conn
            .transaction::<_, CalendarError, _>(async |conn| {
                let (stored, attendees) = Self::lock_own(conn, me, id).await?;
                self.instance_of(stored.clone(), original, None).await?;
                if original == stored.start_time {
                    return Ok((None, false));
                }
                let duration = stored.end_time - stored.start_time;
                let start = changes.start_time.unwrap_or(original);
                let end = changes.end_time.unwrap_or(start + duration);
                check_fields(None, None, (None, None), Some((start, end)))?;
                if events::count_series(conn, me).await? >= limits.max_series_per_user {
                    return Err(CalendarError::LimitReached(format!(
                        "at most {} recurring series per user",
                        limits.max_series_per_user
                    )));
                }
                let old = stored.clone();
                let (head, tail_rule) = blocking(move || {
                    let recurrence = recurrence_of(&old, limits.max_series_instances);
                    let rule = old.rrule.clone().unwrap_or_default();
                    let head_rule = recurrence::with_until(&rule, original - Duration::seconds(1));
                    let before = recurrence.as_ref().map_or(0, |r| r.count_before(original));
                    let tail_rule = match recurrence.as_ref().and_then(Recurrence::count) {
                        Some(count) => recurrence::with_count(
                            &rule,
                            count
                                .saturating_sub(u32::try_from(before).unwrap_or(u32::MAX))
                                .max(1),
                        ),
                        None => rule,
                    };
                    let head_exdates: Vec<_> =
                        old.exdates.iter().copied().filter(|d| *d < original).collect();
                    let head = series_shape(
                        Some(&head_rule),
                        &old.time_zone,
                        &head_exdates,
                        (old.start_time, old.end_time),
                        &limits,
                    );
                    (head, tail_rule)
                })
                .await?;
                let head = head?;
                let tail_rule = match &changes.rrule {
                    Some(r) if !r.trim().is_empty() => r.clone(),
                    _ => tail_rule,
                };
                let tz = changes
                    .time_zone
                    .clone()
                    .unwrap_or_else(|| stored.time_zone.clone());
                let moved = start != original || tz != stored.time_zone || changes.rrule.is_some();
                let tail_exdates: Vec<_> = if moved {
                    Vec::new()
                } else {
                    stored
                        .exdates
                        .iter()
                        .copied()
                        .filter(|d| *d >= original)
                        .collect()
                };
                let tail = blocking(move || {
                    series_shape(Some(&tail_rule), &tz, &tail_exdates, (start, end), &limits)
                })
                .await??;
                let latest_head = events::latest_override_end(conn, id).await?;
                let new_row = events::insert(
                    conn,
                    &NewEventRow {
                        id: CalendarEventId::new(),
                        user_id: me,
                        title: changes.title.as_deref().unwrap_or(&stored.title),
                        description: changes.description.as_deref().unwrap_or(&stored.description),
                        start_time: start,
                        end_time: end,
                        created_at: now,
                        updated_at: now,
                        rrule: tail.rule.as_deref(),
                        exdates: &tail.exdates,
                        time_zone: &tail.time_zone,
                        series_end: tail.series_end,
                        last_start: tail.last_start,
                    },
                )
                .await?;
                if moved {
                    events::delete_overrides(conn, id, Some(original)).await?;
                } else {
                    events::move_overrides(conn, id, new_row.id, original).await?;
                }
                let head_end = head.series_end.map(|e| latest_head.map_or(e, |l| e.max(l)));
                let head_row = events::update(
                    conn,
                    id,
                    &EventChangeset {
                        title: None,
                        description: None,
                        start_time: None,
                        end_time: None,
                        updated_at: now,
                        rrule: Some(head.rule.as_deref()),
                        exdates: Some(&head.exdates),
                        time_zone: None,
                        series_end: Some(head_end),
                        last_start: Some(head.last_start),
                    },
                )
                .await?;
                events::copy_for_split(conn, id, new_row.id).await?;
                self.refresh_reminders(conn, &[head_row.clone(), new_row.clone()], now, None)
                    .await?;
                // The attendees hear of both halves: the original series now ends before `original` (a
                // REQUEST with its new rule, same UID), and the new series takes over from there.
                let mut notified = notice(
                    conn,
                    CalendarNoticeKind::Updated,
                    head_row.id.to_string(),
                    &head_row,
                    head_row.start_time,
                    attendees.clone(),
                    Itip::request(),
                )
                .await?;
                notified |= notice(
                    conn,
                    CalendarNoticeKind::Updated,
                    new_row.id.to_string(),
                    &new_row,
                    start,
                    attendees,
                    Itip::request(),
                )
                .await?;
                Ok((Some(new_row), notified))
            })
            .await?;
        if notified {
            self.notifier.notify();
        }
        match row {
            Some(row) => {
                let answers = attendee_map(events::attendees_of(&mut conn, &[row.id]).await?)
                    .remove(&row.id)
                    .unwrap_or_default();
                Ok(whole_event(&row, answers))
            }
            // Splitting at the first instance changes the whole series.
            None => {
                drop(conn);
                self.update_whole(me, id, changes).await
            }
        }
    }

    /// Deletes event or series `id` of `me`, or cancels an instance (`scope` `this`) or it and all later ones
    /// (`following`). Attendees are told.
    #[tracing::instrument(skip(self))]
    pub async fn delete(&self, me: UserId, id: &str, scope: Scope) -> CalendarResult<()> {
        let reference = EventRef::parse(id).ok_or(CalendarError::NotFound)?;
        let now = self.clock.now();
        let limits = self.limits;
        let mut conn = self.pool.get().await?;
        let notified = conn
            .transaction::<_, CalendarError, _>(async |conn| {
                let (stored, attendees) = Self::lock_own(conn, me, reference.event_id()).await?;
                let original = match reference {
                    EventRef::Instance(_, original) => {
                        self.instance_of(stored.clone(), original, None).await?;
                        Some(original)
                    }
                    EventRef::Whole(_) => None,
                };
                match (original, scope) {
                    (Some(original), Scope::This) => {
                        let mut exdates = stored.exdates.clone();
                        exdates.push(original);
                        exdates.sort();
                        if exdates.len() > limits.max_exdates {
                            return Err(CalendarError::LimitReached(format!(
                                "at most {} cancelled instances per series",
                                limits.max_exdates
                            )));
                        }
                        events::delete_overrides_at(conn, stored.id, original).await?;
                        let row = events::update(
                            conn,
                            stored.id,
                            &EventChangeset {
                                title: None,
                                description: None,
                                start_time: None,
                                end_time: None,
                                updated_at: now,
                                rrule: None,
                                exdates: Some(&exdates),
                                time_zone: None,
                                series_end: None,
                                last_start: None,
                            },
                        )
                        .await?;
                        self.refresh_reminders(conn, std::slice::from_ref(&row), now, None)
                            .await?;
                        let length = stored.end_time - stored.start_time;
                        notice(
                            conn,
                            CalendarNoticeKind::Cancelled,
                            instance_id(stored.id, original),
                            &row,
                            original,
                            attendees,
                            Itip::cancel().and_then(|m| m.of((original, original, original + length))),
                        )
                        .await
                    }
                    (Some(original), Scope::Following) if original > stored.start_time => {
                        let old = stored.clone();
                        let head = blocking(move || {
                            let rule = recurrence::with_until(
                                old.rrule.as_deref().unwrap_or_default(),
                                original - Duration::seconds(1),
                            );
                            let exdates: Vec<_> =
                                old.exdates.iter().copied().filter(|d| *d < original).collect();
                            series_shape(
                                Some(&rule),
                                &old.time_zone,
                                &exdates,
                                (old.start_time, old.end_time),
                                &limits,
                            )
                        })
                        .await??;
                        events::delete_overrides(conn, stored.id, Some(original)).await?;
                        let latest = events::latest_override_end(conn, stored.id).await?;
                        let row = events::update(
                            conn,
                            stored.id,
                            &EventChangeset {
                                title: None,
                                description: None,
                                start_time: None,
                                end_time: None,
                                updated_at: now,
                                rrule: Some(head.rule.as_deref()),
                                exdates: Some(&head.exdates),
                                time_zone: None,
                                series_end: Some(head.series_end.map(|e| latest.map_or(e, |l| e.max(l)))),
                                last_start: Some(head.last_start),
                            },
                        )
                        .await?;
                        self.refresh_reminders(conn, std::slice::from_ref(&row), now, None)
                            .await?;
                        let length = stored.end_time - stored.start_time;
                        let message = Itip::cancel()
                            .and_then(|m| m.of((original, original, original + length)))
                            .map(|m| Itip {
                                this_and_future: true,
                                ..m
                            });
                        notice(
                            conn,
                            CalendarNoticeKind::Cancelled,
                            instance_id(stored.id, original),
                            &row,
                            original,
                            attendees,
                            message,
                        )
                        .await
                    }
                    _ => {
                        Self::drop_reminders(conn, stored.id, None).await?;
                        let notified = notice(
                            conn,
                            CalendarNoticeKind::Cancelled,
                            stored.id.to_string(),
                            &stored,
                            stored.start_time,
                            attendees,
                            Itip::cancel(),
                        )
                        .await?;
                        events::delete(conn, stored.id).await?;
                        Ok(notified)
                    }
                }
            })
            .await?;
        if notified {
            self.notifier.notify();
        }
        Ok(())
    }

    /// `me`'s answer to an invitation (an instance id answers for its whole series). The organiser is told.
    #[tracing::instrument(skip(self))]
    pub async fn respond(
        &self,
        me: UserId,
        id: &str,
        status: AttendeeStatus,
    ) -> CalendarResult<CalendarEvent> {
        if status == AttendeeStatus::NeedsAction {
            return Err(CalendarError::invalid(
                "status",
                "must be accepted, declined or tentative",
            ));
        }
        let reference = EventRef::parse(id).ok_or(CalendarError::NotFound)?;
        let now = self.clock.now();
        let mut conn = self.pool.get().await?;
        let row = events::find_visible(&mut conn, me, reference.event_id())
            .await?
            .ok_or(CalendarError::NotFound)?;
        if !events::respond(&mut conn, row.id, me, status.as_str(), now).await? {
            return Err(CalendarError::Forbidden("only attendees answer an invitation"));
        }
        let attendees = attendee_map(events::attendees_of(&mut conn, &[row.id]).await?)
            .remove(&row.id)
            .unwrap_or_default();
        Ok(whole_event(&row, attendees))
    }

    /// Events (single events, and instances of series) `me` organises or is invited to overlapping `range`,
    /// by `start_time` then `id`. Later pages walk the list as it stood at the first page.
    #[tracing::instrument(skip(self))]
    pub async fn events(
        &self,
        me: UserId,
        range: &TimeRange,
        page: &PageRequest,
    ) -> CalendarResult<Page<CalendarEvent>> {
        check_range(range)?;
        let cursor = page
            .cursor
            .as_ref()
            .map(|c| c.decode::<EventCursor>().map_err(|_| CalendarError::BadCursor))
            .transpose()?;
        let as_of = cursor.as_ref().map_or_else(|| self.clock.now(), |c| c.a);
        let after = cursor
            .as_ref()
            .map(|c| ListKey::of(c.s, &c.i).ok_or(CalendarError::BadCursor))
            .transpose()?;
        let keyset = after.map(|key| Keyset {
            start_time: key.start,
            id: key.event,
        });
        let limit = usize::from(page.limit) + 1;
        let mut conn = self.pool.get().await?;
        let mut singles = Vec::new();
        let mut series = Vec::new();
        for whose in [Whose::Organised(me), Whose::Invited(me)] {
            singles.extend(
                events::list_singles(&mut conn, whose, range, keyset, Some(as_of), limit as i64).await?,
            );
            series.extend(
                events::list_series(&mut conn, whose, range, Some(as_of), MAX_SERIES_PER_QUERY).await?,
            );
        }
        singles.sort_unstable_by_key(|row| (row.start_time, row.id));
        let ids: Vec<CalendarEventId> = series.iter().map(|s| s.id).collect();
        let overrides = events::overrides_of(&mut conn, &ids, range.to).await?;
        let max = self.limits.max_series_instances;
        let range_copy = *range;
        let merge = move || {
            let entries = instances::merge(
                &singles,
                &series,
                &overrides,
                &range_copy,
                after.as_ref(),
                limit,
                max,
            );
            (singles, series, entries)
        };
        // Walking the series is CPU work, but little once walks start near the range: in bench/calendar.sh
        // (200 series) about 0.15 ms a query, less than a hand-over to the blocking pool costs in thread
        // switches. Only many series (or old ones walked from their first start) go to the blocking pool.
        let (singles, series, entries) = if ids.len() <= INLINE_SERIES {
            merge()
        } else {
            drop(conn);
            let merged = blocking(merge).await?;
            conn = self.pool.get().await?;
            merged
        };
        let event_ids: Vec<CalendarEventId> = entries
            .iter()
            .map(|entry| match entry {
                Entry::Single(i) => singles[*i].id,
                Entry::Instance(instance) => series[instance.series].id,
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let attendees = attendee_map(events::attendees_of(&mut conn, &event_ids).await?);
        drop(conn);
        let attendees_of = |id: CalendarEventId| attendees.get(&id).cloned().unwrap_or_default();
        let events: Vec<CalendarEvent> = entries
            .into_iter()
            .map(|entry| match entry {
                Entry::Single(i) => whole_event(&singles[i], attendees_of(singles[i].id)),
                Entry::Instance(instance) => {
                    let row = &series[instance.series];
                    instance_event(row, &instance, attendees_of(row.id))
                }
            })
            .collect();
        Ok(Page::from_overfetch(events, page.limit, |event| EventCursor {
            s: event.start_time,
            i: event.id.clone(),
            a: as_of,
        }))
    }

    /// The busy intervals of `users` over `range` (both bounds required): events they organise, and events
    /// they are invited to and did not decline; merged, clamped to the range, without titles.
    #[tracing::instrument(skip(self))]
    pub async fn free_busy(&self, users: &[UserId], range: &TimeRange) -> CalendarResult<Vec<FreeBusy>> {
        check_range(range)?;
        let mut errors = Vec::new();
        let (Some(from), Some(to)) = (range.from, range.to) else {
            if range.from.is_none() {
                errors.push(FieldError::new("from", "is required"));
            }
            if range.to.is_none() {
                errors.push(FieldError::new("to", "is required"));
            }
            return Err(CalendarError::Invalid(errors));
        };
        if to - from > Duration::days(self.limits.max_free_busy_days) {
            return Err(CalendarError::invalid(
                "to",
                format!(
                    "must be at most {} days after from",
                    self.limits.max_free_busy_days
                ),
            ));
        }
        let users: Vec<UserId> = users
            .iter()
            .copied()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if users.is_empty() || users.len() > self.limits.max_free_busy_users {
            return Err(CalendarError::invalid(
                "users",
                format!("must name 1 to {} users", self.limits.max_free_busy_users),
            ));
        }
        let mut conn = self.pool.get().await?;
        let rows = events::busy_rows(&mut conn, &users, from, to, MAX_EXPORT_EVENTS).await?;
        let series_ids: Vec<CalendarEventId> = rows
            .iter()
            .filter(|(_, row)| row.rrule.is_some())
            .map(|(_, row)| row.id)
            .collect();
        let overrides = events::overrides_of(&mut conn, &series_ids, Some(to)).await?;
        drop(conn);
        let max = self.limits.max_series_instances;
        let range = *range;
        blocking(move || {
            let mut busy: HashMap<UserId, Vec<Interval>> = HashMap::new();
            for (user, row) in &rows {
                let intervals = busy.entry(*user).or_default();
                if row.rrule.is_none() {
                    intervals.push((row.start_time, row.end_time));
                } else {
                    let own: Vec<OverrideRow> = overrides
                        .iter()
                        .filter(|o| o.event_id == row.id)
                        .cloned()
                        .collect();
                    for i in instances::expand(std::slice::from_ref(row), &own, &range, None, max, max) {
                        intervals.push((i.start, i.end));
                    }
                }
            }
            users
                .iter()
                .map(|user| {
                    let mut intervals = busy.remove(user).unwrap_or_default();
                    intervals.sort();
                    let mut merged: Vec<BusyInterval> = Vec::new();
                    for (start, end) in intervals {
                        let (start, end) = (start.max(from), end.min(to));
                        match merged.last_mut() {
                            Some(last) if start <= last.end => last.end = last.end.max(end),
                            _ => merged.push(BusyInterval { start, end }),
                        }
                    }
                    FreeBusy {
                        user_id: *user,
                        busy: merged,
                    }
                })
                .collect()
        })
        .await
    }

    /// `me`'s events (organised or invited) overlapping `range` as one iCalendar object: single events and
    /// whole series (with their `RRULE`, `EXDATE`s and changed instances), not paged, at most
    /// [`MAX_EXPORT_EVENTS`] of each.
    #[tracing::instrument(skip(self))]
    pub async fn export_ics(&self, me: UserId, range: &TimeRange) -> CalendarResult<String> {
        self.calendar_of(me, range, Vec::new()).await
    }

    /// `me`'s events overlapping `range` and `tasks` as one iCalendar object (see [`Self::export_ics`]).
    async fn calendar_of(
        &self,
        me: UserId,
        range: &TimeRange,
        tasks: Vec<ics::FeedTask>,
    ) -> CalendarResult<String> {
        check_range(range)?;
        let mut conn = self.pool.get().await?;
        let mut rows = Vec::new();
        for whose in [Whose::Organised(me), Whose::Invited(me)] {
            rows.extend(events::list_singles(&mut conn, whose, range, None, None, MAX_EXPORT_EVENTS).await?);
            rows.extend(events::list_series(&mut conn, whose, range, None, MAX_EXPORT_EVENTS).await?);
        }
        rows.sort_by_key(|r| (r.start_time, r.id));
        rows.truncate(usize::try_from(MAX_EXPORT_EVENTS).unwrap_or(usize::MAX));
        let ids: Vec<CalendarEventId> = rows.iter().map(|r| r.id).collect();
        let series_ids: Vec<CalendarEventId> =
            rows.iter().filter(|r| r.rrule.is_some()).map(|r| r.id).collect();
        let overrides = events::overrides_of(&mut conn, &series_ids, None).await?;
        let attendees = attendee_map(events::attendees_of(&mut conn, &ids).await?);
        let known = events::people_of(&mut conn, &people_in(&rows, attendees.values())).await?;
        drop(conn);
        blocking(move || ics::render_rows(&rows, &overrides, &attendees, &known, &tasks)).await
    }

    /// Makes a new secret feed token for `me` (the old one stops working) and returns it.
    #[tracing::instrument(skip(self))]
    pub async fn regenerate_feed(&self, me: UserId) -> CalendarResult<String> {
        let token = feeds::new_token()?;
        let mut conn = self.pool.get().await?;
        feeds::upsert(&mut conn, me, &feeds::hash(&token), self.clock.now()).await?;
        Ok(token)
    }

    /// Revokes `me`'s feed token; `NotFound` when there is none.
    #[tracing::instrument(skip(self))]
    pub async fn revoke_feed(&self, me: UserId) -> CalendarResult<()> {
        let mut conn = self.pool.get().await?;
        if feeds::delete(&mut conn, me).await? {
            Ok(())
        } else {
            Err(CalendarError::NotFound)
        }
    }

    /// Whose feed token `token` is; `NotFound` for an unknown or revoked one.
    #[tracing::instrument(skip(self, token))]
    pub async fn feed_owner(&self, token: &str) -> CalendarResult<UserId> {
        let mut conn = self.pool.get().await?;
        feeds::owner(&mut conn, &feeds::hash(token))
            .await?
            .ok_or(CalendarError::NotFound)
    }

    /// The feed of `owner` (from [`Self::feed_owner`]): all their events, as [`Self::export_ics`] with no
    /// range, and `tasks` (theirs with due dates, as `VTODO`s), with its strong `ETag` (a quoted hash of the
    /// text).
    #[tracing::instrument(skip(self, tasks))]
    pub async fn feed(&self, owner: UserId, tasks: Vec<ics::FeedTask>) -> CalendarResult<(String, String)> {
        let text = self.calendar_of(owner, &TimeRange::default(), tasks).await?;
        let etag = feeds::etag(&text);
        Ok((text, etag))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;
    use epop_core::Cursor;

    fn decode(cursor: &str) -> CalendarResult<EventCursor> {
        Cursor(cursor.to_owned())
            .decode()
            .map_err(|_| CalendarError::BadCursor)
    }

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 4, h, 0, 0).unwrap()
    }

    fn fields(result: CalendarResult<()>) -> Vec<String> {
        match result {
            Err(CalendarError::Invalid(errors)) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn end_must_be_after_start() {
        assert!(
            check_fields(
                Some("a"),
                Some(""),
                (Some(at(9)), Some(at(10))),
                Some((at(9), at(10)))
            )
            .is_ok()
        );
        for end in [at(9), at(8)] {
            assert_eq!(
                fields(check_fields(
                    Some("a"),
                    None,
                    (Some(at(9)), Some(end)),
                    Some((at(9), end))
                )),
                vec!["end_time"]
            );
        }
    }

    #[test]
    fn every_failing_field_is_listed() {
        let long = "x".repeat(MAX_DESCRIPTION_CHARS + 1);
        let far = Utc.with_ymd_and_hms(10_000, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(
            fields(check_fields(Some(""), Some(&long), (Some(far), None), None)),
            vec!["title", "description", "start_time"]
        );
        let title = "é".repeat(MAX_TITLE_CHARS);
        assert!(check_fields(Some(&title), None, (None, None), None).is_ok());
        let title = "é".repeat(MAX_TITLE_CHARS + 1);
        assert_eq!(
            fields(check_fields(Some(&title), None, (None, None), None)),
            vec!["title"]
        );
    }

    #[test]
    fn series_fields_are_checked_together() {
        let limits = CalendarLimits::default();
        let shape = series_shape(
            Some("freq=daily;count=3"),
            "Europe/London",
            &[at(9), at(9)],
            (at(9), at(10)),
            &limits,
        )
        .unwrap();
        assert_eq!(shape.rule.as_deref(), Some("FREQ=DAILY;COUNT=3"));
        assert_eq!(shape.exdates, vec![at(9)], "sorted, without duplicates");
        assert_eq!(shape.series_end, Some(at(10) + Duration::days(2)));
        let errors = |r: CalendarResult<SeriesShape>| fields(r.map(|_| ()));
        assert_eq!(
            errors(series_shape(
                Some("FREQ=MINUTELY"),
                "Nowhere/City",
                &[],
                (at(9), at(10)),
                &limits
            )),
            vec!["time_zone"]
        );
        assert_eq!(
            errors(series_shape(
                Some("FREQ=SECONDLY"),
                "UTC",
                &[],
                (at(9), at(10)),
                &limits
            )),
            vec!["rrule"]
        );
        assert_eq!(
            errors(series_shape(None, "UTC", &[at(9)], (at(9), at(10)), &limits)),
            vec!["exdates"]
        );
        let single = series_shape(None, "UTC", &[], (at(9), at(10)), &limits).unwrap();
        assert_eq!((single.rule, single.series_end), (None, None));
    }

    #[test]
    fn ranges_are_half_open_and_ordered() {
        let range = TimeRange {
            from: Some(at(10)),
            to: Some(at(12)),
        };
        assert!(!range.contains(at(9), at(10)), "ends exactly at from");
        assert!(range.contains(at(9), at(11)));
        assert!(range.contains(at(11), at(13)));
        assert!(!range.contains(at(12), at(13)), "starts exactly at to");
        assert!(TimeRange::default().contains(at(1), at(2)));
        let instant = TimeRange {
            from: Some(at(10)),
            to: Some(at(10)),
        };
        assert!(instant.contains(at(9), at(11)));
        assert!(check_range(&instant).is_ok());
        let inverted = TimeRange {
            from: Some(at(12)),
            to: Some(at(10)),
        };
        assert_eq!(fields(check_range(&inverted)), vec!["to"]);
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let cursor = EventCursor {
            s: at(9),
            i: CalendarEventId::new().to_string(),
            a: at(1),
        };
        let encoded = Cursor::encode(&cursor).0;
        assert_eq!(decode(&encoded).unwrap(), cursor);
        assert!(matches!(decode("nope"), Err(CalendarError::BadCursor)));
        assert!(matches!(
            decode(&Cursor::encode(&[1, 2]).0),
            Err(CalendarError::BadCursor)
        ));
    }
}
