//! Engine.IO over WebSocket, on the raw connection.
//!
//! actix-http hands every WebSocket upgrade request to this module together with the connection itself
//! (its upgrade service), so a WebSocket costs one task and no HTTP machinery: the HTTP/1 dispatcher's two
//! 8 KiB buffers are released at the upgrade, reading uses a buffer only while a frame is arriving, and
//! writing gathers the session's queued frames, shared with every other socket that receives the same
//! event, into one vectored write. Frames are parsed with actix-http's WebSocket codec (masking, lengths,
//! control frames, continuation order, the size limit); continuations are joined here up to `max_payload`.
//!
//! The task serves one session from first to last frame: the open packet (direct WebSocket) or the
//! probe/upgrade exchange (a polling session moving over), then reads and writes until either side ends,
//! and flushes what was queued before the end followed by a close frame.

use crate::engine::{Admission, CloseReason, Engine, Session, Transport};
use crate::error::{EngineError, Refused};
use crate::frame::{OutFrame, close_frame, pong_frame};
use crate::polling::{client_address, engine_query};
use actix_codec::{Decoder as _, Framed};
use actix_http::body::BodySize;
use actix_http::h1;
use actix_http::ws::{self, Frame, Item};
use actix_http::{Request, Response, StatusCode};
use bytes::{Buf as _, Bytes, BytesMut};
use epop_realtime_protocol::engine::{Packet, Payload};
use futures_util::SinkExt as _;
use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::TcpStream;

/// The upgraded connection as actix-http hands it over.
pub(crate) type Upgrade = (Request, Framed<TcpStream, h1::Codec>);

/// How long the last frames and the close frame may take to leave once a session ended.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);
/// Most frames handed to one vectored write.
const MAX_IOVECS: usize = 64;
/// Rounds of writing and reading in one poll before the task yields to the worker's other tasks.
const POLL_ROUNDS: usize = 16;
/// Bytes read per readiness event before queued writes get their turn.
const READ_BUDGET: usize = 64 * 1024;
/// Unwritten bytes past which the connection stops reading: a client that sends but does not read (pings,
/// events that are answered) is held back by TCP's own flow control instead of growing what waits for it here.
const MAX_PENDING_BYTES: usize = 256 * 1024;

/// The answer to an upgrade request for a path no engine serves.
#[derive(Debug, Clone)]
pub(crate) struct NotFound {
    pub(crate) content_type: &'static str,
    pub(crate) body: Bytes,
}

impl Default for NotFound {
    fn default() -> Self {
        Self {
            content_type: "text/plain; charset=utf-8",
            body: Bytes::from_static(b"Not Found"),
        }
    }
}

/// Which engine serves WebSocket upgrades on which path (`/socket.io` also answers `/socket.io/`).
#[derive(Clone, Default)]
pub(crate) struct WebSocketRoutes {
    routes: Arc<Vec<(String, Engine)>>,
    not_found: NotFound,
}

impl std::fmt::Debug for WebSocketRoutes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.routes.iter().map(|(path, _)| path))
            .finish()
    }
}

impl WebSocketRoutes {
    /// Routes each path (without its trailing slash) to its engine; other paths get `not_found`.
    pub(crate) fn new(routes: Vec<(String, Engine)>, not_found: NotFound) -> Self {
        Self {
            routes: Arc::new(
                routes
                    .into_iter()
                    .map(|(path, engine)| (path.trim_end_matches('/').to_owned(), engine))
                    .collect(),
            ),
            not_found,
        }
    }

    fn engine(&self, path: &str) -> Option<&Engine> {
        let path = path.strip_suffix('/').unwrap_or(path);
        self.routes
            .iter()
            .find(|(route, _)| route == path)
            .map(|(_, engine)| engine)
    }
}

/// Takes over an upgrade request: serves it on a task of its own (on this worker), so that the HTTP
/// dispatcher that handed it over, and everything it holds, is freed at once.
pub(crate) fn take_over(
    routes: WebSocketRoutes,
    upgrade: Upgrade,
) -> std::future::Ready<Result<(), std::convert::Infallible>> {
    actix_web::rt::spawn(serve(routes, Box::new(upgrade)));
    std::future::ready(Ok(()))
}

/// Serves one upgrade request: refuses it with the HTTP answer Engine.IO gives, or answers `101` and runs
/// the connection until it ends. The upgrade arrives boxed and the handshake runs boxed, so that the task of
/// a connection that lives for hours holds only the [`Connection`], its session and a poll function (the
/// request, the HTTP codec and the upgrade exchange would otherwise size its future for as long as it lives:
/// 1.6 KiB instead of 240 bytes).
async fn serve(routes: WebSocketRoutes, upgrade: Box<Upgrade>) {
    let Some((mut connection, session)) = Box::pin(handshake(routes, upgrade)).await else {
        return;
    };
    // What arrived with the handshake or right behind the upgrade's `5`.
    connection.deliver_buffered(&session);
    let ended = std::future::poll_fn(|cx| connection.poll_serve(&session, cx)).await;
    if ended == Ended::Session {
        // Boxed: the timer and the flush would otherwise size the future of every connection.
        Box::pin(connection.close_gracefully()).await;
    }
}

/// Answers an upgrade request: `None` when it was refused (the answer is written) or the upgrade of a
/// polling session did not complete (this WebSocket is closed); else the connection and its session.
async fn handshake(routes: WebSocketRoutes, upgrade: Box<Upgrade>) -> Option<(Connection, Arc<Session>)> {
    let (request, mut framed) = *upgrade;
    let Some(engine) = routes.engine(request.path()) else {
        let NotFound { content_type, body } = routes.not_found.clone();
        respond(&mut framed, StatusCode::NOT_FOUND, None, content_type, body).await;
        return None;
    };
    let engine = engine.clone();
    let upgrading = match accept(&request, &engine) {
        Ok(upgrading) => upgrading,
        Err(error) => {
            refuse(&mut framed, error.into()).await;
            return None;
        }
    };
    // A new session counts against its client network's limits before anything is answered.
    let opening = match upgrading {
        Some(session) => Opening::Upgrade(session),
        None => {
            let client = request.peer_addr().and_then(|peer| {
                client_address(peer.ip(), &request.head().headers, engine.trusted_proxies())
            });
            match engine.admit(client) {
                Ok(admission) => Opening::New(admission),
                Err(refused) => {
                    refuse(&mut framed, refused.into()).await;
                    return None;
                }
            }
        }
    };
    let response = match ws::handshake(request.head()).map(|mut builder| builder.message_body(())) {
        Ok(Ok(response)) => response,
        _ => {
            refuse(&mut framed, EngineError::BadRequest.into()).await;
            return None;
        }
    };
    drop(request);
    // Claimed before the `101` goes out, so that a poll the client sends next already sees an upgrade under way.
    let probing = match &opening {
        Opening::Upgrade(session) => Some(session.begin_probe()),
        Opening::New(_) => None,
    };
    if framed
        .send(h1::Message::Item((response, BodySize::None)))
        .await
        .is_err()
    {
        if let (Opening::Upgrade(session), Some(true)) = (&opening, probing) {
            session.abort_upgrade();
        }
        return None;
    }
    // The HTTP codec and its two buffers are dropped here (only their fields that are moved out would
    // otherwise be released, the rest living as long as the connection).
    let actix_codec::FramedParts { io, read_buf, .. } = framed.into_parts();
    let config = *engine.config();
    let mut connection = Connection {
        io,
        // Frames the client sent right behind its handshake.
        read_buf: BytesMut::from(&read_buf[..]),
        codec: ws::Codec::new().max_size(config.max_payload),
        partial: None,
        max_payload: config.max_payload,
        pending: VecDeque::new(),
        pending_bytes: 0,
        pong: None,
        taken: VecDeque::new(),
    };
    drop(read_buf);
    let session = match opening {
        Opening::New(admission) => {
            let (session, open) = engine.open(Transport::WebSocket, admission);
            connection.queue(OutFrame::packet(&open).wire().clone());
            session
        }
        Opening::Upgrade(session) => {
            let upgraded =
                probing == Some(true) && connection.upgrade(&session, config.upgrade_timeout).await;
            if !upgraded {
                connection.close_gracefully().await;
                return None;
            }
            session
        }
    };
    Some((connection, session))
}

/// Checks the Engine.IO query of an upgrade request; returns the polling session it upgrades, if any, or
/// the refusal.
fn accept(request: &Request, engine: &Engine) -> Result<Option<Arc<Session>>, EngineError> {
    let (transport, sid) = engine_query(request.uri().query().unwrap_or(""))?;
    if transport != Transport::WebSocket {
        return Err(EngineError::BadRequest);
    }
    if request.method() != actix_http::Method::GET {
        return Err(EngineError::BadHandshakeMethod);
    }
    match sid {
        None => Ok(None),
        Some(sid) => engine
            .session(&sid)
            .map(Some)
            .ok_or(EngineError::SessionIdUnknown),
    }
}

/// What an accepted upgrade request does: open a new session, or move a polling session over.
enum Opening {
    New(Admission),
    Upgrade(Arc<Session>),
}

/// Answers a refused upgrade request as Engine.IO does (see [`Refused`]).
async fn refuse(framed: &mut Framed<TcpStream, h1::Codec>, refused: Refused) {
    let status = StatusCode::from_u16(refused.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let body = Bytes::from(refused.body().to_string());
    respond(
        framed,
        status,
        refused.retry_after_secs(),
        "application/json",
        body,
    )
    .await;
}

/// Writes a complete HTTP answer on a connection that is not upgraded after all.
async fn respond(
    framed: &mut Framed<TcpStream, h1::Codec>,
    status: StatusCode,
    retry_after: Option<u64>,
    content_type: &'static str,
    body: Bytes,
) {
    let mut response = Response::build(status);
    response.content_type(content_type);
    if let Some(seconds) = retry_after {
        response.insert_header((actix_http::header::RETRY_AFTER, seconds.to_string()));
    }
    response.insert_header((actix_http::header::CONNECTION, "close"));
    let Ok(response) = response.message_body(()) else {
        return;
    };
    let size = BodySize::Sized(body.len() as u64);
    let _ = framed.send(h1::Message::Item((response, size))).await;
    let _ = framed.send(h1::Message::Chunk(Some(body))).await;
    let _ = framed.send(h1::Message::Chunk(None)).await;
}

/// A message from the client, continuations joined.
#[derive(Debug)]
enum Incoming {
    Text(Bytes),
    Binary(Bytes),
    Ping(Bytes),
    Pong,
    Close,
}

/// The client broke the WebSocket protocol or left.
#[derive(Debug)]
struct Gone;

struct Connection {
    io: TcpStream,
    read_buf: BytesMut,
    codec: ws::Codec,
    /// A message arriving in continuation frames: whether it is text, and what came so far.
    partial: Option<(bool, BytesMut)>,
    max_payload: usize,
    /// Whole frames waiting for the socket, the first possibly partly written.
    pending: VecDeque<Bytes>,
    /// Bytes in `pending` not yet written.
    pending_bytes: usize,
    /// The answer to the client's latest ping, not yet queued. At most one pong waits: RFC 6455 (5.5.3) lets
    /// an endpoint answer only the most recent of several pings, so a ping flood costs one frame, not a queue.
    pong: Option<Bytes>,
    /// Scratch space for frames taken from the session's queue.
    taken: VecDeque<OutFrame>,
}

/// The connection broke or the client left: the session ends, and nothing more is written.
fn transport_gone(session: &Session) -> Poll<Ended> {
    session.close(CloseReason::TransportClose);
    Poll::Ready(Ended::Transport)
}

/// How serving a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    /// The session ended: its last frames and a close frame are flushed.
    Session,
    /// The connection broke or the client closed it: nothing more can be written.
    Transport,
}

impl Connection {
    /// Decodes the next complete message from what was read.
    fn decode(&mut self) -> Result<Option<Incoming>, Gone> {
        loop {
            let Some(frame) = self.codec.decode(&mut self.read_buf).map_err(|_| Gone)? else {
                return Ok(None);
            };
            let item = match frame {
                Frame::Text(data) => return Ok(Some(Incoming::Text(data))),
                Frame::Binary(data) => return Ok(Some(Incoming::Binary(data))),
                Frame::Ping(data) => return Ok(Some(Incoming::Ping(data))),
                Frame::Pong(_) => return Ok(Some(Incoming::Pong)),
                Frame::Close(_) => return Ok(Some(Incoming::Close)),
                Frame::Continuation(item) => item,
            };
            match item {
                Item::FirstText(data) => self.partial = Some((true, BytesMut::from(&data[..]))),
                Item::FirstBinary(data) => self.partial = Some((false, BytesMut::from(&data[..]))),
                Item::Continue(data) => {
                    let (_, so_far) = self.partial.as_mut().ok_or(Gone)?;
                    so_far.extend_from_slice(&data);
                    if so_far.len() > self.max_payload {
                        return Err(Gone);
                    }
                }
                Item::Last(data) => {
                    let (text, mut whole) = self.partial.take().ok_or(Gone)?;
                    whole.extend_from_slice(&data);
                    if whole.len() > self.max_payload {
                        return Err(Gone);
                    }
                    let whole = whole.freeze();
                    return Ok(Some(if text {
                        Incoming::Text(whole)
                    } else {
                        Incoming::Binary(whole)
                    }));
                }
            }
        }
    }

    /// Reads what the socket has (up to a budget); `Err` when the client closed the connection.
    fn read_available(&mut self) -> Result<(), Gone> {
        let mut read = 0;
        while read < READ_BUDGET {
            if self.read_buf.capacity() - self.read_buf.len() < 1024 {
                self.read_buf.reserve(4096);
            }
            match self.io.try_read_buf(&mut self.read_buf) {
                Ok(0) => return Err(Gone),
                Ok(n) => read += n,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Err(Gone),
            }
        }
        Ok(())
    }

    /// An idle connection keeps no read buffer.
    fn release_read_buffer(&mut self) {
        if self.read_buf.is_empty() {
            self.read_buf = BytesMut::new();
        }
    }

    /// The next message, waiting for the network (used during the upgrade exchange).
    async fn next_message(&mut self) -> Result<Incoming, Gone> {
        loop {
            if let Some(message) = self.decode()? {
                return Ok(message);
            }
            self.io.readable().await.map_err(|_| Gone)?;
            self.read_available()?;
        }
    }

    /// Writes as much of `pending` as the socket takes without waiting; `Err` when the socket is gone.
    fn write_available(&mut self) -> Result<(), Gone> {
        while !self.pending.is_empty() {
            let slices: Vec<IoSlice<'_>> = self
                .pending
                .iter()
                .take(MAX_IOVECS)
                .map(|frame| IoSlice::new(frame))
                .collect();
            let mut written = match self.io.try_write_vectored(&slices) {
                Ok(0) => return Err(Gone),
                Ok(n) => n,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return Err(Gone),
            };
            self.pending_bytes = self.pending_bytes.saturating_sub(written);
            while written > 0 {
                let Some(front) = self.pending.front_mut() else {
                    break;
                };
                if written >= front.len() {
                    written -= front.len();
                    self.pending.pop_front();
                } else {
                    front.advance(written);
                    written = 0;
                }
            }
        }
        Ok(())
    }

    /// Queues a whole frame behind those pending.
    fn queue(&mut self, frame: Bytes) {
        self.pending_bytes += frame.len();
        self.pending.push_back(frame);
    }

    /// Queues the waiting pong, if any (only between whole frames: `pending` is empty or starts a new frame).
    fn queue_pong(&mut self) {
        if let Some(pong) = self.pong.take() {
            self.queue(pong);
        }
    }

    /// Whether the client must wait with its next frames until more of what is pending was written.
    fn over_write_cap(&self) -> bool {
        self.pending_bytes > MAX_PENDING_BYTES
    }

    /// Writes everything pending, waiting for the socket as needed.
    async fn flush(&mut self) -> Result<(), Gone> {
        self.queue_pong();
        loop {
            self.write_available()?;
            if self.pending.is_empty() {
                return Ok(());
            }
            self.io.writable().await.map_err(|_| Gone)?;
        }
    }

    /// The probe/upgrade exchange that moves a polling session here, once [`Session::begin_probe`] accepted
    /// this WebSocket; `false` when it did not complete (the caller closes this WebSocket; the session goes on
    /// over polling). A WebSocket that `begin_probe` refused (the session is upgraded already, or another
    /// WebSocket is upgrading it) is accepted and closed at once.
    async fn upgrade(&mut self, session: &Arc<Session>, timeout: Duration) -> bool {
        let probe = tokio::time::timeout(timeout, self.next_message()).await;
        let probed = matches!(&probe, Ok(Ok(Incoming::Text(text))) if &text[..] == b"2probe");
        if !probed || !session.begin_upgrade() {
            session.abort_upgrade();
            return false;
        }
        self.queue(OutFrame::text("3probe").wire().clone());
        // Written without yielding when the socket takes it (it always has room for 7 bytes), so that a `5`
        // that came with the probe is handled at once.
        let written = match self.write_available() {
            Ok(()) if self.pending.is_empty() => Ok(()),
            Ok(()) => self.flush().await,
            Err(gone) => Err(gone),
        };
        if written.is_err() {
            session.abort_upgrade();
            return false;
        }
        loop {
            match tokio::time::timeout(timeout, self.next_message()).await {
                Ok(Ok(Incoming::Text(text))) if &text[..] == b"5" => break,
                Ok(Ok(Incoming::Text(text))) if &text[..] == b"6" => {}
                Ok(Ok(Incoming::Ping(data))) => self.pong = Some(pong_frame(&data)),
                _ => {
                    session.abort_upgrade();
                    return false;
                }
            }
        }
        session.finish_upgrade();
        true
    }

    /// Hands one client message to the session; `Err` ends the connection.
    fn deliver(&mut self, session: &Arc<Session>, message: Incoming) -> Result<(), EngineError> {
        match message {
            Incoming::Text(data) => {
                let packet = std::str::from_utf8(&data)
                    .ok()
                    .and_then(|text| Packet::from_text_frame(text).ok());
                match packet {
                    Some(packet) => session.receive(packet),
                    None => {
                        session.close(CloseReason::ProtocolError);
                        Err(EngineError::BadRequest)
                    }
                }
            }
            Incoming::Binary(data) => session.receive(Packet::Message(Payload::Binary(data))),
            Incoming::Ping(data) => {
                self.pong = Some(pong_frame(&data));
                Ok(())
            }
            Incoming::Pong => Ok(()),
            Incoming::Close => {
                session.close(CloseReason::TransportClose);
                Err(EngineError::BadRequest)
            }
        }
    }

    /// Hands every complete message read so far to the session.
    fn deliver_buffered(&mut self, session: &Arc<Session>) {
        loop {
            match self.decode() {
                Ok(Some(message)) => {
                    if self.deliver(session, message).is_err() {
                        break;
                    }
                }
                Ok(None) => break,
                Err(Gone) => {
                    session.close(CloseReason::ProtocolError);
                    break;
                }
            }
        }
        self.release_read_buffer();
    }

    /// Serves the session: writes what it queues, reads what the client sends, until one side ends. Polled
    /// directly (no futures of its own, so an idle connection's task stays small and a wake costs no future
    /// set-up): the socket's readiness and the session's writer waker are registered with `cx`.
    fn poll_serve(&mut self, session: &Arc<Session>, cx: &mut Context<'_>) -> Poll<Ended> {
        for _ in 0..POLL_ROUNDS {
            // Registered before the queue is looked at: a frame queued after the look wakes this task.
            session.register_writer(cx.waker());
            if self.pending.is_empty() || session.is_closed() {
                self.queue_pong();
                let ended = session.take_outbound(&mut self.taken);
                let frames: Vec<Bytes> = self.taken.drain(..).map(OutFrame::into_wire).collect();
                for frame in frames {
                    self.queue(frame);
                }
                if ended {
                    return Poll::Ready(Ended::Session);
                }
            }
            if self.write_available().is_err() {
                return transport_gone(session);
            }
            let mut progressed = false;
            // Over the cap, the socket is not read (nor its readiness registered): writing makes room first.
            if !self.over_write_cap() {
                match self.io.poll_read_ready(cx) {
                    Poll::Ready(Ok(())) => {
                        if self.read_available().is_err() {
                            return transport_gone(session);
                        }
                        self.deliver_buffered(session);
                        progressed = true;
                    }
                    Poll::Ready(Err(_)) => {
                        return transport_gone(session);
                    }
                    Poll::Pending => {}
                }
            }
            if !self.pending.is_empty() {
                match self.io.poll_write_ready(cx) {
                    Poll::Ready(Ok(())) => progressed = true,
                    Poll::Ready(Err(_)) => {
                        return transport_gone(session);
                    }
                    Poll::Pending => {}
                }
            }
            if !progressed {
                return Poll::Pending;
            }
        }
        // A client that keeps the socket busy gets its turn again after the worker's other tasks.
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    /// Flushes what is queued and a close frame, then shuts down the writing side (at most [`FLUSH_TIMEOUT`]).
    async fn close_gracefully(&mut self) {
        self.queue_pong();
        self.queue(close_frame());
        if let Ok(Ok(())) = tokio::time::timeout(FLUSH_TIMEOUT, self.flush()).await {
            let _ = tokio::io::AsyncWriteExt::shutdown(&mut self.io).await;
        }
    }
}
