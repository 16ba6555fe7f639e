//! Typed configuration, read once at start from the environment (and `.env`, which the environment
//! overrides), with exactly the variable names of `docs/api.md` (Settings). Nothing reads the environment later:
//! the [`Config`] is passed down.

use ipnet::IpNet;
use secrecy::{ExposeSecret as _, SecretString};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The smallest accepted `EPOP_JWT_SECRET`, in bytes.
pub const MIN_JWT_SECRET_BYTES: usize = 32;

/// A configuration variable that is missing or has a bad value.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {variable}: {message}")]
pub struct ConfigError {
    /// The variable's name.
    pub variable: &'static str,
    /// What is wrong with it.
    pub message: String,
}

impl ConfigError {
    fn new(variable: &'static str, message: impl Into<String>) -> Self {
        Self {
            variable,
            message: message.into(),
        }
    }
}

/// Object storage settings: S3 when configured, else a local directory.
#[derive(Debug, Clone)]
pub enum StorageConfig {
    /// An S3-compatible bucket.
    S3(epop_storage::object_store::S3Settings),
    /// Files in a local directory.
    Local(PathBuf),
}

/// Requests per minute allowed by each rate limit (`0` turns a limit off).
#[derive(Debug, Clone, Copy)]
pub struct RateLimits {
    /// Register, login and refresh: per client IP and per e-mail.
    pub auth_per_minute: u32,
    /// Every other API request: per user (per IP before authentication).
    pub api_per_minute: u32,
    /// Socket events per 10 s per socket.
    pub socket_per_10s: u32,
    /// Password reset and verification e-mail requests per hour, per client IP and per e-mail address (an EPOP
    /// addition, `EPOP_ACCOUNT_EMAIL_RATE_LIMIT`, default 5).
    pub account_email_per_hour: u32,
}

/// What one real-time client may make a node hold or do (each an EPOP addition; see the README's table).
#[derive(Debug, Clone, Copy)]
pub struct RealtimeLimits {
    /// Socket.IO packets waiting to be handled per session before it is closed (`EPOP_SOCKET_INBOX_PACKETS`).
    pub inbox_packets: usize,
    /// Bytes of those packets (`EPOP_SOCKET_INBOX_BYTES`).
    pub inbox_bytes: usize,
    /// CONNECT packets per Engine.IO session over its life (`EPOP_SOCKET_CONNECTS_PER_SESSION`).
    pub connects_per_session: usize,
    /// Socket.IO connects per user per minute, on every node together (`EPOP_SOCKET_CONNECT_RATE_LIMIT`;
    /// `0`: off).
    pub connects_per_user_per_minute: u32,
    /// Engine.IO handshakes per client network per minute on one node (`EPOP_REALTIME_HANDSHAKE_RATE_LIMIT`;
    /// `0`: off).
    pub handshakes_per_client_per_minute: u32,
    /// Engine.IO sessions open at once per client network on one node (`EPOP_REALTIME_SESSIONS_PER_CLIENT`;
    /// `0`: off).
    pub sessions_per_client: usize,
    /// The least time between two presence announcements of one user (`EPOP_PRESENCE_INTERVAL_MS`): a
    /// user whose sockets come and go within it is announced once, with where they ended up.
    pub presence_interval: Duration,
}

/// How slowly a client may send a request (EPOP additions; see [`mod@crate::middleware::body_deadline`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimits {
    /// The longest pause between two pieces of a request body (`EPOP_BODY_IDLE_TIMEOUT` in seconds, default
    /// 10; `0` turns it off).
    pub idle_timeout: Duration,
    /// The slowest average a request body may arrive at, in bytes per second, counted after an allowance of one
    /// idle timeout (`EPOP_BODY_MIN_RATE`, default 1024; `0` turns it off).
    pub min_rate: u64,
}

/// The gateway's whole configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// PostgreSQL URL.
    pub database_url: SecretString,
    /// Redis URL; `None` runs a single node with in-process fan-out and limits.
    pub redis_url: Option<SecretString>,
    /// Prefix of every Redis key and channel (an EPOP addition: several deployments or tests can share Redis).
    pub redis_prefix: String,
    /// Address to serve on.
    pub listen: SocketAddr,
    /// HS256 secret for access tokens.
    pub jwt_secret: SecretString,
    /// Where files live.
    pub storage: StorageConfig,
    /// Origins allowed to call the API from a browser.
    pub cors_origins: Vec<String>,
    /// Sender of e-mails.
    pub smtp_from: String,
    /// SMTP server; `None` sends no e-mail.
    pub smtp_url: Option<SecretString>,
    /// The web app's address, which links in account e-mails point into (an EPOP addition, `EPOP_APP_URL`,
    /// default `EPOP_PUBLIC_URL`): `{app_url}/reset-password?token=...`, `{app_url}/verify-email?token=...`.
    pub app_url: String,
    /// Whether signing in needs a verified e-mail address (an EPOP addition, `EPOP_REQUIRE_VERIFIED_EMAIL`,
    /// default false; needs `EPOP_SMTP_URL`).
    pub require_verified_email: bool,
    /// The 32-byte key TOTP secrets are encrypted with (an EPOP addition, `EPOP_MFA_KEY`, base64); `None`:
    /// derived from `EPOP_JWT_SECRET` (then rotating that secret makes enrolled second factors unusable).
    pub mfa_key: Option<SecretString>,
    /// The 32-byte key webhook signing secrets are sealed with (an EPOP addition, `EPOP_WEBHOOK_KEY`, base64);
    /// `None`: derived from `EPOP_JWT_SECRET` (then rotating that secret makes the webhooks' secrets unusable).
    pub webhook_key: Option<SecretString>,
    /// Web Push signing key; `None` generates one at first start.
    pub vapid_private_key: Option<SecretString>,
    /// Web Push contact.
    pub vapid_subject: String,
    /// Which push endpoints may be contacted, and how many subscriptions a user keeps (EPOP additions:
    /// `EPOP_PUSH_SUBSCRIPTIONS_MAX`, default 10; `EPOP_PUSH_ALLOW_LOOPBACK_FOR_TESTS`, default false, which
    /// lets tests run a push service on 127.0.0.1 and must never be on in production).
    pub push: epop_notifications::push::PushPolicy,
    /// Outgoing webhooks (EPOP additions): `EPOP_WEBHOOKS_MAX_PER_SCOPE` (webhooks per conversation, project or
    /// the server, default 10, `0`: no limit), `EPOP_WEBHOOK_TIMEOUT` (seconds one delivery attempt may take,
    /// default 15), `EPOP_WEBHOOK_MAX_RETRY_AFTER` (the longest wait a receiver's `Retry-After` may ask for, in
    /// seconds, default 3600), `EPOP_WEBHOOK_ATTEMPTS_KEPT` (attempts kept in each delivery's attempt log, the
    /// newest, 1..=1000, default 50), and `EPOP_WEBHOOKS_ALLOW_LOOPBACK_FOR_TESTS` (default false: lets tests
    /// run a receiver on 127.0.0.1; never on in production).
    pub webhooks: epop_webhooks::WebhookSettings,
    /// Days a finished webhook delivery stays in its log (`EPOP_WEBHOOK_DELIVERY_RETENTION_DAYS`, default 30;
    /// `0`: forever).
    pub webhook_delivery_retention_days: u64,
    /// OpenTelemetry OTLP endpoint; `None` exports no traces.
    pub otel_endpoint: Option<String>,
    /// Sentry DSN; `None` reports no errors.
    pub sentry_dsn: Option<SecretString>,
    /// `Secure` flag on the refresh cookie, and HSTS.
    pub cookie_secure: bool,
    /// Requests per client before `429` (each `0` turns its limit off).
    pub rate_limits: RateLimits,
    /// Limits of real-time clients.
    pub realtime: RealtimeLimits,
    /// PostgreSQL connections per gateway.
    pub db_pool_size: usize,
    /// How long a pooled PostgreSQL connection may stay unused before it is closed (`EPOP_DB_POOL_IDLE_TIMEOUT`
    /// seconds; 0 keeps them open).
    pub db_pool_idle_timeout: Duration,
    /// The gateway's address as clients reach it.
    pub public_url: String,
    /// Largest upload in bytes.
    pub max_upload_bytes: u64,
    /// Upload slots one user may hold that are not attached to a message (an EPOP addition,
    /// `EPOP_MAX_OPEN_UPLOADS`, default 50; `0` turns the limit off).
    pub max_open_uploads: u64,
    /// Bytes (as declared) one user may hold in uploads not attached to a message (an EPOP addition,
    /// `EPOP_MAX_UNATTACHED_BYTES`, default 1 GiB; `0` turns the limit off).
    pub max_unattached_bytes: u64,
    /// Distinct emoji one message may carry as reactions (an EPOP addition, `EPOP_MAX_REACTION_EMOJI`, default
    /// 20; `0` turns the limit off).
    pub max_reaction_emoji: u64,
    /// The most members a conversation may have for `<!all>` or `<!here>` in a message (an EPOP addition,
    /// `EPOP_MAX_ALL_MENTION_MEMBERS`, default 100): past it such a message is `422`.
    pub max_all_mention_members: u64,
    /// Conversations of at most this many members notify every message by default, larger ones only mentions
    /// (an EPOP addition, `EPOP_NOTIFY_ALL_MAX_MEMBERS`, default 10; values under 2 count as 2).
    pub notify_all_max_members: u64,
    /// Scheduled messages one user may have waiting (an EPOP addition, `EPOP_MAX_PENDING_SCHEDULED`, default
    /// 100; `0` turns the limit off).
    pub max_pending_scheduled: u64,
    /// Reminders one user may have waiting (an EPOP addition, `EPOP_MAX_PENDING_REMINDERS`, default 100; `0`
    /// turns the limit off).
    pub max_pending_reminders: u64,
    /// Messages one user may have saved (an EPOP addition, `EPOP_MAX_SAVED_MESSAGES`, default 1000; `0` turns
    /// the limit off).
    pub max_saved_messages: u64,
    /// Messages one conversation may have pinned (an EPOP addition, `EPOP_MAX_PINS`, default 100; `0` turns the
    /// limit off).
    pub max_pins: u64,
    /// Personal access tokens one user (or bot) may hold (an EPOP addition, `EPOP_MAX_ACCESS_TOKENS`, default
    /// 50; `0` turns the limit off). Expired tokens are dropped when a new one is created.
    pub max_access_tokens: u64,
    /// Incoming webhooks one conversation may have (an EPOP addition, `EPOP_MAX_INCOMING_WEBHOOKS`, default 20;
    /// `0` turns the limit off).
    pub max_incoming_webhooks: u64,
    /// Messages one incoming webhook may post per minute, all nodes together (an EPOP addition,
    /// `EPOP_INCOMING_WEBHOOK_RATE_LIMIT`, default 60; `0` turns the limit off).
    pub incoming_webhook_per_minute: u32,
    /// Days the audit log keeps its rows; older ones are deleted hourly (an EPOP addition,
    /// `EPOP_AUDIT_RETENTION_DAYS`, default 365; `0` keeps them forever).
    pub audit_retention_days: u64,
    /// Calendar bounds: `EPOP_CALENDAR_MAX_SERIES_INSTANCES` (instances of one series, default 1000; an
    /// open-ended series ends there), `EPOP_CALENDAR_MAX_SERIES_PER_USER` (500), `EPOP_CALENDAR_MAX_ATTENDEES`
    /// (100), `EPOP_CALENDAR_MAX_EXDATES` (1000), `EPOP_CALENDAR_MAX_FREE_BUSY_USERS` (20),
    /// `EPOP_CALENDAR_MAX_FREE_BUSY_DAYS` (62), `EPOP_CALENDAR_MAX_REMINDERS` (reminders one user sets on one
    /// event, 5).
    pub calendar: epop_calendar::CalendarLimits,
    /// Levels of a task tree, a top-level task counting as one (`EPOP_TASK_MAX_DEPTH`, default 5, at least 1).
    pub task_max_depth: u32,
    /// Comments one task may carry (`EPOP_TASK_MAX_COMMENTS`, default 5,000).
    pub task_max_comments: u64,
    /// Labels one project may have (`EPOP_PROJECT_MAX_LABELS`, default 100).
    pub project_max_labels: u64,
    /// Labels one task may carry (`EPOP_TASK_MAX_LABELS`, default 20).
    pub task_max_labels: u64,
    /// Minutes before a task's due date its assignee is reminded (`EPOP_TASK_DUE_REMINDERS`, comma-separated,
    /// default `1440,0`: the day before and at the due time; `none`: none).
    pub task_due_reminders: Vec<i32>,
    /// Live sessions one user may have; a sign-in past it ends their oldest (an EPOP addition,
    /// `EPOP_MAX_SESSIONS_PER_USER`, default 50; `0` turns the limit off).
    pub max_sessions_per_user: u64,
    /// Single sign-on providers (an EPOP addition, `EPOP_OIDC_PROVIDERS`: a JSON array, see [`oidc_providers`]).
    pub oidc_providers: Vec<epop_auth::OidcProvider>,
    /// First admin's e-mail and password.
    pub admin: Option<(String, SecretString)>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// Time to finish in-flight work on SIGTERM.
    pub shutdown_timeout: Duration,
    /// The longest a client may take to send a request's head, from its first byte (an EPOP addition,
    /// `EPOP_REQUEST_HEAD_TIMEOUT` in seconds, default 5).
    pub head_timeout: Duration,
    /// How slowly a request's body may arrive.
    pub body_limits: BodyLimits,
    /// `RUST_LOG`'s directives (default `info`).
    pub log_filter: String,
    /// HTTP worker threads (an EPOP addition, `EPOP_WORKERS`; default: one per core).
    pub workers: usize,
    /// How long a node's claim that a user is online lasts without refresh (an EPOP addition,
    /// `EPOP_PRESENCE_TTL` in seconds, default 30): a crashed node's users go offline after it.
    pub presence_ttl: Duration,
    /// How often, at most, a user is told of new messages of one conversation while offline (live
    /// `notification:new`, e-mail, Web Push; what arrives meanwhile goes out as a digest when it is over; an
    /// EPOP addition, `EPOP_NOTIFICATION_INTERVAL` in seconds, default 60).
    pub notification_interval: Duration,
    /// How long a job claimed by a worker may run before another worker takes it back, its worker presumed dead
    /// (an EPOP addition, `EPOP_JOB_LEASE` in seconds, default 300, at least 1): after a `kill -9`, scheduled
    /// messages, reminders and e-mails the dead node held are run by another within this time.
    pub job_lease: Duration,
    /// Whether `serve` runs the job worker (notifications, e-mail, Web Push, scheduled messages, reminders, file
    /// removal) and the notification digests in process (an EPOP addition, `EPOP_RUN_JOBS`, default `true`);
    /// `false` on nodes that only serve requests while `epop-gateway worker` nodes run the jobs.
    pub run_jobs: bool,
    /// Groups with more members than this do not announce presence to all their members (an EPOP addition,
    /// `EPOP_PRESENCE_GROUP_LIMIT`, default 100): only to those who share a direct conversation or a smaller
    /// group, and to sockets that subscribed (`docs/api.md`, Presence).
    pub presence_group_limit: usize,
    /// Users one socket may subscribe to with `presence:subscribe` (an EPOP addition,
    /// `EPOP_PRESENCE_SUBSCRIPTIONS_MAX`, default 500).
    pub presence_subscriptions_max: usize,
    /// Password hashing threads (an EPOP addition, `EPOP_AUTH_HASH_THREADS`; default: one per core).
    pub hash_threads: usize,
    /// The longest a login or registration may be expected to wait for a hashing thread before it is refused
    /// with `503` and `Retry-After` (an EPOP addition, `EPOP_AUTH_HASH_MAX_WAIT_MS`, default 2000).
    pub hash_max_wait: Duration,
}

/// Reads variables by name; lets tests configure the gateway without touching the process environment.
pub trait Source {
    /// The variable's value, if set and not empty.
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment (after `.env` has been loaded into it).
#[derive(Debug, Default)]
pub struct Environment;

impl Source for Environment {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    }
}

impl Source for HashMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        HashMap::get(self, name).cloned().filter(|v| !v.trim().is_empty())
    }
}

/// Loads `.env` into the process environment without overriding what is already set.
pub fn load_dotenv() {
    // A missing .env is normal; a malformed one is reported but not fatal (the environment may suffice).
    if let Err(error) = dotenvy::dotenv()
        && !error.not_found()
    {
        eprintln!("warning: could not read .env: {error}");
    }
}

/// The calendar's bounds; each must be at least 1.
fn calendar_limits(src: &dyn Source) -> Result<epop_calendar::CalendarLimits, ConfigError> {
    let defaults = epop_calendar::CalendarLimits::default();
    let positive = |name: &'static str, default: u64| -> Result<u64, ConfigError> {
        match parse(src, name, default)? {
            0 => Err(ConfigError::new(name, "must be at least 1")),
            value => Ok(value),
        }
    };
    let size = |name: &'static str, default: usize| -> Result<usize, ConfigError> {
        usize::try_from(positive(name, default as u64)?).map_err(|e| ConfigError::new(name, e.to_string()))
    };
    let count = |name: &'static str, default: i64| -> Result<i64, ConfigError> {
        i64::try_from(positive(name, default.unsigned_abs())?)
            .map_err(|e| ConfigError::new(name, e.to_string()))
    };
    Ok(epop_calendar::CalendarLimits {
        max_series_instances: size(
            "EPOP_CALENDAR_MAX_SERIES_INSTANCES",
            defaults.max_series_instances,
        )?,
        max_series_per_user: count("EPOP_CALENDAR_MAX_SERIES_PER_USER", defaults.max_series_per_user)?,
        max_attendees: size("EPOP_CALENDAR_MAX_ATTENDEES", defaults.max_attendees)?,
        max_exdates: size("EPOP_CALENDAR_MAX_EXDATES", defaults.max_exdates)?,
        max_free_busy_users: size("EPOP_CALENDAR_MAX_FREE_BUSY_USERS", defaults.max_free_busy_users)?,
        max_free_busy_days: count("EPOP_CALENDAR_MAX_FREE_BUSY_DAYS", defaults.max_free_busy_days)?,
        max_reminders: size("EPOP_CALENDAR_MAX_REMINDERS", defaults.max_reminders)?,
    })
}

/// `EPOP_TASK_DUE_REMINDERS`: up to 10 different minutes before the due date, each 0..=40320 (four weeks), or
/// `none`.
fn due_reminders(src: &dyn Source) -> Result<Vec<i32>, ConfigError> {
    const NAME: &str = "EPOP_TASK_DUE_REMINDERS";
    let Some(raw) = src.get(NAME) else {
        return Ok(vec![1440, 0]);
    };
    if raw.trim().eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    let mut minutes = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.parse::<i32>() {
            Ok(m) if (0..=40_320).contains(&m) => minutes.push(m),
            _ => {
                return Err(ConfigError::new(
                    NAME,
                    format!("`{part}` is not a number of minutes from 0 to 40320"),
                ));
            }
        }
    }
    minutes.sort_unstable();
    minutes.dedup();
    if minutes.len() > 10 {
        return Err(ConfigError::new(NAME, "at most 10 different values"));
    }
    Ok(minutes)
}

fn parse<T: std::str::FromStr>(src: &dyn Source, name: &'static str, default: T) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match src.get(name) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|e| ConfigError::new(name, format!("invalid value: {e}"))),
    }
}

fn parse_bool(src: &dyn Source, name: &'static str, default: bool) -> Result<bool, ConfigError> {
    match src.get(name).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if matches!(v.as_str(), "1" | "true" | "yes" | "on") => Ok(true),
        Some(v) if matches!(v.as_str(), "0" | "false" | "no" | "off") => Ok(false),
        Some(v) => Err(ConfigError::new(
            name,
            format!("expected true or false, got `{v}`"),
        )),
    }
}

/// The most single sign-on providers `EPOP_OIDC_PROVIDERS` may list.
pub const MAX_OIDC_PROVIDERS: usize = 32;

/// One provider of `EPOP_OIDC_PROVIDERS` as written.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct OidcProviderEntry {
    id: String,
    issuer: String,
    client_id: String,
    #[serde(default)]
    client_secret: Option<String>,
    #[serde(default)]
    allowed_domains: Vec<String>,
    #[serde(default)]
    create_accounts: bool,
    #[serde(default)]
    redirect_url: Option<String>,
}

/// Whether `url` is `https://`, or `http://` to this machine (a provider run locally, as the tests do).
fn https_or_loopback(url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else {
        return false;
    };
    match parsed.scheme() {
        "https" => parsed.host().is_some(),
        "http" => match parsed.host() {
            Some(url::Host::Domain(host)) => host == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        },
        _ => false,
    }
}

/// Reads `EPOP_OIDC_PROVIDERS`: a JSON array of `{id, issuer, client_id, client_secret?, allowed_domains?,
/// create_accounts?, redirect_url?}`. Ids are 1 to 32 of `a-z 0-9 - _` and unique; issuers are `https://`
/// (or `http://` on loopback); the redirect URL defaults to `{public_url}/api/auth/oidc/{id}/callback`.
pub fn oidc_providers(
    src: &dyn Source,
    public_url: &str,
) -> Result<Vec<epop_auth::OidcProvider>, ConfigError> {
    const NAME: &str = "EPOP_OIDC_PROVIDERS";
    let Some(raw) = src.get(NAME) else {
        return Ok(Vec::new());
    };
    // serde_json's message names the line and column, never the (secret-bearing) text.
    let entries: Vec<OidcProviderEntry> = serde_json::from_str(&raw)
        .map_err(|e| ConfigError::new(NAME, format!("must be a JSON array of providers: {e}")))?;
    if entries.len() > MAX_OIDC_PROVIDERS {
        return Err(ConfigError::new(
            NAME,
            format!("lists more than {MAX_OIDC_PROVIDERS} providers"),
        ));
    }
    let mut providers: Vec<epop_auth::OidcProvider> = Vec::with_capacity(entries.len());
    for (index, entry) in entries.into_iter().enumerate() {
        let bad = |message: String| ConfigError::new(NAME, format!("provider {index}: {message}"));
        let id_ok = (1..=32).contains(&entry.id.len())
            && entry
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if !id_ok {
            return Err(bad("`id` must be 1 to 32 of a-z, 0-9, `-` and `_`".into()));
        }
        if providers.iter().any(|p| p.id == entry.id) {
            return Err(bad(format!("the id `{}` is used twice", entry.id)));
        }
        let issuer = entry.issuer.trim().trim_end_matches('/').to_owned();
        if !https_or_loopback(&issuer) {
            return Err(bad(
                "`issuer` must be an https:// URL (http:// only on loopback)".into()
            ));
        }
        if entry.client_id.trim().is_empty() {
            return Err(bad("`client_id` is required".into()));
        }
        let mut allowed_domains = Vec::with_capacity(entry.allowed_domains.len());
        for domain in entry.allowed_domains {
            let domain = domain.trim().trim_start_matches('@').to_lowercase();
            if domain.is_empty() || domain.contains('@') || domain.contains(char::is_whitespace) {
                return Err(bad("`allowed_domains` must list domain names".into()));
            }
            allowed_domains.push(domain);
        }
        let redirect_url = entry
            .redirect_url
            .map(|url| url.trim().to_owned())
            .unwrap_or_else(|| format!("{public_url}/api/auth/oidc/{}/callback", entry.id));
        if !redirect_url.starts_with("https://") && !redirect_url.starts_with("http://") {
            return Err(bad("`redirect_url` must be an http:// or https:// URL".into()));
        }
        providers.push(epop_auth::OidcProvider {
            id: entry.id,
            issuer,
            client_id: entry.client_id,
            client_secret: entry
                .client_secret
                .filter(|s| !s.is_empty())
                .map(SecretString::from),
            allowed_domains,
            create_accounts: entry.create_accounts,
            redirect_url,
        });
    }
    Ok(providers)
}

/// Reads `DATABASE_URL`, the one variable every subcommand needs.
pub fn database_url(src: &dyn Source) -> Result<SecretString, ConfigError> {
    let url = src
        .get("DATABASE_URL")
        .ok_or_else(|| ConfigError::new("DATABASE_URL", "is required"))?;
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(ConfigError::new("DATABASE_URL", "must be a postgres:// URL"));
    }
    Ok(SecretString::from(url))
}

impl Config {
    /// Reads the configuration from `src`, naming the first bad variable on failure.
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        let database_url = database_url(src)?;
        let jwt_secret = src
            .get("EPOP_JWT_SECRET")
            .ok_or_else(|| ConfigError::new("EPOP_JWT_SECRET", "is required"))?;
        if jwt_secret.len() < MIN_JWT_SECRET_BYTES {
            return Err(ConfigError::new(
                "EPOP_JWT_SECRET",
                format!(
                    "must be at least {MIN_JWT_SECRET_BYTES} bytes (got {})",
                    jwt_secret.len()
                ),
            ));
        }
        let listen = parse(src, "EPOP_LISTEN", SocketAddr::from(([0, 0, 0, 0], 8080)))?;
        let storage = match src.get("EPOP_S3_ENDPOINT") {
            Some(endpoint) => {
                let required = |name: &'static str| {
                    src.get(name)
                        .ok_or_else(|| ConfigError::new(name, "is required when EPOP_S3_ENDPOINT is set"))
                };
                StorageConfig::S3(epop_storage::object_store::S3Settings {
                    public_endpoint: src
                        .get("EPOP_S3_PUBLIC_ENDPOINT")
                        .unwrap_or_else(|| endpoint.clone()),
                    endpoint,
                    region: src.get("EPOP_S3_REGION").unwrap_or_else(|| "us-east-1".into()),
                    bucket: required("EPOP_S3_BUCKET")?,
                    access_key: required("EPOP_S3_ACCESS_KEY")?,
                    secret_key: SecretString::from(required("EPOP_S3_SECRET_KEY")?),
                    path_style: parse_bool(src, "EPOP_S3_PATH_STYLE", true)?,
                })
            }
            None => StorageConfig::Local(PathBuf::from(
                src.get("EPOP_STORAGE_DIR")
                    .unwrap_or_else(|| "./data/objects".into()),
            )),
        };
        let cors_origins = src
            .get("EPOP_CORS_ORIGINS")
            .map(|v| {
                v.split(',')
                    .map(|o| o.trim().trim_end_matches('/').to_owned())
                    .filter(|o| !o.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let trusted_proxies = match src.get("EPOP_TRUSTED_PROXIES") {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|cidr| {
                    cidr.parse::<IpNet>()
                        .or_else(|_| cidr.parse::<std::net::IpAddr>().map(IpNet::from))
                        .map_err(|_| {
                            ConfigError::new("EPOP_TRUSTED_PROXIES", format!("`{cidr}` is not a CIDR"))
                        })
                })
                .collect::<Result<_, _>>()?,
        };
        let admin = match (src.get("EPOP_ADMIN_EMAIL"), src.get("EPOP_ADMIN_PASSWORD")) {
            (Some(email), Some(password)) => {
                let chars = password.chars().count();
                if !(8..=128).contains(&chars) {
                    return Err(ConfigError::new(
                        "EPOP_ADMIN_PASSWORD",
                        "must be 8 to 128 characters",
                    ));
                }
                Some((email, SecretString::from(password)))
            }
            _ => None,
        };
        let db_pool_size = parse(src, "EPOP_DB_POOL_SIZE", 16usize)?;
        if db_pool_size == 0 {
            return Err(ConfigError::new("EPOP_DB_POOL_SIZE", "must be at least 1"));
        }
        let db_pool_idle_timeout = Duration::from_secs(parse(src, "EPOP_DB_POOL_IDLE_TIMEOUT", 10u64)?);
        let head_timeout = Duration::from_secs(parse(src, "EPOP_REQUEST_HEAD_TIMEOUT", 5u64)?);
        if head_timeout.is_zero() {
            return Err(ConfigError::new(
                "EPOP_REQUEST_HEAD_TIMEOUT",
                "must be at least 1 (a request head must arrive in bounded time)",
            ));
        }
        let smtp_url = src.get("EPOP_SMTP_URL").map(SecretString::from);
        let require_verified_email = parse_bool(src, "EPOP_REQUIRE_VERIFIED_EMAIL", false)?;
        if require_verified_email && smtp_url.is_none() {
            return Err(ConfigError::new(
                "EPOP_REQUIRE_VERIFIED_EMAIL",
                "needs EPOP_SMTP_URL: without e-mail no address can be verified, so nobody could sign in",
            ));
        }
        let public_url = src
            .get("EPOP_PUBLIC_URL")
            .unwrap_or_else(|| "http://localhost:8080".into())
            .trim_end_matches('/')
            .to_owned();
        let app_url = match src.get("EPOP_APP_URL") {
            None => public_url.clone(),
            Some(url) if url.starts_with("https://") || url.starts_with("http://") => {
                url.trim().trim_end_matches('/').to_owned()
            }
            Some(_) => {
                return Err(ConfigError::new(
                    "EPOP_APP_URL",
                    "must be an http:// or https:// URL",
                ));
            }
        };
        let mfa_key = optional_key(src, "EPOP_MFA_KEY")?;
        let webhook_key = optional_key(src, "EPOP_WEBHOOK_KEY")?;
        let webhook_attempts_kept = parse(src, "EPOP_WEBHOOK_ATTEMPTS_KEPT", 50u64)?;
        if !(1..=1000).contains(&webhook_attempts_kept) {
            return Err(ConfigError::new(
                "EPOP_WEBHOOK_ATTEMPTS_KEPT",
                "must be 1 to 1000 (the attempt log of a delivery is bounded)",
            ));
        }
        let webhook_timeout = parse(src, "EPOP_WEBHOOK_TIMEOUT", 15u64)?;
        if webhook_timeout == 0 || webhook_timeout > 300 {
            return Err(ConfigError::new(
                "EPOP_WEBHOOK_TIMEOUT",
                "must be 1 to 300 seconds (a delivery attempt must end in bounded time)",
            ));
        }
        let oidc_providers = oidc_providers(src, &public_url)?;
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        Ok(Self {
            database_url,
            redis_url: src.get("REDIS_URL").map(SecretString::from),
            redis_prefix: src.get("EPOP_REDIS_PREFIX").unwrap_or_else(|| "epop".into()),
            listen,
            jwt_secret: SecretString::from(jwt_secret),
            storage,
            cors_origins,
            smtp_from: src
                .get("EPOP_SMTP_FROM")
                .unwrap_or_else(|| "EPOP <no-reply@localhost>".into()),
            smtp_url,
            app_url,
            mfa_key,
            webhook_key,
            require_verified_email,
            vapid_private_key: src.get("EPOP_VAPID_PRIVATE_KEY").map(SecretString::from),
            vapid_subject: src
                .get("EPOP_VAPID_SUBJECT")
                .unwrap_or_else(|| "mailto:admin@localhost".into()),
            push: epop_notifications::push::PushPolicy {
                allow_loopback: parse_bool(src, "EPOP_PUSH_ALLOW_LOOPBACK_FOR_TESTS", false)?,
                max_per_user: parse(src, "EPOP_PUSH_SUBSCRIPTIONS_MAX", 10u64)?,
            },
            webhooks: epop_webhooks::WebhookSettings {
                allow_loopback: parse_bool(src, "EPOP_WEBHOOKS_ALLOW_LOOPBACK_FOR_TESTS", false)?,
                max_per_scope: parse(src, "EPOP_WEBHOOKS_MAX_PER_SCOPE", 10u64)?,
                timeout: Duration::from_secs(webhook_timeout),
                max_retry_after: Duration::from_secs(parse(src, "EPOP_WEBHOOK_MAX_RETRY_AFTER", 3600u64)?),
                attempts_kept: webhook_attempts_kept,
            },
            webhook_delivery_retention_days: parse(src, "EPOP_WEBHOOK_DELIVERY_RETENTION_DAYS", 30u64)?,
            otel_endpoint: src.get("OTEL_EXPORTER_OTLP_ENDPOINT"),
            sentry_dsn: src.get("SENTRY_DSN").map(SecretString::from),
            cookie_secure: parse_bool(src, "EPOP_COOKIE_SECURE", true)?,
            rate_limits: RateLimits {
                auth_per_minute: parse(src, "EPOP_AUTH_RATE_LIMIT", 10)?,
                api_per_minute: parse(src, "EPOP_API_RATE_LIMIT", 1200)?,
                socket_per_10s: parse(src, "EPOP_SOCKET_RATE_LIMIT", 100)?,
                account_email_per_hour: parse(src, "EPOP_ACCOUNT_EMAIL_RATE_LIMIT", 5)?,
            },
            realtime: RealtimeLimits {
                inbox_packets: parse(src, "EPOP_SOCKET_INBOX_PACKETS", 128usize)?.max(1),
                inbox_bytes: parse(src, "EPOP_SOCKET_INBOX_BYTES", 2_097_152usize)?.max(1),
                connects_per_session: parse(src, "EPOP_SOCKET_CONNECTS_PER_SESSION", 8usize)?.max(1),
                connects_per_user_per_minute: parse(src, "EPOP_SOCKET_CONNECT_RATE_LIMIT", 30)?,
                handshakes_per_client_per_minute: parse(src, "EPOP_REALTIME_HANDSHAKE_RATE_LIMIT", 600)?,
                sessions_per_client: parse(src, "EPOP_REALTIME_SESSIONS_PER_CLIENT", 1000usize)?,
                presence_interval: Duration::from_millis(parse(src, "EPOP_PRESENCE_INTERVAL_MS", 2000u64)?),
            },
            db_pool_size,
            db_pool_idle_timeout,
            public_url,
            max_upload_bytes: parse(src, "EPOP_MAX_UPLOAD_BYTES", 26_214_400u64)?,
            max_open_uploads: parse(src, "EPOP_MAX_OPEN_UPLOADS", 50u64)?,
            max_unattached_bytes: parse(src, "EPOP_MAX_UNATTACHED_BYTES", 1_073_741_824u64)?,
            max_reaction_emoji: parse(src, "EPOP_MAX_REACTION_EMOJI", 20u64)?,
            max_all_mention_members: parse(src, "EPOP_MAX_ALL_MENTION_MEMBERS", 100u64)?,
            notify_all_max_members: parse(src, "EPOP_NOTIFY_ALL_MAX_MEMBERS", 10u64)?,
            max_pending_scheduled: parse(src, "EPOP_MAX_PENDING_SCHEDULED", 100u64)?,
            max_pending_reminders: parse(src, "EPOP_MAX_PENDING_REMINDERS", 100u64)?,
            max_saved_messages: parse(src, "EPOP_MAX_SAVED_MESSAGES", 1000u64)?,
            max_pins: parse(src, "EPOP_MAX_PINS", 100u64)?,
            max_access_tokens: parse(src, "EPOP_MAX_ACCESS_TOKENS", 50u64)?,
            max_incoming_webhooks: parse(src, "EPOP_MAX_INCOMING_WEBHOOKS", 20u64)?,
            incoming_webhook_per_minute: parse(src, "EPOP_INCOMING_WEBHOOK_RATE_LIMIT", 60u32)?,
            audit_retention_days: parse(src, "EPOP_AUDIT_RETENTION_DAYS", 365u64)?,
            calendar: calendar_limits(src)?,
            task_max_depth: parse(src, "EPOP_TASK_MAX_DEPTH", 5u32)?.max(1),
            task_max_comments: parse(src, "EPOP_TASK_MAX_COMMENTS", 5_000u64)?,
            project_max_labels: parse(src, "EPOP_PROJECT_MAX_LABELS", 100u64)?,
            task_max_labels: parse(src, "EPOP_TASK_MAX_LABELS", 20u64)?,
            task_due_reminders: due_reminders(src)?,
            max_sessions_per_user: parse(src, "EPOP_MAX_SESSIONS_PER_USER", 50u64)?,
            oidc_providers,
            admin,
            trusted_proxies,
            shutdown_timeout: Duration::from_secs(parse(src, "EPOP_SHUTDOWN_TIMEOUT", 10u64)?),
            head_timeout,
            body_limits: BodyLimits {
                idle_timeout: Duration::from_secs(parse(src, "EPOP_BODY_IDLE_TIMEOUT", 10u64)?),
                min_rate: parse(src, "EPOP_BODY_MIN_RATE", 1024u64)?,
            },
            log_filter: src.get("RUST_LOG").unwrap_or_else(|| "info".into()),
            workers: parse(src, "EPOP_WORKERS", cores)?.max(1),
            presence_ttl: Duration::from_secs(parse(src, "EPOP_PRESENCE_TTL", 30u64)?.max(1)),
            notification_interval: Duration::from_secs(parse(src, "EPOP_NOTIFICATION_INTERVAL", 60u64)?),
            job_lease: Duration::from_secs(parse(src, "EPOP_JOB_LEASE", 300u64)?.max(1)),
            run_jobs: parse_bool(src, "EPOP_RUN_JOBS", true)?,
            presence_group_limit: parse(src, "EPOP_PRESENCE_GROUP_LIMIT", 100usize)?,
            presence_subscriptions_max: parse(src, "EPOP_PRESENCE_SUBSCRIPTIONS_MAX", 500usize)?,
            hash_threads: parse(src, "EPOP_AUTH_HASH_THREADS", cores)?.max(1),
            hash_max_wait: Duration::from_millis(parse(src, "EPOP_AUTH_HASH_MAX_WAIT_MS", 2000u64)?),
        })
    }

    /// The database URL, for connecting.
    pub fn database_url(&self) -> &str {
        self.database_url.expose_secret()
    }

    /// The key TOTP secrets are encrypted with: `EPOP_MFA_KEY`, or one derived from `EPOP_JWT_SECRET`.
    pub fn mfa_key(&self) -> epop_auth::MfaKey {
        match self
            .mfa_key
            .as_ref()
            .and_then(|key| decode_key(key.expose_secret()))
        {
            Some(key) => epop_auth::MfaKey::from_bytes(&key),
            None => epop_auth::MfaKey::derived_from(&self.jwt_secret),
        }
    }

    /// The key webhook signing secrets are sealed with: `EPOP_WEBHOOK_KEY`, or one derived from
    /// `EPOP_JWT_SECRET`.
    pub fn webhook_key(&self) -> epop_storage::sealed::SealingKey {
        match self
            .webhook_key
            .as_ref()
            .and_then(|key| decode_key(key.expose_secret()))
        {
            Some(key) => epop_storage::sealed::SealingKey::from_bytes(&key),
            None => epop_storage::sealed::SealingKey::derived_from("epop-webhook-key:", &self.jwt_secret),
        }
    }
}

/// The 32-byte base64 key in `name`, if set (the error never shows it).
fn optional_key(src: &dyn Source, name: &'static str) -> Result<Option<SecretString>, ConfigError> {
    match src.get(name) {
        None => Ok(None),
        Some(key) => {
            decode_key(&key).ok_or_else(|| {
                ConfigError::new(
                    name,
                    "must be 32 bytes in base64 (e.g. `openssl rand -base64 32`)",
                )
            })?;
            Ok(Some(SecretString::from(key)))
        }
    }
}

/// 32 bytes from base64 (standard or URL-safe, padded or not).
fn decode_key(text: &str) -> Option<[u8; 32]> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    let text = text.trim();
    let bytes = STANDARD
        .decode(text)
        .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
        .ok()?;
    bytes.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn defaults_follow_the_contract() {
        let config = Config::from_source(&source(&[
            ("DATABASE_URL", "postgres://x/y"),
            ("EPOP_JWT_SECRET", SECRET),
        ]))
        .unwrap();
        assert_eq!(config.listen.to_string(), "0.0.0.0:8080");
        assert!(config.redis_url.is_none());
        assert!(
            matches!(config.storage, StorageConfig::Local(ref dir) if dir == &PathBuf::from("./data/objects"))
        );
        assert!(config.cookie_secure);
        assert_eq!(config.rate_limits.auth_per_minute, 10);
        assert_eq!(config.rate_limits.api_per_minute, 1200);
        assert_eq!(config.rate_limits.socket_per_10s, 100);
        assert_eq!(config.realtime.inbox_packets, 128);
        assert_eq!(config.realtime.inbox_bytes, 2_097_152);
        assert_eq!(config.realtime.connects_per_session, 8);
        assert_eq!(config.realtime.connects_per_user_per_minute, 30);
        assert_eq!(config.realtime.handshakes_per_client_per_minute, 600);
        assert_eq!(config.realtime.sessions_per_client, 1000);
        assert_eq!(config.realtime.presence_interval, Duration::from_secs(2));
        assert_eq!(config.db_pool_size, 16);
        assert_eq!(config.db_pool_idle_timeout, Duration::from_secs(10));
        assert_eq!(config.max_upload_bytes, 26_214_400);
        assert_eq!(config.max_open_uploads, 50);
        assert_eq!(config.max_unattached_bytes, 1 << 30);
        assert_eq!(config.head_timeout, Duration::from_secs(5));
        assert_eq!(config.body_limits.idle_timeout, Duration::from_secs(10));
        assert_eq!(config.body_limits.min_rate, 1024);
        assert!(
            !config.push.allow_loopback,
            "loopback push endpoints are for tests only"
        );
        assert_eq!(config.push.max_per_user, 10);
        assert_eq!(config.shutdown_timeout, Duration::from_secs(10));
        assert_eq!(config.public_url, "http://localhost:8080");
        assert_eq!(config.hash_max_wait, Duration::from_secs(2));
        assert!(config.hash_threads >= 1);
        assert_eq!(config.rate_limits.account_email_per_hour, 5);
        assert_eq!(config.app_url, "http://localhost:8080");
        assert!(!config.require_verified_email);
        assert_eq!(config.audit_retention_days, 365);
        assert!(
            !config.webhooks.allow_loopback,
            "loopback webhook URLs are for tests only"
        );
        assert_eq!(config.webhooks.max_per_scope, 10);
        assert_eq!(config.webhooks.timeout, Duration::from_secs(15));
        assert_eq!(config.webhooks.max_retry_after, Duration::from_secs(3600));
        assert_eq!(config.webhook_delivery_retention_days, 30);
        assert_eq!(config.webhooks.attempts_kept, 50);
        assert!(config.webhook_key.is_none());
        assert_eq!(config.max_sessions_per_user, 50);
        assert!(config.oidc_providers.is_empty());
    }

    #[test]
    fn task_due_reminders_are_minutes_before_the_due_date() {
        let base = [("DATABASE_URL", "postgres://x/y"), ("EPOP_JWT_SECRET", SECRET)];
        let config = Config::from_source(&source(&base)).unwrap();
        assert_eq!(
            config.task_due_reminders,
            [1440, 0],
            "the day before and at the due time"
        );
        assert_eq!(config.calendar.max_reminders, 5);
        let with = |value: &'static str| {
            let mut vars = base.to_vec();
            vars.push(("EPOP_TASK_DUE_REMINDERS", value));
            Config::from_source(&source(&vars))
        };
        assert_eq!(with("60, 0,60").unwrap().task_due_reminders, [0, 60]);
        assert!(with("none").unwrap().task_due_reminders.is_empty(), "off");
        assert_eq!(with("").unwrap().task_due_reminders, [1440, 0], "unset");
        for bad in ["-1", "40321", "ten", "1,2,3,4,5,6,7,8,9,10,11"] {
            assert_eq!(
                with(bad).unwrap_err().variable,
                "EPOP_TASK_DUE_REMINDERS",
                "{bad}"
            );
        }
    }

    #[test]
    fn oidc_providers_are_a_checked_json_array() {
        let base = [("DATABASE_URL", "postgres://x/y"), ("EPOP_JWT_SECRET", SECRET)];
        let with = |value: &str| {
            let mut pairs = base.to_vec();
            pairs.push(("EPOP_OIDC_PROVIDERS", value));
            Config::from_source(&source(&pairs))
        };
        let config = with(
            r#"[{"id": "corp", "issuer": "https://id.corp.example/", "client_id": "epop",
                "client_secret": "s3cret", "allowed_domains": ["Corp.Example"], "create_accounts": true},
               {"id": "dev", "issuer": "http://127.0.0.1:9000", "client_id": "epop"}]"#,
        )
        .unwrap();
        let [corp, dev] = config.oidc_providers.as_slice() else {
            panic!("two providers");
        };
        assert_eq!(corp.issuer, "https://id.corp.example");
        assert_eq!(corp.allowed_domains, ["corp.example"]);
        assert!(corp.create_accounts && corp.client_secret.is_some());
        assert_eq!(
            corp.redirect_url,
            "http://localhost:8080/api/auth/oidc/corp/callback"
        );
        assert!(!dev.create_accounts && dev.client_secret.is_none() && dev.allowed_domains.is_empty());
        for bad in [
            "not json",
            r#"{"id": "corp"}"#,
            r#"[{"id": "Corp!", "issuer": "https://id.example", "client_id": "x"}]"#,
            r#"[{"id": "a", "issuer": "http://id.example", "client_id": "x"}]"#,
            r#"[{"id": "a", "issuer": "https://id.example", "client_id": ""}]"#,
            r#"[{"id": "a", "issuer": "https://id.example", "client_id": "x", "allowed_domains": ["a@b"]}]"#,
            r#"[{"id": "a", "issuer": "https://id.example", "client_id": "x", "secret": "typo"}]"#,
            r#"[{"id": "a", "issuer": "https://a.example", "client_id": "x"},
                {"id": "a", "issuer": "https://b.example", "client_id": "y"}]"#,
        ] {
            let err = with(bad).unwrap_err();
            assert_eq!(err.variable, "EPOP_OIDC_PROVIDERS", "{bad}");
        }
        let err =
            with(r#"[{"id": "a", "issuer": "https://a.example", "client_id": "x", "client_secret": 5}]"#)
                .unwrap_err();
        assert!(
            !err.to_string().contains('5') || err.to_string().contains("line"),
            "{err}"
        );
    }

    #[test]
    fn the_mfa_key_is_32_bytes_of_base64() {
        let base = [("DATABASE_URL", "postgres://x/y"), ("EPOP_JWT_SECRET", SECRET)];
        let config = Config::from_source(&source(&base)).unwrap();
        assert!(config.mfa_key.is_none());
        let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        for variable in ["EPOP_MFA_KEY", "EPOP_WEBHOOK_KEY"] {
            let mut with_key = base.to_vec();
            with_key.push((variable, key));
            let config = Config::from_source(&source(&with_key)).unwrap();
            assert!(
                config.mfa_key.is_some() || config.webhook_key.is_some(),
                "{variable}"
            );
            for bad in ["c2hvcnQ=", "not base64 at all!"] {
                let mut with_bad = base.to_vec();
                with_bad.push((variable, bad));
                let err = Config::from_source(&source(&with_bad)).unwrap_err();
                assert_eq!(err.variable, variable);
                assert!(!err.to_string().contains(bad), "the key is never printed");
            }
        }
        let mut attempts = base.to_vec();
        attempts.push(("EPOP_WEBHOOK_ATTEMPTS_KEPT", "0"));
        let err = Config::from_source(&source(&attempts)).unwrap_err();
        assert_eq!(err.variable, "EPOP_WEBHOOK_ATTEMPTS_KEPT");
    }

    #[test]
    fn requiring_verified_e_mail_needs_smtp_and_links_need_a_web_url() {
        let err = Config::from_source(&source(&[
            ("DATABASE_URL", "postgres://x/y"),
            ("EPOP_JWT_SECRET", SECRET),
            ("EPOP_REQUIRE_VERIFIED_EMAIL", "true"),
        ]))
        .unwrap_err();
        assert_eq!(err.variable, "EPOP_REQUIRE_VERIFIED_EMAIL");
        let config = Config::from_source(&source(&[
            ("DATABASE_URL", "postgres://x/y"),
            ("EPOP_JWT_SECRET", SECRET),
            ("EPOP_REQUIRE_VERIFIED_EMAIL", "true"),
            ("EPOP_SMTP_URL", "smtp://127.0.0.1:2525"),
            ("EPOP_APP_URL", "https://app.example/"),
        ]))
        .unwrap();
        assert!(config.require_verified_email);
        assert_eq!(config.app_url, "https://app.example");
        let err = Config::from_source(&source(&[
            ("DATABASE_URL", "postgres://x/y"),
            ("EPOP_JWT_SECRET", SECRET),
            ("EPOP_APP_URL", "javascript:alert(1)"),
        ]))
        .unwrap_err();
        assert_eq!(err.variable, "EPOP_APP_URL");
    }

    #[test]
    fn missing_or_bad_required_values_name_the_variable() {
        let err = Config::from_source(&source(&[("EPOP_JWT_SECRET", SECRET)])).unwrap_err();
        assert_eq!(err.variable, "DATABASE_URL");
        let err = Config::from_source(&source(&[("DATABASE_URL", "postgres://x/y")])).unwrap_err();
        assert_eq!(err.variable, "EPOP_JWT_SECRET");
        let err = Config::from_source(&source(&[
            ("DATABASE_URL", "postgres://x/y"),
            ("EPOP_JWT_SECRET", "short"),
        ]))
        .unwrap_err();
        assert_eq!(err.variable, "EPOP_JWT_SECRET");
        assert!(err.to_string().contains("32 bytes"));
        let err = Config::from_source(&source(&[
            ("DATABASE_URL", "postgres://x/y"),
            ("EPOP_JWT_SECRET", SECRET),
            ("EPOP_LISTEN", "nowhere"),
        ]))
        .unwrap_err();
        assert_eq!(err.variable, "EPOP_LISTEN");
        let err = Config::from_source(&source(&[
            ("DATABASE_URL", "postgres://x/y"),
            ("EPOP_JWT_SECRET", SECRET),
            ("EPOP_S3_ENDPOINT", "http://127.0.0.1:9000"),
        ]))
        .unwrap_err();
        assert_eq!(err.variable, "EPOP_S3_BUCKET");
    }

    #[test]
    fn lists_and_flags_parse() {
        let config = Config::from_source(&source(&[
            ("DATABASE_URL", "postgres://x/y"),
            ("EPOP_JWT_SECRET", SECRET),
            ("EPOP_CORS_ORIGINS", "https://a.example, https://b.example/"),
            ("EPOP_TRUSTED_PROXIES", "10.0.0.0/8,127.0.0.1"),
            ("EPOP_COOKIE_SECURE", "false"),
            ("EPOP_API_RATE_LIMIT", "0"),
            ("EPOP_MAX_OPEN_UPLOADS", "3"),
            ("EPOP_MAX_UNATTACHED_BYTES", "0"),
            ("EPOP_REQUEST_HEAD_TIMEOUT", "2"),
            ("EPOP_BODY_IDLE_TIMEOUT", "0"),
            ("EPOP_BODY_MIN_RATE", "4096"),
            ("EPOP_PUSH_ALLOW_LOOPBACK_FOR_TESTS", "true"),
            ("EPOP_PUSH_SUBSCRIPTIONS_MAX", "3"),
        ]))
        .unwrap();
        assert_eq!(
            config.cors_origins,
            vec!["https://a.example", "https://b.example"]
        );
        assert_eq!(config.trusted_proxies.len(), 2);
        assert!(!config.cookie_secure);
        assert_eq!(config.rate_limits.api_per_minute, 0);
        assert_eq!(config.max_open_uploads, 3);
        assert_eq!(config.max_unattached_bytes, 0);
        let err = Config::from_source(&source(&[
            ("DATABASE_URL", "postgres://x/y"),
            ("EPOP_JWT_SECRET", SECRET),
            ("EPOP_MAX_OPEN_UPLOADS", "many"),
        ]))
        .unwrap_err();
        assert_eq!(err.variable, "EPOP_MAX_OPEN_UPLOADS");
        assert_eq!(config.head_timeout, Duration::from_secs(2));
        assert_eq!(config.body_limits.idle_timeout, Duration::ZERO);
        assert_eq!(config.body_limits.min_rate, 4096);
        assert!(config.push.allow_loopback);
        assert_eq!(config.push.max_per_user, 3);
        for (variable, value) in [
            ("EPOP_REQUEST_HEAD_TIMEOUT", "0"),
            ("EPOP_BODY_IDLE_TIMEOUT", "-1"),
            ("EPOP_BODY_MIN_RATE", "fast"),
            ("EPOP_PUSH_ALLOW_LOOPBACK_FOR_TESTS", "maybe"),
            ("EPOP_PUSH_SUBSCRIPTIONS_MAX", "-1"),
            ("EPOP_WEBHOOK_TIMEOUT", "0"),
            ("EPOP_WEBHOOK_TIMEOUT", "301"),
            ("EPOP_WEBHOOKS_ALLOW_LOOPBACK_FOR_TESTS", "perhaps"),
            ("EPOP_WEBHOOKS_MAX_PER_SCOPE", "-2"),
        ] {
            let err = Config::from_source(&source(&[
                ("DATABASE_URL", "postgres://x/y"),
                ("EPOP_JWT_SECRET", SECRET),
                (variable, value),
            ]))
            .unwrap_err();
            assert_eq!(err.variable, variable);
        }
    }
}
