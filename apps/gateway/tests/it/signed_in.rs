//! docs/api.md, Signed-in sessions: `GET /api/auth/sessions` lists the caller's sessions (one per sign-in,
//! the caller's own marked) and `DELETE /api/auth/sessions/{id}` ends one: its refresh token, its access
//! tokens on every node and its sockets, and nothing else.

use crate::accounts::expect_disconnect;
use crate::client::Call;
use crate::helpers::{PASSWORD, TestApp, TestUser, assert_paging_checked, pluck};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Signs in as `email` from a client that says it is `agent`.
async fn sign_in_from(app: &TestApp, email: &str, agent: &str) -> TestUser {
    let answer = app
        .anonymous()
        .header("user-agent", agent)
        .post("/api/auth/login", json!({"email": email, "password": PASSWORD}))
        .await;
    TestUser::from_session(&answer.json(StatusCode::OK))
}

async fn sessions(app: &TestApp, user: &TestUser) -> Vec<Value> {
    app.as_user(user).get_ok("/api/auth/sessions").await["items"]
        .as_array()
        .unwrap()
        .clone()
}

/// The id of the caller's own session.
async fn current_session(app: &TestApp, user: &TestUser) -> String {
    sessions(app, user)
        .await
        .into_iter()
        .find(|session| session["current"] == true)
        .expect("the caller's session is listed")["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// `user` ends their session `id`, which must succeed.
async fn end_session(app: &TestApp, user: &TestUser, id: &str) {
    app.as_user(user)
        .delete_ok(format!("/api/auth/sessions/{id}"))
        .await;
}

#[tokio::test]
async fn the_sessions_list_shows_each_sign_in_newest_first_with_the_callers_own_marked() {
    let (app, [ann, bob]) = TestApp::with_users(["Ann", "Bob"]).await;
    let phone = sign_in_from(&app, "ann@example.com", "EPOP Phone/2.1").await;

    let listed = sessions(&app, &phone).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    // Newest first: the phone's sign-in, then the registration's.
    assert_eq!(listed[0]["user_agent"], "EPOP Phone/2.1");
    assert_eq!(listed[0]["current"], true);
    assert_eq!(listed[0]["ip"], "127.0.0.1");
    assert_eq!(listed[1]["current"], false);
    assert!(listed[1]["user_agent"].is_null());
    for session in &listed {
        for field in ["id", "created_at", "last_used_at"] {
            assert!(session[field].is_string(), "{session}");
        }
    }
    // Asked with the other session's token, that one is the current one.
    let from_first = sessions(&app, &ann).await;
    assert_eq!(from_first[1]["current"], true);
    assert_eq!(from_first[0]["current"], false);
    // Bob sees only his own.
    assert_eq!(sessions(&app, &bob).await.len(), 1);

    // A refresh keeps the session (same id) and notes where it came from; a logout ends it.
    let refreshed = app
        .anonymous()
        .header("user-agent", "EPOP Desktop/1.0")
        .post("/api/auth/refresh", json!({"refresh_token": ann.refresh_token}))
        .await
        .json(StatusCode::OK);
    let ann = TestUser::from_session(&refreshed);
    let after = sessions(&app, &ann).await;
    assert_eq!(after.len(), 2);
    assert_eq!(after[1]["id"], listed[1]["id"]);
    assert_eq!(after[1]["user_agent"], "EPOP Desktop/1.0");
    assert_eq!(after[1]["current"], true);
    assert!(after[1]["last_used_at"].as_str() >= listed[1]["last_used_at"].as_str());
    app.anonymous()
        .post("/api/auth/logout", json!({"refresh_token": phone.refresh_token}))
        .await
        .empty(StatusCode::NO_CONTENT);
    let left = sessions(&app, &ann).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["id"], listed[1]["id"]);
}

#[tokio::test]
async fn the_sessions_list_pages_without_repeats_and_refuses_bad_paging() {
    let (app, [ann]) = TestApp::with_users(["Ann"]).await;
    for _ in 0..4 {
        app.sign_in_again("ann@example.com").await;
    }
    let pages = app.every_page(&ann, "/api/auth/sessions?limit=2").await;
    assert_eq!(pages.len(), 3);
    let ids: Vec<String> = pages.iter().flat_map(|page| pluck(page, "id")).collect();
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!((ids.len(), unique.len()), (5, 5));

    assert_paging_checked(&app, &ann, "/api/auth/sessions", "not-a-cursor", &["0", "101"]).await;
    app.anonymous().get("/api/auth/sessions").await.unauthorized();
}

#[tokio::test]
async fn ending_a_session_refuses_its_tokens_and_closes_its_sockets_on_every_node_and_nothing_else() {
    let node_a = TestApp::spawn().await;
    let node_b = node_a.spawn_peer().await;
    let ann = node_a.register("Ann", "ann@example.com").await;
    let laptop = sign_in_from(&node_b, "ann@example.com", "Laptop").await;
    let laptop_id = current_session(&node_a, &laptop).await;
    let mut laptop_socket = node_b.socket(&laptop.access_token).await;
    let _ann_socket = node_a.socket(&ann.access_token).await;

    node_a
        .as_user(&ann)
        .delete_ok(format!("/api/auth/sessions/{laptop_id}"))
        .await;

    // At once, on both nodes: the ended session's access token, refresh token and socket.
    for node in [&node_b, &node_a] {
        node.as_user(&laptop).get("/api/users/me").await.unauthorized();
        let (_, reply) = node.socket_with(&json!({"token": laptop.access_token})).await;
        assert!(
            reply.starts_with("44") && reply.contains("unauthorized"),
            "{reply}"
        );
    }
    expect_disconnect(&mut laptop_socket).await;
    node_a.refresh(&laptop.refresh_token).await.unauthorized();
    // The other session goes on, its socket included, and the list shows it alone.
    for node in [&node_a, &node_b] {
        node.as_user(&ann).get_ok("/api/users/me").await;
        node.socket(&ann.access_token).await;
    }
    let left = sessions(&node_b, &ann).await;
    assert_eq!(left.len(), 1);
    assert_ne!(left[0]["id"], laptop_id.as_str());
    // Ended already: 404.
    node_a
        .as_user(&ann)
        .delete(format!("/api/auth/sessions/{laptop_id}"))
        .await
        .not_found();
    // A new sign-in works everywhere.
    let again = node_b.sign_in_again("ann@example.com").await;
    node_a.as_user(&again).get_ok("/api/users/me").await;
}

#[tokio::test]
async fn a_caller_may_end_their_own_current_session() {
    let (app, [ann]) = TestApp::with_users(["Ann"]).await;
    let other = app.sign_in_again("ann@example.com").await;
    end_session(&app, &ann, &current_session(&app, &ann).await).await;
    app.as_user(&ann).get("/api/users/me").await.unauthorized();
    app.as_user(&other).get_ok("/api/users/me").await;
}

#[tokio::test]
async fn another_users_session_an_unknown_id_or_no_token_is_refused_and_changes_nothing() {
    let (app, [ann, bob]) = TestApp::with_users(["Ann", "Bob"]).await;
    let bobs = current_session(&app, &bob).await;
    app.as_user(&ann)
        .all_not_found([Call::delete(format!("/api/auth/sessions/{bobs}"))])
        .await;
    app.as_user(&ann)
        .all_not_found(Call::unknown_ids(Method::DELETE, "/api/auth/sessions"))
        .await;
    app.anonymous()
        .delete(format!("/api/auth/sessions/{bobs}"))
        .await
        .unauthorized();
    // Bob is still signed in, refresh token included.
    app.as_user(&bob).get_ok("/api/users/me").await;
    app.refresh(&bob.refresh_token).await.json(StatusCode::OK);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM audit_log WHERE action = 'auth.session_ended'")
            .await,
        0
    );
}

#[tokio::test]
async fn an_ended_session_stays_refused_when_redis_lost_its_data() {
    let (app, [ann]) = TestApp::with_users(["Ann"]).await;
    let laptop = app.sign_in_again("ann@example.com").await;
    end_session(&app, &ann, &current_session(&app, &laptop).await).await;
    // Every key of this gateway gone (a Redis restart): PostgreSQL still says the session ended.
    let prefix = app.vars["EPOP_REDIS_PREFIX"].clone();
    let keys = crate::helpers::redis_keys(&epop_test_support::redis_url(), &format!("{prefix}:*")).await;
    if !keys.is_empty() {
        let client = redis::Client::open(epop_test_support::redis_url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let _: i64 = redis::cmd("DEL").arg(&keys).query_async(&mut conn).await.unwrap();
    }
    app.as_user(&laptop).get("/api/users/me").await.unauthorized();
    app.as_user(&ann).get_ok("/api/users/me").await;
}

#[tokio::test]
async fn a_sign_in_past_the_session_cap_ends_the_oldest_session_audited() {
    let app = TestApp::with_settings([("EPOP_MAX_SESSIONS_PER_USER", "2")]).await;
    let [ann] = app.users(["Ann"]).await;
    let mut oldest_socket = app.socket(&ann.access_token).await;
    let second = sign_in_from(&app, "ann@example.com", "Laptop").await;
    // Two sessions: within the cap, both work.
    app.as_user(&ann).get_ok("/api/users/me").await;
    let third = sign_in_from(&app, "ann@example.com", "Phone").await;

    // The oldest (the registration's) ended: its access token, refresh token and socket.
    app.as_user(&ann).get("/api/users/me").await.unauthorized();
    app.refresh(&ann.refresh_token).await.unauthorized();
    expect_disconnect(&mut oldest_socket).await;
    let listed = sessions(&app, &third).await;
    let agents: Vec<&str> = listed
        .iter()
        .map(|session| session["user_agent"].as_str().unwrap())
        .collect();
    assert_eq!(agents, ["Phone", "Laptop"]);
    app.as_user(&second).get_ok("/api/users/me").await;

    let root = crate::admin::global_admin(&app).await;
    let ended = crate::audit::log(&app, &root, "action=auth.session_ended").await;
    assert_eq!(ended.len(), 1, "{ended:?}");
    assert_eq!(ended[0]["actor_id"], ann.id.as_str());
    assert_eq!(ended[0]["target_type"], "session");
    assert_eq!(ended[0]["details"]["reason"], "session_limit");
    assert_eq!(ended[0]["ip"], "127.0.0.1");
}

#[tokio::test]
async fn sessions_over_for_a_day_are_purged_with_their_refresh_tokens() {
    let (app, [ann]) = TestApp::with_users(["Ann"]).await;
    let ended = app.sign_in_again("ann@example.com").await;
    let ended_id = current_session(&app, &ended).await;
    let expired = app.sign_in_again("ann@example.com").await;
    let expired_id = current_session(&app, &expired).await;
    app.as_user(&ann)
        .delete_ok(format!("/api/auth/sessions/{ended_id}"))
        .await;
    // One ended two days ago, one whose refresh token expired two days ago, one ended an hour ago.
    app.sql(&format!(
        "UPDATE auth_sessions SET ended_at = now() - interval '2 days' WHERE id = '{ended_id}'"
    ))
    .await;
    for (table, column) in [("auth_sessions", "id"), ("refresh_tokens", "family_id")] {
        app.sql(&format!(
            "UPDATE {table} SET expires_at = now() - interval '2 days' WHERE {column} = '{expired_id}'"
        ))
        .await;
    }
    // A single sign-on that never came back.
    app.sql(
        "INSERT INTO oidc_states (state_hash, provider, nonce, pkce_verifier, expires_at) \
         VALUES ('\\x01', 'corp', 'n', 'v', now() - interval '1 minute')",
    )
    .await;
    let recent = app.sign_in_again("ann@example.com").await;
    let recent_id = current_session(&app, &recent).await;
    app.as_user(&ann)
        .delete_ok(format!("/api/auth/sessions/{recent_id}"))
        .await;
    let sessions_before = app.count("SELECT count(*) AS n FROM auth_sessions").await;

    let auth = &app.state.auth;
    let purged = auth.purge_sessions(chrono::Duration::days(1), 2).await.unwrap();
    assert_eq!(
        purged, 3,
        "two sessions (with their refresh tokens) and one sign-in state"
    );
    for (id, left) in [(&ended_id, 0), (&expired_id, 0), (&recent_id, 1)] {
        assert_eq!(
            app.count(&format!(
                "SELECT count(*) AS n FROM auth_sessions WHERE id = '{id}'"
            ))
            .await,
            left
        );
        assert_eq!(
            app.count(&format!(
                "SELECT count(*) AS n FROM refresh_tokens WHERE family_id = '{id}'"
            ))
            .await,
            left
        );
    }
    assert_eq!(
        app.count("SELECT count(*) AS n FROM auth_sessions").await,
        sessions_before - 2
    );
    assert_eq!(app.count("SELECT count(*) AS n FROM oidc_states").await, 0);
    // The recently ended session's access token is still refused; the live ones still work.
    app.as_user(&recent).get("/api/users/me").await.unauthorized();
    app.as_user(&ann).get_ok("/api/users/me").await;
    app.refresh(&ann.refresh_token).await.json(StatusCode::OK);
}
