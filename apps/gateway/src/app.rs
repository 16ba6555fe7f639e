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
use crate::realtime::engine::{Engine, EngineConfig};
use crate::realtime::epop::{EpopApplication, EpopRealtime};
use crate::realtime::hub::Hub;
use crate::realtime::presence::Presence;
use crate::realtime::socketio::{SocketIo, SocketIoLimits};
use crate::realtime::transport;
use crate::realtime::websocket::{self, WebSocketRoutes};
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
    socket_io: Arc<SocketIo>,
    engine: Engine,
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
        let hub = Arc::new(Hub::new(state.metrics.connected_sockets.clone()));
        let realtime = EpopRealtime::new(state.clone(), hub.clone());
        realtime.spawn_fan_out();
        realtime.spawn_presence_sweeper();
        let limits = state.config.realtime;
        let socket_io = Arc::new(SocketIo::new(
            Arc::new(EpopApplication(realtime)),
            SocketIoLimits {
                connect_timeout: SOCKET_CONNECT_TIMEOUT,
                inbox_packets: limits.inbox_packets,
                inbox_bytes: limits.inbox_bytes,
                connects_per_session: limits.connects_per_session,
            },
        ));
        let engine = Engine::behind_proxies(
            EngineConfig {
                max_sessions_per_client: limits.sessions_per_client,
                handshakes_per_client_per_minute: limits.handshakes_per_client_per_minute,
                ..EngineConfig::default()
            },
            socket_io.clone(),
            state.config.trusted_proxies.clone(),
        );
        let data = web::Data::new(state.clone());
        let cors_origins = state.config.cors_origins.clone();
        let engine_data = web::Data::new(engine.clone());
        let server = serve_http(
            listener,
            state.config.workers,
            state.config.shutdown_timeout,
            state.config.head_timeout,
            WebSocketRoutes::new(vec![("/socket.io", engine.clone())]),
            move || hub.start_lane(),
            move || {
                App::new()
                    .app_data(data.clone())
                    .app_data(engine_data.clone())
                    .app_data(web::PathConfig::default().error_handler(path_error))
                    .route("/socket.io", web::route().to(transport::endpoint))
                    .route("/socket.io/", web::route().to(transport::endpoint))
                    .configure(configure)
                    .wrap(from_fn(body_deadline))
                    .wrap(cors(&cors_origins))
                    .wrap(from_fn(observe))
                    .wrap(from_fn(close_unread))
            },
        )?;
        Ok(Self {
            server,
            address,
            state,
            socket_io,
            engine,
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
        let (socket_io, engine) = (self.socket_io.clone(), self.engine.clone());
        tokio::spawn(async move {
            wait_for_shutdown_signal().await;
            tracing::info!("shutting down");
            for socket in socket_io.sockets() {
                socket.disconnect();
            }
            engine.close_all();
            handle.stop(true).await;
        });
        self.server.await
    }
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
    conformance_server(listener)?.await?;
    Ok(())
}

/// The conformance server on a bound listener: Socket.IO at `/socket.io/`, a raw Engine.IO echo at
/// `/engine.io/`.
pub fn conformance_server(listener: TcpListener) -> anyhow::Result<Server> {
    let (socket_io, echo) = crate::realtime::conformance::engines();
    let routes = WebSocketRoutes::new(vec![
        ("/socket.io", socket_io.clone()),
        ("/engine.io", echo.clone()),
    ]);
    let socket_io = web::Data::new(socket_io);
    let echo = web::Data::new(echo);
    Ok(serve_http(
        listener,
        2,
        Duration::from_secs(1),
        Duration::from_secs(5),
        routes,
        || {},
        move || {
            App::new()
                .service(
                    web::scope("/socket.io")
                        .app_data(socket_io.clone())
                        .route("", web::route().to(transport::endpoint))
                        .route("/", web::route().to(transport::endpoint)),
                )
                .service(
                    web::scope("/engine.io")
                        .app_data(echo.clone())
                        .route("", web::route().to(transport::endpoint))
                        .route("/", web::route().to(transport::endpoint)),
                )
        },
    )?)
}

/// The HTTP/1.1 server: `app` (a fresh actix-web application per worker) serves every request, except the
/// WebSocket upgrades, which go with their connection to the engine of their path (see
/// [`crate::realtime::websocket`]). actix-web's own `HttpServer` offers no way to take over an upgraded
/// connection, so the server is assembled here from the same parts it uses (actix-server, actix-http).
/// `on_worker_start` runs on each worker's thread as it starts (the real-time hub starts its fan-out lane there).
/// A request's head must arrive within `head_timeout` of its first byte (its body is paced by
/// [`crate::middleware::body_deadline`]).
fn serve_http<W, F, I, S, B>(
    listener: TcpListener,
    workers: usize,
    shutdown_timeout: Duration,
    head_timeout: Duration,
    websockets: WebSocketRoutes,
    on_worker_start: W,
    app: F,
) -> std::io::Result<Server>
where
    W: Fn() + Send + Clone + 'static,
    F: Fn() -> I + Send + Clone + 'static,
    I: actix_service::IntoServiceFactory<S, actix_http::Request>,
    S: actix_service::ServiceFactory<
            actix_http::Request,
            Config = actix_web::dev::AppConfig,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        > + 'static,
    S::InitError: std::fmt::Debug,
    B: actix_web::body::MessageBody + 'static,
{
    use actix_service::ServiceFactoryExt as _;
    let local = listener.local_addr()?;
    listener.set_nonblocking(true)?;
    Ok(Server::build()
        .workers(workers)
        .shutdown_timeout(shutdown_timeout.as_secs())
        .disable_signals()
        .listen("epop-http", listener, move || {
            // Called on each worker's thread, inside its runtime, as the worker starts.
            on_worker_start();
            let websockets = websockets.clone();
            let app = app().into_factory().map_err(|error| error.error_response());
            actix_http::HttpService::build()
                .client_request_timeout(head_timeout)
                .local_addr(local)
                .upgrade(actix_service::fn_service(move |upgrade: websocket::Upgrade| {
                    websocket::take_over(websockets.clone(), upgrade)
                }))
                .finish(actix_service::map_config(app, |()| {
                    actix_web::dev::AppConfig::default()
                }))
                .tcp()
        })?
        .run())
}
