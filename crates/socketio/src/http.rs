//! The HTTP/1.1 server that carries Socket.IO: an actix-web application serves every request, except the
//! WebSocket upgrades on the engines' paths, which go with their connection to [`crate::websocket`].
//! actix-web's own `HttpServer` offers no way to take over an upgraded connection, so the server is assembled
//! here from the same parts it uses (actix-server, actix-http).

use crate::engine::Engine;
use crate::server::{Application, SocketIo};
use crate::websocket::{self, NotFound, WebSocketRoutes};
use bytes::Bytes;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

/// What runs on each worker's thread as it starts.
type WorkerStart = Arc<dyn Fn() + Send + Sync>;

/// Builds the HTTP server: which engine takes WebSocket upgrades on which path, the workers, and the timeouts.
/// The long-polling side is part of the actix-web application ([`SocketIo::polling_service`]).
#[derive(Clone)]
pub struct HttpServer {
    workers: usize,
    shutdown_timeout: Duration,
    head_timeout: Duration,
    routes: Vec<(String, Engine)>,
    not_found: NotFound,
    on_worker_start: Vec<WorkerStart>,
}

impl std::fmt::Debug for HttpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpServer")
            .field("workers", &self.workers)
            .field(
                "routes",
                &self.routes.iter().map(|(path, _)| path).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Default for HttpServer {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpServer {
    /// One worker per core, 30 s to finish requests at shutdown, 5 s for a request's head.
    pub fn new() -> Self {
        Self {
            workers: std::thread::available_parallelism().map_or(1, usize::from),
            shutdown_timeout: Duration::from_secs(30),
            head_timeout: Duration::from_secs(5),
            routes: Vec::new(),
            not_found: NotFound::default(),
            on_worker_start: Vec::new(),
        }
    }

    /// How many worker threads serve connections.
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers;
        self
    }

    /// How long requests in flight may take to finish once the server stops.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// How long a request's head may take to arrive after its first byte.
    pub fn head_timeout(mut self, timeout: Duration) -> Self {
        self.head_timeout = timeout;
        self
    }

    /// Socket.IO's WebSocket upgrades at `path` (which also answers `path/`); each worker runs a fan-out lane of
    /// its hub. Mount [`SocketIo::polling_service`] at the same path in the application.
    pub fn socket_io<A: Application>(self, path: &str, io: &SocketIo<A>) -> Self {
        let hub = io.hub().clone();
        self.engine(path, io.engine())
            .on_worker_start(move || hub.start_lane())
    }

    /// A raw Engine.IO engine's WebSocket upgrades at `path`.
    pub fn engine(mut self, path: &str, engine: &Engine) -> Self {
        self.routes.push((path.to_owned(), engine.clone()));
        self
    }

    /// The answer to a WebSocket upgrade for a path no engine serves (`404`; plain text by default).
    pub fn not_found(mut self, content_type: &'static str, body: impl Into<Bytes>) -> Self {
        self.not_found = NotFound {
            content_type,
            body: body.into(),
        };
        self
    }

    /// Runs `start` on each worker's thread as it starts, inside its runtime.
    pub fn on_worker_start(mut self, start: impl Fn() + Send + Sync + 'static) -> Self {
        self.on_worker_start.push(Arc::new(start));
        self
    }

    /// Serves on a bound `listener`: `app` (a fresh actix-web application per worker) takes every request but
    /// the WebSocket upgrades. The server handles no signals; stop it through its handle.
    pub fn run<F, I, S, B>(self, listener: TcpListener, app: F) -> std::io::Result<actix_web::dev::Server>
    where
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
        let websockets = WebSocketRoutes::new(self.routes, self.not_found);
        let on_worker_start = self.on_worker_start;
        let head_timeout = self.head_timeout;
        Ok(actix_web::dev::Server::build()
            .workers(self.workers)
            .shutdown_timeout(self.shutdown_timeout.as_secs())
            .disable_signals()
            .listen("socket.io-http", listener, move || {
                // Called on each worker's thread, inside its runtime, as the worker starts.
                for start in &on_worker_start {
                    start();
                }
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
}
