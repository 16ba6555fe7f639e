//! # GET /api/auth/oidc/{provider}/start

use super::check_auth_limits;
use crate::error::{ApiError, Problem};
use crate::extract::ClientIp;
use crate::state::AppState;
use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::get;
use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, web};

/// Name of the cookie that binds a single sign-on to the browser that started it.
pub const OIDC_STATE_COOKIE: &str = "epop_oidc_state";
/// Path the cookie is sent to (the callbacks).
pub const OIDC_STATE_COOKIE_PATH: &str = "/api/auth/oidc";

/// The cookie holding a sign-in's `state` for `max_age` (`Lax`: the provider's redirect back is a top-level
/// navigation from another site, which `Strict` would leave without it).
pub(crate) fn state_cookie(secure: bool, value: String, max_age: time::Duration) -> Cookie<'static> {
    Cookie::build(OIDC_STATE_COOKIE, value)
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .path(OIDC_STATE_COOKIE_PATH)
        .max_age(max_age)
        .finish()
}

/// Starts a single sign-on at a configured OpenID Connect provider: redirects the browser to the provider's
/// authorization endpoint (authorization code flow with PKCE `S256`, a nonce and a `state`; scopes `openid
/// email profile`) and sets the `epop_oidc_state` cookie (`HttpOnly; SameSite=Lax; Path=/api/auth/oidc`, ten
/// minutes), which the callback needs: only the browser that started can finish. Open it as a page (a link or
/// `window.location`), not with `fetch`.
#[utoipa::path(tag = "auth", params(("provider" = String, Path, description = "The provider's id in `EPOP_OIDC_PROVIDERS`")),
    responses(
        (status = 302, description = "To the provider's authorization endpoint",
            headers(("Location" = String, description = "The provider's authorization URL"),
                ("Set-Cookie" = String, description = "`epop_oidc_state`, the sign-in's state for this browser"))),
        (status = 404, description = "No provider has this id", body = Problem),
        (status = 429, description = "Too many attempts from this address", body = Problem),
        (status = 503, description = "The provider's discovery document cannot be had (`unavailable`)", body = Problem),
    ))]
#[get("/auth/oidc/{provider}/start")]
pub(crate) async fn start(
    state: web::Data<AppState>,
    ip: ClientIp,
    provider: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    check_auth_limits(&state, ip, None).await?;
    let start = state.auth.oidc_start(&provider).await?;
    let cookie = state_cookie(
        state.config.cookie_secure,
        start.state,
        time::Duration::seconds(start.expires_in),
    );
    Ok(HttpResponse::Found()
        .insert_header((LOCATION, start.authorize_url))
        .cookie(cookie)
        .finish())
}
