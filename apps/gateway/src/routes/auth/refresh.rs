//! # POST /api/auth/refresh

use super::{
    RefreshTokenBody, TokenResponse, check_auth_limits, presented_refresh_token, session_response, token_body,
};
use crate::error::{ApiError, Problem};
use crate::extract::{ClientIp, OptionalJson, RequestClient};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::post;
use actix_web::{HttpRequest, HttpResponse, web};

/// Rotates the refresh token (cookie or body) and issues a new access token.
#[utoipa::path(tag = "auth", request_body(content = Option<RefreshTokenBody>, description = "Optional when the `epop_refresh` cookie is sent"),
    responses(
        (status = 200, description = "New session in the same family", body = TokenResponse),
        (status = 401, description = "`unauthorized` (no, unknown, expired or revoked token) or `token_reused`", body = Problem),
        (status = 429, description = "Too many attempts", body = Problem),
    ))]
#[post("/auth/refresh")]
pub(crate) async fn refresh(
    state: web::Data<AppState>,
    req: HttpRequest,
    ip: ClientIp,
    client: RequestClient,
    body: OptionalJson<RefreshTokenBody>,
) -> Result<HttpResponse, ApiError> {
    check_auth_limits(&state, ip, None).await?;
    let token = presented_refresh_token(&req, body.0).ok_or_else(ApiError::unauthorized)?;
    let session = state.auth.refresh(&token, &client.0).await?;
    Ok(session_response(StatusCode::OK, session.clone(), &state.config).json(token_body(session)))
}
