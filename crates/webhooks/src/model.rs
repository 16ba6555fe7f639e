//! What the webhooks API answers, and what its service takes.

use chrono::{DateTime, Utc};
use epop_core::{ConversationId, ProjectId, UserId};
use serde::Serialize;
use uuid::Uuid;

/// Whose events an endpoint receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every conversation's and project's events (managed by global admins).
    Global,
    /// One conversation's events (managed by its members).
    Conversation(ConversationId),
    /// One project's events (managed by its owners and admins).
    Project(ProjectId),
}

impl Scope {
    /// The stored and wire name: `global`, `conversation` or `project`.
    pub fn kind(self) -> &'static str {
        match self {
            Scope::Global => "global",
            Scope::Conversation(_) => "conversation",
            Scope::Project(_) => "project",
        }
    }

    /// The scope of stored columns (`None` for a combination the CHECK constraint rules out).
    pub(crate) fn from_stored(
        kind: &str,
        conversation: Option<ConversationId>,
        project: Option<ProjectId>,
    ) -> Option<Self> {
        match (kind, conversation, project) {
            ("global", None, None) => Some(Scope::Global),
            ("conversation", Some(id), None) => Some(Scope::Conversation(id)),
            ("project", None, Some(id)) => Some(Scope::Project(id)),
            _ => None,
        }
    }
}

/// An endpoint as its managers see it (never its secret, which only creating and rotating show).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Webhook {
    /// A UUIDv7.
    pub id: Uuid,
    /// `global`, `conversation` or `project`.
    pub scope: String,
    /// The conversation of a `conversation` webhook.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Uuid>))]
    pub conversation_id: Option<ConversationId>,
    /// The project of a `project` webhook.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Uuid>))]
    pub project_id: Option<ProjectId>,
    /// Where deliveries are `POST`ed: a public `https` URL.
    pub url: String,
    /// What it is for, as its creator wrote it.
    pub description: String,
    /// The event types delivered; empty: every type of the scope.
    pub event_types: Vec<String>,
    /// Whether deliveries are sent.
    pub enabled: bool,
    /// Why it is off: `gone` (the receiver answered `410`) or `manual`; `null` while enabled.
    pub disabled_reason: Option<String>,
    /// Until when the secret before the last rotation still signs too; `null` when only one secret signs.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// Who created it (`null` once that account is gone).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Uuid>))]
    pub created_by: Option<UserId>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// An endpoint with its new signing secret: the answer of creating one and of rotating its secret, the only
/// times the secret is shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookWithSecret {
    /// The endpoint.
    #[serde(flatten)]
    pub webhook: Webhook,
    /// `whsec_` followed by the base64 of 32 random bytes: the Standard Webhooks signing secret.
    pub secret: String,
}

/// One delivery of one event (or ping) to one endpoint, with the outcome of its latest attempt.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Delivery {
    /// A UUIDv7, sent as the `webhook-id` header of every attempt (the same across retries and redeliveries).
    pub id: Uuid,
    /// The endpoint.
    pub webhook_id: Uuid,
    /// The event's type (`message.created` …, or `webhook.ping`).
    pub event_type: String,
    /// `pending` (an attempt is queued), `succeeded` or `failed` (no attempt left, or the webhook is off).
    pub status: String,
    /// Attempts made so far.
    pub attempts: i32,
    /// The HTTP status the receiver answered at the latest attempt (`null`: no answer, or none yet).
    pub status_code: Option<i32>,
    /// How long the latest attempt took, in milliseconds.
    pub duration_ms: Option<i32>,
    /// Why the latest attempt failed, in words (never the receiver's whole answer).
    pub error: Option<String>,
    /// When the latest attempt was made.
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// When the next attempt is due (`null` when none is planned).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When the delivery was created.
    pub created_at: DateTime<Utc>,
}

/// One attempt of a delivery, as the attempt log keeps it (the newest `EPOP_WEBHOOK_ATTEMPTS_KEPT` of each
/// delivery).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryAttempt {
    /// A UUIDv7 (the log's order).
    pub id: Uuid,
    /// The delivery.
    pub delivery_id: Uuid,
    /// When the attempt was made.
    pub attempted_at: DateTime<Utc>,
    /// Whether the receiver accepted it (answered `2xx`).
    pub succeeded: bool,
    /// The HTTP status the receiver answered (`null`: no answer, or the attempt was not sent).
    pub status_code: Option<i32>,
    /// How long the attempt took, in milliseconds.
    pub duration_ms: Option<i32>,
    /// Why it failed, in words (never the receiver's whole answer); `null` when it succeeded.
    pub error: Option<String>,
}

/// A new endpoint, checked by [`crate::WebhooksService::create`].
#[derive(Debug, Clone, Default)]
pub struct NewWebhook {
    /// Where to deliver.
    pub url: String,
    /// What it is for (0..=500 characters).
    pub description: Option<String>,
    /// The event types to deliver (empty: all of the scope's).
    pub event_types: Vec<String>,
}

/// Changes to an endpoint: fields left `None` stay as they are.
#[derive(Debug, Clone, Default)]
pub struct WebhookChanges {
    /// A new URL (checked as on creation).
    pub url: Option<String>,
    /// A new description.
    pub description: Option<String>,
    /// New event types (empty: all).
    pub event_types: Option<Vec<String>>,
    /// On or off (turning it on clears `disabled_reason`).
    pub enabled: Option<bool>,
}
