//! docs/api.md, Administration: the admin API (`/api/admin/users…`) for global admins only (`404` for
//! everyone else): listing and searching accounts, deactivation and reactivation (tokens and sockets end at
//! once, content stays), role changes, forced password resets, and the rule that one active admin remains.

use crate::accounts::expect_disconnect;
use crate::client::Call;
use crate::email::{SmtpServer, code_in};
use crate::helpers::{PASSWORD, TestApp, TestUser, assert_paging_checked, pluck};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A global admin (role changed in the database, then signed in again).
pub(crate) async fn global_admin(app: &TestApp) -> TestUser {
    let root = app.register("Root", "root@example.com").await;
    app.sql(&format!(
        "UPDATE users SET role = 'admin' WHERE id = '{}'",
        root.id
    ))
    .await;
    app.sign_in_again("root@example.com").await
}

/// Every admin route, with a body where it takes one, about `user`.
fn admin_routes(user: &str) -> [Call; 7] {
    [
        Call::get("/api/admin/users"),
        Call::get(format!("/api/admin/users/{user}")),
        Call::new(Method::POST, format!("/api/admin/users/{user}/deactivate"), None),
        Call::new(Method::POST, format!("/api/admin/users/{user}/reactivate"), None),
        Call::put(format!("/api/admin/users/{user}/role"), json!({"role": "admin"})),
        Call::new(
            Method::POST,
            format!("/api/admin/users/{user}/password-reset"),
            None,
        ),
        Call::get("/api/admin/audit-log"),
    ]
}

/// `root` runs the admin `action` (`deactivate`, `reactivate`) on `user`, which must succeed, and returns the
/// account as it is now.
async fn admin_action(app: &TestApp, root: &TestUser, user: &TestUser, action: &str) -> Value {
    app.as_user(root)
        .post_ok(format!("/api/admin/users/{}/{action}", user.id), json!({}))
        .await
}

#[tokio::test]
async fn the_admin_api_is_not_found_for_members_and_needs_a_token() {
    let (app, [ann, bob]) = TestApp::with_users(["Ann", "Bob"]).await;
    app.as_user(&ann).all_not_found(admin_routes(&bob.id)).await;
    app.anonymous()
        .all_refused(StatusCode::UNAUTHORIZED, "unauthorized", admin_routes(&bob.id))
        .await;
    // Nothing changed: Bob is a member, active, signed in.
    let me = app.as_user(&bob).get_ok("/api/users/me").await;
    assert_eq!(me["role"], "member");
    app.sign_in_again("bob@example.com").await;
    assert_eq!(
        app.count("SELECT count(*) AS n FROM audit_log WHERE action LIKE 'admin.%'")
            .await,
        0
    );
}

#[tokio::test]
async fn admins_list_and_search_every_account_by_name_in_pages() {
    let (app, [_ann, _anna, _bob]) = TestApp::with_users(["Ann", "Anna", "Bob"]).await;
    let root = global_admin(&app).await;
    let pages = app.every_page(&root, "/api/admin/users?limit=2").await;
    let names: Vec<String> = pages.iter().flat_map(|page| pluck(page, "name")).collect();
    assert_eq!(names, ["Ann", "Anna", "Bob", "Root"]);
    let first = &pages[0]["items"][0];
    assert_eq!(first["email"], "ann@example.com");
    assert_eq!(first["role"], "member");
    assert_eq!(first["active"], true);
    assert_eq!(first["mfa_enabled"], false);
    assert!(first["deactivated_at"].is_null());

    let found = app.as_user(&root).get_ok("/api/admin/users?query=ANN").await;
    assert_eq!(pluck(&found, "name"), ["Ann", "Anna"]);
    let by_mail = app.as_user(&root).get_ok("/api/admin/users?query=bob%40").await;
    assert_eq!(by_mail["items"].as_array().unwrap().len(), 1);

    assert_paging_checked(&app, &root, "/api/admin/users", "garbage", &["0"]).await;
    app.as_user(&root)
        .get(format!("/api/admin/users?query={}", "a".repeat(255)))
        .await
        .invalid_fields(&["query"]);
    app.as_user(&root)
        .all_not_found(Call::unknown_ids(Method::GET, "/api/admin/users"))
        .await;
}

#[tokio::test]
async fn a_deactivated_user_cannot_sign_in_and_their_tokens_and_sockets_end_at_once_on_every_node() {
    let node_a = TestApp::spawn().await;
    let node_b = node_a.spawn_peer().await;
    let [ann, bob] = node_a.users(["Ann", "Bob"]).await;
    let root = global_admin(&node_a).await;
    let direct = node_a.direct(&ann, &bob).await;
    let message = node_a.message(&ann, &direct, "hello Bob").await;
    let on_b = node_b.sign_in_again("ann@example.com").await;
    let mut socket = node_b.socket(&on_b.access_token).await;

    let answer = admin_action(&node_a, &root, &ann, "deactivate").await;
    assert_eq!(answer["active"], false);
    assert!(answer["deactivated_at"].is_string());

    for node in [&node_b, &node_a] {
        for token in [&ann, &on_b] {
            node.as_user(token).get("/api/users/me").await.unauthorized();
        }
    }
    expect_disconnect(&mut socket).await;
    node_a.refresh(&on_b.refresh_token).await.unauthorized();
    // The right password is refused with 403; a wrong one reads as any wrong password.
    node_b.sign_in("ann@example.com", PASSWORD).await.forbidden();
    node_b
        .sign_in("ann@example.com", "wrong password!")
        .await
        .problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    // What Ann wrote stays.
    let seen = node_a
        .as_user(&bob)
        .get_ok(format!("/api/messages/{}", message["id"].as_str().unwrap()))
        .await;
    assert_eq!(seen["content"], "hello Bob");
    // Again: nothing changes.
    admin_action(&node_a, &root, &ann, "deactivate").await;

    let back = admin_action(&node_a, &root, &ann, "reactivate").await;
    assert_eq!(back["active"], true);
    assert!(back["deactivated_at"].is_null());
    // The old sessions stay ended; a new sign-in works.
    node_a.as_user(&on_b).get("/api/users/me").await.unauthorized();
    let again = node_b.sign_in_again("ann@example.com").await;
    node_a.as_user(&again).get_ok("/api/users/me").await;
}

#[tokio::test]
async fn a_new_role_ends_the_users_sessions_and_comes_with_the_next_sign_in() {
    let (app, [ann]) = TestApp::with_users(["Ann"]).await;
    let root = global_admin(&app).await;
    let answer = app
        .as_user(&root)
        .put_ok(
            format!("/api/admin/users/{}/role", ann.id),
            json!({"role": "admin"}),
        )
        .await;
    assert_eq!(answer["role"], "admin");
    app.as_user(&ann).get("/api/users/me").await.unauthorized();
    let ann = app.sign_in_again("ann@example.com").await;
    assert_eq!(app.as_user(&ann).get_ok("/api/users/me").await["role"], "admin");
    // Now an admin herself.
    app.as_user(&ann).get_ok("/api/admin/users").await;
    // Back to member: her admin token ends, the admin API is gone for her.
    app.as_user(&root)
        .put_ok(
            format!("/api/admin/users/{}/role", ann.id),
            json!({"role": "member"}),
        )
        .await;
    app.as_user(&ann).get("/api/admin/users").await.unauthorized();
    let ann = app.sign_in_again("ann@example.com").await;
    app.as_user(&ann).get("/api/admin/users").await.not_found();
    // The same role again changes nothing (the session lives on).
    app.as_user(&root)
        .put_ok(
            format!("/api/admin/users/{}/role", ann.id),
            json!({"role": "member"}),
        )
        .await;
    app.as_user(&ann).get_ok("/api/users/me").await;
}

#[tokio::test]
async fn bad_role_changes_are_refused_and_change_nothing() {
    let (app, [ann]) = TestApp::with_users(["Ann"]).await;
    let root = global_admin(&app).await;
    let path = format!("/api/admin/users/{}/role", ann.id);
    app.as_user(&root)
        .put(&path, json!({"role": "owner"}))
        .await
        .invalid_fields(&["role"]);
    app.as_user(&root)
        .put(&path, json!({}))
        .await
        .invalid_fields(&["role"]);
    app.as_user(&root)
        .put(&path, json!({"role": 7}))
        .await
        .invalid_fields(&["role"]);
    app.as_user(&root)
        .put(
            format!("/api/admin/users/{}/role", uuid::Uuid::now_v7()),
            json!({"role": "admin"}),
        )
        .await
        .not_found();
    app.as_user(&ann).get_ok("/api/users/me").await;
    assert_eq!(app.as_user(&ann).get_ok("/api/users/me").await["role"], "member");
}

#[tokio::test]
async fn the_last_active_admin_can_be_neither_demoted_nor_deactivated() {
    let (app, [ann]) = TestApp::with_users(["Ann"]).await;
    let root = global_admin(&app).await;
    let me = app.as_user(&root).get_ok("/api/users/me").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.as_user(&root)
        .all_refused(
            StatusCode::CONFLICT,
            "conflict",
            [
                Call::put(format!("/api/admin/users/{me}/role"), json!({"role": "member"})),
                Call::post(format!("/api/admin/users/{me}/deactivate"), json!({})),
            ],
        )
        .await;
    // Still an admin, still signed in, nothing logged.
    app.as_user(&root).get_ok("/api/admin/users").await;
    assert_eq!(
        app.count("SELECT count(*) AS n FROM audit_log WHERE action LIKE 'admin.%'")
            .await,
        0
    );
    // With a second admin, the first may step down.
    app.as_user(&root)
        .put_ok(
            format!("/api/admin/users/{}/role", ann.id),
            json!({"role": "admin"}),
        )
        .await;
    app.as_user(&root)
        .put_ok(format!("/api/admin/users/{me}/role"), json!({"role": "member"}))
        .await;
}

#[tokio::test]
async fn a_forced_password_reset_stops_the_password_ends_sessions_and_mails_a_link() {
    let mut smtp = SmtpServer::start_any().await;
    let url = smtp.url();
    let app = TestApp::spawn_with(move |vars| {
        vars.insert("EPOP_SMTP_URL".into(), url);
        vars.insert("EPOP_SMTP_FROM".into(), "EPOP <no-reply@epop.test>".into());
        vars.insert("EPOP_APP_URL".into(), "https://app.epop.test".into());
    })
    .await;
    let ann = app.register("Ann", "ann@example.com").await;
    let root = global_admin(&app).await;
    let answer = app
        .as_user(&root)
        .post(format!("/api/admin/users/{}/password-reset", ann.id), json!({}))
        .await
        .json(StatusCode::ACCEPTED);
    assert_eq!(answer["email"], "ann@example.com");

    app.as_user(&ann).get("/api/users/me").await.unauthorized();
    app.sign_in("ann@example.com", PASSWORD)
        .await
        .problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    let mail = smtp
        .next_mail_to("ann@example.com", "Reset your EPOP password")
        .await;
    app.anonymous()
        .post(
            "/api/auth/password-reset/confirm",
            json!({"token": code_in(&mail), "password": "a brand new passphrase"}),
        )
        .await
        .empty(StatusCode::NO_CONTENT);
    app.sign_in("ann@example.com", "a brand new passphrase")
        .await
        .json(StatusCode::OK);

    app.as_user(&root)
        .post(
            format!("/api/admin/users/{}/password-reset", uuid::Uuid::now_v7()),
            json!({}),
        )
        .await
        .not_found();
}
