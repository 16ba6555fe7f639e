//! Secrets stay secret: a broad scenario (sign-up, e-mail verification, sign-in with a wrong and the right
//! password, refresh, TOTP enrolment, a second-factor sign-in with a recovery code, password reset, password
//! change, Web Push subscription, calendar feed, personal access token, incoming and outgoing webhooks) runs
//! with the gateway logging at `debug` through its own log layer ([`epop_gateway::telemetry::json_logs`]), and
//! then no password, password hash, access or refresh token, reset or verification token, MFA token, TOTP
//! secret, recovery code, push subscription secret, feed token, personal access token, incoming webhook URL or
//! signing secret, or outgoing webhook secret may appear in any log line, nor in any answer but the one that
//! hands it out.
//!
//! The subscriber is the process's global one: nextest runs each test in a process of its own, so the lines
//! are this test's (under `cargo test` other tests' lines come along, which can only add lines to check).

use crate::client::Answer;
use crate::helpers::{PASSWORD, TestApp, TestUser};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// Where the log lines go: a buffer the test reads at the end.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every answer the scenario got (status, headers and body as text), and every secret with the answer that
/// hands it out, if one does.
#[derive(Default)]
struct Transcript {
    answers: Vec<(String, String)>,
    secrets: Vec<(String, String, Option<usize>)>,
}

impl Transcript {
    /// Keeps `answer` (labelled `what`) and returns its index.
    fn keep(&mut self, what: &str, answer: &Answer) -> usize {
        let mut text = format!("{}\n", answer.status());
        for (name, value) in answer.headers() {
            text.push_str(&format!("{name}: {}\n", value.to_str().unwrap_or_default()));
        }
        text.push_str(&answer.text);
        self.answers.push((what.to_owned(), text));
        self.answers.len() - 1
    }

    /// A secret no answer may show.
    fn secret(&mut self, what: &str, value: &str) {
        self.secrets.push((what.to_owned(), value.to_owned(), None));
    }

    /// A secret only answer `shown_in` shows (the one that hands it out).
    fn handed_out(&mut self, what: &str, value: &str, shown_in: usize) {
        assert!(
            self.answers[shown_in].1.contains(value),
            "{what} is in the answer that hands it out"
        );
        self.secrets
            .push((what.to_owned(), value.to_owned(), Some(shown_in)));
    }

    /// The session tokens of the answer `index` (a token response), as handed out there.
    fn session(&mut self, what: &str, index: usize, body: &Value) -> TestUser {
        let user = TestUser::from_session(body);
        self.handed_out(&format!("{what}: access token"), &user.access_token, index);
        self.handed_out(&format!("{what}: refresh token"), &user.refresh_token, index);
        user
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_shows_in_a_log_line_or_a_later_answer() {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let logs = Capture::default();
    let writer = logs.clone();
    tracing_subscriber::registry()
        .with(epop_gateway::telemetry::json_logs("debug", move || {
            writer.clone()
        }))
        .try_init()
        .expect("the test's own process has no subscriber yet");

    let (mut smtp, app) =
        crate::accounts::app_with_mail(&[("EPOP_WEBHOOKS_ALLOW_LOOPBACK_FOR_TESTS", "true")]).await;
    let mut seen = Transcript::default();
    seen.secret("the password", PASSWORD);
    let email = "ann@example.com";

    // Sign-up, and the verification link it mails.
    let registered = app.sign_up("Ann", email).await;
    let index = seen.keep("register", &registered);
    let ann = seen.session("sign-up", index, &registered.json(StatusCode::CREATED));
    let verification = crate::accounts::verification_code(&mut smtp, email).await;
    seen.secret("the verification token", &verification);
    let verified = app
        .anonymous()
        .post("/api/auth/verify-email", json!({"token": verification}))
        .await;
    seen.keep("verify", &verified);
    verified.empty(StatusCode::NO_CONTENT);

    // A wrong password, the right one, a refresh.
    let wrong = "not the password at all";
    seen.secret("a wrong password", wrong);
    let refused = app.sign_in(email, wrong).await;
    seen.keep("wrong password", &refused);
    refused.problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    let signed_in = app.sign_in(email, PASSWORD).await;
    let index = seen.keep("login", &signed_in);
    let second = seen.session("sign-in", index, &signed_in.json(StatusCode::OK));
    let refreshed = app.refresh(&second.refresh_token).await;
    let index = seen.keep("refresh", &refreshed);
    seen.session("refresh", index, &refreshed.json(StatusCode::OK));

    // The password hash, as stored.
    let hash = password_hash(&app, &ann).await;
    seen.secret("the password hash", &hash);

    // TOTP: the secret is handed out once, the recovery codes once.
    let started = app
        .as_user(&ann)
        .post("/api/users/me/mfa/totp", json!({"password": PASSWORD}))
        .await;
    let index = seen.keep("totp start", &started);
    let totp = started.json(StatusCode::CREATED)["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    seen.handed_out("the TOTP secret", &totp, index);
    let confirmed = app
        .as_user(&ann)
        .post(
            "/api/users/me/mfa/totp/confirm",
            json!({"code": crate::mfa::code_at(&totp, 0)}),
        )
        .await;
    let index = seen.keep("totp confirm", &confirmed);
    let body = confirmed.json(StatusCode::OK);
    let codes: Vec<String> = crate::helpers::elements(&body["recovery_codes"])
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10, "{body}");
    for code in &codes {
        seen.handed_out("a recovery code", code, index);
    }
    seen.session("totp confirm", index, &body);

    // A sign-in with the second factor, completed with a recovery code.
    let challenged = app.sign_in(email, PASSWORD).await;
    let index = seen.keep("login with mfa", &challenged);
    let mfa_token = challenged.json(StatusCode::OK)["mfa_token"]
        .as_str()
        .unwrap()
        .to_owned();
    seen.handed_out("the mfa token", &mfa_token, index);
    let completed = app
        .anonymous()
        .post(
            "/api/auth/mfa",
            json!({"mfa_token": mfa_token, "recovery_code": codes[0]}),
        )
        .await;
    let index = seen.keep("mfa completion", &completed);
    let ann = seen.session("mfa completion", index, &completed.json(StatusCode::OK));

    // A Web Push subscription: its auth secret is the browser's.
    let browser = crate::push::Browser::new();
    let subscription = browser.subscription("https://push.example.test/ann");
    seen.secret(
        "the push subscription's auth secret",
        subscription["keys"]["auth"].as_str().unwrap(),
    );
    let subscribed = app
        .as_user(&ann)
        .post("/api/push-subscriptions", subscription)
        .await;
    seen.keep("push subscribe", &subscribed);
    subscribed.json(StatusCode::CREATED);
    let list = app.as_user(&ann).get("/api/users/me").await;
    seen.keep("me", &list);

    // The calendar feed: its token is handed out once and is the credential in the feed's path.
    let feed = app.as_user(&ann).post("/api/calendar-feed", json!({})).await;
    let index = seen.keep("calendar feed", &feed);
    let feed_token = feed.json(StatusCode::CREATED)["token"]
        .as_str()
        .unwrap()
        .to_owned();
    seen.handed_out("the calendar feed token", &feed_token, index);
    let calendar = app
        .anonymous()
        .get(format!("/api/calendar-feed/{feed_token}"))
        .await;
    seen.keep("calendar feed read", &calendar);
    assert_eq!(calendar.status(), StatusCode::OK);

    // A personal access token: handed out once, then a bearer credential; lists show only its prefix.
    let created = app
        .as_user(&ann)
        .post(
            "/api/users/me/tokens",
            json!({"name": "script", "scopes": ["users:read"]}),
        )
        .await;
    let index = seen.keep("access token", &created);
    let pat = created.json(StatusCode::CREATED)["token"]
        .as_str()
        .unwrap()
        .to_owned();
    seen.handed_out("the personal access token", &pat, index);
    let me = app.as_token(&pat).get("/api/users/me").await;
    seen.keep("me with the access token", &me);
    assert_eq!(me.status(), StatusCode::OK);
    let tokens = app.as_user(&ann).get("/api/users/me/tokens").await;
    seen.keep("access tokens", &tokens);

    // An incoming webhook: its URL's token and its signing secret are handed out once; the URL is the
    // credential of the posts to it.
    let group = app.group(&ann, "Deploys", &[]).await;
    let hooks = format!("/api/conversations/{group}/incoming-webhooks");
    let created = app
        .as_user(&ann)
        .post(&hooks, json!({"name": "CI", "verify_signatures": true}))
        .await;
    let index = seen.keep("incoming webhook", &created);
    let hook = created.json(StatusCode::CREATED);
    let url = hook["url"].as_str().unwrap();
    let hook_token = url.rsplit('/').next().unwrap().to_owned();
    seen.handed_out("the incoming webhook's URL token", &hook_token, index);
    let signing = hook["signing_secret"].as_str().unwrap().to_owned();
    seen.handed_out("the incoming webhook's signing secret", &signing, index);
    let body = r#"{"text": "deployed"}"#;
    let mut poster = app.anonymous();
    for (name, value) in crate::incoming_webhooks::signed(&signing, "msg_1", 0, body) {
        poster = poster.header(name, value);
    }
    let posted = poster
        .post_raw(
            &format!("/hooks/{hook_token}"),
            Some("application/json"),
            body.to_owned(),
        )
        .await;
    seen.keep("post to the hook", &posted);
    assert_eq!(posted.status(), StatusCode::OK, "{}", posted.text);
    let listed = app.as_user(&ann).get(&hooks).await;
    seen.keep("incoming webhooks", &listed);

    // An outgoing webhook: its secret is handed out when made and when rotated, never again.
    let created = app
        .as_user(&ann)
        .post(
            format!("/api/conversations/{group}/webhooks"),
            json!({"url": "http://127.0.0.1:9/epop"}),
        )
        .await;
    let index = seen.keep("webhook", &created);
    let webhook = created.json(StatusCode::CREATED);
    let webhook_id = webhook["id"].as_str().unwrap().to_owned();
    seen.handed_out("the webhook's secret", webhook["secret"].as_str().unwrap(), index);
    let rotated = app
        .as_user(&ann)
        .post(format!("/api/webhooks/{webhook_id}/rotate-secret"), json!({}))
        .await;
    let index = seen.keep("webhook secret rotation", &rotated);
    let secret = rotated.json(StatusCode::OK)["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    seen.handed_out("the webhook's rotated secret", &secret, index);
    let read = app.as_user(&ann).get(format!("/api/webhooks/{webhook_id}")).await;
    seen.keep("webhook read", &read);
    assert_eq!(read.status(), StatusCode::OK);

    // A password reset by e-mailed link, then a password change.
    let reset = crate::accounts::reset_code(&app, &mut smtp, email).await;
    seen.secret("the reset token", &reset);
    let new_password = "a brand new passphrase";
    seen.secret("the new password", new_password);
    let confirmed = app
        .anonymous()
        .post(
            "/api/auth/password-reset/confirm",
            json!({"token": reset, "password": new_password}),
        )
        .await;
    seen.keep("reset confirm", &confirmed);
    confirmed.empty(StatusCode::NO_CONTENT);
    let hash = password_hash(&app, &ann).await;
    seen.secret("the new password hash", &hash);
    let challenged = app.sign_in(email, new_password).await;
    let index = seen.keep("login after reset", &challenged);
    let mfa_token = challenged.json(StatusCode::OK)["mfa_token"]
        .as_str()
        .unwrap()
        .to_owned();
    seen.handed_out("the second mfa token", &mfa_token, index);
    let completed = app
        .anonymous()
        .post(
            "/api/auth/mfa",
            json!({"mfa_token": mfa_token, "recovery_code": codes[1]}),
        )
        .await;
    let index = seen.keep("mfa completion after reset", &completed);
    let ann = seen.session("mfa after reset", index, &completed.json(StatusCode::OK));
    let newest = "the newest passphrase";
    seen.secret("the newest password", newest);
    let changed = app
        .as_user(&ann)
        .put(
            "/api/users/me",
            json!({"password": newest, "current_password": new_password}),
        )
        .await;
    seen.keep("password change", &changed);
    changed.json(StatusCode::OK);
    let hash = password_hash(&app, &ann).await;
    seen.secret("the newest password hash", &hash);

    // Let the background jobs (e-mails, push) finish their logging too.
    crate::helpers::wait_for_none(
        &app,
        "SELECT count(*) AS n FROM jobs WHERE status = 'running' OR (status = 'queued' AND run_at <= now())",
        crate::helpers::JOB_WAIT,
        "the jobs did not finish",
    )
    .await;

    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = logs.lines().collect();
    assert!(
        lines.iter().any(|l| l.contains("\"level\":\"DEBUG\"")),
        "the run logged at debug level"
    );
    let mut leaks = Vec::new();
    for (what, value, shown_in) in &seen.secrets {
        for line in &lines {
            if line.contains(value.as_str()) {
                leaks.push(format!("{what} in a log line: {line}"));
            }
        }
        for (index, (answer, text)) in seen.answers.iter().enumerate() {
            if Some(index) != *shown_in && text.contains(value.as_str()) {
                leaks.push(format!("{what} in the answer to {answer}"));
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "{} leaks in {} log lines and {} answers:\n{}",
        leaks.len(),
        lines.len(),
        seen.answers.len(),
        leaks.join("\n")
    );
}

/// `user`'s password hash as stored (PHC string), read with the database's own client.
async fn password_hash(app: &TestApp, user: &TestUser) -> String {
    use diesel::QueryableByName;
    use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
    #[derive(QueryableByName)]
    struct Hash {
        #[diesel(sql_type = diesel::sql_types::Text)]
        password_hash: String,
    }
    let mut conn = AsyncPgConnection::establish(&app.db.url).await.unwrap();
    let rows: Vec<Hash> = diesel::sql_query(format!(
        "SELECT password_hash FROM users WHERE id = '{}'",
        user.id
    ))
    .load(&mut conn)
    .await
    .unwrap();
    let hash = rows.into_iter().next().expect("the user").password_hash;
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    hash
}
