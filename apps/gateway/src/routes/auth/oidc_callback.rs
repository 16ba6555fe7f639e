//! # GET /api/auth/oidc/{provider}/callback

use super::check_auth_limits;
use super::oidc_start::{OIDC_STATE_COOKIE, state_cookie};
use crate::error::{ApiError, Problem};
use crate::extract::{ClientIp, Query, RequestClient};
use crate::state::AppState;
use actix_web::cookie::time;
use actix_web::get;
use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, web};
use epop_auth::SsoCallback;
use serde::Deserialize;

/// What the provider sends back (RFC 6749, section 4.1.2).
#[derive(Debug, Deserialize, garde::Validate, utoipa::IntoParams)]
pub struct CallbackQuery {
    /// The authorization code.
    #[garde(length(max = 2048))]
    #[param(max_length = 2048)]
    pub code: Option<String>,
    /// The `state` of the sign-in.
    #[garde(length(max = 512))]
    #[param(max_length = 512)]
    pub state: Option<String>,
    /// The provider's error, when it did not sign the user in (such as `access_denied`).
    #[garde(length(max = 256))]
    #[param(max_length = 256)]
    pub error: Option<String>,
}

/// Where the provider sends the browser back. The code is exchanged (with the PKCE verifier), the ID token and
/// its nonce verified, and the account found: the one linked to the provider's identity, else the one with the
/// provider's verified e-mail (linked now), else a new one if the provider may create accounts; the e-mail's
/// domain must be allowed. The browser is then sent to the web app, `{EPOP_APP_URL}/sso/complete`, with a
/// one-time code in the fragment (`#code=...`, 60 seconds, for `POST /api/auth/oidc/exchange`) or the reason
/// it failed (`#error=invalid_state`, `provider_error`, `provider_unavailable`, `code_rejected`,
/// `invalid_id_token`, `email_not_verified`, `email_domain_not_allowed`, `account_creation_disabled`,
/// `deactivated`). Either way the state cookie is cleared and the attempt is audited.
#[utoipa::path(tag = "auth",
    params(("provider" = String, Path, description = "The provider's id in `EPOP_OIDC_PROVIDERS`"), CallbackQuery),
    responses(
        (status = 302, description = "To `{EPOP_APP_URL}/sso/complete#code=...` or `#error=...`",
            headers(("Location" = String, description = "The web app's single sign-on page with the outcome in the fragment"))),
        (status = 404, description = "No provider has this id", body = Problem),
        (status = 422, description = "A query parameter is too long", body = Problem),
        (status = 429, description = "Too many attempts from this address", body = Problem),
    ))]
#[get("/auth/oidc/{provider}/callback")]
pub(crate) async fn callback(
    state: web::Data<AppState>,
    req: HttpRequest,
    ip: ClientIp,
    client: RequestClient,
    provider: web::Path<String>,
    query: Query<CallbackQuery>,
) -> Result<HttpResponse, ApiError> {
    check_auth_limits(&state, ip, None).await?;
    let Query(query) = query;
    let callback = SsoCallback {
        code: query.code,
        state: query.state,
        error: query.error,
        browser_state: req.cookie(OIDC_STATE_COOKIE).map(|c| c.value().to_owned()),
    };
    let outcome = state.auth.oidc_callback(&provider, callback, &client.0).await?;
    let fragment = match &outcome {
        Ok(code) => ("code", code.as_str()),
        Err(failure) => ("error", failure.as_str()),
    };
    let fragment = form_urlencoded::Serializer::new(String::new())
        .append_pair(fragment.0, fragment.1)
        .finish();
    Ok(HttpResponse::Found()
        .insert_header((
            LOCATION,
            format!("{}/sso/complete#{fragment}", state.config.app_url),
        ))
        .cookie(state_cookie(
            state.config.cookie_secure,
            String::new(),
            time::Duration::ZERO,
        ))
        .finish())
}
