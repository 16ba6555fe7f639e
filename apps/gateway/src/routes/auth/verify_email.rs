//! # POST /api/auth/verify-email

use super::check_auth_limits;
use crate::error::{ApiError, Problem};
use crate::extract::{ClientIp, Json};
use crate::routes::required;
use crate::state::AppState;
use actix_web::post;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

/// A verification token from the e-mail.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct VerifyEmailRequest {
    /// The token of the verification link (its `token` parameter, or the code in the e-mail).
    #[garde(required, length(chars, min = 1, max = 128))]
    #[schema(value_type = String, min_length = 1, max_length = 128)]
    pub token: Option<String>,
}

/// Marks the address a verification link was sent to as verified (`email_verified: true` on the User). Needs
/// no access token: the link may be opened on another device. The token works once, for 24 hours, and only
/// while the account still has that address; otherwise `422` on field `token`, and nothing changes.
#[utoipa::path(tag = "auth", request_body = VerifyEmailRequest,
    responses(
        (status = 204, description = "The address is verified"),
        (status = 422, description = "`token` missing, unknown, used or expired", body = Problem),
        (status = 429, description = "Too many attempts", body = Problem),
    ))]
#[post("/auth/verify-email")]
pub(crate) async fn verify_email(
    state: web::Data<AppState>,
    ip: ClientIp,
    body: Json<VerifyEmailRequest>,
) -> Result<HttpResponse, ApiError> {
    let Json(body) = body;
    check_auth_limits(&state, ip, None).await?;
    let token = required(body.token, "token")?;
    state.auth.verify_email(&token).await?;
    Ok(HttpResponse::NoContent().finish())
}
