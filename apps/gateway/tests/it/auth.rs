//! docs/api.md, Authentication: register, login, refresh rotation and reuse, logout, tokens.

use crate::helpers::{JWT_SECRET, PASSWORD, TestApp, forge_token, json_of, problem};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn register_creates_a_user_and_signs_them_in() {
    let app = TestApp::spawn().await;
    let response = app.sign_up("Ann Lee", "Ann@Example.com").await;
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let cookie = response.set_cookie("epop_refresh").expect("refresh cookie");
    let body = json_of(response, StatusCode::CREATED).await;

    let user = &body["user"];
    assert_eq!(location, format!("/api/users/{}", user["id"].as_str().unwrap()));
    assert_eq!(user["name"], "Ann Lee");
    assert_eq!(user["email"], "Ann@Example.com");
    assert_eq!(user["role"], "member");
    assert!(user["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(user.get("password_hash").is_none() && user.get("password").is_none());
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    let refresh = body["refresh_token"].as_str().unwrap();
    assert!(
        URL_SAFE_NO_PAD.decode(refresh).unwrap().len() >= 32,
        "at least 256 bits"
    );

    assert!(cookie.starts_with(&format!("epop_refresh={refresh};")));
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/api/auth"] {
        assert!(cookie.contains(attribute), "{attribute} missing in {cookie}");
    }

    // The access token works and carries the contract's claims.
    let token = body["access_token"].as_str().unwrap();
    let claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap();
    assert_eq!(claims["sub"], user["id"]);
    assert_eq!(claims["role"], "member");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        900
    );
    assert!(claims["jti"].is_string());
    let me = app.as_token(token).get_ok("/api/users/me").await;
    assert_eq!(me["id"], user["id"]);

    // The stored hash is Argon2id, never the password.
    let stored = app
        .count("SELECT count(*) AS n FROM users WHERE password_hash LIKE '$argon2id$%'")
        .await;
    assert_eq!(stored, 1);
}

#[tokio::test]
async fn cookie_secure_can_be_turned_off_for_plain_http() {
    let app = TestApp::with_settings([("EPOP_COOKIE_SECURE", "false")]).await;
    let response = app.sign_up("A", "a@example.com").await;
    let cookie = response.set_cookie("epop_refresh").unwrap();
    assert!(!cookie.contains("Secure"), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    assert!(response.headers().get("strict-transport-security").is_none());
}

#[tokio::test]
async fn emails_are_unique_case_insensitively() {
    let app = TestApp::spawn().await;
    app.register("Ann", "ann@example.com").await;
    let response = app.sign_up("Other", "ANN@example.COM").await;
    problem(response, StatusCode::CONFLICT, "email_taken").await;
    assert_eq!(app.count("SELECT count(*) AS n FROM users").await, 1);
}

#[tokio::test]
async fn register_validation_lists_every_failing_field_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let register = |body: Value| app.anonymous().post("/api/auth/register", body);
    let missing = register(json!({})).await.invalid();
    let mut fields = missing.fields();
    fields.sort();
    assert_eq!(fields, vec!["email", "name", "password"]);

    let limits = register(json!({"name": "x".repeat(101), "email": "not-an-email", "password": "short"}))
        .await
        .invalid();
    let mut fields = limits.fields();
    fields.sort();
    assert_eq!(fields, vec!["email", "name", "password"]);

    let wrong_type = register(json!({"name": "A", "email": "a@example.com", "password": 12345678}))
        .await
        .invalid();
    assert!(wrong_type.fields().contains(&"password"));

    register(json!({"name": "A\u{0}B", "email": "a@example.com", "password": PASSWORD}))
        .await
        .invalid_fields(&["name"]);

    // Lengths count characters, not bytes: 100 CJK characters (300 bytes) is a valid name.
    let cjk =
        register(json!({"name": "名".repeat(100), "email": "cjk@example.com", "password": PASSWORD})).await;
    assert_eq!(cjk.status(), StatusCode::CREATED);
    // Unknown fields are ignored.
    let extra = register(
        json!({"name": "B", "email": "b@example.com", "password": PASSWORD, "role": "admin", "x": 1}),
    )
    .await;
    let body = json_of(extra, StatusCode::CREATED).await;
    assert_eq!(body["user"]["role"], "member", "role cannot be chosen at sign-up");
    assert_eq!(app.count("SELECT count(*) AS n FROM users").await, 2);
}

#[tokio::test]
async fn malformed_and_non_json_bodies_are_400_and_415() {
    let app = TestApp::spawn().await;
    const JSON: Option<&str> = Some("application/json");
    let post = |path: &'static str, content_type: Option<&'static str>, body: String| {
        app.anonymous().post_raw(path, content_type, body)
    };
    post("/api/auth/register", JSON, "{\"name\":".into())
        .await
        .problem(StatusCode::BAD_REQUEST, "bad_request");
    post(
        "/api/auth/register",
        Some("application/x-www-form-urlencoded"),
        "name=a&email=b".into(),
    )
    .await
    .problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    post("/api/auth/login", None, "{}".into())
        .await
        .problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    app.anonymous()
        .send(Method::POST, "/api/auth/login", None)
        .await
        .problem(StatusCode::BAD_REQUEST, "bad_request");
    let huge = format!("{{\"email\":\"{}\"}}", "a".repeat(300 * 1024));
    post("/api/auth/login", JSON, huge)
        .await
        .problem(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
}

#[tokio::test]
async fn login_accepts_the_right_password_in_any_email_case() {
    let (app, [user]) = TestApp::with_users(["Ann"]).await;
    let response = app.sign_in("ANN@example.com", PASSWORD).await;
    assert!(response.set_cookie("epop_refresh").is_some());
    let body = json_of(response, StatusCode::OK).await;
    assert_eq!(body["user"]["id"], user.id.as_str());
    assert_ne!(body["refresh_token"], user.refresh_token.as_str());
}

#[tokio::test]
async fn wrong_password_and_unknown_email_are_the_same_401() {
    let app = TestApp::spawn().await;
    app.register("Ann", "ann@example.com").await;
    let wrong = app
        .sign_in("ann@example.com", "wrong password")
        .await
        .problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    let unknown = app
        .sign_in("nobody@example.com", "wrong password")
        .await
        .problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert_eq!(
        wrong.detail, unknown.detail,
        "the answers must not tell the cases apart"
    );
    app.anonymous()
        .post("/api/auth/login", json!({"email": "ann@example.com"}))
        .await
        .invalid_fields(&["password"]);
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let (app, [user]) = TestApp::with_users(["Ann"]).await;
    // A second login is another family and must survive the first family's revocation.
    let other_login = app.sign_in_again("ann@example.com").await;

    let first = app.refresh(&user.refresh_token).await;
    assert!(first.set_cookie("epop_refresh").is_some());
    let first = json_of(first, StatusCode::OK).await;
    let second_token = first["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second_token, user.refresh_token);
    assert_eq!(first["user"]["id"], user.id.as_str());
    let me = app
        .as_token(first["access_token"].as_str().unwrap())
        .get("/api/users/me")
        .await;
    assert_eq!(me.status(), StatusCode::OK);

    // The rotated token again: reuse. The whole family dies, including the newest token.
    app.refresh(&user.refresh_token)
        .await
        .problem(StatusCode::UNAUTHORIZED, "token_reused");
    app.refresh(&second_token).await.unauthorized();

    // The other login's family is untouched.
    let other = app.refresh(&other_login.refresh_token).await;
    assert_eq!(other.status(), StatusCode::OK);
}

#[tokio::test]
async fn refresh_and_logout_read_the_cookie() {
    let (app, [user]) = TestApp::with_users(["Ann"]).await;
    let response = app
        .anonymous()
        .header("cookie", format!("epop_refresh={}", user.refresh_token))
        .send(Method::POST, "/api/auth/refresh", None)
        .await;
    let body = json_of(response, StatusCode::OK).await;
    let token = body["refresh_token"].as_str().unwrap();

    let logout = app
        .anonymous()
        .header("cookie", format!("epop_refresh={token}"))
        .send(Method::POST, "/api/auth/logout", None)
        .await;
    logout.empty(StatusCode::NO_CONTENT);
    let cleared = logout.set_cookie("epop_refresh").expect("cookie cleared");
    assert!(
        cleared.starts_with("epop_refresh=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    assert!(cleared.contains("Path=/api/auth"));

    // A logged-out token is revoked (not rotated): plain 401.
    app.refresh(token).await.unauthorized();
    let again = app
        .anonymous()
        .post("/api/auth/logout", json!({"refresh_token": token}))
        .await;
    problem(again, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn refresh_and_logout_without_a_valid_token_are_401() {
    let app = TestApp::spawn().await;
    for path in ["/api/auth/refresh", "/api/auth/logout"] {
        app.anonymous()
            .send(Method::POST, path, None)
            .await
            .unauthorized();
        app.anonymous()
            .post(path, json!({"refresh_token": "not-a-real-token"}))
            .await
            .unauthorized();
    }
}

#[tokio::test]
async fn expired_refresh_tokens_are_401() {
    let (app, [user]) = TestApp::with_users(["Ann"]).await;
    app.sql("UPDATE refresh_tokens SET expires_at = now() - interval '1 second'")
        .await;
    app.refresh(&user.refresh_token).await.unauthorized();
}

#[tokio::test]
async fn logout_all_revokes_every_session_and_announces_it() {
    let (app, [user]) = TestApp::with_users(["Ann"]).await;
    let second = app.sign_in_again("ann@example.com").await;
    let bystander = app.register("Bob", "bob@example.com").await;

    app.as_user(&user)
        .send(Method::POST, "/api/auth/logout-all", None)
        .await
        .empty(StatusCode::NO_CONTENT);
    app.refresh(&user.refresh_token).await.unauthorized();
    app.refresh(&second.refresh_token).await.unauthorized();
    assert_eq!(
        app.refresh(&bystander.refresh_token).await.status(),
        StatusCode::OK
    );
    // Sockets on every node learn of it through the outbox.
    let events = app
        .count(&format!(
            "SELECT count(*) AS n FROM outbox WHERE event_type = 'sessions_revoked' AND payload->>'user_id' = '{}'",
            user.id
        ))
        .await;
    assert_eq!(events, 1);
    let anonymous = app
        .anonymous()
        .send(Method::POST, "/api/auth/logout-all", None)
        .await;
    assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
    problem(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn tampered_expired_foreign_and_unsigned_tokens_are_401() {
    let (app, [user]) = TestApp::with_users(["Ann"]).await;
    let now = chrono::Utc::now().timestamp();
    let claims = |exp: i64| json!({"sub": user.id, "role": "admin", "iat": now - 10, "exp": exp, "jti": uuid::Uuid::now_v7()});
    let hs256 = json!({"alg": "HS256", "typ": "JWT"});

    // Sanity: a token forged with the real secret is accepted, so the rejections below are about the flaw.
    let valid = forge_token(&hs256, &claims(now + 600), JWT_SECRET.as_bytes());
    assert_eq!(
        app.as_token(&valid).get("/api/users/me").await.status(),
        StatusCode::OK
    );

    let expired = forge_token(&hs256, &claims(now - 1), JWT_SECRET.as_bytes());
    let foreign = forge_token(&hs256, &claims(now + 600), b"some-other-secret-some-other-secret");
    let hs512 = forge_token(
        &json!({"alg": "HS512", "typ": "JWT"}),
        &claims(now + 600),
        JWT_SECRET.as_bytes(),
    );
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT"}).to_string()),
        URL_SAFE_NO_PAD.encode(claims(now + 600).to_string())
    );
    let mut parts: Vec<String> = user.access_token.split('.').map(str::to_owned).collect();
    parts[1] = URL_SAFE_NO_PAD.encode(claims(now + 600).to_string());
    let tampered = parts.join(".");

    for (name, token) in [
        ("expired", expired),
        ("foreign", foreign),
        ("hs512", hs512),
        ("none", none),
        ("tampered", tampered),
        ("garbage", "abc".into()),
    ] {
        let response = app.as_token(&token).get("/api/users/me").await;
        assert_eq!(response.header("www-authenticate"), Some("Bearer"), "{name}");
        problem(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
    let no_token = app.anonymous().get("/api/users/me").await;
    problem(no_token, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn logins_beyond_the_hashing_wait_bound_answer_503_with_retry_after_and_are_counted() {
    // One hashing thread and no wait allowed: while one login hashes, any other is refused at once.
    let settings = [
        ("EPOP_AUTH_HASH_THREADS", "1"),
        ("EPOP_AUTH_HASH_MAX_WAIT_MS", "0"),
    ];
    let (app, _) = TestApp::with_settings_and_users(settings, ["Ann"]).await;
    let logins = (0..16).map(|_| app.sign_in("ann@example.com", PASSWORD));
    let mut signed_in = 0;
    let mut refused = 0;
    for response in futures_util::future::join_all(logins).await {
        if response.status() == StatusCode::OK {
            signed_in += 1;
            continue;
        }
        let retry_after = response.header("retry-after").map(str::to_owned);
        let body = problem(response, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
        let seconds: u64 = retry_after
            .expect("Retry-After on a refused login")
            .parse()
            .unwrap();
        assert!(seconds >= 1, "{seconds}");
        assert!(body["detail"].as_str().unwrap().contains("Retry-After"), "{body}");
        refused += 1;
    }
    assert!(signed_in >= 1, "the first login is always admitted");
    assert!(
        refused >= 1,
        "16 simultaneous logins on one thread with no wait allowed"
    );
    assert_eq!(signed_in + refused, 16, "every answer is a sign-in or a refusal");

    // The refusals are counted on /metrics (and not logged one by one).
    let metrics = app.metrics().await;
    let counted: u64 = metrics
        .lines()
        .find_map(|line| line.strip_prefix("epop_auth_hash_refused_total "))
        .expect("epop_auth_hash_refused_total on /metrics")
        .trim()
        .parse()
        .unwrap();
    assert_eq!(counted, refused);
    assert!(metrics.contains("epop_auth_hash_seconds "), "{metrics}");

    // Once the burst is over, logins go through again.
    let response = app.sign_in("ann@example.com", PASSWORD).await;
    json_of(response, StatusCode::OK).await;
}
