//! The conformance application: the configuration the official Socket.IO and Engine.IO protocol test suites
//! expect (`epop-gateway conformance`; never part of a normal server).
//!
//! Namespaces `/` and `/custom`, each emitting `auth` with the handshake payload on connect; on `/`, `message`
//! is answered by `message-back` with the same arguments (binary included) and `message-with-ack` is
//! acknowledged with the same arguments. `/engine.io/` is a raw Engine.IO echo endpoint.

use crate::engine::{CloseReason, Engine, EngineConfig, EngineHandler, Session};
use crate::http::HttpServer;
use crate::hub::Hub;
use crate::server::{Application, Builder, Handshake, IncomingEvent, Refusal, SocketIoLimits};
use crate::socket::Socket;
use actix_web::App;
use async_trait::async_trait;
use epop_realtime_protocol::engine::{Packet, Payload};
use serde_json::Value;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

/// The Engine.IO settings of the suites: ping 300 ms, timeout 200 ms, 1 MB payloads.
pub fn engine_config() -> EngineConfig {
    EngineConfig {
        ping_interval: Duration::from_millis(300),
        ping_timeout: Duration::from_millis(200),
        max_payload: 1_000_000,
        ..EngineConfig::default()
    }
}

/// The suites' connect timeout.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(1000);

/// The Socket.IO test application. A socket's state is its handshake payload, echoed as `auth` on connect.
#[derive(Debug, Default)]
pub struct ConformanceApp;

#[async_trait]
impl Application for ConformanceApp {
    type State = Value;

    fn has_namespace(&self, namespace: &str) -> bool {
        matches!(namespace, "/" | "/custom")
    }

    async fn authorize(&self, handshake: Handshake<'_>) -> Result<Value, Refusal> {
        Ok(handshake
            .auth
            .unwrap_or_else(|| Value::Object(serde_json::Map::new())))
    }

    async fn connected(&self, socket: &Arc<Socket<Value>>) {
        socket.emit("auth", vec![socket.state().clone()]);
    }

    async fn event(&self, socket: &Arc<Socket<Value>>, event: IncomingEvent) {
        if socket.namespace() != "/" {
            return;
        }
        match (event.name.as_str(), event.ack) {
            ("message", _) => socket.emit_with("message-back", event.args, event.attachments),
            ("message-with-ack", Some(id)) => socket.ack(id, event.args, event.attachments),
            _ => {}
        }
    }
}

/// Engine.IO echo: every message is sent back as it came.
#[derive(Debug, Default)]
pub struct Echo;

impl EngineHandler for Echo {
    fn on_open(&self, _session: &Arc<Session>) {}

    fn on_message(&self, session: &Arc<Session>, payload: Payload) {
        session.send(Packet::Message(payload));
    }

    fn on_close(&self, _session: &Arc<Session>, _reason: CloseReason) {}
}

/// The conformance server on a bound listener: Socket.IO at `/socket.io/`, a raw Engine.IO echo at
/// `/engine.io/`. Must be called within a Tokio runtime.
pub fn server(listener: TcpListener) -> std::io::Result<actix_web::dev::Server> {
    server_with(listener, engine_config())
}

/// [`server`] with other Engine.IO settings (tests of one mechanism that must not race the suites' 300 ms
/// heartbeat on a loaded machine).
pub fn server_with(listener: TcpListener, engine: EngineConfig) -> std::io::Result<actix_web::dev::Server> {
    let io = Builder::new()
        .engine(engine)
        .limits(SocketIoLimits {
            connect_timeout: CONNECT_TIMEOUT,
            ..SocketIoLimits::default()
        })
        .build(ConformanceApp, Hub::new());
    let echo = Engine::new(engine, Arc::new(Echo));
    HttpServer::new()
        .workers(2)
        .shutdown_timeout(Duration::from_secs(1))
        .head_timeout(Duration::from_secs(5))
        .socket_io("/socket.io", &io)
        .engine("/engine.io", &echo)
        .run(listener, move || {
            App::new()
                .service(io.polling_service("/socket.io"))
                .service(crate::polling::service("/engine.io", echo.clone()))
        })
}
