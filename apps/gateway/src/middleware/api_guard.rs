//! The `/api` guard: authenticates a bearer token once (signature, expiry, and that its session was not
//! ended since: one Redis `GET`, see `epop_auth::sessions`; handlers read the result through
//! [`crate::extract::AuthUser`]) and applies the per-user limit (per IP before authentication). Register,
//! login and refresh are exempt here: they have their own, stricter limits per IP and per e-mail.
//!
//! A personal access token reaches only the routes its scopes allow ([`crate::scopes`], the one table of
//! them): another scope is `403` naming the scope it lacks, a route missing from the table `403` too.

use crate::error::ApiError;
use crate::extract::{Authenticated, ClientIp, bearer_token};
use crate::rate_limit::Quota;
use crate::routes::RouteTable;
use crate::scopes::{Access, route_access};
use crate::state::AppState;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage as _, web};
use epop_auth::{AuthError, TokenGrant};
use epop_core::ErrorCode;

const OWN_LIMITS: [&str; 3] = ["/api/auth/register", "/api/auth/login", "/api/auth/refresh"];

/// Pre-verifies the token and enforces `EPOP_API_RATE_LIMIT`.
pub async fn api_guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let claims = match bearer_token(req.request()) {
        Some(token) => match state.auth.authenticate(token).await {
            Ok(claims) => Some(claims),
            Err(AuthError::Unauthorized) => None,
            // Neither Redis nor PostgreSQL could tell whether the session was ended: refuse, never guess.
            Err(error) => return Ok(req.error_response(ApiError::from(error))),
        },
        None => None,
    };
    if let Some(grant) = claims.as_ref().and_then(|claims| claims.grant.as_ref())
        && let Err(refusal) = token_may_reach(&req, grant)
    {
        return Ok(req.error_response(refusal));
    }
    if let Some(claims) = &claims {
        req.extensions_mut().insert(Authenticated(claims.clone()));
    }
    if !OWN_LIMITS.contains(&req.path()) {
        let key = match &claims {
            Some(claims) => format!("user:{}", claims.sub),
            None => {
                let ip = req
                    .extensions()
                    .get::<ClientIp>()
                    .map(ClientIp::limit_key)
                    .unwrap_or_default();
                format!("ip:{ip}")
            }
        };
        let quota = Quota::per_minute(state.config.rate_limits.api_per_minute);
        if let Err(limited) = state.limiter.check("api", &key, quota).await {
            return Ok(req.error_response(ApiError::rate_limited(limited.retry_after_secs())));
        }
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// Whether a request with the access token `grant` may reach its route ([`crate::scopes`]). A path no route has,
/// or a method its path does not have, passes: the router answers `404` or `405` as for anyone.
fn token_may_reach(req: &ServiceRequest, grant: &TokenGrant) -> Result<(), ApiError> {
    let Some(pattern) = req.match_pattern() else {
        return Ok(());
    };
    match route_access(req.method(), &pattern) {
        Some(Access::Public) => Ok(()),
        Some(Access::Needs(scope)) if grant.allows(scope) => Ok(()),
        Some(Access::Needs(scope)) => Err(ApiError::new(
            ErrorCode::Forbidden,
            format!("this access token lacks the scope `{scope}`"),
        )),
        None => {
            let routed = req
                .app_data::<web::Data<RouteTable>>()
                .and_then(|table| {
                    table
                        .allowed(req.path())
                        .map(|methods| methods.contains(req.method()))
                })
                .unwrap_or(true);
            if routed {
                Err(ApiError::new(
                    ErrorCode::Forbidden,
                    "this route does not accept access tokens (no scope grants it): sign in instead",
                ))
            } else {
                Ok(())
            }
        }
    }
}
