//! # POST /api/auth/oidc/exchange

use super::{check_auth_limits, sign_in_response};
use crate::error::{ApiError, Problem};
use crate::extract::{ClientIp, Json, RequestClient};
use crate::routes::mfa::LoginResponse;
use crate::routes::required;
use crate::state::AppState;
use actix_web::post;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

/// A finished single sign-on's one-time code.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct OidcExchangeRequest {
    /// The `code` of the fragment the callback sent the browser to (`{EPOP_APP_URL}/sso/complete#code=...`).
    #[garde(required, length(chars, min = 1, max = 256))]
    #[schema(value_type = String, min_length = 1, max_length = 256)]
    pub code: Option<String>,
}

/// Signs in with a finished single sign-on: the one-time code (single-use, 60 seconds) becomes the usual
/// answer of `POST /api/auth/login`: the token response and the refresh cookie, or `{mfa_required: true, ...}`
/// when the account has a second factor. Audited as `auth.login` with `details.method` `oidc`.
#[utoipa::path(tag = "auth", request_body = OidcExchangeRequest,
    responses(
        (status = 200, description = "Signed in, or the second factor is needed (`mfa_required: true`)", body = LoginResponse),
        (status = 403, description = "The account was deactivated meanwhile", body = Problem),
        (status = 422, description = "`code` is missing, or unknown, expired or used", body = Problem),
        (status = 429, description = "Too many attempts from this address", body = Problem),
    ))]
#[post("/auth/oidc/exchange")]
pub(crate) async fn exchange(
    state: web::Data<AppState>,
    ip: ClientIp,
    client: RequestClient,
    body: Json<OidcExchangeRequest>,
) -> Result<HttpResponse, ApiError> {
    check_auth_limits(&state, ip, None).await?;
    let Json(body) = body;
    let code = required(body.code, "code")?;
    let signed_in = state.auth.oidc_exchange(&code, &client.0).await?;
    Ok(sign_in_response(signed_in, &state.config))
}
