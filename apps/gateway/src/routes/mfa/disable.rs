//! # DELETE /api/users/me/mfa

use super::second_factor;
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, ClientIp, Json, RequestClient};
use crate::routes::auth::{TokenResponse, check_reauth_limits, session_response, token_body};
use crate::routes::required;
use crate::state::AppState;
use actix_web::delete;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use secrecy::SecretString;
use serde::Deserialize;

/// The password and a second factor, proving the caller is the account's owner.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct MfaDisableRequest {
    /// The account's password.
    #[garde(required, length(chars, max = 128))]
    #[schema(value_type = String, format = Password, max_length = 128)]
    pub password: Option<String>,
    /// A current code from the authenticator app (or give `recovery_code`).
    #[garde(length(chars, min = 1, max = 16))]
    #[schema(max_length = 16)]
    pub code: Option<String>,
    /// One of the unused recovery codes (or give `code`).
    #[garde(length(chars, min = 1, max = 64))]
    #[schema(max_length = 64)]
    pub recovery_code: Option<String>,
}

/// Turns the second factor off (its secret and recovery codes are deleted). Needs the password and exactly one
/// of `code` and `recovery_code`: a wrong password or code is `403 forbidden`, neither or both codes `422`, no
/// second factor `404`; in each case nothing changes. Answers a new session for the caller: every other session
/// of the user ends, this request's access token included.
#[utoipa::path(tag = "mfa", security(("bearer" = [])), request_body = MfaDisableRequest,
    responses(
        (status = 200, description = "The second factor is off", body = TokenResponse),
        (status = 401, body = Problem),
        (status = 403, description = "Wrong password or code", body = Problem),
        (status = 404, description = "No second factor is on", body = Problem),
        (status = 422, description = "Invalid fields", body = Problem),
        (status = 429, description = "Too many attempts (the sign-in limit, per client IP and per user)", body = Problem),
        (status = 503, description = "Password hashing is saturated (`unavailable`); try again after `Retry-After` seconds", body = Problem,
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again (at least 1)"))),
    ))]
#[delete("/users/me/mfa")]
pub(crate) async fn disable(
    state: web::Data<AppState>,
    user: AuthUser,
    ip: ClientIp,
    client: RequestClient,
    body: Json<MfaDisableRequest>,
) -> Result<HttpResponse, ApiError> {
    let Json(body) = body;
    let factor = second_factor(body.code, body.recovery_code)?;
    check_reauth_limits(&state, ip, user.id).await?;
    let password = SecretString::from(required(body.password, "password")?);
    let session = state
        .auth
        .disable_mfa(user.id, &password, factor, &client.0)
        .await?;
    Ok(session_response(StatusCode::OK, session.clone(), &state.config).json(token_body(session)))
}
