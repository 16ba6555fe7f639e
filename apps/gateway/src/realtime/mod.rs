//! Real time: Socket.IO v5 over Engine.IO v4, on WebSocket (the raw upgraded connection) and HTTP
//! long-polling.
//!
//! Layers, bottom up: [`frame`] (packets encoded once, shared by every socket), [`engine`] (sessions,
//! queues, heartbeats, upgrade), [`websocket`] and [`transport`] (the WebSocket connection and the polling
//! endpoint), [`socketio`] (namespaces, connect, events, acks, binary), and the applications on top:
//! [`epop`] (CONTRACT section 7, with [`hub`] rooms and [`presence`]) and [`conformance`] for the official
//! protocol test suites. The wire codecs live in the
//! `epop-realtime-protocol` crate.

pub mod conformance;
pub mod engine;
pub mod epop;
pub mod frame;
pub mod hub;
pub mod presence;
pub mod presence_throttle;
pub mod recovery;
pub mod socketio;
pub mod transport;
pub mod websocket;

/// Locks a mutex of the real-time layer. A panic while it was held leaves plain data behind (maps, counters),
/// so the lock is taken anyway rather than failing every later request.
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
