//! # POST /api/auth/logout-all

use super::clear_refresh_cookie;
use crate::error::{ApiError, Problem};
use crate::extract::AuthUser;
use crate::state::AppState;
use actix_web::{HttpResponse, web};

/// Revokes every refresh token of the caller and disconnects their sockets on every node.
#[utoipa::path(post, path = "/api/auth/logout-all", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 204, description = "Every session ended"),
        (status = 401, description = "No valid access token", body = Problem),
    ))]
pub async fn logout_all(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    state.auth.logout_all(user.id).await?;
    Ok(HttpResponse::NoContent()
        .cookie(clear_refresh_cookie(&state.config))
        .finish())
}
