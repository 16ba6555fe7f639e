//! docs/api.md, Conversations and messages (mark as unread): `POST /api/conversations/{id}/unread` and the socket's
//! `message:unread` move the caller's read position to just before a message and tell only the caller's sockets.

use crate::helpers::{TestApp, TestUser, Ws, unread_count};
use crate::socket::{call, next_packet};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn mark_unread(
    app: &TestApp,
    user: &TestUser,
    conversation: &str,
    message: &Value,
) -> crate::client::Answer {
    app.as_user(user)
        .post(
            format!("/api/conversations/{conversation}/unread"),
            json!({"message_id": message["id"]}),
        )
        .await
}

/// Emits `message:unread` with `payload` on `ws` (ack id `id`) and returns its ack.
async fn unread_over(ws: &mut Ws, id: u64, payload: Value) -> Value {
    call(ws, id, "message:unread", payload).await
}

/// The next of the events called one of `names` on `ws`: `(name, payload)`.
async fn next_of(ws: &mut Ws, names: &[&str]) -> (String, Value) {
    loop {
        let text = next_packet(ws, "an event").await;
        if let Some(body) = text.strip_prefix("42")
            && let Ok(Value::Array(args)) = serde_json::from_str::<Value>(body)
            && let Some(name) = args[0].as_str()
            && names.contains(&name)
        {
            return (name.to_owned(), args[1].clone());
        }
    }
}

#[tokio::test]
async fn marking_a_message_unread_moves_the_read_position_back_and_tells_only_the_caller() {
    let (app, [ann, bob], group) = TestApp::with_group(["Ann", "Bob"]).await;
    let first = app.message(&ann, &group, "one").await;
    let second = app.message(&ann, &group, &format!("two <@{}>", bob.id)).await;
    app.message(&ann, &group, "three").await;
    app.as_user(&bob)
        .post(format!("/api/conversations/{group}/read"), json!({}))
        .await
        .empty(StatusCode::NO_CONTENT);
    assert_eq!(unread_count(&app, &bob, &group).await, 0);

    let mut bob_phone = app.socket(&bob.access_token).await;
    let mut ann_socket = app.socket(&ann.access_token).await;
    mark_unread(&app, &bob, &group, &second)
        .await
        .empty(StatusCode::NO_CONTENT);
    let conversation = app
        .as_user(&bob)
        .get_ok(format!("/api/conversations/{group}"))
        .await;
    assert_eq!(conversation["unread_count"], 2);
    assert_eq!(
        conversation["unread_mention_count"], 1,
        "the mention is unread again"
    );
    let (name, read) = next_of(&mut bob_phone, &["message:read"]).await;
    assert_eq!(name, "message:read");
    assert_eq!(read["conversation_id"], group.as_str());
    assert_eq!(read["user_id"], bob.id.as_str());
    assert_eq!(read["message_id"], first["id"]);
    assert_eq!(read["unread_from"], second["id"]);
    // Other members are not told: the next of Ann's events is her next message, not Bob's read position.
    app.message(&ann, &group, "four").await;
    let (name, payload) = next_of(&mut ann_socket, &["message:read", "message:new"]).await;
    assert_eq!(
        (name.as_str(), &payload["content"]),
        ("message:new", &json!("four"))
    );

    // The first message: nothing is read; again: nothing changes; reading moves forward again.
    mark_unread(&app, &bob, &group, &first)
        .await
        .empty(StatusCode::NO_CONTENT);
    let (_, read) = next_of(&mut bob_phone, &["message:read"]).await;
    assert_eq!(read["message_id"], Value::Null);
    assert_eq!(unread_count(&app, &bob, &group).await, 4);
    mark_unread(&app, &bob, &group, &first)
        .await
        .empty(StatusCode::NO_CONTENT);
    assert_eq!(unread_count(&app, &bob, &group).await, 4);
    // From an earlier position, marking a later message unread moves the position forward to just before it.
    mark_unread(&app, &bob, &group, &second)
        .await
        .empty(StatusCode::NO_CONTENT);
    assert_eq!(unread_count(&app, &bob, &group).await, 3);
}

#[tokio::test]
async fn marking_unread_refuses_what_the_caller_may_not_mark() {
    let (app, [ann, bob, out]) = TestApp::with_users(["Ann", "Bob", "Out"]).await;
    let group = app.group(&ann, "G", &[&bob]).await;
    let other = app.group(&ann, "Other", &[&bob]).await;
    let message = app.message(&ann, &group, "hello").await;
    let elsewhere = app.message(&ann, &other, "elsewhere").await;
    let gone = app.message(&ann, &group, "gone").await;
    app.as_user(&ann)
        .delete_ok(format!("/api/messages/{}", gone["id"].as_str().unwrap()))
        .await;
    let thread_only = app.reply(&bob, &group, &message, "in the thread").await;
    let path = format!("/api/conversations/{group}/unread");
    for (body, field) in [
        (json!({}), "message_id"),
        (json!({"message_id": null}), "message_id"),
        (json!({"message_id": "nope"}), "message_id"),
        (json!({"message_id": 7}), "message_id"),
        (json!({"message_id": elsewhere["id"]}), "message_id"),
        (json!({"message_id": gone["id"]}), "message_id"),
        (json!({"message_id": thread_only["id"]}), "message_id"),
        (json!({"message_id": uuid::Uuid::now_v7()}), "message_id"),
    ] {
        let problem = app.as_user(&bob).post(&path, body.clone()).await.invalid();
        assert_eq!(problem.fields(), [field], "{body}");
    }
    // Not a member, or no such conversation: 404.
    mark_unread(&app, &out, &group, &message)
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    mark_unread(&app, &bob, &uuid::Uuid::now_v7().to_string(), &message)
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    app.as_user(&bob)
        .post(
            "/api/conversations/nope/unread",
            json!({"message_id": message["id"]}),
        )
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");

    // Over the socket: the same rules, answered in the ack.
    let mut socket = app.socket(&bob.access_token).await;
    let ack = unread_over(
        &mut socket,
        1,
        json!({"conversation_id": group, "message_id": message["id"]}),
    )
    .await;
    assert_eq!(ack["ok"], true, "{ack}");
    assert_eq!(unread_count(&app, &bob, &group).await, 1);
    let refused = unread_over(&mut socket, 2, json!({"conversation_id": group})).await;
    assert_eq!(refused["error"]["code"], "validation_failed");
    let refused = unread_over(
        &mut socket,
        3,
        json!({"conversation_id": group, "message_id": elsewhere["id"]}),
    )
    .await;
    assert_eq!(refused["error"]["code"], "validation_failed");
    let mut outsider = app.socket(&out.access_token).await;
    let refused = unread_over(
        &mut outsider,
        1,
        json!({"conversation_id": group, "message_id": message["id"]}),
    )
    .await;
    assert_eq!(refused["error"]["code"], "not_found");
}
