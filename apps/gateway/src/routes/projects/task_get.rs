//! # GET /api/tasks/{id}

use super::{actor, task_response};
use crate::error::{ApiError, Problem};
use crate::extract::AuthUser;
use crate::state::AppState;
use actix_web::get;
use actix_web::{HttpResponse, web};
use epop_core::TaskId;
use epop_projects::Task;
use uuid::Uuid;

/// A task of a project the caller can see, with its version as `ETag`.
#[utoipa::path(tag = "projects", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses(
        (status = 200, description = "The task; `ETag` is its version", body = Task),
        (status = 401, body = Problem),
        (status = 404, body = Problem),
    ))]
#[get("/tasks/{id}")]
pub(crate) async fn get(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let task = state
        .projects
        .task(actor(user), TaskId::from(id.into_inner()))
        .await?;
    Ok(task_response(HttpResponse::Ok(), &task))
}
