//! # POST /api/users/me/mfa/totp/confirm

use super::TotpEnabledResponse;
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, ClientIp, Json, RequestClient};
use crate::routes::auth::{check_reauth_limits, session_response, token_body};
use crate::routes::required;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::post;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

/// A code from the authenticator app.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct TotpConfirmRequest {
    /// The app's current 6-digit code.
    #[garde(required, length(chars, min = 1, max = 16))]
    #[schema(value_type = String, example = "123456", max_length = 16)]
    pub code: Option<String>,
}

/// Turns TOTP on with a code from the app that proves it holds the enrolment's secret. Answers ten single-use
/// recovery codes (shown once) and a new session for the caller: every other session of the user ends (their
/// access tokens are refused at once, refresh tokens revoked, sockets disconnected), this request's access
/// token included. A wrong code is `422` on field `code` and changes nothing; no enrolment started is `409`.
#[utoipa::path(tag = "mfa", security(("bearer" = [])), request_body = TotpConfirmRequest,
    responses(
        (status = 200, description = "TOTP is on", body = TotpEnabledResponse),
        (status = 401, body = Problem),
        (status = 409, description = "No enrolment started, or TOTP is on already", body = Problem),
        (status = 422, description = "`code` missing or wrong", body = Problem),
        (status = 429, description = "Too many attempts (the sign-in limit, per client IP and per user)", body = Problem),
    ))]
#[post("/users/me/mfa/totp/confirm")]
pub(crate) async fn totp_confirm(
    state: web::Data<AppState>,
    user: AuthUser,
    ip: ClientIp,
    client: RequestClient,
    body: Json<TotpConfirmRequest>,
) -> Result<HttpResponse, ApiError> {
    let Json(body) = body;
    check_reauth_limits(&state, ip, user.id).await?;
    let code = required(body.code, "code")?;
    let (recovery_codes, session) = state.auth.confirm_totp(user.id, &code, &client.0).await?;
    Ok(
        session_response(StatusCode::OK, session.clone(), &state.config).json(TotpEnabledResponse {
            recovery_codes,
            session: token_body(session),
        }),
    )
}
