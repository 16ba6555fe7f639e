//! Hostile input against a gateway node of its own (the real binary in a process of its own, so that what it
//! holds is its resident memory, read from `/proc`): oversized bodies, huge request heads, deeply nested JSON,
//! slow-loris connections, and ping and packet floods on both Socket.IO transports are refused, answered or
//! closed, the node keeps serving everyone else, and its memory grows by far less than the attack sent.
//!
//! `floods.rs` and `slow_requests.rs` check what each defence answers, on the in-process test gateway; here the
//! attacks come bigger and together, and each test ends with the node's memory bound.

use crate::floods::{OPCODE_PING, OPCODE_TEXT, RawWebSocket, texts_for};
use crate::helpers::{TestApp, gateway_command};
use serde_json::json;
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// How much more resident memory than before an attack the node may reach during it: far below what each
/// attack sends (64 MiB and more), above what a debug build's allocator and a few hundred connections take.
const MEMORY_BOUND_KIB: u64 = 32 * 1024;

/// A gateway node in a process of its own, on the test gateway's database and Redis prefix; killed when dropped.
struct Node {
    child: std::process::Child,
    /// `127.0.0.1:port`.
    address: String,
    client: reqwest::Client,
}

impl Node {
    /// Starts a node with `app`'s configuration and `settings` over it, and waits until it serves.
    async fn start(app: &TestApp, settings: &[(&str, &str)]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let address = format!("127.0.0.1:{port}");
        let mut command = gateway_command(&[]);
        command
            .envs(&app.vars)
            .env("EPOP_LISTEN", &address)
            .env("EPOP_PUBLIC_URL", format!("http://{address}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        for (name, value) in settings {
            command.env(name, value);
        }
        let child = command.spawn().expect("the gateway binary starts");
        let node = Self {
            child,
            address,
            client: reqwest::Client::new(),
        };
        let started = std::time::Instant::now();
        while !node.serves().await {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the node did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        node
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Whether the node answers `GET /health/live` with `200` within two seconds.
    async fn serves(&self) -> bool {
        let answer = self
            .client
            .get(self.url("/health/live"))
            .timeout(Duration::from_secs(2))
            .send()
            .await;
        answer.is_ok_and(|answer| answer.status() == reqwest::StatusCode::OK)
    }

    /// A field of `/proc/{pid}/status` in KiB (`VmRSS`, `VmHWM`).
    fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the node is running");
        status
            .lines()
            .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no {field} in {status}"))
    }

    /// The resident memory now, in KiB, with the peak (`VmHWM`) reset to it, so that [`Self::assert_bounded`]
    /// sees the highest the attack made it reach, even if the node gave it back since.
    fn memory_before(&self) -> u64 {
        std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5")
            .expect("resetting the node's peak resident memory (clear_refs 5, Linux 4.0+)");
        self.status_kib("VmRSS")
    }

    /// How far above `before` (from [`Self::memory_before`]) the node's resident memory has peaked since, in KiB.
    fn growth_since(&self, before: u64) -> u64 {
        self.status_kib("VmHWM").saturating_sub(before)
    }

    /// Asserts that the node still serves and that its resident memory grew by less than [`MEMORY_BOUND_KIB`]
    /// under each attack (`attacks`: what each was, and its [`Self::growth_since`]).
    async fn assert_bounded_each(&mut self, attacks: &[(&str, u64)]) {
        assert!(
            self.child.try_wait().unwrap().is_none(),
            "the node died under {attacks:?}"
        );
        assert!(self.serves().await, "the node stopped serving after {attacks:?}");
        eprintln!("resident memory growth of the node (KiB): {attacks:?}");
        assert!(
            attacks.iter().all(|(_, growth)| *growth < MEMORY_BOUND_KIB),
            "the node's resident memory grew by (KiB) {attacks:?}; the bound is {MEMORY_BOUND_KIB} KiB"
        );
    }

    /// Asserts that the node still serves and that its peak resident memory since `before` stayed within
    /// [`MEMORY_BOUND_KIB`] of it.
    async fn assert_bounded(&mut self, before: u64, attack: &str) {
        let growth = self.growth_since(before);
        self.assert_bounded_each(&[(attack, growth)]).await;
    }

    /// Opens an Engine.IO session over long-polling and returns its id.
    async fn polling_session(&self) -> String {
        let handshake = self
            .client
            .get(self.url("/socket.io/?EIO=4&transport=polling"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let open: serde_json::Value = serde_json::from_str(handshake.trim_start_matches('0')).unwrap();
        open["sid"].as_str().unwrap().to_owned()
    }

    /// Whether the polling session `sid` is over: a poll is refused (`400`) or told to close (`1`) within a few
    /// polls (what was queued for it before comes first); a poll left waiting for ten seconds means it lives.
    async fn polling_session_ended(&self, sid: &str) -> bool {
        for _ in 0..3 {
            let Ok(poll) = self
                .client
                .get(self.url(&format!("/socket.io/?EIO=4&transport=polling&sid={sid}")))
                .timeout(Duration::from_secs(10))
                .send()
                .await
            else {
                return false;
            };
            if poll.status() == reqwest::StatusCode::BAD_REQUEST {
                return true;
            }
            let text = poll.text().await.unwrap_or_default();
            if text.split('\u{1e}').any(|packet| packet == "1") {
                return true;
            }
        }
        false
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a raw HTTP exchange came to: the status of the answer (if one came) and whether the server closed the
/// connection after it.
#[derive(Debug)]
struct Exchange {
    status: Option<u16>,
    closed: bool,
    /// Body bytes the client managed to write before the answer came or the server stopped reading.
    written: u64,
}

/// Sends `head` and then up to `body_bytes` of `filler` chunks (stopping at the answer, at a write that does not
/// go through within two seconds, or at an error), reads the answer's status line, and whether the connection
/// then closes within five seconds.
async fn exchange(address: &str, head: &str, body_bytes: u64, chunk: &[u8]) -> Exchange {
    let stream = TcpStream::connect(address).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop = answered.clone();
    let head = head.as_bytes().to_vec();
    let chunk = chunk.to_vec();
    let sending = tokio::spawn(async move {
        let mut written = 0u64;
        let patience = Duration::from_secs(2);
        if !matches!(
            tokio::time::timeout(patience, writer.write_all(&head)).await,
            Ok(Ok(()))
        ) {
            return (written, writer);
        }
        while written < body_bytes && !stop.load(std::sync::atomic::Ordering::SeqCst) {
            match tokio::time::timeout(patience, writer.write_all(&chunk)).await {
                Ok(Ok(())) => written += chunk.len() as u64,
                _ => break,
            }
        }
        (written, writer)
    });
    let mut received = Vec::new();
    let mut buffer = vec![0u8; 16 * 1024];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut closed = false;
    let status = loop {
        if let Some(end) = received.windows(2).position(|w| w == b"\r\n") {
            let line = String::from_utf8_lossy(&received[..end]).into_owned();
            break line.split(' ').nth(1).and_then(|code| code.parse::<u16>().ok());
        }
        match tokio::time::timeout_at(deadline, reader.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => {
                closed = true;
                break None;
            }
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
            Err(_) => break None,
        }
    };
    answered.store(true, std::sync::atomic::Ordering::SeqCst);
    if !closed {
        // The rest of the answer, then the end of the connection (or five seconds of it staying open).
        let quiet = tokio::time::Instant::now() + Duration::from_secs(5);
        closed = loop {
            match tokio::time::timeout_at(quiet, reader.read(&mut buffer)).await {
                Ok(Ok(0) | Err(_)) => break true,
                Ok(Ok(_)) => {}
                Err(_) => break false,
            }
        };
    }
    let (written, _writer) = sending.await.unwrap();
    Exchange {
        status,
        closed,
        written,
    }
}

const MIB: u64 = 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_and_huge_heads_are_refused_and_the_node_holds_none_of_them() {
    let app = TestApp::spawn().await;
    let mut node = Node::start(&app, &[]).await;
    let chunk = vec![b' '; 64 * 1024];
    // Warm up: the paths below, once each, so that what they allocate once is in the baseline.
    exchange(
        &node.address,
        "POST /api/auth/login HTTP/1.1\r\nHost: epop\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
        0,
        &chunk,
    )
    .await;
    let sid = node.polling_session().await;
    let before = node.memory_before();

    // A JSON body that says it is 1 GiB: refused at once (`413`), the connection closed unread.
    let declared = exchange(
        &node.address,
        "POST /api/auth/login HTTP/1.1\r\nHost: epop\r\nContent-Type: application/json\r\n\
         Content-Length: 1073741824\r\n\r\n",
        64 * MIB,
        &chunk,
    )
    .await;
    assert_eq!(declared.status, Some(413), "{declared:?}");
    assert!(declared.closed, "{declared:?}");
    assert!(declared.written < 64 * MIB, "{declared:?}");

    // A chunked JSON body that never ends: `413` once past the limit (256 KiB).
    let mut chunked = format!("{:x}\r\n", chunk.len()).into_bytes();
    chunked.extend_from_slice(&chunk);
    chunked.extend_from_slice(b"\r\n");
    let endless = exchange(
        &node.address,
        "POST /api/auth/login HTTP/1.1\r\nHost: epop\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\n\r\n",
        128 * MIB,
        &chunked,
    )
    .await;
    assert_eq!(endless.status, Some(413), "{endless:?}");
    assert!(endless.written < 128 * MIB, "{endless:?}");

    // A Socket.IO polling POST past the payload limit (1 MB): `413`, and its session is over.
    let polling = exchange(
        &node.address,
        &format!(
            "POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: epop\r\n\
             Content-Type: text/plain\r\nContent-Length: 67108864\r\n\r\n"
        ),
        64 * MIB,
        &chunk,
    )
    .await;
    assert_eq!(polling.status, Some(413), "{polling:?}");
    assert!(node.polling_session_ended(&sid).await, "the polling session goes");

    // Request heads: one 64 MiB header, and 100,000 small ones, on an API route and on the WebSocket upgrade.
    // actix-http reads at most 128 KiB of a head: `431`, and the connection is closed.
    for path in ["/api/users/me", "/socket.io/?EIO=4&transport=websocket"] {
        let head = format!(
            "GET {path} HTTP/1.1\r\nHost: epop\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nX-Huge: "
        );
        let huge = exchange(&node.address, &head, 64 * MIB, &vec![b'a'; 64 * 1024]).await;
        assert_eq!(huge.status, Some(431), "{path}: {huge:?}");
        assert!(huge.closed, "{path}: {huge:?}");
        let many = exchange(
            &node.address,
            &format!("GET {path} HTTP/1.1\r\nHost: epop\r\n"),
            100_000 * 12,
            b"X-Many: 1\r\n",
        )
        .await;
        assert_eq!(many.status, Some(431), "{path}: {many:?}");
        assert!(many.closed, "{path}: {many:?}");
    }
    node.assert_bounded(before, "oversized bodies and heads").await;
}

/// `depth` JSON arrays inside each other, around `inner`.
fn nested(depth: usize, inner: &str) -> String {
    format!("{}{inner}{}", "[".repeat(depth), "]".repeat(depth))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deeply_nested_json_is_refused_on_rest_and_both_socket_transports() {
    let app = TestApp::spawn().await;
    let ann = app.register("Ann", "ann@example.com").await;
    let group = app.group(&ann, "G", &[]).await;
    let mut node = Node::start(&app, &[]).await;
    let before = node.memory_before();

    // REST: 120,000 arrays deep (within the 256 KiB body limit), as a whole body and as a field's value.
    for body in [
        nested(120_000, ""),
        format!(r#"{{"content": {}}}"#, nested(120_000, r#""x""#)),
    ] {
        let answer = node
            .client
            .post(node.url(&format!("/api/conversations/{group}/messages")))
            .bearer_auth(&ann.access_token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = answer.status().as_u16();
        let problem: serde_json::Value = answer.json().await.unwrap();
        assert!(
            (400..500).contains(&status) && problem["code"].is_string(),
            "{status} {problem}"
        );
    }

    // WebSocket: an event whose payload is 400,000 arrays deep (within the 1 MB packet limit) closes the
    // session; nothing of it reaches the conversation.
    let path = "/socket.io/?EIO=4&transport=websocket";
    let mut socket = RawWebSocket::open_at(&node.address, path).await;
    socket
        .send_text(&format!("40{}", json!({"token": ann.access_token})))
        .await;
    let (texts, _) = texts_for(&mut socket, Duration::from_secs(2)).await;
    assert!(texts.iter().any(|t| t.starts_with("40{\"sid\"")), "{texts:?}");
    socket
        .send_text(&format!(r#"42["message:send",{}]"#, nested(400_000, "")))
        .await;
    let (_, closed) = texts_for(&mut socket, Duration::from_secs(5)).await;
    assert!(closed, "the session that sent it is closed");

    // Long-polling: the same in a POST ends the session.
    let sid = node.polling_session().await;
    node.client
        .post(node.url(&format!("/socket.io/?EIO=4&transport=polling&sid={sid}")))
        .body(format!(r#"42["message:send",{}]"#, nested(400_000, "")))
        .send()
        .await
        .unwrap();
    assert!(node.polling_session_ended(&sid).await, "the polling session goes");

    let history = app
        .as_user(&ann)
        .get_ok(format!("/api/conversations/{group}/messages"))
        .await;
    assert_eq!(history["items"], json!([]));
    node.assert_bounded(before, "deeply nested JSON").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_loris_connections_are_closed_while_everyone_else_is_served() {
    let app = TestApp::spawn().await;
    let mut node = Node::start(&app, &[("EPOP_REQUEST_HEAD_TIMEOUT", "2")]).await;
    let before = node.memory_before();

    // 300 connections, half on an API route and half on the WebSocket upgrade, each sending its head one
    // byte every 500 ms: never done.
    const CONNECTIONS: usize = 300;
    let mut lorises = Vec::new();
    for n in 0..CONNECTIONS {
        let address = node.address.clone();
        let path = if n % 2 == 0 {
            "/api/users"
        } else {
            "/socket.io/?EIO=4&transport=websocket"
        };
        let head = format!("GET {path} HTTP/1.1\r\nHost: epop\r\nX-Slow: ");
        lorises.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(&address).await.unwrap();
            let started = tokio::time::Instant::now();
            stream.write_all(head.as_bytes()).await.unwrap();
            let mut buffer = [0u8; 1024];
            loop {
                // One more byte, then half a second for the server to say something.
                if stream.write_all(b"z").await.is_err() {
                    return started.elapsed();
                }
                match tokio::time::timeout(Duration::from_millis(500), stream.read(&mut buffer)).await {
                    Ok(Ok(0) | Err(_)) => return started.elapsed(),
                    // The `408` the server answers before closing.
                    Ok(Ok(_)) => {}
                    Err(_) if started.elapsed() > Duration::from_secs(30) => return started.elapsed(),
                    Err(_) => {}
                }
            }
        }));
    }

    // Meanwhile everyone else is served at once.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for _ in 0..5 {
        let started = std::time::Instant::now();
        assert!(node.serves().await, "a client is served beside the slow ones");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    for loris in lorises {
        let held = loris.await.unwrap();
        assert!(
            held < Duration::from_secs(6),
            "a slow-loris connection was held {held:?} (head timeout: 2 s)"
        );
    }
    node.assert_bounded(before, "300 slow-loris connections").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_and_packet_floods_on_both_transports_leave_the_node_serving_in_bounded_memory() {
    let app = TestApp::spawn().await;
    let users = app.users(["Ann", "Bob", "Cat", "Dan"]).await;
    let mut node = Node::start(&app, &[]).await;
    let path = "/socket.io/?EIO=4&transport=websocket";
    let mut growth = Vec::new();
    let before = node.memory_before();

    // WebSocket pings: four clients that never read each send 50,000 pings of 125 bytes (26 MB in all); only
    // the latest pong of each waits. Engine.IO pings from a client are a protocol error: the session closes.
    let mut flooders = Vec::new();
    for _ in 0..4 {
        let mut client = RawWebSocket::open_at(&node.address, path).await;
        let mut flood = Vec::with_capacity(50_000 * 131);
        for n in 0..50_000 {
            let mut payload = format!("ping {n:>10} ").into_bytes();
            payload.resize(125, b'.');
            flood.extend_from_slice(&RawWebSocket::frame(OPCODE_PING, &payload));
        }
        tokio::time::timeout(Duration::from_secs(60), client.stream.write_all(&flood))
            .await
            .expect("the node keeps reading pings")
            .unwrap();
        flooders.push(client);
    }
    let mut client = RawWebSocket::open_at(&node.address, path).await;
    client.send_text("2").await;
    assert!(
        texts_for(&mut client, Duration::from_secs(3)).await.1,
        "an Engine.IO ping from the client closes its session"
    );
    growth.push(("WebSocket ping floods", node.growth_since(before)));
    let before = node.memory_before();

    // WebSocket packets: each user floods a signed-in session with 5,000 events in one write, past the 128
    // packets a session may have waiting: each session is closed.
    for user in &users {
        let mut client = RawWebSocket::open_at(&node.address, path).await;
        client
            .send_text(&format!("40{}", json!({"token": user.access_token})))
            .await;
        let mut flood = Vec::new();
        for n in 0..5_000 {
            let event = format!(r#"42["typing:start",{{"conversation_id":"{n}"}}]"#);
            flood.extend_from_slice(&RawWebSocket::frame(OPCODE_TEXT, event.as_bytes()));
        }
        client.stream.write_all(&flood).await.unwrap();
        assert!(
            texts_for(&mut client, Duration::from_secs(5)).await.1,
            "the flooding WebSocket session is closed"
        );
    }
    growth.push(("WebSocket packet floods", node.growth_since(before)));
    let before = node.memory_before();

    // Long-polling: pongs nobody asked for (1 MB of them per POST, 16 POSTs) are ignored and the session
    // lives on; a POST of 20,000 events ends its session; an Engine.IO ping ends its session.
    let sid = node.polling_session().await;
    let post = |sid: String, body: String| {
        node.client
            .post(node.url(&format!("/socket.io/?EIO=4&transport=polling&sid={sid}")))
            .body(body)
            .send()
    };
    let pongs = vec!["3"; 499_999].join("\u{1e}");
    for _ in 0..16 {
        let answer = post(sid.clone(), pongs.clone()).await.unwrap();
        assert_eq!(answer.status(), reqwest::StatusCode::OK);
    }
    growth.push(("polling pong floods", node.growth_since(before)));
    let before = node.memory_before();
    let packets = (0..20_000)
        .map(|n| format!("42[\"x\",{n}]"))
        .collect::<Vec<_>>()
        .join("\u{1e}");
    post(sid.clone(), packets).await.unwrap();
    assert!(
        node.polling_session_ended(&sid).await,
        "the flooding polling session goes"
    );
    let sid = node.polling_session().await;
    post(sid.clone(), "2".to_owned()).await.unwrap();
    assert!(
        node.polling_session_ended(&sid).await,
        "a polling ping ends its session"
    );
    growth.push(("polling packet floods and pings", node.growth_since(before)));

    // A well-behaved client connects and is answered while the ping flooders are still connected.
    let (_socket, reply) = {
        let mut socket = RawWebSocket::open_at(&node.address, path).await;
        socket
            .send_text(&format!("40{}", json!({"token": users[0].access_token})))
            .await;
        let (texts, _) = texts_for(&mut socket, Duration::from_secs(3)).await;
        (socket, texts)
    };
    assert!(reply.iter().any(|t| t.starts_with("40{\"sid\"")), "{reply:?}");
    node.assert_bounded_each(&growth).await;
    drop(flooders);
}
