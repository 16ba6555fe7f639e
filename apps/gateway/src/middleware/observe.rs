//! Request id, tracing, metrics, access log and security headers for every response.

use crate::error::{ApiError, Problem};
use crate::extract::{ClientIp, client_ip};
use crate::state::AppState;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage as _, web};
use epop_core::ErrorCode;
use std::time::Instant;
use tracing::Instrument as _;

/// The id of the request being served (the client's `X-Request-Id` when sane, else a new UUIDv7).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

fn client_request_id(req: &ServiceRequest) -> Option<String> {
    let value = req.headers().get(&X_REQUEST_ID)?.to_str().ok()?;
    let sane = (1..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    sane.then(|| value.to_owned())
}

fn is_json(content_type: Option<&HeaderValue>) -> bool {
    content_type.and_then(|v| v.to_str().ok()).is_some_and(|v| {
        let essence = v.split(';').next().unwrap_or("").trim();
        essence == "application/json" || essence.ends_with("+json")
    })
}

/// Longest plain-text error body kept as a problem's `detail`.
const MAX_FOREIGN_DETAIL: usize = 200;

/// Turns an error answer that no EPOP handler made (`actix-cors` refusing a preflight, the HTTP server's own
/// errors) into a problem body like every other error: its status kept, its code from the status, and its text as
/// the `detail` when it is short plain text (server errors never show theirs).
async fn into_problem(
    response: ServiceResponse<BoxBody>,
    request_id: &str,
    public_url: Option<&str>,
) -> ServiceResponse<BoxBody> {
    let status = response.status();
    let (request, response) = response.into_parts();
    let (mut head, body) = response.into_parts();
    let text = match actix_web::body::to_bytes_limited(body, MAX_FOREIGN_DETAIL).await {
        Ok(Ok(bytes)) if status.is_client_error() => String::from_utf8(bytes.to_vec()).ok(),
        _ => None,
    };
    let code = ErrorCode::for_status(status.as_u16());
    let mut problem = ApiError::new(code, text.unwrap_or_default()).problem();
    if problem.detail.as_deref() == Some("") {
        problem.detail = None;
    }
    problem.status = status.as_u16();
    stamp(&mut problem, request_id, public_url);
    head.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    ServiceResponse::new(request, head.set_body(BoxBody::new(body)))
}

/// Completes a problem on its way out: the request id, and its `type` made absolute with `EPOP_PUBLIC_URL` (the
/// gateway serves the reference it points at).
fn stamp(problem: &mut Problem, request_id: &str, public_url: Option<&str>) {
    problem.request_id = Some(request_id.to_owned());
    if let Some(base) = public_url
        && problem.kind.starts_with('/')
    {
        problem.kind = format!("{}{}", base.trim_end_matches('/'), problem.kind);
    }
}

/// Stamps, observes and hardens every request and response.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let started = Instant::now();
    let request_id = client_request_id(&req).unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let state = req.app_data::<web::Data<AppState>>().cloned();
    if let Some(state) = &state
        && let Some(ip) = client_ip(req.request(), &state.config.trusted_proxies)
    {
        req.extensions_mut().insert(ClientIp(ip));
    }
    let method = req.method().clone();
    let span = tracing::info_span!("request", request_id = %request_id, method = %method, path = %loggable_path(req.path()));
    let response = next.call(req).instrument(span.clone()).await?;

    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let status = response.status();
    let mut response = response.map_into_boxed_body();

    let problem = response.response().extensions().get::<Problem>().cloned();
    let public_url = state.as_ref().map(|s| s.config.public_url.as_str());
    if let Some(mut problem) = problem {
        stamp(&mut problem, &request_id, public_url);
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        response = response.map_body(|_, _| BoxBody::new(body));
    } else if (status.is_client_error() || status.is_server_error())
        && !is_json(response.headers().get(header::CONTENT_TYPE))
    {
        response = into_problem(response, &request_id, public_url).await;
    }

    let secure = state.as_ref().is_some_and(|s| s.config.cookie_secure);
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert(X_REQUEST_ID, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if is_json(headers.get(header::CONTENT_TYPE)) {
        if !headers.contains_key(header::CACHE_CONTROL) {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        if headers
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v == "application/json")
        {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            );
        }
    }
    if secure {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }

    let elapsed = started.elapsed();
    if let Some(state) = &state {
        let method = method_label(&method);
        state
            .metrics
            .http_requests
            .with_label_values(&[method, route.as_str(), status.as_str()])
            .inc();
        state
            .metrics
            .http_duration
            .with_label_values(&[method, route.as_str()])
            .observe(elapsed.as_secs_f64());
    }
    span.in_scope(|| {
        tracing::info!(status = status.as_u16(), route = %route, latency_us = elapsed.as_micros() as u64, "request completed");
    });
    Ok(response)
}

/// `path` as the logs show it: a path segment that is a credential (the calendar feed's secret token, an incoming
/// webhook's secret URL) is replaced by `{token}`, so that whoever reads the logs can neither subscribe to
/// someone's calendar nor post into their conversations.
fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    const SECRET_SEGMENT_AFTER: [&str; 2] = ["/api/calendar-feed/", "/hooks/"];
    for prefix in SECRET_SEGMENT_AFTER {
        if let Some(token) = path.strip_prefix(prefix)
            && !token.is_empty()
        {
            return format!("{prefix}{{token}}").into();
        }
    }
    path.into()
}

/// The metrics label of a request method: the standard ones by name, anything else `OTHER` (a client
/// inventing methods must not create a new time series per method).
fn method_label(method: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "OTHER",
    }
}

#[cfg(test)]
mod method_label_tests {
    use super::method_label;
    use actix_web::http::Method;

    #[test]
    fn secret_tokens_stay_out_of_logged_paths() {
        assert_eq!(
            super::loggable_path("/api/calendar-feed/s3cr3t"),
            "/api/calendar-feed/{token}"
        );
        assert_eq!(super::loggable_path("/api/calendar-feed"), "/api/calendar-feed");
        assert_eq!(super::loggable_path("/hooks/s3cr3t"), "/hooks/{token}");
        assert_eq!(super::loggable_path("/api/tasks/1"), "/api/tasks/1");
    }

    #[test]
    fn invented_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::from_bytes(b"FLOOD1").unwrap()), "OTHER");
        assert_eq!(method_label(&Method::from_bytes(b"FLOOD2").unwrap()), "OTHER");
    }
}
