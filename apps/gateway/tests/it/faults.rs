//! Faults, each started for real: a Redis server stopped and started again, the object store down and back.
//! Each test runs its own server of the failing kind, so that the other tests, running in parallel against the
//! shared ones, are not disturbed.

use crate::helpers::{TestApp, Ws, json_of};
use futures_util::StreamExt as _;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// A Redis server of one test's own, on a port of its own, that the test stops and starts again.
struct PrivateRedis {
    port: u16,
    process: Option<std::process::Child>,
}

impl PrivateRedis {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut redis = Self { port, process: None };
        redis.resume();
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again) on its port and waits until it answers.
    fn resume(&mut self) {
        let child = std::process::Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server (installed by scripts/test.sh)");
        self.process = Some(child);
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the server (as a crash would: no goodbye to the clients).
    fn stop(&mut self) {
        if let Some(mut child) = self.process.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The next `message:new` a socket receives, within `within`.
async fn next_message(ws: &mut Ws, within: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let frame = tokio::time::timeout_at(deadline, ws.next()).await.ok()??.ok()?;
        let Ok(text) = frame.to_text() else { continue };
        if let Some(event) = text.strip_prefix("42")
            && let Ok(Value::Array(event)) = serde_json::from_str::<Value>(event)
            && event.first().and_then(Value::as_str) == Some("message:new")
        {
            return event.get(1).cloned();
        }
    }
}

#[tokio::test]
async fn a_redis_outage_keeps_rest_serving_and_loses_no_event_for_connected_clients() {
    let mut redis = PrivateRedis::start();
    let url = redis.url();
    let node_a = TestApp::spawn_with(|vars| {
        vars.insert("REDIS_URL".into(), url);
        // Presence claims are renewed every third of this: after the outage they are back within a second.
        vars.insert("EPOP_PRESENCE_TTL".into(), "3".into());
        // A limit whose counter outlives a request by a second, so that the test can see it in Redis.
        vars.insert("EPOP_API_RATE_LIMIT".into(), "60".into());
    })
    .await;
    let node_b = node_a.spawn_peer().await;
    let ann = node_a.register("Ann", "ann@example.com").await;
    let bob = node_a.register("Bob", "bob@example.com").await;
    let group = node_a.group(&ann, "Outage", &[&bob]).await;
    // Bob listens on the other node: what Ann posts on node A reaches him through Redis, or, while it is down,
    // through the outbox.
    let mut bob_ws = node_b.socket(&bob.access_token).await;
    node_a.message(&ann, &group, "before").await;
    assert_eq!(
        next_message(&mut bob_ws, Duration::from_secs(5)).await.unwrap()["content"],
        "before"
    );

    redis.stop();
    let stopped = Instant::now();
    // REST keeps serving, promptly: sends, reads, and health says what is down.
    for n in 0..3 {
        let asked = Instant::now();
        node_a.message(&ann, &group, &format!("during {n}")).await;
        assert!(
            asked.elapsed() < Duration::from_secs(3),
            "a send took {:?}",
            asked.elapsed()
        );
    }
    let page = json_of(
        node_b
            .get(&format!("/api/conversations/{group}/messages"), &bob.access_token)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 4);
    let health = node_a.request(Method::GET, "/health").send().await.unwrap();
    assert_eq!(health.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(health.text().await.unwrap().contains("redis"));
    // Bob's socket on the other node gets every message posted meanwhile, in order.
    for n in 0..3 {
        let message = next_message(&mut bob_ws, Duration::from_secs(10)).await;
        assert_eq!(
            message.map(|m| m["content"].clone()),
            Some(json!(format!("during {n}"))),
            "message {n} posted while Redis was down"
        );
    }

    // Ten seconds down, then back, with no gateway restarted.
    tokio::time::sleep(Duration::from_secs(10).saturating_sub(stopped.elapsed())).await;
    redis.resume();
    let back = Instant::now();
    loop {
        let health = node_a.request(Method::GET, "/health").send().await.unwrap();
        if health.status() == StatusCode::OK {
            break;
        }
        assert!(back.elapsed() < Duration::from_secs(10), "health did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    node_a.message(&ann, &group, "after").await;
    assert_eq!(
        next_message(&mut bob_ws, Duration::from_secs(5)).await.unwrap()["content"],
        "after"
    );
    // Presence is back in Redis: node A (where Bob has no socket) sees him online.
    let presence_back = Instant::now();
    loop {
        let presence = json_of(
            node_a
                .get(&format!("/api/presence?user_ids={}", bob.id), &ann.access_token)
                .send()
                .await
                .unwrap(),
            StatusCode::OK,
        )
        .await;
        if presence["items"][0]["status"] == "online" {
            break;
        }
        assert!(
            presence_back.elapsed() < Duration::from_secs(5),
            "presence did not recover: {presence}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Rate limits are shared again: a request is counted in Redis.
    node_a
        .get("/api/users/me", &ann.access_token)
        .send()
        .await
        .unwrap();
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}:rl:*", node_a.vars["EPOP_REDIS_PREFIX"]))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(!keys.is_empty(), "the rate limiter counts in Redis again");
}
