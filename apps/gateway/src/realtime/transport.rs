//! The HTTP side of Engine.IO, mounted at `/socket.io/`: the polling handshake and long-polling `GET`/`POST`.
//! WebSocket upgrade requests never reach these handlers: actix-http hands them, with their connection, to
//! [`super::websocket`]; a `transport=websocket` request without the upgrade headers is refused here.

use super::engine::{BadRequest, CloseReason, Engine, HandshakeRefused, Session, Transport};
use actix_web::http::header::{self, HeaderMap};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse, web};
use epop_realtime_protocol::engine::{Packet, Payload, encode_payload};
use futures_util::StreamExt as _;
use ipnet::IpNet;
use std::collections::HashMap;
use std::net::IpAddr;
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

/// Reads the Engine.IO query of a request (polling or WebSocket): the transport and the session id, or the
/// refusal Engine.IO answers with (`code`, `message`) for a protocol version or transport it does not serve.
pub(super) fn engine_query(query: &str) -> Result<(Transport, Option<String>), (u8, &'static str)> {
    let mut query: HashMap<String, String> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    if query.get("EIO").map(String::as_str) != Some("4") {
        return Err((5, "Unsupported protocol version"));
    }
    let transport = match query.get("transport").map(String::as_str) {
        Some("polling") => Transport::Polling,
        Some("websocket") => Transport::WebSocket,
        _ => return Err((0, "Transport unknown")),
    };
    Ok((transport, query.remove("sid")))
}

/// The client's address: the peer, or, while the peer is a trusted proxy, the `X-Forwarded-For` hop it vouches
/// for (walked from the right).
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> Option<IpAddr> {
    if !trusted.iter().any(|net| net.contains(&peer)) {
        return Some(peer);
    }
    let mut client = peer;
    let forwarded = headers
        .get_all(header::X_FORWARDED_FOR)
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    for hop in forwarded
        .split(',')
        .rev()
        .map(str::trim)
        .filter(|h| !h.is_empty())
    {
        let Ok(ip) = hop.parse::<IpAddr>() else { break };
        client = ip;
        if !trusted.iter().any(|net| net.contains(&ip)) {
            break;
        }
    }
    Some(client)
}

/// Engine.IO's answer to a handshake refused by the limits per client network: `429` with `Retry-After` (the
/// JSON body has Engine.IO's shape, code 4 "Forbidden", so that clients treat it as a refused handshake).
pub(super) fn too_many(refused: HandshakeRefused) -> (StatusCode, Option<u64>, serde_json::Value) {
    let (message, retry_after) = match refused {
        HandshakeRefused::TooManySessions => ("Too many sessions from this address", 10),
        HandshakeRefused::TooManyHandshakes { retry_after } => (
            "Too many handshakes from this address",
            retry_after.as_millis().div_ceil(1000).max(1) as u64,
        ),
    };
    (
        StatusCode::TOO_MANY_REQUESTS,
        Some(retry_after),
        serde_json::json!({"code": 4, "message": message}),
    )
}

/// Serves every Engine.IO request (all methods are routed here).
pub async fn endpoint(req: HttpRequest, payload: web::Payload, engine: web::Data<Engine>) -> HttpResponse {
    let (transport, sid) = match engine_query(req.query_string()) {
        Ok(query) => query,
        Err((code, message)) => return refuse(code, message),
    };
    let method = req.method().clone();
    match (transport, sid) {
        (Transport::WebSocket, Some(sid)) if method == Method::GET && engine.session(&sid).is_none() => {
            refuse(1, "Session ID unknown")
        }
        (Transport::WebSocket, _) if method == Method::GET => refuse(3, "Bad request"),
        (Transport::WebSocket, _) => refuse(2, "Bad handshake method"),
        (Transport::Polling, None) if method == Method::GET => {
            let client = req
                .peer_addr()
                .and_then(|peer| client_address(peer.ip(), req.headers(), engine.trusted_proxies()));
            match engine.admit(client) {
                Ok(admission) => {
                    let (_session, open) = engine.open(Transport::Polling, admission);
                    text(encode_payload(&[open]))
                }
                Err(refused) => {
                    let (status, retry_after, body) = too_many(refused);
                    let mut response = HttpResponse::build(status);
                    if let Some(seconds) = retry_after {
                        response.insert_header((header::RETRY_AFTER, seconds.to_string()));
                    }
                    response.json(body)
                }
            }
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
