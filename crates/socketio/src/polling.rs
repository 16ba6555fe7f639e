//! The HTTP side of Engine.IO, mounted at its path (`/socket.io/` for Socket.IO): the polling handshake and
//! long-polling `GET`/`POST`. WebSocket upgrade requests never reach these handlers: actix-http hands them, with
//! their connection, to [`crate::websocket`]; a `transport=websocket` request without the upgrade headers is
//! refused here.

use crate::engine::{CloseReason, Engine, Session, Transport};
use crate::error::{EngineError, Refused};
use actix_web::http::header::{self, HeaderMap};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse, web};
use epop_realtime_protocol::engine::{Packet, Payload, encode_payload};
use futures_util::StreamExt as _;
use ipnet::IpNet;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

/// Engine.IO's answer to a refused request: `400` (or `429` with `Retry-After`) with `{"code", "message"}`.
fn refuse(refused: impl Into<Refused>) -> HttpResponse {
    let refused = refused.into();
    let mut response =
        HttpResponse::build(StatusCode::from_u16(refused.status()).unwrap_or(StatusCode::BAD_REQUEST));
    if let Some(seconds) = refused.retry_after_secs() {
        response.insert_header((header::RETRY_AFTER, seconds.to_string()));
    }
    response.json(refused.body())
}

fn text(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=UTF-8")
        .body(body)
}

/// Reads the Engine.IO query of a request (polling or WebSocket): the transport and the session id, or the
/// refusal for a protocol version or transport it does not serve.
pub(crate) fn engine_query(query: &str) -> Result<(Transport, Option<String>), EngineError> {
    let mut query: HashMap<String, String> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    if query.get("EIO").map(String::as_str) != Some("4") {
        return Err(EngineError::UnsupportedProtocolVersion);
    }
    let transport = match query.get("transport").map(String::as_str) {
        Some("polling") => Transport::Polling,
        Some("websocket") => Transport::WebSocket,
        _ => return Err(EngineError::TransportUnknown),
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

/// The long-polling endpoint of `engine` at `path`, also answering `path/` (all methods are routed to it).
pub(crate) fn service(path: &str, engine: Engine) -> actix_web::Resource {
    let path = path.trim_end_matches('/');
    web::resource([path.to_owned(), format!("{path}/")]).route(web::route().to(
        move |req: HttpRequest, payload: web::Payload| {
            let engine = engine.clone();
            async move { endpoint(req, payload, engine).await }
        },
    ))
}

/// Serves every Engine.IO request (all methods are routed here).
async fn endpoint(req: HttpRequest, payload: web::Payload, engine: Engine) -> HttpResponse {
    let (transport, sid) = match engine_query(req.query_string()) {
        Ok(query) => query,
        Err(error) => return refuse(error),
    };
    let method = req.method().clone();
    match (transport, sid) {
        (Transport::WebSocket, Some(sid)) if method == Method::GET && engine.session(&sid).is_none() => {
            refuse(EngineError::SessionIdUnknown)
        }
        (Transport::WebSocket, _) if method == Method::GET => refuse(EngineError::BadRequest),
        (Transport::WebSocket, _) => refuse(EngineError::BadHandshakeMethod),
        (Transport::Polling, None) if method == Method::GET => {
            let client = req
                .peer_addr()
                .and_then(|peer| client_address(peer.ip(), req.headers(), engine.trusted_proxies()));
            match engine.admit(client) {
                Ok(admission) => {
                    let (_session, open) = engine.open(Transport::Polling, admission);
                    text(encode_payload(&[open]))
                }
                Err(refused) => refuse(refused),
            }
        }
        (Transport::Polling, None) => refuse(EngineError::BadHandshakeMethod),
        (Transport::Polling, Some(sid)) => {
            let Some(session) = engine.session(&sid) else {
                return refuse(EngineError::SessionIdUnknown);
            };
            if method == Method::GET {
                match session.poll().await {
                    Ok(body) => text(body),
                    Err(error) => refuse(error),
                }
            } else if method == Method::POST {
                post(&req, payload, &session, engine.config().max_payload).await
            } else {
                refuse(EngineError::BadHandshakeMethod)
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
            return refuse(EngineError::BadRequest);
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
                Err(EngineError::BadRequest)
            }
        }
    };
    match result {
        // Node answers `ok` as text/html, which keeps old browsers from offering a download.
        Ok(()) => HttpResponse::Ok().content_type("text/html").body("ok"),
        Err(error) => refuse(error),
    }
}
