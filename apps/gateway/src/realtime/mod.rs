//! EPOP's real-time application (`docs/api.md`, Real time) on the `epop-socketio` server: who may connect and what a
//! socket joins ([`connect`]), what clients may ask ([`client_events`]), how committed domain events reach
//! sockets, live and replayed ([`fan_out`], [`recovery`]), and the live signals that are never stored
//! ([`typing`], [`presence`]).
//!
//! Rooms: a user (`u:{id}`, all their sockets), a conversation (`c:{id}`, every member's sockets), and a user's
//! presence subscribers (`p:{id}`).

pub mod client_events;
pub mod connect;
pub mod fan_out;
pub mod presence;
pub mod recovery;
pub mod typing;

use crate::state::AppState;
use chrono::{DateTime, Utc};
use epop_core::{ConversationId, UserId};
use epop_socketio::{Hub, Socket};
use presence::Presence;
use presence::throttle::PresenceThrottle;
use recovery::RecoveryStore;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicI64;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Locks a mutex of the real-time layer. A panic while it was held leaves plain data behind (maps, counters),
/// so the lock is taken anyway rather than failing every later request.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The room of every socket of `user`.
pub fn user_room(user: UserId) -> String {
    format!("u:{user}")
}

/// The room of every member's sockets of a conversation.
pub fn conversation_room(conversation: ConversationId) -> String {
    format!("c:{conversation}")
}

/// The sockets that asked for `user`'s presence (`presence:subscribe`).
pub fn presence_room(user: UserId) -> String {
    format!("p:{user}")
}

/// What travels live between nodes but is never stored, so is not a domain event: typing and presence
/// (published on the event bus as live signals, best effort).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveSignal {
    /// Someone started or stopped typing.
    Typing {
        /// Where.
        conversation_id: ConversationId,
        /// Who.
        user_id: UserId,
        /// Typing or not.
        is_typing: bool,
    },
    /// A user came online or went offline.
    Presence {
        /// Whose presence.
        user_id: UserId,
        /// Online on at least one node.
        online: bool,
        /// When they were last seen (`None` while online).
        last_seen_at: Option<DateTime<Utc>>,
        /// The conversations whose members are told (each socket once, never the user themself): the user's
        /// direct conversations and groups up to the presence group limit. Sockets that subscribed to the user
        /// are told too.
        conversations: Vec<ConversationId>,
    },
}

/// What the server knows of a connected socket (its state in the Socket.IO server).
#[derive(Debug)]
pub struct SocketState {
    /// The signed-in user.
    pub user: UserId,
    /// When the access token the socket signed in with was issued (microseconds since the epoch): ending the
    /// user's sessions closes the sockets opened with tokens up to the cutoff, not those signed in after.
    token_issued_at: i64,
    /// The session (refresh token family) of that token: ending that one session closes the socket. For a
    /// personal access token, its id: revoking it closes the socket.
    session: Option<epop_core::TokenFamilyId>,
    /// The personal access token the socket connected with, if any: its client events need its scopes
    /// ([`crate::scopes::socket_event_scope`]).
    grant: Option<epop_auth::TokenGrant>,
    /// The socket asked for connection state recovery: events carry offsets, and a drop is remembered.
    pub recover: bool,
    /// The user's conversations, loaded before the CONNECT reply so the rooms are joined right after it.
    conversations: Vec<ConversationId>,
    /// When the session to resume was found: its private id, and the position from which to replay.
    resumed: Option<(String, i64)>,
    /// Events counted in the current window, and when the window started.
    limit: Mutex<(Instant, u32)>,
    /// The socket has missed nothing up to this position (where its recovery would resume at the earliest).
    floor: i64,
    /// The users whose presence this socket asked for (`presence:subscribe`), at most
    /// `EPOP_PRESENCE_SUBSCRIPTIONS_MAX`; they end with the socket (the rooms are left when it is removed).
    subscriptions: Mutex<HashSet<UserId>>,
}

/// A socket of EPOP's server.
pub type EpopSocket = Socket<SocketState>;

/// This node's rooms of EPOP sockets.
pub type EpopHub = Hub<SocketState>;

/// The EPOP Socket.IO application.
pub struct EpopRealtime {
    state: AppState,
    hub: EpopHub,
    presence: Arc<Presence>,
    recovery: RecoveryStore,
    /// Live typing indicators: (conversation, user) -> generation, so a renewal outlives the old timer.
    typing: Mutex<HashMap<(ConversationId, UserId), u64>>,
    /// The position of the last event the fan-out delivered (0 before the first): a socket that connects now
    /// has missed nothing after it, which is the floor of its recovery offset.
    delivered: AtomicI64,
    /// Presence announcements, at most one per user per `EPOP_PRESENCE_INTERVAL_MS`.
    presence_throttle: Mutex<PresenceThrottle>,
    /// Coalesced events whose window is open: the latest held back, if any (see
    /// [`fan_out::CoalesceKey`]). Holds only keys emitted within their last interval.
    windows: Mutex<HashMap<fan_out::CoalesceKey, Option<fan_out::Emission>>>,
}

impl std::fmt::Debug for EpopRealtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EpopRealtime").finish_non_exhaustive()
    }
}

impl EpopRealtime {
    /// The application over `state`, with this node's `hub`.
    pub fn new(state: AppState, hub: EpopHub) -> Arc<Self> {
        let presence = state.presence.clone();
        let recovery = RecoveryStore::new(state.redis.clone(), &state.config.redis_prefix);
        let interval = state.config.realtime.presence_interval;
        Arc::new(Self {
            state,
            hub,
            presence,
            recovery,
            typing: Mutex::new(HashMap::new()),
            delivered: AtomicI64::new(0),
            presence_throttle: Mutex::new(PresenceThrottle::new(interval)),
            windows: Mutex::new(HashMap::new()),
        })
    }
}

impl EpopRealtime {
    /// Publishes a live signal to every node (this one included).
    async fn publish_signal(&self, signal: &LiveSignal) {
        match serde_json::to_value(signal) {
            Ok(signal) => self.state.events.publish_signal(signal).await,
            Err(error) => tracing::error!(%error, "a live signal could not be encoded"),
        }
    }
}

/// The application as the Socket.IO server sees it (a newtype so the `Arc` receiver methods stay usable).
#[derive(Debug)]
pub struct EpopApplication(pub Arc<EpopRealtime>);
