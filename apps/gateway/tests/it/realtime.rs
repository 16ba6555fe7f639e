//! docs/api.md's real-time section with the official clients, unmodified: the JavaScript `socket.io-client` (both
//! transports, upgrade) and `python-socketio`, driven by scripts under `tests/clients/` against a real gateway.

use crate::helpers::TestApp;
use std::path::PathBuf;

pub(crate) fn clients_dir(kind: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/clients")
        .join(kind)
}

async fn run(program: &str, script: &str, dir: PathBuf, app: &TestApp) {
    run_with(program, script, dir, &[app.address.as_str()], 5).await;
}

async fn run_with(program: &str, script: &str, dir: PathBuf, urls: &[&str], min_checks: usize) {
    let output = tokio::process::Command::new(program)
        .arg(script)
        .args(urls)
        .current_dir(&dir)
        .output()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "{program} could not start in {}: {e} (run ./scripts/test.sh, which installs the clients)",
                dir.display()
            )
        });
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{program} {script} failed:\n{stdout}\n{stderr}"
    );
    assert!(!stdout.contains("not ok"), "{stdout}");
    assert!(
        stdout.lines().filter(|l| l.starts_with("ok - ")).count() >= min_checks,
        "too few checks ran:\n{stdout}"
    );
}

#[tokio::test]
async fn the_official_javascript_client_works_over_both_transports() {
    let app = TestApp::spawn().await;
    let dir = clients_dir("js");
    assert!(
        dir.join("node_modules/socket.io-client").exists(),
        "run `npm ci` in {} (scripts/test.sh does)",
        dir.display()
    );
    run("node", "realtime.mjs", dir, &app).await;
}

#[tokio::test]
async fn the_official_python_client_works() {
    let app = TestApp::spawn().await;
    let dir = clients_dir("python");
    let python = dir.join(".venv/bin/python");
    assert!(
        python.exists(),
        "create {}/.venv with python-socketio (scripts/test.sh does)",
        dir.display()
    );
    run(&python.to_string_lossy(), "realtime.py", dir, &app).await;
}

#[tokio::test]
async fn presence_in_large_groups_reaches_direct_partners_small_groups_and_subscribers() {
    let app = TestApp::with_settings([
        ("EPOP_PRESENCE_GROUP_LIMIT", "3"),
        ("EPOP_PRESENCE_SUBSCRIPTIONS_MAX", "2"),
    ])
    .await;
    let dir = clients_dir("js");
    assert!(
        dir.join("node_modules/socket.io-client").exists(),
        "run `npm ci` in {}",
        dir.display()
    );
    run_with("node", "presence.mjs", dir, &[app.address.as_str()], 6).await;
}

#[tokio::test]
async fn two_nodes_share_events_presence_typing_and_logouts_through_redis() {
    let node_a = TestApp::spawn().await;
    let node_b = node_a.spawn_peer().await;
    let dir = clients_dir("js");
    assert!(
        dir.join("node_modules/socket.io-client").exists(),
        "run `npm ci` in {}",
        dir.display()
    );
    run_with(
        "node",
        "two-nodes.mjs",
        dir,
        &[node_a.address.as_str(), node_b.address.as_str()],
        5,
    )
    .await;
}

mod raw {
    //! Raw Engine.IO/Socket.IO frames against the EPOP application (no client library).

    use crate::helpers::{JWT_SECRET, TestApp, forge_token};
    use std::time::{Duration, Instant};

    /// An access token of `user` signed with the gateway's secret, expiring in `expires_in` seconds.
    fn token_for(user: &str, expires_in: i64) -> String {
        let now = chrono::Utc::now().timestamp();
        let claims = serde_json::json!({"sub": user, "role": "member", "iat": now, "exp": now + expires_in, "jti": uuid::Uuid::now_v7()});
        let header = serde_json::json!({"alg": "HS256", "typ": "JWT"});
        forge_token(&header, &claims, JWT_SECRET.as_bytes())
    }

    #[tokio::test]
    async fn a_socket_is_disconnected_when_its_token_expires() {
        let (app, [user]) = TestApp::with_users(["Ann"]).await;
        let mut ws = app.socket(&token_for(&user.id, 2)).await;
        let started = Instant::now();
        crate::accounts::expect_disconnect(&mut ws).await;
        assert!(
            started.elapsed() >= Duration::from_millis(900),
            "not before the token's exp"
        );
    }

    #[tokio::test]
    async fn an_expired_token_is_refused() {
        let (app, [user]) = TestApp::with_users(["Ann"]).await;
        let (_ws, refused) = app
            .socket_with(&serde_json::json!({"token": token_for(&user.id, -1)}))
            .await;
        assert_eq!(refused, r#"44{"message":"unauthorized"}"#);
    }
}

#[tokio::test]
async fn a_killed_node_leaves_the_other_working_and_its_users_go_offline() {
    use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _};
    let node_b = TestApp::with_settings([("EPOP_PRESENCE_TTL", "2")]).await;
    // Node A is a real gateway process sharing node B's database and Redis prefix, so it can be killed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut node_a = std::process::Command::new(env!("CARGO_BIN_EXE_epop-gateway"));
    node_a
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .current_dir(std::env::temp_dir());
    for (key, value) in &node_b.vars {
        node_a.env(key, value);
    }
    let mut node_a = node_a
        .env("EPOP_LISTEN", format!("127.0.0.1:{port}"))
        .env("EPOP_PUBLIC_URL", format!("http://127.0.0.1:{port}"))
        .env("EPOP_PRESENCE_TTL", "2")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let url_a = format!("http://127.0.0.1:{port}");
    let started = std::time::Instant::now();
    while node_b
        .client
        .get(format!("{url_a}/health/live"))
        .send()
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "node A did not start"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    let dir = clients_dir("js");
    let mut script = tokio::process::Command::new("node")
        .arg("node-killed.mjs")
        .arg(&url_a)
        .arg(&node_b.address)
        .current_dir(&dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = tokio::io::BufReader::new(script.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    loop {
        let line = tokio::time::timeout(std::time::Duration::from_secs(20), stdout.next_line())
            .await
            .unwrap()
            .unwrap();
        let Some(line) = line else {
            panic!("the script ended early: {seen:?}")
        };
        if line == "READY" {
            break;
        }
        seen.push(line);
    }
    node_a.kill().unwrap();
    node_a.wait().unwrap();
    let mut stdin = script.stdin.take().unwrap();
    stdin.write_all(b"killed\n").await.unwrap();
    drop(stdin);
    while let Some(line) = tokio::time::timeout(std::time::Duration::from_secs(30), stdout.next_line())
        .await
        .unwrap()
        .unwrap()
    {
        seen.push(line);
    }
    let status = script.wait().await.unwrap();
    assert!(status.success(), "{seen:#?}");
    assert_eq!(
        seen.iter().filter(|l| l.starts_with("ok - ")).count(),
        3,
        "{seen:#?}"
    );
}

mod recovery {
    use crate::helpers::{TestApp, Ws};
    use crate::socket::Events as _;
    use std::time::Duration;

    /// A Socket.IO session that sent CONNECT with `auth`, and the payload of the CONNECT reply.
    async fn connect_with(app: &TestApp, auth: serde_json::Value) -> (Ws, serde_json::Value) {
        let (ws, reply) = app.socket_with(&auth).await;
        let body = reply.strip_prefix("40").expect("CONNECT accepted");
        (ws, serde_json::from_str(body).unwrap())
    }

    #[tokio::test]
    async fn a_client_that_missed_more_than_a_replay_holds_is_not_recovered() {
        let (app, [ann], group) = TestApp::with_group(["Ann"]).await;
        let auth = serde_json::json!({"token": ann.access_token, "recover": true});
        let (ws, first) = connect_with(&app, auth.clone()).await;
        let pid = first["pid"].as_str().unwrap().to_owned();
        drop(ws);
        // More events of the conversation than a replay holds were published meanwhile.
        app.sql(&format!(
            "WITH counter AS (UPDATE outbox_positions SET last = last + 1001 RETURNING last - 1001 AS base) \
             INSERT INTO outbox (event_type, payload, conversation_id, position, published_at) \
             SELECT 'message_deleted', jsonb_build_object('type', 'message_deleted', 'conversation_id', '{group}', \
                    'message_id', gen_random_uuid()), '{group}', counter.base + n, now() \
             FROM counter, generate_series(1, 1001) AS n"
        ))
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut again = auth.clone();
        again["pid"] = serde_json::json!(pid);
        again["offset"] = serde_json::json!("0");
        let (_ws, reply) = connect_with(&app, again).await;
        assert_ne!(reply["pid"], serde_json::json!(pid), "not recovered: a new pid");
        assert!(reply["pid"].is_string());

        // With a gap a replay holds, the same session is recovered (Bob, who is not in the conversation of
        // the events above).
        let bob = app.register("Bob", "bob@example.com").await;
        let other = app.group(&bob, "H", &[]).await;
        let auth = serde_json::json!({"token": bob.access_token, "recover": true});
        let (ws, first) = connect_with(&app, auth.clone()).await;
        let pid = first["pid"].as_str().unwrap().to_owned();
        drop(ws);
        app.message(&bob, &other, "missed").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut again = auth;
        again["pid"] = serde_json::json!(pid);
        again["offset"] = serde_json::json!("0");
        let (mut ws, reply) = connect_with(&app, again).await;
        assert_eq!(reply["pid"], serde_json::json!(pid), "recovered");
        // The replay (perhaps after the group's own conversation:new) brings the missed message.
        let replayed = ws.event("message:new").await;
        assert_eq!(replayed["content"], "missed", "{replayed}");
    }
}
