//! # PUT /api/tasks/{id}

use super::{DueDate, actor, double_option, if_match, task_response};
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Json};
use crate::state::AppState;
use actix_web::put;
use actix_web::{HttpRequest, HttpResponse, web};
use epop_core::{LabelId, TaskId, UserId};
use epop_projects::Recurrence;
use epop_projects::Task;
use epop_projects::TaskChanges;
use epop_projects::TaskStatus;
use serde::Deserialize;
use uuid::Uuid;

/// A partial change to a task: fields left out stay as they are; `null` clears `assigned_to` or `due_date`.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct UpdateTaskRequest {
    /// 1..=200 characters.
    #[garde(length(chars, min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub title: Option<String>,
    /// At most 10,000 characters.
    #[garde(length(chars, max = 10_000))]
    #[schema(max_length = 10_000)]
    pub description: Option<String>,
    /// `todo`, `in_progress`, `in_review` or `done`.
    #[garde(skip)]
    pub status: Option<TaskStatus>,
    /// A member of the project, or `null` to unassign.
    #[garde(skip)]
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    pub assigned_to: Option<Option<Uuid>>,
    /// An RFC 3339 timestamp, `YYYY-MM-DD` for midnight UTC, or `null` to clear it.
    #[garde(skip)]
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, example = "2026-12-24")]
    pub due_date: Option<Option<DueDate>>,
    /// A task of the same project to become a subtask of (no cycles, within the depth limit), or `null` to
    /// become a top-level task.
    #[garde(skip)]
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    pub parent_id: Option<Option<Uuid>>,
    /// The task's labels from now on: labels of the project (at most `EPOP_TASK_MAX_LABELS`).
    #[garde(length(max = 100))]
    #[schema(max_items = 100)]
    pub label_ids: Option<Vec<Uuid>>,
    /// A recurrence rule (the task needs a `due_date`), or `null` to stop it recurring.
    #[garde(skip)]
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Recurrence>)]
    pub recurrence: Option<Option<Recurrence>>,
}

/// Changes a task (`viewer`s get `403`). With `If-Match`, the task must still have that version (`412`
/// otherwise). Answers the task with its new `ETag`.
#[utoipa::path(tag = "projects", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "The `ETag` the change is based on")),
    request_body = UpdateTaskRequest,
    responses(
        (status = 200, description = "The task; `ETag` is its new version", body = Task),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 412, description = "The task changed since that `ETag`", body = Problem),
        (status = 422, description = "Bad fields, an assignee who is not a member, or a parent that is not a task of the project, would make a cycle or is too deep", body = Problem),
    ))]
#[put("/tasks/{id}")]
pub(crate) async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: Json<UpdateTaskRequest>,
) -> Result<HttpResponse, ApiError> {
    let Json(body) = body;
    let changes = TaskChanges {
        title: body.title,
        description: body.description,
        status: body.status,
        assigned_to: body.assigned_to.map(|user| user.map(UserId::from)),
        due_date: body.due_date.map(|due| due.map(|d| d.0)),
        parent_id: body.parent_id.map(|parent| parent.map(TaskId::from)),
        label_ids: body
            .label_ids
            .map(|labels| labels.into_iter().map(LabelId::from).collect()),
        recurrence: body.recurrence,
    };
    let task = state
        .projects
        .update_task(
            actor(user),
            TaskId::from(id.into_inner()),
            &changes,
            if_match(&req).as_ref(),
        )
        .await?;
    Ok(task_response(HttpResponse::Ok(), &task))
}
