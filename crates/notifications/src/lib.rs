//! # epop-notifications
//!
//! In-app notifications (`docs/api.md`, Notifications), with no HTTP in sight.
//!
//! Design notes:
//! - **Created exactly once, from domain events.** The [`projector::NotificationProjector`] is an outbox
//!   handler: it runs inside the relay's transaction, before an event is marked published, so a notification
//!   is created once per event even across crashes, and the crates that cause them (chat, projects) never
//!   know this one exists.
//! - **Delivered live** by appending a `NotificationCreated` event in the same transaction: the real-time
//!   layer turns it into `notification:new` on every node.
//! - **E-mail** (when SMTP is configured): the projector enqueues an `email` job in the same transaction;
//!   [`email::EmailSender`] runs it on the durable job queue, with retries.
//! - **"No live connection"** (the `message` notification) is asked of a [`projector::LiveConnections`]
//!   implementation the host provides (the gateway's cross-node presence).
//! - **Web Push** goes through [`PushService`] like every other area: the VAPID key, subscribing and
//!   unsubscribing; its [`push::PushSender`] delivers the `push` jobs.
//! - **Notification control.** Conversation levels and mutes (stored with the members) decide which
//!   notifications the projector creates, in its one statement per conversation; do-not-disturb
//!   ([`dnd`], per user) and "read meanwhile" are checked by the e-mail and push jobs when they are due
//!   ([`control`]), which put a delivery back on the queue until do-not-disturb ends.
//! - **Nothing runs by itself.** The projector's digests ([`NotificationProjector::run_digests`]) and the job
//!   handlers run where the host starts its background work.

pub mod control;
pub mod dnd;
pub mod email;
pub mod error;
pub mod model;
pub mod projector;
pub mod push;
pub mod push_target;
mod repo;
pub mod service;

pub use error::{NotificationsError, NotificationsResult};
pub use model::Notification;
pub use projector::{LiveConnections, NotificationProjector};
pub use push::PushService;
pub use service::{NotificationSettings, NotificationsService};
