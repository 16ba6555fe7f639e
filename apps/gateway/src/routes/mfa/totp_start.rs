//! # POST /api/users/me/mfa/totp

use crate::error::{ApiError, Problem};
use crate::extract::AuthUser;
use crate::state::AppState;
use actix_web::post;
use actix_web::{HttpResponse, web};
use serde::Serialize;

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
/// proves the app has it; starting again replaces a pending secret. `409 conflict` when TOTP is on already
/// (turn it off first).
#[utoipa::path(tag = "mfa", security(("bearer" = [])),
    responses(
        (status = 201, description = "Enrolment started", body = TotpEnrolmentResponse),
        (status = 401, body = Problem),
        (status = 409, description = "TOTP is on already", body = Problem),
    ))]
#[post("/users/me/mfa/totp")]
pub(crate) async fn totp_start(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    let enrolment = state.auth.start_totp_enrolment(user.id).await?;
    Ok(HttpResponse::Created().json(TotpEnrolmentResponse {
        secret: enrolment.secret,
        otpauth_uri: enrolment.otpauth_uri,
        qr_svg: enrolment.qr_svg,
    }))
}
