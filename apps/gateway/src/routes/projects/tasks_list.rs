//! # GET /api/tasks

use super::{DueDate, actor, assignee};
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Query, page_request};
use crate::state::AppState;
use actix_web::get;
use actix_web::web;
use epop_core::Page;
use epop_projects::TaskStatus;
use epop_projects::{Task, TaskFilter};
use serde::Deserialize;

/// Filters and paging of the tasks across projects.
#[derive(Debug, Deserialize, garde::Validate, utoipa::IntoParams)]
pub struct TasksQuery {
    /// `me` or a user id: only tasks assigned to them.
    #[garde(length(max = 64))]
    #[param(
        max_length = 64,
        pattern = r"^(me|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})?$"
    )]
    pub assigned_to: Option<String>,
    /// Only tasks with this status.
    #[garde(skip)]
    #[param(inline, nullable = false)]
    pub status: Option<TaskStatus>,
    /// Only tasks due strictly before this RFC 3339 timestamp or `YYYY-MM-DD` date (midnight UTC).
    #[garde(skip)]
    #[param(value_type = Option<String>, format = DateTime)]
    pub due_before: Option<DueDate>,
    /// Page size, 1..=100 (default 50).
    #[garde(range(min = 1, max = 100))]
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u16>,
    /// Cursor from the previous page.
    #[garde(skip)]
    pub cursor: Option<String>,
}

/// Tasks across every project the caller can see, by `due_date` (tasks without one last), then `id`.
#[utoipa::path(tag = "projects", security(("bearer" = [])), params(TasksQuery),
    responses(
        (status = 200, body = Page<Task>),
        (status = 400, description = "Bad cursor", body = Problem),
        (status = 401, body = Problem),
        (status = 422, body = Problem),
    ))]
#[get("/tasks")]
pub(crate) async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<TasksQuery>,
) -> Result<web::Json<Page<Task>>, ApiError> {
    let Query(query) = query;
    let filter = TaskFilter {
        assigned_to: assignee(query.assigned_to.as_deref(), user.id)?,
        status: query.status,
        due_before: query.due_before.map(|d| d.0),
    };
    let page = page_request(query.limit, query.cursor);
    Ok(web::Json(
        state.projects.tasks(actor(user), &filter, &page).await?,
    ))
}
