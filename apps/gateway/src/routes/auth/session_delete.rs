//! # DELETE /api/auth/sessions/{id}

use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, RequestClient};
use crate::state::AppState;
use actix_web::delete;
use actix_web::{HttpResponse, web};
use epop_core::TokenFamilyId;
use uuid::Uuid;

/// Ends one of the caller's sessions (its own included): its refresh token stops working, its access tokens
/// are refused from the moment this answers, on every node, and its sockets are disconnected. The caller's
/// other sessions go on. Another user's session, an ended one or an unknown id is `404`.
#[utoipa::path(tag = "auth", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The session's id (`GET /api/auth/sessions`)")),
    responses(
        (status = 204, description = "Ended"),
        (status = 401, body = Problem),
        (status = 404, description = "No live session of the caller has this id", body = Problem),
    ))]
#[delete("/auth/sessions/{id}")]
pub(crate) async fn delete(
    state: web::Data<AppState>,
    user: AuthUser,
    client: RequestClient,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    state
        .auth
        .end_session(user.id, TokenFamilyId::from(id.into_inner()), &client.0)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
