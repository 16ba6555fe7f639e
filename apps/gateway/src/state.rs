//! The state every handler shares: configuration, pools, services and clients. Built once by
//! [`crate::app::build_state`], which starts nothing; cloned cheaply (everything inside is reference-counted).

use crate::config::Config;
use crate::metrics::Metrics;
use crate::rate_limit::RateLimiter;
use crate::realtime::presence::Presence;
use epop_auth::AuthService;
use epop_calendar::CalendarService;
use epop_chat::ChatService;
use epop_notifications::{NotificationsService, PushService};
use epop_projects::ProjectsService;
use epop_storage::DbPool;
use epop_storage::events::{EventBus, OutboxNotifier};
use epop_storage::object_store::{LocalStore, ObjectStore};
use epop_storage::redis::SharedConnection;
use epop_webhooks::WebhooksService;
use std::sync::Arc;

/// Shared application state.
#[derive(Clone)]
pub struct AppState {
    /// The configuration the gateway started with.
    pub config: Arc<Config>,
    /// PostgreSQL.
    pub db: DbPool,
    /// Redis, when configured.
    pub redis: Option<SharedConnection>,
    /// Where files live.
    pub store: Arc<dyn ObjectStore>,
    /// The local directory store, when files live on this machine (the gateway serves its signed URLs).
    pub local_store: Option<LocalStore>,
    /// Accounts and sessions.
    pub auth: AuthService,
    /// Conversations, messages and files.
    pub chat: ChatService,
    /// Projects, members and tasks.
    pub projects: ProjectsService,
    /// Each user's own calendar events.
    pub calendar: CalendarService,
    /// In-app notifications.
    pub notifications: NotificationsService,
    /// Who is online, across nodes.
    pub presence: Arc<Presence>,
    /// Web Push: the server's VAPID key and users' subscriptions.
    pub push: PushService,
    /// Outgoing webhooks: endpoints, their secrets and delivery log.
    pub webhooks: WebhooksService,
    /// Committed domain events, from every node.
    pub events: EventBus,
    /// Wakes the outbox relay after a commit (shared by the services and the relay).
    pub outbox: OutboxNotifier,
    /// The request and socket-event quotas, counted in Redis so they hold across nodes.
    pub limiter: RateLimiter,
    /// Prometheus metrics.
    pub metrics: Metrics,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("redis", &self.redis.is_some())
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}
