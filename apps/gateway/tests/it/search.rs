//! docs/api.md, Conversations and messages (search): thread replies are found like any message, and the filters
//! (`in`, `from`, `has=file`, `mentions=me`, `[sent_after, sent_before)`) narrow the matches, each checked.

use crate::files::upload;
use crate::helpers::{TestApp, TestUser, pluck};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The contents of the search results for `query` (after `q=budget&`), as `user`, best match first.
async fn found(app: &TestApp, user: &TestUser, query: &str) -> Vec<String> {
    let page = app
        .as_user(user)
        .get_ok(format!("/api/search/messages?q=budget&{query}"))
        .await;
    let mut contents = pluck(&page, "content");
    contents.sort_unstable();
    contents
}

#[tokio::test]
async fn search_finds_thread_replies_with_their_root() {
    let (app, [ann, bob]) = TestApp::with_users(["Ann", "Bob"]).await;
    let group = app.group(&ann, "G", &[&bob]).await;
    let root = app.message(&ann, &group, "release plan").await;
    app.reply(
        &bob,
        root["conversation_id"].as_str().unwrap(),
        &root,
        "release notes, in the thread",
    )
    .await;
    app.as_user(&bob)
        .post_created(
            format!("/api/conversations/{group}/messages"),
            json!({"content": "release party, also in the conversation", "thread_root_id": root["id"],
                   "send_to_conversation": true}),
        )
        .await;
    let page = app.as_user(&ann).get_ok("/api/search/messages?q=release").await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{page}");
    for item in items {
        let expected = if item["id"] == root["id"] {
            Value::Null
        } else {
            root["id"].clone()
        };
        assert_eq!(item["thread_root_id"], expected, "{item}");
    }
    let thread_only = app
        .as_user(&bob)
        .get_ok(format!("/api/search/messages?q=notes&in={group}"))
        .await;
    assert_eq!(pluck(&thread_only, "content"), ["release notes, in the thread"]);
    assert_eq!(thread_only["items"][0]["sent_to_conversation"], false);
}

#[tokio::test]
async fn search_filters_by_conversation_sender_files_mentions_and_time() {
    let (app, [ann, bob, cat]) = TestApp::with_users(["Ann", "Bob", "Cat"]).await;
    let group = app.group(&ann, "G", &[&bob, &cat]).await;
    let other = app.group(&bob, "O", &[&ann]).await;
    let first = app.message(&ann, &group, "budget draft").await;
    app.message(&bob, &group, &format!("budget final <@{}>", ann.id))
        .await;
    let elsewhere = app.message(&bob, &other, "budget elsewhere").await;
    let slot = upload(&app, &cat, "budget.csv", "text/csv", b"a,b\n1,2\n").await;
    app.as_user(&cat)
        .post_created(
            format!("/api/conversations/{group}/messages"),
            json!({"content": "budget sheet", "attachment_ids": [slot["attachment_id"]]}),
        )
        .await;
    app.message(&cat, &group, "<!all> budget meeting").await;

    let all = [
        "<!all> budget meeting",
        "budget draft",
        "budget elsewhere",
        "budget final <@ID>",
        "budget sheet",
    ];
    let shown = |names: &[&str]| -> Vec<String> {
        let mut names: Vec<String> = names.iter().map(|n| n.replace("ID", &ann.id)).collect();
        names.sort_unstable();
        names
    };
    assert_eq!(found(&app, &ann, "").await, shown(&all));
    // `in` is `conversation_id` by Slack's name; both may be given when they agree.
    let only_other = shown(&["budget elsewhere"]);
    assert_eq!(found(&app, &ann, &format!("in={other}")).await, only_other);
    assert_eq!(
        found(&app, &ann, &format!("conversation_id={other}")).await,
        only_other
    );
    assert_eq!(
        found(&app, &ann, &format!("in={other}&conversation_id={other}")).await,
        only_other
    );
    // The sender.
    assert_eq!(
        found(&app, &ann, &format!("from={}", bob.id)).await,
        shown(&["budget elsewhere", "budget final <@ID>"])
    );
    assert_eq!(
        found(&app, &ann, &format!("from={}&in={group}", bob.id)).await,
        shown(&["budget final <@ID>"])
    );
    // Attached files.
    assert_eq!(found(&app, &ann, "has=file").await, shown(&["budget sheet"]));
    // Mentions of the caller: named, or reached by <!all>; never one's own message.
    assert_eq!(
        found(&app, &ann, "mentions=me").await,
        shown(&["<!all> budget meeting", "budget final <@ID>"])
    );
    assert_eq!(
        found(&app, &bob, "mentions=me").await,
        shown(&["<!all> budget meeting"])
    );
    assert!(found(&app, &cat, "mentions=me").await.is_empty());
    // The send time, half-open: [sent_after, sent_before).
    let at = elsewhere["created_at"].as_str().unwrap();
    assert_eq!(
        found(&app, &ann, &format!("sent_after={at}")).await,
        shown(&["<!all> budget meeting", "budget elsewhere", "budget sheet"])
    );
    assert_eq!(
        found(&app, &ann, &format!("sent_before={at}")).await,
        shown(&["budget draft", "budget final <@ID>"])
    );
    assert!(
        found(&app, &ann, &format!("sent_after={at}&sent_before={at}"))
            .await
            .is_empty()
    );
    let first_at = first["created_at"].as_str().unwrap();
    assert_eq!(
        found(
            &app,
            &ann,
            &format!("sent_after={first_at}&sent_before={at}&from={}", ann.id)
        )
        .await,
        shown(&["budget draft"])
    );
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    assert_eq!(
        found(&app, &ann, &format!("sent_before={tomorrow}")).await,
        shown(&all)
    );
    assert!(
        found(&app, &ann, &format!("sent_after={tomorrow}"))
            .await
            .is_empty()
    );

    // Pages of a filtered search never repeat or skip.
    let pages = app
        .every_page(
            &ann,
            &format!("/api/search/messages?q=budget&from={}&limit=1", bob.id),
        )
        .await;
    let seen: Vec<String> = pages.iter().flat_map(|p| pluck(p, "content")).collect();
    assert_eq!(seen.len(), 2, "{pages:?}");
    assert_ne!(seen[0], seen[1]);
}

#[tokio::test]
async fn bad_search_filters_are_refused_naming_each_parameter() {
    let (app, [ann, bob, eve]) = TestApp::with_users(["Ann", "Bob", "Eve"]).await;
    let group = app.group(&ann, "G", &[&bob]).await;
    let other = app.group(&ann, "O", &[]).await;
    app.message(&ann, &group, "budget").await;
    let search = |query: String| {
        let app = &app;
        let ann = &ann;
        async move {
            app.as_user(ann)
                .get(format!("/api/search/messages?q=budget&{query}"))
                .await
        }
    };
    for (query, fields) in [
        ("from=bob".to_owned(), vec!["from"]),
        ("in=general".to_owned(), vec!["in"]),
        ("conversation_id=1".to_owned(), vec!["conversation_id"]),
        ("has=link".to_owned(), vec!["has"]),
        ("has=".to_owned(), vec!["has"]),
        ("mentions=you".to_owned(), vec!["mentions"]),
        (format!("mentions={}", bob.id), vec!["mentions"]),
        ("sent_after=yesterday".to_owned(), vec!["sent_after"]),
        ("sent_before=2026-13-01".to_owned(), vec!["sent_before"]),
        ("sent_after=2026-12-01T25:00:00Z".to_owned(), vec!["sent_after"]),
        (
            "from=x&has=y&sent_before=z".to_owned(),
            vec!["from", "has", "sent_before"],
        ),
        (format!("in={group}&conversation_id={other}"), vec!["in"]),
    ] {
        search(query).await.invalid_fields(&fields);
    }
    // A conversation the caller is not in, by either name, is 404.
    for name in ["in", "conversation_id"] {
        app.as_user(&eve)
            .get(format!("/api/search/messages?q=budget&{name}={group}"))
            .await
            .not_found();
    }
    // The filters do not make `q` optional.
    app.as_user(&ann)
        .get(format!("/api/search/messages?from={}", ann.id))
        .await
        .invalid_fields(&["q"]);
    assert_eq!(
        app.as_user(&ann)
            .get(format!("/api/search/messages?q=budget&in={group}"))
            .await
            .json(StatusCode::OK)["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
