//! Integration tests: the real gateway on a real socket, against real PostgreSQL (a private database per
//! test) and Redis (a private key prefix per test). One test binary, so the build links once.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers panic on unexpected failures: a panic is a failed test with its message"
)]

mod access_tokens;
mod accounts;
mod admin;
mod audit;
mod auth;
mod authz;
mod backup;
mod bots;
mod calendar;
mod calendar_mail;
mod calendar_reminders;
mod calendar_series;
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
mod hostile;
mod incoming_webhooks;
mod mark_unread;
mod mentions;
mod mfa;
mod notification_control;
mod notifications;
mod openapi;
mod pins;
mod presence;
mod projects;
mod push;
mod rate_limits;
mod reactions;
mod realtime;
mod saved;
mod scheduled;
mod search;
mod secrets;
mod sessions;
mod shapes;
mod signed_in;
mod slow_requests;
mod socket;
mod sso;
mod task_reminders;
mod tasks;
mod threads;
mod users;
mod webhooks;
mod wiring;
