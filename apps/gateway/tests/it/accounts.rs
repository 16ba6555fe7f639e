//! docs/api.md, Recovering and verifying accounts: password reset links and e-mail verification, e-mailed
//! through a real SMTP server (`aiosmtpd`) from the durable job queue.

use crate::email::{SmtpServer, code_in, unquoted};
use crate::helpers::{JOB_WAIT, PASSWORD, TestApp, TestUser, wait_for_at_least, wait_for_none};
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

const NEW_PASSWORD: &str = "a brand new passphrase";

/// A new SMTP server and a gateway that sends e-mail through it, with `more` settings.
pub(crate) async fn app_with_mail(more: &[(&str, &str)]) -> (SmtpServer, TestApp) {
    let smtp = SmtpServer::start_any().await;
    let url = smtp.url();
    let more: Vec<(String, String)> = more
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let app = TestApp::spawn_with(move |vars| {
        vars.insert("EPOP_SMTP_URL".into(), url);
        vars.insert("EPOP_SMTP_FROM".into(), "EPOP <no-reply@epop.test>".into());
        vars.insert("EPOP_APP_URL".into(), "https://app.epop.test".into());
        vars.extend(more);
    })
    .await;
    (smtp, app)
}

/// A gateway that sends e-mail through a new SMTP server, and Ann, signed up on it.
async fn app_with_ann() -> (SmtpServer, TestApp, TestUser) {
    let (smtp, app) = app_with_mail(&[]).await;
    let ann = app.register("Ann", "ann@example.com").await;
    (smtp, app, ann)
}

async fn login(app: &TestApp, email: &str, password: &str) -> crate::client::Answer {
    app.anonymous()
        .post("/api/auth/login", json!({"email": email, "password": password}))
        .await
}

/// Waits until every account e-mail job has run to completion.
async fn account_mail_jobs_done(app: &TestApp) {
    let query = "SELECT count(*) AS n FROM jobs WHERE queue = 'account_email' AND status <> 'done'";
    wait_for_none(app, query, 2 * JOB_WAIT, "account e-mail jobs did not finish").await;
}

/// How many account e-mail tokens match `condition` (an SQL `WHERE` clause).
async fn tokens_where(app: &TestApp, condition: &str) -> i64 {
    app.count(&format!(
        "SELECT count(*) AS n FROM account_email_tokens WHERE {condition}"
    ))
    .await
}

/// Asks for a password reset link for `email`, anonymously.
async fn ask_reset(app: &TestApp, email: &str) -> crate::client::Answer {
    app.anonymous()
        .post("/api/auth/password-reset", json!({"email": email}))
        .await
}

/// Sets a new password with a reset `token`, anonymously.
async fn confirm_reset(app: &TestApp, token: &str, password: &str) -> crate::client::Answer {
    app.anonymous()
        .post(
            "/api/auth/password-reset/confirm",
            json!({"token": token, "password": password}),
        )
        .await
}

/// Verifies an address with `token`, anonymously.
async fn verify_email(app: &TestApp, token: &str) -> crate::client::Answer {
    app.anonymous()
        .post("/api/auth/verify-email", json!({"token": token}))
        .await
}

/// Asks for a new verification link for `email`, anonymously.
async fn resend_verification(app: &TestApp, email: &str) -> crate::client::Answer {
    app.anonymous()
        .post("/api/auth/verify-email/resend", json!({"email": email}))
        .await
}

/// The code in the next verification e-mail to `email`.
pub(crate) async fn verification_code(smtp: &mut SmtpServer, email: &str) -> String {
    code_in(
        &smtp
            .next_mail_to(email, "Confirm your e-mail address for EPOP")
            .await,
    )
}

/// Whether `user`'s own profile says the address is verified.
async fn email_verified(app: &TestApp, user: &TestUser) -> serde_json::Value {
    let me = app.as_user(user).get_ok("/api/users/me").await;
    me["email_verified"].clone()
}

/// `user` moves to the address `email`.
async fn change_email(app: &TestApp, user: &TestUser, email: &str) -> serde_json::Value {
    app.as_user(user)
        .send(
            reqwest::Method::PUT,
            "/api/users/me",
            Some(json!({"email": email, "current_password": PASSWORD})),
        )
        .await
        .json(StatusCode::OK)
}

/// Waits for the server's Socket.IO DISCONNECT packet on `socket`.
pub(crate) async fn expect_disconnect(socket: &mut crate::helpers::Ws) {
    use futures_util::StreamExt as _;
    use tokio_tungstenite::tungstenite::Message;
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("disconnected in time");
        match frame {
            Some(Ok(Message::Text(text))) if text.as_str() == "41" => return,
            Some(Ok(_)) => {}
            other => panic!("expected a DISCONNECT packet, got {other:?}"),
        }
    }
}

/// The code in `mail`, after checking that the mail links to the web app's `page` with it.
fn linked_code(mail: &str, page: &str) -> String {
    let code = code_in(mail);
    assert!(
        unquoted(mail).contains(&format!("https://app.epop.test/{page}?token={code}")),
        "{mail}"
    );
    code
}

pub(crate) async fn reset_code(app: &TestApp, smtp: &mut SmtpServer, email: &str) -> String {
    ask_reset(app, email).await.empty(StatusCode::ACCEPTED);
    code_in(
        &smtp
            .next_mail_to(&email.to_lowercase(), "Reset your EPOP password")
            .await,
    )
}

#[tokio::test]
async fn a_reset_link_sets_the_password_once_and_ends_every_session() {
    let (mut smtp, app, ann) = app_with_ann().await;
    let mut socket = app.socket(&ann.access_token).await;

    // Any case of the address works; the e-mail carries a link into the web app and the code.
    ask_reset(&app, "ANN@Example.com")
        .await
        .empty(StatusCode::ACCEPTED);
    let mail = smtp
        .next_mail_to("ann@example.com", "Reset your EPOP password")
        .await;
    let code = linked_code(&mail, "reset-password");
    assert!(mail.contains("30 minutes"), "{mail}");
    // Only the token's hash is stored: not in the token table, not in the job.
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM account_email_tokens WHERE token_hash = sha256(convert_to('{code}', 'UTF8'))"
        ))
        .await,
        1
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM jobs WHERE payload::text LIKE '%{code}%'"
        ))
        .await,
        0
    );

    let answer = confirm_reset(&app, &code, NEW_PASSWORD).await;
    answer.empty(StatusCode::NO_CONTENT);
    let cookie = answer.header("set-cookie").unwrap_or_default();
    assert!(cookie.starts_with("epop_refresh=;"), "{cookie}");

    // Every session ended: the access token, the refresh token and the socket.
    app.as_user(&ann)
        .get("/api/users/me")
        .await
        .problem(StatusCode::UNAUTHORIZED, "unauthorized");
    app.anonymous()
        .post("/api/auth/refresh", json!({"refresh_token": ann.refresh_token}))
        .await
        .problem(StatusCode::UNAUTHORIZED, "unauthorized");
    expect_disconnect(&mut socket).await;

    // The old password is gone, the new one works, and the address counts as verified now.
    login(&app, "ann@example.com", PASSWORD)
        .await
        .problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    let session = login(&app, "ann@example.com", NEW_PASSWORD)
        .await
        .json(StatusCode::OK);
    assert_eq!(session["user"]["email_verified"], true);

    // The link works once.
    let again = confirm_reset(&app, &code, "yet another passphrase")
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(again.errors[0].field, "token");
    login(&app, "ann@example.com", NEW_PASSWORD)
        .await
        .json(StatusCode::OK);
}

#[tokio::test]
async fn unknown_addresses_get_the_same_answer_and_no_e_mail() {
    let (mut smtp, app) = app_with_mail(&[]).await;
    app.register("Ann", "ann@example.com").await;
    smtp.next_mail_to("ann@example.com", "Confirm your e-mail").await;

    let unknown = ask_reset(&app, "nobody@example.com").await;
    let known = ask_reset(&app, "ann@example.com").await;
    unknown.empty(StatusCode::ACCEPTED);
    known.empty(StatusCode::ACCEPTED);
    let headers = |answer: &crate::client::Answer| {
        let mut names: Vec<String> = answer
            .headers()
            .keys()
            .map(|name| name.as_str().to_owned())
            .filter(|name| name != "date" && name != "x-request-id")
            .collect();
        names.sort();
        names
    };
    assert_eq!(headers(&unknown), headers(&known));
    // Both did the same work: one job each.
    assert_eq!(
        app.count("SELECT count(*) AS n FROM jobs WHERE queue = 'account_email' AND payload->>'kind' = 'password_reset'")
            .await,
        2
    );

    smtp.next_mail_to("ann@example.com", "Reset your EPOP password")
        .await;
    account_mail_jobs_done(&app).await;
    let everything = smtp.everything_after(Duration::from_millis(500)).await;
    assert!(!everything.contains("nobody@example.com"), "{everything}");
    assert_eq!(tokens_where(&app, "purpose = 'password_reset'").await, 1);
}

#[tokio::test]
async fn bad_expired_and_replaced_reset_tokens_change_nothing() {
    let (mut smtp, app, ann) = app_with_ann().await;

    // Missing and out-of-range fields are listed; nothing is asked of the token.
    let problem = app
        .anonymous()
        .post("/api/auth/password-reset/confirm", json!({}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let mut fields: Vec<&str> = problem.errors.iter().map(|e| e.field.as_str()).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["password", "token"]);
    let first = reset_code(&app, &mut smtp, "ann@example.com").await;
    let problem = confirm_reset(&app, &first, "short")
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(problem.errors[0].field, "password");
    let problem = ask_reset(&app, "not an address")
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(problem.errors[0].field, "email");

    // An unknown token.
    let problem = confirm_reset(&app, "not-a-token", NEW_PASSWORD)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(problem.errors[0].field, "token");

    // A second request replaces the first link.
    let second = reset_code(&app, &mut smtp, "ann@example.com").await;
    assert_ne!(first, second);
    confirm_reset(&app, &first, NEW_PASSWORD)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");

    // An expired link (older than 30 minutes).
    app.sql("UPDATE account_email_tokens SET expires_at = now() - interval '1 second'")
        .await;
    confirm_reset(&app, &second, NEW_PASSWORD)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");

    // A link sent before the account moved to another address proves nothing about the new one.
    let third = reset_code(&app, &mut smtp, "ann@example.com").await;
    change_email(&app, &ann, "ann@elsewhere.example").await;
    confirm_reset(&app, &third, NEW_PASSWORD)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");

    // Nothing changed: the password is the first one.
    login(&app, "ann@elsewhere.example", PASSWORD)
        .await
        .json(StatusCode::OK);
}

#[tokio::test]
async fn reset_requests_are_limited_per_address_and_per_client() {
    let app = TestApp::spawn_with(|vars| {
        vars.insert("EPOP_ACCOUNT_EMAIL_RATE_LIMIT".into(), "2".into());
        vars.insert("EPOP_TRUSTED_PROXIES".into(), "127.0.0.1/32".into());
    })
    .await;
    let ask = |ip: &'static str, email: &'static str| {
        let app = &app;
        async move {
            app.anonymous()
                .header("x-forwarded-for", ip)
                .post("/api/auth/password-reset", json!({"email": email}))
                .await
        }
    };
    // One address asked for from a new client each time: the third is refused.
    for ip in ["198.51.100.1", "198.51.100.2"] {
        ask(ip, "victim@example.com").await.empty(StatusCode::ACCEPTED);
    }
    let limited = ask("198.51.100.3", "victim@example.com").await;
    limited.problem(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    let retry_after: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=3600).contains(&retry_after), "{retry_after}");

    // One client asking for a new address each time: the third is refused.
    for email in ["a@example.com", "b@example.com"] {
        ask("203.0.113.9", email).await.empty(StatusCode::ACCEPTED);
    }
    ask("203.0.113.9", "c@example.com")
        .await
        .problem(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    // Verification e-mails share the limit.
    app.anonymous()
        .header("x-forwarded-for", "203.0.113.9")
        .post("/api/auth/verify-email/resend", json!({"email": "d@example.com"}))
        .await
        .problem(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    // Other clients and addresses are unaffected.
    ask("203.0.113.10", "e@example.com")
        .await
        .empty(StatusCode::ACCEPTED);
}

#[tokio::test]
async fn sign_up_e_mails_a_verification_link_that_marks_the_address_verified() {
    let (mut smtp, app, ann) = app_with_ann().await;
    assert_eq!(email_verified(&app, &ann).await, false);

    let mail = smtp
        .next_mail_to("ann@example.com", "Confirm your e-mail address for EPOP")
        .await;
    let code = linked_code(&mail, "verify-email");

    // A missing or unknown token changes nothing.
    let problem = app
        .anonymous()
        .post("/api/auth/verify-email", json!({}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(problem.errors[0].field, "token");
    verify_email(&app, "nope")
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(email_verified(&app, &ann).await, false);

    verify_email(&app, &code).await.empty(StatusCode::NO_CONTENT);
    assert_eq!(email_verified(&app, &ann).await, true);
    // Once only.
    verify_email(&app, &code)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");

    // A new address starts unverified and gets its own link; the old address's link means nothing for it.
    let answer = change_email(&app, &ann, "ann@new.example").await;
    assert_eq!(answer["email_verified"], false);
    let code = verification_code(&mut smtp, "ann@new.example").await;
    verify_email(&app, &code).await.empty(StatusCode::NO_CONTENT);
    let session = login(&app, "ann@new.example", PASSWORD)
        .await
        .json(StatusCode::OK);
    assert_eq!(session["user"]["email_verified"], true);
}

#[tokio::test]
async fn signing_in_can_require_a_verified_address() {
    let (mut smtp, app) = app_with_mail(&[("EPOP_REQUIRE_VERIFIED_EMAIL", "true")]).await;
    app.register("Ann", "ann@example.com").await;
    let first = verification_code(&mut smtp, "ann@example.com").await;

    // The right password is told the address needs verifying; a wrong one learns nothing more.
    login(&app, "ann@example.com", "wrong password")
        .await
        .problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    let refused = login(&app, "ann@example.com", PASSWORD).await;
    refused.problem(StatusCode::FORBIDDEN, "forbidden");
    assert!(refused.text.contains("verify"), "{}", refused.text);

    // Asking again sends a new link, which replaces the first.
    resend_verification(&app, "ann@example.com")
        .await
        .empty(StatusCode::ACCEPTED);
    let second = verification_code(&mut smtp, "ann@example.com").await;
    verify_email(&app, &first)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    verify_email(&app, &second).await.empty(StatusCode::NO_CONTENT);
    login(&app, "ann@example.com", PASSWORD)
        .await
        .json(StatusCode::OK);

    // A verified address gets no further link when asked.
    resend_verification(&app, "ann@example.com")
        .await
        .empty(StatusCode::ACCEPTED);
    account_mail_jobs_done(&app).await;
    assert_eq!(tokens_where(&app, "used_at IS NULL").await, 0);
}

#[tokio::test]
async fn no_notification_e_mail_goes_to_an_unverified_address() {
    let (mut smtp, app, ann) = app_with_ann().await;
    let bob = app.register("Bob", "bob@example.com").await;
    let cat = app.register("Cat", "cat@example.com").await;
    // Cat verifies her address; Bob does not.
    let code = verification_code(&mut smtp, "cat@example.com").await;
    verify_email(&app, &code).await.empty(StatusCode::NO_CONTENT);
    let group = app.group(&ann, "G", &[&bob, &cat]).await;
    app.message(&ann, &group, "lunch at noon?").await;

    smtp.next_mail_to("cat@example.com", "New message").await;
    let query = "SELECT count(*) AS n FROM jobs WHERE queue = 'email' AND status = 'done'";
    wait_for_at_least(&app, query, 2, 2 * JOB_WAIT, "the e-mail jobs did not finish").await;
    let everything = smtp.everything_after(Duration::from_millis(500)).await;
    let to_bob: Vec<&str> = everything
        .split("END MESSAGE")
        .filter(|mail| mail.contains("<bob@example.com>") && mail.contains("lunch at noon?"))
        .collect();
    assert!(to_bob.is_empty(), "{everything}");
}
