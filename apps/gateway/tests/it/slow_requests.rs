//! Slow requests (EPOP additions `EPOP_REQUEST_HEAD_TIMEOUT`, `EPOP_BODY_IDLE_TIMEOUT`, `EPOP_BODY_MIN_RATE`):
//! a raw TCP client sends a request head and then trickles the body, or stops sending it; the gateway answers
//! `400` and closes the connection within the bound, instead of holding it (and what the handler holds) for as
//! long as the client likes.

use crate::helpers::TestApp;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// A gateway that gives a body 1 s of pause at most and wants 64 bytes per second after the first second, and
/// a request head `head_seconds`. The body tests give the head 5 s: on a loaded machine a connection may wait
/// for its worker long enough that a 1 s head timeout (actix-http's own `408`) would fire before the body's.
async fn strict_app(head_seconds: &str) -> TestApp {
    TestApp::with_settings([
        ("EPOP_BODY_IDLE_TIMEOUT", "1"),
        ("EPOP_BODY_MIN_RATE", "64"),
        ("EPOP_REQUEST_HEAD_TIMEOUT", head_seconds),
    ])
    .await
}

/// What a raw client saw: how long until the server closed the connection, and everything it answered.
struct Closed {
    after: Duration,
    answer: String,
}

/// Sends `head`, then `body` at once, then `trickle` one byte every `every` (stopping when the server closes),
/// and reads until the server closes the connection; fails when it is still open after 10 s.
async fn send_slowly(app: &TestApp, head: &str, body: &[u8], trickle: &[u8], every: Duration) -> Closed {
    let address = app.address.trim_start_matches("http://");
    let stream = TcpStream::connect(address).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let started = Instant::now();
    writer.write_all(head.as_bytes()).await.unwrap();
    writer.write_all(body).await.unwrap();
    let trickle = trickle.to_vec();
    let sender = tokio::spawn(async move {
        for byte in trickle {
            tokio::time::sleep(every).await;
            if writer.write_all(&[byte]).await.is_err() {
                return;
            }
        }
        // Everything sent: keep the connection open, as a slow client would.
        std::future::pending::<()>().await;
    });
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buffer = [0u8; 4096];
        loop {
            match reader.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    sender.abort();
    assert!(
        read.is_ok(),
        "the connection is still open after 10 s; answered so far: {}",
        String::from_utf8_lossy(&answer)
    );
    Closed {
        after: started.elapsed(),
        answer: String::from_utf8_lossy(&answer).into_owned(),
    }
}

fn assert_refused_as_too_slow(closed: &Closed, within: Duration) {
    assert!(
        closed.after < within,
        "closed after {:?}, not within {within:?}",
        closed.after
    );
    assert!(closed.answer.starts_with("HTTP/1.1 400"), "{}", closed.answer);
    assert!(
        closed.answer.contains("application/problem+json") && closed.answer.contains("too slowly"),
        "{}",
        closed.answer
    );
}

/// The head of a JSON login request that announces a body of `content_length` bytes.
fn login_head(content_length: usize) -> String {
    format!(
        "POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {content_length}\r\n\r\n"
    )
}

fn login_body() -> Vec<u8> {
    json!({"email": "ann@example.com", "password": crate::helpers::PASSWORD, "padding": "x".repeat(100)})
        .to_string()
        .into_bytes()
}

#[tokio::test]
async fn a_json_body_trickled_below_the_minimum_rate_is_refused_and_its_connection_closed() {
    let app = strict_app("5").await;
    let body = login_body();
    let head = login_head(body.len());
    // Five bytes a second: under 64 per second once the first second is over.
    let closed = send_slowly(&app, &head, &[], &body, Duration::from_millis(200)).await;
    assert_refused_as_too_slow(&closed, Duration::from_secs(5));
    // Requests at a normal pace are unaffected.
    app.register("Ann", "ann@example.com").await;
    let login = app
        .anonymous()
        .post(
            "/api/auth/login",
            &serde_json::from_slice::<Value>(&body).unwrap(),
        )
        .await;
    assert_eq!(login.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_chunked_body_trickled_is_refused_and_its_connection_closed_not_drained() {
    let app = strict_app("5").await;
    let head = "POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                Transfer-Encoding: chunked\r\n\r\n";
    // One chunk of one byte after another: `1\r\n{\r\n`, `1\r\n"\r\n`, ... never the last chunk.
    let chunks: Vec<u8> = login_body()
        .into_iter()
        .flat_map(|byte| [b'1', b'\r', b'\n', byte, b'\r', b'\n'])
        .collect();
    let closed = send_slowly(&app, head, &[], &chunks, Duration::from_millis(40)).await;
    assert_refused_as_too_slow(&closed, Duration::from_secs(5));
}

#[tokio::test]
async fn a_body_that_stops_is_refused_after_the_idle_timeout() {
    let app = strict_app("5").await;
    let body = login_body();
    let head = login_head(body.len() + 50);
    // The whole body but 50 bytes at once, then nothing.
    let closed = send_slowly(&app, &head, &body, &[], Duration::ZERO).await;
    assert_refused_as_too_slow(&closed, Duration::from_secs(5));
    assert!(
        closed.after >= Duration::from_millis(900),
        "not before the idle timeout: {:?}",
        closed.after
    );
}

#[tokio::test]
async fn a_trickled_local_store_upload_is_refused_and_stores_nothing() {
    let app = strict_app("5").await;
    let ann = app.register("Ann", "ann@example.com").await;
    let content = vec![b'x'; 2000];
    let slot = app.as_user(&ann).post_created("/api/files/presign-upload", json!({"file_name": "slow.bin", "content_type": "application/octet-stream", "file_size": content.len()})).await;
    let url = slot["url"].as_str().unwrap();
    let path = &url[url.find("/files/local/").unwrap()..];
    let head = format!(
        "PUT {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
        content.len()
    );
    let closed = send_slowly(
        &app,
        &head,
        &content[..100],
        &content[100..],
        Duration::from_millis(100),
    )
    .await;
    assert_refused_as_too_slow(&closed, Duration::from_secs(5));
    let file = format!("/api/files/{}", slot["attachment_id"].as_str().unwrap());
    assert_eq!(
        app.as_user(&ann).get(&file).await.status(),
        StatusCode::NOT_FOUND,
        "nothing was stored"
    );
    // The slot still takes its upload at a normal pace.
    let mut put = app.client.put(url);
    for (name, value) in slot["headers"].as_object().unwrap() {
        if !name.eq_ignore_ascii_case("content-length") {
            put = put.header(name, value.as_str().unwrap());
        }
    }
    assert_eq!(put.body(content).send().await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn a_request_head_trickled_is_closed_within_the_head_timeout() {
    let app = strict_app("1").await;
    let closed = send_slowly(
        &app,
        "GET /health HTTP/1.1\r\n",
        &[],
        b"X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n",
        Duration::from_millis(100),
    )
    .await;
    assert!(
        closed.after < Duration::from_secs(3),
        "closed after {:?}",
        closed.after
    );
    assert!(
        closed.answer.is_empty() || closed.answer.starts_with("HTTP/1.1 408"),
        "{}",
        closed.answer
    );
}
