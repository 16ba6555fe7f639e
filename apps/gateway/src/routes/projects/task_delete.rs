//! # DELETE /api/tasks/{id}

use super::actor;
use crate::error::{ApiError, Problem};
use crate::extract::AuthUser;
use crate::state::AppState;
use actix_web::delete;
use actix_web::{HttpResponse, web};
use epop_core::TaskId;
use uuid::Uuid;

/// Deletes a task (`viewer`s get `403`).
#[utoipa::path(tag = "projects", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 204, description = "Deleted"), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
#[delete("/tasks/{id}")]
pub(crate) async fn delete(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    state
        .projects
        .delete_task(actor(user), TaskId::from(id.into_inner()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
