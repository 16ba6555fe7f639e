//! Hostile clients on the real-time endpoint: floods of pings, packets, connects and sessions are refused or
//! absorbed with bounded memory, and leave everyone else unaffected.

use crate::helpers::TestApp;
use serde_json::json;
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// A WebSocket client on a bare TCP connection: it reads only when told to, so a test can flood the server
/// without reading its answers, as a hostile client would.
pub(crate) struct RawWebSocket {
    pub(crate) stream: TcpStream,
    /// What was read and not yet parsed into frames.
    buffer: Vec<u8>,
}

/// One frame from the server.
#[derive(Debug)]
pub(crate) struct ServerFrame {
    pub(crate) opcode: u8,
    pub(crate) payload: Vec<u8>,
}

pub(crate) const OPCODE_TEXT: u8 = 0x1;
pub(crate) const OPCODE_PING: u8 = 0x9;
pub(crate) const OPCODE_PONG: u8 = 0xA;

impl RawWebSocket {
    /// Opens `path` (an Engine.IO WebSocket URL path) with a small receive buffer, so that what the server
    /// has to keep for a client that does not read is not hidden in the kernel's buffers.
    pub(crate) async fn open(app: &TestApp, path: &str) -> Self {
        Self::open_at(app.address.trim_start_matches("http://"), path).await
    }

    /// Opens `path` on the server at `address` (`host:port`), as [`Self::open`] does.
    pub(crate) async fn open_at(address: &str, path: &str) -> Self {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(16 * 1024).unwrap();
        let mut stream = socket.connect(address.parse().unwrap()).await.unwrap();
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {address}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut buffer = Vec::new();
        let end = loop {
            let mut chunk = [0u8; 1024];
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the server closed the connection during the upgrade");
            buffer.extend_from_slice(&chunk[..n]);
            if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
        };
        let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        buffer.drain(..end);
        Self { stream, buffer }
    }

    /// A client frame (masked, with a zero mask key, so the payload goes as is).
    pub(crate) fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mut frame = vec![0x80 | opcode];
        match payload.len() {
            n if n < 126 => frame.push(0x80 | n as u8),
            n if n <= usize::from(u16::MAX) => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        frame.extend_from_slice(&[0, 0, 0, 0]);
        frame.extend_from_slice(payload);
        frame
    }

    pub(crate) async fn send_text(&mut self, text: &str) {
        let frame = Self::frame(OPCODE_TEXT, text.as_bytes());
        self.stream.write_all(&frame).await.unwrap();
    }

    /// Every frame the server sends until it has been silent for `quiet`, or `None` in place of the last when
    /// it closed the connection.
    pub(crate) async fn read_until_quiet(&mut self, quiet: Duration) -> (Vec<ServerFrame>, bool) {
        let mut closed = false;
        loop {
            let mut chunk = vec![0u8; 64 * 1024];
            match tokio::time::timeout(quiet, self.stream.read(&mut chunk)).await {
                Err(_) => break,
                Ok(Ok(0) | Err(_)) => {
                    closed = true;
                    break;
                }
                Ok(Ok(n)) => self.buffer.extend_from_slice(&chunk[..n]),
            }
        }
        let mut frames = Vec::new();
        while let Some(frame) = self.parse_one() {
            frames.push(frame);
        }
        (frames, closed)
    }

    /// The next whole server frame in the buffer (servers do not mask).
    fn parse_one(&mut self) -> Option<ServerFrame> {
        let header = self.buffer.get(..2)?;
        let opcode = header[0] & 0x0F;
        let (length, start) = match header[1] & 0x7F {
            126 => (
                usize::from(u16::from_be_bytes(self.buffer.get(2..4)?.try_into().ok()?)),
                4,
            ),
            127 => (
                usize::try_from(u64::from_be_bytes(self.buffer.get(2..10)?.try_into().ok()?)).ok()?,
                10,
            ),
            n => (usize::from(n), 2),
        };
        let payload = self.buffer.get(start..start + length)?.to_vec();
        self.buffer.drain(..start + length);
        Some(ServerFrame { opcode, payload })
    }
}

#[tokio::test]
async fn a_ping_flood_from_a_client_that_never_reads_keeps_one_pong_waiting() {
    let (app, [ann]) = TestApp::with_users(["Ann"]).await;
    let mut client = RawWebSocket::open(&app, "/socket.io/?EIO=4&transport=websocket").await;

    // 100,000 pings of 125 bytes (13 MB), written without reading a byte of the answers. Before, the server
    // queued a pong for each: 12.7 MB held for this one connection, and delivered in full.
    const PINGS: usize = 100_000;
    let mut flood = Vec::with_capacity(PINGS * 131);
    for n in 0..PINGS {
        let mut payload = format!("ping {n:>10} ").into_bytes();
        payload.resize(125, b'.');
        flood.extend_from_slice(&RawWebSocket::frame(OPCODE_PING, &payload));
    }
    tokio::time::timeout(Duration::from_secs(60), client.stream.write_all(&flood))
        .await
        .expect("the server keeps reading pings: it answers only the latest")
        .unwrap();

    let (frames, closed) = client.read_until_quiet(Duration::from_secs(1)).await;
    assert!(!closed, "a ping flood is answered, not punished");
    let pongs: Vec<&ServerFrame> = frames.iter().filter(|f| f.opcode == OPCODE_PONG).collect();
    // What the kernel's buffers held while the client did not read, plus the one waiting pong: far fewer
    // pongs than pings, and the last one answers the last ping.
    assert!(
        !pongs.is_empty() && pongs.len() < PINGS / 100,
        "{} pongs for {PINGS} pings",
        pongs.len()
    );
    let last = pongs.last().unwrap();
    assert!(
        String::from_utf8_lossy(&last.payload).starts_with(&format!("ping {:>10} ", PINGS - 1)),
        "the waiting pong answers the latest ping"
    );

    // The session is still usable: the Socket.IO connect is answered.
    client
        .send_text(&format!("40{}", json!({"token": ann.access_token})))
        .await;
    let (frames, _) = client.read_until_quiet(Duration::from_secs(1)).await;
    assert!(
        frames
            .iter()
            .any(|f| f.opcode == OPCODE_TEXT && f.payload.starts_with(b"40{\"sid\"")),
        "{frames:?}"
    );
}

/// Reads the text frames of a Socket.IO connection for `window`, or until the server closes it.
pub(crate) async fn texts_for(client: &mut RawWebSocket, window: Duration) -> (Vec<String>, bool) {
    let deadline = tokio::time::Instant::now() + window;
    let mut texts = Vec::new();
    let mut closed = false;
    while tokio::time::Instant::now() < deadline && !closed {
        let (frames, ended) = client.read_until_quiet(Duration::from_millis(100)).await;
        closed = ended || frames.iter().any(|f| f.opcode == 0x8);
        texts.extend(
            frames
                .into_iter()
                .filter(|f| f.opcode == OPCODE_TEXT)
                .map(|f| String::from_utf8_lossy(&f.payload).into_owned()),
        );
    }
    (texts, closed)
}

#[tokio::test]
async fn a_packet_flood_closes_the_session_on_both_transports() {
    let app = TestApp::with_settings([("EPOP_SOCKET_INBOX_PACKETS", "32")]).await;

    // WebSocket: 1,000 events in one write, before any login, are more than the 32 packets a session may have
    // waiting; the session is closed instead of queueing them all.
    let mut client = RawWebSocket::open(&app, "/socket.io/?EIO=4&transport=websocket").await;
    let mut flood = Vec::new();
    for n in 0..1000 {
        flood.extend_from_slice(&RawWebSocket::frame(
            OPCODE_TEXT,
            format!("42[\"x\",{n}]").as_bytes(),
        ));
    }
    client.stream.write_all(&flood).await.unwrap();
    let (_, closed) = texts_for(&mut client, Duration::from_secs(3)).await;
    assert!(closed, "the flooding WebSocket session is closed");

    // Polling: one POST carrying 1,000 packets ends its session: later requests for it are refused.
    let handshake = app
        .client
        .get(app.url("/socket.io/?EIO=4&transport=polling"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let open: serde_json::Value = serde_json::from_str(handshake.trim_start_matches('0')).unwrap();
    let sid = open["sid"].as_str().unwrap().to_owned();
    let body = (0..1000)
        .map(|n| format!("42[\"x\",{n}]"))
        .collect::<Vec<_>>()
        .join("\u{1e}");
    let path = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
    app.client.post(app.url(&path)).body(body).send().await.unwrap();
    let poll = app.client.get(app.url(&path)).send().await.unwrap();
    let status = poll.status();
    let text = poll.text().await.unwrap();
    assert!(
        status == reqwest::StatusCode::BAD_REQUEST || text == "1",
        "the flooding polling session is over: {status} {text}"
    );

    // A client within the limits is unaffected.
    let ann = app.register("Ann", "ann@example.com").await;
    let _ws = app.socket(&ann.access_token).await;
}

#[tokio::test]
async fn connects_are_limited_per_session_and_per_user() {
    let (app, [ann, bob]) = TestApp::with_settings_and_users(
        [
            ("EPOP_SOCKET_CONNECTS_PER_SESSION", "4"),
            ("EPOP_SOCKET_CONNECT_RATE_LIMIT", "12"),
        ],
        ["Ann", "Bob"],
    )
    .await;
    let auth = json!({"token": ann.access_token});

    // One write with 20 CONNECT/DISCONNECT pairs: the first 4 connects are served, then the session ends.
    let mut client = RawWebSocket::open(&app, "/socket.io/?EIO=4&transport=websocket").await;
    let mut flood = Vec::new();
    for _ in 0..20 {
        flood.extend_from_slice(&RawWebSocket::frame(OPCODE_TEXT, format!("40{auth}").as_bytes()));
        flood.extend_from_slice(&RawWebSocket::frame(OPCODE_TEXT, b"41"));
    }
    client.stream.write_all(&flood).await.unwrap();
    let (texts, closed) = texts_for(&mut client, Duration::from_secs(3)).await;
    let accepted = texts.iter().filter(|t| t.starts_with("40{\"sid\"")).count();
    assert_eq!(accepted, 4, "{texts:?}");
    assert!(closed, "the session that kept connecting is closed");

    // Per user, on every node together: 12 connects a minute, 4 of them used above. The next 8 sessions
    // connect; the one after is refused with `rate_limited` and when to try again.
    for _ in 0..8 {
        let (_ws, reply) = app.socket_with(&auth).await;
        assert!(reply.starts_with("40{\"sid\""), "{reply}");
    }
    let (_ws, reply) = app.socket_with(&auth).await;
    let refusal: serde_json::Value = serde_json::from_str(reply.trim_start_matches("44")).unwrap();
    assert_eq!(refusal["message"], "rate_limited", "{reply}");
    assert!(refusal["data"]["retry_after"].as_u64().unwrap() >= 1);
    // Another user is not affected.
    let _bob = app.socket(&bob.access_token).await;
}

#[tokio::test]
async fn a_user_whose_sockets_flap_reaches_partners_once_per_interval() {
    let app = TestApp::with_settings([("EPOP_PRESENCE_INTERVAL_MS", "1500")]).await;
    let [ann, bob] = app.users(["Ann", "Bob"]).await;
    app.direct(&ann, &bob).await;
    let mut watcher = RawWebSocket::open(&app, "/socket.io/?EIO=4&transport=websocket").await;
    watcher
        .send_text(&format!("40{}", json!({"token": ann.access_token})))
        .await;
    // The watcher's CONNECT is answered (its rooms joined) before Bob comes: otherwise, on a loaded machine,
    // Bob's first arrival can be announced before the watcher is in the conversation's room.
    let mut texts = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !texts.iter().any(|t: &String| t.starts_with("40")) {
        assert!(tokio::time::Instant::now() < deadline, "the watcher connects");
        texts.extend(texts_for(&mut watcher, Duration::from_millis(100)).await.0);
    }

    // Bob connects and disconnects ten times in a row.
    for _ in 0..10 {
        let ws = app.socket(&bob.access_token).await;
        drop(ws);
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    texts.extend(texts_for(&mut watcher, Duration::from_secs(3)).await.0);
    let bobs: Vec<serde_json::Value> = texts
        .iter()
        .filter_map(|t| t.strip_prefix("42"))
        .filter_map(|t| serde_json::from_str::<serde_json::Value>(t).ok())
        .filter(|event| event[0] == "presence" && event[1]["user_id"] == bob.id.as_str())
        .map(|event| event[1].clone())
        .collect();
    // Before, twenty announcements; now the first arrival, then where Bob ended up: offline.
    assert_eq!(bobs.len(), 2, "{bobs:?}");
    assert_eq!(bobs[0]["status"], "online");
    assert_eq!(bobs[1]["status"], "offline");
    assert!(bobs[1]["last_seen_at"].is_string());
}

#[tokio::test]
async fn sessions_and_handshakes_are_limited_per_client_address() {
    let app = TestApp::with_settings([("EPOP_REALTIME_SESSIONS_PER_CLIENT", "3")]).await;
    let handshake = async || {
        app.client
            .get(app.url("/socket.io/?EIO=4&transport=polling"))
            .send()
            .await
            .unwrap()
    };
    let mut sids = Vec::new();
    for _ in 0..3 {
        let response = handshake().await;
        assert_eq!(response.status(), reqwest::StatusCode::OK);
        let open: serde_json::Value =
            serde_json::from_str(response.text().await.unwrap().trim_start_matches('0')).unwrap();
        sids.push(open["sid"].as_str().unwrap().to_owned());
    }
    // The fourth session from this address is refused, on polling and on WebSocket alike.
    let refused = handshake().await;
    assert_eq!(refused.status(), reqwest::StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["code"], 4);
    let url = format!(
        "{}/socket.io/?EIO=4&transport=websocket",
        app.address.replace("http", "ws")
    );
    match tokio_tungstenite::connect_async(url.as_str()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 429);
        }
        other => panic!("expected 429, got {:?}", other.map(|_| ())),
    }
    // A session that ends gives its place back.
    let path = format!("/socket.io/?EIO=4&transport=polling&sid={}", sids[0]);
    app.client.post(app.url(&path)).body("1").send().await.unwrap();
    assert_eq!(handshake().await.status(), reqwest::StatusCode::OK);

    // Handshakes per minute, whatever became of the sessions.
    let app = TestApp::with_settings([("EPOP_REALTIME_HANDSHAKE_RATE_LIMIT", "5")]).await;
    let handshake = async || app.anonymous().get("/socket.io/?EIO=4&transport=polling").await;
    for _ in 0..5 {
        assert_eq!(handshake().await.status(), reqwest::StatusCode::OK);
    }
    let refused = handshake().await;
    assert_eq!(refused.status(), reqwest::StatusCode::TOO_MANY_REQUESTS);
    let retry_after = refused.retry_after();
    assert!((1..=12).contains(&retry_after), "{retry_after}");
}
