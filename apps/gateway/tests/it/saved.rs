//! docs/api.md, Reminders and Saved messages: a user's own marks on messages they may see.

use crate::client::Call;
use crate::helpers::{
    TestApp, TestUser, assert_paging_checked, elements, notifications_of_kind, pluck, wait_for_none,
};
use crate::socket::Events as _;
use chrono::{Duration as Span, SecondsFormat, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

fn in_seconds(seconds: i64) -> String {
    (Utc::now() + Span::seconds(seconds)).to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn id_of(value: &Value) -> &str {
    value["id"].as_str().unwrap()
}

async fn remind(app: &TestApp, user: &TestUser, message: &Value, seconds: i64) -> Value {
    app.as_user(user)
        .post_created(
            format!("/api/messages/{}/reminders", id_of(message)),
            json!({"remind_at": in_seconds(seconds)}),
        )
        .await
}

/// The user's `reminder` notifications, once there are `count` (within 15 seconds).
async fn wait_for_reminders(app: &TestApp, user: &TestUser, count: usize) -> Vec<Value> {
    let within = Duration::from_secs(15);
    notifications_of_kind(app, user, "/api/notifications", "reminder", count, within).await
}

/// `user` saves `message` (by its id), which must be accepted.
async fn save(app: &TestApp, user: &TestUser, message: &str) {
    app.as_user(user)
        .put_empty(saved_path(message))
        .await
        .empty(StatusCode::NO_CONTENT);
}

fn saved_path(message: &str) -> String {
    format!("/api/messages/{message}/saved")
}

#[tokio::test]
async fn a_reminder_notifies_its_owner_at_its_time_once() {
    let (app, [ann, bob], direct) = TestApp::with_direct().await;
    let message = app.message(&bob, &direct, "call the bank").await;
    let answer = app
        .as_user(&ann)
        .post(
            format!("/api/messages/{}/reminders", id_of(&message)),
            json!({"remind_at": in_seconds(2)}),
        )
        .await;
    let reminder = answer.json(StatusCode::CREATED);
    let path = format!("/api/reminders/{}", id_of(&reminder));
    assert_eq!(answer.header("location"), Some(path.as_str()));
    assert_eq!(reminder["message_id"], message["id"]);
    assert_eq!(reminder["conversation_id"], direct);
    assert_eq!(app.as_user(&ann).get_ok(&path).await, reminder);
    app.as_user(&bob).get(&path).await.not_found();
    let mine = app.as_user(&ann).get_ok("/api/reminders").await;
    assert_eq!(pluck(&mine, "id"), [id_of(&reminder)]);
    let theirs = app.as_user(&bob).get_ok("/api/reminders").await;
    assert_eq!(theirs["items"], json!([]));

    let reminders = wait_for_reminders(&app, &ann, 1).await;
    let payload = &reminders[0]["payload"];
    assert_eq!(payload["reminder_id"], reminder["id"]);
    assert_eq!(payload["message_id"], message["id"]);
    assert_eq!(payload["conversation_id"], direct);
    assert_eq!(payload["preview"], "call the bank");
    // Done: gone from the list; a repeated run of its job notifies nobody again.
    app.as_user(&ann).get(&path).await.not_found();
    let id: epop_core::ReminderId = id_of(&reminder).parse().unwrap();
    app.state.chat.announce_reminder(id).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(wait_for_reminders(&app, &ann, 1).await.len(), 1);
    let bob_reminders = app.as_user(&bob).get_ok("/api/notifications").await;
    assert!(!elements(&bob_reminders["items"]).any(|n| n["type"] == "reminder"));
}

#[tokio::test]
async fn reminders_are_listed_soonest_first_and_may_be_cancelled() {
    let (app, [ann, bob], group) = TestApp::with_group(["Ann", "Bob"]).await;
    let message = app.message(&bob, &group, "m").await;
    let later = remind(&app, &ann, &message, 7200).await;
    let sooner = remind(&app, &ann, &message, 3600).await;
    let pages = app.every_page(&ann, "/api/reminders?limit=1").await;
    let seen: Vec<String> = pages.iter().flat_map(|p| pluck(p, "id")).collect();
    assert_eq!(seen, [id_of(&sooner), id_of(&later)]);

    let path = format!("/api/reminders/{}", id_of(&sooner));
    app.as_user(&bob).delete(&path).await.not_found();
    app.as_user(&ann).delete_ok(&path).await;
    app.as_user(&ann).delete(&path).await.not_found();
    let mine = app.as_user(&ann).get_ok("/api/reminders").await;
    assert_eq!(pluck(&mine, "id"), [id_of(&later)]);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM jobs WHERE queue = 'reminders'")
            .await,
        1,
        "the cancelled reminder's job is gone"
    );
    // A reminder being announced can no longer be cancelled.
    app.sql("UPDATE jobs SET status = 'running', locked_at = now() WHERE queue = 'reminders'")
        .await;
    app.as_user(&ann)
        .delete(format!("/api/reminders/{}", id_of(&later)))
        .await
        .conflict();
}

#[tokio::test]
async fn bad_reminders_are_refused_and_store_nothing() {
    let (app, [ann, bob, out], direct) =
        TestApp::direct_with_outsider([("EPOP_MAX_PENDING_REMINDERS", "1")]).await;
    let message = app.message(&bob, &direct, "m").await;
    let path = format!("/api/messages/{}/reminders", id_of(&message));
    for (body, field) in [
        (json!({}), "remind_at"),
        (json!({"remind_at": in_seconds(-1)}), "remind_at"),
        (json!({"remind_at": in_seconds(400 * 86_400)}), "remind_at"),
        (json!({"remind_at": "soon"}), "remind_at"),
        (json!({"remind_at": 12}), "remind_at"),
    ] {
        app.as_user(&ann).post(&path, body).await.invalid_fields(&[field]);
    }
    let body = json!({"remind_at": in_seconds(60)});
    app.as_user(&out).all_not_found([Call::post(&path, &body)]).await;
    app.as_user(&ann)
        .all_not_found([
            Call::post(format!("/api/messages/{}/reminders", uuid::Uuid::now_v7()), &body),
            Call::post("/api/messages/nope/reminders", &body),
            Call::get(format!("/api/reminders/{}", uuid::Uuid::now_v7())),
        ])
        .await;
    assert_eq!(app.count("SELECT count(*) AS n FROM message_reminders").await, 0);
    // Bounded per user.
    app.as_user(&ann).post_created(&path, &body).await;
    app.as_user(&ann).post(&path, &body).await.conflict();
    app.as_user(&bob).post_created(&path, &body).await;
    // Paging errors.
    assert_paging_checked(&app, &ann, "/api/reminders", "nonsense", &["101"]).await;
}

#[tokio::test]
async fn a_reminder_about_a_deleted_message_goes_silently() {
    let (app, [ann, bob], direct) = TestApp::with_direct().await;
    let gone = app.message(&bob, &direct, "gone").await;
    let kept = app.message(&bob, &direct, "kept").await;
    remind(&app, &ann, &gone, 1).await;
    app.as_user(&bob)
        .delete_ok(format!("/api/messages/{}", id_of(&gone)))
        .await;
    remind(&app, &ann, &kept, 2).await;
    let reminders = wait_for_reminders(&app, &ann, 1).await;
    assert_eq!(reminders[0]["payload"]["message_id"], kept["id"]);
    let waiting = "SELECT count(*) AS n FROM jobs WHERE queue = 'reminders' AND status <> 'done'";
    wait_for_none(&app, waiting, Duration::from_secs(15), "jobs still waiting").await;
    assert_eq!(wait_for_reminders(&app, &ann, 1).await.len(), 1);
}

#[tokio::test]
async fn saved_messages_are_the_callers_own_list() {
    let (app, [ann, bob, cat], group) = TestApp::with_group(["Ann", "Bob", "Cat"]).await;
    let first = app.message(&bob, &group, "first").await;
    let second = app.message(&bob, &group, "second").await;
    let saved = |m: &Value| saved_path(id_of(m));

    save(&app, &ann, id_of(&first)).await;
    save(&app, &ann, id_of(&second)).await;
    // Idempotent.
    save(&app, &ann, id_of(&first)).await;
    let page = app.as_user(&ann).get_ok("/api/saved-messages").await;
    assert_eq!(
        pluck(&page, "/message/content"),
        ["second", "first"],
        "most recently saved first"
    );
    assert!(page["items"][0]["saved_at"].is_string());
    let pages = app.every_page(&ann, "/api/saved-messages?limit=1").await;
    assert_eq!(
        pages
            .iter()
            .filter(|p| !p["items"].as_array().unwrap().is_empty())
            .count(),
        2
    );
    let theirs = app.as_user(&cat).get_ok("/api/saved-messages").await;
    assert_eq!(theirs["items"], json!([]));

    // Forgotten; forgetting again is 404.
    app.as_user(&ann).delete_ok(saved(&second)).await;
    app.as_user(&ann).delete(saved(&second)).await.not_found();
    app.as_user(&cat).delete(saved(&first)).await.not_found();

    // A deleted message, or one of a conversation the caller left, is no longer listed.
    save(&app, &cat, id_of(&first)).await;
    app.as_user(&cat)
        .delete_ok(format!("/api/conversations/{group}/members/{}", cat.id))
        .await;
    let theirs = app.as_user(&cat).get_ok("/api/saved-messages").await;
    assert_eq!(theirs["items"], json!([]));
    app.as_user(&bob)
        .delete_ok(format!("/api/messages/{}", id_of(&first)))
        .await;
    let page = app.as_user(&ann).get_ok("/api/saved-messages").await;
    assert_eq!(page["items"], json!([]));
}

#[tokio::test]
async fn saving_needs_a_visible_message_and_is_bounded() {
    let (app, [ann, bob, out], direct) =
        TestApp::direct_with_outsider([("EPOP_MAX_SAVED_MESSAGES", "1")]).await;
    let first = id_of(&app.message(&bob, &direct, "1").await).to_owned();
    let second = id_of(&app.message(&bob, &direct, "2").await).to_owned();
    app.as_user(&out)
        .all_not_found([
            Call::put_empty(saved_path(&first)),
            Call::delete(saved_path(&first)),
        ])
        .await;
    app.as_user(&ann)
        .all_not_found([
            Call::put_empty(saved_path(&uuid::Uuid::now_v7().to_string())),
            Call::put_empty(saved_path("nope")),
        ])
        .await;
    save(&app, &ann, &first).await;
    app.as_user(&ann).put_empty(saved_path(&second)).await.conflict();
    // Saving one already saved still works at the limit.
    save(&app, &ann, &first).await;
    assert_paging_checked(&app, &ann, "/api/saved-messages", "bad", &["x"]).await;
}

#[tokio::test]
async fn the_owners_own_sockets_follow_their_reminders() {
    let (app, [ann, bob]) = TestApp::with_users(["Ann", "Bob"]).await;
    let [mut ann_socket, mut bob_socket] = [
        app.socket(&ann.access_token).await,
        app.socket(&bob.access_token).await,
    ];
    let group = app.group(&ann, "G", &[&bob]).await;
    let message = app.message(&bob, &group, "call the bank").await;
    let gone = |reminder: &Value, reason: &str| json!({"id": reminder["id"], "message_id": message["id"], "conversation_id": group, "reason": reason});

    // Set, then cancelled.
    let first = remind(&app, &ann, &message, 3600).await;
    assert_eq!(ann_socket.event("reminder:new").await, first);
    app.as_user(&ann)
        .delete_ok(format!("/api/reminders/{}", id_of(&first)))
        .await;
    assert_eq!(
        ann_socket.event("reminder:deleted").await,
        gone(&first, "cancelled")
    );

    // Its time comes: gone from the list, with the notification.
    let second = remind(&app, &ann, &message, 3600).await;
    crate::helpers::due_now(&app, "reminders").await;
    assert_eq!(ann_socket.event("reminder:deleted").await, gone(&second, "fired"));
    assert_eq!(ann_socket.event("notification:new").await["type"], "reminder");

    // Its message deleted meanwhile: gone silently.
    let third = remind(&app, &ann, &message, 3600).await;
    app.as_user(&bob)
        .delete_ok(format!("/api/messages/{}", id_of(&message)))
        .await;
    crate::helpers::due_now(&app, "reminders").await;
    assert_eq!(
        ann_socket.event("reminder:deleted").await,
        gone(&third, "dropped")
    );
    assert_eq!(
        wait_for_reminders(&app, &ann, 1).await.len(),
        1,
        "only the one that came"
    );

    // Bob heard nothing of Ann's reminders.
    app.message(&ann, &group, "done").await;
    let (before, _) = crate::socket::events_before(&mut bob_socket, "message:new").await;
    assert!(
        before.iter().all(|name| !name.starts_with("reminder:")),
        "{before:?}"
    );
}
