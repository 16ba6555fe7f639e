//! One connected socket: a namespace on an Engine.IO session with the application's typed state, and what the
//! application does with it (emit, ack, join rooms through the [`crate::Hub`], disconnect). Frames sent before the
//! CONNECT reply went out are held until it does.

use crate::engine::Session;
use crate::frame::OutFrame;
use crate::lock;
use bytes::Bytes;
use epop_realtime_protocol::socket::Packet;
use serde_json::Value;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// One connected socket: a namespace on an Engine.IO session, with the application's state `S`.
pub struct Socket<S> {
    id: String,
    namespace: String,
    session: Arc<Session>,
    next_ack: AtomicU64,
    state: S,
    /// The private session id for connection state recovery, when the application enabled it; sent in the
    /// CONNECT reply.
    recovery_id: Mutex<Option<String>>,
    /// What was sent to the socket before its CONNECT reply went out, held until it does; `None` from then on.
    /// So the application may join rooms and emit while it connects the socket: nothing it misses in the
    /// meantime, and nothing ahead of the CONNECT reply.
    held: Mutex<Option<Vec<OutFrame>>>,
    /// Set once the CONNECT reply went out: from then on frames go straight to the session, without `held`'s lock.
    accepted: AtomicBool,
}

impl<S> std::fmt::Debug for Socket<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.id)
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

/// A Socket.IO packet as the frames that carry it: the header, then one frame per binary attachment.
pub fn frames_of(packet: &Packet) -> Vec<OutFrame> {
    packet
        .to_engine_messages()
        .iter()
        .map(OutFrame::message)
        .collect()
}

impl<S> Socket<S> {
    pub(crate) fn new(namespace: &str, session: &Arc<Session>, state: S) -> Self {
        Self {
            id: crate::engine::random_id(),
            namespace: namespace.to_owned(),
            session: session.clone(),
            next_ack: AtomicU64::new(0),
            state,
            recovery_id: Mutex::new(None),
            held: Mutex::new(Some(Vec::new())),
            accepted: AtomicBool::new(false),
        }
    }

    /// The socket id (not the engine sid).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The namespace this socket connected to (one socket per namespace of a session).
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The application's state for this socket.
    pub fn state(&self) -> &S {
        &self.state
    }

    /// The Engine.IO session under the socket.
    pub fn session(&self) -> &Arc<Session> {
        &self.session
    }

    /// Sets the private session id of connection state recovery (the `pid` of the CONNECT reply). Set it in
    /// [`crate::Application::connecting`] for it to go out with the reply.
    pub fn set_recovery_id(&self, id: String) {
        *lock(&self.recovery_id) = Some(id);
    }

    /// The private session id of connection state recovery, if one was set.
    pub fn recovery_id(&self) -> Option<String> {
        lock(&self.recovery_id).clone()
    }

    /// Sends a whole Socket.IO packet (header and attachments, contiguous).
    pub fn send_packet(&self, packet: &Packet) {
        self.send_frames(frames_of(packet));
    }

    /// Sends frames encoded once for many sockets (see [`frames_of`]).
    pub fn send_encoded(&self, frames: &[OutFrame]) {
        self.send_frames(frames.iter().cloned());
    }

    /// Sends frames that may wait up to the engine's flush tick (see [`Session::send_frames_lazily`]).
    pub fn send_encoded_lazily(&self, frames: &[OutFrame]) {
        self.deliver(frames.iter().cloned(), true);
    }

    fn send_frames(&self, frames: impl IntoIterator<Item = OutFrame>) {
        self.deliver(frames, false);
    }

    /// Hands frames to the session, or holds them while the CONNECT reply has not gone out.
    fn deliver(&self, frames: impl IntoIterator<Item = OutFrame>, lazily: bool) {
        if !self.accepted.load(Ordering::Acquire) {
            let mut held = lock(&self.held);
            if let Some(waiting) = held.as_mut() {
                waiting.extend(frames);
                return;
            }
        }
        if lazily {
            self.session.send_frames_lazily(frames);
        } else {
            self.session.send_frames(frames);
        }
    }

    /// Sends the CONNECT reply, then what was held for the socket meanwhile.
    pub(crate) fn accept(&self, reply: &Packet) {
        let mut held = lock(&self.held);
        self.session.send_frames(frames_of(reply));
        if let Some(waiting) = held.take() {
            self.session.send_frames(waiting);
        }
        self.accepted.store(true, Ordering::Release);
    }

    /// Emits `event` with `args`.
    pub fn emit(&self, event: &str, args: Vec<Value>) {
        self.emit_with(event, args, Vec::new());
    }

    /// Emits `event` with `args` and binary attachments.
    pub fn emit_with(&self, event: &str, args: Vec<Value>, attachments: Vec<Bytes>) {
        let mut array = Vec::with_capacity(args.len() + 1);
        array.push(Value::String(event.to_owned()));
        array.extend(args);
        self.send_packet(&Packet::event(
            &self.namespace,
            Value::Array(array),
            None,
            attachments,
        ));
    }

    /// Answers the client's ack `id` with `args`.
    pub fn ack(&self, id: u64, args: Vec<Value>, attachments: Vec<Bytes>) {
        self.send_packet(&Packet::ack(&self.namespace, id, Value::Array(args), attachments));
    }

    /// A fresh ack id for server-to-client acks.
    pub fn next_ack_id(&self) -> u64 {
        self.next_ack.fetch_add(1, Ordering::Relaxed)
    }

    /// Disconnects this socket from its namespace (the client gets a DISCONNECT packet); the engine session
    /// stays open for other namespaces.
    pub fn disconnect(&self) {
        self.send_packet(&Packet::disconnect(&self.namespace));
    }
}
