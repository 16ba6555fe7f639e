//! Presence on demand: `GET /api/presence?user_ids=` (docs/api.md, Presence), with a real
//! Socket.IO connection making a user online. The socket-side rules (large groups, `presence:subscribe`) are
//! checked with the official client in `realtime.rs`.

use crate::helpers::{TestApp, failing_fields, problem};
use reqwest::StatusCode;
use std::time::{Duration, Instant};

async fn presence(app: &TestApp, token: &str, ids: &[&str]) -> Vec<serde_json::Value> {
    let path = format!("/api/presence?user_ids={}", ids.join(","));
    let body = app.as_token(token).get_ok(&path).await;
    body["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn presence_on_demand_shows_people_who_share_a_conversation() {
    let (app, [ann, bob, zed]) = TestApp::with_users(["Ann", "Bob", "Zed"]).await;
    app.group(&ann, "Team", &[&bob]).await;

    let mut ws = app.socket(&bob.access_token).await;
    let items = presence(&app, &ann.access_token, &[&bob.id, &zed.id, &ann.id]).await;
    assert_eq!(
        items,
        vec![
            serde_json::json!({"user_id": bob.id, "status": "online", "last_seen_at": null}),
            serde_json::json!({"user_id": ann.id, "status": "offline", "last_seen_at": null}),
        ],
        "Zed shares no conversation with Ann: left out"
    );

    ws.close(None).await.unwrap();
    let started = Instant::now();
    let gone = loop {
        let items = presence(&app, &ann.access_token, &[&bob.id]).await;
        if items[0]["status"] == "offline" {
            break items[0].clone();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "Bob never went offline"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let seen = gone["last_seen_at"].as_str().unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(seen).is_ok(), "{gone}");
    // Zed may ask about himself, and sees nothing of the others.
    let items = presence(&app, &zed.access_token, &[&bob.id, &zed.id]).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["user_id"], zed.id.as_str());
}

#[tokio::test]
async fn presence_on_demand_checks_its_input_and_credentials() {
    let (app, [ann]) = TestApp::with_users(["Ann"]).await;
    let many: Vec<String> = (0..101).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    for path in [
        "/api/presence".to_owned(),
        "/api/presence?user_ids=".to_owned(),
        "/api/presence?user_ids=not-a-uuid".to_owned(),
        format!("/api/presence?user_ids={},x", ann.id),
        format!("/api/presence?user_ids={}", many.join(",")),
    ] {
        let response = app.as_user(&ann).get(&path).await;
        let body = problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(failing_fields(&body), vec!["user_ids"], "{path}: {body}");
    }
    // 100 distinct ids are fine (none of them shares anything with Ann).
    let hundred = presence(
        &app,
        &ann.access_token,
        &many[..100].iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await;
    assert!(hundred.is_empty());

    let path = format!("/api/presence?user_ids={}", ann.id);
    let response = app.anonymous().get(&path).await;
    problem(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let response = app.as_token("not-a-token").get(&path).await;
    problem(response, StatusCode::UNAUTHORIZED, "unauthorized").await;

    let spec = app.openapi().await;
    let operation = &spec["paths"]["/api/presence"]["get"];
    assert!(operation["responses"]["422"].is_object(), "{operation}");
    assert_eq!(operation["parameters"][0]["name"], "user_ids", "{operation}");
}
