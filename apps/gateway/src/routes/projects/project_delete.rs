//! # DELETE /api/projects/{id}

use super::actor;
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, RequestClient};
use crate::state::AppState;
use actix_web::delete;
use actix_web::{HttpResponse, web};
use epop_core::ProjectId;
use uuid::Uuid;

/// Deletes a project and its tasks (`owner` only; `403` for other members).
#[utoipa::path(tag = "projects", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 204, description = "Deleted with its tasks"), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
#[delete("/projects/{id}")]
pub(crate) async fn delete(
    state: web::Data<AppState>,
    user: AuthUser,
    client: RequestClient,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    state
        .projects
        .delete_project(
            actor(user),
            ProjectId::from(id.into_inner()),
            client.0.ip.as_deref(),
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
