//! # POST /api/auth/password-reset/confirm

use super::{check_auth_limits, clear_refresh_cookie};
use crate::error::{ApiError, Problem};
use crate::extract::{ClientIp, Json, RequestClient};
use crate::routes::required;
use crate::state::AppState;
use actix_web::post;
use actix_web::{HttpResponse, web};
use secrecy::SecretString;
use serde::Deserialize;

/// A reset token from the e-mail and the new password.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct PasswordResetConfirmRequest {
    /// The token of the reset link (its `token` parameter, or the code in the e-mail).
    #[garde(required, length(chars, min = 1, max = 128))]
    #[schema(value_type = String, min_length = 1, max_length = 128)]
    pub token: Option<String>,
    /// The new password, 8..=128 characters.
    #[garde(required, length(chars, min = 8, max = 128))]
    #[schema(value_type = String, format = Password, min_length = 8, max_length = 128)]
    pub password: Option<String>,
}

/// Sets a new password with a reset token and ends every session of the user, as `POST /api/auth/logout-all`
/// does (refresh tokens revoked, access tokens refused at once, sockets disconnected). The token works once,
/// for 30 minutes, and only while the account still has the address it was sent to; opening it also marks
/// that address verified. A token that is unknown, used, expired or for another address is `422` on field
/// `token`, and nothing changes. Limited per client IP like sign-ins (`EPOP_AUTH_RATE_LIMIT`).
#[utoipa::path(tag = "auth", request_body = PasswordResetConfirmRequest,
    responses(
        (status = 204, description = "Password set; every session ended; the refresh cookie cleared"),
        (status = 422, description = "Invalid fields, or `token` unknown, used or expired", body = Problem),
        (status = 429, description = "Too many attempts", body = Problem),
        (status = 503, description = "Password hashing is saturated (`unavailable`); try again after `Retry-After` seconds", body = Problem,
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again (at least 1)"))),
    ))]
#[post("/auth/password-reset/confirm")]
pub(crate) async fn password_reset_confirm(
    state: web::Data<AppState>,
    ip: ClientIp,
    client: RequestClient,
    body: Json<PasswordResetConfirmRequest>,
) -> Result<HttpResponse, ApiError> {
    let Json(body) = body;
    check_auth_limits(&state, ip, None).await?;
    let token = required(body.token, "token")?;
    let password = SecretString::from(required(body.password, "password")?);
    state.auth.reset_password(&token, &password, &client.0).await?;
    Ok(HttpResponse::NoContent()
        .cookie(clear_refresh_cookie(&state.config))
        .finish())
}
