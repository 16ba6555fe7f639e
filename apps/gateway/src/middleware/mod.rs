//! HTTP middleware, outermost first: [`observe`] (request id, tracing span, metrics, access log, security
//! headers, problem bodies stamped with the request id), [`cors`], and [`api_guard`] on `/api` (token
//! pre-verification and the per-user rate limit).

mod api_guard;
mod cors;
mod observe;

pub use api_guard::api_guard;
pub use cors::cors;
pub use observe::{RequestId, observe};
