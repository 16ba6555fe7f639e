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

/// How long a [`SharedConnection`] waits before trying to reconnect after a failure.
const RECONNECT_PAUSE: Duration = Duration::from_secs(1);

/// One multiplexed Redis connection shared by every task, for commands run on every request: each costs
/// exactly one round trip (a pooled connection is health-checked with a `PING` each time it is taken), and
/// concurrent commands are pipelined on the one connection. Connects lazily; after a failure it is dropped and
/// re-established on a later use, at most once per second, so that an unreachable Redis costs callers an
/// immediate error (they fall back) instead of a connection attempt each.
#[derive(Clone)]
pub struct SharedConnection {
    client: ::redis::Client,
    state: std::sync::Arc<tokio::sync::Mutex<SharedState>>,
}

#[derive(Default)]
struct SharedState {
    connection: Option<::redis::aio::MultiplexedConnection>,
    failed_at: Option<std::time::Instant>,
}

impl std::fmt::Debug for SharedConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedConnection").finish_non_exhaustive()
    }
}

impl SharedConnection {
    /// A connection to `url`, made when first used.
    pub fn new(url: &str) -> StorageResult<Self> {
        Ok(Self {
            client: ::redis::Client::open(url)?,
            state: std::sync::Arc::default(),
        })
    }

    /// The connection, connecting when there is none (or failing at once within a second of a failure).
    pub async fn get(&self) -> StorageResult<::redis::aio::MultiplexedConnection> {
        let mut state = self.state.lock().await;
        if let Some(connection) = &state.connection {
            return Ok(connection.clone());
        }
        if state.failed_at.is_some_and(|at| at.elapsed() < RECONNECT_PAUSE) {
            return Err(StorageError::Redis(::redis::RedisError::from((
                ::redis::ErrorKind::Io,
                "Redis was unreachable a moment ago",
            ))));
        }
        let config = ::redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(1)));
        match self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await
        {
            Ok(connection) => {
                state.connection = Some(connection.clone());
                state.failed_at = None;
                Ok(connection)
            }
            Err(error) => {
                state.failed_at = Some(std::time::Instant::now());
                Err(error.into())
            }
        }
    }

    /// Drops the connection after a command failed on it; the next use reconnects (after a pause).
    pub async fn failed(&self) {
        let mut state = self.state.lock().await;
        state.connection = None;
        state.failed_at = Some(std::time::Instant::now());
    }
}
