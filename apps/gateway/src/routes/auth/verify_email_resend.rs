//! # POST /api/auth/verify-email/resend

use super::check_account_email_limits;
use super::password_reset::PasswordResetRequest;
use crate::error::{ApiError, Problem};
use crate::extract::{ClientIp, Json};
use crate::routes::required;
use crate::state::AppState;
use actix_web::post;
use actix_web::{HttpResponse, web};

/// Asks for a new verification link. Always `202`, after the same work whether or not an account has this
/// address (as `POST /api/auth/password-reset`); when one has and it is not verified yet, a new link (valid 24
/// hours) is e-mailed to it, replacing the previous one. Needs no access token, so an account that may not sign
/// in before verifying can ask too. Limited per client IP and per address (`EPOP_ACCOUNT_EMAIL_RATE_LIMIT` per
/// hour, shared with password resets).
#[utoipa::path(tag = "auth", request_body = PasswordResetRequest,
    responses(
        (status = 202, description = "Accepted: a link is e-mailed if an unverified account has this address"),
        (status = 422, description = "`email` missing or not an e-mail address", body = Problem),
        (status = 429, description = "Too many requests from this client or for this address", body = Problem),
    ))]
#[post("/auth/verify-email/resend")]
pub(crate) async fn verify_email_resend(
    state: web::Data<AppState>,
    ip: ClientIp,
    body: Json<PasswordResetRequest>,
) -> Result<HttpResponse, ApiError> {
    let Json(body) = body;
    let email = required(body.email, "email")?;
    check_account_email_limits(&state, ip, &email).await?;
    state.auth.request_email_verification(&email).await?;
    Ok(HttpResponse::Accepted().finish())
}
