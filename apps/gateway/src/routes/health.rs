//! # GET /health, GET /health/live

use crate::state::AppState;
use actix_web::get;
use actix_web::{HttpResponse, web};
use serde::Serialize;
use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

/// How long one dependency check may take before it counts as failed.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// The readiness report.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HealthReport {
    /// `ok` when every configured dependency answers, else `error`.
    pub status: &'static str,
    /// `ok` or `error` per configured dependency (`database`, `redis`, `storage`).
    pub checks: BTreeMap<&'static str, &'static str>,
}

async fn check<E: std::fmt::Display>(
    name: &'static str,
    probe: impl Future<Output = Result<(), E>>,
) -> &'static str {
    match tokio::time::timeout(CHECK_TIMEOUT, probe).await {
        Ok(Ok(())) => "ok",
        Ok(Err(error)) => {
            tracing::warn!(dependency = name, %error, "health check failed");
            "error"
        }
        Err(_) => {
            tracing::warn!(dependency = name, "health check timed out");
            "error"
        }
    }
}

/// Readiness: `200` when PostgreSQL, Redis (if configured) and storage answer, else `503`.
#[utoipa::path(tag = "operations",
    responses((status = 200, body = HealthReport), (status = 503, body = HealthReport)))]
#[get("/health")]
pub(crate) async fn health(state: web::Data<AppState>) -> HttpResponse {
    let database = check("database", epop_storage::db::ping(&state.db));
    let storage = check("storage", state.store.check());
    let redis = async {
        match &state.redis {
            Some(pool) => Some(check("redis", epop_storage::redis::ping(pool)).await),
            None => None,
        }
    };
    let (database, storage, redis) = tokio::join!(database, storage, redis);
    let mut checks = BTreeMap::from([("database", database), ("storage", storage)]);
    if let Some(redis) = redis {
        checks.insert("redis", redis);
    }
    let healthy = checks.values().all(|v| *v == "ok");
    let report = HealthReport {
        status: if healthy { "ok" } else { "error" },
        checks,
    };
    if healthy {
        HttpResponse::Ok().json(report)
    } else {
        HttpResponse::ServiceUnavailable().json(report)
    }
}

/// Liveness: `200` while the process runs.
#[utoipa::path(tag = "operations", responses((status = 200, description = "Alive")))]
#[get("/health/live")]
pub(crate) async fn live() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}
