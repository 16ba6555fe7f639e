//! `/api/notifications`: the caller's notifications.

pub mod list;
pub mod read;
pub mod read_all;
