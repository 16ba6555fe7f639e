//! CONTRACT section 6 (Web Push): the VAPID key, subscriptions, and delivery as background jobs to a local
//! HTTP endpoint in the role of a browser's push service, which decrypts what arrives with the
//! subscription's private key (RFC 8291) and checks the VAPID authorization (RFC 8292).

use crate::helpers::{TestApp, failing_fields, json_of, problem};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use reqwest::{Method, StatusCode};
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

struct Browser {
    secret: p256::SecretKey,
    auth: [u8; 16],
}

impl Browser {
    fn new() -> Self {
        let mut auth = [0u8; 16];
        getrandom::fill(&mut auth).unwrap();
        Self {
            secret: p256::SecretKey::random(&mut p256::elliptic_curve::rand_core::OsRng),
            auth,
        }
    }

    fn subscription(&self, endpoint: &str) -> Value {
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
    let app = TestApp::spawn().await;
    let ann = app.register("Ann", "ann@example.com").await;
    let bob = app.register("Bob", "bob@example.com").await;
    let key = json_of(
        app.get("/api/push/vapid-public-key", &ann.access_token)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        URL_SAFE_NO_PAD
            .decode(key["key"].as_str().unwrap())
            .unwrap()
            .len(),
        65
    );

    let browser = Browser::new();
    let body = browser.subscription("https://push.example.test/abc");
    let created = json_of(
        app.send_json(Method::POST, "/api/push-subscriptions", &ann.access_token, &body)
            .send()
            .await
            .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(created["endpoint"], "https://push.example.test/abc");
    assert!(created["id"].is_string() && created["created_at"].is_string());
    assert_eq!(created.as_object().unwrap().len(), 3);
    let again = json_of(
        app.send_json(Method::POST, "/api/push-subscriptions", &ann.access_token, &body)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(again["id"], created["id"]);

    let invalid = problem(
        app.send_json(
            Method::POST,
            "/api/push-subscriptions",
            &ann.access_token,
            &json!({"endpoint": "ftp://x", "keys": {"p256dh": "abc", "auth": "x"}}),
        )
        .send()
        .await
        .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        failing_fields(&invalid),
        vec!["endpoint", "keys.p256dh", "keys.auth"]
    );
    let missing = problem(
        app.send_json(
            Method::POST,
            "/api/push-subscriptions",
            &ann.access_token,
            &json!({"endpoint": "https://x.test/1", "keys": {}}),
        )
        .send()
        .await
        .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let mut fields = failing_fields(&missing);
    fields.sort();
    assert_eq!(fields, vec!["keys.auth", "keys.p256dh"]);

    let path = format!("/api/push-subscriptions/{}", created["id"].as_str().unwrap());
    problem(
        app.request(Method::DELETE, &path)
            .bearer_auth(&bob.access_token)
            .send()
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(
        app.request(Method::DELETE, &path)
            .bearer_auth(&ann.access_token)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NO_CONTENT
    );
    problem(
        app.request(Method::DELETE, &path)
            .bearer_auth(&ann.access_token)
            .send()
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn notifications_are_pushed_encrypted_with_vapid_and_gone_subscriptions_are_removed() {
    let app = TestApp::spawn().await;
    let (service, received) = push_service();
    let ann = app.register("Ann", "ann@example.com").await;
    let bob = app.register("Bob", "bob@example.com").await;
    let browser = Browser::new();
    let stale = Browser::new();
    for (device, path) in [(&browser, "/push/bob"), (&stale, "/gone/bob-old")] {
        let body = device.subscription(&format!("{service}{path}"));
        let response = app
            .send_json(Method::POST, "/api/push-subscriptions", &bob.access_token, &body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let vapid = json_of(
        app.get("/api/push/vapid-public-key", &bob.access_token)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
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

    // The push service said 410 for the stale subscription: it is gone.
    let started = Instant::now();
    while app.count("SELECT count(*) AS n FROM push_subscriptions").await != 1 {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the gone subscription was not removed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
