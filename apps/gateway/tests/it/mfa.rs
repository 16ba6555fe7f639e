//! docs/api.md, Second factor: TOTP enrolment with recovery codes, sign-in with a code or a recovery code,
//! replay refusal, turning it off, and the operator's reset.

use crate::accounts::expect_disconnect;
use crate::client::Answer;
use crate::helpers::{PASSWORD, TestApp, TestUser, assert_succeeded, elements, gateway_command};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The authenticator app: the code of `secret` (base32) for the 30-second step `offset` steps from now.
pub(crate) fn code_at(secret: &str, offset: i64) -> String {
    let bytes = totp_rs::Secret::try_from_base32(secret).unwrap();
    let totp = totp_rs::Builder::new().with_secret(bytes).build().unwrap();
    let now = chrono::Utc::now().timestamp() + offset * 30;
    totp.generate(u64::try_from(now).unwrap()).to_string()
}

/// A user from a token response (`POST /api/auth/mfa`, enabling or disabling TOTP).
fn user_of(session: &Value) -> TestUser {
    TestUser {
        id: session["user"]["id"].as_str().unwrap().to_owned(),
        access_token: session["access_token"].as_str().unwrap().to_owned(),
        refresh_token: session["refresh_token"].as_str().unwrap().to_owned(),
    }
}

async fn login(app: &TestApp, email: &str) -> Answer {
    app.anonymous()
        .post("/api/auth/login", json!({"email": email, "password": PASSWORD}))
        .await
}

/// Turns TOTP on for `user` with the code of the current step; returns the secret, the recovery codes and the
/// new session.
async fn enable(app: &TestApp, user: &TestUser) -> (String, Vec<String>, TestUser) {
    let enrolment = app
        .as_user(user)
        .post("/api/users/me/mfa/totp", json!({"password": PASSWORD}))
        .await
        .json(StatusCode::CREATED);
    let secret = enrolment["secret"].as_str().unwrap().to_owned();
    let enabled = app
        .as_user(user)
        .post(
            "/api/users/me/mfa/totp/confirm",
            json!({"code": code_at(&secret, 0)}),
        )
        .await
        .json(StatusCode::OK);
    let codes = elements(&enabled["recovery_codes"])
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (secret, codes, user_of(&enabled))
}

/// Signs in with the password and returns the `mfa_token` the answer asks to complete.
async fn mfa_token(app: &TestApp, email: &str) -> String {
    let answer = login(app, email).await.json(StatusCode::OK);
    assert_eq!(answer["mfa_required"], true, "{answer}");
    answer["mfa_token"].as_str().unwrap().to_owned()
}

async fn complete(app: &TestApp, body: Value) -> Answer {
    app.anonymous().post("/api/auth/mfa", body).await
}

/// Completes the sign-in with `body`, which must succeed, and checks the new session works.
async fn complete_and_use(app: &TestApp, body: Value) {
    let signed_in = complete(app, body).await.json(StatusCode::OK);
    app.as_user(&user_of(&signed_in)).get_ok("/api/users/me").await;
}

#[tokio::test]
async fn totp_is_enrolled_confirmed_and_then_asked_for_at_sign_in_once_per_code() {
    let (app, [ann]) = TestApp::with_users(["Ann"]).await;
    let mut socket = app.socket(&ann.access_token).await;

    // The password is needed: a stolen access token alone cannot put a second factor on the account.
    let problem = app
        .as_user(&ann)
        .post("/api/users/me/mfa/totp", json!({}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(problem.errors[0].field, "password");
    app.as_user(&ann)
        .post("/api/users/me/mfa/totp", json!({"password": "wrong password"}))
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(app.count("SELECT count(*) AS n FROM user_totp").await, 0);

    let enrolment = app
        .as_user(&ann)
        .post("/api/users/me/mfa/totp", json!({"password": PASSWORD}))
        .await
        .json(StatusCode::CREATED);
    let secret = enrolment["secret"].as_str().unwrap().to_owned();
    let uri = enrolment["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/EPOP:ann"), "{uri}");
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    assert!(uri.contains("issuer=EPOP"), "{uri}");
    assert!(enrolment["qr_svg"].as_str().unwrap().contains("<svg"));
    // The secret is encrypted at rest.
    let raw = totp_rs::Secret::try_from_base32(&secret).unwrap();
    let hex: String = raw.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM user_totp WHERE position(decode('{hex}', 'hex') IN secret_encrypted) > 0"
        ))
        .await,
        0
    );
    assert_eq!(app.count("SELECT count(*) AS n FROM user_totp").await, 1);

    // Pending enrolment changes nothing at sign-in.
    let session = login(&app, "ann@example.com").await.json(StatusCode::OK);
    assert!(session["access_token"].is_string());

    // A wrong code is refused, naming the field, and changes nothing.
    let wrong = app
        .as_user(&ann)
        .post("/api/users/me/mfa/totp/confirm", json!({"code": "000000"}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(wrong.errors[0].field, "code");
    app.as_user(&ann).get_ok("/api/users/me").await;

    let confirm_code = code_at(&secret, 0);
    let enabled = app
        .as_user(&ann)
        .post("/api/users/me/mfa/totp/confirm", json!({"code": confirm_code}))
        .await
        .json(StatusCode::OK);
    let codes = enabled["recovery_codes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM mfa_recovery_codes WHERE used_at IS NULL")
            .await,
        10
    );
    // Every other session ended; the answer is a new one.
    app.as_user(&ann)
        .get("/api/users/me")
        .await
        .problem(StatusCode::UNAUTHORIZED, "unauthorized");
    expect_disconnect(&mut socket).await;
    let current = user_of(&enabled);
    app.as_user(&current).get_ok("/api/users/me").await;
    // Enrolling again while it is on is a conflict.
    app.as_user(&current)
        .post("/api/users/me/mfa/totp", json!({"password": PASSWORD}))
        .await
        .problem(StatusCode::CONFLICT, "conflict");

    // Signing in now asks for the second factor, with no token yet.
    let answer = login(&app, "ann@example.com").await.json(StatusCode::OK);
    assert_eq!(answer["mfa_required"], true);
    assert_eq!(answer["methods"], json!(["totp", "recovery_code"]));
    assert!(answer.get("access_token").is_none(), "{answer}");
    let token = answer["mfa_token"].as_str().unwrap().to_owned();

    // The code used to confirm is spent: a replay within its window is refused.
    complete(&app, json!({"mfa_token": token, "code": confirm_code}))
        .await
        .problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    let next_code = code_at(&secret, 1);
    complete_and_use(&app, json!({"mfa_token": token, "code": next_code})).await;
    // The mfa_token works once; the code too, even with a new mfa_token.
    complete(&app, json!({"mfa_token": token, "code": code_at(&secret, 1)}))
        .await
        .problem(StatusCode::UNAUTHORIZED, "unauthorized");
    let token = mfa_token(&app, "ann@example.com").await;
    complete(&app, json!({"mfa_token": token, "code": next_code}))
        .await
        .problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    // The session that enabled TOTP still works (a code-completed sign-in ends nothing).
    app.as_user(&current).get_ok("/api/users/me").await;
}

#[tokio::test]
async fn mfa_tokens_are_single_use_short_lived_and_limited_in_tries() {
    let (app, [ann]) = TestApp::with_users(["Ann"]).await;
    let (secret, _, _) = enable(&app, &ann).await;

    // Neither or both of code and recovery_code, and unknown tokens.
    let token = mfa_token(&app, "ann@example.com").await;
    for body in [
        json!({"mfa_token": token}),
        json!({"mfa_token": token, "code": "123456", "recovery_code": "abcd-efgh"}),
    ] {
        let problem = complete(&app, body)
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let mut fields: Vec<&str> = problem.errors.iter().map(|e| e.field.as_str()).collect();
        fields.sort_unstable();
        assert_eq!(fields, ["code", "recovery_code"]);
    }
    let problem = complete(&app, json!({"code": "123456"}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(problem.errors[0].field, "mfa_token");
    complete(&app, json!({"mfa_token": "forged", "code": code_at(&secret, 1)}))
        .await
        .problem(StatusCode::UNAUTHORIZED, "unauthorized");

    // Five wrong codes use the token up: the right one is refused after that.
    for _ in 0..5 {
        complete(&app, json!({"mfa_token": token, "code": "000000"}))
            .await
            .problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    }
    complete(&app, json!({"mfa_token": token, "code": code_at(&secret, 1)}))
        .await
        .problem(StatusCode::UNAUTHORIZED, "unauthorized");

    // An expired token (older than 5 minutes).
    let token = mfa_token(&app, "ann@example.com").await;
    app.sql("UPDATE mfa_challenges SET expires_at = now() - interval '1 second'")
        .await;
    complete(&app, json!({"mfa_token": token, "code": code_at(&secret, 1)}))
        .await
        .problem(StatusCode::UNAUTHORIZED, "unauthorized");
    // Finished and expired challenges are cleared as new ones are made.
    mfa_token(&app, "ann@example.com").await;
    assert_eq!(app.count("SELECT count(*) AS n FROM mfa_challenges").await, 1);
}

#[tokio::test]
async fn a_recovery_code_signs_in_once_and_ends_the_other_sessions() {
    let (app, [ann]) = TestApp::with_users(["Ann"]).await;
    let (_, codes, current) = enable(&app, &ann).await;

    let token = mfa_token(&app, "ann@example.com").await;
    // Any case and grouping of a code is accepted.
    let typed = codes[0].to_uppercase().replace('-', " ");
    complete_and_use(&app, json!({"mfa_token": token, "recovery_code": typed})).await;
    app.as_user(&current)
        .get("/api/users/me")
        .await
        .problem(StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(
        app.count("SELECT count(*) AS n FROM mfa_recovery_codes WHERE used_at IS NULL")
            .await,
        9
    );

    // Spent: the same code again is refused.
    let token = mfa_token(&app, "ann@example.com").await;
    complete(&app, json!({"mfa_token": token, "recovery_code": codes[0]}))
        .await
        .problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    complete(&app, json!({"mfa_token": token, "recovery_code": codes[1]}))
        .await
        .json(StatusCode::OK);
}

#[tokio::test]
async fn turning_the_second_factor_off_needs_the_password_and_a_code() {
    let (app, [ann]) = TestApp::with_users(["Ann"]).await;
    app.as_user(&ann)
        .send(
            Method::DELETE,
            "/api/users/me/mfa",
            Some(json!({"password": PASSWORD, "code": "123456"})),
        )
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    // Confirming with no enrolment started is a conflict.
    app.as_user(&ann)
        .post("/api/users/me/mfa/totp/confirm", json!({"code": "123456"}))
        .await
        .problem(StatusCode::CONFLICT, "conflict");

    let (secret, codes, current) = enable(&app, &ann).await;
    let off = |body: Value| {
        let app = &app;
        let current = current.clone();
        async move {
            app.as_user(&current)
                .send(Method::DELETE, "/api/users/me/mfa", Some(body))
                .await
        }
    };
    off(json!({"password": "wrong password", "code": code_at(&secret, 1)}))
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    off(json!({"password": PASSWORD, "code": "000000"}))
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    let problem = off(json!({"password": PASSWORD}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(problem.errors.len(), 2);
    let problem = off(json!({"code": code_at(&secret, 1)}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(problem.errors[0].field, "password");
    // Still on.
    assert_eq!(
        login(&app, "ann@example.com").await.json(StatusCode::OK)["mfa_required"],
        true
    );

    let session = off(json!({"password": PASSWORD, "recovery_code": codes[3]}))
        .await
        .json(StatusCode::OK);
    app.as_user(&current)
        .get("/api/users/me")
        .await
        .problem(StatusCode::UNAUTHORIZED, "unauthorized");
    app.as_user(&user_of(&session)).get_ok("/api/users/me").await;
    assert_eq!(
        app.count("SELECT count(*) AS n FROM user_totp").await
            + app.count("SELECT count(*) AS n FROM mfa_recovery_codes").await,
        0
    );
    let answer = login(&app, "ann@example.com").await.json(StatusCode::OK);
    assert!(answer["access_token"].is_string(), "{answer}");
}

#[tokio::test]
async fn the_admin_cli_resets_a_users_second_factor_and_ends_their_sessions() {
    let (app, [ann]) = TestApp::with_users(["Ann"]).await;
    let (_, _, signed_in) = enable(&app, &ann).await;
    let mut socket = app.socket(&signed_in.access_token).await;

    // Run off the test's runtime, which serves the gateway meanwhile.
    let reset_mfa = async |email: &str| {
        tokio::process::Command::from(gateway_command(&["admin", "reset-mfa", "--email", email]))
            .env("DATABASE_URL", &app.db.url)
            .env("REDIS_URL", &app.vars["REDIS_URL"])
            .env("EPOP_REDIS_PREFIX", &app.vars["EPOP_REDIS_PREFIX"])
            .output()
            .await
            .unwrap()
    };
    let output = reset_mfa("ANN@example.com").await;
    assert_succeeded(&output);
    assert!(String::from_utf8_lossy(&output.stdout).contains("turned off the second factor"));
    // A lost device may be signed in: every session ended, at once (tokens), and sockets with the relay.
    app.as_user(&signed_in)
        .get("/api/users/me")
        .await
        .problem(StatusCode::UNAUTHORIZED, "unauthorized");
    app.refresh(&signed_in.refresh_token)
        .await
        .problem(StatusCode::UNAUTHORIZED, "unauthorized");
    expect_disconnect(&mut socket).await;
    let answer = login(&app, "ann@example.com").await.json(StatusCode::OK);
    assert!(answer["access_token"].is_string(), "{answer}");

    // An unknown e-mail fails, naming it.
    let output = reset_mfa("nobody@example.com").await;
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("nobody@example.com"));
}
