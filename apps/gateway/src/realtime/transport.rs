//! The HTTP side of Engine.IO: the handshake, long-polling `GET`/`POST`, and WebSocket (direct, or as an
//! upgrade of a polling session), mounted at `/socket.io/`.

use super::engine::{BadRequest, CloseReason, Engine, Frame, Session, Transport, frame_of};
use actix_web::http::{Method, header};
use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::AggregatedMessage;
use epop_realtime_protocol::engine::{Packet, Payload, encode_payload};
use futures_util::StreamExt as _;
use std::collections::HashMap;
use std::sync::Arc;

/// Engine.IO's error answer: `400` with `{"code", "message"}`.
fn refuse(code: u8, message: &str) -> HttpResponse {
    HttpResponse::BadRequest().json(serde_json::json!({"code": code, "message": message}))
}

fn text(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=UTF-8")
        .body(body)
}

/// Serves every Engine.IO request (all methods are routed here).
pub async fn endpoint(req: HttpRequest, payload: web::Payload, engine: web::Data<Engine>) -> HttpResponse {
    let query: HashMap<String, String> = form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect();
    if query.get("EIO").map(String::as_str) != Some("4") {
        return refuse(5, "Unsupported protocol version");
    }
    let transport = match query.get("transport").map(String::as_str) {
        Some("polling") => Transport::Polling,
        Some("websocket") => Transport::WebSocket,
        _ => return refuse(0, "Transport unknown"),
    };
    let sid = query.get("sid").cloned();
    let method = req.method().clone();
    match (transport, sid) {
        (Transport::WebSocket, sid) if method == Method::GET => websocket(&req, payload, &engine, sid),
        (Transport::WebSocket, _) => refuse(2, "Bad handshake method"),
        (Transport::Polling, None) if method == Method::GET => {
            let (_session, open) = engine.open(Transport::Polling);
            text(encode_payload(&[open]))
        }
        (Transport::Polling, None) => refuse(2, "Bad handshake method"),
        (Transport::Polling, Some(sid)) => {
            let Some(session) = engine.session(&sid) else {
                return refuse(1, "Session ID unknown");
            };
            if method == Method::GET {
                match session.poll().await {
                    Ok(body) => text(body),
                    Err(BadRequest) => refuse(3, "Bad request"),
                }
            } else if method == Method::POST {
                post(&req, payload, &session, engine.config().max_payload).await
            } else {
                refuse(2, "Bad handshake method")
            }
        }
    }
}

async fn post(
    req: &HttpRequest,
    mut payload: web::Payload,
    session: &Arc<Session>,
    max_payload: usize,
) -> HttpResponse {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let Ok(chunk) = chunk else {
            return refuse(3, "Bad request");
        };
        if body.len() + chunk.len() > max_payload {
            session.close(CloseReason::ProtocolError);
            return HttpResponse::PayloadTooLarge().finish();
        }
        body.extend_from_slice(&chunk);
    }
    let binary = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/octet-stream"));
    let result = if binary {
        session.receive(Packet::Message(Payload::Binary(body.freeze())))
    } else {
        match std::str::from_utf8(&body) {
            Ok(text) => session.receive_payload(text),
            Err(_) => {
                session.close(CloseReason::ProtocolError);
                Err(BadRequest)
            }
        }
    };
    match result {
        // Node answers `ok` as text/html, which keeps old browsers from offering a download.
        Ok(()) => HttpResponse::Ok().content_type("text/html").body("ok"),
        Err(BadRequest) => refuse(3, "Bad request"),
    }
}

fn websocket(req: &HttpRequest, payload: web::Payload, engine: &Engine, sid: Option<String>) -> HttpResponse {
    let upgrading = match sid {
        Some(sid) => match engine.session(&sid) {
            Some(session) => Some(session),
            None => return refuse(1, "Session ID unknown"),
        },
        None => None,
    };
    let is_upgrade = req
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !is_upgrade {
        return refuse(3, "Bad request");
    }
    let (response, ws, stream) = match actix_ws::handle(req, payload) {
        Ok(parts) => parts,
        Err(_) => return refuse(3, "Bad request"),
    };
    let config = *engine.config();
    let stream = stream
        .max_frame_size(config.max_payload)
        .aggregate_continuations()
        .max_continuation_size(config.max_payload);
    match upgrading {
        None => {
            let (session, open) = engine.open(Transport::WebSocket);
            actix_web::rt::spawn(write_loop(session.clone(), ws.clone(), Some(open)));
            actix_web::rt::spawn(read_loop(session, ws, stream));
        }
        Some(session) => {
            actix_web::rt::spawn(upgrade(session, ws, stream, config.upgrade_timeout));
        }
    }
    response
}

type Stream = actix_ws::AggregatedMessageStream;

/// Runs the probe/upgrade exchange on a WebSocket for a polling session, then serves it.
async fn upgrade(
    session: Arc<Session>,
    mut ws: actix_ws::Session,
    mut stream: Stream,
    timeout: std::time::Duration,
) {
    if session.transport() != Transport::Polling {
        // A second WebSocket for a session already upgraded: accepted, then closed.
        let _ = ws.close(None).await;
        return;
    }
    let probe = tokio::time::timeout(timeout, next_text(&mut stream)).await;
    if !matches!(probe, Ok(Some(ref t)) if t == "2probe") || !session.begin_upgrade() {
        let _ = ws.close(None).await;
        return;
    }
    if ws.text("3probe").await.is_err() {
        session.abort_upgrade();
        return;
    }
    loop {
        match tokio::time::timeout(timeout, next_text(&mut stream)).await {
            Ok(Some(frame)) if frame == "5" => break,
            Ok(Some(frame)) if frame == "6" => continue,
            _ => {
                session.abort_upgrade();
                let _ = ws.close(None).await;
                return;
            }
        }
    }
    session.finish_upgrade();
    actix_web::rt::spawn(write_loop(session.clone(), ws.clone(), None));
    read_loop(session, ws, stream).await;
}

async fn next_text(stream: &mut Stream) -> Option<String> {
    loop {
        match stream.next().await? {
            Ok(AggregatedMessage::Text(text)) => return Some(text.to_string()),
            Ok(AggregatedMessage::Ping(_) | AggregatedMessage::Pong(_)) => {}
            _ => return None,
        }
    }
}

async fn write_loop(session: Arc<Session>, mut ws: actix_ws::Session, open: Option<Packet>) {
    if let Some(open) = open {
        let frame = open.to_text_frame().unwrap_or_default();
        if ws.text(frame).await.is_err() {
            session.close(CloseReason::TransportClose);
            return;
        }
    }
    while let Some(batch) = session.next_batch().await {
        for packet in batch {
            let sent = match frame_of(&packet) {
                Frame::Text(text) => ws.text(text).await,
                Frame::Binary(bytes) => ws.binary(bytes).await,
            };
            if sent.is_err() {
                session.close(CloseReason::TransportClose);
                return;
            }
        }
    }
    let _ = ws.close(None).await;
}

async fn read_loop(session: Arc<Session>, mut ws: actix_ws::Session, mut stream: Stream) {
    let closed = session.closed_token();
    loop {
        let message = tokio::select! {
            () = closed.cancelled() => break,
            message = stream.next() => message,
        };
        let result = match message {
            Some(Ok(AggregatedMessage::Text(text))) => match Packet::from_text_frame(&text) {
                Ok(packet) => session.receive(packet),
                Err(_) => {
                    session.close(CloseReason::ProtocolError);
                    Err(BadRequest)
                }
            },
            Some(Ok(AggregatedMessage::Binary(bytes))) => {
                session.receive(Packet::Message(Payload::Binary(bytes)))
            }
            Some(Ok(AggregatedMessage::Ping(bytes))) => {
                let _ = ws.pong(&bytes).await;
                Ok(())
            }
            Some(Ok(AggregatedMessage::Pong(_))) => Ok(()),
            Some(Ok(AggregatedMessage::Close(_))) | Some(Err(_)) | None => {
                session.close(CloseReason::TransportClose);
                break;
            }
        };
        if result.is_err() {
            break;
        }
    }
}
