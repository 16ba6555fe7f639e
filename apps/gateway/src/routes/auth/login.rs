//! # POST /api/auth/login

use super::{check_auth_limits, sign_in_response};
use crate::error::{ApiError, Problem};
use crate::extract::{ClientIp, Json, RequestClient};
use crate::routes::mfa::LoginResponse;
use crate::routes::required;
use crate::state::AppState;
use actix_web::post;
use actix_web::{HttpResponse, web};
use secrecy::SecretString;
use serde::Deserialize;

/// E-mail and password.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct LoginRequest {
    /// The account's e-mail (any case).
    #[garde(required, length(chars, max = 254))]
    #[schema(value_type = String, max_length = 254)]
    pub email: Option<String>,
    /// Checked against the stored Argon2id hash.
    #[garde(required, length(chars, max = 128))]
    #[schema(value_type = String, format = Password, max_length = 128)]
    pub password: Option<String>,
}

/// Signs in. Unknown e-mail and wrong password both answer `401 invalid_credentials`, in the same time. An
/// account with a second factor answers `200 {mfa_required: true, mfa_token, methods, expires_in}` instead of a
/// session: complete with `POST /api/auth/mfa`. With `EPOP_REQUIRE_VERIFIED_EMAIL`, the right password for an
/// unverified address is `403 forbidden`.
#[utoipa::path(tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in, or the second factor is needed (`mfa_required: true`)", body = LoginResponse),
        (status = 401, description = "`invalid_credentials`", body = Problem),
        (status = 403, description = "The address is not verified and `EPOP_REQUIRE_VERIFIED_EMAIL` is on", body = Problem),
        (status = 422, description = "Invalid fields", body = Problem),
        (status = 429, description = "Too many attempts", body = Problem),
        (status = 503, description = "Password hashing is saturated: the request would have waited longer than `EPOP_AUTH_HASH_MAX_WAIT_MS` for a hashing thread, so it was refused before any work (`unavailable`); try again after `Retry-After` seconds", body = Problem,
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again (at least 1)"))),
    ))]
#[post("/auth/login")]
pub(crate) async fn login(
    state: web::Data<AppState>,
    ip: ClientIp,
    client: RequestClient,
    body: Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let Json(body) = body;
    let email = required(body.email, "email")?;
    check_auth_limits(&state, ip, Some(&email)).await?;
    let password = SecretString::from(required(body.password, "password")?);
    let signed_in = state.auth.login(&email, &password, &client.0).await?;
    Ok(sign_in_response(signed_in, &state.config))
}
