//! `/api/push/vapid-public-key` and `/api/push-subscriptions`: Web Push.

pub mod subscribe;
pub mod unsubscribe;
pub mod vapid_key;
