//! Building and running the HTTP server: dependencies are connected, migrations applied, state assembled, and
//! routes mounted behind the middleware stack.

use crate::config::{Config, StorageConfig};
use crate::extract::path_error;
use crate::metrics::Metrics;
use crate::middleware::{body_deadline, close_unread, cors, observe};
use crate::rate_limit::RateLimiter;
use crate::realtime::engine::{Engine, EngineConfig};
use crate::realtime::epop::{EpopApplication, EpopRealtime};
use crate::realtime::hub::Hub;
use crate::realtime::presence::Presence;
use crate::realtime::socketio::{SocketIo, SocketIoLimits};
use crate::realtime::transport;
use crate::realtime::websocket::{self, WebSocketRoutes};
use crate::routes;
use crate::state::AppState;
use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, web};
use anyhow::Context as _;
use epop_auth::{AuthService, AuthSettings, HasherSettings, PasswordHasher, TokenSigner};
use epop_calendar::CalendarService;
use epop_chat::files::FileRemover;
use epop_chat::{ChatService, ChatSettings};
use epop_core::SystemClock;
use epop_notifications::email::EmailSender;
use epop_notifications::projector::NotificationJobs;
use epop_notifications::push::{PushSender, VapidKeys};
use epop_notifications::{NotificationProjector, NotificationsService};
use epop_projects::ProjectsService;
use epop_storage::events::{EventBus, OutboxNotifier, OutboxRelay};
use epop_storage::jobs::{JobHandler, JobWorker};
use epop_storage::object_store::{LocalStore, ObjectStore, S3Store};
use secrecy::{ExposeSecret as _, SecretString};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;
use utoipa_swagger_ui::SwaggerUi;

/// How long a new Engine.IO session may take to connect a namespace.
const SOCKET_CONNECT_TIMEOUT: Duration = Duration::from_secs(45);

/// How long the gateway waits for PostgreSQL at start.
const DATABASE_PATIENCE: Duration = Duration::from_secs(30);

/// Builds the shared state: connects, migrates, and assembles services. Redis and S3 may be down: the
/// gateway starts anyway and `/health` reports them.
pub async fn build_state(config: Config) -> anyhow::Result<AppState> {
    let database_url = config.database_url().to_owned();
    epop_storage::db::wait_for_database(&database_url, DATABASE_PATIENCE)
        .await
        .context("PostgreSQL did not become reachable within 30 s (DATABASE_URL)")?;
    let applied = epop_storage::migrate::run_pending(&database_url)
        .await
        .context("applying migrations")?;
    if applied > 0 {
        tracing::info!(applied, "database migrations applied");
    }
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
    spawn_store_setup(store.clone());

    let events = EventBus::new(Some(db.clone()), redis.clone(), &config.redis_prefix);
    if let Some(url) = &config.redis_url {
        events.spawn_redis_listener(url.expose_secret().to_owned());
    }
    let notifier = OutboxNotifier::default();
    let presence = Arc::new(Presence::new(
        redis.clone(),
        &config.redis_prefix,
        config.presence_ttl,
    ));
    presence.spawn_refresh();
    let metrics = Metrics::new()?;
    let email = match &config.smtp_url {
        Some(url) => Some(Arc::new(EmailSender::new(
            db.clone(),
            url.expose_secret(),
            &config.smtp_from,
        )?)),
        None => None,
    };
    let vapid = Arc::new(
        VapidKeys::load_or_create(
            &db,
            config.vapid_private_key.as_ref().map(|k| k.expose_secret()),
            &config.vapid_subject,
        )
        .await
        .context("loading the VAPID key (EPOP_VAPID_PRIVATE_KEY)")?,
    );
    if config.push.allow_loopback {
        tracing::warn!(
            "EPOP_PUSH_ALLOW_LOOPBACK_FOR_TESTS is on: push endpoints on loopback addresses are contacted"
        );
    }
    let push = Arc::new(PushSender::new(db.clone(), vapid.clone(), config.push)?);

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
    if let Some((email, password)) = &config.admin
        && auth
            .ensure_admin(email, "Administrator", password)
            .await
            .context("creating EPOP_ADMIN_EMAIL")?
    {
        tracing::info!("created the admin account from EPOP_ADMIN_EMAIL");
    }
    let projects = ProjectsService::new(db.clone(), notifier.clone());
    let chat = ChatService::new(
        db.clone(),
        store.clone(),
        notifier.clone(),
        Arc::new(SystemClock),
        ChatSettings {
            max_upload_bytes: config.max_upload_bytes,
            max_open_uploads: config.max_open_uploads,
            max_unattached_bytes: config.max_unattached_bytes,
            ..ChatSettings::default()
        },
    );
    spawn_file_sweeper(chat.clone(), local_store.clone());
    let projector = Arc::new(NotificationProjector::new(
        db.clone(),
        presence.clone(),
        email.is_some(),
        config.notification_interval,
        notifier.clone(),
    ));
    projector.spawn_digests();
    let files = Arc::new(FileRemover(chat.clone()));
    let worker = job_worker(db.clone(), vec![push, projector, files], email, metrics.clone());
    // The relay only enqueues the notification work (one statement per batch); the job worker does it.
    OutboxRelay::new(db.clone(), events.clone(), notifier.clone())
        .with_handler(Arc::new(NotificationJobs::new(worker.waker())))
        .spawn();
    worker.spawn();
    let calendar = CalendarService::new(db.clone(), Arc::new(SystemClock));
    let limiter = RateLimiter::new(redis.clone(), &config.redis_prefix);
    let notifications = NotificationsService::new(db.clone());
    Ok(AppState {
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
        presence,
        vapid,
        events,
        limiter,
        metrics,
    })
}

/// The worker of this process's background jobs (notifications, e-mail, push, file removal), reporting outcomes to the
/// metrics.
fn job_worker(
    db: epop_storage::DbPool,
    mut handlers: Vec<Arc<dyn JobHandler>>,
    email: Option<Arc<EmailSender>>,
    metrics: Metrics,
) -> JobWorker {
    if let Some(email) = email {
        handlers.push(email);
    }
    let worker_id = format!("{}-{}", std::process::id(), crate::realtime::engine::random_id());
    let hook: epop_storage::jobs::OutcomeHook =
        Arc::new(move |queue, outcome| metrics.jobs_processed.with_label_values(&[queue, outcome]).inc());
    JobWorker::new(db, worker_id, 64, handlers).with_hook(hook)
}

/// Removes unattached uploads after 24 hours, files of deleted messages that their job left, and (local store)
/// partial files of uploads that stopped an hour ago, every few minutes.
fn spawn_file_sweeper(chat: ChatService, local: Option<LocalStore>) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(300));
        loop {
            ticker.tick().await;
            match chat.sweep_files().await {
                Ok(0) => {}
                Ok(removed) => tracing::info!(removed, "removed unused files"),
                Err(error) => tracing::warn!(%error, "file sweep failed"),
            }
            if let Some(local) = &local {
                match local.sweep_partial_uploads(Duration::from_secs(3600)).await {
                    Ok(0) => {}
                    Ok(removed) => tracing::info!(removed, "removed partial files of stopped uploads"),
                    Err(error) => tracing::warn!(%error, "sweeping partial uploads failed"),
                }
            }
        }
    });
}

/// Creates the bucket or directory in the background, retrying while the store is down.
fn spawn_store_setup(store: Arc<dyn ObjectStore>) {
    tokio::spawn(async move {
        let mut delay = Duration::from_millis(500);
        loop {
            match store.ensure_ready().await {
                Ok(()) => return,
                Err(error) => {
                    tracing::warn!(%error, "object store not ready; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(30));
                }
            }
        }
    });
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
    socket_io: Arc<SocketIo>,
    engine: Engine,
}

impl Application {
    /// Builds the state and binds the listener (port 0 picks a free port).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let listen = config.listen;
        let listener =
            TcpListener::bind(listen).with_context(|| format!("binding {listen} (EPOP_LISTEN)"))?;
        Self::build_on(config, listener).await
    }

    /// Builds the state and serves on an already bound `listener` (tests bind first to learn the port).
    pub async fn build_on(config: Config, listener: TcpListener) -> anyhow::Result<Self> {
        let state = build_state(config).await?;
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
        let document = routes::openapi();
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
                    .configure(|cfg| configure(cfg, &document))
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
