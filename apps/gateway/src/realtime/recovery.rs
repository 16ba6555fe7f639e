//! Connection state recovery (opt-in with `auth.recover`): a socket that drops is remembered for two minutes
//! under its private id (`pid`), in Redis so the client may come back on any node (in process without Redis).
//! On return, its rooms are rebuilt and the events it missed are replayed from the outbox, in order. The store
//! keeps, with the session, the position the socket had received everything up to when it connected: a
//! client's offset may only move that floor forward, never back (an `offset: "0"` reads no history).

use super::fan_out::{Outcome, Scope};
use super::{EpopRealtime, EpopSocket};
use epop_core::model::Message;
use epop_core::{ConversationId, DomainEvent, MessageId, UserId};
use epop_storage::redis::SharedConnection;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The most events a recovery replays; a socket that missed more is told it was not recovered.
const REPLAY_LIMIT: i64 = 1_000;

/// How long a dropped socket's session is kept.
pub const RECOVERY_WINDOW: Duration = Duration::from_secs(120);

/// Where dropped sessions wait for their client.
pub struct RecoveryStore {
    redis: Option<SharedConnection>,
    prefix: String,
    local: Mutex<HashMap<String, (UserId, i64, Instant)>>,
}

impl std::fmt::Debug for RecoveryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecoveryStore")
            .field("shared", &self.redis.is_some())
            .finish_non_exhaustive()
    }
}

impl RecoveryStore {
    /// A store in `redis` (or in process), under `prefix`.
    pub fn new(redis: Option<SharedConnection>, prefix: &str) -> Self {
        Self {
            redis,
            prefix: prefix.to_owned(),
            local: Mutex::new(HashMap::new()),
        }
    }

    fn key(&self, pid: &str) -> String {
        format!("{}:recovery:{pid}", self.prefix)
    }

    /// Remembers that `pid` belonged to `user` and had missed nothing up to position `floor`, for the recovery
    /// window.
    pub async fn save(&self, pid: &str, user: UserId, floor: i64) {
        if let Some(redis) = &self.redis
            && let Ok(mut conn) = redis.get().await
        {
            let saved: redis::RedisResult<()> = redis::cmd("SET")
                .arg(self.key(pid))
                .arg(format!("{user} {floor}"))
                .arg("EX")
                .arg(RECOVERY_WINDOW.as_secs())
                .query_async(&mut conn)
                .await;
            if saved.is_ok() {
                return;
            }
        }
        let mut local = super::lock(&self.local);
        local.retain(|_, (_, _, at)| at.elapsed() < RECOVERY_WINDOW);
        local.insert(pid.to_owned(), (user, floor, Instant::now()));
    }

    /// Takes the session `pid` if it is still within the window and belongs to `user`: its floor position.
    pub async fn take(&self, pid: &str, user: UserId) -> Option<i64> {
        if let Some(redis) = &self.redis
            && let Ok(mut conn) = redis.get().await
        {
            let owner: redis::RedisResult<Option<String>> = redis::cmd("GETDEL")
                .arg(self.key(pid))
                .query_async(&mut conn)
                .await;
            if let Ok(Some(saved)) = owner {
                let (owner, floor) = saved.split_once(' ')?;
                return (owner == user.to_string()).then(|| floor.parse().ok())?;
            }
        }
        let mut local = super::lock(&self.local);
        match local.remove(pid) {
            Some((owner, floor, at)) if owner == user && at.elapsed() < RECOVERY_WINDOW => Some(floor),
            _ => None,
        }
    }
}

impl EpopRealtime {
    /// Replays to a recovered socket what it missed after position `after` in its rooms (filtered in SQL), in
    /// order, each with its position as the last argument; messages as they are now (a deleted one's content
    /// is never sent, an edited one's old text neither). Returns `false`, sending nothing, when the replay
    /// cannot be complete (more than [`REPLAY_LIMIT`] events, or the outbox cannot be read).
    pub(super) async fn replay(
        &self,
        socket: &Arc<EpopSocket>,
        user: UserId,
        conversations: &[ConversationId],
        after: i64,
    ) -> bool {
        let events = match self.state.db.get().await {
            Ok(mut conn) => {
                epop_storage::outbox::published_for(&mut conn, after, conversations, user, REPLAY_LIMIT + 1)
                    .await
            }
            Err(error) => Err(error.into()),
        };
        let events = match events {
            Ok(events) if events.len() as i64 <= REPLAY_LIMIT => events,
            Ok(_) => return false,
            Err(error) => {
                tracing::warn!(%error, "could not replay missed events");
                return false;
            }
        };
        let message_ids: Vec<MessageId> = events
            .iter()
            .filter_map(|published| match &published.event {
                DomainEvent::MessageCreated { message, .. } | DomainEvent::MessageUpdated { message, .. } => {
                    Some(message.id)
                }
                _ => None,
            })
            .collect();
        let current: HashMap<MessageId, Message> =
            match self.state.chat.current_messages(user, &message_ids).await {
                Ok(messages) => messages.into_iter().map(|m| (m.id, m)).collect(),
                Err(error) => {
                    tracing::warn!(%error, "could not load the replayed messages");
                    return false;
                }
            };
        let scope = Scope::Replay {
            user,
            current: &current,
        };
        for published in events {
            let offset = Value::String(published.position.to_string());
            for outcome in self.client_events(&published.event, &scope).await {
                match outcome {
                    Outcome::Emit { name, payload, .. } => socket.emit(name, vec![payload, offset.clone()]),
                    Outcome::Disconnect(_) => {
                        socket.disconnect();
                        socket.session().close(epop_socketio::CloseReason::ServerClose);
                        return true;
                    }
                    Outcome::EndSession(_, session) if socket.state().session == Some(session) => {
                        socket.disconnect();
                        socket.session().close(epop_socketio::CloseReason::ServerClose);
                        return true;
                    }
                    Outcome::EndSession(..) => {}
                }
            }
        }
        true
    }
}
