//! HTTP middleware, outermost first: [`close_unread`] (holds a too-slow request body with its answer so that
//! the connection closes), [`observe`] (request id, tracing span, metrics, access log, security
//! headers, problem bodies stamped with the request id), [`cors`], [`mod@body_deadline`] (request bodies that
//! arrive too slowly are refused and their connection closed), and [`api_guard`] on `/api` (token
//! pre-verification and the per-user rate limit).

mod api_guard;
pub mod body_deadline;
mod cors;
mod observe;

pub use api_guard::api_guard;
pub use body_deadline::{body_deadline, close_unread};
pub use cors::cors;
pub use observe::{RequestId, observe};
