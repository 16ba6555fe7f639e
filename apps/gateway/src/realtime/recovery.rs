//! Connection state recovery (opt-in with `auth.recover`): a socket that drops is remembered for two minutes
//! under its private id (`pid`), in Redis so the client may come back on any node (in process without Redis).
//! On return, its rooms are rebuilt and the events it missed are replayed from the outbox, in order.

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
    local: Mutex<HashMap<String, (UserId, Instant)>>,
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

    /// Remembers that `pid` belonged to `user`, for the recovery window.
    pub async fn save(&self, pid: &str, user: UserId) {
        if let Some(redis) = &self.redis
            && let Ok(mut conn) = redis.get().await
        {
            let saved: redis::RedisResult<()> = redis::cmd("SET")
                .arg(self.key(pid))
                .arg(user.to_string())
                .arg("EX")
                .arg(RECOVERY_WINDOW.as_secs())
                .query_async(&mut conn)
                .await;
            if saved.is_ok() {
                return;
            }
        }
        let mut local = super::lock(&self.local);
        local.retain(|_, (_, at)| at.elapsed() < RECOVERY_WINDOW);
        local.insert(pid.to_owned(), (user, Instant::now()));
    }

    /// Takes the session `pid` if it is still within the window and belongs to `user`.
    pub async fn take(&self, pid: &str, user: UserId) -> bool {
        if let Some(redis) = &self.redis
            && let Ok(mut conn) = redis.get().await
        {
            let owner: redis::RedisResult<Option<String>> = redis::cmd("GETDEL")
                .arg(self.key(pid))
                .query_async(&mut conn)
                .await;
            if let Ok(Some(owner)) = owner {
                return owner == user.to_string();
            }
        }
        let mut local = super::lock(&self.local);
        matches!(local.remove(pid), Some((owner, at)) if owner == user && at.elapsed() < RECOVERY_WINDOW)
    }
}
