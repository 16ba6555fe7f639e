//! # POST /api/projects/{id}/tasks

use super::{DueDate, actor};
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Json};
use crate::routes::required;
use crate::state::AppState;
use actix_web::http::header::{ETAG, LOCATION};
use actix_web::post;
use actix_web::{HttpResponse, web};
use epop_core::{LabelId, ProjectId, TaskId, UserId};
use epop_projects::NewTask;
use epop_projects::Recurrence;
use epop_projects::Task;
use epop_projects::TaskStatus;
use serde::Deserialize;
use uuid::Uuid;

/// The body of `POST /api/projects/{id}/tasks` (a project `member`, `admin` or `owner`; not a `viewer`).
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct CreateTaskRequest {
    /// 1..=200 characters.
    #[garde(required, length(chars, min = 1, max = 200))]
    #[schema(value_type = String, min_length = 1, max_length = 200)]
    pub title: Option<String>,
    /// At most 10,000 characters (default empty).
    #[garde(length(chars, max = 10_000))]
    #[schema(max_length = 10_000)]
    pub description: Option<String>,
    /// `todo` (default), `in_progress`, `in_review` or `done`.
    #[garde(skip)]
    pub status: Option<TaskStatus>,
    /// A member of the project.
    #[garde(skip)]
    pub assigned_to: Option<Uuid>,
    /// An RFC 3339 timestamp, or `YYYY-MM-DD` for midnight UTC.
    #[garde(skip)]
    #[schema(value_type = Option<String>, example = "2026-12-24")]
    pub due_date: Option<DueDate>,
    /// Makes it a subtask of this task of the same project (within the depth limit, `EPOP_TASK_MAX_DEPTH`).
    #[garde(skip)]
    pub parent_id: Option<Uuid>,
    /// Labels of the project (at most `EPOP_TASK_MAX_LABELS`).
    #[garde(length(max = 100))]
    #[schema(max_items = 100)]
    pub label_ids: Option<Vec<Uuid>>,
    /// A recurrence rule (the task then needs a `due_date`): when it is done, the next one is created.
    #[garde(skip)]
    pub recurrence: Option<Recurrence>,
}

/// Creates a task (`viewer`s get `403`); the assignee must be a project member, the parent a task of the
/// project within the depth limit.
#[utoipa::path(tag = "projects", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = CreateTaskRequest,
    responses(
        (status = 201, description = "Created; `Location` points at it, `ETag` is its version", body = Task),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 422, description = "Bad fields, an assignee who is not a member, or a parent that is not a task of the project or is too deep", body = Problem),
    ))]
#[post("/projects/{id}/tasks")]
pub(crate) async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: Json<CreateTaskRequest>,
) -> Result<HttpResponse, ApiError> {
    let Json(body) = body;
    let new = NewTask {
        title: required(body.title, "title")?,
        description: body.description,
        status: body.status,
        assigned_to: body.assigned_to.map(UserId::from),
        due_date: body.due_date.map(|d| d.0),
        parent_id: body.parent_id.map(TaskId::from),
        label_ids: body
            .label_ids
            .unwrap_or_default()
            .into_iter()
            .map(LabelId::from)
            .collect(),
        recurrence: body.recurrence,
    };
    let task = state
        .projects
        .create_task(actor(user), ProjectId::from(id.into_inner()), &new)
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, format!("/api/tasks/{}", task.id)))
        .insert_header((ETAG, super::etag(task.version)))
        .json(task))
}
