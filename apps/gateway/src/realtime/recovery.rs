//! Connection state recovery (opt-in with `auth.recover`): a socket that drops is remembered for two minutes
//! under its private id (`pid`), in Redis so the client may come back on any node (in process without Redis).
//! On return, its rooms are rebuilt and the events it missed are replayed from the outbox, in order. The store
//! keeps, with the session, the position the socket had received everything up to when it connected: a
//! client's offset may only move that floor forward, never back (an `offset: "0"` reads no history).

use epop_core::UserId;
use epop_storage::redis::RedisPool;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a dropped socket's session is kept.
pub const RECOVERY_WINDOW: Duration = Duration::from_secs(120);

/// Where dropped sessions wait for their client.
pub struct RecoveryStore {
    redis: Option<RedisPool>,
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
    pub fn new(redis: Option<RedisPool>, prefix: &str) -> Self {
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
