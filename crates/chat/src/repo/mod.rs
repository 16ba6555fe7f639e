//! Diesel repositories of the chat crate. Functions take `&mut AsyncPgConnection`; the service decides the
//! transaction boundaries. List queries that need lateral joins or computed orderings are written in SQL
//! (`sql_query` with bound parameters).

pub(crate) mod attachments;
pub(crate) mod conversations;
pub(crate) mod history;
pub(crate) mod incoming_webhooks;
pub(crate) mod mentions;
pub(crate) mod messages;
pub(crate) mod pins;
pub(crate) mod reactions;
pub(crate) mod reminders;
pub(crate) mod scheduled;
pub(crate) mod search;
pub(crate) mod threads;
