//! `/api/notifications`: the caller's notifications; `/api/users/me/notification-settings`: their do-not-disturb.

pub mod list;
pub mod read;
pub mod read_all;
pub mod settings;
