//! What the notifications service returns; serializes to the contract's JSON. A notification is also what
//! `NotificationCreated` carries, so it is `epop_core::model`'s.

pub use epop_core::model::Notification;
