//! Engine.IO v4 sessions, shared by every actix worker.
//!
//! A [`Session`] owns one outbound queue drained by exactly one writer at a time: the pending long-polling
//! `GET`, or the WebSocket writer task after an upgrade. That keeps a Socket.IO packet and its binary
//! attachments contiguous and makes the transport switch a matter of changing who drains the queue. The queue
//! is bounded: a client that cannot keep up is disconnected (it catches up later over REST) instead of
//! growing memory without bound. Heartbeats follow v4: the server pings one `ping_interval` after open and
//! after each pong, and closes the session when no pong arrives within `ping_timeout`.

use super::lock;
use bytes::Bytes;
use epop_realtime_protocol::engine::{self, Packet, Payload};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Engine.IO timing and size settings.
#[derive(Debug, Clone, Copy)]
pub struct EngineConfig {
    /// Time between server pings.
    pub ping_interval: Duration,
    /// How long to wait for a pong.
    pub ping_timeout: Duration,
    /// Largest polling payload or WebSocket frame, in bytes.
    pub max_payload: usize,
    /// How long a WebSocket may take to finish an upgrade (`5`) after its probe.
    pub upgrade_timeout: Duration,
    /// Most packets queued for one client before it is disconnected as too slow.
    pub max_queued_packets: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            ping_interval: Duration::from_millis(25_000),
            ping_timeout: Duration::from_millis(20_000),
            max_payload: 1_000_000,
            upgrade_timeout: Duration::from_secs(10),
            max_queued_packets: 1024,
        }
    }
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The client sent a close packet.
    ClientClose,
    /// The server closed it (shutdown, credentials revoked, protocol rule).
    ServerClose,
    /// No pong in time.
    PingTimeout,
    /// The client sent something undecodable or out of protocol.
    ProtocolError,
    /// The transport went away (WebSocket closed, polling stopped).
    TransportClose,
    /// The client did not keep up with its queue.
    SlowConsumer,
}

/// What the layer above (Socket.IO) is told about sessions.
pub trait EngineHandler: Send + Sync + 'static {
    /// A session opened.
    fn on_open(&self, session: &Arc<Session>);
    /// A message arrived.
    fn on_message(&self, session: &Arc<Session>, payload: Payload);
    /// The session ended.
    fn on_close(&self, session: &Arc<Session>, reason: CloseReason);
}

/// Which transport delivers the session's packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// HTTP long-polling.
    Polling,
    /// WebSocket.
    WebSocket,
}

struct Inner {
    queue: VecDeque<Packet>,
    transport: Transport,
    /// A WebSocket finished its probe and waits for `5`; polling GETs answer `6` meanwhile.
    upgrading: bool,
    get_active: bool,
    post_active: bool,
    close_reason: Option<CloseReason>,
}

/// One Engine.IO session.
pub struct Session {
    /// The session id (`sid`).
    pub sid: String,
    inner: Mutex<Inner>,
    writer_wake: Notify,
    pong: Notify,
    closed: CancellationToken,
    pong_expected: AtomicBool,
    engine: Weak<EngineShared>,
    me: Weak<Session>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("sid", &self.sid)
            .finish_non_exhaustive()
    }
}

struct EngineShared {
    config: EngineConfig,
    sessions: Mutex<HashMap<String, Arc<Session>>>,
    handler: Arc<dyn EngineHandler>,
}

/// The Engine.IO server: the session registry and its configuration.
#[derive(Clone)]
pub struct Engine {
    shared: Arc<EngineShared>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

/// A polling request that the protocol refuses (answered `400`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadRequest;

impl Engine {
    /// An engine with `config` reporting to `handler`.
    pub fn new(config: EngineConfig, handler: Arc<dyn EngineHandler>) -> Self {
        Self {
            shared: Arc::new(EngineShared {
                config,
                sessions: Mutex::new(HashMap::new()),
                handler,
            }),
        }
    }

    /// The engine's settings.
    pub fn config(&self) -> &EngineConfig {
        &self.shared.config
    }

    /// The session with this id, if open.
    pub fn session(&self, sid: &str) -> Option<Arc<Session>> {
        lock(&self.shared.sessions).get(sid).cloned()
    }

    /// How many sessions are open on this node.
    pub fn session_count(&self) -> usize {
        lock(&self.shared.sessions).len()
    }

    /// Opens a session on `transport`; returns it and its open packet.
    pub fn open(&self, transport: Transport) -> (Arc<Session>, Packet) {
        let sid = random_id();
        let config = &self.shared.config;
        let upgrades: &[&str] = if transport == Transport::Polling {
            &["websocket"]
        } else {
            &[]
        };
        let handshake = serde_json::json!({
            "sid": sid,
            "upgrades": upgrades,
            "pingInterval": config.ping_interval.as_millis() as u64,
            "pingTimeout": config.ping_timeout.as_millis() as u64,
            "maxPayload": config.max_payload,
        });
        let session = Arc::new_cyclic(|me| Session {
            sid: sid.clone(),
            inner: Mutex::new(Inner {
                queue: VecDeque::new(),
                transport,
                upgrading: false,
                get_active: false,
                post_active: false,
                close_reason: None,
            }),
            writer_wake: Notify::new(),
            pong: Notify::new(),
            closed: CancellationToken::new(),
            pong_expected: AtomicBool::new(false),
            engine: Arc::downgrade(&self.shared),
            me: me.clone(),
        });
        lock(&self.shared.sessions).insert(sid, session.clone());
        self.shared.handler.on_open(&session);
        tokio::spawn(heartbeat(
            session.clone(),
            config.ping_interval,
            config.ping_timeout,
        ));
        (session, Packet::Open(handshake.to_string()))
    }

    /// Closes every session (graceful shutdown).
    pub fn close_all(&self) {
        let sessions: Vec<Arc<Session>> = lock(&self.shared.sessions).values().cloned().collect();
        for session in sessions {
            session.close(CloseReason::ServerClose);
        }
    }
}

/// A random, URL-safe session or socket id (128 bits).
pub fn random_id() -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes())
}

async fn heartbeat(session: Arc<Session>, interval: Duration, timeout: Duration) {
    loop {
        tokio::select! {
            () = session.closed.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
        session.pong_expected.store(true, Ordering::SeqCst);
        session.send(Packet::Ping(None));
        tokio::select! {
            () = session.closed.cancelled() => return,
            () = session.pong.notified() => {}
            () = tokio::time::sleep(timeout) => {
                session.close(CloseReason::PingTimeout);
                return;
            }
        }
    }
}

/// Resets the "a GET is in flight" flag when the GET ends, however it ends.
struct GetGuard<'a>(&'a Session);

impl Drop for GetGuard<'_> {
    fn drop(&mut self) {
        lock(&self.0.inner).get_active = false;
    }
}

impl Session {
    /// Whether the session has ended.
    pub fn is_closed(&self) -> bool {
        self.closed.is_cancelled()
    }

    /// A token cancelled when the session ends.
    pub fn closed_token(&self) -> CancellationToken {
        self.closed.clone()
    }

    /// The current transport.
    pub fn transport(&self) -> Transport {
        lock(&self.inner).transport
    }

    fn config(&self) -> Option<EngineConfig> {
        self.engine.upgrade().map(|engine| engine.config)
    }

    /// Queues a packet for the client. A client whose queue is full is disconnected as too slow.
    pub fn send(&self, packet: Packet) {
        self.send_all(std::iter::once(packet));
    }

    /// Queues several packets contiguously (a Socket.IO packet and its attachments).
    pub fn send_all(&self, packets: impl IntoIterator<Item = Packet>) {
        if self.is_closed() {
            return;
        }
        let limit = self.config().map_or(1024, |c| c.max_queued_packets);
        let overflow = {
            let mut inner = lock(&self.inner);
            inner.queue.extend(packets);
            inner.queue.len() > limit
        };
        if overflow {
            self.close(CloseReason::SlowConsumer);
        } else {
            self.writer_wake.notify_one();
        }
    }

    /// Ends the session: tells the handler, drops it from the registry, wakes the writer.
    pub fn close(&self, reason: CloseReason) {
        {
            let mut inner = lock(&self.inner);
            if inner.close_reason.is_some() {
                return;
            }
            inner.close_reason = Some(reason);
            if reason == CloseReason::SlowConsumer {
                inner.queue.clear();
            }
        }
        self.closed.cancel();
        self.writer_wake.notify_one();
        if let Some(engine) = self.engine.upgrade() {
            lock(&engine.sessions).remove(&self.sid);
            if let Some(me) = self.me.upgrade() {
                engine.handler.on_close(&me, reason);
            }
        }
    }

    /// Handles one packet from the client (from a polling POST or a WebSocket frame).
    pub fn receive(self: &Arc<Self>, packet: Packet) -> Result<(), BadRequest> {
        match packet {
            Packet::Message(payload) => {
                if let Some(engine) = self.engine.upgrade() {
                    engine.handler.on_message(self, payload);
                }
                Ok(())
            }
            Packet::Pong(_) => {
                if self.pong_expected.swap(false, Ordering::SeqCst) {
                    self.pong.notify_one();
                }
                Ok(())
            }
            Packet::Close => {
                self.close(CloseReason::ClientClose);
                Ok(())
            }
            Packet::Noop => Ok(()),
            Packet::Open(_) | Packet::Ping(_) | Packet::Upgrade => {
                self.close(CloseReason::ProtocolError);
                Err(BadRequest)
            }
        }
    }

    /// Handles a polling POST body.
    pub fn receive_payload(self: &Arc<Self>, body: &str) -> Result<(), BadRequest> {
        {
            let mut inner = lock(&self.inner);
            if inner.transport != Transport::Polling || inner.post_active {
                drop(inner);
                self.close(CloseReason::ProtocolError);
                return Err(BadRequest);
            }
            inner.post_active = true;
        }
        let result = match engine::decode_payload(body) {
            Ok(packets) => packets.into_iter().try_for_each(|packet| self.receive(packet)),
            Err(_) => {
                self.close(CloseReason::ProtocolError);
                Err(BadRequest)
            }
        };
        lock(&self.inner).post_active = false;
        result
    }

    /// Answers a polling GET: waits for packets and returns them as one payload (`1` once closed, `6` while
    /// upgrading). A second concurrent GET closes the session and is refused.
    pub async fn poll(self: &Arc<Self>) -> Result<String, BadRequest> {
        {
            let mut inner = lock(&self.inner);
            if inner.transport != Transport::Polling {
                return Err(BadRequest);
            }
            if inner.get_active {
                drop(inner);
                self.close(CloseReason::ProtocolError);
                return Err(BadRequest);
            }
            if inner.close_reason.is_some() {
                return Err(BadRequest);
            }
            inner.get_active = true;
        }
        let _guard = GetGuard(self);
        let max_payload = self.config().map_or(1_000_000, |c| c.max_payload);
        loop {
            {
                let mut inner = lock(&self.inner);
                if let Some(reason) = inner.close_reason {
                    if reason == CloseReason::ClientClose {
                        return Ok("6".into());
                    }
                    // Flush what was queued before the close (e.g. a Socket.IO DISCONNECT), then `1`.
                    let mut packets: Vec<Packet> = inner.queue.drain(..).collect();
                    packets.push(Packet::Close);
                    return Ok(engine::encode_payload(&packets));
                }
                if inner.upgrading {
                    return Ok("6".into());
                }
                if !inner.queue.is_empty() {
                    let packets: Vec<Packet> = inner.queue.iter().cloned().collect();
                    let (text, used) = engine::encode_payload_bounded(&packets, max_payload);
                    inner.queue.drain(..used);
                    return Ok(text);
                }
            }
            self.writer_wake.notified().await;
        }
    }

    /// Marks the probe of an upgrading WebSocket as done: pending and later polling GETs answer `6`.
    /// Refused when the session is not on polling or another upgrade is under way.
    pub fn begin_upgrade(&self) -> bool {
        let mut inner = lock(&self.inner);
        if inner.transport != Transport::Polling || inner.upgrading || inner.close_reason.is_some() {
            return false;
        }
        inner.upgrading = true;
        drop(inner);
        self.writer_wake.notify_one();
        true
    }

    /// Gives up an upgrade that did not finish.
    pub fn abort_upgrade(&self) {
        lock(&self.inner).upgrading = false;
    }

    /// Switches the session to WebSocket (the client sent `5`); later polling requests are refused.
    pub fn finish_upgrade(&self) {
        let mut inner = lock(&self.inner);
        inner.upgrading = false;
        inner.transport = Transport::WebSocket;
        drop(inner);
        self.writer_wake.notify_one();
    }

    /// For the WebSocket writer: waits for queued packets and takes them all; `None` once the session ended.
    pub async fn next_batch(&self) -> Option<Vec<Packet>> {
        loop {
            {
                let mut inner = lock(&self.inner);
                if inner.transport == Transport::WebSocket && !inner.queue.is_empty() {
                    return Some(inner.queue.drain(..).collect());
                }
                if inner.close_reason.is_some() {
                    return None;
                }
            }
            self.writer_wake.notified().await;
        }
    }

    /// Why the session ended, if it did.
    pub fn close_reason(&self) -> Option<CloseReason> {
        lock(&self.inner).close_reason
    }
}

/// A WebSocket frame as the writer sends it.
pub enum Frame {
    /// A text frame.
    Text(String),
    /// A binary frame.
    Binary(Bytes),
}

/// The frame form of a packet on a WebSocket.
pub fn frame_of(packet: &Packet) -> Frame {
    match packet {
        Packet::Message(Payload::Binary(bytes)) => Frame::Binary(bytes.clone()),
        other => Frame::Text(other.to_text_frame().unwrap_or_default()),
    }
}

#[cfg(test)]
mod tests {
    use super::lock;
    use super::*;

    #[derive(Default)]
    struct Recorder {
        closed: Mutex<Vec<(String, CloseReason)>>,
    }

    impl EngineHandler for Recorder {
        fn on_open(&self, _session: &Arc<Session>) {}
        fn on_message(&self, _session: &Arc<Session>, _payload: Payload) {}
        fn on_close(&self, session: &Arc<Session>, reason: CloseReason) {
            lock(&self.closed).push((session.sid.clone(), reason));
        }
    }

    fn message(text: &str) -> Packet {
        Packet::Message(Payload::Text(text.to_owned()))
    }

    #[tokio::test]
    async fn a_client_that_does_not_keep_up_is_disconnected_and_others_are_not() {
        let recorder = Arc::new(Recorder::default());
        let config = EngineConfig {
            max_queued_packets: 8,
            ..EngineConfig::default()
        };
        let engine = Engine::new(config, recorder.clone());
        let (slow, _) = engine.open(Transport::WebSocket);
        let (healthy, _) = engine.open(Transport::WebSocket);
        for i in 0..8 {
            slow.send(message(&format!("m{i}")));
            healthy.send(message(&format!("m{i}")));
            // The healthy client reads as it goes.
            assert_eq!(healthy.next_batch().await.map(|batch| batch.len()), Some(1));
        }
        assert!(!slow.is_closed(), "a full queue is still within the bound");
        slow.send(message("one too many"));
        assert!(slow.is_closed());
        assert_eq!(slow.close_reason(), Some(CloseReason::SlowConsumer));
        assert!(engine.session(&slow.sid).is_none());
        assert_eq!(
            slow.next_batch().await,
            None,
            "its queue was dropped, not flushed"
        );
        assert_eq!(
            lock(&recorder.closed).as_slice(),
            &[(slow.sid.clone(), CloseReason::SlowConsumer)]
        );
        healthy.send(message("still here"));
        assert_eq!(healthy.next_batch().await.map(|batch| batch.len()), Some(1));
        assert_eq!(engine.session_count(), 1);
    }

    #[tokio::test]
    async fn a_closed_session_refuses_new_polls_and_a_pending_poll_gets_new_packets() {
        let engine = Engine::new(EngineConfig::default(), Arc::new(Recorder::default()));
        let (session, _) = engine.open(Transport::Polling);
        session.send(message("bye"));
        session.close(CloseReason::ServerClose);
        assert_eq!(
            session.poll().await,
            Err(BadRequest),
            "a closed session accepts no new poll"
        );
        let (session, _) = engine.open(Transport::Polling);
        let polling = {
            let session = session.clone();
            tokio::spawn(async move { session.poll().await })
        };
        tokio::task::yield_now().await;
        session.send(message("last words"));
        assert_eq!(polling.await.ok(), Some(Ok("4last words".to_owned())));
    }
}
