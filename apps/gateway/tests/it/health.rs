//! docs/api.md, Operations: health, liveness and metrics.

use crate::helpers::{PASSWORD, TestApp, json_of};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn health_checks_every_configured_dependency() {
    let app = TestApp::spawn().await;
    let body = app.anonymous().get_ok("/health").await;
    assert_eq!(
        body,
        json!({"status": "ok", "checks": {"database": "ok", "redis": "ok", "storage": "ok"}})
    );
    let live = app.anonymous().get_ok("/health/live").await;
    assert_eq!(live["status"], "ok");
}

#[tokio::test]
async fn without_redis_the_check_is_absent_and_limits_run_in_process() {
    let app = TestApp::spawn_with(|vars| {
        vars.remove("REDIS_URL");
        vars.insert("EPOP_AUTH_RATE_LIMIT".into(), "2".into());
    })
    .await;
    let body = app.anonymous().get_ok("/health").await;
    assert_eq!(
        body,
        json!({"status": "ok", "checks": {"database": "ok", "storage": "ok"}})
    );
    let attempt = || app.sign_in("x@example.com", PASSWORD);
    assert_eq!(attempt().await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(attempt().await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(attempt().await.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_dependency_down_makes_health_503_while_the_rest_serves() {
    // Nothing listens on port 1: Redis is "down" from the start.
    let app = TestApp::with_settings([("REDIS_URL", "redis://127.0.0.1:1")]).await;
    let response = app.anonymous().get("/health").await;
    assert_eq!(
        response.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    let body = json_of(response, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(
        body,
        json!({"status": "error", "checks": {"database": "ok", "redis": "error", "storage": "ok"}})
    );
    // Sign-up still works: rate limits fall back to the in-process limiter.
    app.register("Ann", "ann@example.com").await;
}

#[tokio::test]
async fn storage_failure_is_reported() {
    let app = TestApp::spawn_with(|vars| {
        // A path under a regular file can never become a directory.
        vars.insert("EPOP_STORAGE_DIR".into(), "/dev/null/objects".into());
    })
    .await;
    let body = app
        .anonymous()
        .get("/health")
        .await
        .json(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["checks"]["storage"], "error");
    assert_eq!(body["checks"]["database"], "ok");
}

#[tokio::test]
async fn metrics_expose_requests_by_route_pattern_and_pool_use() {
    let (app, [user]) = TestApp::with_users(["Ann"]).await;
    app.as_user(&user).get(format!("/api/users/{}", user.id)).await;
    let response = app.anonymous().get("/metrics").await;
    let text = response.ok_text("text/plain");
    assert!(
        text.contains(r#"http_requests_total{method="GET",route="/api/users/{id}",status="200"} 1"#),
        "{text}"
    );
    assert!(text.contains(r#"http_requests_total{method="POST",route="/api/auth/register",status="201"} 1"#));
    assert!(text.contains("http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/users/{id}\""));
    assert!(text.contains("db_pool_connections{state=\"max\"} 4"));
    assert!(text.contains("socketio_connected_sockets 0"));
    assert!(
        text.contains(r#"jobs_processed_total{outcome="done",queue="email"} 0"#),
        "{text}"
    );
}

#[tokio::test]
async fn invented_request_methods_add_no_metric_series() {
    let app = TestApp::spawn().await;
    for i in 0..5 {
        let method = Method::from_bytes(format!("FLOOD{i}").as_bytes()).unwrap();
        app.anonymous().send(method, "/api/users/me", None).await;
    }
    let metrics = app.metrics().await;
    assert!(!metrics.contains("FLOOD"), "{metrics}");
    assert!(metrics.contains(r#"method="OTHER""#), "{metrics}");
}
