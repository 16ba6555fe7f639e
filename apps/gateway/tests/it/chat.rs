//! docs/api.md, Conversations and messages: conversations, messages, read positions, search.

use crate::client::Answer;
use crate::helpers::{
    EventsInOrder, TestApp, TestUser, elements, failing_fields, json_of, next_event, pluck, problem,
};
use epop_core::DomainEvent;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeSet;

fn ids(page: &Value) -> Vec<String> {
    pluck(page, "id")
}

fn contents(page: &Value) -> Vec<String> {
    pluck(page, "content")
}

/// A gateway where Ann owns group "G" with Bob in it: the app, Ann, Bob and the group's id.
/// `creator` asks for a conversation described by `body` (direct or group), whatever the answer.
async fn start_conversation(app: &TestApp, creator: &TestUser, body: Value) -> Answer {
    app.as_user(creator).post("/api/conversations", body).await
}

/// `sender` sends `content` to `conversation` under `client_id`, whatever the answer.
async fn send_with_client_id(
    app: &TestApp,
    sender: &TestUser,
    conversation: &str,
    content: &str,
    client_id: &str,
) -> Answer {
    app.as_user(sender)
        .post(
            format!("/api/conversations/{conversation}/messages"),
            json!({"content": content, "client_id": client_id}),
        )
        .await
}

#[tokio::test]
async fn a_direct_conversation_is_created_once_per_pair() {
    let (app, [ann, bob]) = TestApp::with_users(["Ann", "Bob"]).await;
    let created = start_conversation(&app, &ann, json!({"type": "direct", "member_ids": [bob.id]})).await;
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let conversation = json_of(created, StatusCode::CREATED).await;
    assert_eq!(
        location,
        format!("/api/conversations/{}", conversation["id"].as_str().unwrap())
    );
    assert_eq!(conversation["type"], "direct");
    assert_eq!(conversation["name"], Value::Null);
    assert_eq!(conversation["created_by"], ann.id.as_str());
    assert_eq!(conversation["last_message"], Value::Null);
    assert_eq!(conversation["unread_count"], 0);
    let members: BTreeSet<_> = elements(&conversation["members"])
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(members, BTreeSet::from(["Ann", "Bob"]));

    // From the other side: the same conversation, 200.
    let again = start_conversation(&app, &bob, json!({"type": "direct", "member_ids": [ann.id]}))
        .await
        .json(StatusCode::OK);
    assert_eq!(again["id"], conversation["id"]);

    for body in [
        json!({"type": "direct", "member_ids": [ann.id]}),
        json!({"type": "direct", "member_ids": [uuid::Uuid::now_v7()]}),
        json!({"type": "direct", "member_ids": [bob.id, bob.id]}),
        json!({"type": "direct", "member_ids": []}),
        json!({"type": "triad", "member_ids": [bob.id]}),
    ] {
        app.as_user(&ann).post("/api/conversations", body).await.invalid();
    }
    assert_eq!(app.count("SELECT count(*) AS n FROM conversations").await, 1);
}

#[tokio::test]
async fn simultaneous_direct_requests_yield_one_conversation() {
    let (app, [ann, bob]) = TestApp::with_users(["Ann", "Bob"]).await;
    let requests = (0..12).map(|i| {
        let (me, other) = if i % 2 == 0 { (&ann, &bob) } else { (&bob, &ann) };
        app.as_user(me).post(
            "/api/conversations",
            json!({"type": "direct", "member_ids": [other.id]}),
        )
    });
    let responses = futures_util::future::join_all(requests).await;
    let mut seen = BTreeSet::new();
    let mut created = 0;
    for response in responses {
        let status = response.status();
        assert!(
            status == StatusCode::CREATED || status == StatusCode::OK,
            "{status}"
        );
        created += usize::from(status == StatusCode::CREATED);
        seen.insert(response.body()["id"].as_str().unwrap().to_owned());
    }
    assert_eq!((seen.len(), created), (1, 1));
    assert_eq!(
        app.count("SELECT count(*) AS n FROM conversation_members").await,
        2
    );
}

#[tokio::test]
async fn groups_need_existing_members_and_a_name() {
    let (app, [ann, bob]) = TestApp::with_users(["Ann", "Bob"]).await;
    let refused = [
        (
            json!({"type": "group", "name": "G", "member_ids": [bob.id, uuid::Uuid::now_v7()]}),
            "member_ids[1]",
        ),
        (
            json!({"type": "group", "name": "G", "member_ids": [bob.id, "nope"]}),
            "member_ids[1]",
        ),
        (json!({"type": "group", "member_ids": [bob.id]}), "name"),
    ];
    for (body, field) in refused {
        start_conversation(&app, &ann, body)
            .await
            .invalid_fields(&[field]);
    }
    assert_eq!(app.count("SELECT count(*) AS n FROM conversations").await, 0);

    let group = start_conversation(
        &app,
        &ann,
        json!({"type": "group", "name": "Team", "member_ids": [bob.id, bob.id]}),
    )
    .await
    .json(StatusCode::CREATED);
    assert_eq!(group["type"], "group");
    assert_eq!(group["name"], "Team");
    assert_eq!(
        group["members"].as_array().unwrap().len(),
        2,
        "the creator is a member; duplicates collapse"
    );
}

#[tokio::test]
async fn non_members_see_404_on_every_conversation_message_and_file_route() {
    let (app, [ann, bob, eve]) = TestApp::with_users(["Ann", "Bob", "Eve"]).await;
    let group = app.group(&ann, "Secret", &[&bob]).await;
    let message = app.message(&ann, &group, "the plan").await;
    let message_id = message["id"].as_str().unwrap();

    let checks: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/api/conversations/{group}"), None),
        (Method::GET, format!("/api/conversations/{group}/messages"), None),
        (
            Method::GET,
            format!("/api/conversations/{group}/messages?after={message_id}"),
            None,
        ),
        (
            Method::POST,
            format!("/api/conversations/{group}/messages"),
            Some(json!({"content": "hi"})),
        ),
        (
            Method::POST,
            format!("/api/conversations/{group}/members"),
            Some(json!({"user_ids": [eve.id]})),
        ),
        (
            Method::DELETE,
            format!("/api/conversations/{group}/members/{}", bob.id),
            None,
        ),
        (
            Method::POST,
            format!("/api/conversations/{group}/read"),
            Some(json!({"message_id": message_id})),
        ),
        (Method::GET, format!("/api/messages/{message_id}"), None),
        (
            Method::PUT,
            format!("/api/messages/{message_id}"),
            Some(json!({"content": "mine now"})),
        ),
        (Method::DELETE, format!("/api/messages/{message_id}"), None),
        (
            Method::GET,
            format!("/api/search/messages?q=plan&conversation_id={group}"),
            None,
        ),
    ];
    for (method, path, body) in checks {
        let response = app.as_user(&eve).send(method.clone(), &path, body).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{method} {path}");
    }
    let found = app.as_user(&eve).get_ok("/api/search/messages?q=plan").await;
    assert_eq!(
        found["items"],
        json!([]),
        "search never shows other people's conversations"
    );
    let listed = app.as_user(&eve).get_ok("/api/conversations").await;
    assert_eq!(listed["items"], json!([]));
    // Nothing changed.
    assert_eq!(app.count("SELECT count(*) AS n FROM messages").await, 1);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM conversation_members").await,
        2
    );
}

#[tokio::test]
async fn messages_get_sequence_numbers_and_page_both_ways() {
    let (app, [ann, bob], group) = TestApp::with_group(["Ann", "Bob"]).await;
    let mut sent = Vec::new();
    for i in 1..=7 {
        let author = if i % 2 == 0 { &bob } else { &ann };
        let message = app.message(author, &group, &format!("m{i}")).await;
        assert_eq!(message["seq"], i);
        assert_eq!(message["conversation_id"], group.as_str());
        assert_eq!(message["edited_at"], Value::Null);
        assert_eq!(message["attachments"], json!([]));
        sent.push(message);
    }
    // Newest first, in pages of 3.
    let pages = app
        .every_page(&ann, &format!("/api/conversations/{group}/messages?limit=3"))
        .await;
    let seen: Vec<String> = pages.iter().flat_map(contents).collect();
    assert_eq!(seen, vec!["m7", "m6", "m5", "m4", "m3", "m2", "m1"]);

    // Catching up after m2: oldest first; the cursor continues forward and sees what arrives meanwhile.
    let bobs_page = async |query: String| {
        app.as_user(&bob)
            .get_ok(format!("/api/conversations/{group}/messages?{query}"))
            .await
    };
    let after = sent[1]["id"].as_str().unwrap();
    let first = bobs_page(format!("after={after}&limit=3")).await;
    assert_eq!(contents(&first), vec!["m3", "m4", "m5"]);
    app.message(&ann, &group, "m8").await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = bobs_page(format!("cursor={cursor}&limit=3")).await;
    assert_eq!(contents(&second), vec!["m6", "m7", "m8"]);
    let cursor = second["next_cursor"].as_str();
    if let Some(cursor) = cursor {
        let tail = bobs_page(format!("cursor={cursor}")).await;
        assert_eq!(tail, json!({"items": [], "next_cursor": null}));
    }

    // `after` with an id of another conversation is 422; a bad cursor 400; a bad limit 422.
    let other = app.group(&bob, "Other", &[&ann]).await;
    let foreign = app.message(&bob, &other, "elsewhere").await;
    app.as_user(&ann)
        .get(&format!(
            "/api/conversations/{group}/messages?after={}",
            foreign["id"].as_str().unwrap()
        ))
        .await
        .invalid_fields(&["after"]);
    app.as_user(&ann)
        .get(&format!("/api/conversations/{group}/messages?cursor=zzz"))
        .await
        .problem(StatusCode::BAD_REQUEST, "bad_request");
    app.as_user(&ann)
        .get(&format!("/api/conversations/{group}/messages?limit=0"))
        .await
        .invalid();
    app.as_user(&ann)
        .get(&format!("/api/conversations/{group}/messages?after=not-a-uuid"))
        .await
        .invalid();
}

#[tokio::test]
async fn concurrent_sends_get_distinct_contiguous_sequence_numbers() {
    let (app, [ann, bob], group) = TestApp::with_group(["Ann", "Bob"]).await;
    let sends = (0..20).map(|i| {
        let author = if i % 2 == 0 { &ann } else { &bob };
        app.as_user(author).post(
            format!("/api/conversations/{group}/messages"),
            json!({"content": format!("c{i}")}),
        )
    });
    let mut seqs: Vec<i64> = Vec::new();
    for (i, response) in futures_util::future::join_all(sends)
        .await
        .into_iter()
        .enumerate()
    {
        let message = json_of(response, StatusCode::CREATED).await;
        // Each sender is answered with their own message, even when sends are written together.
        assert_eq!(message["content"], format!("c{i}"));
        let author = if i % 2 == 0 { &ann } else { &bob };
        assert_eq!(message["sender_id"], author.id.as_str());
        seqs.push(message["seq"].as_i64().unwrap());
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=20).collect::<Vec<_>>());
    assert_eq!(app.count("SELECT last_seq AS n FROM conversations").await, 20);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM outbox WHERE event_type = 'message_created'")
            .await,
        20
    );
    // Each sender has read up to their own newest message.
    assert_eq!(
        app.count(
            "SELECT count(*) AS n FROM conversation_members cm WHERE cm.last_read_seq = \
             (SELECT max(seq) FROM messages m WHERE m.sender_id = cm.user_id)"
        )
        .await,
        2
    );
}

#[tokio::test]
async fn message_content_limits() {
    let (app, [ann], group) = TestApp::with_group(["Ann"]).await;
    let path = format!("/api/conversations/{group}/messages");
    for body in [
        json!({"content": ""}),
        json!({}),
        json!({"content": "x".repeat(10_001)}),
        json!({"content": "a\u{0}b"}),
        json!({"content": 5}),
    ] {
        let response = app.as_user(&ann).post(&path, body.clone()).await;
        let problem = problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(failing_fields(&problem), vec!["content"], "{body}");
    }
    let long = app
        .as_user(&ann)
        .post_created(&path, json!({"content": "字".repeat(10_000)}))
        .await;
    assert_eq!(long["content"].as_str().unwrap().chars().count(), 10_000);
    assert_eq!(app.count("SELECT count(*) AS n FROM messages").await, 1);
}

#[tokio::test]
async fn client_ids_make_sends_idempotent_even_in_parallel() {
    let (app, [ann, bob], group) = TestApp::with_group(["Ann", "Bob"]).await;
    let first = send_with_client_id(&app, &ann, &group, "once", "k-1")
        .await
        .json(StatusCode::CREATED);
    let repeat = send_with_client_id(&app, &ann, &group, "different", "k-1")
        .await
        .json(StatusCode::OK);
    assert_eq!(repeat, first, "the first message, unchanged");
    // Another sender may use the same client_id.
    send_with_client_id(&app, &bob, &group, "bob's", "k-1")
        .await
        .json(StatusCode::CREATED);

    let racers = (0..10).map(|_| send_with_client_id(&app, &ann, &group, "race", "k-2"));
    let mut ids = BTreeSet::new();
    let mut created = 0;
    for response in futures_util::future::join_all(racers).await {
        let status = response.status();
        created += usize::from(status == StatusCode::CREATED);
        assert!(
            status == StatusCode::CREATED || status == StatusCode::OK,
            "{status}"
        );
        ids.insert(response.body()["id"].as_str().unwrap().to_owned());
    }
    assert_eq!((ids.len(), created), (1, 1));
    assert_eq!(
        app.count("SELECT count(*) AS n FROM messages WHERE client_id = 'k-2'")
            .await,
        1
    );
    // The losers left no trace: the next message follows without a gap, and activity moved only once.
    let next = app.message(&ann, &group, "next").await;
    assert_eq!(next["seq"], 4);
    assert_eq!(app.count("SELECT last_seq AS n FROM conversations").await, 4);

    app.as_user(&ann)
        .delete_ok(format!("/api/messages/{}", first["id"].as_str().unwrap()))
        .await;
    send_with_client_id(&app, &ann, &group, "again", "k-1")
        .await
        .not_found();
}

#[tokio::test]
async fn only_the_sender_edits_or_deletes_and_deleted_messages_disappear() {
    let (app, [ann, bob], group) = TestApp::with_group(["Ann", "Bob"]).await;
    let path = format!("/api/conversations/{group}/messages");
    let message = send_with_client_id(&app, &ann, &group, "typo hre", "c1")
        .await
        .json(StatusCode::CREATED);
    let id = message["id"].as_str().unwrap();
    let message_path = format!("/api/messages/{id}");

    let bob_edit = app
        .as_user(&bob)
        .put(&message_path, json!({"content": "hacked"}))
        .await;
    problem(bob_edit, StatusCode::FORBIDDEN, "forbidden").await;
    let bob_delete = app.as_user(&bob).delete(&message_path).await;
    problem(bob_delete, StatusCode::FORBIDDEN, "forbidden").await;

    let edited = app
        .as_user(&ann)
        .put_ok(&message_path, json!({"content": "typo here"}))
        .await;
    assert_eq!(edited["content"], "typo here");
    assert_eq!(edited["client_id"], "c1", "edits keep client_id");
    assert_eq!(edited["seq"], message["seq"]);
    assert!(edited["edited_at"].is_string());
    assert_eq!(app.as_user(&bob).get_ok(&message_path).await, edited);
    app.as_user(&ann).put(&message_path, json!({})).await.invalid();

    app.message(&bob, &group, "reply").await;
    app.as_user(&ann).delete_ok(&message_path).await;
    app.as_user(&bob).get(&message_path).await.not_found();
    let page = app.as_user(&bob).get_ok(&path).await;
    assert_eq!(contents(&page), vec!["reply"]);
    let found = app.as_user(&bob).get_ok("/api/search/messages?q=typo").await;
    assert_eq!(found["items"], json!([]));
    // Catching up after the deleted message still works.
    let after = app.as_user(&bob).get_ok(&format!("{path}?after={id}")).await;
    assert_eq!(contents(&after), vec!["reply"]);
    let again = app.as_user(&ann).delete(&message_path).await;
    problem(again, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn read_positions_drive_unread_counts_and_only_move_forward() {
    let (app, [ann, bob], group) = TestApp::with_group(["Ann", "Bob"]).await;
    let first = app.message(&ann, &group, "one").await;
    app.message(&ann, &group, "two").await;
    let third = app.message(&ann, &group, "three").await;

    let unread = |user: &TestUser| {
        let app = &app;
        let path = format!("/api/conversations/{group}");
        let token = user.access_token.clone();
        async move {
            app.as_token(&token).get_ok(&path).await["unread_count"]
                .as_i64()
                .unwrap()
        }
    };
    assert_eq!(
        unread(&bob).await,
        3,
        "other people's messages after bob's read position"
    );
    assert_eq!(unread(&ann).await, 0, "sending moves the sender's read position");
    app.message(&bob, &group, "bob speaks").await;
    assert_eq!(
        unread(&bob).await,
        0,
        "bob's own message moved his position past everything"
    );
    assert_eq!(unread(&ann).await, 1);

    async fn read_at(app: &TestApp, group: &str, user: &TestUser, message: &Value) -> Answer {
        app.as_user(user)
            .post(
                format!("/api/conversations/{group}/read"),
                json!({"message_id": message["id"]}),
            )
            .await
    }
    let read = |user, message| read_at(&app, &group, user, message);
    assert_eq!(read(&bob, &first).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(unread(&bob).await, 0, "never back");
    assert_eq!(read(&ann, &third).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(unread(&ann).await, 1);
    assert_eq!(read(&ann, &first).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(unread(&ann).await, 1, "never back");

    // An empty body reads up to the newest message.
    app.as_user(&ann)
        .send(Method::POST, format!("/api/conversations/{group}/read"), None)
        .await
        .empty(StatusCode::NO_CONTENT);
    assert_eq!(unread(&ann).await, 0);

    let other = app.group(&bob, "Other", &[&ann]).await;
    let foreign = app.message(&bob, &other, "x").await;
    read(&ann, &foreign).await.invalid_fields(&["message_id"]);
}

#[tokio::test]
async fn group_membership_rules() {
    let (app, [ann, bob, cat, dan]) = TestApp::with_users(["Ann", "Bob", "Cat", "Dan"]).await;
    let group = app.group(&ann, "G", &[&bob]).await;
    app.message(&ann, &group, "history 1").await;
    app.message(&bob, &group, "history 2").await;
    let members_path = format!("/api/conversations/{group}/members");
    let add = |by: &TestUser, member: &TestUser| {
        app.as_user(by)
            .post(&members_path, json!({"user_ids": [member.id]}))
    };
    let remove =
        |by: &TestUser, member: &TestUser| app.as_user(by).delete(format!("{members_path}/{}", member.id));

    // Any member may add; the added member sees the whole history with nothing unread.
    let added = add(&bob, &cat).await.json(StatusCode::OK);
    assert_eq!(added["members"].as_array().unwrap().len(), 3);
    let cats_view = app
        .as_user(&cat)
        .get_ok(&format!("/api/conversations/{group}"))
        .await;
    assert_eq!(cats_view["unread_count"], 0);
    assert_eq!(cats_view["last_message"]["content"], "history 2");
    let history = app
        .as_user(&cat)
        .get_ok(&format!("/api/conversations/{group}/messages"))
        .await;
    assert_eq!(contents(&history), vec!["history 2", "history 1"]);
    // Adding someone already in changes nothing.
    let same = add(&ann, &cat).await.json(StatusCode::OK);
    assert_eq!(same["members"].as_array().unwrap().len(), 3);
    let unknown = app
        .as_user(&ann)
        .post(&members_path, json!({"user_ids": [dan.id, uuid::Uuid::now_v7()]}))
        .await
        .invalid();
    assert_eq!(unknown.fields(), vec!["user_ids[1]"]);

    // Only the creator removes others; anyone may leave.
    let by_bob = remove(&bob, &cat).await;
    problem(by_bob, StatusCode::FORBIDDEN, "forbidden").await;
    remove(&ann, &cat).await.empty(StatusCode::NO_CONTENT);
    app.as_user(&cat)
        .get(&format!("/api/conversations/{group}"))
        .await
        .not_found();
    let not_member = remove(&ann, &dan).await;
    problem(not_member, StatusCode::NOT_FOUND, "not_found").await;
    // The creator may leave and the group goes on.
    remove(&ann, &ann).await.empty(StatusCode::NO_CONTENT);
    app.message(&bob, &group, "still here").await;

    // Direct conversations: no adding, no leaving.
    let direct_id = app.direct(&ann, &dan).await;
    app.as_user(&ann)
        .post(
            &format!("/api/conversations/{direct_id}/members"),
            json!({"user_ids": [bob.id]}),
        )
        .await
        .invalid();
    let leave_direct = app
        .as_user(&ann)
        .delete(format!("/api/conversations/{direct_id}/members/{}", ann.id))
        .await;
    problem(
        leave_direct,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
}

#[tokio::test]
async fn conversations_list_by_activity_with_last_message_and_stable_paging() {
    let (app, [ann, bob]) = TestApp::with_users(["Ann", "Bob"]).await;
    let mut groups = Vec::new();
    for i in 0..5 {
        let group = app.group(&ann, &format!("g{i}"), &[&bob]).await;
        app.message(&bob, &group, &format!("hello {i}")).await;
        groups.push(group);
    }
    let first = app.as_user(&ann).get_ok("/api/conversations?limit=2").await;
    let names: Vec<_> = elements(&first["items"])
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, vec!["g4", "g3"]);
    assert_eq!(first["items"][0]["last_message"]["content"], "hello 4");
    assert_eq!(first["items"][0]["unread_count"], 1);
    // g0 (not yet seen) gets a message while paging: it is neither skipped nor repeated.
    app.message(&bob, &groups[0], "bump").await;
    let mut seen: Vec<String> = ids(&first);
    let mut cursor = first["next_cursor"].as_str().unwrap().to_owned();
    loop {
        let page = app
            .as_user(&ann)
            .get_ok(&format!("/api/conversations?limit=2&cursor={cursor}"))
            .await;
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    let expected: Vec<String> = groups.iter().rev().cloned().collect();
    assert_eq!(seen, expected);
    // A fresh listing shows the bumped conversation first.
    let fresh = app.as_user(&ann).get_ok("/api/conversations").await;
    assert_eq!(fresh["items"][0]["id"], groups[0].as_str());
    assert_eq!(fresh["items"][0]["unread_count"], 2);
}

#[tokio::test]
async fn search_finds_words_in_english_indonesian_and_chinese() {
    let (app, [ann, bob], group) = TestApp::with_group(["Ann", "Bob"]).await;
    let other = app.group(&bob, "Other", &[&ann]).await;
    for text in [
        "The quarterly report is ready for review",
        "Laporan keuangan bulan ini sudah selesai",
        "我们明天讨论项目计划",
        "今天的会议取消了",
        "report report report: the report of reports",
        "会议记录在共享文件夹里",
    ] {
        app.message(&ann, &group, text).await;
    }
    app.message(&bob, &other, "another report, elsewhere").await;
    let search = |q: &str| {
        let path = format!("/api/search/messages?q={}", urlencode(q));
        let token = ann.access_token.clone();
        let app = &app;
        async move { contents(&app.as_token(&token).get_ok(&path).await) }
    };
    let english = search("report").await;
    assert_eq!(english.len(), 3);
    assert_eq!(
        english[0], "report report report: the report of reports",
        "best match first"
    );
    assert_eq!(
        search("QUARTERLY review").await,
        vec!["The quarterly report is ready for review"]
    );
    assert_eq!(
        search("laporan selesai").await,
        vec!["Laporan keuangan bulan ini sudah selesai"]
    );
    assert_eq!(
        search("keuangan").await,
        vec!["Laporan keuangan bulan ini sudah selesai"]
    );
    // Two-character Chinese words inside sentences written without spaces.
    assert_eq!(search("讨论").await, vec!["我们明天讨论项目计划"]);
    assert_eq!(search("项目").await, vec!["我们明天讨论项目计划"]);
    assert_eq!(search("明天讨论项目").await, vec!["我们明天讨论项目计划"]);
    let meetings = search("会议").await;
    assert_eq!(meetings.len(), 2);
    assert_eq!(search("会议 取消").await, vec!["今天的会议取消了"]);
    assert!(
        search("项计").await.is_empty(),
        "characters that are not adjacent do not match"
    );
    assert!(search("nothing-like-this").await.is_empty());

    // Only one conversation; one the caller is not in is 404; an empty q is 422.
    let only = app
        .as_user(&ann)
        .get_ok(&format!("/api/search/messages?q=report&conversation_id={other}"))
        .await;
    assert_eq!(contents(&only), vec!["another report, elsewhere"]);
    let stranger = app.register("Eve", "eve@example.com").await;
    app.as_user(&stranger)
        .get(&format!("/api/search/messages?q=report&conversation_id={group}"))
        .await
        .not_found();
    for q in ["", "%20%20"] {
        app.as_user(&ann)
            .get(&format!("/api/search/messages?q={q}"))
            .await
            .invalid_fields(&["q"]);
    }
    app.as_user(&ann).get("/api/search/messages").await.invalid();

    // Paging never repeats or skips.
    let pages = app
        .every_page(&ann, "/api/search/messages?q=report&limit=1")
        .await;
    let seen: Vec<String> = pages.iter().flat_map(ids).collect();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), 3);
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn every_change_publishes_a_domain_event() {
    let app = TestApp::spawn().await;
    let mut events = EventsInOrder::new(app.state.events.subscribe());
    let [ann, bob, cat] = app.users(["Ann", "Bob", "Cat"]).await;
    let group = app.group(&ann, "G", &[&bob]).await;
    let message = app.message(&ann, &group, "hello").await;
    let id = message["id"].as_str().unwrap();
    app.as_user(&ann)
        .put(format!("/api/messages/{id}"), json!({"content": "hello!"}))
        .await;
    app.as_user(&bob)
        .post(
            &format!("/api/conversations/{group}/read"),
            json!({"message_id": id}),
        )
        .await;
    app.as_user(&ann)
        .post(
            &format!("/api/conversations/{group}/members"),
            json!({"user_ids": [cat.id]}),
        )
        .await;
    app.as_user(&ann).delete(format!("/api/messages/{id}")).await;

    let mut kinds = Vec::new();
    while kinds.len() < 6 {
        let event = events.next("event").await;
        match &event.event {
            DomainEvent::MessageCreated { message, .. } => {
                assert_eq!(message.content, "hello");
                kinds.push("created");
            }
            DomainEvent::MessageUpdated { message, .. } => {
                assert_eq!(message.content, "hello!");
                kinds.push("updated");
            }
            DomainEvent::ReadPositionMoved { user_id, .. } => {
                assert_eq!(user_id.to_string(), bob.id);
                kinds.push("read");
            }
            DomainEvent::ConversationMembersChanged {
                added, member_ids, ..
            } => {
                assert_eq!(added.len(), 1);
                assert_eq!(member_ids.len(), 3);
                kinds.push("members");
            }
            DomainEvent::MessageDeleted { message_id, .. } => {
                assert_eq!(message_id.to_string(), id);
                kinds.push("deleted");
            }
            DomainEvent::ConversationCreated { member_ids, .. } => {
                assert_eq!(member_ids.len(), 2);
                kinds.push("conversation");
            }
            DomainEvent::SessionsRevoked { .. }
            | DomainEvent::SessionEnded { .. }
            | DomainEvent::ThreadUpdated { .. }
            | DomainEvent::ThreadRead { .. }
            | DomainEvent::ReadPositionMovedBack { .. }
            | DomainEvent::ReactionsChanged { .. }
            | DomainEvent::TaskAssigned { .. }
            | DomainEvent::NotificationCreated { .. }
            | DomainEvent::ProjectMemberAdded { .. }
            | DomainEvent::ScheduledMessageFailed { .. }
            | DomainEvent::ReminderDue { .. }
            | DomainEvent::ScheduledMessageChanged { .. }
            | DomainEvent::ReminderChanged { .. }
            | DomainEvent::PinsChanged { .. }
            | DomainEvent::CalendarNotice { .. }
            | DomainEvent::TaskDueSoon { .. }
            | DomainEvent::TaskCommented { .. }
            | DomainEvent::TaskUpdated { .. }
            | DomainEvent::TaskCommentChanged { .. } => {}
        }
    }
    assert_eq!(
        kinds,
        vec!["conversation", "created", "updated", "read", "members", "deleted"]
    );
    // The relay marks what it published.
    let unpublished = "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL";
    let within = std::time::Duration::from_secs(5);
    crate::helpers::wait_for_none(&app, unpublished, within, "outbox rows left unpublished").await;
}

#[tokio::test]
async fn events_reach_the_other_node_through_redis() {
    let node_a = TestApp::spawn().await;
    let node_b = node_a.spawn_peer().await;
    let mut on_b = node_b.state.events.subscribe();
    let ann = node_a.register("Ann", "ann@example.com").await;
    let group = node_a.group(&ann, "G", &[]).await;
    node_a.message(&ann, &group, "cross-node").await;
    loop {
        let event = next_event(&mut on_b, "event").await;
        if let DomainEvent::MessageCreated { message, .. } = &event.event {
            assert_eq!(message.content, "cross-node");
            break;
        }
    }
}

#[tokio::test]
async fn events_whose_pub_sub_message_never_arrived_still_reach_the_other_node_in_order() {
    // Node B listens on another Redis channel, so nothing node A publishes through Redis reaches it: as if
    // every pub/sub message were lost (Redis unreachable, the subscription reconnecting). B's tail check
    // reads them from the outbox, in position order, each once.
    let node_a = TestApp::spawn().await;
    let mut vars = node_a.vars.clone();
    vars.insert(
        "EPOP_REDIS_PREFIX".into(),
        format!("{}-elsewhere", vars["EPOP_REDIS_PREFIX"]),
    );
    let node_b = TestApp::start(node_a.db.clone(), vars).await;
    let mut on_b = EventsInOrder::new(node_b.state.events.subscribe());
    let ann = node_a.register("Ann", "ann@example.com").await;
    let group = node_a.group(&ann, "G", &[]).await;
    for i in 0..3 {
        node_a.message(&ann, &group, &format!("lost {i}")).await;
    }
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let event = on_b.next("the missed events are read from the outbox").await;
        if let DomainEvent::MessageCreated { message, .. } = &event.event {
            seen.push(message.content.clone());
        }
    }
    assert_eq!(seen, ["lost 0", "lost 1", "lost 2"]);
}
