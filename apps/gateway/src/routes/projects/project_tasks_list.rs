//! # GET /api/projects/{id}/tasks

use super::{DueDate, actor, assignee};
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Query, page_request};
use crate::state::AppState;
use actix_web::get;
use actix_web::web;
use epop_core::{LabelId, Page, ProjectId};
use epop_projects::TaskStatus;
use epop_projects::{ProjectTaskFilter, Task};
use serde::Deserialize;
use uuid::Uuid;

/// Filters and paging of a project's tasks.
#[derive(Debug, Deserialize, garde::Validate, utoipa::IntoParams)]
pub struct ProjectTasksQuery {
    /// Only tasks with this status.
    #[garde(skip)]
    #[param(inline, nullable = false)]
    pub status: Option<TaskStatus>,
    /// Only tasks assigned to this user (`me` for the caller).
    #[garde(length(max = 64))]
    #[param(
        max_length = 64,
        pattern = r"^(me|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})?$"
    )]
    pub assigned_to: Option<String>,
    /// Only tasks with this label.
    #[garde(skip)]
    pub label: Option<Uuid>,
    /// Only tasks due at or after this RFC 3339 timestamp or `YYYY-MM-DD` date (midnight UTC).
    #[garde(skip)]
    #[param(value_type = Option<String>, format = DateTime)]
    pub due_after: Option<DueDate>,
    /// Only tasks due strictly before this RFC 3339 timestamp or `YYYY-MM-DD` date (midnight UTC).
    #[garde(skip)]
    #[param(value_type = Option<String>, format = DateTime)]
    pub due_before: Option<DueDate>,
    /// Only tasks whose title or description contains every word of this text (1..=200 characters).
    #[garde(length(chars, min = 1, max = 200))]
    #[param(min_length = 1, max_length = 200)]
    pub q: Option<String>,
    /// Page size, 1..=100 (default 50).
    #[garde(range(min = 1, max = 100))]
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u16>,
    /// Cursor from the previous page.
    #[garde(skip)]
    pub cursor: Option<String>,
}

/// A project's tasks, oldest first (by `created_at`, then `id`), filtered by status, assignee, label, due range
/// (`[due_after, due_before)`) and text.
#[utoipa::path(tag = "projects", security(("bearer" = [])),
    params(("id" = Uuid, Path), ProjectTasksQuery),
    responses(
        (status = 200, body = Page<Task>),
        (status = 400, description = "Bad cursor", body = Problem),
        (status = 401, body = Problem),
        (status = 404, body = Problem),
        (status = 422, body = Problem),
    ))]
#[get("/projects/{id}/tasks")]
pub(crate) async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    query: Query<ProjectTasksQuery>,
) -> Result<web::Json<Page<Task>>, ApiError> {
    let Query(query) = query;
    let filter = ProjectTaskFilter {
        status: query.status,
        assigned_to: assignee(query.assigned_to.as_deref(), user.id)?,
        label: query.label.map(LabelId::from),
        due_after: query.due_after.map(|d| d.0),
        due_before: query.due_before.map(|d| d.0),
        text: query.q,
    };
    let page = page_request(query.limit, query.cursor);
    Ok(web::Json(
        state
            .projects
            .project_tasks(actor(user), ProjectId::from(id.into_inner()), &filter, &page)
            .await?,
    ))
}
