//! Session cutoffs: the instant up to which a user's access tokens are refused (`users.sessions_valid_after`),
//! set by a logout everywhere or a new password or e-mail, so that such a change ends every session at once,
//! on every node, instead of when the tokens expire.
//!
//! Where it is read on every authenticated request and socket handshake:
//! - **Redis** (when configured) is asked on every request: one `GET`, on one multiplexed connection shared by
//!   the process (a pooled connection would add a health-check round trip). A change is written there before its
//!   request is answered, so any request that starts after that answer, on any node, sees it. (An in-process
//!   cache invalidated by a pub/sub message would save the round trip but leave a window in which another node
//!   has not processed the message yet while it already serves a request with a revoked token.) A key that is
//!   missing (expired, evicted, Redis restarted) is filled from PostgreSQL with `SET NX`, which can never
//!   overwrite a newer value: a writer raises the value with a script that only ever moves it forward.
//! - **In process**, a bounded map with a short lifetime serves while Redis is unreachable (and without Redis,
//!   a single node, where this node's own changes update it at once). Misses read PostgreSQL.
//! - **PostgreSQL** is the source of truth.

use crate::error::{AuthError, AuthResult};
use crate::repo::users;
use chrono::{DateTime, Utc};
use epop_core::UserId;
use epop_storage::DbPool;
use epop_storage::redis::SharedConnection;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long this process trusts what it last read while Redis is unreachable (or absent).
const LOCAL_TTL: Duration = Duration::from_secs(1);
/// The most users this process remembers; beyond it, stale entries go, then all.
const LOCAL_CAPACITY: usize = 100_000;
/// How long Redis keeps a user's cutoff after it was last written.
const SHARED_TTL_SECS: u64 = 600;
/// The Redis value of "never revoked".
const NEVER: i64 = 0;

/// Raises the stored cutoff to `ARGV[1]` unless it is already at least that (never moves it back).
const RAISE_SCRIPT: &str = r"
local current = tonumber(redis.call('GET', KEYS[1]) or '-1')
if current < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
return 0
";

/// What this process last read of each user's cutoff, and when.
type LocalCopies = HashMap<UserId, (Option<i64>, Instant)>;

/// The cutoffs of users' sessions, read through Redis and a local cache (see the module notes).
#[derive(Clone)]
pub struct SessionCutoffs {
    pool: DbPool,
    redis: Option<SharedConnection>,
    prefix: Arc<str>,
    raise: Arc<redis::Script>,
    local: Arc<Mutex<LocalCopies>>,
}

impl std::fmt::Debug for SessionCutoffs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionCutoffs")
            .field("shared", &self.redis.is_some())
            .finish_non_exhaustive()
    }
}

impl SessionCutoffs {
    /// Cutoffs read from PostgreSQL and kept in process only (a single node).
    pub fn new(pool: DbPool) -> Self {
        Self {
            pool,
            redis: None,
            prefix: Arc::from("epop"),
            raise: Arc::new(redis::Script::new(RAISE_SCRIPT)),
            local: Arc::default(),
        }
    }

    /// Shares cutoffs between nodes through `redis`, under keys starting with `prefix`.
    pub fn with_redis(mut self, redis: Option<SharedConnection>, prefix: &str) -> Self {
        self.redis = redis;
        self.prefix = Arc::from(prefix);
        self
    }

    fn key(&self, user: UserId) -> String {
        format!("{}:auth:valid-after:{user}", self.prefix)
    }

    /// The instant (microseconds since the epoch) up to which `user`'s tokens are refused; `None` when never.
    pub async fn cutoff(&self, user: UserId) -> AuthResult<Option<i64>> {
        if let Some(redis) = &self.redis {
            match self.shared(redis, user).await {
                Ok(Some(value)) => {
                    self.remember(user, value);
                    return Ok(value);
                }
                Ok(None) => {
                    let value = self.load(user).await?;
                    if let Err(error) = self.fill(redis, user, value).await {
                        tracing::debug!(%error, "could not cache a session cutoff in Redis");
                    }
                    self.remember(user, value);
                    return Ok(value);
                }
                Err(error) => {
                    tracing::debug!(%error, "session cutoffs: Redis unreachable, reading in process");
                }
            }
        }
        if let Some(value) = self.recent(user) {
            return Ok(value);
        }
        let value = self.load(user).await?;
        self.remember(user, value);
        Ok(value)
    }

    /// Records a new cutoff, committed in PostgreSQL: in this process at once, and in Redis before the change
    /// is answered (so every node refuses older tokens from then on).
    pub async fn raised(&self, user: UserId, cutoff: DateTime<Utc>) {
        let micros = cutoff.timestamp_micros();
        self.remember(user, Some(micros));
        if let Some(redis) = &self.redis {
            let raised: epop_storage::StorageResult<()> = async {
                let mut conn = redis.get().await?;
                let _: i64 = self
                    .raise
                    .key(self.key(user))
                    .arg(micros)
                    .arg(SHARED_TTL_SECS)
                    .invoke_async(&mut conn)
                    .await?;
                Ok(())
            }
            .await;
            if let Err(error) = raised {
                redis.failed().await;
                // Other nodes read PostgreSQL while Redis is unreachable; a key that survived keeps the old
                // value at most until it expires.
                tracing::warn!(%error, "could not share a session cutoff through Redis");
            }
        }
    }

    /// Forgets what this process remembers of `user` (another node changed it).
    pub fn forget(&self, user: UserId) {
        if let Ok(mut local) = self.local.lock() {
            local.remove(&user);
        }
    }

    async fn shared(
        &self,
        redis: &SharedConnection,
        user: UserId,
    ) -> epop_storage::StorageResult<Option<Option<i64>>> {
        let mut conn = redis.get().await?;
        let value: Result<Option<i64>, redis::RedisError> =
            redis::cmd("GET").arg(self.key(user)).query_async(&mut conn).await;
        match value {
            Ok(value) => Ok(value.map(|micros| (micros != NEVER).then_some(micros))),
            Err(error) => {
                redis.failed().await;
                Err(error.into())
            }
        }
    }

    async fn fill(
        &self,
        redis: &SharedConnection,
        user: UserId,
        value: Option<i64>,
    ) -> epop_storage::StorageResult<()> {
        let mut conn = redis.get().await?;
        let _: Option<String> = redis::cmd("SET")
            .arg(self.key(user))
            .arg(value.unwrap_or(NEVER))
            .arg("NX")
            .arg("EX")
            .arg(SHARED_TTL_SECS)
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    async fn load(&self, user: UserId) -> AuthResult<Option<i64>> {
        let mut conn = self.pool.get().await?;
        match users::sessions_valid_after(&mut conn, user).await {
            Ok(cutoff) => Ok(cutoff.map(|at| at.timestamp_micros())),
            // A validly signed token of a user who is gone: no session.
            Err(AuthError::UserNotFound) => Err(AuthError::Unauthorized),
            Err(error) => Err(error),
        }
    }

    fn recent(&self, user: UserId) -> Option<Option<i64>> {
        let local = self.local.lock().ok()?;
        local
            .get(&user)
            .filter(|(_, at)| at.elapsed() < LOCAL_TTL)
            .map(|(value, _)| *value)
    }

    fn remember(&self, user: UserId, value: Option<i64>) {
        let Ok(mut local) = self.local.lock() else {
            return;
        };
        if local.len() >= LOCAL_CAPACITY {
            local.retain(|_, (_, at)| at.elapsed() < LOCAL_TTL);
            if local.len() >= LOCAL_CAPACITY {
                local.clear();
            }
        }
        local.insert(user, (value, Instant::now()));
    }
}

/// Whether a token issued at `issued_micros` is refused by `cutoff`.
pub fn is_revoked(issued_micros: i64, cutoff: Option<i64>) -> bool {
    cutoff.is_some_and(|cutoff| issued_micros <= cutoff)
}

#[cfg(test)]
mod tests {
    use super::is_revoked;

    #[test]
    fn tokens_issued_up_to_the_cutoff_are_refused_and_later_ones_kept() {
        let cutoff = 1_765_000_000_123_456;
        assert!(is_revoked(cutoff - 1, Some(cutoff)));
        assert!(is_revoked(cutoff, Some(cutoff)));
        // The same second, a microsecond later.
        assert!(!is_revoked(cutoff + 1, Some(cutoff)));
        assert!(!is_revoked(0, None));
    }
}
