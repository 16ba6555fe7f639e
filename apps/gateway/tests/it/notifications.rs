//! docs/api.md, Notifications: created once from domain events, listed, counted, read; delivered
//! live as `notification:new`.

use crate::helpers::{JWT_SECRET, TestApp, elements, eventually, page_when, problem};
use crate::socket::Events as _;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

async fn notifications(app: &TestApp, token: &str, query: &str) -> Value {
    app.as_token(token)
        .get_ok(format!("/api/notifications{query}"))
        .await
}

/// Waits until the user has `count` notifications (they are created by the outbox relay, asynchronously).
async fn wait_for(app: &TestApp, token: &str, count: usize) -> Value {
    let within = Duration::from_secs(5);
    page_when(
        &app.as_token(token),
        "/api/notifications",
        within,
        "notifications",
        |page| elements(&page["items"]).len() >= count,
    )
    .await
}

#[tokio::test]
async fn a_message_notifies_members_without_a_live_connection_only() {
    let (app, [ann, bob, cat], group) = TestApp::with_group(["Ann", "Bob", "Cat"]).await;

    // Cat is connected; Bob is not.
    let _cat_socket = app.socket(&cat.access_token).await;

    let long = "x".repeat(300);
    let message = app.message(&ann, &group, &long).await;
    let page = wait_for(&app, &bob.access_token, 1).await;
    assert_eq!(page["unread_count"], 1);
    let notification = &page["items"][0];
    assert_eq!(notification["type"], "message");
    assert_eq!(notification["is_read"], false);
    assert_eq!(notification["payload"]["conversation_id"], group.as_str());
    assert_eq!(notification["payload"]["message_id"], message["id"]);
    assert_eq!(notification["payload"]["sender_id"], ann.id.as_str());
    assert_eq!(
        notification["payload"]["preview"]
            .as_str()
            .unwrap()
            .chars()
            .count(),
        140
    );

    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        notifications(&app, &cat.access_token, "").await["items"],
        json!([]),
        "a connected member gets none"
    );
    assert_eq!(
        notifications(&app, &ann.access_token, "").await["items"],
        json!([]),
        "the sender gets none"
    );
    // Exactly once, whatever the relay does.
    assert_eq!(app.count("SELECT count(*) AS n FROM notifications").await, 1);
}

#[tokio::test]
async fn messages_of_a_conversation_coalesce_into_one_unread_notification() {
    let (app, [ann, bob, cat], group) = TestApp::with_group(["Ann", "Bob", "Cat"]).await;
    let other = app.group(&cat, "H", &[&bob]).await;

    app.message(&ann, &group, "first").await;
    wait_for(&app, &bob.access_token, 1).await;
    app.message(&cat, &other, "elsewhere").await;
    wait_for(&app, &bob.access_token, 2).await;
    app.message(&cat, &group, "second").await;
    let last = app.message(&ann, &group, "third").await;
    let page = eventually(Duration::from_secs(5), || async {
        let page = notifications(&app, &bob.access_token, "").await;
        if page["items"][0]["payload"]["count"] == 3 {
            Ok(page)
        } else {
            Err(format!("the notification was not updated: {page}"))
        }
    })
    .await;
    // One notification per conversation; the group's names its latest message and moved to the top.
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{page}");
    assert_eq!(page["unread_count"], 2);
    let coalesced = &items[0];
    assert_eq!(coalesced["type"], "message");
    assert_eq!(coalesced["payload"]["conversation_id"], group.as_str());
    assert_eq!(coalesced["payload"]["message_id"], last["id"]);
    assert_eq!(coalesced["payload"]["sender_id"], ann.id.as_str());
    assert_eq!(coalesced["payload"]["preview"], "third");
    assert_eq!(coalesced["created_at"], last["created_at"]);
    assert_eq!(items[1]["payload"]["conversation_id"], other.as_str());
    assert_eq!(items[1]["payload"]["count"], 1);
    // Cat sent one of the three: hers counts the other two.
    let cats = wait_for(&app, &cat.access_token, 1).await;
    assert_eq!(cats["items"][0]["payload"]["count"], 2, "{cats}");
    assert_eq!(cats["items"][0]["payload"]["preview"], "third");

    // Once read, the next message starts a new notification.
    let id = coalesced["id"].as_str().unwrap();
    app.as_user(&bob)
        .send(Method::POST, format!("/api/notifications/{id}/read"), None)
        .await
        .empty(StatusCode::NO_CONTENT);
    app.message(&ann, &group, "fourth").await;
    let page = wait_for(&app, &bob.access_token, 3).await;
    assert_eq!(page["items"][0]["payload"]["preview"], "fourth");
    assert_eq!(page["items"][0]["payload"]["count"], 1);
    assert_eq!(page["items"][0]["is_read"], false);
    assert_eq!(page["unread_count"], 2);
}

#[tokio::test]
async fn an_offline_member_is_notified_once_per_interval_then_gets_a_digest() {
    // 21 members notify every message only when the default level of a group that size is `all`.
    let settings = [
        ("EPOP_NOTIFICATION_INTERVAL", "1"),
        ("EPOP_NOTIFY_ALL_MAX_MEMBERS", "25"),
    ];
    let (app, [ann]) = TestApp::with_settings_and_users(settings, ["Ann"]).await;
    let mut members = Vec::new();
    for i in 0..20 {
        members.push(app.register(&format!("M{i}"), &format!("m{i}@example.com")).await);
    }
    let refs: Vec<_> = members.iter().collect();
    let group = app.group(&ann, "Big", &refs).await;
    for i in 0..5 {
        app.message(&ann, &group, &format!("burst {i}")).await;
    }
    let deliveries = "SELECT count(*) AS n FROM outbox WHERE event_type = 'notification_created'";
    // Every member ends with one notification counting all five messages, delivered twice at most: when it
    // was created, and as the digest of the rest once the interval is over.
    eventually(Duration::from_secs(10), || async {
        let counted = app
            .count("SELECT count(*) AS n FROM notifications WHERE (payload->>'count')::int = 5")
            .await;
        let due = app
            .count("SELECT count(*) AS n FROM notifications WHERE digest_due_at IS NOT NULL")
            .await;
        if counted == 20 && due == 0 {
            Ok(())
        } else {
            Err(format!(
                "not coalesced and digested: {counted} complete, {due} digests due"
            ))
        }
    })
    .await;
    assert_eq!(app.count("SELECT count(*) AS n FROM notifications").await, 20);
    let delivered = app.count(deliveries).await;
    assert!(
        (20..=40).contains(&delivered),
        "one delivery when created and at most one digest per member, not one per message: {delivered}"
    );
    // The last delivery of each member is the complete digest.
    assert_eq!(
        app.count(
            "SELECT count(*) AS n FROM (SELECT DISTINCT ON (payload->>'user_id') payload FROM outbox \
             WHERE event_type = 'notification_created' ORDER BY payload->>'user_id', id DESC) AS last \
             WHERE (payload->'notification'->'payload'->>'count')::int = 5"
        )
        .await,
        20
    );
    let page = wait_for(&app, &members[0].access_token, 1).await;
    assert_eq!(page["items"][0]["payload"]["count"], 5);
    assert_eq!(page["items"][0]["payload"]["preview"], "burst 4");
}

#[tokio::test]
async fn notifications_are_listed_newest_first_and_marked_read() {
    let (app, [ann, bob]) = TestApp::with_users(["Ann", "Bob"]).await;
    // Three conversations: one notification each (messages of one conversation coalesce, see below).
    for i in 0..3 {
        let group = app.group(&ann, &format!("G{i}"), &[&bob]).await;
        app.message(&ann, &group, &format!("m{i}")).await;
        wait_for(&app, &bob.access_token, i + 1).await;
    }
    let page = wait_for(&app, &bob.access_token, 3).await;
    let previews: Vec<_> = elements(&page["items"])
        .map(|n| n["payload"]["preview"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(previews, vec!["m2", "m1", "m0"]);
    assert_eq!(page["unread_count"], 3);

    let paged = notifications(&app, &bob.access_token, "?limit=2").await;
    assert_eq!(paged["items"].as_array().unwrap().len(), 2);
    let cursor = paged["next_cursor"].as_str().unwrap();
    let rest = notifications(&app, &bob.access_token, &format!("?limit=2&cursor={cursor}")).await;
    assert_eq!(rest["items"][0]["payload"]["preview"], "m0");
    assert_eq!(rest["next_cursor"], Value::Null);

    let newest = page["items"][0]["id"].as_str().unwrap();
    app.as_user(&bob)
        .send(Method::POST, format!("/api/notifications/{newest}/read"), None)
        .await
        .empty(StatusCode::NO_CONTENT);
    let unread = notifications(&app, &bob.access_token, "?unread=true").await;
    assert_eq!(unread["items"].as_array().unwrap().len(), 2);
    assert_eq!(unread["unread_count"], 2);

    // Someone else's notification is 404, and stays unread.
    let other = page["items"][1]["id"].as_str().unwrap();
    let foreign = app
        .as_user(&ann)
        .send(Method::POST, format!("/api/notifications/{other}/read"), None)
        .await;
    problem(foreign, StatusCode::NOT_FOUND, "not_found").await;
    app.as_user(&bob)
        .send(Method::POST, "/api/notifications/not-a-uuid/read", None)
        .await
        .not_found();
    assert_eq!(
        notifications(&app, &bob.access_token, "").await["unread_count"],
        2
    );

    app.as_user(&bob)
        .send(Method::POST, "/api/notifications/read-all", None)
        .await
        .empty(StatusCode::NO_CONTENT);
    assert_eq!(
        notifications(&app, &bob.access_token, "").await["unread_count"],
        0
    );
    app.anonymous().get("/api/notifications").await.unauthorized();
    app.as_user(&bob)
        .get("/api/notifications?cursor=zzz")
        .await
        .problem(StatusCode::BAD_REQUEST, "bad_request");
    app.as_user(&bob)
        .get("/api/notifications?unread=maybe")
        .await
        .invalid();
}

#[tokio::test]
async fn notifications_reach_connected_sockets_as_notification_new() {
    let (app, [bob]) = TestApp::with_users(["Bob"]).await;
    let mut socket = app.socket(&bob.access_token).await;
    let _ = JWT_SECRET;
    // A task assignment event, as the projects crate writes it.
    let event = json!({
        "type": "task_assigned",
        "task_id": uuid::Uuid::now_v7(),
        "project_id": uuid::Uuid::now_v7(),
        "title": "Write the report",
        "assigned_to": bob.id,
        "assigned_by": uuid::Uuid::now_v7(),
    });
    app.sql(&format!(
        "INSERT INTO outbox (event_type, payload) VALUES ('task_assigned', '{event}')"
    ))
    .await;
    let notification = socket.event("notification:new").await;
    assert_eq!(notification["type"], "task_assigned");
    assert_eq!(notification["payload"]["title"], "Write the report");
    assert_eq!(notification["is_read"], false);
    let page = notifications(&app, &bob.access_token, "").await;
    assert_eq!(page["items"][0]["type"], "task_assigned");
}
