//! docs/api.md, Scheduled messages: scheduled, listed, changed and cancelled by their sender; posted at
//! `send_at` as a normal message (same events, same rules), once; a sender who left is notified instead.

use crate::helpers::{TestApp, TestUser, assert_paging_checked, elements, eventually, pluck, wait_for_none};
use crate::socket::Events as _;
use chrono::{DateTime, Duration as Span, SecondsFormat, Utc};
use epop_core::DomainEvent;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// An instant `seconds` from now, as RFC 3339.
fn in_seconds(seconds: i64) -> String {
    (Utc::now() + Span::seconds(seconds)).to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn scheduled_path(conversation: &str) -> String {
    format!("/api/conversations/{conversation}/scheduled-messages")
}

fn one(id: &Value) -> String {
    format!("/api/scheduled-messages/{}", id.as_str().unwrap())
}

/// `PATCH`es the scheduled message `id` with `change`, as `user`.
async fn change(app: &TestApp, user: &TestUser, id: &Value, change: Value) -> crate::client::Answer {
    app.as_user(user)
        .send(reqwest::Method::PATCH, one(id), Some(change))
        .await
}

/// Schedules `content` in `conversation` for `seconds` from now.
async fn schedule(
    app: &TestApp,
    sender: &TestUser,
    conversation: &str,
    content: &str,
    seconds: i64,
) -> Value {
    app.as_user(sender)
        .post_created(
            scheduled_path(conversation),
            json!({"content": content, "send_at": in_seconds(seconds)}),
        )
        .await
}

/// The conversation's messages as `user` sees them, once one of them has `content` (within 15 seconds).
async fn wait_for_message(app: &TestApp, user: &TestUser, conversation: &str, content: &str) -> Value {
    let path = format!("/api/conversations/{conversation}/messages");
    eventually(Duration::from_secs(15), || async {
        let page = app.as_user(user).get_ok(&path).await;
        let found = elements(&page["items"])
            .find(|m| m["content"] == content)
            .cloned();
        found.ok_or_else(|| format!("not posted: {page}"))
    })
    .await
}

/// The user's notifications of `kind`, once there is one (within 15 seconds).
async fn wait_for_notification(app: &TestApp, user: &TestUser, kind: &str) -> Value {
    eventually(Duration::from_secs(15), || async {
        let page = app.as_user(user).get_ok("/api/notifications").await;
        let found = elements(&page["items"]).find(|n| n["type"] == kind).cloned();
        found.ok_or_else(|| format!("no {kind}: {page}"))
    })
    .await
}

/// Waits until no scheduled-message job is left to run (all ran, or were cancelled).
async fn wait_for_jobs_done(app: &TestApp) {
    let query = "SELECT count(*) AS n FROM jobs WHERE queue = 'scheduled-messages' AND status <> 'done'";
    wait_for_none(app, query, Duration::from_secs(15), "jobs still waiting").await;
}

#[tokio::test]
async fn a_scheduled_message_is_posted_at_its_time_like_a_message_sent_then() {
    let (app, [ann, bob], direct) = TestApp::with_direct().await;
    let mut events = app.state.events.subscribe();

    let answer = app
        .as_user(&ann)
        .post(
            scheduled_path(&direct),
            json!({"content": "good morning", "send_at": in_seconds(2), "client_id": "later-1"}),
        )
        .await;
    let scheduled = answer.json(StatusCode::CREATED);
    assert_eq!(
        answer.header("location").unwrap(),
        one(&scheduled["id"]),
        "Location points at it"
    );
    assert_eq!(scheduled["conversation_id"], direct);
    assert_eq!(scheduled["content"], "good morning");
    assert_eq!(scheduled["client_id"], "later-1");
    assert_eq!(scheduled["thread_root_id"], Value::Null);
    // Its sender sees it, in the list and alone; nobody else does, and nothing is posted yet.
    let mine = app.as_user(&ann).get_ok("/api/scheduled-messages").await;
    assert_eq!(pluck(&mine, "content"), ["good morning"]);
    let mine = app
        .as_user(&ann)
        .get_ok(format!("/api/scheduled-messages?conversation_id={direct}"))
        .await;
    assert_eq!(pluck(&mine, "content"), ["good morning"]);
    assert_eq!(app.as_user(&ann).get_ok(one(&scheduled["id"])).await, scheduled);
    app.as_user(&bob).get(one(&scheduled["id"])).await.not_found();
    let theirs = app.as_user(&bob).get_ok("/api/scheduled-messages").await;
    assert_eq!(theirs["items"], json!([]));

    // At its time it is posted as Ann's message, with the same events as a message sent then.
    let message = wait_for_message(&app, &bob, &direct, "good morning").await;
    assert_eq!(message["sender_id"], ann.id);
    assert_eq!(message["client_id"], "later-1");
    let send_at: DateTime<Utc> = scheduled["send_at"].as_str().unwrap().parse().unwrap();
    let created_at: DateTime<Utc> = message["created_at"].as_str().unwrap().parse().unwrap();
    assert!(created_at >= send_at, "not before its time");
    let event = loop {
        let event = crate::helpers::next_event(&mut events, "message_created").await;
        if let DomainEvent::MessageCreated { message, .. } = &event.event {
            break message.clone();
        }
    };
    assert_eq!(event.content, "good morning");
    let conversation = app
        .as_user(&bob)
        .get_ok(format!("/api/conversations/{direct}"))
        .await;
    assert_eq!(conversation["unread_count"], 1);
    // It is no longer waiting.
    app.as_user(&ann).get(one(&scheduled["id"])).await.not_found();
    let mine = app.as_user(&ann).get_ok("/api/scheduled-messages").await;
    assert_eq!(mine["items"], json!([]));
    wait_for_jobs_done(&app).await;
}

#[tokio::test]
async fn a_scheduled_reply_is_posted_in_its_thread() {
    let (app, [ann, bob], group) = TestApp::with_group(["Ann", "Bob"]).await;
    let root = app.message(&bob, &group, "root").await;
    let scheduled = app
        .as_user(&ann)
        .post_created(
            scheduled_path(&group),
            json!({"content": "a late reply", "send_at": in_seconds(1), "thread_root_id": root["id"]}),
        )
        .await;
    assert_eq!(scheduled["thread_root_id"], root["id"]);
    assert_eq!(scheduled["send_to_conversation"], false);
    let replies = format!("/api/messages/{}/replies", root["id"].as_str().unwrap());
    let started = Instant::now();
    loop {
        let page = app.as_user(&bob).get_ok(&replies).await;
        if pluck(&page, "content") == ["a late reply"] {
            assert_eq!(page["items"][0]["thread_root_id"], root["id"]);
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "not posted: {page}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let page = app
        .as_user(&bob)
        .get_ok(format!("/api/conversations/{group}/messages"))
        .await;
    assert_eq!(pluck(&page, "content"), ["root"], "a reply stays in its thread");
}

#[tokio::test]
async fn the_sender_may_change_or_cancel_a_scheduled_message_before_its_time() {
    let (app, [ann, bob], direct) = TestApp::with_direct().await;
    let first = schedule(&app, &ann, &direct, "first", 3600).await;
    let second = schedule(&app, &ann, &direct, "second", 1800).await;
    // Soonest first.
    let mine = app.as_user(&ann).get_ok("/api/scheduled-messages").await;
    assert_eq!(pluck(&mine, "content"), ["second", "first"]);
    // Paged without repeats or gaps.
    let pages = app.every_page(&ann, "/api/scheduled-messages?limit=1").await;
    let seen: Vec<String> = pages.iter().flat_map(|p| pluck(p, "content")).collect();
    assert_eq!(seen, ["second", "first"]);

    // A new text; then a new time, which also moves it in the list.
    let changed = app
        .as_user(&ann)
        .patch_ok(one(&first["id"]), json!({"content": "first, edited"}))
        .await;
    assert_eq!(changed["content"], "first, edited");
    assert_eq!(changed["send_at"], first["send_at"]);
    let soon = in_seconds(1);
    let moved = app
        .as_user(&ann)
        .patch_ok(one(&first["id"]), json!({"send_at": soon}))
        .await;
    assert_eq!(moved["content"], "first, edited");
    let mine = app.as_user(&ann).get_ok("/api/scheduled-messages").await;
    assert_eq!(pluck(&mine, "content"), ["first, edited", "second"]);

    // Cancelled: never posted, gone from the list.
    app.as_user(&ann).delete_ok(one(&second["id"])).await;
    app.as_user(&ann).get(one(&second["id"])).await.not_found();
    app.as_user(&ann).delete(one(&second["id"])).await.not_found();

    wait_for_message(&app, &bob, &direct, "first, edited").await;
    wait_for_jobs_done(&app).await;
    let page = app
        .as_user(&bob)
        .get_ok(format!("/api/conversations/{direct}/messages"))
        .await;
    assert_eq!(pluck(&page, "content"), ["first, edited"]);
}

#[tokio::test]
async fn bad_scheduled_messages_are_refused_naming_their_fields_and_store_nothing() {
    let (app, [ann, bob, out]) = TestApp::with_users(["Ann", "Bob", "Out"]).await;
    let group = app.group(&ann, "G", &[&bob]).await;
    let other = app.group(&ann, "Other", &[]).await;
    let root = app.message(&ann, &group, "root").await;
    let reply = app.reply(&bob, &group, &root, "r").await;
    let elsewhere = app.message(&ann, &other, "elsewhere").await;
    let path = scheduled_path(&group);
    let long = "x".repeat(10_001);
    for (body, fields) in [
        (json!({}), vec!["content", "send_at"]),
        (
            json!({"content": "", "send_at": in_seconds(-5)}),
            vec!["content", "send_at"],
        ),
        (
            json!({"content": long, "send_at": in_seconds(60)}),
            vec!["content"],
        ),
        (
            json!({"content": "x", "send_at": in_seconds(-1)}),
            vec!["send_at"],
        ),
        (
            json!({"content": "x", "send_at": in_seconds(400 * 86_400)}),
            vec!["send_at"],
        ),
        (json!({"content": "x", "send_at": "tomorrow"}), vec!["send_at"]),
        (json!({"content": 5, "send_at": in_seconds(60)}), vec!["content"]),
        (
            json!({"content": "x", "send_at": in_seconds(60), "client_id": ""}),
            vec!["client_id"],
        ),
        (
            json!({"content": "x", "send_at": in_seconds(60), "thread_root_id": reply["id"]}),
            vec!["thread_root_id"],
        ),
        (
            json!({"content": "x", "send_at": in_seconds(60), "thread_root_id": elsewhere["id"]}),
            vec!["thread_root_id"],
        ),
        (
            json!({"content": "x", "send_at": in_seconds(60), "thread_root_id": uuid::Uuid::now_v7()}),
            vec!["thread_root_id"],
        ),
        (
            json!({"content": "x", "send_at": in_seconds(60), "send_to_conversation": true}),
            vec!["send_to_conversation"],
        ),
    ] {
        app.as_user(&ann)
            .post(&path, body.clone())
            .await
            .invalid_fields(&fields);
    }
    // A conversation the caller is not in, or none at all, is 404.
    let body = json!({"content": "x", "send_at": in_seconds(60)});
    app.as_user(&out).post(&path, body.clone()).await.not_found();
    app.as_user(&ann)
        .post(scheduled_path(&uuid::Uuid::now_v7().to_string()), body.clone())
        .await
        .not_found();
    app.as_user(&ann)
        .post(scheduled_path("not-a-uuid"), body.clone())
        .await
        .not_found();
    assert_eq!(app.count("SELECT count(*) AS n FROM scheduled_messages").await, 0);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM jobs WHERE queue = 'scheduled-messages'")
            .await,
        0
    );

    // Changing: the same rules; someone else's or an unknown one is 404.
    let scheduled = schedule(&app, &ann, &group, "x", 600).await;
    let patch = |body: Value| app.as_user(&ann).patch(one(&scheduled["id"]), body);
    patch(json!({"send_at": in_seconds(-1)}))
        .await
        .invalid_fields(&["send_at"]);
    patch(json!({"content": "", "send_at": in_seconds(400 * 86_400)}))
        .await
        .invalid_fields(&["content", "send_at"]);
    patch(json!({"content": null, "send_at": 7}))
        .await
        .invalid_fields(&["send_at"]);
    app.as_user(&bob)
        .patch(one(&scheduled["id"]), json!({"content": "mine"}))
        .await
        .not_found();
    app.as_user(&bob).delete(one(&scheduled["id"])).await.not_found();
    app.as_user(&ann)
        .patch(one(&json!(uuid::Uuid::now_v7())), json!({"content": "y"}))
        .await
        .not_found();
    let unchanged = app.as_user(&ann).get_ok(one(&scheduled["id"])).await;
    assert_eq!(unchanged, scheduled);

    // Listing: a conversation the caller is not in is 404; bad paging is 400 or 422.
    app.as_user(&out)
        .get(format!("/api/scheduled-messages?conversation_id={group}"))
        .await
        .not_found();
    assert_paging_checked(&app, &ann, "/api/scheduled-messages", "nonsense", &["0"]).await;
}

#[tokio::test]
async fn a_repeated_client_id_answers_the_first_scheduled_message() {
    let (app, [ann, bob], direct) = TestApp::with_direct().await;
    let body = json!({"content": "once", "send_at": in_seconds(600), "client_id": "k"});
    let first = app
        .as_user(&ann)
        .post_created(scheduled_path(&direct), &body)
        .await;
    // The same key with other content: the first is answered (`200`), and nothing new is stored.
    let other = json!({"content": "other", "send_at": in_seconds(900), "client_id": "k"});
    let again = app.as_user(&ann).post_ok(scheduled_path(&direct), &other).await;
    assert_eq!(again, first);
    assert_eq!(app.count("SELECT count(*) AS n FROM scheduled_messages").await, 1);
    // Another sender's key is their own.
    app.as_user(&bob)
        .post_created(scheduled_path(&direct), &body)
        .await;
}

#[tokio::test]
async fn a_user_has_a_bounded_number_of_scheduled_messages_waiting() {
    let app = TestApp::with_settings([("EPOP_MAX_PENDING_SCHEDULED", "2")]).await;
    let [ann, bob] = app.users(["Ann", "Bob"]).await;
    let direct = app.direct(&ann, &bob).await;
    let first = schedule(&app, &ann, &direct, "1", 600).await;
    schedule(&app, &ann, &direct, "2", 600).await;
    app.as_user(&ann)
        .post(
            scheduled_path(&direct),
            json!({"content": "3", "send_at": in_seconds(600)}),
        )
        .await
        .conflict();
    // Others have their own allowance; cancelling frees one.
    schedule(&app, &bob, &direct, "b", 600).await;
    app.as_user(&ann).delete_ok(one(&first["id"])).await;
    schedule(&app, &ann, &direct, "3", 600).await;
}

#[tokio::test]
async fn a_sender_who_left_the_conversation_is_notified_instead() {
    let (app, [ann, bob], group) = TestApp::with_group(["Ann", "Bob"]).await;
    let scheduled = schedule(&app, &bob, &group, "too late", 2).await;
    app.as_user(&bob)
        .delete_ok(format!("/api/conversations/{group}/members/{}", bob.id))
        .await;
    let notification = wait_for_notification(&app, &bob, "scheduled_message_failed").await;
    assert_eq!(notification["payload"]["scheduled_message_id"], scheduled["id"]);
    assert_eq!(notification["payload"]["conversation_id"], group);
    assert_eq!(notification["payload"]["preview"], "too late");
    assert!(
        notification["payload"]["reason"]
            .as_str()
            .unwrap()
            .contains("no longer a member")
    );
    wait_for_jobs_done(&app).await;
    let page = app
        .as_user(&ann)
        .get_ok(format!("/api/conversations/{group}/messages"))
        .await;
    assert_eq!(page["items"], json!([]), "nothing was posted");
    app.as_user(&bob).get(one(&scheduled["id"])).await.not_found();
}

#[tokio::test]
async fn a_scheduled_reply_whose_root_was_deleted_fails_with_a_notification() {
    let (app, [ann, bob], group) = TestApp::with_group(["Ann", "Bob"]).await;
    let root = app.message(&ann, &group, "root").await;
    app.as_user(&bob)
        .post_created(
            scheduled_path(&group),
            json!({"content": "reply", "send_at": in_seconds(2), "thread_root_id": root["id"]}),
        )
        .await;
    app.as_user(&ann)
        .delete_ok(format!("/api/messages/{}", root["id"].as_str().unwrap()))
        .await;
    let notification = wait_for_notification(&app, &bob, "scheduled_message_failed").await;
    assert!(
        notification["payload"]["reason"]
            .as_str()
            .unwrap()
            .contains("root")
    );
    assert_eq!(
        app.count("SELECT count(*) AS n FROM messages WHERE content = 'reply'")
            .await,
        0
    );
}

#[tokio::test]
async fn a_scheduled_message_being_posted_can_no_longer_be_changed() {
    let (app, [ann, _], direct) = TestApp::with_direct().await;
    let scheduled = schedule(&app, &ann, &direct, "now", 600).await;
    // A worker holds its job (as it does while posting it).
    app.sql("UPDATE jobs SET status = 'running', locked_at = now() WHERE queue = 'scheduled-messages'")
        .await;
    app.as_user(&ann)
        .patch(one(&scheduled["id"]), json!({"content": "x"}))
        .await
        .conflict();
    app.as_user(&ann).delete(one(&scheduled["id"])).await.conflict();
    assert_eq!(app.as_user(&ann).get_ok(one(&scheduled["id"])).await, scheduled);
}

#[tokio::test]
async fn a_scheduled_message_posted_twice_is_posted_once() {
    let (app, [ann, _], direct) = TestApp::with_direct().await;
    let scheduled = schedule(&app, &ann, &direct, "exactly once", 600).await;
    let id: epop_core::ScheduledMessageId = scheduled["id"].as_str().unwrap().parse().unwrap();
    // Two workers, or a run repeated after its worker died: both post it, concurrently.
    let (a, b) = tokio::join!(
        app.state.chat.post_scheduled(id),
        app.state.chat.post_scheduled(id)
    );
    a.unwrap();
    b.unwrap();
    app.state.chat.post_scheduled(id).await.unwrap();
    assert_eq!(
        app.count("SELECT count(*) AS n FROM messages WHERE content = 'exactly once'")
            .await,
        1
    );
    app.as_user(&ann).get(one(&scheduled["id"])).await.not_found();
}

#[tokio::test]
async fn the_senders_own_sockets_follow_their_scheduled_messages() {
    let (app, [ann, bob]) = TestApp::with_users(["Ann", "Bob"]).await;
    // Two devices of Ann's, and Bob, who shares the group with her.
    let [mut phone, mut laptop, mut bob_socket] = [
        app.socket(&ann.access_token).await,
        app.socket(&ann.access_token).await,
        app.socket(&bob.access_token).await,
    ];
    let group = app.group(&ann, "G", &[&bob]).await;

    // Created, changed, cancelled: each of Ann's sockets hears it.
    let first = schedule(&app, &ann, &group, "first", 3600).await;
    for socket in [&mut phone, &mut laptop] {
        assert_eq!(socket.event("scheduled_message:new").await, first);
    }
    let changed = change(&app, &ann, &first["id"], json!({"content": "first!"}))
        .await
        .json(StatusCode::OK);
    assert_eq!(phone.event("scheduled_message:updated").await, changed);
    app.as_user(&ann).delete_ok(one(&first["id"])).await;
    assert_eq!(
        phone.event("scheduled_message:deleted").await,
        json!({"id": first["id"], "conversation_id": group, "reason": "cancelled", "message_id": null})
    );

    // Posted: gone from the list, naming the message it became.
    let second = schedule(&app, &ann, &group, "second", 3600).await;
    crate::helpers::due_now(&app, "scheduled-messages").await;
    let posted = phone.event("scheduled_message:deleted").await;
    assert_eq!(posted["id"], second["id"]);
    assert_eq!(posted["reason"], "posted");
    let message = wait_for_message(&app, &ann, &group, "second").await;
    assert_eq!(posted["message_id"], message["id"]);

    // Failed (Ann left the group): gone too, with the notification.
    let third = schedule(&app, &ann, &group, "third", 3600).await;
    app.as_user(&ann)
        .delete_ok(format!("/api/conversations/{group}/members/{}", ann.id))
        .await;
    crate::helpers::due_now(&app, "scheduled-messages").await;
    let failed = phone.event("scheduled_message:deleted").await;
    assert_eq!(failed["id"], third["id"]);
    assert_eq!(failed["reason"], "failed");
    assert_eq!(
        phone.event("notification:new").await["type"],
        "scheduled_message_failed"
    );

    // Bob, a member, saw the posted message and nothing of Ann's list.
    let (before, new) = crate::socket::events_before(&mut bob_socket, "message:new").await;
    assert_eq!(new["content"], "second");
    let (after, _) = crate::socket::events_before(&mut bob_socket, "conversation:updated").await;
    for name in before.iter().chain(&after) {
        assert!(
            !name.starts_with("scheduled_message:"),
            "{name} reached another user"
        );
    }
}

/// An `epop-gateway worker` process on the test gateway's database and Redis prefix: a node that runs the jobs.
/// Killed with SIGKILL (`kill -9`) when dropped.
struct WorkerNode(std::process::Child);

impl WorkerNode {
    /// Starts one taking back a dead node's jobs once they have been held for `lease` seconds.
    fn start(app: &TestApp, lease: &str) -> Self {
        let mut command = crate::helpers::gateway_command(&["worker"]);
        command
            .envs(&app.vars)
            .env("EPOP_JOB_LEASE", lease)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        Self(command.spawn().expect("the gateway binary starts"))
    }

    /// `kill -9`: no shutdown, no goodbye to PostgreSQL.
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for WorkerNode {
    fn drop(&mut self) {
        self.kill();
    }
}

#[tokio::test]
async fn scheduled_messages_survive_a_kill_9_of_the_node_posting_them_and_are_posted_once() {
    use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
    // The test's gateway serves requests but runs no jobs: the worker nodes do.
    let app = TestApp::with_settings([("EPOP_RUN_JOBS", "false")]).await;
    let [ann, bob] = app.users(["Ann", "Bob"]).await;
    let group = app.group(&ann, "G", &[&bob]).await;
    let contents: Vec<String> = (1..=5).map(|n| format!("scheduled {n}")).collect();
    for content in &contents {
        schedule(&app, &ann, &group, content, 3600).await;
    }
    // The conversation's row stays locked, so the node posting into it waits inside its transaction with the
    // jobs leased, until it is killed.
    let mut lock = AsyncPgConnection::establish(&app.db.url).await.unwrap();
    diesel::sql_query("BEGIN").execute(&mut lock).await.unwrap();
    diesel::sql_query(format!(
        "SELECT 1 FROM conversations WHERE id = '{group}' FOR UPDATE"
    ))
    .execute(&mut lock)
    .await
    .unwrap();
    let mut doomed = WorkerNode::start(&app, "300");
    crate::helpers::due_now(&app, "scheduled-messages").await;
    let leased = "SELECT count(*) AS n FROM jobs WHERE queue = 'scheduled-messages' AND status = 'running'";
    let within = Duration::from_secs(60);
    crate::helpers::wait_for_count(&app, leased, |n| n == 5, within, "the node did not take the jobs").await;
    doomed.kill();
    drop(lock);

    // Another node takes the dead node's jobs back after their lease and posts each message once.
    let _survivor = WorkerNode::start(&app, "1");
    let done = "SELECT count(*) AS n FROM jobs WHERE queue = 'scheduled-messages' AND status = 'done'";
    crate::helpers::wait_for_count(&app, done, |n| n == 5, within, "the jobs were not run again").await;
    for content in &contents {
        let copies = format!("SELECT count(*) AS n FROM messages WHERE content = '{content}'");
        assert_eq!(app.count(&copies).await, 1, "{content}");
    }
    let page = app
        .as_user(&bob)
        .get_ok(format!("/api/conversations/{group}/messages"))
        .await;
    let mut posted = pluck(&page, "content");
    posted.sort_unstable();
    assert_eq!(posted, contents);
    let waiting = app.as_user(&ann).get_ok("/api/scheduled-messages").await;
    assert_eq!(waiting["items"], json!([]));
}
