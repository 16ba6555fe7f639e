//! Conformance tests written from the Engine.IO v4 and Socket.IO v5 specifications, against
//! the conformance server run in process (`epop-gateway conformance` serves the same one for the official suites,
//! run by hand).

use futures_util::{SinkExt as _, StreamExt as _};
use reqwest::StatusCode;
use serde_json::Value;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct Server {
    http: String,
    ws: String,
    client: reqwest::Client,
}

fn start() -> Server {
    start_with(epop_socketio::conformance::engine_config())
}

/// The conformance server with other Engine.IO settings.
fn start_with(engine: epop_socketio::EngineConfig) -> Server {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(epop_socketio::conformance::server_with(listener, engine).unwrap());
    Server {
        http: format!("http://{address}"),
        ws: format!("ws://{address}"),
        client: reqwest::Client::new(),
    }
}

impl Server {
    async fn get(&self, path: &str) -> (StatusCode, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.http))
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    }

    async fn post(&self, path: &str, body: &str) -> (StatusCode, String) {
        let response = self
            .client
            .post(format!("{}{path}", self.http))
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    }

    async fn open_polling(&self, base: &str) -> String {
        let (status, body) = self.get(&format!("{base}?EIO=4&transport=polling")).await;
        assert_eq!(status, StatusCode::OK);
        let open: Value = serde_json::from_str(body.strip_prefix('0').unwrap()).unwrap();
        open["sid"].as_str().unwrap().to_owned()
    }

    async fn ws(&self, path: &str) -> Ws {
        tokio_tungstenite::connect_async(format!("{}{path}", self.ws))
            .await
            .unwrap()
            .0
    }
}

async fn next_text(ws: &mut Ws) -> Option<String> {
    loop {
        match tokio::time::timeout(Duration::from_secs(3), ws.next())
            .await
            .ok()??
        {
            Ok(Message::Text(text)) => return Some(text.to_string()),
            Ok(Message::Binary(_)) => panic!("unexpected binary frame"),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// The next text frame that is not a heartbeat: the server's pings (`2`, every 300 ms in conformance mode) are
/// answered on the way, so that a slow machine cannot time the session out or put a ping where data is awaited.
async fn next_data(ws: &mut Ws) -> Option<String> {
    loop {
        let text = next_text(ws).await?;
        if text != "2" {
            return Some(text);
        }
        ws.send(Message::text("3")).await.ok()?;
    }
}

async fn closes(ws: &mut Ws) -> bool {
    loop {
        match tokio::time::timeout(Duration::from_secs(3), ws.next()).await {
            Err(_) => return false,
            Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => return true,
            Ok(Some(Ok(_))) => {}
        }
    }
}

#[tokio::test]
async fn handshakes_on_both_transports_and_refusals() {
    let server = start();
    let (status, body) = server.get("/engine.io/?EIO=4&transport=polling").await;
    assert_eq!(status, StatusCode::OK);
    let open: Value = serde_json::from_str(body.strip_prefix('0').unwrap()).unwrap();
    assert_eq!(open["upgrades"], serde_json::json!(["websocket"]));
    assert_eq!(
        (
            open["pingInterval"].as_u64(),
            open["pingTimeout"].as_u64(),
            open["maxPayload"].as_u64()
        ),
        (Some(300), Some(200), Some(1_000_000))
    );
    assert!(open["sid"].is_string());

    let mut ws = server.ws("/engine.io/?EIO=4&transport=websocket").await;
    let open: Value =
        serde_json::from_str(next_text(&mut ws).await.unwrap().strip_prefix('0').unwrap()).unwrap();
    assert_eq!(open["upgrades"], serde_json::json!([]));

    for path in [
        "/engine.io/?transport=polling",
        "/engine.io/?EIO=3&transport=polling",
        "/engine.io/?EIO=abc&transport=polling",
        "/engine.io/?EIO=4",
        "/engine.io/?EIO=4&transport=abc",
        "/engine.io/?EIO=4&transport=polling&sid=unknown",
        "/engine.io/?EIO=4&transport=websocket",
    ] {
        assert_eq!(server.get(path).await.0, StatusCode::BAD_REQUEST, "{path}");
    }
    let (status, body) = server
        .get("/engine.io/?EIO=4&transport=polling&sid=unknown")
        .await;
    assert_eq!(
        (status, body.contains("\"code\":1")),
        (StatusCode::BAD_REQUEST, true)
    );
    assert_eq!(
        server.post("/engine.io/?EIO=4&transport=polling", "").await.0,
        StatusCode::BAD_REQUEST
    );
    let put = server
        .client
        .put(format!("{}/engine.io/?EIO=4&transport=polling", server.http))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn polling_payloads_batch_text_and_binary() {
    let server = start();
    let sid = server.open_polling("/engine.io/").await;
    let path = format!("/engine.io/?EIO=4&transport=polling&sid={sid}");
    assert_eq!(
        server.post(&path, "4hello\u{1e}4world\u{1e}bAQIDBA==").await,
        (StatusCode::OK, "ok".to_owned())
    );
    assert_eq!(
        server.get(&path).await,
        (StatusCode::OK, "4hello\u{1e}4world\u{1e}bAQIDBA==".to_owned())
    );
}

#[tokio::test]
async fn heartbeat_first_ping_after_one_interval_and_timeout_closes() {
    let server = start();
    let sid = server.open_polling("/engine.io/").await;
    let path = format!("/engine.io/?EIO=4&transport=polling&sid={sid}");
    let started = Instant::now();
    assert_eq!(server.get(&path).await, (StatusCode::OK, "2".to_owned()));
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "the first ping waits one interval"
    );
    assert_eq!(server.post(&path, "3").await.0, StatusCode::OK);
    assert_eq!(
        server.get(&path).await,
        (StatusCode::OK, "2".to_owned()),
        "pings continue after a pong"
    );
    // No pong this time: the session ends.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(server.get(&path).await.0, StatusCode::BAD_REQUEST);

    let mut ws = server.ws("/engine.io/?EIO=4&transport=websocket").await;
    next_text(&mut ws).await.unwrap();
    assert_eq!(next_text(&mut ws).await.as_deref(), Some("2"));
    assert!(closes(&mut ws).await, "no pong: closed");
}

#[tokio::test]
async fn close_and_malformed_packets_end_sessions() {
    let server = start();
    // A client close answers the pending GET with a noop.
    let sid = server.open_polling("/engine.io/").await;
    let path = format!("/engine.io/?EIO=4&transport=polling&sid={sid}");
    let pending = tokio::spawn({
        let (client, url) = (server.client.clone(), format!("{}{path}", server.http));
        async move { client.get(url).send().await.unwrap().text().await.unwrap() }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(server.post(&path, "1").await.0, StatusCode::OK);
    assert_eq!(pending.await.unwrap(), "6");
    assert_eq!(server.get(&path).await.0, StatusCode::BAD_REQUEST);

    // Malformed payloads: 400 and the session is gone.
    for bad in ["abc", "", "4a\u{1e}\u{1e}4b", "b!!!", "9"] {
        let sid = server.open_polling("/engine.io/").await;
        let path = format!("/engine.io/?EIO=4&transport=polling&sid={sid}");
        assert_eq!(
            server.post(&path, bad).await.0,
            StatusCode::BAD_REQUEST,
            "{bad:?}"
        );
        assert_eq!(server.get(&path).await.0, StatusCode::BAD_REQUEST, "{bad:?}");
    }
    let mut ws = server.ws("/engine.io/?EIO=4&transport=websocket").await;
    next_text(&mut ws).await.unwrap();
    ws.send(Message::text("abc")).await.unwrap();
    assert!(closes(&mut ws).await);

    // Two GETs at once: the first gets a close packet, the second 400.
    let sid = server.open_polling("/engine.io/").await;
    let path = format!("/engine.io/?EIO=4&transport=polling&sid={sid}");
    let first = tokio::spawn({
        let (client, url) = (server.client.clone(), format!("{}{path}", server.http));
        async move { client.get(url).send().await.unwrap().text().await.unwrap() }
    });
    tokio::time::sleep(Duration::from_millis(30)).await;
    assert_eq!(server.get(&path).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(first.await.unwrap(), "1");
}

#[tokio::test]
async fn polling_upgrades_to_websocket() {
    // Heartbeats out of the way: this client answers no ping over polling, and on a loaded machine the steps
    // below can take longer than the suites' 300 + 200 ms, which would end the session by ping timeout.
    let server = start_with(epop_socketio::EngineConfig {
        ping_interval: Duration::from_secs(20),
        ping_timeout: Duration::from_secs(20),
        ..epop_socketio::conformance::engine_config()
    });
    let sid = server.open_polling("/engine.io/").await;
    let path = format!("/engine.io/?EIO=4&transport=polling&sid={sid}");
    let pending = tokio::spawn({
        let (client, url) = (server.client.clone(), format!("{}{path}", server.http));
        async move { client.get(url).send().await.unwrap().text().await.unwrap() }
    });
    let mut ws = server
        .ws(&format!("/engine.io/?EIO=4&transport=websocket&sid={sid}"))
        .await;
    ws.send(Message::text("2probe")).await.unwrap();
    assert_eq!(next_text(&mut ws).await.as_deref(), Some("3probe"));
    assert_eq!(
        pending.await.unwrap(),
        "6",
        "the pending poll ends with a noop while upgrading"
    );
    assert_eq!(server.get(&path).await, (StatusCode::OK, "6".to_owned()));
    ws.send(Message::text("5")).await.unwrap();
    ws.send(Message::text("4hello")).await.unwrap();
    assert_eq!(next_data(&mut ws).await.as_deref(), Some("4hello"));
    ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    let binary = loop {
        let frame = tokio::time::timeout(Duration::from_secs(3), ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if frame == Message::text("2") {
            ws.send(Message::text("3")).await.unwrap();
            continue;
        }
        break frame;
    };
    assert_eq!(binary, Message::binary(vec![1u8, 2, 3]));
    // After the upgrade, polling is refused and a second WebSocket for the sid is accepted, then closed.
    assert_eq!(server.get(&path).await.0, StatusCode::BAD_REQUEST);
    let mut second = server
        .ws(&format!("/engine.io/?EIO=4&transport=websocket&sid={sid}"))
        .await;
    assert!(closes(&mut second).await);
    ws.send(Message::text("4still")).await.unwrap();
    assert_eq!(next_data(&mut ws).await.as_deref(), Some("4still"));
}

#[tokio::test]
async fn websocket_refusals_fragments_control_frames_and_the_size_limit() {
    let server = start();
    // Upgrade requests are answered before the upgrade when Engine.IO refuses them.
    for (path, status) in [
        ("/engine.io/?EIO=3&transport=websocket", 400),
        ("/engine.io/?EIO=4&transport=websocket&sid=unknown", 400),
        ("/engine.io/?EIO=4&transport=polling", 400),
        ("/elsewhere/?EIO=4&transport=websocket", 404),
    ] {
        match tokio_tungstenite::connect_async(format!("{}{path}", server.ws)).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status().as_u16(), status, "{path}");
            }
            other => panic!("{path}: expected a refusal, got {:?}", other.map(|_| ())),
        }
    }

    let mut ws = server.ws("/engine.io/?EIO=4&transport=websocket").await;
    assert!(next_text(&mut ws).await.is_some_and(|open| open.starts_with('0')));
    // A message in three fragments is one message; a WebSocket ping is answered with its data.
    use tokio_tungstenite::tungstenite::protocol::frame::Frame;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
    let fragment = |data: &[u8], kind: Data, last: bool| {
        Message::Frame(Frame::message(data.to_vec(), OpCode::Data(kind), last))
    };
    ws.send(fragment(b"4hel", Data::Text, false)).await.unwrap();
    ws.send(Message::Ping(b"are you there".to_vec().into()))
        .await
        .unwrap();
    ws.send(fragment(b"lo wo", Data::Continue, false)).await.unwrap();
    ws.send(fragment(b"rld", Data::Continue, true)).await.unwrap();
    let mut seen = Vec::new();
    while seen.len() < 2 {
        match tokio::time::timeout(Duration::from_secs(3), ws.next()).await {
            Ok(Some(Ok(Message::Pong(data)))) => {
                seen.push(format!("pong {}", String::from_utf8_lossy(&data)))
            }
            Ok(Some(Ok(Message::Text(text)))) if text.as_str() != "2" => seen.push(text.to_string()),
            Ok(Some(Ok(_))) => {}
            other => panic!("connection ended: {other:?}"),
        }
    }
    seen.sort();
    assert_eq!(seen, ["4hello world", "pong are you there"]);
    // Several messages in one write all arrive, in order.
    for text in ["4one", "4two", "4three"] {
        ws.feed(Message::text(text)).await.unwrap();
    }
    ws.flush().await.unwrap();
    for text in ["4one", "4two", "4three"] {
        assert_eq!(next_text(&mut ws).await.as_deref(), Some(text));
    }
    // A message larger than maxPayload ends the session.
    ws.send(Message::text(format!("4{}", "x".repeat(1_000_000))))
        .await
        .unwrap();
    assert!(closes(&mut ws).await);
}

async fn socket_io(server: &Server) -> Ws {
    let mut ws = server.ws("/socket.io/?EIO=4&transport=websocket").await;
    next_text(&mut ws).await.unwrap();
    ws
}

#[tokio::test]
async fn namespaces_connect_with_auth_and_unknown_ones_are_refused() {
    let server = start();
    let mut ws = socket_io(&server).await;
    ws.send(Message::text("40")).await.unwrap();
    let connected = next_text(&mut ws).await.unwrap();
    let handshake: Value = serde_json::from_str(connected.strip_prefix("40").unwrap()).unwrap();
    assert!(handshake["sid"].is_string());
    assert_eq!(next_text(&mut ws).await.as_deref(), Some(r#"42["auth",{}]"#));
    ws.send(Message::text(r#"40/custom,{"token":"abc"}"#))
        .await
        .unwrap();
    assert!(
        next_text(&mut ws)
            .await
            .unwrap()
            .starts_with("40/custom,{\"sid\":")
    );
    assert_eq!(
        next_text(&mut ws).await.as_deref(),
        Some(r#"42/custom,["auth",{"token":"abc"}]"#)
    );
    ws.send(Message::text("40/random")).await.unwrap();
    assert_eq!(
        next_text(&mut ws).await.as_deref(),
        Some(r#"44/random,{"message":"Invalid namespace"}"#)
    );
    // Leaving a namespace keeps the engine session: the next thing is a ping.
    ws.send(Message::text("41")).await.unwrap();
    ws.send(Message::text("41/custom,")).await.unwrap();
    assert_eq!(next_text(&mut ws).await.as_deref(), Some("2"));
}

#[tokio::test]
async fn events_and_acks_with_binary_attachments() {
    let server = start();
    let mut ws = socket_io(&server).await;
    ws.send(Message::text("40")).await.unwrap();
    next_text(&mut ws).await.unwrap();
    next_text(&mut ws).await.unwrap();
    ws.send(Message::text(r#"42["message",1,"2",{"3":[true]}]"#))
        .await
        .unwrap();
    assert_eq!(
        next_text(&mut ws).await.as_deref(),
        Some(r#"42["message-back",1,"2",{"3":[true]}]"#)
    );
    ws.send(Message::text(r#"4242["message-with-ack",1,"2",{"3":[false]}]"#))
        .await
        .unwrap();
    assert_eq!(
        next_text(&mut ws).await.as_deref(),
        Some(r#"4342[1,"2",{"3":[false]}]"#)
    );

    ws.send(Message::text(r#"451-["message",{"_placeholder":true,"num":0}]"#))
        .await
        .unwrap();
    ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    assert_eq!(
        next_text(&mut ws).await.as_deref(),
        Some(r#"451-["message-back",{"_placeholder":true,"num":0}]"#)
    );
    let attachment = tokio::time::timeout(Duration::from_secs(3), ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(attachment, Message::binary(vec![1u8, 2, 3]));
    ws.send(Message::text(
        r#"451-17["message-with-ack",{"_placeholder":true,"num":0}]"#,
    ))
    .await
    .unwrap();
    ws.send(Message::binary(vec![9u8])).await.unwrap();
    assert_eq!(
        next_text(&mut ws).await.as_deref(),
        Some(r#"461-17[{"_placeholder":true,"num":0}]"#)
    );
}

#[tokio::test]
async fn malformed_socket_io_packets_close_the_connection() {
    let server = start();
    for bad in [
        "4abc",
        "49",
        r#"42["connect"]"#,
        "42{}",
        "42[]",
        r#"42abc["message"]"#,
        r#"4511-["x"]"#,
        "40[1]",
    ] {
        let mut ws = socket_io(&server).await;
        ws.send(Message::text("40")).await.unwrap();
        next_text(&mut ws).await.unwrap();
        next_text(&mut ws).await.unwrap();
        ws.send(Message::text(bad)).await.unwrap();
        assert!(closes(&mut ws).await, "{bad}");
    }
}

#[tokio::test]
async fn a_session_without_connect_is_closed_after_the_connect_timeout() {
    let server = start();
    let sid = server.open_polling("/socket.io/").await;
    let path = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
    // Keep the heartbeat alive so only the connect timeout can end the session.
    let started = Instant::now();
    loop {
        let (status, body) = server.get(&path).await;
        if status != StatusCode::OK || body.contains('1') && !body.starts_with('2') {
            break;
        }
        server.post(&path, "3").await;
        assert!(started.elapsed() < Duration::from_secs(5), "never closed");
    }
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "closed too early: {:?}",
        started.elapsed()
    );
}
