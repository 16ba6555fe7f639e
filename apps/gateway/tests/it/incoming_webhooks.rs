//! docs/api.md, Incoming webhooks: a member makes a secret URL that posts Slack's `{"text": ...}` into a group
//! as the hook's bot user (seen live by members' sockets and in the history), optionally only with a valid
//! Standard Webhooks signature; members list and delete hooks, everyone else gets `404`; bad bodies are `4xx`;
//! each hook is rate-limited.

use crate::access_tokens::audited;
use crate::helpers::{TestApp, TestUser, elements};
use crate::socket::Events as _;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Asks to create a hook in `conversation` as `member` with `body`, whatever the answer.
async fn ask_for_hook(
    app: &TestApp,
    member: &TestUser,
    conversation: &str,
    body: Value,
) -> crate::client::Answer {
    app.as_user(member)
        .post(
            format!("/api/conversations/{conversation}/incoming-webhooks"),
            body,
        )
        .await
}

/// Creates a hook in `conversation` as `member` with `body` (which must succeed) and returns the answer.
async fn create_hook(app: &TestApp, member: &TestUser, conversation: &str, body: Value) -> Value {
    ask_for_hook(app, member, conversation, body)
        .await
        .json(StatusCode::CREATED)
}

/// Posts `body` (raw, as JSON) to the hook URL `url` with extra `headers`, whatever the answer.
async fn post_to(app: &TestApp, url: &str, body: &str, headers: &[(&str, String)]) -> crate::client::Answer {
    let path = url
        .strip_prefix(&app.address)
        .expect("the hook URL is the gateway's");
    let mut caller = app.anonymous();
    for (name, value) in headers {
        caller = caller.header(name, value.clone());
    }
    caller
        .post_raw(path, Some("application/json"), body.to_owned())
        .await
}

/// Standard Webhooks headers signing `body` with `secret` as message `id`, `age_secs` ago.
pub(crate) fn signed(secret: &str, id: &str, age_secs: i64, body: &str) -> Vec<(&'static str, String)> {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use hmac::Mac as _;
    let timestamp = (chrono::Utc::now().timestamp() - age_secs).to_string();
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").expect("a whsec_ secret"))
        .unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    let signature = STANDARD.encode(mac.finalize().into_bytes());
    vec![
        ("webhook-id", id.to_owned()),
        ("webhook-timestamp", timestamp),
        ("webhook-signature", format!("v1,{signature}")),
    ]
}

fn url_of(hook: &Value) -> &str {
    hook["url"].as_str().expect("the URL is shown")
}

#[tokio::test]
async fn a_hook_posts_as_its_bot_to_members_sockets_and_the_history() {
    let (app, [ann, bob]) = TestApp::with_users(["Ann", "Bob"]).await;
    let group = app.group(&ann, "Builds", &[&bob]).await;
    let mut bob_socket = app.socket(&bob.access_token).await;
    let hook = create_hook(&app, &ann, &group, json!({"name": "CI"})).await;
    let url = url_of(&hook);
    assert!(url.starts_with(&format!("{}/hooks/", app.address)), "{url}");
    assert_eq!(hook["verify_signatures"], false);
    assert!(hook["signing_secret"].is_null());
    let bot = hook["bot_user_id"].as_str().unwrap();

    // The bot is a member, a bot, named as the hook.
    let conversation = app
        .as_user(&bob)
        .get_ok(format!("/api/conversations/{group}"))
        .await;
    assert!(conversation.to_string().contains(bot), "{conversation}");
    let profile = app.as_user(&bob).get_ok(format!("/api/users/{bot}")).await;
    assert_eq!(profile["name"], "CI");

    let answer = post_to(
        &app,
        url,
        r#"{"text": "build 42 passed", "username": "ignored", "icon_emoji": ":tada:"}"#,
        &[],
    )
    .await;
    let posted = answer.json(StatusCode::OK);
    assert_eq!(posted["ok"], true);
    let live = bob_socket.event("message:new").await;
    assert_eq!(live["content"], "build 42 passed");
    assert_eq!(live["sender_id"], bot);
    assert_eq!(live["id"], posted["message_id"]);
    let history = app
        .as_user(&ann)
        .get_ok(format!("/api/conversations/{group}/messages"))
        .await;
    let message = elements(&history["items"])
        .find(|m| m["content"] == "build 42 passed")
        .expect("in the history");
    assert_eq!(message["sender_id"], bot);

    // Members list it (without its URL); deleting it ends the URL and takes the bot out.
    let listed = app
        .as_user(&bob)
        .get_ok(format!("/api/conversations/{group}/incoming-webhooks"))
        .await;
    assert_eq!(listed["items"][0]["id"], hook["id"]);
    assert!(!listed.to_string().contains(url));
    let hook_id = hook["id"].as_str().unwrap();
    app.as_user(&bob)
        .delete_ok(format!("/api/conversations/{group}/incoming-webhooks/{hook_id}"))
        .await;
    post_to(&app, url, r#"{"text": "after"}"#, &[]).await.not_found();
    let conversation = app
        .as_user(&ann)
        .get_ok(format!("/api/conversations/{group}"))
        .await;
    assert!(
        !conversation["members"].to_string().contains(bot),
        "{conversation}"
    );
    let history = app
        .as_user(&ann)
        .get_ok(format!("/api/conversations/{group}/messages"))
        .await;
    assert!(
        history.to_string().contains("build 42 passed"),
        "its messages stay"
    );
    for action in ["webhook.incoming_created", "webhook.incoming_deleted"] {
        assert_eq!(audited(&app, action, "target_id", hook_id).await, 1, "{action}");
    }
}

#[tokio::test]
async fn hooks_are_for_members_of_groups_and_bad_requests_change_nothing() {
    let (app, [ann, bob, carol]) = TestApp::with_users(["Ann", "Bob", "Carol"]).await;
    let group = app.group(&ann, "Builds", &[&bob]).await;
    let hooks = format!("/api/conversations/{group}/incoming-webhooks");
    let hook = create_hook(&app, &ann, &group, json!({"name": "CI"})).await;
    let hook_id = hook["id"].as_str().unwrap();

    // Carol is no member: 404 everywhere, and nothing changes.
    app.as_user(&carol)
        .post(&hooks, json!({"name": "Mine"}))
        .await
        .not_found();
    app.as_user(&carol).get(&hooks).await.not_found();
    app.as_user(&carol)
        .delete(format!("{hooks}/{hook_id}"))
        .await
        .not_found();
    app.as_user(&ann)
        .delete(format!("{hooks}/{}", uuid::Uuid::now_v7()))
        .await
        .not_found();
    // A direct conversation has no hooks.
    let direct = app.direct(&ann, &carol).await;
    ask_for_hook(&app, &ann, &direct, json!({"name": "DM"}))
        .await
        .conflict();
    for (body, fields) in [
        (json!({}), vec!["name"]),
        (json!({"name": ""}), vec!["name"]),
        (json!({"name": "x".repeat(101)}), vec!["name"]),
        (
            json!({"name": "CI", "verify_signatures": "yes"}),
            vec!["verify_signatures"],
        ),
    ] {
        app.as_user(&ann).post(&hooks, body).await.invalid_fields(&fields);
    }
    // Access tokens cannot manage hooks.
    let token =
        crate::access_tokens::token_with(&app, &ann, &["conversations:write", "conversations:read"]).await;
    app.as_token(&token)
        .post(&hooks, json!({"name": "Token"}))
        .await
        .forbidden();
    // Only the first hook, and its bot, exist.
    assert_eq!(app.count("SELECT count(*) AS n FROM incoming_webhooks").await, 1);
    assert_eq!(app.count("SELECT count(*) AS n FROM users WHERE is_bot").await, 1);

    // Bad bodies to the URL: 4xx naming the problem, and nothing posted.
    let url = url_of(&hook);
    post_to(&app, url, "{}", &[]).await.invalid_fields(&["text"]);
    post_to(&app, url, r#"{"text": ""}"#, &[])
        .await
        .invalid_fields(&["text"]);
    post_to(&app, url, r#"{"text": 5}"#, &[])
        .await
        .invalid_fields(&["text"]);
    let long = format!(r#"{{"text": "{}"}}"#, "x".repeat(10_001));
    post_to(&app, url, &long, &[]).await.invalid_fields(&["text"]);
    post_to(&app, url, "{\"text\":", &[])
        .await
        .problem(StatusCode::BAD_REQUEST, "bad_request");
    let path = url.strip_prefix(&app.address).unwrap();
    app.anonymous()
        .post_raw(path, Some("text/plain"), "text=hi")
        .await
        .problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    // Unknown tokens are 404.
    app.anonymous()
        .post_raw("/hooks/not-a-hook", Some("application/json"), r#"{"text": "hi"}"#)
        .await
        .not_found();
    let history = app
        .as_user(&ann)
        .get_ok(format!("/api/conversations/{group}/messages"))
        .await;
    assert_eq!(history["items"], json!([]));
}

#[tokio::test]
async fn a_signed_hook_posts_only_with_a_valid_signature_and_once_per_webhook_id() {
    let (app, [ann]) = TestApp::with_users(["Ann"]).await;
    let group = app.group(&ann, "Alerts", &[]).await;
    let hook = create_hook(
        &app,
        &ann,
        &group,
        json!({"name": "Pager", "verify_signatures": true}),
    )
    .await;
    assert_eq!(hook["verify_signatures"], true);
    let secret = hook["signing_secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"), "{secret}");
    let url = url_of(&hook);
    let body = r#"{"text": "disk full"}"#;

    // Missing, wrong, stale and foreign signatures: 401, nothing posted.
    post_to(&app, url, body, &[]).await.unauthorized();
    let mut tampered = signed(secret, "msg_1", 0, body);
    tampered[2].1 = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into();
    post_to(&app, url, body, &tampered).await.unauthorized();
    let other_body = signed(secret, "msg_1", 0, r#"{"text": "other"}"#);
    post_to(&app, url, body, &other_body).await.unauthorized();
    post_to(&app, url, body, &signed(secret, "msg_1", 600, body))
        .await
        .unauthorized();
    let foreign = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    post_to(&app, url, body, &signed(foreign, "msg_1", 0, body))
        .await
        .unauthorized();
    let history = app
        .as_user(&ann)
        .get_ok(format!("/api/conversations/{group}/messages"))
        .await;
    assert_eq!(history["items"], json!([]));

    // A valid one posts; the same webhook-id again posts nothing new.
    let first = post_to(&app, url, body, &signed(secret, "msg_1", 0, body))
        .await
        .json(StatusCode::OK);
    let again = post_to(&app, url, body, &signed(secret, "msg_1", 1, body))
        .await
        .json(StatusCode::OK);
    assert_eq!(first["message_id"], again["message_id"]);
    let history = app
        .as_user(&ann)
        .get_ok(format!("/api/conversations/{group}/messages"))
        .await;
    assert_eq!(history["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn hooks_are_rate_limited_and_capped_per_conversation() {
    let app = TestApp::with_settings([
        ("EPOP_INCOMING_WEBHOOK_RATE_LIMIT", "2"),
        ("EPOP_MAX_INCOMING_WEBHOOKS", "1"),
    ])
    .await;
    let [ann] = app.users(["Ann"]).await;
    let group = app.group(&ann, "Noise", &[]).await;
    let hook = create_hook(&app, &ann, &group, json!({"name": "Chatty"})).await;
    let url = url_of(&hook);
    for n in 0..2 {
        post_to(&app, url, &format!(r#"{{"text": "{n}"}}"#), &[])
            .await
            .json(StatusCode::OK);
    }
    let limited = post_to(&app, url, r#"{"text": "too many"}"#, &[]).await;
    limited.problem(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert!(limited.retry_after() >= 1);

    ask_for_hook(&app, &ann, &group, json!({"name": "Second"}))
        .await
        .conflict();
    // The refused hook left no bot behind.
    assert_eq!(app.count("SELECT count(*) AS n FROM users WHERE is_bot").await, 1);
}
