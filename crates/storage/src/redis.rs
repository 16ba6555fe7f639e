//! The Redis connection pool. Redis holds only what may be lost (fan-out, presence, rate-limit counters).

use crate::{StorageError, StorageResult};
use deadpool_redis::{Config, Pool, PoolConfig, Runtime, Timeouts};
use std::time::Duration;

/// A pool of Redis connections.
pub type RedisPool = Pool;

/// Builds a lazy Redis pool for `url` with short timeouts, so a Redis outage degrades requests quickly
/// instead of hanging them.
pub fn build_pool(url: &str, max_size: usize) -> StorageResult<RedisPool> {
    let mut config = Config::from_url(url);
    let mut pool = PoolConfig::new(max_size);
    pool.timeouts = Timeouts {
        wait: Some(Duration::from_secs(1)),
        create: Some(Duration::from_secs(1)),
        recycle: Some(Duration::from_secs(1)),
    };
    config.pool = Some(pool);
    config
        .create_pool(Some(Runtime::Tokio1))
        .map_err(|e| StorageError::PoolConfig(e.to_string()))
}

/// Checks that Redis answers `PING`.
pub async fn ping(pool: &RedisPool) -> StorageResult<()> {
    let mut conn = pool.get().await?;
    let _: String = ::redis::cmd("PING").query_async(&mut conn).await?;
    Ok(())
}
