//! Diesel repositories of the projects crate. Functions take `&mut AsyncPgConnection`; the service decides
//! the transaction boundaries and checks permissions before calling them.

pub(crate) mod activity;
pub(crate) mod comments;
pub(crate) mod labels;
pub(crate) mod projects;
pub(crate) mod reminders;
pub(crate) mod tasks;
