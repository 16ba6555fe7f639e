//! Wiring and serving, as separate steps that `serve`, `worker` and the tests combine:
//! [`prepare_database`] (wait for PostgreSQL, migrate), [`build_state`] (pools, services, clients: no task
//! started), [`ensure_admin`] and [`seal_webhook_secrets`], [`crate::background::Background::start`] (relay, jobs, sweepers, listeners),
//! and [`Application`] (routes behind the middleware stack, on a bound listener).

use crate::config::{Config, StorageConfig};
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::middleware::{body_deadline, close_unread, cors, observe};
use crate::rate_limit::RateLimiter;
use crate::realtime::presence::Presence;
use crate::realtime::{EpopApplication, EpopHub, EpopRealtime};
use crate::routes;
use crate::state::AppState;
use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, web};
use anyhow::Context as _;
use epop_auth::{AuthService, AuthSettings, HasherSettings, PasswordHasher, TokenSigner};
use epop_calendar::CalendarService;
use epop_chat::{ChatService, ChatSettings};
use epop_core::SystemClock;
use epop_notifications::push::VapidKeys;
use epop_notifications::{NotificationsService, PushService};
use epop_projects::{ProjectsService, ProjectsSettings};
use epop_socketio::{EngineConfig, HttpServer, SocketIo, SocketIoLimits};
use epop_storage::events::{EventBus, EventSequencer, OutboxNotifier};
use epop_storage::object_store::{LocalStore, ObjectStore, S3Store};
use epop_webhooks::WebhooksService;
use secrecy::{ExposeSecret as _, SecretString};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;
use utoipa_swagger_ui::SwaggerUi;

/// How long a new Engine.IO session may take to connect a namespace.
const SOCKET_CONNECT_TIMEOUT: Duration = Duration::from_secs(45);

/// How long the gateway waits for PostgreSQL at start.
const DATABASE_PATIENCE: Duration = Duration::from_secs(30);

/// Start-up work on the database, before the state is built: waits for PostgreSQL (up to 30 s) and applies
/// pending migrations (under an advisory lock, so several nodes may start at once).
pub async fn prepare_database(config: &Config) -> anyhow::Result<()> {
    let database_url = config.database_url();
    epop_storage::db::wait_for_database(database_url, DATABASE_PATIENCE)
        .await
        .context("PostgreSQL did not become reachable within 30 s (DATABASE_URL)")?;
    let applied = epop_storage::migrate::run_pending(database_url)
        .await
        .context("applying migrations")?;
    if applied > 0 {
        tracing::info!(applied, "database migrations applied");
    }
    Ok(())
}

/// Assembles the shared state: pools (connecting lazily: Redis and S3 may be down, the gateway starts anyway
/// and `/health` reports them), services and clients. Starts no task and changes no data, except that the
/// first node to start stores a generated VAPID key (when `EPOP_VAPID_PRIVATE_KEY` is unset), which it
/// reads here. Committed events reach the bus's subscribers only once the returned [`EventSequencer`] runs:
/// hand it to [`Background::start`](crate::background::Background::start).
pub async fn build_state(config: Config) -> anyhow::Result<(AppState, EventSequencer)> {
    let database_url = config.database_url().to_owned();
    let db = epop_storage::db::build_pool(&database_url, config.db_pool_size)?;
    let redis = match &config.redis_url {
        Some(url) => Some(epop_storage::redis::SharedConnection::new(url.expose_secret())?),
        None => None,
    };
    let (store, local_store): (Arc<dyn ObjectStore>, Option<LocalStore>) = match &config.storage {
        StorageConfig::S3(settings) => (Arc::new(S3Store::new(settings.clone())?), None),
        StorageConfig::Local(dir) => {
            // Local-store URLs are signed with a key derived from the JWT secret (never the secret itself).
            let key = SecretString::from(format!("local-store:{}", config.jwt_secret.expose_secret()));
            let local = LocalStore::new(dir.clone(), &config.public_url, key);
            (Arc::new(local.clone()), Some(local))
        }
    };

    let (events, sequencer) = EventBus::new(Some(db.clone()), redis.clone(), &config.redis_prefix);
    let outbox = OutboxNotifier::default();
    let presence = Arc::new(Presence::new(
        redis.clone(),
        &config.redis_prefix,
        config.presence_ttl,
    ));
    let metrics = Metrics::new()?;
    let vapid = VapidKeys::load_or_create(
        &db,
        config.vapid_private_key.as_ref().map(|k| k.expose_secret()),
        &config.vapid_subject,
    )
    .await
    .context("loading the VAPID key (EPOP_VAPID_PRIVATE_KEY)")?;
    if config.push.allow_loopback {
        tracing::warn!(
            "EPOP_PUSH_ALLOW_LOOPBACK_FOR_TESTS is on: push endpoints on loopback addresses are contacted"
        );
    }
    let push = PushService::new(db.clone(), vapid, config.push);
    if config.webhooks.allow_loopback {
        tracing::warn!(
            "EPOP_WEBHOOKS_ALLOW_LOOPBACK_FOR_TESTS is on: webhook URLs on loopback addresses are contacted"
        );
    }
    let webhooks = WebhooksService::new(db.clone(), config.webhooks, config.webhook_key());

    let refused = metrics.hash_refused.clone();
    let hash_settings = HasherSettings {
        threads: config.hash_threads,
        max_wait: config.hash_max_wait,
        on_refused: Some(Arc::new(move || refused.inc())),
    };
    let hasher = tokio::task::spawn_blocking(move || PasswordHasher::new(hash_settings)).await??;
    let auth = AuthService::new(
        db.clone(),
        hasher,
        TokenSigner::new(&config.jwt_secret),
        Arc::new(SystemClock),
        AuthSettings {
            account_emails: config.smtp_url.is_some(),
            require_verified_email: config.require_verified_email,
            max_access_tokens: config.max_access_tokens,
            max_sessions_per_user: config.max_sessions_per_user,
            ..AuthSettings::default()
        },
    )
    .with_mfa_key(config.mfa_key())
    .with_oidc(epop_auth::OidcProviders::new(config.oidc_providers.clone())?)
    .with_shared_cutoffs(redis.clone(), &config.redis_prefix);
    let projects = ProjectsService::new(db.clone(), outbox.clone()).with_settings(ProjectsSettings {
        max_task_depth: config.task_max_depth,
        max_comments_per_task: config.task_max_comments,
        max_labels_per_project: config.project_max_labels,
        max_labels_per_task: config.task_max_labels,
        due_reminder_minutes: config.task_due_reminders.clone(),
    });
    let chat = ChatService::new(
        db.clone(),
        store.clone(),
        outbox.clone(),
        Arc::new(SystemClock),
        ChatSettings {
            max_upload_bytes: config.max_upload_bytes,
            max_open_uploads: config.max_open_uploads,
            max_unattached_bytes: config.max_unattached_bytes,
            max_reaction_emoji: config.max_reaction_emoji,
            max_all_mention_members: config.max_all_mention_members,
            notify_all_max_members: config.notify_all_max_members,
            max_pending_scheduled: config.max_pending_scheduled,
            max_pending_reminders: config.max_pending_reminders,
            max_saved_messages: config.max_saved_messages,
            max_pins: config.max_pins,
            max_incoming_webhooks: config.max_incoming_webhooks,
            ..ChatSettings::default()
        },
    )
    .with_online_users(presence.clone());
    let calendar =
        CalendarService::new(db.clone(), Arc::new(SystemClock), outbox.clone()).with_limits(config.calendar);
    let limiter = RateLimiter::new(redis.clone(), &config.redis_prefix);
    let notifications = NotificationsService::new(db.clone());
    let state = AppState {
        config: Arc::new(config),
        db,
        redis,
        store,
        local_store,
        auth,
        chat,
        projects,
        calendar,
        notifications,
        push,
        webhooks,
        presence,
        events,
        outbox,
        limiter,
        metrics,
    };
    Ok((state, sequencer))
}

/// Creates the `EPOP_ADMIN_EMAIL` account when it is configured and does not exist yet.
pub async fn ensure_admin(state: &AppState) -> anyhow::Result<()> {
    if let Some((email, password)) = &state.config.admin
        && state
            .auth
            .ensure_admin(email, "Administrator", password)
            .await
            .context("creating EPOP_ADMIN_EMAIL")?
    {
        tracing::info!("created the admin account from EPOP_ADMIN_EMAIL");
    }
    Ok(())
}

/// Seals the webhook signing secrets still kept in clear (rows written before secrets were sealed at rest). A
/// failure is logged, not fatal: such rows go on signing from their clear text, and the next start tries again.
pub async fn seal_webhook_secrets(state: &AppState) {
    // Boxed: a start-up step once, whose future would otherwise weigh on every caller's.
    match Box::pin(state.webhooks.seal_stored_secrets()).await {
        Ok(0) => {}
        Ok(sealed) => tracing::info!(sealed, "sealed the signing secrets of webhooks kept in clear"),
        Err(error) => tracing::warn!(%error, "sealing the signing secrets of webhooks failed"),
    }
}

/// Mounts every route on `cfg`: the documentation (the OpenAPI `document` at `/api/openapi.json`, its viewer at
/// `/docs/`, the reference at `/docs/api.md`), then the API ([`routes::configure`]) with the table of routes that
/// lets unrouted requests be told `405` from `404`. The documentation goes first: the `/api` scope takes every
/// path under it.
pub fn configure(cfg: &mut web::ServiceConfig, document: &utoipa::openapi::OpenApi) {
    cfg.route("/docs", web::get().to(routes::docs::redirect))
        .route("/docs/api.md", web::get().to(routes::docs::reference))
        .service(SwaggerUi::new("/docs/{_:.*}").url("/api/openapi.json", document.clone()))
        .app_data(web::Data::new(routes::RouteTable::new(document)));
    routes::configure(&mut utoipa_actix_web::service_config::ServiceConfig::new(cfg));
}

/// A bound, not yet running server.
pub struct Application {
    server: Server,
    address: SocketAddr,
    state: AppState,
    socket_io: SocketIo<EpopApplication>,
}

impl Application {
    /// Binds `EPOP_LISTEN` (port 0 picks a free port) and serves `state` there.
    pub fn bind(state: AppState) -> anyhow::Result<Self> {
        let listen = state.config.listen;
        let listener =
            TcpListener::bind(listen).with_context(|| format!("binding {listen} (EPOP_LISTEN)"))?;
        Self::with_listener(state, listener)
    }

    /// Serves `state` on an already bound `listener`.
    pub fn with_listener(state: AppState, listener: TcpListener) -> anyhow::Result<Self> {
        let address = listener.local_addr()?;
        let gauge = state.metrics.connected_sockets.clone();
        let hub = EpopHub::with_count_observer(Some(Box::new(move |count| gauge.set(count as i64))));
        let realtime = EpopRealtime::new(state.clone(), hub.clone());
        realtime.spawn_fan_out();
        realtime.spawn_presence_sweeper();
        let limits = state.config.realtime;
        let socket_io = epop_socketio::Builder::new()
            .engine(EngineConfig {
                max_sessions_per_client: limits.sessions_per_client,
                handshakes_per_client_per_minute: limits.handshakes_per_client_per_minute,
                ..EngineConfig::default()
            })
            .limits(SocketIoLimits {
                connect_timeout: SOCKET_CONNECT_TIMEOUT,
                inbox_packets: limits.inbox_packets,
                inbox_bytes: limits.inbox_bytes,
                connects_per_session: limits.connects_per_session,
            })
            .trusted_proxies(state.config.trusted_proxies.clone())
            .build(EpopApplication(realtime), hub);
        let data = web::Data::new(state.clone());
        let cors_origins = state.config.cors_origins.clone();
        let io = socket_io.clone();
        let document = routes::openapi();
        let server = HttpServer::new()
            .workers(state.config.workers)
            .shutdown_timeout(state.config.shutdown_timeout)
            .head_timeout(state.config.head_timeout)
            .socket_io("/socket.io", &socket_io)
            .not_found(
                "application/problem+json",
                websocket_not_found(&state.config.public_url),
            )
            .run(listener, move || {
                App::new()
                    .app_data(data.clone())
                    .app_data(web::PathConfig::default().error_handler(routes::path_error))
                    .service(io.polling_service("/socket.io"))
                    .configure(|cfg| configure(cfg, &document))
                    .wrap(from_fn(body_deadline))
                    .wrap(cors(&cors_origins))
                    .wrap(from_fn(observe))
                    .wrap(from_fn(close_unread))
            })?;
        Ok(Self {
            server,
            address,
            state,
            socket_io,
        })
    }

    /// The address the server listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The shared state (for tests and embedding).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until stopped, without handling signals (tests and embedding).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }

    /// Serves until SIGTERM or SIGINT; then stops accepting, sends every socket a Socket.IO disconnect,
    /// finishes requests in flight within `EPOP_SHUTDOWN_TIMEOUT`, and returns.
    pub async fn run_until_signal(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        let socket_io = self.socket_io.clone();
        tokio::spawn(async move {
            wait_for_shutdown_signal().await;
            tracing::info!("shutting down");
            socket_io.disconnect_all();
            handle.stop(true).await;
        });
        self.server.await
    }
}

/// The answer to a WebSocket upgrade for a path other than `/socket.io/` (it never reaches the router, so the
/// problem is completed here as `observe` completes the others: its `type` made absolute with `public_url`).
fn websocket_not_found(public_url: &str) -> String {
    let mut problem = ApiError::new(epop_core::ErrorCode::NotFound, "no such route").problem();
    problem.kind = format!("{}{}", public_url.trim_end_matches('/'), problem.kind);
    serde_json::to_string(&problem).unwrap_or_default()
}

/// Resolves on SIGTERM or SIGINT.
pub async fn wait_for_shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = terminate => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// Serves the Socket.IO conformance configuration (`epop-gateway conformance`): no database, no auth.
pub async fn run_conformance(listen: SocketAddr) -> anyhow::Result<()> {
    let listener =
        TcpListener::bind(listen).with_context(|| format!("binding {listen} (EPOP_CONFORMANCE_LISTEN)"))?;
    epop_socketio::conformance::server(listener)?.await?;
    Ok(())
}
