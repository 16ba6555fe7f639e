//! docs/api.md, Web Push subscriptions: the VAPID key, subscriptions, and delivery as background jobs to a local
//! HTTP endpoint in the role of a browser's push service, which decrypts what arrives with the
//! subscription's private key (RFC 8291) and checks the VAPID authorization (RFC 8292).

use crate::helpers::{
    JOB_WAIT, TestApp, end_do_not_disturb, failing_fields, mark_read, problem, wait_for_at_least,
    wait_for_deferred, wait_for_none,
};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
struct Delivery {
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// A push service on 127.0.0.1: records every delivery; paths starting with `/gone` answer 410.
fn push_service() -> (String, Arc<Mutex<Vec<Delivery>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let store = web::Data::new(received.clone());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let server = HttpServer::new(move || {
        App::new().app_data(store.clone()).default_service(web::to(
            |req: HttpRequest, body: web::Bytes, store: web::Data<Arc<Mutex<Vec<Delivery>>>>| async move {
                let headers = req
                    .headers()
                    .iter()
                    .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
                    .collect();
                store.lock().unwrap().push(Delivery {
                    path: req.path().to_owned(),
                    headers,
                    body: body.to_vec(),
                });
                if req.path().starts_with("/gone") {
                    HttpResponse::Gone().finish()
                } else {
                    HttpResponse::Created().finish()
                }
            },
        ))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    (format!("http://{address}"), received)
}

pub(crate) struct Browser {
    secret: p256::SecretKey,
    auth: [u8; 16],
}

impl Browser {
    pub(crate) fn new() -> Self {
        let mut auth = [0u8; 16];
        getrandom::fill(&mut auth).unwrap();
        Self {
            secret: p256::SecretKey::random(&mut p256::elliptic_curve::rand_core::OsRng),
            auth,
        }
    }

    pub(crate) fn subscription(&self, endpoint: &str) -> Value {
        json!({
            "endpoint": endpoint,
            "expirationTime": null,
            "keys": {
                "p256dh": URL_SAFE_NO_PAD.encode(self.secret.public_key().to_encoded_point(false).as_bytes()),
                "auth": URL_SAFE_NO_PAD.encode(self.auth),
            },
        })
    }

    fn decrypt(&self, body: &[u8]) -> Value {
        let mut auth = web_push_native::Auth::default();
        auth.copy_from_slice(&self.auth);
        let plain = web_push_native::decrypt(body.to_vec(), &self.secret, &auth)
            .expect("decrypts with the subscription's key");
        serde_json::from_slice(&plain).unwrap()
    }
}

async fn wait_for(received: &Arc<Mutex<Vec<Delivery>>>, count: usize) -> Vec<Delivery> {
    let started = Instant::now();
    loop {
        let seen = received.lock().unwrap().clone();
        if seen.len() >= count {
            return seen;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{} of {count} pushes arrived",
            seen.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn subscriptions_are_stored_once_per_endpoint_and_only_their_owner_removes_them() {
    let (app, [ann, bob]) = TestApp::with_users(["Ann", "Bob"]).await;
    let key = app.as_user(&ann).get_ok("/api/push/vapid-public-key").await;
    assert_eq!(
        URL_SAFE_NO_PAD
            .decode(key["key"].as_str().unwrap())
            .unwrap()
            .len(),
        65
    );

    let browser = Browser::new();
    let body = browser.subscription("https://push.example.test/abc");
    let created = app
        .as_user(&ann)
        .post_created("/api/push-subscriptions", &body)
        .await;
    assert_eq!(created["endpoint"], "https://push.example.test/abc");
    assert!(created["id"].is_string() && created["created_at"].is_string());
    assert_eq!(created.as_object().unwrap().len(), 3);
    let again = app.as_user(&ann).post_ok("/api/push-subscriptions", &body).await;
    assert_eq!(again["id"], created["id"]);

    let invalid = app
        .as_user(&ann)
        .post(
            "/api/push-subscriptions",
            json!({"endpoint": "ftp://x", "keys": {"p256dh": "abc", "auth": "x"}}),
        )
        .await
        .invalid();
    assert_eq!(invalid.fields(), vec!["endpoint", "keys.p256dh", "keys.auth"]);
    let missing = app
        .as_user(&ann)
        .post(
            "/api/push-subscriptions",
            json!({"endpoint": "https://x.test/1", "keys": {}}),
        )
        .await
        .invalid();
    let mut fields = missing.fields();
    fields.sort();
    assert_eq!(fields, vec!["keys.auth", "keys.p256dh"]);

    let path = format!("/api/push-subscriptions/{}", created["id"].as_str().unwrap());
    app.as_user(&bob).delete(&path).await.not_found();
    assert_eq!(
        app.as_user(&ann).delete(&path).await.status(),
        StatusCode::NO_CONTENT
    );
    app.as_user(&ann).delete(&path).await.not_found();
}

/// A gateway that lets push endpoints on 127.0.0.1 through (the test push service runs there).
async fn app_with_local_push_service() -> TestApp {
    TestApp::with_settings([
        ("EPOP_PUSH_ALLOW_LOOPBACK_FOR_TESTS", "true"),
        ("EPOP_NOTIFICATION_INTERVAL", "0"),
    ])
    .await
}

#[tokio::test]
async fn notifications_are_pushed_encrypted_with_vapid_and_gone_subscriptions_get_no_more() {
    let app = app_with_local_push_service().await;
    let (service, received) = push_service();
    let [ann, bob] = app.users(["Ann", "Bob"]).await;
    let browser = Browser::new();
    let stale = Browser::new();
    for (device, path) in [(&browser, "/push/bob"), (&stale, "/gone/bob-old")] {
        let body = device.subscription(&format!("{service}{path}"));
        let response = app.as_user(&bob).post("/api/push-subscriptions", &body).await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let vapid = app.as_user(&bob).get_ok("/api/push/vapid-public-key").await;
    let group = app.group(&ann, "G", &[&bob]).await;
    app.message(&ann, &group, "push me").await;

    let deliveries = wait_for(&received, 2).await;
    let delivery = deliveries.iter().find(|d| d.path == "/push/bob").unwrap();
    let header = |name: &str| {
        delivery
            .headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(header("content-encoding"), "aes128gcm");
    assert!(!header("ttl").is_empty());
    let authorization = header("authorization");
    assert!(authorization.starts_with("vapid t="), "{authorization}");
    assert!(
        authorization.contains(&format!("k={}", vapid["key"].as_str().unwrap())),
        "{authorization}"
    );
    let notification = browser.decrypt(&delivery.body);
    assert_eq!(notification["type"], "message");
    assert_eq!(notification["payload"]["preview"], "push me");

    // The push service said 410 for the stale subscription: nothing more goes there.
    wait_for_pushes(&app).await;
    app.message(&ann, &group, "and me").await;
    let deliveries = wait_for(&received, 3).await;
    wait_for_pushes(&app).await;
    let to = |path: &str| received.lock().unwrap().iter().filter(|d| d.path == path).count();
    assert_eq!(to("/push/bob"), 2, "{deliveries:?}");
    assert_eq!(to("/gone/bob-old"), 1, "{deliveries:?}");
}

/// Waits until no push job is queued or running.
async fn wait_for_pushes(app: &TestApp) {
    let query = "SELECT count(*) AS n FROM jobs WHERE queue = 'push' AND status IN ('queued', 'running')";
    wait_for_none(app, query, JOB_WAIT, "push jobs still pending").await;
}

/// Waits until `count` push jobs exist and none is queued or running.
async fn wait_for_push_jobs(app: &TestApp, count: i64) {
    let query = "SELECT count(*) AS n FROM jobs WHERE queue = 'push'";
    wait_for_at_least(app, query, count, JOB_WAIT, "push jobs were not enqueued").await;
    wait_for_pushes(app).await;
}

/// A TCP listener on 127.0.0.1 that counts the connections made to it (and answers none).
async fn loopback_listener() -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let contacted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = contacted.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(socket);
        }
    });
    (port, contacted)
}

/// This machine's host name, when it resolves to loopback addresses only (as `/etc/hosts` usually makes it).
async fn loopback_host_name() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = name.trim().to_owned();
    let addresses: Vec<std::net::SocketAddr> = tokio::net::lookup_host((name.as_str(), 443))
        .await
        .ok()?
        .collect();
    (!addresses.is_empty() && addresses.iter().all(|a| a.ip().is_loopback())).then_some(name)
}

#[tokio::test]
async fn push_endpoints_must_be_public_https_names() {
    let (app, [ann]) = TestApp::with_users(["Ann"]).await;
    let (port, contacted) = loopback_listener().await;
    let browser = Browser::new();
    let mut refused = vec![
        "http://push.example.test/x".to_owned(),
        "https://user:secret@push.example.test/x".to_owned(),
        format!("https://127.0.0.1:{port}/x"),
        format!("http://127.0.0.1:{port}/x"),
        format!("https://[::1]:{port}/x"),
        format!("https://[::ffff:127.0.0.1]:{port}/x"),
        format!("https://2130706433:{port}/x"),
        format!("https://0x7f.1:{port}/x"),
        format!("https://localhost:{port}/x"),
        format!("https://api.localhost:{port}/x"),
        "https://169.254.169.254/latest/meta-data/".to_owned(),
        "https://[fd00:ec2::254]/latest/meta-data/".to_owned(),
        "https://10.0.0.1/x".to_owned(),
        "https://192.168.1.1/x".to_owned(),
        "https://8.8.8.8/x".to_owned(),
    ];
    // A name that resolves to this machine is refused when subscribing.
    if let Some(name) = loopback_host_name().await {
        refused.push(format!("https://{name}:{port}/x"));
    }
    for endpoint in &refused {
        let body = problem(
            app.as_user(&ann)
                .post("/api/push-subscriptions", &browser.subscription(endpoint))
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(failing_fields(&body), vec!["endpoint"], "{endpoint}: {body}");
    }
    assert_eq!(app.count("SELECT count(*) AS n FROM push_subscriptions").await, 0);
    // A name that does not resolve now is accepted (and checked at every delivery).
    let accepted = app
        .as_user(&ann)
        .post(
            "/api/push-subscriptions",
            &browser.subscription("https://push.example.test/x"),
        )
        .await;
    assert_eq!(accepted.status(), StatusCode::CREATED);
    assert_eq!(contacted.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_push_service_on_loopback_is_never_contacted() {
    let app = TestApp::with_settings([("EPOP_NOTIFICATION_INTERVAL", "0")]).await;
    let (port, contacted) = loopback_listener().await;
    let [ann, bob] = app.users(["Ann", "Bob"]).await;
    // Stored behind the API's back (as rows from before these rules, or names that resolved elsewhere when
    // subscribed): each is checked again before anything is sent.
    let mut endpoints = vec![
        format!("http://127.0.0.1:{port}/plain"),
        format!("https://127.0.0.1:{port}/literal"),
        format!("https://[::ffff:127.0.0.1]:{port}/mapped"),
        format!("https://2130706433:{port}/decimal"),
        format!("https://localhost:{port}/name"),
    ];
    // A name that resolves to this machine: refused by the client's resolver, at connection time.
    if let Some(name) = loopback_host_name().await {
        endpoints.push(format!("https://{name}:{port}/resolved"));
    }
    let browser = Browser::new();
    let keys = browser.subscription("https://x.test/");
    for endpoint in &endpoints {
        app.sql(&format!(
            "INSERT INTO push_subscriptions (id, user_id, endpoint, p256dh, auth) VALUES ('{}', '{}', '{endpoint}', '{}', '{}')",
            uuid::Uuid::now_v7(),
            bob.id,
            keys["keys"]["p256dh"].as_str().unwrap(),
            keys["keys"]["auth"].as_str().unwrap(),
        ))
        .await;
    }
    let group = app.group(&ann, "G", &[&bob]).await;
    app.message(&ann, &group, "push me").await;
    wait_for_push_jobs(&app, endpoints.len() as i64).await;
    assert_eq!(
        contacted.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "the server connected to a loopback push endpoint"
    );
    // They are delivered to no more.
    assert_eq!(
        app.count("SELECT count(*) AS n FROM push_subscriptions WHERE disabled_at IS NULL")
            .await,
        0
    );
}

#[tokio::test]
async fn delivery_results_never_show_in_later_answers() {
    let app = app_with_local_push_service().await;
    let (service, received) = push_service();
    let [ann, bob] = app.users(["Ann", "Bob"]).await;
    let gone = Browser::new().subscription(&format!("{service}/gone/probe"));
    let created = app
        .as_user(&bob)
        .post_created("/api/push-subscriptions", &gone)
        .await;
    let group = app.group(&ann, "G", &[&bob]).await;
    app.message(&ann, &group, "probe").await;
    wait_for(&received, 1).await;
    wait_for_pushes(&app).await;
    // The push service answered 410: the same endpoint again is still "already subscribed", and removing it
    // still works, exactly as if it had answered 201.
    let again = app.as_user(&bob).post_ok("/api/push-subscriptions", &gone).await;
    assert_eq!(again["id"], created["id"]);
    let path = format!("/api/push-subscriptions/{}", created["id"].as_str().unwrap());
    assert_eq!(
        app.as_user(&bob).delete(&path).await.status(),
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn a_user_keeps_a_bounded_number_of_subscriptions_the_newest() {
    let app = TestApp::with_settings([("EPOP_PUSH_SUBSCRIPTIONS_MAX", "2")]).await;
    let [ann, bob] = app.users(["Ann", "Bob"]).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let body = Browser::new().subscription(&format!("https://push.example.test/ann-{i}"));
        let created = app
            .as_user(&ann)
            .post_created("/api/push-subscriptions", &body)
            .await;
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    let bobs = Browser::new().subscription("https://push.example.test/bob");
    let response = app.as_user(&bob).post("/api/push-subscriptions", &bobs).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM push_subscriptions WHERE user_id = '{}'",
            ann.id
        ))
        .await,
        2
    );
    // The oldest was replaced; the newest two remain, and others' are untouched.
    let delete = |id: &str| app.as_user(&ann).delete(format!("/api/push-subscriptions/{id}"));
    assert_eq!(delete(&ids[0]).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(delete(&ids[1]).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(delete(&ids[2]).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM push_subscriptions WHERE user_id = '{}'",
            bob.id
        ))
        .await,
        1
    );
}

#[tokio::test]
async fn a_push_waits_for_do_not_disturb_to_end_and_is_dropped_once_read() {
    let app = app_with_local_push_service().await;
    let (service, received) = push_service();
    let [ann, bob, cat] = app.users(["Ann", "Bob", "Cat"]).await;
    let bob_browser = Browser::new();
    let cat_browser = Browser::new();
    let until = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    for (user, browser, path) in [
        (&bob, &bob_browser, "/push/bob"),
        (&cat, &cat_browser, "/push/cat"),
    ] {
        let body = browser.subscription(&format!("{service}{path}"));
        let response = app.as_user(user).post("/api/push-subscriptions", &body).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        app.as_user(user)
            .put("/api/users/me/notification-settings", json!({"dnd_until": until}))
            .await
            .json(StatusCode::OK);
    }
    let with_bob = app.group(&ann, "B", &[&bob]).await;
    let with_cat = app.group(&ann, "C", &[&cat]).await;
    app.message(&ann, &with_bob, "for bob").await;
    app.message(&ann, &with_cat, "for cat").await;
    // Both pushes are put back on the queue for the end of do-not-disturb; nothing reaches the push service.
    wait_for_deferred(&app, "push", 2, "the pushes were not deferred").await;
    assert!(received.lock().unwrap().is_empty());

    // Bob reads his conversation meanwhile; do-not-disturb ends (the deferred jobs made due now).
    mark_read(&app, &bob, &with_bob).await;
    end_do_not_disturb(&app, &[&bob, &cat], "push").await;
    let deliveries = wait_for(&received, 1).await;
    assert_eq!(deliveries[0].path, "/push/cat");
    assert_eq!(
        cat_browser.decrypt(&deliveries[0].body)["payload"]["preview"],
        "for cat"
    );
    wait_for_pushes(&app).await;
    assert_eq!(received.lock().unwrap().len(), 1, "Bob's push was dropped");
}
