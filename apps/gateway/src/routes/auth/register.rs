//! # POST /api/auth/register

use super::{TokenResponse, check_auth_limits, session_response, token_body};
use crate::error::{ApiError, Problem};
use crate::extract::{ClientIp, Json, RequestClient};
use crate::routes::{no_surrounding_space, required};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::post;
use actix_web::{HttpResponse, web};
use epop_auth::{NewAccount, Role};
use secrecy::SecretString;
use serde::Deserialize;

/// A new account.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct RegisterRequest {
    /// Display name, 1..=100 characters.
    #[garde(required, length(chars, min = 1, max = 100))]
    #[schema(value_type = String, min_length = 1, max_length = 100)]
    pub name: Option<String>,
    /// E-mail address, at most 254 characters; unique case-insensitively.
    #[garde(
        required,
        length(chars, max = 254),
        email,
        inner(custom(no_surrounding_space))
    )]
    #[schema(value_type = String, format = Email, max_length = 254)]
    pub email: Option<String>,
    /// Password, 8..=128 characters.
    #[garde(required, length(chars, min = 8, max = 128))]
    #[schema(value_type = String, format = Password, min_length = 8, max_length = 128)]
    pub password: Option<String>,
}

/// Creates an account and signs it in.
#[utoipa::path(tag = "auth", request_body = RegisterRequest,
    responses(
        (status = 201, description = "Signed in; `Location` is the new user", body = TokenResponse),
        (status = 409, description = "E-mail taken (`email_taken`)", body = Problem),
        (status = 422, description = "Invalid fields", body = Problem),
        (status = 429, description = "Too many attempts", body = Problem),
        (status = 503, description = "Password hashing is saturated: the request would have waited longer than `EPOP_AUTH_HASH_MAX_WAIT_MS` for a hashing thread, so it was refused before any work (`unavailable`); try again after `Retry-After` seconds", body = Problem,
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again (at least 1)"))),
    ))]
#[post("/auth/register")]
pub(crate) async fn register(
    state: web::Data<AppState>,
    ip: ClientIp,
    client: RequestClient,
    body: Json<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    let Json(body) = body;
    let email = required(body.email, "email")?;
    check_auth_limits(&state, ip, Some(&email)).await?;
    let account = NewAccount {
        name: required(body.name, "name")?,
        email,
        password: SecretString::from(required(body.password, "password")?),
        role: Role::Member,
    };
    let session = state.auth.register(account, &client.0).await?;
    let location = format!("/api/users/{}", session.user.id);
    Ok(
        session_response(StatusCode::CREATED, session.clone(), &state.config)
            .insert_header((LOCATION, location))
            .json(token_body(session)),
    )
}
