//! # DELETE /api/tasks/{id}

use super::actor;
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Query};
use crate::state::AppState;
use actix_web::delete;
use actix_web::{HttpResponse, web};
use epop_core::TaskId;
use epop_projects::ChildrenChoice;
use serde::Deserialize;
use uuid::Uuid;

/// What happens to the subtasks of a deleted task.
#[derive(Debug, Deserialize, garde::Validate, utoipa::IntoParams)]
pub struct DeleteTaskQuery {
    /// Required when the task has subtasks: `delete` deletes its whole subtree, `detach` makes its direct
    /// subtasks top-level tasks.
    #[garde(skip)]
    #[param(inline, nullable = false)]
    pub children: Option<ChildrenChoice>,
}

/// Deletes a task (`viewer`s get `403`). A task with subtasks is only deleted with `children`: without it the
/// answer is `409 conflict` and nothing changes.
#[utoipa::path(tag = "projects", security(("bearer" = [])), params(("id" = Uuid, Path), DeleteTaskQuery),
    responses((status = 204, description = "Deleted"), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "The task has subtasks and `children` was not given", body = Problem),
        (status = 422, description = "`children` is neither `delete` nor `detach`", body = Problem)))]
#[delete("/tasks/{id}")]
pub(crate) async fn delete(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    query: Query<DeleteTaskQuery>,
) -> Result<HttpResponse, ApiError> {
    let Query(query) = query;
    state
        .projects
        .delete_task(actor(user), TaskId::from(id.into_inner()), query.children)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
