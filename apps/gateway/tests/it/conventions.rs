//! docs/api.md, Conventions and Errors: request ids, problem bodies, security headers, CORS, unknown routes, 5xx.

use crate::helpers::{TestApp, failing_fields, json_of, problem};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::collections::BTreeSet;

#[tokio::test]
async fn request_ids_are_kept_when_sane_and_replaced_otherwise() {
    let app = TestApp::spawn().await;
    let kept = app
        .request(Method::GET, "/health/live")
        .header("x-request-id", "client-id_1.2")
        .send()
        .await
        .unwrap();
    assert_eq!(kept.headers()["x-request-id"], "client-id_1.2");
    for insane in ["has space".to_owned(), "x".repeat(129), "semi;colon".to_owned()] {
        let replaced = app
            .request(Method::GET, "/health/live")
            .header("x-request-id", &insane)
            .send()
            .await
            .unwrap();
        let id = replaced.headers()["x-request-id"].to_str().unwrap();
        assert_ne!(id, insane);
        assert!(uuid::Uuid::parse_str(id).is_ok());
    }
    let fresh = app.request(Method::GET, "/health/live").send().await.unwrap();
    assert!(uuid::Uuid::parse_str(fresh.headers()["x-request-id"].to_str().unwrap()).is_ok());
    // The problem body carries the same id as the header (checked by `problem`).
    let missing = app
        .request(Method::GET, "/api/nope")
        .header("x-request-id", "trace-me")
        .send()
        .await
        .unwrap();
    let body = problem(missing, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(body["request_id"], "trace-me");
}

#[tokio::test]
async fn unknown_routes_are_404_with_or_without_a_token() {
    let app = TestApp::spawn().await;
    let user = app.register("Ann", "ann@example.com").await;
    problem(
        app.request(Method::GET, "/api/nothing-here")
            .send()
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    problem(
        app.get("/api/nothing-here", &user.access_token)
            .send()
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    problem(
        app.get("/api/nothing-here", "bad-token").send().await.unwrap(),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    problem(
        app.request(Method::GET, "/elsewhere").send().await.unwrap(),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    for path in ["/health", "/api/users/me", "/api/unknown", "/metrics"] {
        let response = app.request(Method::GET, path).send().await.unwrap();
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
    let json = app.request(Method::GET, "/health").send().await.unwrap();
    assert_eq!(json.headers()["content-type"], "application/json; charset=utf-8");
}

#[tokio::test]
async fn cors_answers_only_configured_origins() {
    let app = TestApp::spawn_with(|vars| {
        vars.insert(
            "EPOP_CORS_ORIGINS".into(),
            "https://app.example, https://admin.example".into(),
        );
    })
    .await;
    let preflight = |origin: &'static str| {
        app.request(Method::OPTIONS, "/api/auth/login")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type, authorization")
            .send()
    };
    let allowed = preflight("https://app.example").await.unwrap();
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

    let denied = preflight("https://evil.example").await.unwrap();
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
        .request(Method::GET, "/api/users/me")
        .header("origin", "https://admin.example")
        .send()
        .await
        .unwrap();
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
        .request(Method::GET, "/api/users/me")
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn validation_problems_name_the_wire_fields_and_list_every_failure() {
    let app = TestApp::spawn().await;
    let ann = app.register("Ann", "ann@example.com").await;
    let fields_of = async |method: Method, path: &str, body: Option<serde_json::Value>| {
        let request = match body {
            Some(body) => app.send_json(method, path, &ann.access_token, &body),
            None => app.request(method, path).bearer_auth(&ann.access_token),
        };
        let error = problem(
            request.send().await.unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        failing_fields(&error).into_iter().collect::<BTreeSet<String>>()
    };
    let set = |fields: &[&str]| {
        fields
            .iter()
            .map(|f| (*f).to_owned())
            .collect::<BTreeSet<String>>()
    };

    // The conversation's `type` is reported as `type` (its Rust name is `kind`), by value and by type.
    for body in [
        json!({"type": "channel", "member_ids": []}),
        json!({"type": 7, "member_ids": []}),
    ] {
        assert_eq!(
            fields_of(Method::POST, "/api/conversations", Some(body.clone())).await,
            set(&["type"]),
            "{body}"
        );
    }
    assert_eq!(
        fields_of(
            Method::POST,
            "/api/conversations",
            Some(json!({"type": [], "member_ids": "x"}))
        )
        .await,
        set(&["type", "member_ids"])
    );

    // A wrong type, a wrong format and a missing field are all listed together.
    assert_eq!(
        fields_of(
            Method::POST,
            "/api/calendar-events",
            Some(json!({"title": 5, "start_time": "yesterday"}))
        )
        .await,
        set(&["title", "start_time", "end_time"])
    );
    assert_eq!(
        fields_of(
            Method::POST,
            "/api/projects",
            Some(json!({"name": false, "description": ["not", "text"]}))
        )
        .await,
        set(&["name", "description"])
    );

    // Query strings too: every unparsable parameter, then the rules on the others.
    assert_eq!(
        fields_of(
            Method::GET,
            "/api/calendar-events?from=soon&to=later&limit=many",
            None
        )
        .await,
        set(&["from", "to", "limit"])
    );
    assert_eq!(
        fields_of(Method::GET, "/api/calendar-events?from=soon&limit=0", None).await,
        set(&["from", "limit"])
    );
    // Nothing was created by any of the refused requests.
    assert_eq!(app.count("SELECT count(*) AS n FROM conversations").await, 0);
    assert_eq!(app.count("SELECT count(*) AS n FROM calendar_events").await, 0);
}

#[tokio::test]
async fn server_errors_leak_nothing() {
    let app = TestApp::spawn().await;
    let user = app.register("Ann", "ann@example.com").await;
    // Break the database under the running gateway.
    app.sql("ALTER TABLE users RENAME COLUMN password_hash TO secret_column")
        .await;
    let response = app.get("/api/users/me", &user.access_token).send().await.unwrap();
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
    let spec = json_of(
        app.request(Method::GET, "/api/openapi.json")
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
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
    let docs = app.request(Method::GET, "/docs/").send().await.unwrap();
    assert_eq!(docs.status(), StatusCode::OK);
    assert!(
        docs.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = docs.text().await.unwrap();
    assert!(html.contains("swagger"), "the docs page is Swagger UI");
    let redirect = app.request(Method::GET, "/docs").send().await.unwrap();
    assert!(redirect.status().is_redirection());
}
