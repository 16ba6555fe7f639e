//! docs/api.md, Conventions and Errors: request ids, problem bodies, security headers, CORS, unknown routes, 5xx.

use crate::helpers::{TestApp, problem};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::collections::BTreeSet;

#[tokio::test]
async fn request_ids_are_kept_when_sane_and_replaced_otherwise() {
    let app = TestApp::spawn().await;
    let kept = app
        .anonymous()
        .header("x-request-id", "client-id_1.2")
        .get("/health/live")
        .await;
    assert_eq!(kept.headers()["x-request-id"], "client-id_1.2");
    for insane in ["has space".to_owned(), "x".repeat(129), "semi;colon".to_owned()] {
        let replaced = app
            .anonymous()
            .header("x-request-id", &insane)
            .get("/health/live")
            .await;
        let id = replaced.headers()["x-request-id"].to_str().unwrap();
        assert_ne!(id, insane);
        assert!(uuid::Uuid::parse_str(id).is_ok());
    }
    let fresh = app.anonymous().get("/health/live").await;
    assert!(uuid::Uuid::parse_str(fresh.headers()["x-request-id"].to_str().unwrap()).is_ok());
    // The problem body carries the same id as the header (checked by `problem`).
    let missing = app
        .anonymous()
        .header("x-request-id", "trace-me")
        .get("/api/nope")
        .await;
    let body = problem(missing, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(body["request_id"], "trace-me");
}

#[tokio::test]
async fn unknown_routes_are_404_with_or_without_a_token() {
    let (app, [user]) = TestApp::with_users(["Ann"]).await;
    app.anonymous().get("/api/nothing-here").await.not_found();
    app.as_user(&user).get("/api/nothing-here").await.not_found();
    app.as_token("bad-token")
        .get("/api/nothing-here")
        .await
        .not_found();
    app.anonymous().get("/elsewhere").await.not_found();
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    for path in ["/health", "/api/users/me", "/api/unknown", "/metrics"] {
        let response = app.anonymous().get(path).await;
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(
            headers["strict-transport-security"], "max-age=31536000; includeSubDomains",
            "{path}"
        );
        let is_json = headers["content-type"].to_str().unwrap().contains("json");
        assert_eq!(
            headers.get("cache-control").is_some_and(|v| v == "no-store"),
            is_json,
            "{path}"
        );
    }
    let json = app.anonymous().get("/health").await;
    assert_eq!(json.headers()["content-type"], "application/json; charset=utf-8");
}

#[tokio::test]
async fn cors_answers_only_configured_origins() {
    let app =
        TestApp::with_settings([("EPOP_CORS_ORIGINS", "https://app.example, https://admin.example")]).await;
    let preflight = |origin: &'static str| {
        app.anonymous()
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type, authorization")
            .send(Method::OPTIONS, "/api/auth/login", None)
    };
    let allowed = preflight("https://app.example").await;
    assert!(matches!(
        allowed.status(),
        StatusCode::OK | StatusCode::NO_CONTENT
    ));
    let headers = allowed.headers();
    assert_eq!(headers["access-control-allow-origin"], "https://app.example");
    assert_eq!(headers["access-control-allow-credentials"], "true");
    let methods = headers["access-control-allow-methods"].to_str().unwrap();
    for method in ["GET", "POST", "PUT", "DELETE", "OPTIONS"] {
        assert!(methods.contains(method), "{methods}");
    }
    let allow_headers = headers["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    for header in ["authorization", "content-type", "if-match", "x-request-id"] {
        assert!(allow_headers.contains(header), "{allow_headers}");
    }

    let denied = preflight("https://evil.example").await;
    assert!(
        denied
            .headers()
            .keys()
            .all(|k| !k.as_str().starts_with("access-control-")),
        "{:?}",
        denied.headers()
    );
    // Refused like every other error: problem+json.
    assert_eq!(denied.status(), StatusCode::BAD_REQUEST);
    problem(denied, StatusCode::BAD_REQUEST, "bad_request").await;

    let simple = app
        .anonymous()
        .header("origin", "https://admin.example")
        .get("/api/users/me")
        .await;
    assert_eq!(
        simple.headers()["access-control-allow-origin"],
        "https://admin.example"
    );
    assert_eq!(simple.headers()["access-control-allow-credentials"], "true");
    let exposed = simple.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    for header in ["etag", "location", "retry-after", "x-request-id"] {
        assert!(exposed.contains(header), "{exposed}");
    }
    let other = app
        .anonymous()
        .header("origin", "https://evil.example")
        .get("/api/users/me")
        .await;
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn validation_problems_name_the_wire_fields_and_list_every_failure() {
    let (app, [ann]) = TestApp::with_users(["Ann"]).await;
    let fields_of = async |method: Method, path: &str, body: Option<serde_json::Value>| {
        let error = app.as_user(&ann).send(method, path, body).await.invalid();
        error
            .fields()
            .into_iter()
            .map(str::to_owned)
            .collect::<BTreeSet<String>>()
    };
    let set = |fields: &[&str]| {
        fields
            .iter()
            .map(|f| (*f).to_owned())
            .collect::<BTreeSet<String>>()
    };

    let cases = [
        // The conversation's `type` is reported as `type` (its Rust name is `kind`), by value and by type.
        (
            Method::POST,
            "/api/conversations",
            Some(json!({"type": "channel", "member_ids": []})),
            &["type"][..],
        ),
        (
            Method::POST,
            "/api/conversations",
            Some(json!({"type": 7, "member_ids": []})),
            &["type"],
        ),
        (
            Method::POST,
            "/api/conversations",
            Some(json!({"type": [], "member_ids": "x"})),
            &["type", "member_ids"],
        ),
        // A wrong type, a wrong format and a missing field are all listed together.
        (
            Method::POST,
            "/api/calendar-events",
            Some(json!({"title": 5, "start_time": "yesterday"})),
            &["title", "start_time", "end_time"],
        ),
        (
            Method::POST,
            "/api/projects",
            Some(json!({"name": false, "description": ["not", "text"]})),
            &["name", "description"],
        ),
        // Query strings too: every unparsable parameter, then the rules on the others.
        (
            Method::GET,
            "/api/calendar-events?from=soon&to=later&limit=many",
            None,
            &["from", "to", "limit"],
        ),
        (
            Method::GET,
            "/api/calendar-events?from=soon&limit=0",
            None,
            &["from", "limit"],
        ),
    ];
    for (method, path, body, fields) in cases {
        let what = format!("{method} {path} {body:?}");
        assert_eq!(fields_of(method, path, body).await, set(fields), "{what}");
    }
    // Nothing was created by any of the refused requests.
    assert_eq!(app.count("SELECT count(*) AS n FROM conversations").await, 0);
    assert_eq!(app.count("SELECT count(*) AS n FROM calendar_events").await, 0);
}

#[tokio::test]
async fn server_errors_leak_nothing() {
    let (app, [user]) = TestApp::with_users(["Ann"]).await;
    // Break the database under the running gateway.
    app.sql("ALTER TABLE users RENAME COLUMN password_hash TO secret_column")
        .await;
    let response = app.as_user(&user).get("/api/users/me").await;
    let body = problem(response, StatusCode::INTERNAL_SERVER_ERROR, "internal").await;
    let text = body.to_string().to_lowercase();
    for leak in [
        "select",
        "secret_column",
        "password_hash",
        "column",
        "users",
        "diesel",
        ".rs",
    ] {
        assert!(!text.contains(leak), "500 body leaks `{leak}`: {text}");
    }
    assert_eq!(body["title"], "Internal server error");
}

#[tokio::test]
async fn openapi_and_docs_are_served() {
    let app = TestApp::spawn().await;
    let spec = app.openapi().await;
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = spec["paths"].as_object().unwrap();
    for path in [
        "/api/auth/register",
        "/api/auth/login",
        "/api/auth/refresh",
        "/api/auth/logout",
        "/api/auth/logout-all",
        "/api/users/me",
        "/api/users",
        "/api/users/{id}",
        "/health",
        "/health/live",
        "/metrics",
    ] {
        assert!(
            paths.contains_key(path),
            "{path} missing from the OpenAPI document"
        );
    }
    assert!(paths["/api/users/me"]["put"].is_object());
    let docs = app.anonymous().get("/docs/").await;
    let html = docs.ok_text("text/html");
    assert!(html.contains("swagger"), "the docs page is Swagger UI");
    let redirect = app.anonymous().get("/docs").await;
    assert!(redirect.status().is_redirection());
}
