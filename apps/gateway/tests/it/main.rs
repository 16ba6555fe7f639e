//! Integration tests: the real gateway on a real socket, against real PostgreSQL (a private database per
//! test) and Redis (a private key prefix per test). One test binary, so the build links once.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers panic on unexpected failures: a panic is a failed test with its message"
)]

mod accounts;
mod auth;
mod backup;
mod calendar;
mod chat;
mod cli;
mod client;
mod conventions;
mod deploy;
mod email;
mod faults;
mod files;
mod floods;
mod health;
mod helpers;
mod mfa;
mod notifications;
mod openapi;
mod presence;
mod projects;
mod push;
mod rate_limits;
mod reactions;
mod realtime;
mod sessions;
mod shapes;
mod slow_requests;
mod socket;
mod tasks;
mod threads;
mod users;
mod wiring;
