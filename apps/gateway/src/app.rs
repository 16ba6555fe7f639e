//! Wiring and serving, as separate steps that `serve`, `worker` and the tests combine:
//! [`prepare_database`] (wait for PostgreSQL, migrate), [`build_state`] (pools, services, clients: no task
//! started), [`ensure_admin`], [`crate::background::Background::start`] (relay, jobs, sweepers, listeners),
//! and [`Application`] (routes behind the middleware stack, on a bound listener).

use crate::config::{Config, StorageConfig};
use crate::error::ApiError;
use crate::extract::path_error;
use crate::metrics::Metrics;
use crate::middleware::{api_guard, body_deadline, close_unread, cors, observe};
use crate::rate_limit::RateLimiter;
use crate::realtime::presence::Presence;
use crate::realtime::{EpopApplication, EpopHub, EpopRealtime};
use crate::routes::{self, docs::ApiDoc};
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
use epop_projects::ProjectsService;
use epop_socketio::{EngineConfig, HttpServer, SocketIo, SocketIoLimits};
use epop_storage::events::{EventBus, EventSequencer, OutboxNotifier};
use epop_storage::object_store::{LocalStore, ObjectStore, S3Store};
use secrecy::{ExposeSecret as _, SecretString};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;
use utoipa::OpenApi as _;
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
        Some(url) => Some(epop_storage::redis::build_pool(
            url.expose_secret(),
            config.db_pool_size.max(8),
        )?),
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
        AuthSettings::default(),
    )
    .with_shared_cutoffs(
        match &config.redis_url {
            Some(url) => Some(epop_storage::redis::SharedConnection::new(url.expose_secret())?),
            None => None,
        },
        &config.redis_prefix,
    );
    let projects = ProjectsService::new(db.clone(), outbox.clone());
    let chat = ChatService::new(
        db.clone(),
        store.clone(),
        outbox.clone(),
        Arc::new(SystemClock),
        ChatSettings {
            max_upload_bytes: config.max_upload_bytes,
            max_open_uploads: config.max_open_uploads,
            max_unattached_bytes: config.max_unattached_bytes,
            ..ChatSettings::default()
        },
    );
    let calendar = CalendarService::new(db.clone(), Arc::new(SystemClock));
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

/// Mounts every route on `cfg`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(SwaggerUi::new("/docs/{_:.*}").url("/api/openapi.json", ApiDoc::openapi()))
        .route("/docs", web::get().to(docs_redirect))
        .route("/health", web::get().to(routes::health::health))
        .route("/health/live", web::get().to(routes::health::live))
        .route("/metrics", web::get().to(routes::metrics::metrics))
        .route(
            "/files/local/{key:.*}",
            web::put().to(routes::chat::local_store::upload),
        )
        .route(
            "/files/local/{key:.*}",
            web::get().to(routes::chat::local_store::download),
        )
        .service(
            web::scope("/api")
                .wrap(from_fn(api_guard))
                .service(
                    web::scope("/auth")
                        .route("/register", web::post().to(routes::auth::register::register))
                        .route("/login", web::post().to(routes::auth::login::login))
                        .route("/refresh", web::post().to(routes::auth::refresh::refresh))
                        .route("/logout", web::post().to(routes::auth::logout::logout))
                        .route(
                            "/logout-all",
                            web::post().to(routes::auth::logout_all::logout_all),
                        ),
                )
                .service(
                    web::scope("/conversations")
                        .route("", web::get().to(routes::chat::conversations_list::list))
                        .route("", web::post().to(routes::chat::conversation_create::create))
                        .route("/{id}", web::get().to(routes::chat::conversation_get::get))
                        .route("/{id}/messages", web::get().to(routes::chat::messages_list::list))
                        .route("/{id}/messages", web::post().to(routes::chat::message_send::send))
                        .route("/{id}/members", web::post().to(routes::chat::members_add::add))
                        .route(
                            "/{id}/members/{user_id}",
                            web::delete().to(routes::chat::member_remove::remove),
                        )
                        .route("/{id}/read", web::post().to(routes::chat::read::read)),
                )
                .service(
                    web::scope("/messages")
                        .route("/{id}", web::get().to(routes::chat::message_get::get))
                        .route("/{id}", web::put().to(routes::chat::message_update::update))
                        .route("/{id}", web::delete().to(routes::chat::message_delete::delete)),
                )
                .service(
                    web::scope("/projects")
                        .route("", web::get().to(routes::projects::projects_list::list))
                        .route("", web::post().to(routes::projects::project_create::create))
                        .route("/{id}", web::get().to(routes::projects::project_get::get))
                        .route("/{id}", web::put().to(routes::projects::project_update::update))
                        .route(
                            "/{id}",
                            web::delete().to(routes::projects::project_delete::delete),
                        )
                        .route("/{id}/members", web::post().to(routes::projects::member_add::add))
                        .route(
                            "/{id}/members/{user_id}",
                            web::put().to(routes::projects::member_update::update),
                        )
                        .route(
                            "/{id}/members/{user_id}",
                            web::delete().to(routes::projects::member_remove::remove),
                        )
                        .route(
                            "/{id}/tasks",
                            web::get().to(routes::projects::project_tasks_list::list),
                        )
                        .route(
                            "/{id}/tasks",
                            web::post().to(routes::projects::task_create::create),
                        ),
                )
                .service(
                    web::scope("/tasks")
                        .route("", web::get().to(routes::projects::tasks_list::list))
                        .route("/{id}", web::get().to(routes::projects::task_get::get))
                        .route("/{id}", web::put().to(routes::projects::task_update::update))
                        .route("/{id}", web::delete().to(routes::projects::task_delete::delete)),
                )
                .route("/search/messages", web::get().to(routes::chat::search::search))
                // Its own route, not under the scope below: `.ics` must never be taken for an `{id}`.
                .route(
                    "/calendar-events.ics",
                    web::get().to(routes::calendar::export_ics::export),
                )
                .service(
                    web::scope("/calendar-events")
                        .route("", web::get().to(routes::calendar::events_list::list))
                        .route("", web::post().to(routes::calendar::event_create::create))
                        .route("/{id}", web::get().to(routes::calendar::event_get::get))
                        .route("/{id}", web::put().to(routes::calendar::event_update::update))
                        .route("/{id}", web::delete().to(routes::calendar::event_delete::delete)),
                )
                .route(
                    "/push/vapid-public-key",
                    web::get().to(routes::push::vapid_key::vapid_key),
                )
                .route(
                    "/push-subscriptions",
                    web::post().to(routes::push::subscribe::subscribe),
                )
                .route(
                    "/push-subscriptions/{id}",
                    web::delete().to(routes::push::unsubscribe::unsubscribe),
                )
                .service(
                    web::scope("/notifications")
                        .route("", web::get().to(routes::notifications::list::list))
                        .route(
                            "/read-all",
                            web::post().to(routes::notifications::read_all::read_all),
                        )
                        .route("/{id}/read", web::post().to(routes::notifications::read::read)),
                )
                .route(
                    "/files/presign-upload",
                    web::post().to(routes::chat::files::presign_upload),
                )
                .route("/files/{id}", web::get().to(routes::chat::files::download))
                .route("/presence", web::get().to(routes::presence::get::get))
                .service(
                    web::scope("/users")
                        .route("", web::get().to(routes::users::list::list))
                        .route("/me", web::get().to(routes::users::me_get::me_get))
                        .route("/me", web::put().to(routes::users::me_update::me_update))
                        .route("/{id}", web::get().to(routes::users::get::get)),
                )
                .default_service(web::to(not_found)),
        )
        .default_service(web::to(not_found));
}

async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::new(epop_core::ErrorCode::NotFound, "no such route"))
}

async fn docs_redirect() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Found()
        .insert_header((actix_web::http::header::LOCATION, "/docs/"))
        .finish()
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
        let server = HttpServer::new()
            .workers(state.config.workers)
            .shutdown_timeout(state.config.shutdown_timeout)
            .head_timeout(state.config.head_timeout)
            .socket_io("/socket.io", &socket_io)
            .not_found("application/problem+json", websocket_not_found())
            .run(listener, move || {
                App::new()
                    .app_data(data.clone())
                    .app_data(web::PathConfig::default().error_handler(path_error))
                    .service(io.polling_service("/socket.io"))
                    .configure(configure)
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

/// The answer to a WebSocket upgrade for a path other than `/socket.io/` (it never reaches the router).
fn websocket_not_found() -> String {
    serde_json::json!({
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "code": "not_found",
        "detail": "no such route",
    })
    .to_string()
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
