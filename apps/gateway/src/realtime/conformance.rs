//! The conformance application: the configuration the official Socket.IO and Engine.IO protocol test suites
//! expect (`epop-gateway conformance`, never part of the normal server).
//!
//! Namespaces `/` and `/custom`, each emitting `auth` with the handshake payload on connect; on `/`, `message`
//! is answered by `message-back` with the same arguments (binary included) and `message-with-ack` is
//! acknowledged with the same arguments. `/engine.io/` is a raw Engine.IO echo endpoint.

use super::engine::{CloseReason, Engine, EngineConfig, EngineHandler, Session};
use super::socketio::{Application, IncomingEvent, Refusal, Socket, SocketIo, SocketIoLimits};
use async_trait::async_trait;
use epop_realtime_protocol::engine::{Packet, Payload};
use serde_json::Value;
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

/// The Socket.IO test application.
#[derive(Debug, Default)]
pub struct ConformanceApp;

#[async_trait]
impl Application for ConformanceApp {
    fn has_namespace(&self, namespace: &str) -> bool {
        matches!(namespace, "/" | "/custom")
    }

    async fn authorize(&self, _socket: &Arc<Socket>) -> Result<(), Refusal> {
        Ok(())
    }

    async fn connected(&self, socket: &Arc<Socket>) {
        let auth = socket
            .auth()
            .unwrap_or_else(|| Value::Object(serde_json::Map::new()));
        socket.emit("auth", vec![auth]);
    }

    async fn event(&self, socket: &Arc<Socket>, event: IncomingEvent) {
        if socket.namespace != "/" {
            return;
        }
        match (event.name.as_str(), event.ack) {
            ("message", _) => socket.emit_with("message-back", event.args, event.attachments),
            ("message-with-ack", Some(id)) => socket.ack(id, event.args, event.attachments),
            _ => {}
        }
    }

    async fn disconnected(&self, _socket: &Arc<Socket>) {}
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

/// The two engines of conformance mode: Socket.IO at `/socket.io/`, echo at `/engine.io/`.
pub fn engines() -> (Engine, Engine) {
    let socket_io = Engine::new(
        engine_config(),
        Arc::new(SocketIo::new(
            Arc::new(ConformanceApp),
            SocketIoLimits {
                connect_timeout: CONNECT_TIMEOUT,
                ..SocketIoLimits::default()
            },
        )),
    );
    let echo = Engine::new(engine_config(), Arc::new(Echo));
    (socket_io, echo)
}
