//! docs/api.md, Pins and Edit history: messages pinned in their conversation (`conversation:pins`), and the texts
//! a message had before its edits.

use crate::helpers::{TestApp, pluck};
use crate::socket::Events as _;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn id_of(value: &Value) -> &str {
    value["id"].as_str().unwrap()
}

fn pin_path(message: &Value) -> String {
    format!("/api/messages/{}/pin", id_of(message))
}

fn pinned_contents(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["message"]["content"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn members_pin_and_unpin_messages_and_every_member_is_told() {
    let (app, [ann, bob, cat]) = TestApp::with_users(["Ann", "Bob", "Cat"]).await;
    let group = app.group(&ann, "G", &[&bob, &cat]).await;
    let first = app.message(&ann, &group, "first").await;
    let second = app.message(&bob, &group, "second").await;
    let mut cat_socket = app.socket(&cat.access_token).await;

    app.as_user(&bob)
        .send(Method::PUT, pin_path(&first), None)
        .await
        .empty(StatusCode::NO_CONTENT);
    let event = cat_socket.event("conversation:pins").await;
    assert_eq!(
        event,
        json!({"conversation_id": group, "message_id": first["id"], "pinned": true, "user_id": bob.id})
    );
    app.as_user(&cat)
        .send(Method::PUT, pin_path(&second), None)
        .await
        .empty(StatusCode::NO_CONTENT);
    // Pinning again changes nothing.
    app.as_user(&ann)
        .send(Method::PUT, pin_path(&first), None)
        .await
        .empty(StatusCode::NO_CONTENT);
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
    let app = TestApp::with_settings([("EPOP_MAX_PINS", "1")]).await;
    let [ann, bob, out] = app.users(["Ann", "Bob", "Out"]).await;
    let direct = app.direct(&ann, &bob).await;
    let first = app.message(&ann, &direct, "1").await;
    let second = app.message(&ann, &direct, "2").await;
    app.as_user(&out)
        .send(Method::PUT, pin_path(&first), None)
        .await
        .not_found();
    app.as_user(&out).delete(pin_path(&first)).await.not_found();
    app.as_user(&ann)
        .send(Method::PUT, pin_path(&json!({"id": uuid::Uuid::now_v7()})), None)
        .await
        .not_found();
    app.as_user(&ann)
        .send(Method::PUT, "/api/messages/nope/pin", None)
        .await
        .not_found();
    app.as_user(&out)
        .get(format!("/api/conversations/{direct}/pins"))
        .await
        .not_found();
    app.as_user(&ann)
        .get(format!("/api/conversations/{}/pins", uuid::Uuid::now_v7()))
        .await
        .not_found();
    app.as_user(&ann)
        .get(format!("/api/conversations/{direct}/pins?cursor=bad"))
        .await
        .problem(StatusCode::BAD_REQUEST, "bad_request");
    app.as_user(&ann)
        .get(format!("/api/conversations/{direct}/pins?limit=0"))
        .await
        .invalid_fields(&["limit"]);

    app.as_user(&ann)
        .send(Method::PUT, pin_path(&first), None)
        .await
        .empty(StatusCode::NO_CONTENT);
    app.as_user(&bob)
        .send(Method::PUT, pin_path(&second), None)
        .await
        .conflict();
    // The one pinned already may be pinned again.
    app.as_user(&bob)
        .send(Method::PUT, pin_path(&first), None)
        .await
        .empty(StatusCode::NO_CONTENT);
    assert_eq!(app.count("SELECT count(*) AS n FROM message_pins").await, 1);
}

#[tokio::test]
async fn an_edited_message_keeps_its_earlier_texts_for_its_members() {
    let (app, [ann, bob, out]) = TestApp::with_users(["Ann", "Bob", "Out"]).await;
    let direct = app.direct(&ann, &bob).await;
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
    app.as_user(&out).get(&history).await.not_found();
    app.as_user(&ann)
        .get(format!("/api/messages/{}/history", uuid::Uuid::now_v7()))
        .await
        .not_found();
    app.as_user(&ann)
        .get(format!("{history}?cursor=bad"))
        .await
        .problem(StatusCode::BAD_REQUEST, "bad_request");
    app.as_user(&ann).delete_ok(&path).await;
    app.as_user(&ann).get(&history).await.not_found();
    assert_eq!(app.count("SELECT count(*) AS n FROM message_edits").await, 0);
}
