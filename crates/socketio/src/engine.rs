//! Engine.IO v4 sessions, shared by every actix worker.
//!
//! A [`Session`] owns one outbound queue drained by exactly one writer at a time: the pending long-polling
//! `GET`, or the session's WebSocket task after an upgrade. That keeps a Socket.IO packet and its binary
//! attachments contiguous and makes the transport switch a matter of changing who drains the queue. The queue
//! is bounded: a client that cannot keep up is disconnected (it catches up later over REST) instead of
//! growing memory without bound. Heartbeats follow v4: the server pings one `ping_interval` after open and
//! after each pong, and closes the session when no pong arrives within `ping_timeout`. The timers of every
//! session (heartbeats and the deadline of the credentials behind it) live in one task per engine, so an idle
//! session costs a queue entry rather than a task.

use crate::error::{EngineError, HandshakeRefused};
use crate::frame::{OutFrame, encode_polling};
use crate::lock;
use epop_realtime_protocol::engine::{self, Packet, Payload};
use futures_util::task::AtomicWaker;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::Waker;
use std::time::Duration;
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;
use tokio_util::time::DelayQueue;

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
    /// Most sessions open at once from one client network (an IPv4 address or an IPv6 /64); `0`: no limit.
    pub max_sessions_per_client: usize,
    /// Most handshakes per minute from one client network, in a burst and then spread evenly (GCRA); `0`: no
    /// limit.
    pub handshakes_per_client_per_minute: u32,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            ping_interval: Duration::from_millis(25_000),
            ping_timeout: Duration::from_millis(20_000),
            max_payload: 1_000_000,
            upgrade_timeout: Duration::from_secs(10),
            max_queued_packets: 1024,
            max_sessions_per_client: 0,
            handshakes_per_client_per_minute: 0,
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
    /// The deadline set with [`Session::expire_in`] passed (the credentials behind the session ran out). The
    /// default closes the session.
    fn on_expired(&self, session: &Arc<Session>) {
        session.close(CloseReason::ServerClose);
    }
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
    queue: VecDeque<OutFrame>,
    transport: Transport,
    /// A WebSocket for this session is open and has not finished or given up its upgrade.
    probing: bool,
    /// A WebSocket finished its probe and waits for `5`; polling GETs answer `6` meanwhile.
    upgrading: bool,
    get_active: bool,
    post_active: bool,
    close_reason: Option<CloseReason>,
    /// When the outstanding ping's pong is due (the ping's scheduled time plus `ping_timeout`).
    pong_deadline: Option<Instant>,
    /// A poll was answered `6` after the client's close; later polls are refused.
    close_answered: bool,
}

/// One Engine.IO session.
pub struct Session {
    /// The session id (`sid`).
    pub sid: String,
    inner: Mutex<Inner>,
    /// Wakes a writer waiting for the queue: a pending polling GET (and tests).
    writer_wake: Notify,
    /// Wakes the session's WebSocket task, which polls its socket and queue without futures of its own.
    ws_writer: AtomicWaker,
    /// The session has ended (set once, with `Inner::close_reason`; read without the lock on the hot paths).
    ended: AtomicBool,
    /// A ping went out and its pong has not come back.
    pong_expected: AtomicBool,
    /// Bumped by every pong, so that the timeout of an answered ping is recognised as stale.
    heartbeat: AtomicU64,
    /// Frames were queued lazily and the session is on the engine's list for the next flush tick.
    lazy: AtomicBool,
    max_queued: usize,
    max_payload: usize,
    /// The client network the session counts against (see [`EngineConfig::max_sessions_per_client`]).
    client: Option<IpAddr>,
    timers: mpsc::UnboundedSender<Timer>,
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
    /// Sessions holding frames queued with [`Session::send_frames_lazily`], woken at the next flush tick.
    lazy: Mutex<Vec<Weak<Session>>>,
    handler: Arc<dyn EngineHandler>,
    timers: mpsc::UnboundedSender<Timer>,
    /// Open sessions per client network; a network leaves the map with its last session.
    sessions_per_client: Mutex<HashMap<IpAddr, usize>>,
    /// Handshakes per client network (when limited).
    handshakes: Option<HandshakeLimiter>,
    /// Proxies whose `X-Forwarded-For` names the client.
    trusted_proxies: Vec<ipnet::IpNet>,
}

type HandshakeLimiter = governor::DefaultKeyedRateLimiter<IpAddr>;

/// Client networks the handshake limiter tracks before it forgets those whose burst has fully come back.
const HANDSHAKE_KEYS_BEFORE_SWEEP: usize = 10_000;

/// A handshake counted against its client network's session limit: the count moves to the session it opens,
/// or is given back when it is dropped unused (the upgrade failed before the session opened).
#[must_use = "an admission is passed to Engine::open"]
#[derive(Debug)]
pub struct Admission {
    engine: Weak<EngineShared>,
    network: Option<IpAddr>,
}

impl Drop for Admission {
    fn drop(&mut self) {
        if let (Some(network), Some(engine)) = (self.network, self.engine.upgrade()) {
            engine.release(network);
        }
    }
}

impl EngineShared {
    /// A session of `network` ended (or its admission went unused).
    fn release(&self, network: IpAddr) {
        let mut counts = lock(&self.sessions_per_client);
        if let Some(count) = counts.get_mut(&network) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.remove(&network);
            }
        }
    }
}

/// The network a client is counted under: its IPv4 address (also when written as IPv4-mapped IPv6), or the /64
/// of its IPv6 address (one subscriber's allocation, so rotating through its addresses gains nothing).
pub fn client_network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let [a, b, c, d, ..] = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
            }
        },
    }
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

impl Engine {
    /// An engine with `config` reporting to `handler`. Spawns the engine's timer task (heartbeats and
    /// credential deadlines of every session), so it must be called within a Tokio runtime.
    pub fn new(config: EngineConfig, handler: Arc<dyn EngineHandler>) -> Self {
        Self::behind_proxies(config, handler, Vec::new())
    }

    /// An engine whose clients may reach it through `trusted_proxies` (their `X-Forwarded-For` names the
    /// client whose network the limits count).
    pub fn behind_proxies(
        config: EngineConfig,
        handler: Arc<dyn EngineHandler>,
        trusted_proxies: Vec<ipnet::IpNet>,
    ) -> Self {
        let (timers, commands) = mpsc::unbounded_channel();
        let handshakes = std::num::NonZeroU32::new(config.handshakes_per_client_per_minute)
            .map(|per_minute| governor::RateLimiter::keyed(governor::Quota::per_minute(per_minute)));
        let shared = Arc::new(EngineShared {
            config,
            sessions: Mutex::new(HashMap::new()),
            lazy: Mutex::new(Vec::new()),
            handler,
            timers,
            sessions_per_client: Mutex::new(HashMap::new()),
            handshakes,
            trusted_proxies,
        });
        tokio::spawn(run_timers(Arc::downgrade(&shared), commands));
        Self { shared }
    }

    /// The engine's settings.
    pub fn config(&self) -> &EngineConfig {
        &self.shared.config
    }

    /// Proxies whose `X-Forwarded-For` is believed.
    pub fn trusted_proxies(&self) -> &[ipnet::IpNet] {
        &self.shared.trusted_proxies
    }

    /// The session with this id, if open.
    pub fn session(&self, sid: &str) -> Option<Arc<Session>> {
        lock(&self.shared.sessions).get(sid).cloned()
    }

    /// How many sessions are open on this node.
    pub fn session_count(&self) -> usize {
        lock(&self.shared.sessions).len()
    }

    /// Counts a handshake from a client at `client` (its address, when known) against the limits per client
    /// network: the admission to pass to [`Engine::open`], or which limit refuses it. Checked before anything
    /// is answered, so that a refusal is the handshake's HTTP answer.
    pub fn admit(&self, client: Option<IpAddr>) -> Result<Admission, HandshakeRefused> {
        let shared = &self.shared;
        let Some(network) = client.map(client_network) else {
            return Ok(Admission {
                engine: Weak::new(),
                network: None,
            });
        };
        if let Some(limiter) = &shared.handshakes {
            if limiter.len() > HANDSHAKE_KEYS_BEFORE_SWEEP {
                limiter.retain_recent();
            }
            if let Err(not_until) = limiter.check_key(&network) {
                use governor::clock::Clock as _;
                let now = governor::clock::DefaultClock::default().now();
                return Err(HandshakeRefused::TooManyHandshakes {
                    retry_after: not_until.wait_time_from(now),
                });
            }
        }
        let max = shared.config.max_sessions_per_client;
        let mut counts = lock(&shared.sessions_per_client);
        let count = counts.entry(network).or_insert(0);
        if max > 0 && *count >= max {
            return Err(HandshakeRefused::TooManySessions);
        }
        *count += 1;
        Ok(Admission {
            engine: Arc::downgrade(shared),
            network: Some(network),
        })
    }

    /// Opens a session on `transport` for an admitted handshake; returns the session and its open packet.
    pub fn open(&self, transport: Transport, mut admission: Admission) -> (Arc<Session>, Packet) {
        self.open_admitted(transport, admission.network.take())
    }

    fn open_admitted(&self, transport: Transport, client: Option<IpAddr>) -> (Arc<Session>, Packet) {
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
                probing: false,
                upgrading: false,
                get_active: false,
                post_active: false,
                close_reason: None,
                pong_deadline: None,
                close_answered: false,
            }),
            writer_wake: Notify::new(),
            ws_writer: AtomicWaker::new(),
            ended: AtomicBool::new(false),
            pong_expected: AtomicBool::new(false),
            heartbeat: AtomicU64::new(0),
            lazy: AtomicBool::new(false),
            max_queued: config.max_queued_packets,
            max_payload: config.max_payload,
            client,
            timers: self.shared.timers.clone(),
            engine: Arc::downgrade(&self.shared),
            me: me.clone(),
        });
        lock(&self.shared.sessions).insert(sid, session.clone());
        self.shared.handler.on_open(&session);
        session.schedule(Due::Ping, Instant::now() + config.ping_interval, 0);
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

/// What a session's timer is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Due {
    /// Send the next ping.
    Ping,
    /// The ping of this heartbeat generation must have been answered by now.
    PongTimeout,
    /// The session's credentials expire.
    Expiry,
    /// A session the client closed leaves the registry (see [`CLIENT_CLOSE_GRACE`]).
    Forget,
}

/// How often frames queued lazily (presence) are written out. They also leave with the next frame sent at once.
const LAZY_FLUSH: Duration = Duration::from_millis(200);

/// How long a new poll waits for an upgrade under way to finish, and in how many looks.
const UPGRADE_SETTLE: Duration = Duration::from_millis(100);
const UPGRADE_SETTLE_STEPS: u32 = 20;

/// How long a session the client closed stays known, so that a poll racing the close packet is answered
/// `6` rather than "Session ID unknown".
const CLIENT_CLOSE_GRACE: Duration = Duration::from_secs(2);

/// One timer of one session.
struct Timer {
    session: Weak<Session>,
    due: Due,
    at: Instant,
    generation: u64,
}

/// The timers of every session of an engine, in one task: a session costs a queue entry, not a task of its own.
async fn run_timers(engine: Weak<EngineShared>, mut commands: mpsc::UnboundedReceiver<Timer>) {
    let mut queue: DelayQueue<Timer> = DelayQueue::new();
    let mut flush = tokio::time::interval(LAZY_FLUSH);
    flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = flush.tick() => {
                let Some(engine) = engine.upgrade() else { return };
                let sessions = std::mem::take(&mut *lock(&engine.lazy));
                for session in sessions.iter().filter_map(Weak::upgrade) {
                    session.lazy.store(false, Ordering::SeqCst);
                    session.wake_writer();
                }
            }
            command = commands.recv() => match command {
                Some(timer) => {
                    let at = timer.at;
                    queue.insert_at(timer, at);
                }
                None => return,
            },
            Some(expired) = std::future::poll_fn(|cx| queue.poll_expired(cx)) => {
                let Some(engine) = engine.upgrade() else { return };
                fire(&engine, expired.into_inner());
            }
        }
    }
}

fn fire(engine: &EngineShared, timer: Timer) {
    let Some(session) = timer.session.upgrade() else {
        return;
    };
    if timer.due == Due::Forget {
        lock(&engine.sessions).remove(&session.sid);
        return;
    }
    if session.is_closed() {
        return;
    }
    let current = session.heartbeat.load(Ordering::SeqCst) == timer.generation;
    match timer.due {
        Due::Ping if current => {
            // Timed from when the ping was due, so that the deadline does not drift with the timer's tick.
            let deadline = timer.at + engine.config.ping_timeout;
            lock(&session.inner).pong_deadline = Some(deadline);
            session.pong_expected.store(true, Ordering::SeqCst);
            session.send(Packet::Ping(None));
            session.schedule(Due::PongTimeout, deadline, timer.generation);
        }
        Due::PongTimeout if current && session.pong_expected.load(Ordering::SeqCst) => {
            session.close(CloseReason::PingTimeout);
        }
        Due::Expiry => engine.handler.on_expired(&session),
        Due::Ping | Due::PongTimeout | Due::Forget => {}
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
        self.ended.load(Ordering::Acquire)
    }

    /// Wakes whoever drains the queue: the pending poll or the WebSocket task.
    fn wake_writer(&self) {
        self.writer_wake.notify_one();
        self.ws_writer.wake();
    }

    /// Registers the WebSocket task to be woken when frames are queued or the session ends. Register before
    /// looking at the queue, so that a frame queued after the look wakes the task.
    pub fn register_writer(&self, waker: &Waker) {
        self.ws_writer.register(waker);
    }

    /// The current transport.
    pub fn transport(&self) -> Transport {
        lock(&self.inner).transport
    }

    fn schedule(&self, due: Due, at: Instant, generation: u64) {
        // The timer task ends only with the engine, which then has no sessions left to time.
        let _ = self.timers.send(Timer {
            session: self.me.clone(),
            due,
            at,
            generation,
        });
    }

    /// Ends the session at `at` through [`EngineHandler::on_expired`] (sockets never outlive their
    /// credentials).
    pub fn expire_in(&self, after: Duration) {
        self.schedule(Due::Expiry, Instant::now() + after, 0);
    }

    /// Queues a packet for the client. A client whose queue is full is disconnected as too slow.
    pub fn send(&self, packet: Packet) {
        self.send_frames(std::iter::once(OutFrame::packet(&packet)));
    }

    /// Queues frames contiguously (a Socket.IO packet and its attachments), encoded once by the caller and
    /// possibly shared with other sessions.
    pub fn send_frames(&self, frames: impl IntoIterator<Item = OutFrame>) {
        if self.enqueue(frames) {
            self.wake_writer();
        }
    }

    /// Queues frames that may wait: they are written with the next frame sent at once, or at the engine's next
    /// flush tick (every 200 ms), whichever comes first. For state that a moment's delay does not harm (presence):
    /// a connect storm then costs each socket one write per tick instead of one per frame.
    pub fn send_frames_lazily(&self, frames: impl IntoIterator<Item = OutFrame>) {
        if self.enqueue(frames)
            && !self.lazy.swap(true, Ordering::SeqCst)
            && let Some(engine) = self.engine.upgrade()
        {
            lock(&engine.lazy).push(self.me.clone());
        }
    }

    /// Appends to the queue; `false` when the session is closed, or has just been closed as too slow.
    fn enqueue(&self, frames: impl IntoIterator<Item = OutFrame>) -> bool {
        if self.is_closed() {
            return false;
        }
        let overflow = {
            let mut inner = lock(&self.inner);
            inner.queue.extend(frames);
            inner.queue.len() > self.max_queued
        };
        if overflow {
            self.close(CloseReason::SlowConsumer);
        }
        !overflow
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
        self.ended.store(true, Ordering::Release);
        self.wake_writer();
        if let Some(engine) = self.engine.upgrade() {
            if let Some(network) = self.client {
                engine.release(network);
            }
            if reason == CloseReason::ClientClose {
                self.schedule(Due::Forget, Instant::now() + CLIENT_CLOSE_GRACE, 0);
            } else {
                lock(&engine.sessions).remove(&self.sid);
            }
            if let Some(me) = self.me.upgrade() {
                engine.handler.on_close(&me, reason);
            }
        }
    }

    /// Handles one packet from the client (from a polling POST or a WebSocket frame).
    pub fn receive(self: &Arc<Self>, packet: Packet) -> Result<(), EngineError> {
        match packet {
            Packet::Message(payload) => {
                if let Some(engine) = self.engine.upgrade() {
                    engine.handler.on_message(self, payload);
                }
                Ok(())
            }
            Packet::Pong(_) => {
                if self.pong_expected.swap(false, Ordering::SeqCst) {
                    lock(&self.inner).pong_deadline = None;
                    let generation = self.heartbeat.fetch_add(1, Ordering::SeqCst) + 1;
                    if let Some(engine) = self.engine.upgrade() {
                        self.schedule(
                            Due::Ping,
                            Instant::now() + engine.config.ping_interval,
                            generation,
                        );
                    }
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
                Err(EngineError::BadRequest)
            }
        }
    }

    /// Handles a polling POST body.
    pub fn receive_payload(self: &Arc<Self>, body: &str) -> Result<(), EngineError> {
        {
            let mut inner = lock(&self.inner);
            if inner.close_reason.is_some() {
                return Err(EngineError::BadRequest);
            }
            if inner.transport != Transport::Polling || inner.post_active {
                drop(inner);
                self.close(CloseReason::ProtocolError);
                return Err(EngineError::BadRequest);
            }
            inner.post_active = true;
        }
        // Decoded twice, holding one packet at a time: first to refuse a body with any bad packet before one of
        // its packets is handled, then to handle each. Collected at once, a 1 MB body of 500,000 pongs made the
        // node hold some 45 MB while it handled them.
        let result = if engine::payload_packets(body).all(|packet| packet.is_ok()) {
            engine::payload_packets(body)
                .filter_map(Result::ok)
                .try_for_each(|packet| self.receive(packet))
        } else {
            self.close(CloseReason::ProtocolError);
            Err(EngineError::BadRequest)
        };
        lock(&self.inner).post_active = false;
        result
    }

    /// Answers a polling GET: waits for packets and returns them as one payload (`1` once closed, `6` while
    /// upgrading). A second concurrent GET closes the session and is refused.
    pub async fn poll(self: &Arc<Self>) -> Result<String, EngineError> {
        // A poll that arrives while a WebSocket upgrade is finishing waits for its outcome (at most
        // `UPGRADE_SETTLE`): once upgraded, polling is over. A poll already pending gets `6` at once instead.
        for _ in 0..UPGRADE_SETTLE_STEPS {
            let settled = {
                let inner = lock(&self.inner);
                !inner.probing && !inner.upgrading
            };
            if settled {
                break;
            }
            tokio::time::sleep(UPGRADE_SETTLE / UPGRADE_SETTLE_STEPS).await;
        }
        {
            let mut inner = lock(&self.inner);
            if inner.transport != Transport::Polling {
                return Err(EngineError::BadRequest);
            }
            if inner.get_active {
                drop(inner);
                self.close(CloseReason::ProtocolError);
                return Err(EngineError::BadRequest);
            }
            match inner.close_reason {
                // A poll that raced the client's own close packet.
                Some(CloseReason::ClientClose) if !inner.close_answered => {
                    inner.close_answered = true;
                    return Ok("6".into());
                }
                Some(_) => return Err(EngineError::BadRequest),
                None => {}
            }
            if inner
                .pong_deadline
                .is_some_and(|deadline| Instant::now() >= deadline)
            {
                // The timer may not have fired yet; the outcome must not depend on it.
                drop(inner);
                self.close(CloseReason::PingTimeout);
                return Err(EngineError::BadRequest);
            }
            inner.get_active = true;
        }
        let _guard = GetGuard(self);
        loop {
            {
                let mut inner = lock(&self.inner);
                if let Some(reason) = inner.close_reason {
                    if reason == CloseReason::ClientClose {
                        inner.close_answered = true;
                        return Ok("6".into());
                    }
                    // Flush what was queued before the close (e.g. a Socket.IO DISCONNECT), then `1`.
                    let close = OutFrame::packet(&Packet::Close);
                    let (text, _) = encode_polling(inner.queue.iter().chain([&close]), usize::MAX);
                    inner.queue.clear();
                    return Ok(text);
                }
                if inner.upgrading {
                    return Ok("6".into());
                }
                if !inner.queue.is_empty() {
                    let (text, used) = encode_polling(&inner.queue, self.max_payload);
                    inner.queue.drain(..used);
                    return Ok(text);
                }
            }
            self.writer_wake.notified().await;
        }
    }

    /// A WebSocket for this session opened to upgrade it. Refused when the session is not on polling or another
    /// WebSocket is already upgrading it (that one goes on; this one is closed).
    pub fn begin_probe(&self) -> bool {
        let mut inner = lock(&self.inner);
        if inner.transport != Transport::Polling || inner.probing || inner.close_reason.is_some() {
            return false;
        }
        inner.probing = true;
        true
    }

    /// Marks the probe of an upgrading WebSocket as done: pending and later polling GETs answer `6`.
    /// Refused when the session is not on polling or another upgrade is under way.
    pub fn begin_upgrade(&self) -> bool {
        let mut inner = lock(&self.inner);
        if inner.transport != Transport::Polling || inner.upgrading || inner.close_reason.is_some() {
            return false;
        }
        inner.upgrading = true;
        inner.probing = true;
        drop(inner);
        self.wake_writer();
        true
    }

    /// Gives up an upgrade that did not finish.
    pub fn abort_upgrade(&self) {
        let mut inner = lock(&self.inner);
        inner.upgrading = false;
        inner.probing = false;
    }

    /// Switches the session to WebSocket (the client sent `5`); later polling requests are refused.
    pub fn finish_upgrade(&self) {
        let mut inner = lock(&self.inner);
        inner.upgrading = false;
        inner.probing = false;
        inner.transport = Transport::WebSocket;
        drop(inner);
        self.wake_writer();
    }

    /// For the WebSocket writer: moves every queued frame into `into` (once the session is on WebSocket);
    /// returns whether the session has ended, in which case nothing more will be queued.
    pub fn take_outbound(&self, into: &mut VecDeque<OutFrame>) -> bool {
        let mut inner = lock(&self.inner);
        if inner.transport == Transport::WebSocket {
            into.extend(inner.queue.drain(..));
        }
        inner.close_reason.is_some()
    }

    /// Resolves when frames may have been queued or the session ended since the last look.
    #[cfg(test)]
    pub async fn outbound_ready(&self) {
        self.writer_wake.notified().await;
    }

    /// Waits for queued frames and takes them all; `None` once the session ended and what was queued before
    /// the end has been taken. (The WebSocket task polls [`Session::take_outbound`] instead.)
    #[cfg(test)]
    pub async fn next_batch(&self) -> Option<Vec<OutFrame>> {
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

    /// Timers fire on millisecond ticks: `elapsed` is `ms` rounded up to the next tick or two.
    fn within(elapsed: Duration, ms: u64) -> bool {
        elapsed >= Duration::from_millis(ms) && elapsed <= Duration::from_millis(ms + 2)
    }

    #[tokio::test(start_paused = true)]
    async fn pings_follow_the_interval_after_each_pong_and_a_missing_pong_closes() {
        let recorder = Arc::new(Recorder::default());
        let config = EngineConfig {
            ping_interval: Duration::from_millis(300),
            ping_timeout: Duration::from_millis(200),
            ..EngineConfig::default()
        };
        let engine = Engine::new(config, recorder.clone());
        let (session, _) = engine.open(Transport::WebSocket, engine.admit(None).unwrap());
        let opened = Instant::now();
        let ping = OutFrame::packet(&Packet::Ping(None));
        assert_eq!(session.next_batch().await, Some(vec![ping.clone()]));
        assert!(
            within(opened.elapsed(), 300),
            "first ping one interval after open"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        session.receive(Packet::Pong(None)).expect("a pong is accepted");
        let answered = Instant::now();
        assert_eq!(session.next_batch().await, Some(vec![ping]));
        assert!(
            within(answered.elapsed(), 300),
            "next ping one interval after the pong"
        );
        let pinged = Instant::now();
        assert_eq!(session.next_batch().await, None, "no pong: the session ends");
        assert!(within(pinged.elapsed(), 200), "closed one timeout after the ping");
        assert_eq!(session.close_reason(), Some(CloseReason::PingTimeout));
    }

    #[tokio::test(start_paused = true)]
    async fn a_poll_racing_the_clients_close_gets_noop_and_a_poll_past_the_pong_deadline_is_refused() {
        let config = EngineConfig {
            ping_interval: Duration::from_millis(300),
            ping_timeout: Duration::from_millis(200),
            ..EngineConfig::default()
        };
        let engine = Engine::new(config, Arc::new(Recorder::default()));
        let (session, _) = engine.open(Transport::Polling, engine.admit(None).unwrap());
        session
            .receive_payload("1")
            .expect("the close packet is accepted");
        let again = engine.session(&session.sid).expect("still known for a moment");
        assert_eq!(again.poll().await, Ok("6".to_owned()));
        assert_eq!(again.poll().await, Err(EngineError::BadRequest), "answered once");
        tokio::time::sleep(CLIENT_CLOSE_GRACE + Duration::from_millis(10)).await;
        assert!(engine.session(&session.sid).is_none(), "then forgotten");

        let (session, _) = engine.open(Transport::Polling, engine.admit(None).unwrap());
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(session.poll().await, Ok("2".to_owned()), "the ping");
        // Exactly at the deadline, whether or not the timer task has run yet.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(session.poll().await, Err(EngineError::BadRequest));
        assert_eq!(session.close_reason(), Some(CloseReason::PingTimeout));
    }

    #[tokio::test(start_paused = true)]
    async fn lazy_frames_leave_at_the_next_tick_or_with_the_next_frame() {
        let engine = Engine::new(EngineConfig::default(), Arc::new(Recorder::default()));
        let (session, _) = engine.open(Transport::WebSocket, engine.admit(None).unwrap());
        let lazy = OutFrame::packet(&message("presence"));
        let urgent = OutFrame::packet(&message("message"));
        tokio::time::sleep(LAZY_FLUSH / 2).await;
        session.send_frames_lazily([lazy.clone()]);
        let started = Instant::now();
        session.outbound_ready().await;
        assert!(
            started.elapsed() > Duration::ZERO,
            "the writer is not woken at once"
        );
        assert!(started.elapsed() <= LAZY_FLUSH, "but at the next flush tick");
        assert_eq!(session.next_batch().await, Some(vec![lazy.clone()]));
        session.send_frames_lazily([lazy.clone()]);
        session.send_frames([urgent.clone()]);
        let started = Instant::now();
        session.outbound_ready().await;
        assert_eq!(
            started.elapsed(),
            Duration::ZERO,
            "a frame sent at once wakes the writer"
        );
        assert_eq!(
            session.next_batch().await,
            Some(vec![lazy, urgent]),
            "and carries the waiting ones"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_session_ends_at_its_deadline() {
        let recorder = Arc::new(Recorder::default());
        let engine = Engine::new(EngineConfig::default(), recorder.clone());
        let (session, _) = engine.open(Transport::WebSocket, engine.admit(None).unwrap());
        session.expire_in(Duration::from_secs(3));
        tokio::time::sleep(Duration::from_millis(2_900)).await;
        assert!(!session.is_closed());
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(session.close_reason(), Some(CloseReason::ServerClose));
    }

    #[tokio::test]
    async fn a_client_that_does_not_keep_up_is_disconnected_and_others_are_not() {
        let recorder = Arc::new(Recorder::default());
        let config = EngineConfig {
            max_queued_packets: 8,
            ..EngineConfig::default()
        };
        let engine = Engine::new(config, recorder.clone());
        let (slow, _) = engine.open(Transport::WebSocket, engine.admit(None).unwrap());
        let (healthy, _) = engine.open(Transport::WebSocket, engine.admit(None).unwrap());
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
        let (session, _) = engine.open(Transport::Polling, engine.admit(None).unwrap());
        session.send(message("bye"));
        session.close(CloseReason::ServerClose);
        assert_eq!(
            session.poll().await,
            Err(EngineError::BadRequest),
            "a closed session accepts no new poll"
        );
        let (session, _) = engine.open(Transport::Polling, engine.admit(None).unwrap());
        let polling = {
            let session = session.clone();
            tokio::spawn(async move { session.poll().await })
        };
        tokio::task::yield_now().await;
        session.send(message("last words"));
        assert_eq!(polling.await.ok(), Some(Ok("4last words".to_owned())));
    }
}
