//! # POST /api/auth/logout-all

use super::clear_refresh_cookie;
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, RequestClient};
use crate::state::AppState;
use actix_web::post;
use actix_web::{HttpResponse, web};

/// Ends every session of the caller: every refresh token is revoked, and every access token issued until now
/// (this one included) is refused from the moment this answers, on every node, by REST and by socket
/// handshakes; their sockets are disconnected. A session signed in after it (even within the same second) is
/// unaffected. A refresh racing with it either completes first and its new tokens are revoked too, or fails.
#[utoipa::path(tag = "auth", security(("bearer" = [])),
    responses(
        (status = 204, description = "Every session ended"),
        (status = 401, description = "No valid access token", body = Problem),
    ))]
#[post("/auth/logout-all")]
pub(crate) async fn logout_all(
    state: web::Data<AppState>,
    user: AuthUser,
    client: RequestClient,
) -> Result<HttpResponse, ApiError> {
    state.auth.logout_all(user.id, &client.0).await?;
    Ok(HttpResponse::NoContent()
        .cookie(clear_refresh_cookie(&state.config))
        .finish())
}
