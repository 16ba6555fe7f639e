//! Slow request bodies: a client that sends a request head and then trickles its body (a byte every few
//! seconds) would hold a connection, a worker's buffers and whatever the handler holds while it reads (a
//! database connection, a partial upload file) for as long as it likes: actix-http's `client_request_timeout`
//! only bounds the head. Every request body is therefore read through `Paced`, which gives up when the body
//! pauses longer than `EPOP_BODY_IDLE_TIMEOUT`, or arrives slower on average than `EPOP_BODY_MIN_RATE` bytes per
//! second (after an allowance of one idle timeout). Only the time the server spends waiting for the client's
//! bytes counts, never the time a handler takes between reads.
//!
//! The request is then answered `400` and its connection closed. actix-http closes a connection after an
//! answer only when the request's body is unfinished and still held; a body its handler dropped is drained
//! first (a chunked one at the client's pace, which is the attack). So the unread rest of the body rides along
//! with the answer: in the response's extensions through the middleware that rewrite bodies, and then, moved
//! there by [`close_unread`] (the outermost middleware), inside the answer's body, which actix-http holds until
//! the answer is written and the connection's fate decided.

use crate::config::BodyLimits;
use crate::error::ApiError;
use crate::state::AppState;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{Error, HttpMessage as _, ResponseError as _, web};
use epop_core::ErrorCode;
use futures_util::Stream;
use std::cell::{Cell, RefCell};
use std::future::Future as _;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// What the body reader tells the middleware once it gave up.
#[derive(Default)]
struct Verdict {
    /// The body was too slow.
    too_slow: Cell<bool>,
    /// The rest of the body, kept unread (see the module notes).
    unread: RefCell<Option<Payload>>,
}

/// The unread rest of a too-slow body, riding along with its response until the response is sent.
struct UnreadBody(Payload);

/// An answer's body that holds the unread rest of its request's body until the answer is written.
struct Holding {
    body: BoxBody,
    #[expect(dead_code, reason = "held only to be dropped once the answer is written")]
    unread: Payload,
}

impl MessageBody for Holding {
    type Error = <BoxBody as MessageBody>::Error;

    fn size(&self) -> actix_web::body::BodySize {
        self.body.size()
    }

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.body).poll_next(cx)
    }
}

/// The outermost middleware: moves the unread rest of a too-slow request body (see [`body_deadline`]) from the
/// response's extensions into its body, once no middleware rewrites the body any more.
pub async fn close_unread(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let mut response = next.call(req).await?.map_into_boxed_body();
    let unread = response.response_mut().extensions_mut().remove::<UnreadBody>();
    Ok(match unread {
        None => response,
        Some(UnreadBody(unread)) => response.map_body(|_, body| BoxBody::new(Holding { body, unread })),
    })
}

/// Reads every request body under `EPOP_BODY_IDLE_TIMEOUT` and `EPOP_BODY_MIN_RATE`.
pub async fn body_deadline(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let limits = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.config.body_limits)
        .filter(|limits| limits.enabled());
    let Some(limits) = limits.filter(|_| has_body(&req)) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let verdict = Rc::new(Verdict::default());
    let body = Paced::new(req.take_payload(), limits, verdict.clone());
    req.set_payload(Payload::Stream {
        payload: Box::pin(body),
    });
    let response = next.call(req).await?;
    if !verdict.too_slow.get() {
        return Ok(response.map_into_boxed_body());
    }
    let (request, _) = response.into_parts();
    let mut answer = ApiError::new(ErrorCode::BadRequest, limits.describe()).error_response();
    if let Some(unread) = verdict.unread.take() {
        answer.extensions_mut().insert(UnreadBody(unread));
    }
    Ok(ServiceResponse::new(request, answer))
}

/// Whether the request announces a body.
fn has_body(req: &ServiceRequest) -> bool {
    let headers = req.headers();
    if headers.contains_key(header::TRANSFER_ENCODING) {
        return true;
    }
    headers.get(header::CONTENT_LENGTH).is_some_and(|value| {
        value
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .is_none_or(|length| length > 0)
    })
}

impl BodyLimits {
    /// Whether either bound is on.
    pub fn enabled(&self) -> bool {
        !self.idle_timeout.is_zero() || self.min_rate > 0
    }

    /// The allowance before the rate counts: one idle timeout (10 s when that is off).
    fn grace(&self) -> Duration {
        if self.idle_timeout.is_zero() {
            Duration::from_secs(10)
        } else {
            self.idle_timeout
        }
    }

    /// How long the server may have waited for a body of which `received` bytes arrived, in all (the rate
    /// bound), if the rate is bounded.
    fn rate_allowance(&self, received: u64) -> Option<Duration> {
        (self.min_rate > 0)
            .then(|| self.grace() + Duration::from_secs_f64(received as f64 / self.min_rate as f64))
    }

    /// The detail of the answer to a too-slow body.
    fn describe(&self) -> String {
        let mut rules = Vec::new();
        if !self.idle_timeout.is_zero() {
            rules.push(format!(
                "pause at most {} ms between two pieces",
                self.idle_timeout.as_millis()
            ));
        }
        if self.min_rate > 0 {
            rules.push(format!("arrive at {} bytes per second at least", self.min_rate));
        }
        format!(
            "the request body arrived too slowly; a body must {}",
            rules.join(" and ")
        )
    }
}

/// A request body read under [`BodyLimits`] (see the module notes).
struct Paced {
    inner: Payload,
    limits: BodyLimits,
    verdict: Rc<Verdict>,
    received: u64,
    /// Time spent waiting for the client's bytes before the current wait.
    waited: Duration,
    /// When the current wait for the client began.
    waiting_since: Option<Instant>,
    timer: Pin<Box<Sleep>>,
    finished: bool,
}

impl Paced {
    fn new(inner: Payload, limits: BodyLimits, verdict: Rc<Verdict>) -> Self {
        Self {
            inner,
            limits,
            verdict,
            received: 0,
            waited: Duration::ZERO,
            waiting_since: None,
            timer: Box::pin(tokio::time::sleep(Duration::ZERO)),
            finished: false,
        }
    }

    /// When the current wait, begun at `since`, must end.
    fn deadline(&self, since: Instant) -> Instant {
        let idle = (!self.limits.idle_timeout.is_zero()).then_some(self.limits.idle_timeout);
        let rate = self
            .limits
            .rate_allowance(self.received)
            .map(|allowance| allowance.saturating_sub(self.waited));
        let patience = match (idle, rate) {
            (Some(idle), Some(rate)) => idle.min(rate),
            (Some(bound), None) | (None, Some(bound)) => bound,
            // Unreachable: the middleware reads bodies this way only with a bound on.
            (None, None) => Duration::from_secs(3600),
        };
        since + patience
    }

    fn stop_waiting(&mut self) {
        if let Some(since) = self.waiting_since.take() {
            self.waited += since.elapsed();
        }
    }

    fn give_up(&mut self) -> Poll<Option<Result<Bytes, PayloadError>>> {
        self.finished = true;
        self.verdict.too_slow.set(true);
        let unread = std::mem::replace(&mut self.inner, Payload::None);
        *self.verdict.unread.borrow_mut() = Some(unread);
        Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "the request body arrived too slowly",
        )))))
    }
}

impl Stream for Paced {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.finished {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                this.stop_waiting();
                this.received += chunk.len() as u64;
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(other) => {
                this.stop_waiting();
                this.finished = other.is_none();
                Poll::Ready(other)
            }
            Poll::Pending => {
                let now = Instant::now();
                let since = *this.waiting_since.get_or_insert(now);
                let deadline = this.deadline(since);
                if now >= deadline {
                    return this.give_up();
                }
                this.timer.as_mut().reset(deadline);
                match this.timer.as_mut().poll(cx) {
                    Poll::Ready(()) => this.give_up(),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(idle_ms: u64, min_rate: u64) -> BodyLimits {
        BodyLimits {
            idle_timeout: Duration::from_millis(idle_ms),
            min_rate,
        }
    }

    #[test]
    fn the_rate_allows_one_idle_timeout_then_a_second_per_min_rate_bytes() {
        let both = limits(10_000, 1024);
        assert!(both.enabled());
        assert_eq!(both.rate_allowance(0), Some(Duration::from_secs(10)));
        assert_eq!(both.rate_allowance(2048), Some(Duration::from_secs(12)));
        assert_eq!(limits(10_000, 0).rate_allowance(2048), None);
        // With the idle bound off, the rate still allows 10 s to start.
        assert_eq!(limits(0, 1024).rate_allowance(0), Some(Duration::from_secs(10)));
        assert!(!limits(0, 0).enabled());
        let detail = both.describe();
        assert!(
            detail.contains("10000 ms") && detail.contains("1024 bytes per second"),
            "{detail}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_ends_at_the_nearer_bound_counting_only_time_spent_waiting() {
        let mut paced = Paced::new(Payload::None, limits(10_000, 100), Rc::default());
        let start = Instant::now();
        // Nothing yet: the idle timeout and the 10 s allowance coincide.
        assert_eq!(paced.deadline(start), start + Duration::from_secs(10));
        // 500 bytes after 9 s of waiting: 15 s allowed in all, 6 s left, the idle timeout is farther.
        paced.received = 500;
        paced.waited = Duration::from_secs(9);
        assert_eq!(paced.deadline(start), start + Duration::from_secs(6));
        // Far ahead of the rate: the idle timeout bounds the wait.
        paced.received = 100_000;
        assert_eq!(paced.deadline(start), start + Duration::from_secs(10));
    }
}
