//! docs/api.md, Bot users: admins create bots (`is_bot`, no password), which cannot sign in and act only with
//! the access tokens admins issue for them; members get `404` on every bot route.

use crate::access_tokens::{audited, refused_for_lack_of};
use crate::admin::global_admin;
use crate::helpers::{PASSWORD, TestApp, TestUser};
use reqwest::Method;
use serde_json::{Value, json};

/// Creates the bot `username` as `admin` (which must succeed) and returns it.
async fn create_bot(app: &TestApp, admin: &TestUser, username: &str) -> Value {
    app.as_user(admin)
        .post_created(
            "/api/admin/bots",
            json!({"username": username, "display_name": "Deploy Bot"}),
        )
        .await
}

#[tokio::test]
async fn a_bot_cannot_sign_in_and_acts_only_with_the_tokens_an_admin_issues() {
    let (app, [ann]) = TestApp::with_users(["Ann"]).await;
    let root = global_admin(&app).await;
    let bot = create_bot(&app, &root, "deploy-bot").await;
    assert_eq!(bot["is_bot"], true);
    assert_eq!(bot["name"], "Deploy Bot");
    assert_eq!(bot["email"], "deploy-bot@bots.invalid");
    assert_eq!(bot["email_verified"], false);
    let bot_id = bot["id"].as_str().unwrap();

    // No password works, and asking for a reset changes nothing.
    for password in [PASSWORD, "!reset-required", ""] {
        app.sign_in("deploy-bot@bots.invalid", password)
            .await
            .problem(reqwest::StatusCode::UNAUTHORIZED, "invalid_credentials");
    }
    app.anonymous()
        .post(
            "/api/auth/password-reset",
            json!({"email": "deploy-bot@bots.invalid"}),
        )
        .await
        .empty(reqwest::StatusCode::ACCEPTED);

    // An admin issues it a token; it posts into a group it was added to.
    let issued = app
        .as_user(&root)
        .post_created(
            format!("/api/admin/bots/{bot_id}/tokens"),
            json!({"name": "deploys", "scopes": ["users:read", "messages:write"]}),
        )
        .await;
    let token = issued["token"].as_str().unwrap();
    assert_eq!(issued["user_id"], bot_id);
    assert_eq!(issued["created_by"], root.id.as_str());
    let me = app.as_token(token).get_ok("/api/users/me").await;
    assert_eq!((me["id"].as_str(), &me["is_bot"]), (Some(bot_id), &json!(true)));
    let group = app.group(&ann, "Releases", &[]).await;
    app.as_user(&ann)
        .post(
            format!("/api/conversations/{group}/members"),
            json!({"user_ids": [bot_id]}),
        )
        .await
        .json(reqwest::StatusCode::OK);
    let sent = app
        .as_token(token)
        .post_created(
            format!("/api/conversations/{group}/messages"),
            json!({"content": "v1.2 deployed"}),
        )
        .await;
    assert_eq!(sent["sender_id"], bot_id);
    refused_for_lack_of(
        &app.as_token(token)
            .get(format!("/api/conversations/{group}/messages"))
            .await,
        "messages:read",
    );

    // Admins see it among the accounts, list its tokens and revoke one.
    let listed = app
        .as_user(&root)
        .get_ok(format!("/api/admin/users/{bot_id}"))
        .await;
    assert_eq!(listed["is_bot"], true);
    let tokens = app
        .as_user(&root)
        .get_ok(format!("/api/admin/bots/{bot_id}/tokens"))
        .await;
    assert_eq!(tokens["items"][0]["id"], issued["id"]);
    assert!(tokens["items"][0].get("token").is_none());
    let token_id = issued["id"].as_str().unwrap();
    app.as_user(&root)
        .delete_ok(format!("/api/admin/bots/{bot_id}/tokens/{token_id}"))
        .await;
    app.as_token(token).get("/api/users/me").await.unauthorized();
    for action in ["admin.bot_created", "auth.token_created", "auth.token_revoked"] {
        assert_eq!(audited(&app, action, "actor_id", &root.id).await, 1, "{action}");
    }
}

#[tokio::test]
async fn bot_routes_are_for_admins_only_and_check_their_input() {
    let (app, [ann]) = TestApp::with_users(["Ann"]).await;
    let root = global_admin(&app).await;
    let bot = create_bot(&app, &root, "builder").await;
    let bot_id = bot["id"].as_str().unwrap();
    let token_body = json!({"name": "t", "scopes": ["users:read"]});
    let routes = [
        (
            Method::POST,
            "/api/admin/bots".to_owned(),
            Some(json!({"username": "other", "display_name": "Other"})),
        ),
        (
            Method::POST,
            format!("/api/admin/bots/{bot_id}/tokens"),
            Some(token_body.clone()),
        ),
        (Method::GET, format!("/api/admin/bots/{bot_id}/tokens"), None),
        (
            Method::DELETE,
            format!("/api/admin/bots/{bot_id}/tokens/{}", uuid::Uuid::now_v7()),
            None,
        ),
    ];
    for (method, path, body) in routes {
        app.as_user(&ann)
            .send(method.clone(), &path, body.clone())
            .await
            .not_found();
        app.anonymous().send(method, &path, body).await.unauthorized();
    }
    // Bad input names its fields; a taken username is 409.
    for (body, fields) in [
        (json!({}), vec!["username", "display_name"]),
        (
            json!({"username": "Has Space", "display_name": "x"}),
            vec!["username"],
        ),
        (
            json!({"username": "-dash", "display_name": "x"}),
            vec!["username"],
        ),
        (
            json!({"username": "a".repeat(33), "display_name": "x"}),
            vec!["username"],
        ),
        (
            json!({"username": "ok", "display_name": ""}),
            vec!["display_name"],
        ),
    ] {
        app.as_user(&root)
            .post("/api/admin/bots", body)
            .await
            .invalid_fields(&fields);
    }
    app.as_user(&root)
        .post(
            "/api/admin/bots",
            json!({"username": "builder", "display_name": "Again"}),
        )
        .await
        .conflict();
    // Tokens are for bots: a person's id is 404, and so is an unknown token.
    app.as_user(&root)
        .post(format!("/api/admin/bots/{}/tokens", ann.id), token_body.clone())
        .await
        .not_found();
    app.as_user(&root)
        .get(format!("/api/admin/bots/{}/tokens", ann.id))
        .await
        .not_found();
    app.as_user(&root)
        .post(
            format!("/api/admin/bots/{bot_id}/tokens"),
            json!({"name": "t", "scopes": ["root"]}),
        )
        .await
        .invalid_fields(&["scopes[0]"]);
    // People cannot take the bots' domain (and with it a bot's username).
    app.sign_up("Squatter", "other@bots.invalid")
        .await
        .invalid_fields(&["email"]);
    app.as_user(&ann)
        .put(
            "/api/users/me",
            json!({"email": "other@Bots.Invalid", "current_password": PASSWORD}),
        )
        .await
        .invalid_fields(&["email"]);
    assert_eq!(app.count("SELECT count(*) AS n FROM users WHERE is_bot").await, 1);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM personal_access_tokens")
            .await,
        0
    );
}
