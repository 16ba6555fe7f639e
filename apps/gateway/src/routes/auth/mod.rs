//! `/api/auth`: register, login, refresh, logout, logout everywhere, password reset, e-mail verification, and
//! the caller's signed-in sessions.

pub mod login;
pub mod logout;
pub mod logout_all;
pub mod oidc_callback;
pub mod oidc_exchange;
pub mod oidc_start;
pub mod password_reset;
pub mod password_reset_confirm;
pub mod refresh;
pub mod register;
pub mod session_delete;
pub mod sessions_list;
pub mod verify_email;
pub mod verify_email_resend;

use crate::config::Config;
use crate::error::ApiError;
use crate::extract::ClientIp;
use crate::rate_limit::Quota;
use crate::routes::mfa::{LoginResponse, MfaRequiredResponse};
use crate::routes::users::UserDto;
use crate::state::AppState;
use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};
use epop_auth::{Session, SignIn};
use serde::{Deserialize, Serialize};

/// Name of the refresh-token cookie.
pub const REFRESH_COOKIE: &str = "epop_refresh";
/// Path the refresh-token cookie is sent to.
pub const REFRESH_COOKIE_PATH: &str = "/api/auth";

/// A signed-in session as the client receives it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    /// The signed-in user.
    pub user: UserDto,
    /// The JWT access token, for `Authorization: Bearer`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Access token lifetime in seconds.
    pub expires_in: i64,
    /// Opaque (256 random bits), valid 30 days and for one refresh: each refresh rotates it. Also set as the
    /// `epop_refresh` cookie.
    pub refresh_token: String,
}

/// A refresh token in the body, for clients without cookies.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct RefreshTokenBody {
    /// The `refresh_token` of a token response; without it, the `epop_refresh` cookie is used.
    #[garde(skip)]
    pub refresh_token: Option<String>,
}

fn refresh_cookie(config: &Config, value: String, max_age: time::Duration) -> Cookie<'static> {
    Cookie::build(REFRESH_COOKIE, value)
        .http_only(true)
        .secure(config.cookie_secure)
        .same_site(SameSite::Strict)
        .path(REFRESH_COOKIE_PATH)
        .max_age(max_age)
        .finish()
}

/// The `Set-Cookie` that clears the refresh cookie.
pub fn clear_refresh_cookie(config: &Config) -> Cookie<'static> {
    refresh_cookie(config, String::new(), time::Duration::ZERO)
}

/// Answers with a session: the token response body plus the refresh cookie.
pub fn session_response(status: StatusCode, session: Session, config: &Config) -> HttpResponseBuilder {
    let remaining = (session.refresh_expires_at - chrono::Utc::now())
        .num_seconds()
        .max(0);
    let cookie = refresh_cookie(
        config,
        session.refresh_token.clone(),
        time::Duration::seconds(remaining),
    );
    let mut builder = HttpResponse::build(status);
    builder.cookie(cookie);
    builder
}

/// The answer of a sign-in (password or single sign-on): the session with its refresh cookie, or the request
/// for the second factor.
pub fn sign_in_response(signed_in: SignIn, config: &Config) -> HttpResponse {
    match signed_in {
        SignIn::Session(session) => session_response(StatusCode::OK, (*session).clone(), config)
            .json(LoginResponse::Session(token_body(*session))),
        SignIn::MfaRequired(challenge) => {
            HttpResponse::Ok().json(LoginResponse::MfaRequired(MfaRequiredResponse {
                mfa_required: true,
                mfa_token: challenge.mfa_token,
                methods: challenge
                    .methods
                    .iter()
                    .map(|method| method.as_str().to_owned())
                    .collect(),
                expires_in: challenge.expires_in,
            }))
        }
    }
}

/// The token response body of a session.
pub fn token_body(session: Session) -> TokenResponse {
    TokenResponse {
        user: session.user.into(),
        access_token: session.access_token,
        token_type: "Bearer",
        expires_in: session.expires_in,
        refresh_token: session.refresh_token,
    }
}

/// The refresh token of a request: the body's, else the cookie's.
pub fn presented_refresh_token(req: &HttpRequest, body: Option<RefreshTokenBody>) -> Option<String> {
    body.and_then(|b| b.refresh_token)
        .filter(|t| !t.is_empty())
        .or_else(|| {
            req.cookie(REFRESH_COOKIE)
                .map(|c| c.value().to_owned())
                .filter(|t| !t.is_empty())
        })
}

/// Applies the auth limits to a request that checks the caller's password again (a profile change naming
/// `current_password`): per client IP, as sign-ins, and per user, so that neither a stolen token nor many
/// addresses make it a password oracle or an Argon2 CPU sink at the API's rate.
pub async fn check_reauth_limits(
    state: &AppState,
    ip: ClientIp,
    user: epop_core::UserId,
) -> Result<(), ApiError> {
    let quota = Quota::per_minute(state.config.rate_limits.auth_per_minute);
    for (bucket, key) in [("auth-ip", ip.limit_key()), ("auth-user", user.to_string())] {
        state
            .limiter
            .check(bucket, &key, quota)
            .await
            .map_err(|l| ApiError::rate_limited(l.retry_after_secs()))?;
    }
    Ok(())
}

/// Applies the auth limits: per client IP, and per e-mail when one is given.
pub async fn check_auth_limits(state: &AppState, ip: ClientIp, email: Option<&str>) -> Result<(), ApiError> {
    let quota = Quota::per_minute(state.config.rate_limits.auth_per_minute);
    state
        .limiter
        .check("auth-ip", &ip.limit_key(), quota)
        .await
        .map_err(|l| ApiError::rate_limited(l.retry_after_secs()))?;
    if let Some(email) = email {
        state
            .limiter
            .check("auth-email", &email.to_lowercase(), quota)
            .await
            .map_err(|l| ApiError::rate_limited(l.retry_after_secs()))?;
    }
    Ok(())
}

/// Applies the limits of requests that make EPOP send an account e-mail (password reset, verification link):
/// `EPOP_ACCOUNT_EMAIL_RATE_LIMIT` per hour per client IP and per address, so nobody can use EPOP to flood a
/// mailbox or probe addresses at speed.
pub async fn check_account_email_limits(state: &AppState, ip: ClientIp, email: &str) -> Result<(), ApiError> {
    let quota = Quota::per_hour(state.config.rate_limits.account_email_per_hour);
    for (bucket, key) in [
        ("account-mail-ip", ip.limit_key()),
        ("account-mail-email", email.to_lowercase()),
    ] {
        state
            .limiter
            .check(bucket, &key, quota)
            .await
            .map_err(|l| ApiError::rate_limited(l.retry_after_secs()))?;
    }
    Ok(())
}
