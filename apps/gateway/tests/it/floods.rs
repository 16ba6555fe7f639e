//! Hostile clients on the real-time endpoint: floods of pings, packets, connects and sessions are refused or
//! absorbed with bounded memory, and leave everyone else unaffected.

use crate::helpers::TestApp;
use serde_json::json;
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// A WebSocket client on a bare TCP connection: it reads only when told to, so a test can flood the server
/// without reading its answers, as a hostile client would.
struct RawWebSocket {
    stream: TcpStream,
    /// What was read and not yet parsed into frames.
    buffer: Vec<u8>,
}

/// One frame from the server.
#[derive(Debug)]
struct ServerFrame {
    opcode: u8,
    payload: Vec<u8>,
}

const OPCODE_TEXT: u8 = 0x1;
const OPCODE_PING: u8 = 0x9;
const OPCODE_PONG: u8 = 0xA;

impl RawWebSocket {
    /// Opens `path` (an Engine.IO WebSocket URL path) with a small receive buffer, so that what the server
    /// has to keep for a client that does not read is not hidden in the kernel's buffers.
    async fn open(app: &TestApp, path: &str) -> Self {
        let address = app.address.trim_start_matches("http://").to_owned();
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
    fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
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

    async fn send_text(&mut self, text: &str) {
        let frame = Self::frame(OPCODE_TEXT, text.as_bytes());
        self.stream.write_all(&frame).await.unwrap();
    }

    /// Every frame the server sends until it has been silent for `quiet`, or `None` in place of the last when
    /// it closed the connection.
    async fn read_until_quiet(&mut self, quiet: Duration) -> (Vec<ServerFrame>, bool) {
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
            126 => (usize::from(u16::from_be_bytes(self.buffer.get(2..4)?.try_into().ok()?)), 4),
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
    let app = TestApp::spawn().await;
    let ann = app.register("Ann", "ann@example.com").await;
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
