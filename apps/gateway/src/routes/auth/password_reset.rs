//! # POST /api/auth/password-reset

use super::check_account_email_limits;
use crate::error::{ApiError, Problem};
use crate::extract::{ClientIp, Json};
use crate::routes::{no_surrounding_space, required};
use crate::state::AppState;
use actix_web::post;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

/// The address of the account whose password is forgotten.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct PasswordResetRequest {
    /// The account's e-mail (any case).
    #[garde(
        required,
        length(chars, max = 254),
        email,
        inner(custom(no_surrounding_space))
    )]
    #[schema(value_type = String, format = Email, max_length = 254)]
    pub email: Option<String>,
}

/// Asks for a password reset link. Always `202`, whether or not an account has this address, after the same
/// work either way (one job queued), so the answer tells nobody which addresses have accounts. When one has,
/// a single-use link (valid 30 minutes; only its hash is stored) is e-mailed to it; asking again replaces the
/// previous link. Limited per client IP and per address (`EPOP_ACCOUNT_EMAIL_RATE_LIMIT` per hour).
#[utoipa::path(tag = "auth", request_body = PasswordResetRequest,
    responses(
        (status = 202, description = "Accepted: a link is e-mailed if an account has this address"),
        (status = 422, description = "`email` missing or not an e-mail address", body = Problem),
        (status = 429, description = "Too many requests from this client or for this address", body = Problem),
    ))]
#[post("/auth/password-reset")]
pub(crate) async fn password_reset(
    state: web::Data<AppState>,
    ip: ClientIp,
    body: Json<PasswordResetRequest>,
) -> Result<HttpResponse, ApiError> {
    let Json(body) = body;
    let email = required(body.email, "email")?;
    check_account_email_limits(&state, ip, &email).await?;
    state.auth.request_password_reset(&email).await?;
    Ok(HttpResponse::Accepted().finish())
}
