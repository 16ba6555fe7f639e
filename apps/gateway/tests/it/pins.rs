//! docs/api.md, Pins and Edit history: messages pinned in their conversation (`conversation:pins`), and the texts
//! a message had before its edits.

use crate::client::Call;
use crate::helpers::{TestApp, TestUser, assert_paging_checked, pluck};
use crate::socket::Events as _;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn id_of(value: &Value) -> &str {
    value["id"].as_str().unwrap()
}

fn pin_path(message: &Value) -> String {
    format!("/api/messages/{}/pin", id_of(message))
}

fn pinned_contents(page: &Value) -> Vec<String> {
    pluck(page, "/message/content")
}

/// `user` pins `message`, which must be accepted.
async fn pin(app: &TestApp, user: &TestUser, message: &Value) {
    app.as_user(user)
        .put_empty(pin_path(message))
        .await
        .empty(StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn members_pin_and_unpin_messages_and_every_member_is_told() {
    let (app, [ann, bob, cat], group) = TestApp::with_group(["Ann", "Bob", "Cat"]).await;
    let first = app.message(&ann, &group, "first").await;
    let second = app.message(&bob, &group, "second").await;
    let mut cat_socket = app.socket(&cat.access_token).await;

    pin(&app, &bob, &first).await;
    let event = cat_socket.event("conversation:pins").await;
    assert_eq!(
        event,
        json!({"conversation_id": group, "message_id": first["id"], "pinned": true, "user_id": bob.id})
    );
    pin(&app, &cat, &second).await;
    // Pinning again changes nothing.
    pin(&app, &ann, &first).await;
    let pins = format!("/api/conversations/{group}/pins");
    let page = app.as_user(&ann).get_ok(&pins).await;
    assert_eq!(
        pinned_contents(&page),
        ["second", "first"],
        "most recently pinned first"
    );
    assert_eq!(page["items"][1]["pinned_by"], bob.id);
    assert!(page["items"][1]["pinned_at"].is_string());
    let pages = app.every_page(&ann, &format!("{pins}?limit=1")).await;
    let seen: Vec<String> = pages.iter().flat_map(pinned_contents).collect();
    assert_eq!(seen, ["second", "first"]);

    // Any member unpins; unpinning what is not pinned is 404.
    app.as_user(&ann).delete_ok(pin_path(&second)).await;
    let _ = cat_socket.event("conversation:pins").await;
    let event = cat_socket.event("conversation:pins").await;
    assert_eq!(event["message_id"], second["id"]);
    assert_eq!(event["pinned"], false);
    app.as_user(&ann).delete(pin_path(&second)).await.not_found();
    // A deleted message's pin goes with it.
    app.as_user(&ann)
        .delete_ok(format!("/api/messages/{}", id_of(&first)))
        .await;
    let page = app.as_user(&cat).get_ok(&pins).await;
    assert_eq!(page["items"], json!([]));
}

#[tokio::test]
async fn pins_need_a_visible_message_and_are_bounded_per_conversation() {
    let (app, [ann, bob, out], direct) = TestApp::direct_with_outsider([("EPOP_MAX_PINS", "1")]).await;
    let first = app.message(&ann, &direct, "1").await;
    let second = app.message(&ann, &direct, "2").await;
    let pins = format!("/api/conversations/{direct}/pins");
    app.as_user(&out)
        .all_not_found([
            Call::put_empty(pin_path(&first)),
            Call::delete(pin_path(&first)),
            Call::get(&pins),
        ])
        .await;
    let unknown = uuid::Uuid::now_v7();
    app.as_user(&ann)
        .all_not_found([
            Call::put_empty(pin_path(&json!({"id": unknown}))),
            Call::put_empty("/api/messages/nope/pin"),
            Call::get(format!("/api/conversations/{unknown}/pins")),
        ])
        .await;
    assert_paging_checked(&app, &ann, &pins, "bad", &["0"]).await;

    pin(&app, &ann, &first).await;
    app.as_user(&bob).put_empty(pin_path(&second)).await.conflict();
    // The one pinned already may be pinned again.
    pin(&app, &bob, &first).await;
    assert_eq!(app.count("SELECT count(*) AS n FROM message_pins").await, 1);
}

#[tokio::test]
async fn an_edited_message_keeps_its_earlier_texts_for_its_members() {
    let (app, [ann, bob, out], direct) = TestApp::direct_with_outsider([]).await;
    let message = app.message(&ann, &direct, "v1").await;
    let path = format!("/api/messages/{}", id_of(&message));
    let history = format!("{path}/history");
    let page = app.as_user(&bob).get_ok(&history).await;
    assert_eq!(page["items"], json!([]), "never edited");

    let v2 = app.as_user(&ann).put_ok(&path, json!({"content": "v2"})).await;
    // The same text again is not a new version.
    app.as_user(&ann).put_ok(&path, json!({"content": "v2"})).await;
    app.as_user(&ann).put_ok(&path, json!({"content": "v3"})).await;
    let page = app.as_user(&bob).get_ok(&history).await;
    assert_eq!(pluck(&page, "content"), ["v2", "v1"], "newest first");
    assert_eq!(page["items"][1]["written_at"], message["created_at"]);
    assert!(page["items"][0]["replaced_at"].is_string());
    assert!(v2["edited_at"].is_string());
    assert!(page["items"][0]["written_at"].is_string());
    let pages = app.every_page(&bob, &format!("{history}?limit=1")).await;
    let seen: Vec<String> = pages.iter().flat_map(|p| pluck(p, "content")).collect();
    assert_eq!(seen, ["v2", "v1"]);

    // Members only; a deleted message has no history.
    app.as_user(&out).all_not_found([Call::get(&history)]).await;
    app.as_user(&ann)
        .all_not_found([Call::get(format!(
            "/api/messages/{}/history",
            uuid::Uuid::now_v7()
        ))])
        .await;
    assert_paging_checked(&app, &ann, &history, "bad", &[]).await;
    app.as_user(&ann).delete_ok(&path).await;
    app.as_user(&ann).get(&history).await.not_found();
    assert_eq!(app.count("SELECT count(*) AS n FROM message_edits").await, 0);
}
