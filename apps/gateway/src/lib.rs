//! # epop-gateway
//!
//! The one binary in front of the domain crates. It owns everything HTTP: configuration ([`config`]),
//! middleware ([`middleware`]), extractors that speak the contract's error language ([`extract`]), the error
//! mapping to RFC 9457 problem+json ([`error`]), rate limits ([`rate_limit`]), metrics ([`metrics`]), and one
//! file per endpoint under [`routes`]. Domain rules never live here: a handler extracts and validates, calls
//! a service from a domain crate, and maps the answer.
//!
//! Request flow: `observe` (request id, span, metrics, security headers) -> `cors` -> router -> `/api` guard
//! (token pre-check, access token scopes, per-user rate limit) -> handler -> service -> repository -> PostgreSQL.

pub mod app;
pub mod background;
pub mod cli;
pub mod config;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod middleware;
pub mod rate_limit;
pub mod realtime;
pub mod routes;
pub mod rules;
pub mod scopes;
pub mod state;
pub mod telemetry;
