//! Diesel repositories of the calendar crate. Functions take `&mut AsyncPgConnection`; the service decides the
//! transaction boundaries.

pub(crate) mod events;
pub(crate) mod feeds;
pub(crate) mod reminders;
