//! docs/api.md, Mentions: `<@USER_ID>`, `<!here>` and `<!all>` read from a message's text, kept to members, shown on
//! the message everywhere, counted per conversation and per followed thread, and notified once.

use crate::helpers::{TestApp, TestUser, conversation_as, followed_threads, notifications_of_kind};
use crate::socket::Events as _;
use crate::socket::call;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

fn mention(user: &TestUser) -> String {
    format!("<@{}>", user.id)
}

async fn mention_count(app: &TestApp, user: &TestUser, id: &str) -> i64 {
    conversation_as(app, user, id).await["unread_mention_count"]
        .as_i64()
        .unwrap()
}

/// `(root content, unread_reply_count, unread_mention_count)` of the user's followed threads.
async fn threads(app: &TestApp, user: &TestUser) -> Vec<(String, i64, i64)> {
    followed_threads(app, user)
        .await
        .into_iter()
        .map(|(root, t)| {
            let count = |field: &str| t[field].as_i64().unwrap();
            (root, count("unread_reply_count"), count("unread_mention_count"))
        })
        .collect()
}

/// The user's notifications of type `mention`, waiting until there are `count` of them.
async fn mention_notifications(app: &TestApp, user: &TestUser, count: usize) -> Vec<Value> {
    notifications_of_kind(
        app,
        user,
        "/api/notifications",
        "mention",
        count,
        Duration::from_secs(10),
    )
    .await
}

/// The `mentions` of the first message on the page `user` reads at `path`.
async fn first_mentions(app: &TestApp, user: &TestUser, path: &str) -> Value {
    app.as_user(user).get_ok(path).await["items"][0]["mentions"].clone()
}

#[tokio::test]
async fn mentions_are_kept_to_members_and_shown_on_the_message_everywhere() {
    let (app, [ann, bob, cat, dan]) = TestApp::with_users(["Ann", "Bob", "Cat", "Dan"]).await;
    let group = app.group(&ann, "G", &[&bob, &dan]).await;
    // Cat is not a member; a second mention of Bob and malformed ones change nothing.
    let text = format!(
        "{} {} {} <@nope> <@{}x> <!all>",
        mention(&bob),
        mention(&cat),
        mention(&bob),
        dan.id
    );
    let sent = app.message(&ann, &group, &text).await;
    assert_eq!(sent["content"], text, "the text is stored as written");
    assert_eq!(sent["mentions"], json!([bob.id]));
    assert_eq!(sent["mentions_all"], true);
    assert_eq!(sent["mentions_here"], false);

    let id = sent["id"].as_str().unwrap();
    let single = app.as_user(&dan).get_ok(format!("/api/messages/{id}")).await;
    let page = app
        .as_user(&dan)
        .get_ok(format!("/api/conversations/{group}/messages"))
        .await;
    let last = conversation_as(&app, &bob, &group).await["last_message"].clone();
    for shown in [&single, &page["items"][0], &last] {
        assert_eq!(shown["mentions"], json!([bob.id]), "{shown}");
        assert_eq!(shown["mentions_all"], true);
        assert_eq!(shown["mentions_here"], false);
    }
    let plain = app.message(&ann, &group, "no mentions").await;
    assert_eq!(plain["mentions"], json!([]));
    assert_eq!(plain["mentions_all"], false);

    // Everyone but the sender is mentioned (Bob by name and by <!all>: once).
    assert_eq!(mention_count(&app, &bob, &group).await, 1);
    assert_eq!(mention_count(&app, &dan, &group).await, 1);
    assert_eq!(mention_count(&app, &ann, &group).await, 0);
    let list = app.as_user(&dan).get_ok("/api/conversations").await;
    assert_eq!(list["items"][0]["unread_mention_count"], 1);

    // Reading clears the count; a new mention counts again.
    app.as_user(&dan)
        .post(format!("/api/conversations/{group}/read"), json!({}))
        .await
        .empty(StatusCode::NO_CONTENT);
    assert_eq!(mention_count(&app, &dan, &group).await, 0);
    let second = app
        .message(&bob, &group, &format!("{} look", mention(&dan)))
        .await;
    assert_eq!(mention_count(&app, &dan, &group).await, 1);

    // An edit re-reads the text: mentions, flags and counts follow it.
    let edited = app
        .as_user(&ann)
        .put(
            format!("/api/messages/{id}"),
            json!({"content": format!("only {}", mention(&dan))}),
        )
        .await
        .json(StatusCode::OK);
    assert_eq!(edited["mentions"], json!([dan.id]));
    assert_eq!(edited["mentions_all"], false);
    assert_eq!(mention_count(&app, &bob, &group).await, 0);
    assert_eq!(mention_count(&app, &dan, &group).await, 1, "read before the edit");
    // A deleted message no longer counts.
    app.as_user(&bob)
        .delete_ok(format!("/api/messages/{}", second["id"].as_str().unwrap()))
        .await;
    assert_eq!(mention_count(&app, &dan, &group).await, 0);

    // Search results carry them too.
    let search = format!("/api/search/messages?q=only&conversation_id={group}");
    assert_eq!(first_mentions(&app, &dan, &search).await, json!([dan.id]));
}

#[tokio::test]
async fn here_mentions_the_members_online_and_all_every_member() {
    let (app, [ann, bob, cat], group) = TestApp::with_group(["Ann", "Bob", "Cat"]).await;
    // Bob is connected; Cat is not.
    let _bob_socket = app.socket(&bob.access_token).await;
    let here = app.message(&ann, &group, "<!here> stand-up").await;
    assert_eq!(here["mentions_here"], true);
    assert_eq!(here["mentions"], json!([]));
    assert_eq!(mention_count(&app, &bob, &group).await, 1);
    assert_eq!(mention_count(&app, &cat, &group).await, 0);
    app.message(&ann, &group, "<!all> release").await;
    assert_eq!(mention_count(&app, &bob, &group).await, 2);
    assert_eq!(mention_count(&app, &cat, &group).await, 1);
}

#[tokio::test]
async fn all_and_here_are_refused_in_conversations_over_the_limit() {
    let app = TestApp::with_settings([("EPOP_MAX_ALL_MENTION_MEMBERS", "2")]).await;
    let [ann, bob, cat] = app.users(["Ann", "Bob", "Cat"]).await;
    let big = app.group(&ann, "Big", &[&bob, &cat]).await;
    let small = app.group(&ann, "Small", &[&bob]).await;
    let before = app.count("SELECT count(*) AS n FROM messages").await;
    for text in ["<!all> hi", "hi <!here>", "<!here><!all>"] {
        let problem = app
            .as_user(&ann)
            .post(
                format!("/api/conversations/{big}/messages"),
                json!({"content": text}),
            )
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let fields: Vec<_> = problem.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["content"], "{text}");
    }
    assert_eq!(app.count("SELECT count(*) AS n FROM messages").await, before);
    assert_eq!(app.count("SELECT count(*) AS n FROM message_mentions").await, 0);
    // A named mention is fine at any size; `<!all>` is fine up to the limit.
    app.message(&ann, &big, &format!("hi {}", mention(&cat))).await;
    app.message(&ann, &small, "<!all> hi").await;
    assert_eq!(mention_count(&app, &bob, &small).await, 1);
    // An edit is held to the same rule.
    let message = app.message(&ann, &big, "plain").await;
    let problem = app
        .as_user(&ann)
        .put(
            format!("/api/messages/{}", message["id"].as_str().unwrap()),
            json!({"content": "<!all>"}),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(problem.errors[0].field, "content");
    // Over the socket too.
    let mut socket = app.socket(&ann.access_token).await;
    let refused = call(
        &mut socket,
        1,
        "message:send",
        json!({"conversation_id": big, "content": "<!all>"}),
    )
    .await;
    crate::socket::assert_invalid_ack(&refused, "content");
}

#[tokio::test]
async fn a_mention_notifies_the_mentioned_member_once_online_or_not() {
    let (app, [ann, bob, cat], group) = TestApp::with_group(["Ann", "Bob", "Cat"]).await;
    let mut bob_socket = app.socket(&bob.access_token).await;
    let message = app
        .message(
            &ann,
            &group,
            &format!("{} {} ship it", mention(&bob), mention(&cat)),
        )
        .await;

    // Bob is online: no `message` notification, but the mention, live too.
    let live = bob_socket.event("notification:new").await;
    assert_eq!(live["type"], "mention");
    for user in [&bob, &cat] {
        let found = mention_notifications(&app, user, 1).await;
        assert_eq!(found.len(), 1);
        let payload = &found[0]["payload"];
        assert_eq!(payload["conversation_id"], group.as_str());
        assert_eq!(payload["message_id"], message["id"]);
        assert_eq!(payload["sender_id"], ann.id.as_str());
        assert_eq!(payload["thread_root_id"], Value::Null);
        assert!(payload["preview"].as_str().unwrap().ends_with("ship it"));
    }
    // The sender mentioning themself gets nothing; the jobs never add a second notification.
    app.message(&ann, &group, &format!("note to self {}", mention(&ann)))
        .await;
    app.message(&bob, &group, "plain").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        app.count("SELECT count(*) AS n FROM notifications WHERE kind = 'mention'")
            .await,
        2
    );
}

#[tokio::test]
async fn a_mention_in_a_reply_follows_the_thread_and_counts_there() {
    let (app, [ann, bob, cat], group) = TestApp::with_group(["Ann", "Bob", "Cat"]).await;
    let root = app.message(&ann, &group, "root").await;
    let root_id = root["id"].as_str().unwrap();
    // Cat had unfollowed the thread: a mention follows it again.
    app.as_user(&cat)
        .delete_ok(format!("/api/threads/{root_id}/follow"))
        .await;
    let reply = app
        .reply(&bob, &group, &root, &format!("{} see this", mention(&cat)))
        .await;
    assert_eq!(reply["mentions"], json!([cat.id]));
    assert_eq!(threads(&app, &cat).await, [("root".to_owned(), 1, 1)]);
    // A reply only in its thread is not counted in the conversation.
    assert_eq!(mention_count(&app, &cat, &group).await, 0);
    let replies = format!("/api/messages/{root_id}/replies");
    assert_eq!(first_mentions(&app, &cat, &replies).await, json!([cat.id]));
    let found = mention_notifications(&app, &cat, 1).await;
    assert_eq!(found[0]["payload"]["thread_root_id"], root["id"]);

    // Sent to the conversation too: counted in both.
    app.as_user(&bob)
        .post_created(
            format!("/api/conversations/{group}/messages"),
            json!({"content": format!("{} again", mention(&cat)), "thread_root_id": root_id,
                   "send_to_conversation": true}),
        )
        .await;
    assert_eq!(threads(&app, &cat).await, [("root".to_owned(), 2, 2)]);
    assert_eq!(mention_count(&app, &cat, &group).await, 1);

    // Reading the thread clears its count; the others' threads list nothing for Cat's mentions.
    app.as_user(&cat)
        .send(Method::POST, format!("/api/threads/{root_id}/read"), None)
        .await
        .empty(StatusCode::NO_CONTENT);
    assert_eq!(threads(&app, &cat).await, [("root".to_owned(), 0, 0)]);
    assert_eq!(threads(&app, &ann).await, [("root".to_owned(), 2, 0)]);
}

#[tokio::test]
async fn mentions_sent_over_the_socket_reach_members_in_message_new() {
    let (app, [ann, bob], group) = TestApp::with_group(["Ann", "Bob"]).await;
    let mut ann_socket = app.socket(&ann.access_token).await;
    let mut bob_socket = app.socket(&bob.access_token).await;
    let ack = call(
        &mut ann_socket,
        1,
        "message:send",
        json!({"conversation_id": group, "content": format!("{} <!here>", mention(&bob))}),
    )
    .await;
    assert_eq!(ack["ok"], true, "{ack}");
    assert_eq!(ack["message"]["mentions"], json!([bob.id]));
    let new = bob_socket.event("message:new").await;
    assert_eq!(new["mentions"], json!([bob.id]));
    assert_eq!(new["mentions_here"], true);
    assert_eq!(new["mentions_all"], false);
    assert_eq!(mention_count(&app, &bob, &group).await, 1);
}

/// Waits until every event written so far has been published and every notification job it caused has run.
async fn notifications_settled(app: &TestApp) {
    let within = Duration::from_secs(10);
    let unpublished = "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL";
    crate::helpers::wait_for_none(app, unpublished, within, "events left unpublished").await;
    let pending = "SELECT count(*) AS n FROM jobs WHERE queue = 'notifications' AND status <> 'done'";
    crate::helpers::wait_for_none(app, pending, within, "notification jobs left").await;
}

#[tokio::test]
async fn an_edit_that_mentions_a_member_anew_notifies_them_once_and_removed_mentions_go() {
    let (app, [ann, bob, cat, dan]) = TestApp::with_users(["Ann", "Bob", "Cat", "Dan"]).await;
    // Cat is online throughout: the only notification they get is the mention.
    let mut cat_socket = app.socket(&cat.access_token).await;
    let group = app.group(&ann, "G", &[&bob, &cat, &dan]).await;
    let message = app.message(&ann, &group, &format!("hi {}", mention(&bob))).await;
    let id = message["id"].as_str().unwrap();
    let edit = |content: String| {
        let app = &app;
        let ann = &ann;
        async move {
            app.as_user(ann)
                .put(format!("/api/messages/{id}"), json!({ "content": content }))
                .await
                .json(StatusCode::OK)
        }
    };
    assert_eq!(mention_notifications(&app, &bob, 1).await.len(), 1);

    // Cat is mentioned by the edit: stored, counted, notified (live too); Bob, mentioned before, is not again.
    let edited = edit(format!("hi {} and {}", mention(&bob), mention(&cat))).await;
    assert_eq!(edited["mentions"], json!([bob.id, cat.id]));
    assert_eq!(mention_count(&app, &cat, &group).await, 1);
    let live = cat_socket.event("notification:new").await;
    assert_eq!(live["type"], "mention");
    assert_eq!(live["payload"]["message_id"], id);
    let found = mention_notifications(&app, &cat, 1).await;
    assert_eq!(found[0]["payload"]["message_id"], id);
    assert_eq!(found[0]["payload"]["sender_id"], ann.id.as_str());
    assert!(
        found[0]["payload"]["preview"].as_str().unwrap().contains(" and "),
        "the edited text"
    );

    // Editing again with the same mentions notifies no one; removing Cat's mention removes it from the counts.
    edit(format!("hello {} and {}", mention(&bob), mention(&cat))).await;
    let without = edit(format!("hello {}", mention(&bob))).await;
    assert_eq!(without["mentions"], json!([bob.id]));
    assert_eq!(mention_count(&app, &cat, &group).await, 0);
    assert_eq!(mention_count(&app, &bob, &group).await, 1);
    notifications_settled(&app).await;
    let mentions_of = |user: &TestUser| {
        format!(
            "SELECT count(*) AS n FROM notifications WHERE kind = 'mention' AND user_id = '{}'",
            user.id
        )
    };
    assert_eq!(
        app.count(&mentions_of(&bob)).await,
        1,
        "Bob was mentioned from the start"
    );
    assert_eq!(
        app.count(&mentions_of(&cat)).await,
        1,
        "once for the edit that added Cat"
    );
    assert_eq!(
        app.count("SELECT count(*) AS n FROM message_mentions").await,
        1,
        "only Bob's mention is stored"
    );

    // A reply edited to mention Dan: Dan follows its thread, with the mention unread there.
    let root = app.message(&bob, &group, "root").await;
    let reply = app
        .reply(&ann, root["conversation_id"].as_str().unwrap(), &root, "a reply")
        .await;
    assert!(threads(&app, &dan).await.is_empty());
    app.as_user(&ann)
        .put(
            format!("/api/messages/{}", reply["id"].as_str().unwrap()),
            json!({"content": format!("a reply for {}", mention(&dan))}),
        )
        .await
        .json(StatusCode::OK);
    assert_eq!(threads(&app, &dan).await, [("root".to_owned(), 1, 1)]);
    let dan_found = mention_notifications(&app, &dan, 1).await;
    assert_eq!(dan_found[0]["payload"]["thread_root_id"], root["id"]);
}
