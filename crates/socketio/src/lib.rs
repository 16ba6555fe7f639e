//! # epop-socketio
//!
//! A Socket.IO v5 / Engine.IO v4 server for actix-web: HTTP long-polling, WebSocket (on the raw upgraded
//! connection), the upgrade from one to the other, binary attachments, acks, namespaces, connection state
//! recovery ids, rooms with broadcasts encoded once, and bounded queues that disconnect clients that cannot
//! keep up. The official JavaScript and Python clients talk to it, and it passes the official protocol suites
//! (see [`conformance`]).
//!
//! Layers, bottom up: [`frame`] (packets encoded once, shared by every socket), [`engine`] (sessions, queues,
//! heartbeats, upgrade), the transports (the polling endpoint and the WebSocket connection, mounted by
//! [`HttpServer`] and [`SocketIo::polling_service`]), [`server`] (namespaces, connect, events, acks), [`socket`]
//! (one connected socket: emit, ack, disconnect) and [`hub`] (rooms, fan-out lanes). The wire codecs live in `epop-realtime-protocol`.
//!
//! An application implements [`Application`]: it turns a handshake into its typed per-socket state, and
//! handles events; [`Builder`] runs it:
//!
//! ```no_run
//! # use epop_socketio::{Application, Builder, Handshake, Hub, HttpServer, IncomingEvent, Refusal, Socket, SocketIo};
//! # use std::sync::Arc;
//! struct Echo;
//!
//! #[async_trait::async_trait]
//! impl Application for Echo {
//!     type State = ();
//!     fn has_namespace(&self, namespace: &str) -> bool {
//!         namespace == "/"
//!     }
//!     async fn authorize(&self, _handshake: Handshake<'_>) -> Result<(), Refusal> {
//!         Ok(())
//!     }
//!     async fn event(&self, socket: &Arc<Socket<()>>, event: IncomingEvent) {
//!         socket.emit(&event.name, event.args);
//!     }
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let io = Builder::new().build(Echo, Hub::new());
//! let listener = std::net::TcpListener::bind("127.0.0.1:3000")?;
//! HttpServer::new()
//!     .socket_io("/socket.io", &io)
//!     .run(listener, move || actix_web::App::new().service(io.polling_service("/socket.io")))?
//!     .await
//! # }
//! ```

pub mod conformance;
pub mod engine;
pub mod error;
pub mod frame;
mod http;
pub mod hub;
mod polling;
pub mod server;
pub mod socket;
mod websocket;

pub use engine::{CloseReason, EngineConfig, Session, Transport, random_id};
pub use epop_realtime_protocol::socket::Packet;
pub use error::{EngineError, HandshakeRefused, Refused};
pub use http::HttpServer;
pub use hub::{Broadcast, Hub};
pub use polling::client_address;
pub use server::{Application, Builder, Handshake, IncomingEvent, Refusal, SocketIo, SocketIoLimits};
pub use socket::{Socket, frames_of};

/// Locks a mutex of the server. A panic while it was held leaves plain data behind (maps, counters), so the
/// lock is taken anyway rather than failing every later request.
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
