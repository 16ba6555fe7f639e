//! # POST /api/users/me/mfa/totp

use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, ClientIp, Json};
use crate::routes::auth::check_reauth_limits;
use crate::routes::required;
use crate::state::AppState;
use actix_web::post;
use actix_web::{HttpResponse, web};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

/// The account's password, so that a stolen access token alone cannot add a second factor.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct TotpStartRequest {
    /// The account's password.
    #[garde(required, length(chars, max = 128))]
    #[schema(value_type = String, format = Password, max_length = 128)]
    pub password: Option<String>,
}

/// What an authenticator app needs, shown once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TotpEnrolmentResponse {
    /// The secret in base32, for typing into an app by hand.
    pub secret: String,
    /// `otpauth://totp/EPOP:{email}?secret=…&issuer=EPOP` (SHA-1, 6 digits, 30-second steps).
    pub otpauth_uri: String,
    /// `otpauth_uri` as a QR code: an SVG document.
    pub qr_svg: String,
}

/// Starts TOTP enrolment: a new secret (encrypted at rest), pending until `POST /api/users/me/mfa/totp/confirm`
/// proves the app has it; starting again replaces a pending secret. Needs the password (`403` when wrong), so a
/// stolen access token alone cannot lock the owner out with a second factor. `409 conflict` when TOTP is on
/// already (turn it off first).
#[utoipa::path(tag = "mfa", security(("bearer" = [])), request_body = TotpStartRequest,
    responses(
        (status = 201, description = "Enrolment started", body = TotpEnrolmentResponse),
        (status = 401, body = Problem),
        (status = 403, description = "Wrong password", body = Problem),
        (status = 409, description = "TOTP is on already", body = Problem),
        (status = 422, description = "`password` missing", body = Problem),
        (status = 429, description = "Too many attempts (the sign-in limit, per client IP and per user)", body = Problem),
        (status = 503, description = "Password hashing is saturated (`unavailable`); try again after `Retry-After` seconds", body = Problem,
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again (at least 1)"))),
    ))]
#[post("/users/me/mfa/totp")]
pub(crate) async fn totp_start(
    state: web::Data<AppState>,
    user: AuthUser,
    ip: ClientIp,
    body: Json<TotpStartRequest>,
) -> Result<HttpResponse, ApiError> {
    let Json(body) = body;
    check_reauth_limits(&state, ip, user.id).await?;
    let password = SecretString::from(required(body.password, "password")?);
    let enrolment = state.auth.start_totp_enrolment(user.id, &password).await?;
    Ok(HttpResponse::Created().json(TotpEnrolmentResponse {
        secret: enrolment.secret,
        otpauth_uri: enrolment.otpauth_uri,
        qr_svg: enrolment.qr_svg,
    }))
}
