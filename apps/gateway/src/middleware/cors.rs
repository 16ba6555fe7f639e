//! CORS with credentials for `/api` and `/socket.io`, answering only the origins in `EPOP_CORS_ORIGINS`, built
//! on `actix-cors`. A request from any other origin, or for another path, gets no CORS headers at all (the
//! browser then blocks it); a preflight from such an origin is refused by `actix-cors` with `400`.

use actix_cors::Cors;
use actix_web::http::{Method, header};

/// Headers a browser may send on cross-origin requests.
const ALLOW_HEADERS: [header::HeaderName; 4] = [
    header::AUTHORIZATION,
    header::CONTENT_TYPE,
    header::IF_MATCH,
    header::HeaderName::from_static("x-request-id"),
];
/// Response headers a browser script may read.
const EXPOSE_HEADERS: [header::HeaderName; 4] = [
    header::ETAG,
    header::LOCATION,
    header::RETRY_AFTER,
    header::HeaderName::from_static("x-request-id"),
];
/// How long a browser may cache a preflight answer, in seconds.
const PREFLIGHT_MAX_AGE: usize = 600;

/// The CORS middleware for `origins` (exact matches of the `Origin` header).
pub fn cors(origins: &[String]) -> Cors {
    let origins: Vec<String> = origins.to_vec();
    Cors::default()
        .allowed_origin_fn(move |origin, request| {
            let path = request.uri.path();
            (path.starts_with("/api") || path.starts_with("/socket.io"))
                && origin
                    .to_str()
                    .is_ok_and(|origin| origins.iter().any(|allowed| allowed == origin))
        })
        .allowed_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allowed_headers(ALLOW_HEADERS)
        .expose_headers(EXPOSE_HEADERS)
        .supports_credentials()
        .max_age(PREFLIGHT_MAX_AGE)
}
