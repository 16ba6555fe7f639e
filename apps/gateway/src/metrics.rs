//! Prometheus metrics with the names `docs/api.md` lists (Operations).

use prometheus::{
    Encoder as _, Gauge, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// The gateway's metrics and the registry that exposes them.
#[derive(Clone, Debug)]
pub struct Metrics {
    registry: Registry,
    /// `http_requests_total{method,route,status}`.
    pub http_requests: IntCounterVec,
    /// `http_request_duration_seconds{method,route}`.
    pub http_duration: HistogramVec,
    /// `socketio_connected_sockets`.
    pub connected_sockets: IntGauge,
    /// `db_pool_connections{state}`: `size`, `available`, `waiting`, `max`.
    pub db_pool: IntGaugeVec,
    /// `jobs_processed_total{queue,outcome}`.
    pub jobs_processed: IntCounterVec,
    /// `epop_auth_hash_refused_total`: logins and registrations refused with `503` because hashing is saturated.
    pub hash_refused: IntCounter,
    /// `epop_auth_hash_pending`: requests admitted to password hashing and not finished (set at each scrape).
    pub hash_pending: IntGauge,
    /// `epop_auth_hash_seconds`: the moving average of one Argon2id hash (set at each scrape).
    pub hash_seconds: Gauge,
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let http_requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by method, route pattern and status",
            ),
            &["method", "route", "status"],
        )?;
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by method and route pattern",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["method", "route"],
        )?;
        let connected_sockets = IntGauge::new(
            "socketio_connected_sockets",
            "Open Socket.IO connections on this node",
        )?;
        let db_pool = IntGaugeVec::new(
            Opts::new("db_pool_connections", "PostgreSQL pool connections by state"),
            &["state"],
        )?;
        let jobs_processed = IntCounterVec::new(
            Opts::new(
                "jobs_processed_total",
                "Background jobs processed by queue and outcome",
            ),
            &["queue", "outcome"],
        )?;
        registry.register(Box::new(http_requests.clone()))?;
        registry.register(Box::new(http_duration.clone()))?;
        registry.register(Box::new(connected_sockets.clone()))?;
        registry.register(Box::new(db_pool.clone()))?;
        registry.register(Box::new(jobs_processed.clone()))?;
        let hash_refused = IntCounter::new(
            "epop_auth_hash_refused_total",
            "Logins and registrations refused with 503 and Retry-After because password hashing would wait too long",
        )?;
        let hash_pending = IntGauge::new(
            "epop_auth_hash_pending",
            "Requests admitted to password hashing and not finished",
        )?;
        let hash_seconds = Gauge::new(
            "epop_auth_hash_seconds",
            "Moving average of the time one password hash takes",
        )?;
        registry.register(Box::new(hash_refused.clone()))?;
        registry.register(Box::new(hash_pending.clone()))?;
        registry.register(Box::new(hash_seconds.clone()))?;
        // Expose the job counters from the start (at zero), so dashboards and alerts see them before the
        // first job runs.
        for queue in ["email", "push"] {
            for outcome in ["done", "retry", "dead"] {
                jobs_processed.with_label_values(&[queue, outcome]);
            }
        }
        Ok(Self {
            registry,
            http_requests,
            http_duration,
            connected_sockets,
            db_pool,
            jobs_processed,
            hash_refused,
            hash_pending,
            hash_seconds,
        })
    }

    /// Renders every metric in the Prometheus text format.
    pub fn render(&self) -> Result<String, prometheus::Error> {
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buffer)?;
        String::from_utf8(buffer).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }
}
