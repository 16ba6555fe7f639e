//! CORS with credentials for `/api` and `/socket.io`, answering only the origins in `EPOP_CORS_ORIGINS`.
//! A request from any other origin gets no CORS headers at all (the browser then blocks it).

use crate::state::AppState;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse, web};

const ALLOW_METHODS: &str = "GET, POST, PUT, DELETE, OPTIONS";
const ALLOW_HEADERS: &str = "Authorization, Content-Type, If-Match, X-Request-Id";
const EXPOSE_HEADERS: &str = "ETag, Location, Retry-After, X-Request-Id";
const PREFLIGHT_MAX_AGE: &str = "600";

fn allowed_origin(req: &ServiceRequest) -> Option<HeaderValue> {
    let path = req.path();
    if !(path.starts_with("/api") || path.starts_with("/socket.io")) {
        return None;
    }
    let origin = req.headers().get(header::ORIGIN)?;
    let state = req.app_data::<web::Data<AppState>>()?;
    let text = origin.to_str().ok()?;
    state
        .config
        .cors_origins
        .iter()
        .any(|allowed| allowed == text)
        .then(|| origin.clone())
}

fn add_common(headers: &mut HeaderMap, origin: HeaderValue) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
}

/// Answers preflights from allowed origins and adds CORS headers to their responses.
pub async fn cors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let origin = allowed_origin(&req);
    if let Some(origin) = &origin
        && req.method() == Method::OPTIONS
        && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        let mut response = HttpResponse::NoContent().finish();
        let headers = response.headers_mut();
        add_common(headers, origin.clone());
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(ALLOW_METHODS),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOW_HEADERS),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static(PREFLIGHT_MAX_AGE),
        );
        return Ok(req.into_response(response));
    }
    let mut response = next.call(req).await?.map_into_boxed_body();
    if let Some(origin) = origin {
        let headers = response.headers_mut();
        add_common(headers, origin);
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSE_HEADERS),
        );
    }
    Ok(response)
}
