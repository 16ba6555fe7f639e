//! Rate limits shared by every gateway node.
//!
//! The algorithm is GCRA (the generic cell rate algorithm): a limit of `n` per period allows a burst of `n`
//! and then one request every `period / n`, with no fixed-window edge effects. The state is one number per
//! key (the "theoretical arrival time"), kept in Redis by an atomic Lua script that uses Redis' own clock, so
//! all nodes agree. Without Redis, or while Redis is unreachable, the same algorithm runs in process.
//!
//! A hand-written limiter rather than `governor`: governor is in-process only, and the shared and local paths
//! must apply the very same rule.

use epop_storage::redis::SharedConnection;
use redis::Script;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A limit: `count` requests per `period`; a count of zero turns it off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Requests allowed per period.
    pub count: u32,
    /// The window `count` is spread over: one request every `period / count` after a burst of `count`.
    pub period: Duration,
}

impl Quota {
    /// `count` requests per minute.
    pub fn per_minute(count: u32) -> Self {
        Self {
            count,
            period: Duration::from_secs(60),
        }
    }

    /// `count` requests per hour.
    pub fn per_hour(count: u32) -> Self {
        Self {
            count,
            period: Duration::from_secs(3600),
        }
    }
}

/// The request is over the limit; retry after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    /// How long until one more request is allowed.
    pub retry_after: Duration,
}

impl Limited {
    /// `Retry-After` in whole seconds, at least 1.
    pub fn retry_after_secs(&self) -> u64 {
        self.retry_after.as_millis().div_ceil(1000).max(1) as u64
    }
}

const GCRA_SCRIPT: &str = r"
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local period = tonumber(ARGV[1])
local count = tonumber(ARGV[2])
local interval = period / count
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - period
if now < allow_at then
  return math.ceil(allow_at - now)
end
redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.ceil(new_tat - now))
return 0
";

/// Checks and counts requests against quotas.
#[derive(Clone)]
pub struct RateLimiter {
    redis: Option<SharedConnection>,
    prefix: Arc<str>,
    script: Arc<Script>,
    local: Arc<Mutex<LocalState>>,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("shared", &self.redis.is_some())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct LocalState {
    /// Theoretical arrival time of each key, in ms since `epoch`.
    tat: HashMap<String, f64>,
    epoch: Option<Instant>,
    checks_since_sweep: u32,
}

impl LocalState {
    fn check(&mut self, key: &str, quota: Quota) -> Result<(), Limited> {
        let epoch = *self.epoch.get_or_insert_with(Instant::now);
        let now = epoch.elapsed().as_secs_f64() * 1000.0;
        self.checks_since_sweep += 1;
        if self.checks_since_sweep >= 10_000 {
            self.checks_since_sweep = 0;
            self.tat.retain(|_, tat| *tat > now);
        }
        let period = quota.period.as_secs_f64() * 1000.0;
        let interval = period / f64::from(quota.count);
        let tat = self.tat.get(key).copied().unwrap_or(now).max(now);
        let new_tat = tat + interval;
        let allow_at = new_tat - period;
        if now < allow_at {
            return Err(Limited {
                retry_after: Duration::from_secs_f64((allow_at - now) / 1000.0),
            });
        }
        self.tat.insert(key.to_owned(), new_tat);
        Ok(())
    }
}

impl RateLimiter {
    /// A limiter backed by `redis` when given, in process otherwise. Keys are namespaced by `prefix`.
    pub fn new(redis: Option<SharedConnection>, prefix: &str) -> Self {
        Self {
            redis,
            prefix: Arc::from(prefix),
            script: Arc::new(Script::new(GCRA_SCRIPT)),
            local: Arc::new(Mutex::new(LocalState::default())),
        }
    }

    /// Counts one request for `scope`/`key` against `quota`.
    pub async fn check(&self, scope: &str, key: &str, quota: Quota) -> Result<(), Limited> {
        if quota.count == 0 {
            return Ok(());
        }
        let full_key = format!("{}:rl:{scope}:{key}", self.prefix);
        if let Some(redis) = &self.redis {
            match self.check_shared(redis, &full_key, quota).await {
                Ok(result) => return result,
                Err(error) => tracing::warn!(%error, "rate limiter: Redis unreachable, limiting in process"),
            }
        }
        self.check_local(&full_key, quota)
    }

    fn check_local(&self, key: &str, quota: Quota) -> Result<(), Limited> {
        match self.local.lock() {
            Ok(mut state) => state.check(key, quota),
            // A panic while holding the lock cannot leave the map inconsistent in a harmful way; keep going.
            Err(poisoned) => poisoned.into_inner().check(key, quota),
        }
    }

    async fn check_shared(
        &self,
        redis: &SharedConnection,
        key: &str,
        quota: Quota,
    ) -> anyhow::Result<Result<(), Limited>> {
        let mut conn = redis.get().await?;
        let wait_ms: i64 = self
            .script
            .key(key)
            .arg(quota.period.as_millis() as u64)
            .arg(quota.count)
            .invoke_async(&mut conn)
            .await?;
        Ok(if wait_ms > 0 {
            Err(Limited {
                retry_after: Duration::from_millis(wait_ms as u64),
            })
        } else {
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_gcra_allows_a_burst_then_spaces_requests() {
        let mut state = LocalState::default();
        let quota = Quota::per_minute(3);
        for _ in 0..3 {
            assert!(state.check("k", quota).is_ok());
        }
        let limited = state.check("k", quota).unwrap_err();
        assert!(
            limited.retry_after <= Duration::from_secs(20) && limited.retry_after > Duration::from_secs(19)
        );
        assert_eq!(limited.retry_after_secs(), 20);
        // Other keys are independent.
        assert!(state.check("other", quota).is_ok());
    }

    #[tokio::test]
    async fn zero_turns_a_limit_off() {
        let limiter = RateLimiter::new(None, "t");
        for _ in 0..100 {
            assert!(limiter.check("s", "k", Quota::per_minute(0)).await.is_ok());
        }
    }
}
