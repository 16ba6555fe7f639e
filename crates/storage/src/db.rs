//! The PostgreSQL connection pool.

use crate::{StorageError, StorageResult};
use deadpool::Runtime;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use std::time::Duration;

/// A pool of async PostgreSQL connections.
pub type DbPool = Pool<AsyncPgConnection>;
/// A connection borrowed from the [`DbPool`]; derefs to `AsyncPgConnection`.
pub type DbConn = Object<AsyncPgConnection>;

/// How long a request waits for a free connection before failing with `unavailable`.
const WAIT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long opening a new connection may take.
const CREATE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long checking a returned connection may take.
const RECYCLE_TIMEOUT: Duration = Duration::from_secs(2);

/// Builds a lazy pool of at most `max_size` connections to `database_url`. No connection is opened yet.
pub fn build_pool(database_url: &str, max_size: usize) -> StorageResult<DbPool> {
    // `Fast` recycling skips the `SELECT 1` round trip on every checkout (measured: one round trip per request);
    // connections that broke are still detected and dropped by the manager.
    let mut config = ManagerConfig::default();
    config.recycling_method = RecyclingMethod::Fast;
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(database_url, config);
    Pool::builder(manager)
        .max_size(max_size)
        .wait_timeout(Some(WAIT_TIMEOUT))
        .create_timeout(Some(CREATE_TIMEOUT))
        .recycle_timeout(Some(RECYCLE_TIMEOUT))
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(|e| StorageError::PoolConfig(e.to_string()))
}

/// Closes the pool's connections that nobody used for `idle_timeout`, keeping at least `keep` idle ones, and
/// answers how many it closed. After a burst the pool holds its largest size; every connection costs a
/// PostgreSQL backend and this process's buffers and statement cache, so an idle gateway gives them back
/// (the next burst opens them again, a few milliseconds each).
pub fn close_idle_connections(pool: &DbPool, idle_timeout: Duration, keep: usize) -> usize {
    let mut kept = 0;
    let result = pool.retain(|_, metrics| {
        if kept < keep || metrics.last_used() < idle_timeout {
            kept += 1;
            true
        } else {
            false
        }
    });
    result.removed.len()
}

/// Waits until PostgreSQL accepts a connection at `database_url`, retrying for up to `patience`.
pub async fn wait_for_database(database_url: &str, patience: Duration) -> StorageResult<()> {
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        match AsyncPgConnection::establish(database_url).await {
            Ok(_) => return Ok(()),
            Err(error) if tokio::time::Instant::now() < deadline => {
                tracing::warn!(%error, "PostgreSQL not reachable yet; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(error) => return Err(error.into()),
        }
    }
}

/// Checks that the database answers a trivial query through the pool.
pub async fn ping(pool: &DbPool) -> StorageResult<()> {
    let mut conn = pool.get().await?;
    diesel::sql_query("SELECT 1").execute(&mut conn).await?;
    Ok(())
}
