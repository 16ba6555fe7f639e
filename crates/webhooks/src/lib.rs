//! # epop-webhooks
//!
//! Outgoing webhooks following the Standard Webhooks specification (`docs/api.md`, Webhooks), with no HTTP
//! server in sight.
//!
//! Design notes:
//! - **Endpoints** belong to a scope: a conversation, a project, or the whole server ([`Scope`]). Who may
//!   manage a scope is not decided here: the gateway asks the chat and projects services (domain crates never
//!   call each other) and then calls [`WebhooksService`], whose methods take the already-authorised scope.
//! - **Created once per (endpoint, event).** [`delivery::WebhookJobs`] is an outbox handler: inside the relay's
//!   transaction, one statement turns the batch's events ([`events::webhook_event`]) into a delivery row per
//!   matching endpoint and a job each; a unique index on (endpoint, event position) makes a retried batch add
//!   nothing. The delivery's id is the `webhook-id` of every attempt, so a receiver can deduplicate.
//! - **Delivered by the durable job queue** ([`delivery::WebhookSender`]): signed with every current secret
//!   ([`signature`]), sent only to addresses that pass the SSRF rules at that moment
//!   ([`epop_storage::outbound`]), no redirects, a bounded timeout and a bounded read of the answer. Failures
//!   are retried on the specification's schedule ([`retry`]), `Retry-After` honoured up to a bound, and `410
//!   Gone` turns the endpoint off. Each attempt's job carries the delivery's generation: a redelivery makes the
//!   older jobs do nothing. Every attempt is logged (the newest `attempts_kept` of each delivery).
//! - **Secrets sealed at rest** with the webhook key ([`epop_storage::sealed`], the endpoint's id as associated
//!   data); rows written before that are sealed by [`WebhooksService::seal_stored_secrets`] when a gateway
//!   starts, and sign from their clear text until then.

pub mod delivery;
pub mod error;
pub mod events;
pub mod model;
mod repo;
pub mod retry;
pub mod service;
pub mod signature;

pub use error::{WebhooksError, WebhooksResult};
pub use model::{Delivery, DeliveryAttempt, NewWebhook, Scope, Webhook, WebhookChanges, WebhookWithSecret};
pub use service::{WebhookSettings, WebhooksService};
