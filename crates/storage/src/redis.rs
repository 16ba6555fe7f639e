//! Redis: one multiplexed connection per process. Redis holds only what may be lost (fan-out, presence,
//! rate-limit counters, session cutoffs' copies).
//!
//! Every command the gateway sends is answered in one round trip on a connection shared by every task:
//! Redis serves one connection's pipelined commands as fast as many connections', and a pool would add a
//! health-check round trip (`PING`) each time a connection is taken, which on the hot paths (a rate-limit check
//! per request, a publish per event, presence per connect) doubled the round trips. The pub/sub subscription
//! has a connection of its own (see [`crate::events`]).

use crate::{StorageError, StorageResult};
use ::redis::aio::{ConnectionLike, MultiplexedConnection};
use ::redis::{Cmd, Pipeline, RedisFuture, Value};
use std::time::Duration;

/// Checks that Redis answers `PING` now: unlike the commands of requests, which fail at once for a second after
/// a failed connection attempt, the check tries to connect again (a readiness probe must see Redis come back,
/// and a first attempt that timed out on a busy machine must not make the next probe fail).
pub async fn ping(redis: &SharedConnection) -> StorageResult<()> {
    let mut conn = redis.connect(false).await?;
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
    connection: Option<MultiplexedConnection>,
    /// Counts the connections made, so that a failure seen on an old one never drops its replacement.
    generation: u64,
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

    /// The connection, connecting when there is none (or failing at once within a second of a failure). A
    /// command that finds the connection broken drops it, so the next `get` reconnects.
    pub async fn get(&self) -> StorageResult<SharedCommands> {
        self.connect(true).await
    }

    /// [`Self::get`]; with `respect_pause` false it tries to connect even within the pause after a failure.
    async fn connect(&self, respect_pause: bool) -> StorageResult<SharedCommands> {
        let mut state = self.state.lock().await;
        if let Some(connection) = &state.connection {
            return Ok(SharedCommands {
                connection: connection.clone(),
                generation: state.generation,
                shared: self.clone(),
            });
        }
        if respect_pause && state.failed_at.is_some_and(|at| at.elapsed() < RECONNECT_PAUSE) {
            return Err(StorageError::RedisUnavailable(::redis::RedisError::from((
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
                state.generation += 1;
                state.failed_at = None;
                Ok(SharedCommands {
                    connection,
                    generation: state.generation,
                    shared: self.clone(),
                })
            }
            Err(error) => {
                // Only a refusal (nothing listens, the address is unreachable) starts the pause: an attempt
                // that merely timed out on a busy machine says little about the next one, and a pause after it
                // would send every caller to its fallback for a second (no shared limits, no presence).
                if !error.is_timeout() {
                    state.failed_at = Some(std::time::Instant::now());
                }
                Err(error.into())
            }
        }
    }

    /// Drops the connection of `generation` after a command found it broken; the next use reconnects (after
    /// a pause).
    async fn broken(&self, generation: u64) {
        let mut state = self.state.lock().await;
        if state.generation == generation && state.connection.is_some() {
            state.connection = None;
            state.failed_at = Some(std::time::Instant::now());
        }
    }
}

/// The shared connection as one caller holds it: commands go to the shared connection, and an error that
/// means the connection itself is gone (not a command's own error, nor a slow answer) drops it for everyone.
pub struct SharedCommands {
    connection: MultiplexedConnection,
    generation: u64,
    shared: SharedConnection,
}

impl SharedCommands {
    async fn note<T>(&self, result: ::redis::RedisResult<T>) -> ::redis::RedisResult<T> {
        if let Err(error) = &result
            && connection_lost(error)
        {
            self.shared.broken(self.generation).await;
        }
        result
    }
}

impl ConnectionLike for SharedCommands {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            let result = self.connection.req_packed_command(cmd).await;
            self.note(result).await
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            let result = self.connection.req_packed_commands(pipeline, offset, count).await;
            self.note(result).await
        })
    }

    fn get_db(&self) -> i64 {
        self.connection.get_db()
    }
}

/// Whether `error` says the connection is unusable (closed, reset, refused), as opposed to a command's own
/// failure or a timeout (a slow Redis under load still has a working connection).
pub(crate) fn connection_lost(error: &::redis::RedisError) -> bool {
    !error.is_timeout()
        && (error.is_connection_dropped() || error.is_connection_refusal() || error.is_unrecoverable_error())
}
