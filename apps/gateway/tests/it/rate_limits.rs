//! docs/api.md, Rate limits: rate limits, shared between nodes through Redis.

use crate::client::Answer;
use crate::helpers::{PASSWORD, TestApp, problem};
use reqwest::StatusCode;
use serde_json::json;

fn limited(
    limit: &'static str,
    api: &'static str,
) -> impl FnOnce(&mut std::collections::HashMap<String, String>) {
    move |vars| {
        vars.insert("EPOP_AUTH_RATE_LIMIT".into(), limit.into());
        vars.insert("EPOP_API_RATE_LIMIT".into(), api.into());
        // Let tests present several client IPs through a trusted proxy (the loopback peer).
        vars.insert("EPOP_TRUSTED_PROXIES".into(), "127.0.0.1/32".into());
    }
}

async fn login_from(app: &TestApp, ip: &str, email: &str) -> Answer {
    app.anonymous()
        .header("x-forwarded-for", ip)
        .post(
            "/api/auth/login",
            json!({"email": email, "password": "wrong password"}),
        )
        .await
}

#[tokio::test]
async fn login_is_limited_per_ip_with_retry_after() {
    let app = TestApp::spawn_with(limited("3", "100000")).await;
    for i in 0..3 {
        let response = login_from(&app, "203.0.113.7", &format!("user{i}@example.com")).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let response = login_from(&app, "203.0.113.7", "user9@example.com").await;
    let retry_after = response.retry_after();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    problem(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // Another client address is not affected.
    assert_eq!(
        login_from(&app, "203.0.113.8", "user9@example.com")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn login_is_limited_per_email_across_addresses() {
    let app = TestApp::spawn_with(limited("3", "100000")).await;
    for i in 0..3 {
        let response = login_from(&app, &format!("198.51.100.{i}"), "victim@example.com").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let response = login_from(&app, "198.51.100.99", "VICTIM@example.com").await;
    problem(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

#[tokio::test]
async fn register_and_refresh_have_the_auth_limit() {
    let app = TestApp::spawn_with(limited("2", "100000")).await;
    let register = |email: &'static str| {
        app.anonymous().header("x-forwarded-for", "192.0.2.1").post(
            "/api/auth/register",
            json!({"name": "A", "email": email, "password": PASSWORD}),
        )
    };
    assert_eq!(register("a@example.com").await.status(), StatusCode::CREATED);
    assert_eq!(register("b@example.com").await.status(), StatusCode::CREATED);
    problem(
        register("c@example.com").await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    )
    .await;
    assert_eq!(
        app.count("SELECT count(*) AS n FROM users").await,
        2,
        "a limited request changes nothing"
    );

    let refresh = || {
        app.anonymous()
            .header("x-forwarded-for", "192.0.2.2")
            .post("/api/auth/refresh", json!({"refresh_token": "x"}))
    };
    assert_eq!(refresh().await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(refresh().await.status(), StatusCode::UNAUTHORIZED);
    problem(refresh().await, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

#[tokio::test]
async fn api_requests_are_limited_per_user_across_nodes() {
    let node_a = TestApp::spawn_with(limited("100", "4")).await;
    let node_b = node_a.spawn_peer().await;
    let [ann, bob] = node_a.users(["Ann", "Bob"]).await;
    for node in [&node_a, &node_b, &node_a, &node_b] {
        assert_eq!(
            node.as_user(&ann).get("/api/users/me").await.status(),
            StatusCode::OK
        );
    }
    // The fifth request, on either node, is over the shared limit.
    let response = node_b.as_user(&ann).get("/api/users/me").await;
    assert!(response.headers().contains_key("retry-after"));
    problem(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // Another user has their own budget.
    assert_eq!(
        node_b.as_user(&bob).get("/api/users/me").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn zero_turns_a_limit_off() {
    let app = TestApp::spawn_with(limited("0", "0")).await;
    for _ in 0..30 {
        assert_eq!(
            login_from(&app, "203.0.113.1", "same@example.com").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
}

#[tokio::test]
async fn profile_changes_that_check_the_password_have_the_auth_limit() {
    let app = TestApp::spawn_with(limited("2", "100000")).await;
    let ann = app.register("Ann", "ann@example.com").await;
    let change = |body: serde_json::Value| {
        app.as_user(&ann)
            .header("x-forwarded-for", "203.0.113.50")
            .put("/api/users/me", body)
    };
    let guess = json!({"email": "new@example.com", "current_password": "a wrong guess"});
    for _ in 0..2 {
        assert_eq!(change(guess.clone()).await.status(), StatusCode::FORBIDDEN);
    }
    let limited = change(guess.clone()).await;
    assert!(limited.headers().contains_key("retry-after"));
    problem(limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // From another address too: the user's own limit holds.
    let elsewhere = app
        .as_user(&ann)
        .header("x-forwarded-for", "198.51.100.9")
        .put("/api/users/me", &guess)
        .await;
    assert_eq!(elsewhere.status(), StatusCode::TOO_MANY_REQUESTS);
    // Changes that check no password are not limited by it, and nothing changed.
    for i in 0..3 {
        let renamed = change(json!({"name": format!("Ann {i}")})).await;
        assert_eq!(renamed.status(), StatusCode::OK);
    }
    let me = app.as_user(&ann).get_ok("/api/users/me").await;
    assert_eq!(me["email"], "ann@example.com");
    let _ = PASSWORD;
}
