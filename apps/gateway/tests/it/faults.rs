//! Faults, each started for real: a Redis server stopped and started again, a PostgreSQL server crashed and
//! restarted, the object store (s3s-fs) down and back.
//! Each test runs its own server of the failing kind, so that the other tests, running in parallel against the
//! shared ones, are not disturbed.

use crate::helpers::{TestApp, elements, redis_keys};
use crate::socket::Events as _;
use reqwest::StatusCode;
use serde_json::json;
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
    let [ann, bob] = node_a.users(["Ann", "Bob"]).await;
    let group = node_a.group(&ann, "Outage", &[&bob]).await;
    // Bob listens on the other node: what Ann posts on node A reaches him through Redis, or, while it is down,
    // through the outbox.
    let mut bob_ws = node_b.socket(&bob.access_token).await;
    node_a.message(&ann, &group, "before").await;
    assert_eq!(bob_ws.event("message:new").await["content"], "before");

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
    let page = node_b
        .as_user(&bob)
        .get_ok(format!("/api/conversations/{group}/messages"))
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 4);
    let health = node_a.anonymous().get("/health").await;
    assert_eq!(health.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(health.text.contains("redis"));
    // Bob's socket on the other node gets every message posted meanwhile, in order.
    for n in 0..3 {
        let message = bob_ws.event_within("message:new", Duration::from_secs(10)).await;
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
        let health = node_a.anonymous().get("/health").await;
        if health.status() == StatusCode::OK {
            break;
        }
        assert!(back.elapsed() < Duration::from_secs(10), "health did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    node_a.message(&ann, &group, "after").await;
    assert_eq!(bob_ws.event("message:new").await["content"], "after");
    // Presence is back in Redis: node A (where Bob has no socket) sees him online.
    let presence_back = Instant::now();
    loop {
        let presence = node_a
            .as_user(&ann)
            .get_ok(format!("/api/presence?user_ids={}", bob.id))
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
    node_a.as_user(&ann).get("/api/users/me").await;
    let keys = redis_keys(
        &redis.url(),
        &format!("{}:rl:*", node_a.vars["EPOP_REDIS_PREFIX"]),
    )
    .await;
    assert!(!keys.is_empty(), "the rate limiter counts in Redis again");
}

/// A PostgreSQL server of one test's own (initdb into a scratch directory), that the test stops as a crash
/// would and starts again.
struct PrivatePostgres {
    port: u16,
    dir: std::path::PathBuf,
    bin: std::path::PathBuf,
}

impl PrivatePostgres {
    fn start() -> Self {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL's programs (installed by scripts/test.sh)")
            .flatten()
            .map(|entry| entry.path().join("bin"))
            .filter(|bin| bin.join("initdb").exists())
            .max()
            .expect("initdb");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = std::env::temp_dir().join(format!("epop-pg-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let postgres = Self { port, dir, bin };
        postgres.run_as_owner(
            "initdb",
            &["-D", "data", "-A", "trust", "-U", "postgres", "--no-sync"],
        );
        postgres.resume();
        postgres
    }

    /// Runs one of PostgreSQL's programs in the scratch directory, as the `postgres` user when this is root
    /// (PostgreSQL refuses to run as root).
    fn run_as_owner(&self, program: &str, args: &[&str]) -> std::process::Output {
        let path = self.bin.join(program);
        let root = std::process::Command::new("id")
            .arg("-u")
            .output()
            .unwrap()
            .stdout
            == b"0\n";
        let mut command = if root {
            let _ = std::process::Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&self.dir)
                .status();
            let mut command = std::process::Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(path);
            command
        } else {
            std::process::Command::new(path)
        };
        let output = command.args(args).current_dir(&self.dir).output().unwrap();
        assert!(
            output.status.success(),
            "{program}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server (again) and waits until it accepts connections.
    fn resume(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.display()
        );
        self.run_as_owner(
            "pg_ctl",
            &["-D", "data", "-o", &options, "-l", "log", "-w", "start"],
        );
    }

    /// Stops the server at once, as a crash would (`immediate`: no checkpoint, clients cut off).
    fn crash(&self) {
        self.run_as_owner("pg_ctl", &["-D", "data", "-m", "immediate", "-w", "stop"]);
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = std::process::Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .args(["-D", "data", "-m", "immediate", "stop"])
            .current_dir(&self.dir)
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test]
async fn a_database_restart_answers_503_quickly_and_service_resumes_by_itself() {
    let postgres = PrivatePostgres::start();
    let url = postgres.url();
    let app = TestApp::spawn_with(|vars| {
        vars.insert("DATABASE_URL".into(), url);
    })
    .await;
    let [ann, bob] = app.users(["Ann", "Bob"]).await;
    let group = app.group(&ann, "Restart", &[&bob]).await;
    app.message(&ann, &group, "before").await;

    postgres.crash();
    // Every request that needs the database answers 503 `unavailable` within a bound, none hangs; what needs
    // no database keeps answering.
    let path = format!("/api/conversations/{group}/messages");
    let mut acknowledged = 1;
    for n in 0..3 {
        let asked = Instant::now();
        let sent = app
            .as_user(&ann)
            .post(&path, json!({"content": format!("down {n}")}))
            .await;
        let took = asked.elapsed();
        if sent.status() == StatusCode::CREATED {
            acknowledged += 1;
            continue;
        }
        crate::helpers::problem(sent, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
        assert!(took < Duration::from_secs(8), "a send took {took:?}");
        let asked = Instant::now();
        let read = app.as_user(&bob).get(&path).await;
        crate::helpers::problem(read, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
        assert!(asked.elapsed() < Duration::from_secs(8));
    }
    assert_eq!(app.anonymous().get("/health/live").await.status(), StatusCode::OK);
    assert_eq!(
        app.anonymous().get("/health").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );

    postgres.resume();
    let back = Instant::now();
    loop {
        let sent = app.as_user(&ann).post(&path, json!({"content": "after"})).await;
        if sent.status() == StatusCode::CREATED {
            acknowledged += 1;
            break;
        }
        assert!(back.elapsed() < Duration::from_secs(15), "service did not resume");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // No partial writes: every acknowledged message is there once, numbered without a gap, and nothing else.
    let page = app.as_user(&bob).get_ok(&path).await;
    let seqs: Vec<i64> = elements(&page["items"])
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs.len(), acknowledged, "{page}");
    let mut sorted = seqs.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (1..=acknowledged as i64).collect::<Vec<_>>());
}

#[tokio::test]
async fn an_object_store_outage_answers_503_on_file_routes_only_and_files_work_again() {
    use crate::files::{fetch, s3_app, send_with, upload};
    let mut s3 = epop_test_support::s3::TestS3::start().await.unwrap();
    let app = s3_app(&s3).await;
    let [ann, bob] = app.users(["Ann", "Bob"]).await;
    let group = app.group(&ann, "Files", &[&bob]).await;
    let sent = upload(&app, &ann, "notes.txt", "text/plain", b"the notes").await;
    send_with(&app, &ann, &group, &[&sent])
        .await
        .json(StatusCode::CREATED);
    let waiting = upload(&app, &ann, "later.txt", "text/plain", b"for later").await;
    assert_eq!(fetch(&app, &bob, &sent).await, b"the notes");

    s3.pause();
    // The file routes answer 503 `unavailable`, promptly: a download, an attachment, a new upload slot.
    let download = format!("/api/files/{}", sent["attachment_id"].as_str().unwrap());
    let asked = Instant::now();
    app.as_user(&bob)
        .get(&download)
        .await
        .problem(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    send_with(&app, &ann, &group, &[&waiting])
        .await
        .problem(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    app.as_user(&ann)
        .post(
            "/api/files/presign-upload",
            json!({"file_name": "new.txt", "content_type": "text/plain", "file_size": 3}),
        )
        .await
        .problem(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    assert!(
        asked.elapsed() < Duration::from_secs(10),
        "took {:?}",
        asked.elapsed()
    );
    // Everything else is unaffected: messages, their history, tasks; health names the store.
    assert_eq!(
        app.message(&ann, &group, "still talking").await["content"],
        "still talking"
    );
    app.as_user(&bob)
        .get_ok(format!("/api/conversations/{group}/messages"))
        .await;
    let project = app
        .as_user(&ann)
        .post_created("/api/projects", json!({"name": "Unaffected"}))
        .await;
    app.as_user(&ann)
        .post_created(
            format!("/api/projects/{}/tasks", project["id"].as_str().unwrap()),
            json!({"title": "works"}),
        )
        .await;
    let health = app.anonymous().get("/health").await;
    assert_eq!(health.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(health.text.contains("storage"), "{}", health.text);

    // Back up: the same download, the waiting attachment and new uploads work again, with no restart.
    s3.resume().await.unwrap();
    assert_eq!(fetch(&app, &bob, &sent).await, b"the notes");
    send_with(&app, &ann, &group, &[&waiting])
        .await
        .json(StatusCode::CREATED);
    assert_eq!(fetch(&app, &bob, &waiting).await, b"for later");
    let fresh = upload(&app, &ann, "new.txt", "text/plain", b"new").await;
    assert_eq!(fetch(&app, &ann, &fresh).await, b"new");
}
