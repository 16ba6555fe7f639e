//! docs/api.md, Threads: replies, thread summaries, following, read watermarks, and their events.

use crate::client::Call;
use crate::helpers::{
    TestApp, TestUser, Ws, assert_paging_checked, conversation_as, followed_threads, pluck, unread_count,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Instant;

fn contents(page: &Value) -> Vec<String> {
    pluck(page, "content")
}

async fn threads(app: &TestApp, user: &TestUser) -> Vec<(String, i64)> {
    followed_threads(app, user)
        .await
        .into_iter()
        .map(|(root, t)| (root, t["unread_reply_count"].as_i64().unwrap()))
        .collect()
}

#[tokio::test]
async fn a_reply_stays_in_its_thread_unless_sent_to_the_conversation_and_the_root_shows_the_summary() {
    let (app, [ann, bob, cat], group) = TestApp::with_group(["Ann", "Bob", "Cat"]).await;
    let root = app.message(&ann, &group, "root").await;
    assert_eq!(root["thread_root_id"], Value::Null);
    assert_eq!(root["thread"], Value::Null);

    let first = app.reply(&bob, &group, &root, "in the thread").await;
    assert_eq!(first["thread_root_id"], root["id"]);
    assert_eq!(first["sent_to_conversation"], false);
    // The conversation shows the root only, with its summary; Cat has one unread message, not two.
    let page = app
        .as_user(&cat)
        .get_ok(format!("/api/conversations/{group}/messages"))
        .await;
    assert_eq!(contents(&page), ["root"]);
    let summary = &page["items"][0]["thread"];
    assert_eq!(summary["reply_count"], 1);
    assert_eq!(summary["last_reply_at"], first["created_at"]);
    assert_eq!(summary["participant_ids"], json!([bob.id]));
    assert_eq!(unread_count(&app, &cat, &group).await, 1);
    let conversation = conversation_as(&app, &cat, &group).await;
    assert_eq!(conversation["last_message"]["content"], "root");

    // Sent to the conversation too: listed and counted there, and the last message.
    let shown = app
        .as_user(&cat)
        .post(
            format!("/api/conversations/{group}/messages"),
            json!({"content": "for everyone", "thread_root_id": root["id"], "send_to_conversation": true}),
        )
        .await
        .json(StatusCode::CREATED);
    assert_eq!(shown["sent_to_conversation"], true);
    let page = app
        .as_user(&ann)
        .get_ok(format!("/api/conversations/{group}/messages"))
        .await;
    assert_eq!(contents(&page), ["for everyone", "root"]);
    assert_eq!(page["items"][1]["thread"]["reply_count"], 2);
    assert_eq!(
        page["items"][1]["thread"]["participant_ids"],
        json!([cat.id, bob.id]),
        "the most recent replier first"
    );
    assert_eq!(unread_count(&app, &ann, &group).await, 1);
    let conversation = conversation_as(&app, &bob, &group).await;
    assert_eq!(conversation["last_message"]["content"], "for everyone");
    assert_eq!(
        conversation["unread_count"], 2,
        "replying only in a thread does not read the conversation"
    );

    // A message shows its summary on its own too; a deleted reply leaves the count.
    let path = format!("/api/messages/{}", first["id"].as_str().unwrap());
    app.as_user(&bob).delete_ok(&path).await;
    let root_now = app
        .as_user(&cat)
        .get_ok(format!("/api/messages/{}", root["id"].as_str().unwrap()))
        .await;
    assert_eq!(root_now["thread"]["reply_count"], 1);
    assert_eq!(root_now["thread"]["last_reply_at"], shown["created_at"]);
}

#[tokio::test]
async fn only_top_level_messages_of_the_same_conversation_start_threads() {
    let (app, [ann, bob], group) = TestApp::with_group(["Ann", "Bob"]).await;
    let other = app.group(&ann, "Other", &[]).await;
    let root = app.message(&ann, &group, "root").await;
    let elsewhere = app.message(&ann, &other, "elsewhere").await;
    let first = app.reply(&bob, &group, &root, "a reply").await;
    let gone = app.message(&ann, &group, "gone").await;
    app.as_user(&ann)
        .delete_ok(format!("/api/messages/{}", gone["id"].as_str().unwrap()))
        .await;
    let before = app.count("SELECT count(*) AS n FROM messages").await;

    let send = format!("/api/conversations/{group}/messages");
    for (body, field) in [
        (
            json!({"content": "x", "thread_root_id": first["id"]}),
            "thread_root_id",
        ),
        (
            json!({"content": "x", "thread_root_id": elsewhere["id"]}),
            "thread_root_id",
        ),
        (
            json!({"content": "x", "thread_root_id": gone["id"]}),
            "thread_root_id",
        ),
        (
            json!({"content": "x", "thread_root_id": uuid::Uuid::now_v7()}),
            "thread_root_id",
        ),
        (
            json!({"content": "x", "thread_root_id": "nope"}),
            "thread_root_id",
        ),
        (
            json!({"content": "x", "send_to_conversation": true}),
            "send_to_conversation",
        ),
        (
            json!({"content": "x", "thread_root_id": root["id"], "send_to_conversation": "yes"}),
            "send_to_conversation",
        ),
    ] {
        let problem = app.as_user(&bob).post(&send, body.clone()).await.invalid();
        assert_eq!(problem.fields(), [field], "{body}");
    }
    assert_eq!(app.count("SELECT count(*) AS n FROM messages").await, before);

    // Replies of a reply, someone else's thread, a bad `after` or cursor.
    let replies_of = |id: &Value| format!("/api/messages/{}/replies", id.as_str().unwrap());
    app.as_user(&bob)
        .get(replies_of(&first["id"]))
        .await
        .invalid_fields(&["id"]);
    let outsider = app.register("Out", "out@example.com").await;
    app.as_user(&outsider)
        .all_not_found([Call::get(replies_of(&root["id"]))])
        .await;
    app.as_user(&bob)
        .all_not_found([Call::get(replies_of(&gone["id"]))])
        .await;
    let after_elsewhere = format!(
        "{}?after={}",
        replies_of(&root["id"]),
        elsewhere["id"].as_str().unwrap()
    );
    app.as_user(&bob)
        .get(after_elsewhere)
        .await
        .invalid_fields(&["after"]);
    assert_paging_checked(&app, &bob, &replies_of(&root["id"]), "forged", &[]).await;
}

#[tokio::test]
async fn a_thread_pages_like_a_conversation_and_catches_up_after_a_reply() {
    let (app, [ann, bob], group) = TestApp::with_group(["Ann", "Bob"]).await;
    let root = app.message(&ann, &group, "root").await;
    let mut replies = Vec::new();
    for i in 0..5 {
        // Top-level messages in between are not part of the thread.
        app.message(&ann, &group, &format!("top {i}")).await;
        replies.push(app.reply(&bob, &group, &root, &format!("r{i}")).await);
    }
    let path = format!("/api/messages/{}/replies", root["id"].as_str().unwrap());
    let pages: Vec<_> = app
        .every_page(&ann, &format!("{path}?limit=2"))
        .await
        .iter()
        .map(contents)
        .collect();
    assert_eq!(pages, [vec!["r4", "r3"], vec!["r2", "r1"], vec!["r0"]]);

    // Catching up: after a reply, or after the root (from the first reply), oldest first.
    let after = replies[2]["id"].as_str().unwrap();
    let caught = app.as_user(&ann).get_ok(format!("{path}?after={after}")).await;
    assert_eq!(contents(&caught), ["r3", "r4"]);
    assert_eq!(caught["next_cursor"], Value::Null);
    let from_root = format!("{path}?after={}&limit=3", root["id"].as_str().unwrap());
    let pages: Vec<_> = app
        .every_page(&ann, &from_root)
        .await
        .iter()
        .map(contents)
        .collect();
    assert_eq!(pages, [vec!["r0", "r1", "r2"], vec!["r3", "r4"]]);
}

#[tokio::test]
async fn starters_and_repliers_follow_threads_and_read_them_up_to_a_watermark() {
    let (app, [ann, bob, cat], group) = TestApp::with_group(["Ann", "Bob", "Cat"]).await;
    let older = app.message(&ann, &group, "older").await;
    let root = app.message(&ann, &group, "root").await;
    assert!(threads(&app, &ann).await.is_empty(), "no thread before a reply");

    app.reply(&bob, &group, &older, "o1").await;
    app.reply(&bob, &group, &root, "r1").await;
    app.reply(&bob, &group, &root, "r2").await;
    // The starter follows, with what others wrote unread; the replier has read their own.
    assert_eq!(
        threads(&app, &ann).await,
        [("root".to_owned(), 2), ("older".to_owned(), 1)],
        "most recent activity first"
    );
    assert_eq!(
        threads(&app, &bob).await,
        [("root".to_owned(), 0), ("older".to_owned(), 0)]
    );
    assert!(threads(&app, &cat).await.is_empty());

    // Following explicitly, and reading.
    let root_id = root["id"].as_str().unwrap();
    let follow = format!("/api/threads/{root_id}/follow");
    app.as_user(&cat)
        .put_empty(&follow)
        .await
        .empty(StatusCode::NO_CONTENT);
    assert_eq!(threads(&app, &cat).await, [("root".to_owned(), 2)]);
    let replies = app
        .as_user(&cat)
        .get_ok(format!("/api/messages/{root_id}/replies"))
        .await;
    let r1 = replies["items"][1]["id"].as_str().unwrap();
    let read = format!("/api/threads/{root_id}/read");
    // Up to a reply, to the end (no body), and never back: each answers 204, then the count is as listed.
    for (reader, body, unread) in [
        (&cat, Some(json!({"message_id": r1})), 1),
        (&ann, None, 0),
        (&ann, Some(json!({"message_id": r1})), 0),
    ] {
        let answer = app.as_user(reader).send(Method::POST, &read, body.clone()).await;
        answer.empty(StatusCode::NO_CONTENT);
        assert_eq!(
            threads(&app, reader).await[0],
            ("root".to_owned(), unread),
            "{body:?}"
        );
    }
    assert_eq!(threads(&app, &cat).await.len(), 1);

    // Unfollowing sticks when others reply, and ends when one replies again.
    app.as_user(&ann).delete_ok(&follow).await;
    app.reply(&bob, &group, &root, "r3").await;
    assert_eq!(threads(&app, &ann).await, [("older".to_owned(), 1)]);
    app.reply(&ann, &group, &root, "r4").await;
    assert_eq!(threads(&app, &ann).await[0], ("root".to_owned(), 0));

    // What may not be followed or read.
    let o1 = app
        .as_user(&ann)
        .get_ok(format!("/api/messages/{}/replies", older["id"].as_str().unwrap()))
        .await["items"][0]["id"]
        .clone();
    app.as_user(&ann)
        .post(&read, json!({"message_id": o1}))
        .await
        .invalid_fields(&["message_id"]);
    let follow_reply = format!("/api/threads/{}/follow", o1.as_str().unwrap());
    app.as_user(&ann)
        .put_empty(follow_reply)
        .await
        .invalid_fields(&["id"]);
    let outsider = app.register("Out", "out@example.com").await;
    app.as_user(&outsider)
        .all_not_found([Call::put_empty(&follow), Call::new(Method::POST, &read, None)])
        .await;

    // A member who leaves no longer lists the group's threads.
    app.as_user(&cat)
        .delete_ok(format!("/api/conversations/{group}/members/{}", cat.id))
        .await;
    assert!(threads(&app, &cat).await.is_empty());
}

#[tokio::test]
async fn followed_threads_page_by_activity() {
    let (app, [ann, bob], group) = TestApp::with_group(["Ann", "Bob"]).await;
    for i in 0..5 {
        let root = app.message(&ann, &group, &format!("t{i}")).await;
        app.reply(&bob, &group, &root, "r").await;
    }
    let pages = app.every_page(&ann, "/api/threads?limit=3").await;
    let roots: Vec<_> = pages.iter().map(|page| pluck(page, "/root/content")).collect();
    assert_eq!(roots, [vec!["t4", "t3", "t2"], vec!["t1", "t0"]]);
    let newest = &pages[0]["items"][0];
    assert_eq!(
        newest["last_activity_at"],
        newest["root"]["thread"]["last_reply_at"]
    );
    assert_paging_checked(&app, &ann, "/api/threads", "forged", &["0"]).await;
}

/// A socket client that answers pings and reads events by name.
struct Client {
    ws: Ws,
    next_ack: u64,
}

impl Client {
    async fn connect(app: &TestApp, user: &TestUser) -> Self {
        Self {
            ws: app.socket(&user.access_token).await,
            next_ack: 0,
        }
    }

    /// The next `[name, args..]` event, answering pings meanwhile.
    async fn event(&mut self) -> Vec<Value> {
        loop {
            let text = crate::socket::next_packet(&mut self.ws, "an event").await;
            if let Some(body) = text.strip_prefix("42")
                && let Ok(Value::Array(args)) = serde_json::from_str::<Value>(body)
            {
                return args;
            }
        }
    }

    /// The next event called `name`.
    async fn named(&mut self, name: &str) -> Value {
        loop {
            let args = self.event().await;
            if args[0] == name {
                return args[1].clone();
            }
        }
    }

    /// Emits `name` with `payload` and returns its ack.
    async fn call(&mut self, name: &str, payload: Value) -> Value {
        self.next_ack += 1;
        crate::socket::call(&mut self.ws, self.next_ack, name, payload).await
    }
}

#[tokio::test]
async fn replies_over_the_socket_reach_members_with_their_root_and_summaries_are_coalesced() {
    let (app, [ann, bob], group) = TestApp::with_group(["Ann", "Bob"]).await;
    let root = app.message(&ann, &group, "root").await;
    let mut ann_socket = Client::connect(&app, &ann).await;
    let mut bob_socket = Client::connect(&app, &bob).await;

    // Bad input is refused over the socket as over REST.
    let refused = bob_socket
        .call(
            "message:send",
            json!({"conversation_id": group, "content": "x", "send_to_conversation": true}),
        )
        .await;
    crate::socket::assert_invalid_ack(&refused, "send_to_conversation");

    let started = Instant::now();
    for i in 0..5 {
        let ack = bob_socket
            .call(
                "message:send",
                json!({"conversation_id": group, "content": format!("r{i}"), "thread_root_id": root["id"]}),
            )
            .await;
        assert_eq!(ack["ok"], true, "{ack}");
        assert_eq!(ack["message"]["thread_root_id"], root["id"]);
    }
    // Ann gets every reply as `message:new` with its root, and the summaries, the last one with all five.
    let mut replies = 0;
    let mut summaries = 0;
    loop {
        let args = ann_socket.event().await;
        match args[0].as_str().unwrap() {
            // (The root itself may still arrive: it was posted just before the sockets connected.)
            "message:new" if args[1]["id"] != root["id"] => {
                assert_eq!(args[1]["thread_root_id"], root["id"]);
                replies += 1;
            }
            "thread:updated" => {
                summaries += 1;
                assert_eq!(args[1]["root_id"], root["id"]);
                assert_eq!(args[1]["conversation_id"], group.as_str());
                if args[1]["thread"]["reply_count"] == 5 {
                    assert_eq!(args[1]["thread"]["participant_ids"], json!([bob.id]));
                    break;
                }
            }
            _ => {}
        }
    }
    let elapsed = started.elapsed().as_secs();
    assert_eq!(replies, 5);
    assert!(
        summaries <= elapsed + 1,
        "at most one thread:updated per second: {summaries} in {elapsed} s"
    );

    // Reading the thread over the socket tells the reader's other sockets.
    let mut ann_phone = Client::connect(&app, &ann).await;
    let ack = ann_socket
        .call("thread:read", json!({"root_id": root["id"]}))
        .await;
    assert_eq!(ack["ok"], true, "{ack}");
    let read = ann_phone.named("thread:read").await;
    assert_eq!(read["root_id"], root["id"]);
    assert_eq!(threads(&app, &ann).await, [("root".to_owned(), 0)]);
    let refused = ann_socket.call("thread:read", json!({"root_id": "nope"})).await;
    assert_eq!(refused["error"]["code"], "validation_failed");
}
