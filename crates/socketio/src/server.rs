//! Socket.IO v5 over the Engine.IO sessions: namespaces, the connect handshake (with the `auth` payload),
//! events and acks with binary attachments, and the connect timeout.
//!
//! An [`Application`] decides who connects ([`Application::authorize`] turns the handshake into the socket's
//! typed state) and handles events; [`SocketIo`] runs it. Each Engine.IO session gets one task that handles its
//! Socket.IO packets in order, so a client's events are processed in the order sent, and a slow handler for
//! one client never blocks another. Every connected socket is registered in the server's [`Hub`] (rooms and
//! broadcasts) from its authorization to its disconnect.

use crate::engine::{CloseReason, Engine, EngineConfig, EngineHandler, Session};
use crate::hub::Hub;
use crate::lock;
use crate::socket::{Socket, frames_of};
use async_trait::async_trait;
use bytes::Bytes;
use epop_realtime_protocol::engine::Payload;
use epop_realtime_protocol::socket::{self, Packet, PacketKind, Reassembler};
use serde_json::Value;
use std::collections::HashMap;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// An event from a client.
#[derive(Debug, Clone)]
pub struct IncomingEvent {
    /// The event name (a number name is given in its decimal form).
    pub name: String,
    /// The arguments after the name (binary parts as placeholders).
    pub args: Vec<Value>,
    /// The client's ack id, when it expects an answer.
    pub ack: Option<u64>,
    /// The binary attachments the placeholders point to.
    pub attachments: Vec<Bytes>,
}

/// Why a connect was refused: the CONNECT_ERROR packet the client gets.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// The `message` of the CONNECT_ERROR packet.
    pub message: String,
    /// Its `data`, if any (what the client may do about it).
    pub data: Option<Value>,
}

impl Refusal {
    /// A refusal with `message` and no data.
    pub fn new(message: &str) -> Self {
        Self {
            message: message.to_owned(),
            data: None,
        }
    }

    /// A refusal with `message` and `data`.
    pub fn with_data(message: &str, data: Value) -> Self {
        Self {
            message: message.to_owned(),
            data: Some(data),
        }
    }
}

/// A client's CONNECT for a namespace, as [`Application::authorize`] sees it.
#[derive(Debug)]
pub struct Handshake<'a> {
    /// The namespace it connects to (one [`Application::has_namespace`] accepted).
    pub namespace: &'a str,
    /// The CONNECT payload (the client's `auth` option), if any.
    pub auth: Option<Value>,
    /// The Engine.IO session it arrived on (for example to end it when the credentials expire).
    pub session: &'a Arc<Session>,
}

/// What an application does with sockets. One implementation serves every namespace it says exists.
///
/// The order for one socket: [`authorize`](Self::authorize) (no socket yet; a refusal answers CONNECT_ERROR),
/// [`connecting`](Self::connecting) (the socket exists and is in the hub; what it is sent is held until the
/// CONNECT reply is out), [`connected`](Self::connected) (after the reply), then [`event`](Self::event) for each
/// event in the order sent, and [`disconnected`](Self::disconnected) once (client DISCONNECT, session end).
#[async_trait]
pub trait Application: Send + Sync + 'static {
    /// What the application keeps per socket (the signed-in user, say): made by [`Self::authorize`], read with
    /// [`Socket::state`].
    type State: Send + Sync + 'static;

    /// Whether a namespace exists (others are refused with "Invalid namespace").
    fn has_namespace(&self, namespace: &str) -> bool;

    /// Decides whether a socket may connect, from its handshake; its state when it may.
    async fn authorize(&self, handshake: Handshake<'_>) -> Result<Self::State, Refusal>;

    /// Called with the new socket before the CONNECT reply goes out: it may join rooms and emit, and whatever
    /// reaches the socket meanwhile follows the reply, so nothing is missed and nothing comes ahead of it. A
    /// recovery id set here ([`Socket::set_recovery_id`]) goes out with the reply.
    async fn connecting(&self, _socket: &Arc<Socket<Self::State>>) {}

    /// Called right after the CONNECT reply went out.
    async fn connected(&self, _socket: &Arc<Socket<Self::State>>) {}

    /// Handles an event.
    async fn event(&self, socket: &Arc<Socket<Self::State>>, event: IncomingEvent);

    /// Called once when the socket leaves (client DISCONNECT, session end, server disconnect); it has already
    /// left every room.
    async fn disconnected(&self, _socket: &Arc<Socket<Self::State>>) {}
}

/// Limits of one Engine.IO session's Socket.IO side: what a client may make the server hold or do.
#[derive(Debug, Clone, Copy)]
pub struct SocketIoLimits {
    /// Sessions that connect no namespace within this long are closed.
    pub connect_timeout: Duration,
    /// Most packets waiting to be handled (the handler may be waiting on a database, a replay, a slow ack).
    pub inbox_packets: usize,
    /// Most bytes of packets waiting to be handled (text as received plus binary attachments).
    pub inbox_bytes: usize,
    /// Most CONNECT packets one session may send over its life (every namespace, and reconnects after a
    /// DISCONNECT): each costs the application's connect work.
    pub connects_per_session: usize,
}

impl Default for SocketIoLimits {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(45),
            inbox_packets: 128,
            inbox_bytes: 2 * 1024 * 1024,
            connects_per_session: 8,
        }
    }
}

enum Inbound {
    Packet(Packet, usize),
    Closed,
}

/// The packets waiting for a connection's task, in arrival order, within [`SocketIoLimits`]. (A tokio channel
/// would allocate a block of 32 slots per connection up front; most connections hold nothing here most of the
/// time.)
#[derive(Default)]
struct Inbox {
    queue: Mutex<InboxQueue>,
    ready: Notify,
}

#[derive(Default)]
struct InboxQueue {
    items: VecDeque<Inbound>,
    /// Bytes of the packets in `items`.
    bytes: usize,
}

/// The inbox is full: the client sends faster than its packets are handled.
struct InboxFull;

impl Inbox {
    /// Queues a packet of `size` bytes, unless that would pass a limit.
    fn push_packet(&self, packet: Packet, size: usize, limits: &SocketIoLimits) -> Result<(), InboxFull> {
        {
            let mut queue = lock(&self.queue);
            if queue.items.len() >= limits.inbox_packets || queue.bytes + size > limits.inbox_bytes {
                return Err(InboxFull);
            }
            queue.bytes += size;
            queue.items.push_back(Inbound::Packet(packet, size));
        }
        self.ready.notify_one();
        Ok(())
    }

    fn push_closed(&self) {
        lock(&self.queue).items.push_back(Inbound::Closed);
        self.ready.notify_one();
    }

    async fn recv(&self) -> Inbound {
        loop {
            {
                let mut queue = lock(&self.queue);
                if let Some(item) = queue.items.pop_front() {
                    if let Inbound::Packet(_, size) = &item {
                        queue.bytes -= size;
                    }
                    return item;
                }
            }
            self.ready.notified().await;
        }
    }
}

struct Connection<S> {
    inbound: Inbox,
    /// Packets being reassembled, and the bytes received for the one in progress.
    reassembler: Mutex<(Reassembler, usize)>,
    sockets: Mutex<HashMap<String, Arc<Socket<S>>>>,
    /// CONNECT packets handled so far.
    connects: AtomicUsize,
}

/// The Socket.IO side of the engine: an [`EngineHandler`] that speaks Socket.IO to an [`Application`].
struct Layer<A: Application> {
    app: Arc<A>,
    hub: Hub<A::State>,
    limits: SocketIoLimits,
    connections: Mutex<HashMap<String, Arc<Connection<A::State>>>>,
}

impl<A: Application> Layer<A> {
    fn sockets(&self) -> Vec<Arc<Socket<A::State>>> {
        lock(&self.connections)
            .values()
            .flat_map(|c| lock(&c.sockets).values().cloned().collect::<Vec<_>>())
            .collect()
    }
}

impl<A: Application> EngineHandler for Layer<A> {
    fn on_open(&self, session: &Arc<Session>) {
        let connection = Arc::new(Connection {
            inbound: Inbox::default(),
            reassembler: Mutex::new((Reassembler::new(), 0)),
            sockets: Mutex::new(HashMap::new()),
            connects: AtomicUsize::new(0),
        });
        lock(&self.connections).insert(session.sid.clone(), connection.clone());
        tokio::spawn(run_connection(
            self.app.clone(),
            self.hub.clone(),
            session.clone(),
            connection,
            self.limits,
        ));
    }

    fn on_message(&self, session: &Arc<Session>, payload: Payload) {
        let Some(connection) = lock(&self.connections).get(&session.sid).cloned() else {
            return;
        };
        let complete = {
            let mut reassembling = lock(&connection.reassembler);
            let (reassembler, received) = &mut *reassembling;
            let result = match payload {
                Payload::Text(text) => {
                    *received = text.len();
                    socket::decode(&text).and_then(|header| reassembler.start(header))
                }
                Payload::Binary(bytes) => {
                    *received += bytes.len();
                    reassembler.push_attachment(bytes)
                }
            };
            result.map(|complete| complete.map(|packet| (packet, *received)))
        };
        match complete {
            Ok(Some((packet, size))) => {
                if connection
                    .inbound
                    .push_packet(packet, size, &self.limits)
                    .is_err()
                {
                    // A client that sends faster than its packets can be handled is flooding: it is
                    // disconnected rather than held in memory.
                    session.close(CloseReason::ProtocolError);
                }
            }
            Ok(None) => {}
            Err(_) => session.close(CloseReason::ProtocolError),
        }
    }

    fn on_close(&self, session: &Arc<Session>, _reason: CloseReason) {
        if let Some(connection) = lock(&self.connections).remove(&session.sid) {
            connection.inbound.push_closed();
        }
    }

    /// The credentials ran out: every socket of the session is told (DISCONNECT), then the session ends.
    fn on_expired(&self, session: &Arc<Session>) {
        let connection = lock(&self.connections).get(&session.sid).cloned();
        if let Some(connection) = connection {
            let sockets: Vec<Arc<Socket<A::State>>> = lock(&connection.sockets).values().cloned().collect();
            for socket in sockets {
                socket.disconnect();
            }
        }
        session.close(CloseReason::ServerClose);
    }
}

/// Handles a session's Socket.IO packets in order until it ends. Packets are handled by a boxed future, so
/// that an idle connection's task holds only its inbox wait (and the connect deadline, until a namespace
/// connected).
async fn run_connection<A: Application>(
    app: Arc<A>,
    hub: Hub<A::State>,
    session: Arc<Session>,
    connection: Arc<Connection<A::State>>,
    limits: SocketIoLimits,
) {
    let mut deadline = Some(Box::pin(tokio::time::sleep(limits.connect_timeout)));
    loop {
        let next = tokio::select! {
            () = async {
                match deadline.as_mut() {
                    Some(deadline) => deadline.await,
                    None => std::future::pending().await,
                }
            } => {
                session.close(CloseReason::ServerClose);
                None
            }
            next = connection.inbound.recv() => Some(next),
        };
        let packet = match next {
            Some(Inbound::Packet(packet, _)) => packet,
            Some(Inbound::Closed) | None => break,
        };
        if packet.kind == PacketKind::Connect
            && connection.connects.fetch_add(1, Ordering::Relaxed) >= limits.connects_per_session
        {
            // Each connect costs the application real work: a session that keeps connecting is abusive.
            session.close(CloseReason::ProtocolError);
            break;
        }
        if Box::pin(handle_packet(&*app, &hub, &session, &connection, packet)).await {
            deadline = None;
        }
    }
    let sockets: Vec<Arc<Socket<A::State>>> = lock(&connection.sockets).drain().map(|(_, s)| s).collect();
    for socket in sockets {
        leave(&*app, &hub, &socket).await;
    }
}

/// A socket leaves: out of every room, then the application is told.
async fn leave<A: Application>(app: &A, hub: &Hub<A::State>, socket: &Arc<Socket<A::State>>) {
    hub.remove(socket.id());
    app.disconnected(socket).await;
}

/// Handles one packet from the client; `true` when it connected a namespace.
async fn handle_packet<A: Application>(
    app: &A,
    hub: &Hub<A::State>,
    session: &Arc<Session>,
    connection: &Connection<A::State>,
    mut packet: Packet,
) -> bool {
    let namespace = packet.namespace.clone();
    let existing = lock(&connection.sockets).get(&namespace).cloned();
    match (packet.kind, existing) {
        (PacketKind::Connect, None) => {
            if !app.has_namespace(&namespace) {
                session.send_frames(frames_of(&Packet::connect_error(&namespace, "Invalid namespace")));
                return false;
            }
            let handshake = Handshake {
                namespace: &namespace,
                auth: packet.data.take(),
                session,
            };
            match app.authorize(handshake).await {
                Ok(state) => {
                    let socket = Arc::new(Socket::new(&namespace, session, state));
                    hub.add(&socket);
                    app.connecting(&socket).await;
                    let pid = socket.recovery_id();
                    socket.accept(&Packet::connect_ok(&namespace, socket.id(), pid.as_deref()));
                    lock(&connection.sockets).insert(namespace, socket.clone());
                    app.connected(&socket).await;
                    true
                }
                Err(refusal) => {
                    let packet = match refusal.data {
                        Some(data) => Packet::connect_error_with_data(&namespace, &refusal.message, data),
                        None => Packet::connect_error(&namespace, &refusal.message),
                    };
                    session.send_frames(frames_of(&packet));
                    false
                }
            }
        }
        // A second CONNECT for a connected namespace changes nothing.
        (PacketKind::Connect, Some(_)) => false,
        (PacketKind::Disconnect, Some(socket)) => {
            lock(&connection.sockets).remove(&namespace);
            leave(app, hub, &socket).await;
            false
        }
        (PacketKind::Event | PacketKind::BinaryEvent, Some(socket)) => {
            let Some(Value::Array(mut values)) = packet.data else {
                return false;
            };
            if values.is_empty() {
                return false;
            }
            let name = match values.remove(0) {
                Value::String(name) => name,
                other => other.to_string(),
            };
            app.event(
                &socket,
                IncomingEvent {
                    name,
                    args: values,
                    ack: packet.ack_id,
                    attachments: packet.attachments,
                },
            )
            .await;
            false
        }
        // Acks of server-initiated requests: none are sent today.
        (PacketKind::Ack | PacketKind::BinaryAck, Some(_)) => false,
        // Packets for a namespace the client is not connected to, or server-only types.
        (
            PacketKind::Disconnect
            | PacketKind::Event
            | PacketKind::BinaryEvent
            | PacketKind::Ack
            | PacketKind::BinaryAck,
            None,
        )
        | (PacketKind::ConnectError, _) => false,
    }
}

/// Settings of a [`SocketIo`] server: the Engine.IO settings, the Socket.IO limits and the proxies whose
/// `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct Builder {
    engine: EngineConfig,
    limits: SocketIoLimits,
    trusted_proxies: Vec<ipnet::IpNet>,
}

impl Builder {
    /// Node's defaults: ping every 25 s, 20 s to answer, 1 MB payloads, 45 s to connect a namespace.
    pub fn new() -> Self {
        Self::default()
    }

    /// The Engine.IO settings (heartbeats, sizes, queue bound, limits per client network).
    pub fn engine(mut self, config: EngineConfig) -> Self {
        self.engine = config;
        self
    }

    /// The Socket.IO limits (connect timeout, inbox bounds, connects per session).
    pub fn limits(mut self, limits: SocketIoLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Proxies whose `X-Forwarded-For` names the client whose network the limits per client count.
    pub fn trusted_proxies(mut self, proxies: Vec<ipnet::IpNet>) -> Self {
        self.trusted_proxies = proxies;
        self
    }

    /// Starts the server for `app`, registering its sockets in `hub` (keep a clone of the hub to emit to rooms).
    /// Spawns the engine's timer task, so it must be called within a Tokio runtime.
    pub fn build<A: Application>(self, app: A, hub: Hub<A::State>) -> SocketIo<A> {
        let layer = Arc::new(Layer {
            app: Arc::new(app),
            hub: hub.clone(),
            limits: self.limits,
            connections: Mutex::new(HashMap::new()),
        });
        let engine = Engine::behind_proxies(self.engine, layer.clone(), self.trusted_proxies);
        SocketIo { layer, engine, hub }
    }
}

/// A running Socket.IO server: mount it with [`SocketIo::polling_service`] in the actix-web application and
/// [`crate::HttpServer::socket_io`] for its WebSocket upgrades; emit to rooms through [`SocketIo::hub`].
pub struct SocketIo<A: Application> {
    layer: Arc<Layer<A>>,
    engine: Engine,
    hub: Hub<A::State>,
}

impl<A: Application> Clone for SocketIo<A> {
    fn clone(&self) -> Self {
        Self {
            layer: self.layer.clone(),
            engine: self.engine.clone(),
            hub: self.hub.clone(),
        }
    }
}

impl<A: Application> std::fmt::Debug for SocketIo<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketIo")
            .field("engine", &self.engine)
            .field("limits", &self.layer.limits)
            .finish_non_exhaustive()
    }
}

impl<A: Application> SocketIo<A> {
    /// The Engine.IO server under it.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The hub its sockets are registered in.
    pub fn hub(&self) -> &Hub<A::State> {
        &self.hub
    }

    /// The application this server runs (to reach its state from outside a socket's events).
    pub fn app(&self) -> &Arc<A> {
        &self.layer.app
    }

    /// Every socket connected on this node.
    pub fn sockets(&self) -> Vec<Arc<Socket<A::State>>> {
        self.layer.sockets()
    }

    /// The long-polling endpoint at `path` (also answering `path/`), for the actix-web application.
    pub fn polling_service(&self, path: &str) -> actix_web::Resource {
        crate::polling::service(path, self.engine.clone())
    }

    /// Graceful shutdown: every socket is sent a Socket.IO DISCONNECT, then every session ends (after what was
    /// queued for it).
    pub fn disconnect_all(&self) {
        for socket in self.sockets() {
            socket.disconnect();
        }
        self.engine.close_all();
    }
}
