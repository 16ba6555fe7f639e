//! docs/api.md, Users: one's own account and the people directory.

use crate::client::{Answer, Call};
use crate::helpers::{PASSWORD, TestApp, assert_paging_checked, elements, json_of, problem};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn put_me(app: &TestApp, token: &str, body: Value) -> Answer {
    app.as_token(token).put("/api/users/me", &body).await
}

async fn login(app: &TestApp, email: &str, password: &str) -> StatusCode {
    app.sign_in(email, password).await.status()
}

#[tokio::test]
async fn me_returns_and_renames_the_caller() {
    let (app, [user]) = TestApp::with_users(["Ann"]).await;
    let me = app.as_user(&user).get_ok("/api/users/me").await;
    assert_eq!(me["email"], "ann@example.com");
    let mut keys: Vec<_> = me.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        vec![
            "created_at",
            "email",
            "email_verified",
            "id",
            "is_bot",
            "name",
            "role",
            "updated_at"
        ]
    );

    let renamed = json_of(
        put_me(&app, &user.access_token, json!({"name": "Ann B."})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(renamed["name"], "Ann B.");
    assert_ne!(renamed["updated_at"], me["updated_at"]);
    // A name change is not sensitive: sessions live on.
    let refresh = app.refresh(&user.refresh_token).await;
    assert_eq!(refresh.status(), StatusCode::OK);

    put_me(&app, &user.access_token, json!({"name": ""}))
        .await
        .invalid_fields(&["name"]);
}

#[tokio::test]
async fn changing_email_or_password_needs_the_current_password() {
    let (app, [user]) = TestApp::with_users(["Ann"]).await;
    app.register("Bob", "bob@example.com").await;

    put_me(&app, &user.access_token, json!({"email": "ann2@example.com"}))
        .await
        .invalid_fields(&["current_password"]);
    problem(
        put_me(
            &app,
            &user.access_token,
            json!({"password": "new password 1", "current_password": "wrong one"}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    problem(
        put_me(
            &app,
            &user.access_token,
            json!({"email": "BOB@example.com", "current_password": PASSWORD}),
        )
        .await,
        StatusCode::CONFLICT,
        "email_taken",
    )
    .await;
    // Nothing changed by the failures.
    assert_eq!(login(&app, "ann@example.com", PASSWORD).await, StatusCode::OK);

    let changed = json_of(
        put_me(
            &app,
            &user.access_token,
            json!({"email": "ann.new@example.com", "password": "new password 1", "current_password": PASSWORD}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(changed["email"], "ann.new@example.com");
    assert_eq!(
        login(&app, "ann.new@example.com", "new password 1").await,
        StatusCode::OK
    );
    assert_eq!(
        login(&app, "ann.new@example.com", PASSWORD).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login(&app, "ann@example.com", "new password 1").await,
        StatusCode::UNAUTHORIZED
    );
    // Every refresh token from before the change is revoked, and sockets are told.
    let old = app.refresh(&user.refresh_token).await;
    problem(old, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let announced = "SELECT count(*) AS n FROM outbox WHERE event_type = 'sessions_revoked'";
    assert_eq!(app.count(announced).await, 1);
}

#[tokio::test]
async fn the_directory_pages_by_name_without_repeats() {
    let (app, [caller]) = TestApp::with_users(["zed"]).await;
    for (name, email) in [
        ("bob", "b1@example.com"),
        ("Alice", "alice@example.com"),
        ("bob", "b2@example.com"),
        ("Carol", "carol@corp.example"),
    ] {
        app.register(name, email).await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/users?limit=2&cursor={c}"),
            None => "/api/users?limit=2".to_owned(),
        };
        let page = app.as_user(&caller).get_ok(&path).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        for item in items {
            assert_eq!(item.as_object().unwrap().len(), 3, "only id, name, email: {item}");
            seen.push((
                item["name"].as_str().unwrap().to_owned(),
                item["id"].as_str().unwrap().to_owned(),
            ));
        }
        // A user created while paging does not shift later pages.
        if cursor.is_none() {
            app.register("Aaron", "aaron@example.com").await;
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let names: Vec<_> = seen.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, vec!["Alice", "bob", "bob", "Carol", "zed"]);
    assert!(seen[1].1 < seen[2].1, "equal names are ordered by id");
}

#[tokio::test]
async fn the_directory_filters_by_name_or_email_prefix() {
    let (app, [caller]) = TestApp::with_users(["Zed"]).await;
    app.register("Alice Smith", "alice@example.com").await;
    app.register("Bob", "bob@alicorp.example").await;
    app.register("Al_bert", "albert@example.com").await;
    // The names the directory lists for `query`.
    let names = async |query: &str| -> Vec<String> {
        let page = app
            .as_user(&caller)
            .get_ok(format!("/api/users?query={query}"))
            .await;
        elements(&page["items"])
            .map(|u| u["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names("ALI").await, vec!["Alice Smith"]);
    assert_eq!(names("bob%40ali").await, vec!["Bob"]);
    // LIKE wildcards in the query match literally.
    assert_eq!(names("al_").await, vec!["Al_bert"]);
    let page = app.as_user(&caller).get_ok("/api/users?query=%25").await;
    assert_eq!(page, json!({"items": [], "next_cursor": null}));
}

#[tokio::test]
async fn directory_paging_errors() {
    let (app, [caller]) = TestApp::with_users(["Ann"]).await;
    let limits = ["0", "101", "abc", "-1"];
    assert_paging_checked(&app, &caller, "/api/users", "not-a-cursor", &limits).await;
    app.anonymous().get("/api/users").await.unauthorized();
}

#[tokio::test]
async fn another_user_is_visible_by_id() {
    let (app, [caller, other]) = TestApp::with_users(["Ann", "Bob"]).await;
    let body = app
        .as_user(&caller)
        .get_ok(format!("/api/users/{}", other.id))
        .await;
    assert_eq!(
        body,
        json!({"id": other.id, "name": "Bob", "email": "bob@example.com"})
    );
    app.as_user(&caller)
        .all_not_found(Call::unknown_ids(Method::GET, "/api/users"))
        .await;
}
