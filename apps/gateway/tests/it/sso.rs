//! docs/api.md, Single sign-on: OpenID Connect sign-in against a real provider (the `oidc-provider` package
//! from npm, run by `tests/clients/js/oidc-provider.mjs` on a free port): the authorization code flow with PKCE
//! and a nonce, accounts created on first sign-in or linked by verified e-mail, and every refusal (a wrong or
//! replayed `state`, a wrong nonce, a used code, a disallowed domain, account creation off) sent to the web app
//! by name and audited.

use crate::admin::global_admin;
use crate::audit::{actions, log};
use crate::client::Answer;
use crate::helpers::{PASSWORD, TestApp, TestUser};
use crate::realtime::clients_dir;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::io::AsyncBufReadExt as _;

/// The callback URL registered at the provider for provider `id`. The test plays the browser: it reads the
/// code and state from the provider's redirect and calls the gateway's callback itself, so this address is
/// never contacted (the code exchange only compares it).
fn redirect_url(id: &str) -> String {
    format!("http://epop.test/api/auth/oidc/{id}/callback")
}

/// A real OpenID Connect provider with the client `epop` and the accounts of `accounts`.
struct Provider {
    _child: tokio::process::Child,
    /// Its standard output, kept open while it runs (a closed pipe would end it at its next line).
    _stdout: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
    issuer: String,
}

impl Provider {
    async fn start(accounts: Value) -> Self {
        let dir = clients_dir("js");
        assert!(
            dir.join("node_modules/oidc-provider").exists(),
            "run `npm ci` in {} (scripts/test.sh does)",
            dir.display()
        );
        let setup = json!({
            "client_id": "epop",
            "client_secret": "epop-test-secret",
            "redirect_uris": [redirect_url("corp"), redirect_url("strict")],
            "accounts": accounts,
        });
        let mut child = tokio::process::Command::new("node")
            .arg("oidc-provider.mjs")
            .arg(setup.to_string())
            .current_dir(dir)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs");
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("the provider starts")
            .unwrap()
            .expect("the provider prints its issuer");
        let issuer = line.strip_prefix("issuer ").expect("`issuer <url>`").to_owned();
        Self {
            _child: child,
            _stdout: lines,
            issuer,
        }
    }

    /// `EPOP_OIDC_PROVIDERS` with two providers on this issuer: `corp` creates accounts, `strict` does not;
    /// both allow only `corp.example` addresses.
    fn setting(&self) -> String {
        json!([
            {"id": "corp", "issuer": self.issuer, "client_id": "epop", "client_secret": "epop-test-secret",
             "allowed_domains": ["corp.example"], "create_accounts": true, "redirect_url": redirect_url("corp")},
            {"id": "strict", "issuer": self.issuer, "client_id": "epop", "client_secret": "epop-test-secret",
             "allowed_domains": ["corp.example"], "redirect_url": redirect_url("strict")},
        ])
        .to_string()
    }
}

/// The provider's test accounts: `login => (email, email_verified)`.
fn accounts() -> Value {
    json!({
        "ann": {"email": "ann@corp.example", "email_verified": true, "name": "Ann Corp"},
        "bob": {"email": "Bob@Corp.Example", "email_verified": true, "name": "Bob"},
        "eve": {"email": "eve@corp.example", "email_verified": false, "name": "Eve"},
        "mallory": {"email": "mallory@evil.example", "email_verified": true, "name": "Mallory"},
        "carol": {"email": "carol@corp.example", "email_verified": true, "name": "Carol"},
    })
}

/// A gateway configured with the provider.
async fn gateway(provider: &Provider) -> TestApp {
    TestApp::with_settings([
        ("EPOP_OIDC_PROVIDERS", provider.setting().as_str()),
        ("EPOP_APP_URL", "https://app.example"),
    ])
    .await
}

/// A sign-in that went through the provider: what the browser brings back to the gateway's callback.
struct Returned {
    /// The provider's query for the callback (`code`, `state`, `iss`).
    query: String,
    /// The value of the browser's `epop_oidc_state` cookie.
    cookie: String,
}

impl Returned {
    /// The `name=value` pair of the query named `name`.
    fn param(&self, name: &str) -> &str {
        let prefix = format!("{name}=");
        self.query
            .split('&')
            .find(|pair| pair.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no {name} in {}", self.query))
    }
}

/// Starts a sign-in at `provider` and goes through the provider as `login` (a browser with its own cookies,
/// following the provider's redirects until the one back to EPOP).
async fn through_provider(app: &TestApp, provider: &str, login: &str) -> Returned {
    let start = app
        .anonymous()
        .get(format!("/api/auth/oidc/{provider}/start"))
        .await;
    assert_eq!(start.status(), StatusCode::FOUND, "{}", start.text);
    let cookie = start.set_cookie("epop_oidc_state").expect("the state cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/api/auth/oidc", "Max-Age=600"] {
        assert!(cookie.contains(attribute), "{attribute} missing from {cookie}");
    }
    let cookie = cookie["epop_oidc_state=".len()..]
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let authorize = start.header("location").unwrap().to_owned();
    for part in [
        "code_challenge_method=S256",
        "code_challenge=",
        "nonce=",
        "state=",
        "scope=openid",
    ] {
        assert!(authorize.contains(part), "{part} missing from {authorize}");
    }
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut url = reqwest::Url::parse(&format!("{authorize}&login_hint={login}")).unwrap();
    let back = redirect_url(provider);
    for _ in 0..10 {
        let response = browser.get(url.clone()).send().await.unwrap();
        let location = response
            .headers()
            .get("location")
            .unwrap_or_else(|| panic!("the provider answered {} without a redirect", response.status()))
            .to_str()
            .unwrap()
            .to_owned();
        if let Some(query) = location.strip_prefix(&format!("{back}?")) {
            return Returned {
                query: query.to_owned(),
                cookie,
            };
        }
        url = url.join(&location).unwrap();
    }
    panic!("the provider never sent the browser back");
}

/// Calls the gateway's callback as the browser would (with its state cookie, if any) and returns where the
/// gateway sends the browser: the fragment's `code` or `error`.
async fn callback(
    app: &TestApp,
    provider: &str,
    query: &str,
    cookie: Option<&str>,
) -> Result<String, String> {
    let mut caller = app.anonymous();
    if let Some(cookie) = cookie {
        caller = caller.header("cookie", format!("epop_oidc_state={cookie}"));
    }
    let answer = caller
        .get(format!("/api/auth/oidc/{provider}/callback?{query}"))
        .await;
    assert_eq!(answer.status(), StatusCode::FOUND, "{}", answer.text);
    let cleared = answer
        .set_cookie("epop_oidc_state")
        .expect("the state cookie is cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    let location = answer.header("location").unwrap();
    let fragment = location
        .strip_prefix("https://app.example/sso/complete#")
        .unwrap_or_else(|| panic!("to the web app: {location}"));
    match fragment.split_once('=') {
        Some(("code", code)) => Ok(code.to_owned()),
        Some(("error", error)) => Err(error.to_owned()),
        _ => panic!("{fragment}"),
    }
}

/// Exchanges a callback's one-time code, whatever the answer.
async fn exchange(app: &TestApp, code: &str) -> Answer {
    app.anonymous()
        .post("/api/auth/oidc/exchange", json!({"code": code}))
        .await
}

/// Signs in as `login` through `provider` all the way to a session.
async fn sso_sign_in(app: &TestApp, provider: &str, login: &str) -> Value {
    let returned = through_provider(app, provider, login).await;
    let code = callback(app, provider, &returned.query, Some(&returned.cookie))
        .await
        .expect("signed in");
    exchange(app, &code).await.json(StatusCode::OK)
}

/// Goes through the provider as `login` and returns the reason the gateway refused the sign-in.
async fn refused(app: &TestApp, provider: &str, login: &str) -> String {
    let returned = through_provider(app, provider, login).await;
    callback(app, provider, &returned.query, Some(&returned.cookie))
        .await
        .expect_err("refused")
}

#[tokio::test]
async fn a_first_sign_in_creates_the_account_and_the_next_signs_in_to_the_same_one() {
    let provider = Provider::start(accounts()).await;
    let app = gateway(&provider).await;

    let first = sso_sign_in(&app, "corp", "ann").await;
    assert_eq!(first["token_type"], "Bearer");
    assert_eq!(first["user"]["email"], "ann@corp.example");
    assert_eq!(first["user"]["name"], "Ann Corp");
    assert_eq!(first["user"]["email_verified"], true);
    let ann = TestUser::from_session(&first);
    let me = app.as_user(&ann).get_ok("/api/users/me").await;
    assert_eq!(me["id"], ann.id.as_str());
    // The refresh token works as any other.
    app.refresh(&ann.refresh_token).await.json(StatusCode::OK);

    let again = sso_sign_in(&app, "corp", "ann").await;
    assert_eq!(again["user"]["id"], ann.id.as_str(), "the same account");
    assert_eq!(
        app.count("SELECT count(*) AS n FROM users WHERE lower(email) = 'ann@corp.example'")
            .await,
        1
    );
    // The account has no password until its owner sets one.
    app.sign_in("ann@corp.example", PASSWORD)
        .await
        .problem(StatusCode::UNAUTHORIZED, "invalid_credentials");

    let root = global_admin(&app).await;
    let rows = log(&app, &root, &format!("actor={}", ann.id)).await;
    assert_eq!(
        actions(&rows),
        ["auth.login", "auth.login", "auth.sso_account_created"],
        "{rows:?}"
    );
    assert_eq!(rows[0]["details"], json!({"method": "oidc", "provider": "corp"}));
    assert_eq!(rows[2]["details"]["email"], "ann@corp.example");
    assert_eq!(rows[2]["ip"], "127.0.0.1");
}

#[tokio::test]
async fn a_password_account_is_linked_by_the_providers_verified_e_mail_only() {
    let provider = Provider::start(accounts()).await;
    let app = gateway(&provider).await;
    let bob = app.register("Bob", "bob@corp.example").await;
    let eve = app.register("Eve", "eve@corp.example").await;

    // Linked even by the strict provider (no account is created), the address compared without case.
    let session = sso_sign_in(&app, "strict", "bob").await;
    assert_eq!(session["user"]["id"], bob.id.as_str());
    // The provider vouched for the address.
    assert_eq!(session["user"]["email_verified"], true);
    // The password still works.
    app.sign_in_again("bob@corp.example").await;

    // The provider does not say Eve's address is verified: her account is not linked.
    assert_eq!(refused(&app, "corp", "eve").await, "email_not_verified");

    let root = global_admin(&app).await;
    let linked = log(&app, &root, "action=auth.sso_linked").await;
    assert_eq!(linked.len(), 1, "{linked:?}");
    assert_eq!(linked[0]["target_id"], bob.id.as_str());
    assert_eq!(linked[0]["details"]["provider"], "strict");
    let failed = log(&app, &root, "action=auth.login_failed").await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["details"]["reason"], "email_not_verified");
    assert_eq!(failed[0]["details"]["method"], "oidc");
    assert_eq!(log(&app, &root, &format!("actor={}", eve.id)).await.len(), 0);
}

#[tokio::test]
async fn a_wrong_or_replayed_state_a_wrong_nonce_and_a_used_code_are_refused() {
    let provider = Provider::start(accounts()).await;
    let app = gateway(&provider).await;

    // Another state than this browser's, or none in the browser.
    let returned = through_provider(&app, "corp", "ann").await;
    let swapped = returned.query.replace("state=", "state=x");
    assert_eq!(
        callback(&app, "corp", &swapped, Some(&returned.cookie)).await,
        Err("invalid_state".into())
    );
    let returned = through_provider(&app, "corp", "ann").await;
    assert_eq!(
        callback(&app, "corp", &returned.query, None).await,
        Err("invalid_state".into())
    );
    // A state of another provider.
    let returned = through_provider(&app, "corp", "ann").await;
    assert_eq!(
        callback(&app, "strict", &returned.query, Some(&returned.cookie)).await,
        Err("invalid_state".into())
    );

    // A callback that worked cannot be replayed.
    let returned = through_provider(&app, "corp", "ann").await;
    let code = callback(&app, "corp", &returned.query, Some(&returned.cookie))
        .await
        .unwrap();
    assert_eq!(
        callback(&app, "corp", &returned.query, Some(&returned.cookie)).await,
        Err("invalid_state".into())
    );
    // Nor its one-time code exchanged twice.
    exchange(&app, &code).await.json(StatusCode::OK);
    exchange(&app, &code).await.invalid_fields(&["code"]);

    // The provider's code, already used, with a fresh state.
    let used_code = returned.param("code");
    let fresh = through_provider(&app, "corp", "ann").await;
    let fresh_state = fresh.param("state");
    assert_eq!(
        callback(
            &app,
            "corp",
            &format!("{used_code}&{fresh_state}"),
            Some(&fresh.cookie)
        )
        .await,
        Err("code_rejected".into())
    );

    // An ID token whose nonce is not the one this sign-in sent (its stored nonce swapped while the browser is
    // at the provider).
    let returned = through_provider(&app, "corp", "ann").await;
    app.sql("UPDATE oidc_states SET nonce = 'another-sign-ins-nonce'")
        .await;
    assert_eq!(
        callback(&app, "corp", &returned.query, Some(&returned.cookie)).await,
        Err("invalid_id_token".into())
    );

    // The provider's own refusal.
    let returned = through_provider(&app, "corp", "ann").await;
    let state = returned.param("state");
    assert_eq!(
        callback(
            &app,
            "corp",
            &format!("error=access_denied&{state}"),
            Some(&returned.cookie)
        )
        .await,
        Err("provider_error".into())
    );

    let root = global_admin(&app).await;
    let failed = log(&app, &root, "action=auth.login_failed").await;
    let mut reasons: Vec<&str> = failed
        .iter()
        .map(|row| row["details"]["reason"].as_str().unwrap())
        .collect();
    reasons.sort_unstable();
    assert_eq!(
        reasons,
        [
            "code_rejected",
            "invalid_id_token",
            "invalid_state",
            "invalid_state",
            "invalid_state",
            "invalid_state",
            "provider_error",
        ]
    );
}

#[tokio::test]
async fn a_disallowed_domain_or_a_provider_that_creates_no_accounts_signs_nobody_in() {
    let provider = Provider::start(accounts()).await;
    let app = gateway(&provider).await;

    assert_eq!(refused(&app, "corp", "mallory").await, "email_domain_not_allowed");
    assert_eq!(
        refused(&app, "strict", "carol").await,
        "account_creation_disabled"
    );
    assert_eq!(
        app.count(
            "SELECT count(*) AS n FROM users WHERE email IN ('mallory@evil.example', 'carol@corp.example')"
        )
        .await,
        0
    );
    // The same address through the provider that creates accounts.
    let carol = sso_sign_in(&app, "corp", "carol").await;
    assert_eq!(carol["user"]["email"], "carol@corp.example");
    // A deactivated account cannot sign in this way either.
    let root = global_admin(&app).await;
    app.as_user(&root)
        .post_ok(
            format!(
                "/api/admin/users/{}/deactivate",
                carol["user"]["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    assert_eq!(refused(&app, "corp", "carol").await, "deactivated");

    let failed = log(&app, &root, "action=auth.login_failed").await;
    let reasons: Vec<&str> = failed
        .iter()
        .map(|row| row["details"]["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        [
            "deactivated",
            "account_creation_disabled",
            "email_domain_not_allowed"
        ]
    );
    assert_eq!(failed[2]["details"]["email"], "mallory@evil.example");
}

#[tokio::test]
async fn unknown_providers_are_not_found_and_bad_codes_are_named() {
    let app = TestApp::spawn().await;
    app.anonymous().get("/api/auth/oidc/corp/start").await.not_found();
    app.anonymous()
        .get("/api/auth/oidc/corp/callback?code=x&state=y")
        .await
        .not_found();
    exchange(&app, "not-a-code").await.invalid_fields(&["code"]);
    app.anonymous()
        .post("/api/auth/oidc/exchange", json!({}))
        .await
        .invalid_fields(&["code"]);
}
