//! docs/api.md, Reactions: one reaction per (message, user, emoji), validated emoji, a bound per message, and
//! `message:reactions`.

use crate::helpers::{TestApp, TestUser};
use futures_util::StreamExt as _;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

async fn react(app: &TestApp, user: &TestUser, message: &Value, emoji: &str) -> crate::client::Answer {
    let path = format!(
        "/api/messages/{}/reactions/{emoji}",
        message["id"].as_str().unwrap()
    );
    app.as_user(user).send(Method::PUT, path, None).await
}

/// `user` reacts with `emoji`, which must be accepted.
async fn reacted(app: &TestApp, user: &TestUser, message: &Value, emoji: &str) {
    react(app, user, message, emoji)
        .await
        .empty(StatusCode::NO_CONTENT);
}

/// `user` takes the reaction `emoji` back, which must be accepted.
async fn unreacted(app: &TestApp, user: &TestUser, message: &Value, emoji: &str) {
    unreact(app, user, message, emoji)
        .await
        .empty(StatusCode::NO_CONTENT);
}

async fn unreact(app: &TestApp, user: &TestUser, message: &Value, emoji: &str) -> crate::client::Answer {
    let path = format!(
        "/api/messages/{}/reactions/{emoji}",
        message["id"].as_str().unwrap()
    );
    app.as_user(user).delete(path).await
}

async fn reactions_seen_by(app: &TestApp, user: &TestUser, message: &Value) -> Value {
    app.as_user(user)
        .get_ok(format!("/api/messages/{}", message["id"].as_str().unwrap()))
        .await["reactions"]
        .clone()
}

#[tokio::test]
async fn reactions_count_per_emoji_show_the_callers_own_and_are_idempotent() {
    let (app, [ann, bob], group) = TestApp::with_group(["Ann", "Bob"]).await;
    let message = app.message(&ann, &group, "lunch?").await;
    assert_eq!(message["reactions"], json!([]));

    reacted(&app, &bob, &message, "👍").await;
    reacted(&app, &bob, &message, "👍").await;
    // A shortcode is the emoji it names; a skin tone is an emoji of its own.
    reacted(&app, &ann, &message, ":+1:").await;
    reacted(&app, &ann, &message, "👍🏽").await;
    assert_eq!(
        reactions_seen_by(&app, &bob, &message).await,
        json!([{"emoji": "👍", "count": 2, "me": true}, {"emoji": "👍🏽", "count": 1, "me": false}])
    );
    let page = app
        .as_user(&ann)
        .get_ok(format!("/api/conversations/{group}/messages"))
        .await;
    assert_eq!(
        page["items"][0]["reactions"],
        json!([{"emoji": "👍", "count": 2, "me": true}, {"emoji": "👍🏽", "count": 1, "me": true}])
    );
    assert_eq!(app.count("SELECT count(*) AS n FROM message_reactions").await, 3);

    unreacted(&app, &bob, &message, ":thumbsup:").await;
    unreact(&app, &bob, &message, "👍")
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(
        reactions_seen_by(&app, &bob, &message).await,
        json!([{"emoji": "👍", "count": 1, "me": false}, {"emoji": "👍🏽", "count": 1, "me": false}])
    );

    // Anything but one emoji is refused, naming the path's `emoji`; nothing is stored.
    for bad in ["abc", ":no_such_code:", "👍👍", "::", "%20"] {
        let problem = react(&app, &bob, &message, bad)
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(problem.errors[0].field, "emoji", "{bad}");
        unreact(&app, &bob, &message, bad)
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }
    assert_eq!(app.count("SELECT count(*) AS n FROM message_reactions").await, 2);
    // Someone outside the conversation may not see the message.
    let outsider = app.register("Out", "out@example.com").await;
    react(&app, &outsider, &message, "👍")
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    unreact(&app, &outsider, &message, "👍🏽")
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn a_message_holds_a_bounded_number_of_distinct_emoji() {
    let app = TestApp::spawn_with(|vars| {
        vars.insert("EPOP_MAX_REACTION_EMOJI".into(), "2".into());
    })
    .await;
    let ann = app.register("Ann", "ann@example.com").await;
    let bob = app.register("Bob", "bob@example.com").await;
    let group = app.group(&ann, "G", &[&bob]).await;
    let message = app.message(&ann, &group, "vote").await;
    reacted(&app, &ann, &message, "🍕").await;
    reacted(&app, &ann, &message, "🍣").await;
    react(&app, &bob, &message, "🌮")
        .await
        .problem(StatusCode::CONFLICT, "conflict");
    // One already there is still welcome.
    reacted(&app, &bob, &message, "🍣").await;
    assert_eq!(
        reactions_seen_by(&app, &bob, &message).await,
        json!([{"emoji": "🍕", "count": 1, "me": false}, {"emoji": "🍣", "count": 2, "me": true}])
    );
}

#[tokio::test]
async fn members_get_the_new_reaction_list_without_anyones_me() {
    let (app, [ann, bob], group) = TestApp::with_group(["Ann", "Bob"]).await;
    let message = app.message(&ann, &group, "ship it").await;
    let mut socket = app.socket(&bob.access_token).await;
    reacted(&app, &ann, &message, "🚀").await;
    let event = loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("message:reactions in time")
            .unwrap()
            .unwrap();
        let text = frame.into_text().unwrap();
        if let Some(body) = text.strip_prefix("42")
            && let Ok(Value::Array(args)) = serde_json::from_str::<Value>(body)
            && args[0] == "message:reactions"
        {
            break args[1].clone();
        }
    };
    assert_eq!(event["message_id"], message["id"]);
    assert_eq!(event["conversation_id"], group.as_str());
    assert_eq!(event["reactions"], json!([{"emoji": "🚀", "count": 1}]));
}
