//! # GET /metrics

use crate::error::ApiError;
use crate::state::AppState;
use actix_web::get;
use actix_web::{HttpResponse, web};

/// Prometheus text exposition of the gateway's metrics.
#[utoipa::path(tag = "operations", responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
#[get("/metrics")]
pub(crate) async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let status = state.db.status();
    let pool = &state.metrics.db_pool;
    pool.with_label_values(&["size"]).set(status.size as i64);
    pool.with_label_values(&["available"])
        .set(status.available as i64);
    pool.with_label_values(&["in_use"])
        .set(status.size.saturating_sub(status.available) as i64);
    pool.with_label_values(&["waiting"]).set(status.waiting as i64);
    pool.with_label_values(&["max"]).set(status.max_size as i64);
    let hashing = state.auth.hasher_stats();
    state
        .metrics
        .hash_pending
        .set(i64::try_from(hashing.pending).unwrap_or(i64::MAX));
    state
        .metrics
        .hash_seconds
        .set(hashing.time_per_hash.as_secs_f64());
    let text = state.metrics.render().map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}
