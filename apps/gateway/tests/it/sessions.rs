//! Ending sessions (docs/api.md, Ending sessions): after a logout everywhere, a new password or a new e-mail,
//! the access tokens issued before stop working at once, on every node, for REST and socket handshakes; a
//! token issued just after (even in the same second) keeps working; and no refresh in flight during a logout
//! everywhere leaves a working refresh token.

use crate::client::Answer;
use crate::helpers::{PASSWORD, TestApp, problem, redis_keys};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn me(app: &TestApp, token: &str) -> StatusCode {
    app.as_token(token).get("/api/users/me").await.status()
}

async fn login(app: &TestApp, email: &str, password: &str) -> Value {
    app.sign_in(email, password).await.json(StatusCode::OK)
}

async fn logout_all(app: &TestApp, token: &str) -> Answer {
    app.as_token(token)
        .send(Method::POST, "/api/auth/logout-all", None)
        .await
}

/// The claims of an access token (not verified: the test only reads what the server wrote).
fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// Whether a socket handshake with `token` is accepted.
async fn socket_accepted(app: &TestApp, token: &str) -> bool {
    let (_, reply) = app.socket_with(&json!({"token": token})).await;
    if reply.starts_with("44") {
        assert!(reply.contains("unauthorized"), "{reply}");
        false
    } else {
        assert!(reply.starts_with("40{\"sid\""), "{reply}");
        true
    }
}

#[tokio::test]
async fn access_tokens_issued_before_a_logout_everywhere_stop_working_at_once_on_every_node() {
    let node_a = TestApp::spawn().await;
    let node_b = node_a.spawn_peer().await;
    let [ann, bob] = node_a.users(["Ann", "Bob"]).await;
    let on_b = login(&node_b, "ann@example.com", PASSWORD).await;
    let token_b = on_b["access_token"].as_str().unwrap();
    for (node, token) in [(&node_a, ann.access_token.as_str()), (&node_b, token_b)] {
        assert_eq!(me(node, token).await, StatusCode::OK);
        assert!(socket_accepted(node, token).await);
    }

    assert_eq!(
        logout_all(&node_a, &ann.access_token).await.status(),
        StatusCode::NO_CONTENT
    );
    // At once, on the node that did it and on the other: REST and socket handshakes.
    for node in [&node_b, &node_a] {
        for token in [ann.access_token.as_str(), token_b] {
            let answer = node.as_token(token).get("/api/users/me").await;
            assert_eq!(answer.headers()["www-authenticate"], "Bearer");
            problem(answer, StatusCode::UNAUTHORIZED, "unauthorized").await;
            assert!(!socket_accepted(node, token).await);
        }
    }
    problem(
        logout_all(&node_b, token_b).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    // Someone else's sessions go on; a new sign-in works everywhere.
    assert_eq!(me(&node_b, &bob.access_token).await, StatusCode::OK);
    let again = login(&node_b, "ann@example.com", PASSWORD).await;
    let token = again["access_token"].as_str().unwrap();
    for node in [&node_a, &node_b] {
        assert_eq!(me(node, token).await, StatusCode::OK);
        assert!(socket_accepted(node, token).await);
    }
}

#[tokio::test]
async fn a_token_issued_in_the_same_second_right_after_a_logout_everywhere_stays_valid() {
    let (app, [ann]) = TestApp::with_users(["Ann"]).await;
    let mut token = ann.access_token.clone();
    let mut same_second = 0;
    for _ in 0..20 {
        let before = chrono::Utc::now().timestamp();
        assert_eq!(logout_all(&app, &token).await.status(), StatusCode::NO_CONTENT);
        let fresh = login(&app, "ann@example.com", PASSWORD).await;
        let fresh = fresh["access_token"].as_str().unwrap().to_owned();
        let iat = claims(&fresh)["iat"].as_i64().unwrap();
        // The old token is refused, the new one accepted, whatever their seconds.
        assert_eq!(me(&app, &token).await, StatusCode::UNAUTHORIZED);
        assert_eq!(me(&app, &fresh).await, StatusCode::OK);
        assert!(claims(&fresh)["iat_us"].as_i64().unwrap() / 1_000_000 == iat);
        if iat == before {
            same_second += 1;
        }
        token = fresh;
    }
    assert!(
        same_second > 0,
        "no attempt fell within one second; the test proved nothing"
    );
}

#[tokio::test]
async fn a_new_password_or_e_mail_ends_access_tokens_on_every_node_and_a_new_name_does_not() {
    let node_a = TestApp::spawn().await;
    let node_b = node_a.spawn_peer().await;
    let ann = node_a.register("Ann", "ann@example.com").await;
    let second = login(&node_b, "ann@example.com", PASSWORD).await;
    let second = second["access_token"].as_str().unwrap();

    let renamed = node_a
        .as_user(&ann)
        .put("/api/users/me", json!({"name": "Ann B"}))
        .await;
    assert_eq!(renamed.status(), StatusCode::OK);
    assert_eq!(me(&node_b, &ann.access_token).await, StatusCode::OK);

    let changed = node_a
        .as_user(&ann)
        .put(
            "/api/users/me",
            json!({"password": "new password 1", "current_password": PASSWORD}),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    for node in [&node_b, &node_a] {
        assert_eq!(me(node, &ann.access_token).await, StatusCode::UNAUTHORIZED);
        assert_eq!(me(node, second).await, StatusCode::UNAUTHORIZED);
        assert!(!socket_accepted(node, second).await);
    }

    let fresh = login(&node_b, "ann@example.com", "new password 1").await;
    let fresh = fresh["access_token"].as_str().unwrap();
    assert_eq!(me(&node_a, fresh).await, StatusCode::OK);
    let moved = node_b
        .as_token(fresh)
        .put(
            "/api/users/me",
            json!({"email": "ann.new@example.com", "current_password": "new password 1"}),
        )
        .await;
    assert_eq!(moved.status(), StatusCode::OK);
    assert_eq!(me(&node_a, fresh).await, StatusCode::UNAUTHORIZED);
    let last = login(&node_a, "ann.new@example.com", "new password 1").await;
    assert_eq!(
        me(&node_b, last["access_token"].as_str().unwrap()).await,
        StatusCode::OK
    );
}

/// Asserts that a token was refused (`401`); `why` says which, for a failure.
#[track_caller]
fn refused(status: StatusCode, why: String) {
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{why}");
}

#[tokio::test]
async fn no_refresh_token_survives_a_logout_everywhere_raced_by_a_refresh() {
    let node_a = TestApp::spawn().await;
    let node_b = node_a.spawn_peer().await;
    node_a.register("Ann", "ann@example.com").await;
    let mut refreshed_first = 0;
    for round in 0..50 {
        let session = login(&node_a, "ann@example.com", PASSWORD).await;
        let access = session["access_token"].as_str().unwrap();
        let refresh_token = session["refresh_token"].as_str().unwrap();
        let (rotated, ended) = tokio::join!(node_b.refresh(refresh_token), logout_all(&node_a, access));
        assert_eq!(ended.status(), StatusCode::NO_CONTENT, "round {round}");
        // After the logout everywhere answered, nothing issued before or during it works.
        if rotated.status() == StatusCode::OK {
            refreshed_first += 1;
            let rotated = rotated.body();
            let new_refresh = rotated["refresh_token"].as_str().unwrap();
            let new_access = rotated["access_token"].as_str().unwrap();
            refused(
                node_a.refresh(new_refresh).await.status(),
                format!("round {round}: the refresh token issued during the logout everywhere still works"),
            );
            refused(
                me(&node_b, new_access).await,
                format!("round {round}: the access token issued during the logout everywhere still works"),
            );
        } else {
            refused(rotated.status(), format!("round {round}"));
        }
        refused(
            node_b.refresh(refresh_token).await.status(),
            format!("round {round}"),
        );
        refused(me(&node_b, access).await, format!("round {round}"));
    }
    eprintln!("the refresh won the race in {refreshed_first} of 50 rounds");
}

#[tokio::test]
async fn ended_sessions_are_refused_without_redis_and_while_redis_is_unreachable() {
    for redis in [None, Some("redis://127.0.0.1:1")] {
        let app = TestApp::spawn_with(|vars| match redis {
            None => {
                vars.remove("REDIS_URL");
            }
            Some(url) => {
                vars.insert("REDIS_URL".into(), url.into());
            }
        })
        .await;
        let ann = app.register("Ann", "ann@example.com").await;
        assert_eq!(me(&app, &ann.access_token).await, StatusCode::OK);
        assert_eq!(
            logout_all(&app, &ann.access_token).await.status(),
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            me(&app, &ann.access_token).await,
            StatusCode::UNAUTHORIZED,
            "{redis:?}"
        );
        let fresh = login(&app, "ann@example.com", PASSWORD).await;
        assert_eq!(
            me(&app, fresh["access_token"].as_str().unwrap()).await,
            StatusCode::OK,
            "{redis:?}"
        );
    }
}

/// The value of a Redis key, as text, for the test's Redis prefix.
async fn redis_value(app: &TestApp, key: &str) -> Option<String> {
    let client = redis::Client::open(app.vars["REDIS_URL"].as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let key = format!("{}:{key}", app.vars["EPOP_REDIS_PREFIX"]);
    redis::cmd("GET").arg(key).query_async(&mut conn).await.unwrap()
}

/// Deletes every key under the test's Redis prefix, as a restarted or flushed Redis would have lost them.
async fn lose_redis_data(app: &TestApp) {
    let url = app.vars["REDIS_URL"].as_str();
    let keys = redis_keys(url, &format!("{}:*", app.vars["EPOP_REDIS_PREFIX"])).await;
    if !keys.is_empty() {
        let client = redis::Client::open(url).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let _: i64 = redis::cmd("DEL").arg(keys).query_async(&mut conn).await.unwrap();
    }
}

/// Makes requests as `user_token` (which start a seed when Redis lacks the cutoffs) until Redis is marked as
/// holding every recent cutoff again, for at most 10 s.
async fn wait_until_seeded(app: &TestApp, user_token: &str) {
    for _ in 0..100 {
        assert_eq!(me(app, user_token).await, StatusCode::OK);
        if redis_value(app, "auth:valid-after:complete").await.is_some() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("Redis was never marked as holding every recent session cutoff");
}

#[tokio::test]
async fn ended_sessions_stay_ended_on_every_node_after_redis_loses_its_data() {
    let node_a = TestApp::spawn().await;
    let node_b = node_a.spawn_peer().await;
    let [ann, bob] = node_a.users(["Ann", "Bob"]).await;
    wait_until_seeded(&node_a, &bob.access_token).await;
    assert_eq!(
        logout_all(&node_a, &ann.access_token).await.status(),
        StatusCode::NO_CONTENT
    );
    // Bob never ended a session: Redis has no key of his, and his token works on both nodes.
    for node in [&node_a, &node_b] {
        assert_eq!(me(node, &bob.access_token).await, StatusCode::OK);
        assert_eq!(me(node, &ann.access_token).await, StatusCode::UNAUTHORIZED);
    }

    lose_redis_data(&node_a).await;
    // Without the marker, a missing key is not taken as "never ended": PostgreSQL answers.
    for node in [&node_b, &node_a] {
        assert_eq!(me(node, &ann.access_token).await, StatusCode::UNAUTHORIZED);
        assert!(!socket_accepted(node, &ann.access_token).await);
        assert_eq!(me(node, &bob.access_token).await, StatusCode::OK);
    }
    // The seed the requests started copies Ann's cutoff back before marking Redis complete.
    lose_redis_data(&node_a).await;
    wait_until_seeded(&node_b, &bob.access_token).await;
    let cutoff = redis_value(&node_a, &format!("auth:valid-after:{}", ann.id)).await;
    assert!(
        cutoff.is_some_and(|micros| micros.parse::<i64>().unwrap() > 0),
        "Ann's cutoff was not seeded"
    );
    for node in [&node_a, &node_b] {
        assert_eq!(me(node, &ann.access_token).await, StatusCode::UNAUTHORIZED);
        assert_eq!(me(node, &bob.access_token).await, StatusCode::OK);
    }
    let fresh = login(&node_b, "ann@example.com", PASSWORD).await;
    assert_eq!(
        me(&node_a, fresh["access_token"].as_str().unwrap()).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_announcement_of_ended_sessions_arriving_late_leaves_sockets_signed_in_after_open() {
    use crate::socket::Events as _;
    let (app, [ann, bob]) = TestApp::with_users(["Ann", "Bob"]).await;
    let group = app.group(&bob, "G", &[&ann]).await;
    assert_eq!(
        logout_all(&app, &ann.access_token).await.status(),
        StatusCode::NO_CONTENT
    );
    let fresh = login(&app, "ann@example.com", PASSWORD).await;
    let mut socket = app.socket(fresh["access_token"].as_str().unwrap()).await;

    // The logout's announcement comes again after the new sign-in, as a node whose relay lags delivers it.
    let ann_id = epop_core::UserId::from(ann.id.parse::<uuid::Uuid>().unwrap());
    let mut conn = app.state.db.get().await.unwrap();
    epop_storage::outbox::append(
        &mut conn,
        &epop_core::DomainEvent::SessionsRevoked { user_id: ann_id },
    )
    .await
    .unwrap();
    drop(conn);
    // Events go out in order: a message sent after it still reaches the socket signed in after the cutoff.
    app.message(&bob, &group, "still there?").await;
    assert_eq!(socket.event("message:new").await["content"], "still there?");
}
