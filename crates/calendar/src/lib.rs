//! # epop-calendar
//!
//! Calendar events, recurring series and invitations: create, read, partial update, delete, range listing,
//! free/busy, an iCalendar (RFC 5545) export and per-user secret feeds, with no HTTP in sight: the gateway
//! maps [`CalendarService`] onto routes.
//!
//! Design notes:
//! - **Visibility.** An event is seen by its organiser (`user_id`) and its attendees, filtered inside SQL;
//!   anyone else's is [`CalendarError::NotFound`], exactly as if it did not exist. Only the organiser changes
//!   or deletes an event (an attendee gets [`CalendarError::Forbidden`]); attendees answer invitations.
//! - **Series.** See [`recurrence`] (rules, time zones, the instance bound) and [`instances`] (instance ids,
//!   expansion). A series is one row; a changed instance is an override row keyed by its original start; a
//!   cancelled instance is an `exdate`; "this and following" ends the series with `UNTIL` and starts a new one.
//!   Series are never materialised: range queries expand them on the blocking pool.
//! - **Time rule.** `end_time` must be after `start_time`. A partial update is checked against the stored
//!   values inside a transaction that row-locks the event (`SELECT .. FOR UPDATE`), so two concurrent partial
//!   updates cannot together produce an event that ends before it starts; the table's CHECK constraint is the
//!   backstop. Times are limited to the years 1..=9999, which both PostgreSQL and iCalendar can write.
//! - **Ranges.** A range `[from, to)` is half-open: an event is in it when `start_time < to` and
//!   `end_time > from`; either bound may be left out. The query states the overlap as
//!   `tstzrange(start_time, end_time) && tstzrange(from, to, '[]')` so PostgreSQL can use the GiST index on
//!   `(user_id, tstzrange(start_time, end_time))`, and repeats the exact comparisons, which also give the
//!   right answer for an empty range (`from = to`: the events running at that instant). `from` after `to`
//!   is invalid.
//! - **Paging.** Lists are ordered by `start_time`, then `id` (an instance id sorts after its series id), and
//!   paged by keyset over that pair (the btree index `(user_id, start_time, id)` for single events; series are
//!   walked lazily from near the cursor's position and merged with the single events until the page is full,
//!   see `instances::merge`). The cursor also carries the time of the first page: events created
//!   after it are left out of later pages, so paging walks the list as it stood then. No history of changed
//!   start times is kept, so an event *moved* while a client pages is placed by its new start time (it may
//!   show up again or be passed over); every event not changed meanwhile appears exactly once.
//! - **Export.** The `.ics` export takes the same range, is not paged and holds at most
//!   [`service::MAX_EXPORT_EVENTS`] events (the earliest ones). See [`ics`].
//! - **Events.** Invitations, changes and cancellations append one `CalendarNotice` domain event for all the
//!   attendees concerned, in the transaction of the change; the notifications crate turns it into their
//!   notifications (in-app, e-mail, push) with one statement.

pub mod error;
pub mod ics;
pub mod instances;
pub mod model;
pub mod recurrence;
pub mod reminders;
mod repo;
pub mod service;

pub use error::{CalendarError, CalendarResult};
pub use instances::EventRef;
pub use model::*;
pub use reminders::{EventReminders, ReminderJobs};
pub use service::{CalendarLimits, CalendarService};
