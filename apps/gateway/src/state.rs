//! The state every handler shares: configuration, pools, services and clients. Built once in
//! [`crate::app`], cloned cheaply (everything inside is reference-counted).

use crate::config::Config;
use crate::metrics::Metrics;
use crate::rate_limit::RateLimiter;
use epop_auth::AuthService;
use epop_storage::DbPool;
use epop_storage::object_store::ObjectStore;
use epop_storage::redis::RedisPool;
use std::sync::Arc;

/// Shared application state.
#[derive(Clone)]
pub struct AppState {
    /// The configuration the gateway started with.
    pub config: Arc<Config>,
    /// PostgreSQL.
    pub db: DbPool,
    /// Redis, when configured.
    pub redis: Option<RedisPool>,
    /// Where files live.
    pub store: Arc<dyn ObjectStore>,
    /// Accounts and sessions.
    pub auth: AuthService,
    /// Rate limits.
    pub limiter: RateLimiter,
    /// Prometheus metrics.
    pub metrics: Metrics,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("redis", &self.redis.is_some())
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}
