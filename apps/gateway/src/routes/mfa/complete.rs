//! # POST /api/auth/mfa

use super::second_factor;
use crate::error::{ApiError, Problem};
use crate::extract::{ClientIp, Json, RequestClient};
use crate::routes::auth::{TokenResponse, check_auth_limits, session_response, token_body};
use crate::routes::required;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::post;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

/// The `mfa_token` of a sign-in and its second factor.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct MfaCompleteRequest {
    /// From the `POST /api/auth/login` answer `{mfa_required: true, mfa_token, ...}`.
    #[garde(required, length(chars, min = 1, max = 128))]
    #[schema(value_type = String, max_length = 128)]
    pub mfa_token: Option<String>,
    /// A current code from the authenticator app (or give `recovery_code`).
    #[garde(length(chars, min = 1, max = 16))]
    #[schema(max_length = 16)]
    pub code: Option<String>,
    /// One of the unused recovery codes (or give `code`); it is spent, and every other session of the user
    /// ends.
    #[garde(length(chars, min = 1, max = 64))]
    #[schema(max_length = 64)]
    pub recovery_code: Option<String>,
}

/// Completes a sign-in that needs a second factor, with exactly one of `code` (a current code from the app,
/// accepted once: a code used before is refused even within its 30 seconds) and `recovery_code` (single-use;
/// using one ends every other session of the user). Answers the usual token response. A wrong code is `401
/// invalid_credentials` and counts against the `mfa_token`, which works once, for 5 minutes and for 5 wrong
/// codes: past that, or unknown, `401 unauthorized` (sign in again).
#[utoipa::path(tag = "auth", request_body = MfaCompleteRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 401, description = "`invalid_credentials` (wrong code) or `unauthorized` (`mfa_token` unknown, used, expired or out of tries)", body = Problem),
        (status = 422, description = "Invalid fields, or not exactly one of `code` and `recovery_code`", body = Problem),
        (status = 429, description = "Too many attempts", body = Problem),
    ))]
#[post("/auth/mfa")]
pub(crate) async fn complete(
    state: web::Data<AppState>,
    ip: ClientIp,
    client: RequestClient,
    body: Json<MfaCompleteRequest>,
) -> Result<HttpResponse, ApiError> {
    let Json(body) = body;
    let factor = second_factor(body.code, body.recovery_code)?;
    check_auth_limits(&state, ip, None).await?;
    let mfa_token = required(body.mfa_token, "mfa_token")?;
    let session = state.auth.complete_mfa(&mfa_token, factor, &client.0).await?;
    Ok(session_response(StatusCode::OK, session.clone(), &state.config).json(token_body(session)))
}
