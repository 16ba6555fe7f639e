//! # GET /api/projects/{id}/tasks

use super::{TaskPageSchema, actor, assignee};
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Query, page_request};
use crate::state::AppState;
use actix_web::web;
use epop_core::{Page, ProjectId};
use epop_projects::{ProjectTaskFilter, Task, TaskStatus};
use serde::Deserialize;
use uuid::Uuid;

/// Filters and paging of a project's tasks.
#[derive(Debug, Deserialize, garde::Validate, utoipa::IntoParams)]
pub struct ProjectTasksQuery {
    /// Only tasks with this status.
    #[garde(skip)]
    #[param(value_type = Option<String>)]
    pub status: Option<TaskStatus>,
    /// Only tasks assigned to this user (`me` for the caller).
    #[garde(length(max = 64))]
    pub assigned_to: Option<String>,
    /// Page size, 1..=100 (default 50).
    #[garde(range(min = 1, max = 100))]
    pub limit: Option<u16>,
    /// Cursor from the previous page.
    #[garde(skip)]
    pub cursor: Option<String>,
}

/// A project's tasks, oldest first (by `created_at`, then `id`).
#[utoipa::path(get, path = "/api/projects/{id}/tasks", tag = "projects", security(("bearer" = [])),
    params(("id" = Uuid, Path), ProjectTasksQuery),
    responses(
        (status = 200, body = TaskPageSchema),
        (status = 400, description = "Bad cursor", body = Problem),
        (status = 401, body = Problem),
        (status = 404, body = Problem),
        (status = 422, body = Problem),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    query: Query<ProjectTasksQuery>,
) -> Result<web::Json<Page<Task>>, ApiError> {
    let Query(query) = query;
    let filter = ProjectTaskFilter {
        status: query.status,
        assigned_to: assignee(query.assigned_to.as_deref(), user.id)?,
    };
    let page = page_request(query.limit, query.cursor);
    Ok(web::Json(
        state
            .projects
            .project_tasks(actor(user), ProjectId::from(id.into_inner()), &filter, &page)
            .await?,
    ))
}
