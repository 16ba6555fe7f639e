//! # POST /api/auth/logout

use super::{RefreshTokenBody, clear_refresh_cookie, presented_refresh_token};
use crate::error::{ApiError, Problem};
use crate::extract::OptionalJson;
use crate::state::AppState;
use actix_web::post;
use actix_web::{HttpRequest, HttpResponse, web};

/// Revokes the presented refresh token (cookie or body) and clears the cookie.
#[utoipa::path(tag = "auth", request_body(content = Option<RefreshTokenBody>, description = "Optional when the `epop_refresh` cookie is sent"),
    responses(
        (status = 204, description = "Signed out; cookie cleared"),
        (status = 401, description = "No, unknown, expired or revoked token", body = Problem),
    ))]
#[post("/auth/logout")]
pub(crate) async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: OptionalJson<RefreshTokenBody>,
) -> Result<HttpResponse, ApiError> {
    let token = presented_refresh_token(&req, body.0).ok_or_else(ApiError::unauthorized)?;
    state.auth.logout(&token).await?;
    Ok(HttpResponse::NoContent()
        .cookie(clear_refresh_cookie(&state.config))
        .finish())
}
