//! # epop-calendar
//!
//! Each user's own calendar events: create, read, partial update, delete, range listing and an iCalendar
//! (RFC 5545) export, with no HTTP in sight: the gateway maps [`CalendarService`] onto routes.
//!
//! Design notes:
//! - **Visibility.** Every query is filtered by the owner inside SQL (`user_id = $me`); another user's event is
//!   [`CalendarError::NotFound`], exactly as if it did not exist.
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
//! - **Paging.** Lists are ordered by `start_time`, then `id`, and paged by keyset over that pair (the btree
//!   index `(user_id, start_time, id)`). The cursor also carries the time of the first page: events created
//!   after it are left out of later pages, so paging walks the list as it stood then. No history of changed
//!   start times is kept, so an event *moved* while a client pages is placed by its new start time (it may
//!   show up again or be passed over); every event not changed meanwhile appears exactly once.
//! - **Export.** The `.ics` export takes the same range, is not paged and holds at most
//!   [`service::MAX_EXPORT_EVENTS`] events (the earliest ones). See [`ics`].
//! - **Events.** Calendar changes concern only their owner, so they emit no domain events.

pub mod error;
pub mod ics;
pub mod model;
mod repo;
pub mod service;

pub use error::{CalendarError, CalendarResult};
pub use model::*;
pub use service::CalendarService;
