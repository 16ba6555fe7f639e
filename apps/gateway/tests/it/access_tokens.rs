//! docs/api.md, Personal access tokens: created with scopes and shown once, listed without their secret, used as
//! a bearer token on REST and in the socket handshake within their scopes only, never on account management;
//! revoked at once on every node (their sockets close), refused once expired or once their owner ended every
//! session; capped per user; audited.

use crate::accounts::expect_disconnect;
use crate::helpers::{TestApp, TestUser};
use crate::socket::{Events as _, call};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Creates a token named `name` for `user` with `scopes` (which must succeed) and returns the answer.
pub(crate) async fn create_token(app: &TestApp, user: &TestUser, name: &str, scopes: &[&str]) -> Value {
    app.as_user(user)
        .post_created("/api/users/me/tokens", json!({"name": name, "scopes": scopes}))
        .await
}

/// The secret of a new token of `user` with `scopes`.
pub(crate) async fn token_with(app: &TestApp, user: &TestUser, scopes: &[&str]) -> String {
    secret(&create_token(app, user, "test", scopes).await)
}

fn secret(created: &Value) -> String {
    created["token"].as_str().expect("the token is shown").to_owned()
}

/// How many audit rows of `action` have `column` (`actor_id`, `target_id`) equal to `id`.
pub(crate) async fn audited(app: &TestApp, action: &str, column: &str, id: &str) -> i64 {
    app.count(&format!(
        "SELECT count(*) AS n FROM audit_log WHERE action = '{action}' AND {column} = '{id}'"
    ))
    .await
}

/// Asserts a `403` whose detail names `scope`.
#[track_caller]
pub(crate) fn refused_for_lack_of(answer: &crate::client::Answer, scope: &str) {
    let problem = answer.forbidden();
    let detail = problem.detail.unwrap_or_default();
    assert!(detail.contains(&format!("`{scope}`")), "{detail}");
}

#[tokio::test]
async fn a_token_is_shown_once_listed_without_its_secret_and_reaches_only_its_scopes() {
    let (app, [ann, bob]) = TestApp::with_users(["Ann", "Bob"]).await;
    let group = app.group(&ann, "Ops", &[&bob]).await;
    app.message(&bob, &group, "hello").await;
    let created = create_token(&app, &ann, "reader", &["conversations:read", "messages:read"]).await;
    let token = secret(&created);
    assert!(
        token.starts_with("epop_pat_") && token.len() == "epop_pat_".len() + 43,
        "{token}"
    );
    assert_eq!(created["token_prefix"], token[..13]);
    assert_eq!(created["scopes"], json!(["conversations:read", "messages:read"]));
    assert_eq!(created["user_id"], ann.id.as_str());
    assert!(created["expires_at"].is_null() && created["last_used_at"].is_null());

    // Within its scopes it acts as Ann.
    let conversations = app.as_token(&token).get_ok("/api/conversations").await;
    assert_eq!(conversations["items"][0]["id"], group.as_str());
    let history = app
        .as_token(&token)
        .get_ok(format!("/api/conversations/{group}/messages"))
        .await;
    assert_eq!(history["items"][0]["content"], "hello");

    // Beyond them: 403 naming the scope it lacks, and nothing done.
    let send = app
        .as_token(&token)
        .post(
            format!("/api/conversations/{group}/messages"),
            json!({"content": "no"}),
        )
        .await;
    refused_for_lack_of(&send, "messages:write");
    refused_for_lack_of(&app.as_token(&token).get("/api/projects").await, "projects:read");
    refused_for_lack_of(&app.as_token(&token).get("/api/users/me").await, "users:read");
    let history = app
        .as_user(&ann)
        .get_ok(format!("/api/conversations/{group}/messages"))
        .await;
    assert_eq!(history["items"].as_array().unwrap().len(), 1);

    // The list never shows the secret, and records the use.
    let list = app.as_user(&ann).get_ok("/api/users/me/tokens").await;
    let listed = &list["items"][0];
    assert_eq!(listed["id"], created["id"]);
    assert!(listed.get("token").is_none(), "{listed}");
    assert!(!list.to_string().contains(&token));
    assert!(listed["last_used_at"].is_string(), "{listed}");
    assert_eq!(
        app.as_user(&bob).get_ok("/api/users/me/tokens").await["items"],
        json!([])
    );
    assert_eq!(audited(&app, "auth.token_created", "actor_id", &ann.id).await, 1);
    // Only the hash is stored.
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM personal_access_tokens WHERE token_hash = sha256('{token}'::bytea)"
        ))
        .await,
        1
    );
}

#[tokio::test]
async fn tokens_never_reach_account_management() {
    let (app, [ann]) = TestApp::with_users(["Ann"]).await;
    let every_scope = [
        "users:read",
        "conversations:read",
        "conversations:write",
        "messages:read",
        "messages:write",
        "projects:read",
        "projects:write",
        "tasks:read",
        "tasks:write",
        "calendar:read",
        "calendar:write",
        "notifications:read",
        "notifications:write",
    ];
    let created = create_token(&app, &ann, "everything", &every_scope).await;
    let token = secret(&created);
    let id = created["id"].as_str().unwrap();
    let refused: Vec<(Method, String, Option<Value>)> = vec![
        (
            Method::PUT,
            "/api/users/me".into(),
            Some(json!({"password": "another password", "current_password": crate::helpers::PASSWORD})),
        ),
        (
            Method::POST,
            "/api/users/me/tokens".into(),
            Some(json!({"name": "more", "scopes": ["users:read"]})),
        ),
        (Method::GET, "/api/users/me/tokens".into(), None),
        (Method::DELETE, format!("/api/users/me/tokens/{id}"), None),
        (Method::POST, "/api/users/me/mfa/totp".into(), None),
        (Method::GET, "/api/auth/sessions".into(), None),
        (Method::POST, "/api/auth/logout-all".into(), None),
        (Method::GET, "/api/admin/users".into(), None),
    ];
    for (method, path, body) in refused {
        let answer = app.as_token(&token).send(method.clone(), &path, body).await;
        let problem = answer.forbidden();
        assert!(
            problem.detail.unwrap_or_default().contains("access tokens"),
            "{method} {path}"
        );
    }
    // Nothing changed: the token lives, the password too.
    assert_eq!(
        app.as_token(&token).get_ok("/api/users/me").await["id"],
        ann.id.as_str()
    );
    app.sign_in_again("ann@example.com").await;
    // A method its path does not have is still 405, an unknown path 404.
    let answer = app
        .as_token(&token)
        .send(Method::PATCH, "/api/users/me", None)
        .await;
    assert_eq!(answer.status(), StatusCode::METHOD_NOT_ALLOWED);
    app.as_token(&token).get("/api/no-such-route").await.not_found();
}

#[tokio::test]
async fn a_revoked_token_is_refused_at_once_on_every_node_and_its_sockets_close() {
    let (app, [ann, bob]) = TestApp::with_users(["Ann", "Bob"]).await;
    let peer = app.spawn_peer().await;
    let created = create_token(&app, &ann, "bot", &["messages:read", "users:read"]).await;
    let token = secret(&created);
    let id = created["id"].as_str().unwrap();
    peer.as_token(&token).get_ok("/api/users/me").await;
    let mut socket = peer.socket(&token).await;

    // Bob cannot revoke Ann's token.
    app.as_user(&bob)
        .delete(format!("/api/users/me/tokens/{id}"))
        .await
        .not_found();
    peer.as_token(&token).get_ok("/api/users/me").await;

    app.as_user(&ann)
        .delete_ok(format!("/api/users/me/tokens/{id}"))
        .await;
    peer.as_token(&token).get("/api/users/me").await.unauthorized();
    app.as_token(&token).get("/api/users/me").await.unauthorized();
    expect_disconnect(&mut socket).await;
    let (_, reply) = peer.socket_with(&json!({"token": token})).await;
    assert!(reply.starts_with("44"), "{reply}");
    app.as_user(&ann)
        .delete(format!("/api/users/me/tokens/{id}"))
        .await
        .not_found();
    assert_eq!(
        app.as_user(&ann).get_ok("/api/users/me/tokens").await["items"],
        json!([])
    );
    assert_eq!(audited(&app, "auth.token_revoked", "target_id", id).await, 1);
}

#[tokio::test]
async fn expired_unknown_and_ended_tokens_are_refused() {
    let (app, [ann]) = TestApp::with_users(["Ann"]).await;
    let in_an_hour = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let created = app
        .as_user(&ann)
        .post_created(
            "/api/users/me/tokens",
            json!({"name": "short", "scopes": ["users:read"], "expires_at": in_an_hour}),
        )
        .await;
    let token = secret(&created);
    assert!(created["expires_at"].is_string());
    app.as_token(&token).get_ok("/api/users/me").await;
    app.sql(&format!(
        "UPDATE personal_access_tokens SET expires_at = now() - interval '1 second' WHERE id = '{}'",
        created["id"].as_str().unwrap()
    ))
    .await;
    app.as_token(&token).get("/api/users/me").await.unauthorized();
    let (_, reply) = app.socket_with(&json!({"token": token})).await;
    assert!(reply.starts_with("44"), "{reply}");

    // Unknown tokens, and tokens that only look like one.
    for unknown in [
        format!("epop_pat_{}", "A".repeat(43)),
        "epop_pat_".to_owned(),
        format!("{token}x"),
    ] {
        app.as_token(&unknown).get("/api/users/me").await.unauthorized();
    }

    // Ending every session ends the tokens made before it.
    let lasting = token_with(&app, &ann, &["users:read"]).await;
    app.as_token(&lasting).get_ok("/api/users/me").await;
    app.as_user(&ann)
        .send(Method::POST, "/api/auth/logout-all", None)
        .await
        .empty(StatusCode::NO_CONTENT);
    app.as_token(&lasting).get("/api/users/me").await.unauthorized();
}

#[tokio::test]
async fn bad_token_requests_name_their_fields_and_create_nothing() {
    let (app, [ann]) = TestApp::with_users(["Ann"]).await;
    let cases = [
        (json!({}), vec!["name", "scopes"]),
        (json!({"name": "x", "scopes": []}), vec!["scopes"]),
        (
            json!({"name": "x", "scopes": ["messages:delete"]}),
            vec!["scopes[0]"],
        ),
        (json!({"name": "x", "scopes": "messages:read"}), vec!["scopes"]),
        (json!({"name": "", "scopes": ["users:read"]}), vec!["name"]),
        (
            json!({"name": "x".repeat(101), "scopes": ["users:read"]}),
            vec!["name"],
        ),
        (
            json!({"name": "x", "scopes": ["users:read"], "expires_at": "2001-01-01T00:00:00Z"}),
            vec!["expires_at"],
        ),
        (
            json!({"name": "x", "scopes": ["users:read"], "expires_at": "tomorrow"}),
            vec!["expires_at"],
        ),
    ];
    for (body, fields) in cases {
        app.as_user(&ann)
            .post("/api/users/me/tokens", body)
            .await
            .invalid_fields(&fields);
    }
    app.anonymous()
        .post(
            "/api/users/me/tokens",
            json!({"name": "x", "scopes": ["users:read"]}),
        )
        .await
        .unauthorized();
    crate::helpers::assert_paging_checked(&app, &ann, "/api/users/me/tokens", "garbage", &["0"]).await;
    app.as_user(&ann)
        .delete(format!("/api/users/me/tokens/{}", uuid::Uuid::now_v7()))
        .await
        .not_found();
    assert_eq!(
        app.count("SELECT count(*) AS n FROM personal_access_tokens")
            .await,
        0
    );
}

#[tokio::test]
async fn a_user_holds_at_most_the_configured_number_of_tokens() {
    let app = TestApp::with_settings([("EPOP_MAX_ACCESS_TOKENS", "2")]).await;
    let [ann] = app.users(["Ann"]).await;
    let first = create_token(&app, &ann, "one", &["users:read"]).await;
    create_token(&app, &ann, "two", &["users:read"]).await;
    app.as_user(&ann)
        .post(
            "/api/users/me/tokens",
            json!({"name": "three", "scopes": ["users:read"]}),
        )
        .await
        .conflict();
    // An expired one frees its place.
    app.sql(&format!(
        "UPDATE personal_access_tokens SET expires_at = now() - interval '1 second' WHERE id = '{}'",
        first["id"].as_str().unwrap()
    ))
    .await;
    create_token(&app, &ann, "three", &["users:read"]).await;
    assert_eq!(
        app.count("SELECT count(*) AS n FROM personal_access_tokens")
            .await,
        2
    );
}

#[tokio::test]
async fn a_socket_opened_with_a_token_gets_events_and_may_only_send_with_its_scope() {
    let (app, [ann, bob]) = TestApp::with_users(["Ann", "Bob"]).await;
    let group = app.group(&ann, "Ops", &[&bob]).await;
    let reader = token_with(&app, &ann, &["messages:read"]).await;
    let mut socket = app.socket(&reader).await;
    app.message(&bob, &group, "for the reader").await;
    assert_eq!(socket.event("message:new").await["content"], "for the reader");
    let ack = call(
        &mut socket,
        1,
        "message:send",
        json!({"conversation_id": group, "content": "refused"}),
    )
    .await;
    assert_eq!(ack["ok"], false, "{ack}");
    assert_eq!(ack["error"]["code"], "forbidden");
    assert!(
        ack["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`messages:write`")
    );

    let writer = token_with(&app, &ann, &["messages:read", "messages:write"]).await;
    let mut socket = app.socket(&writer).await;
    let ack = call(
        &mut socket,
        1,
        "message:send",
        json!({"conversation_id": group, "content": "sent with a token"}),
    )
    .await;
    assert_eq!(ack["ok"], true, "{ack}");
    assert_eq!(ack["message"]["sender_id"], ann.id.as_str());

    // Without `messages:read` the handshake is refused, naming the scope.
    let blind = token_with(&app, &ann, &["users:read"]).await;
    let (_, reply) = app.socket_with(&json!({"token": blind})).await;
    assert!(
        reply.starts_with("44") && reply.contains("forbidden") && reply.contains("messages:read"),
        "{reply}"
    );
}
