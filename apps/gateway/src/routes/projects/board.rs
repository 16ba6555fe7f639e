//! # The board: GET /api/projects/{id}/board and POST /api/tasks/{id}/move

use super::{actor, if_match, task_response};
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Json, Query, page_request};
use crate::routes::required;
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use epop_core::{Page, ProjectId, TaskId};
use epop_projects::{Task, TaskMove, TaskStatus};
use serde::Deserialize;
use uuid::Uuid;

/// One column of the board, paged.
#[derive(Debug, Deserialize, garde::Validate, utoipa::IntoParams)]
pub struct BoardQuery {
    /// The column: the status whose tasks are listed, in board order.
    #[garde(required)]
    #[param(inline, required = true, value_type = TaskStatus)]
    pub status: Option<TaskStatus>,
    /// Page size, 1..=100 (default 50).
    #[garde(range(min = 1, max = 100))]
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u16>,
    /// Cursor from the previous page.
    #[garde(skip)]
    pub cursor: Option<String>,
}

/// Where a task goes on the board.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct MoveTaskRequest {
    /// The column (default: the task's own status).
    #[garde(skip)]
    pub status: Option<TaskStatus>,
    /// The task it goes right after (in the target column).
    #[garde(skip)]
    pub after_id: Option<Uuid>,
    /// The task it goes right before (in the target column); with `after_id`, the task right after it.
    #[garde(skip)]
    pub before_id: Option<Uuid>,
}

/// One column of a project's board: its tasks of one status in board order (`position`, then `id`).
#[utoipa::path(tag = "projects", security(("bearer" = [])),
    params(("id" = Uuid, Path), BoardQuery),
    responses(
        (status = 200, body = Page<Task>),
        (status = 400, description = "Bad cursor", body = Problem),
        (status = 401, body = Problem),
        (status = 404, body = Problem),
        (status = 422, body = Problem),
    ))]
#[get("/projects/{id}/board")]
pub(crate) async fn column(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    query: Query<BoardQuery>,
) -> Result<web::Json<Page<Task>>, ApiError> {
    let Query(query) = query;
    let status = required(query.status, "status")?;
    let page = page_request(query.limit, query.cursor);
    Ok(web::Json(
        state
            .projects
            .board(actor(user), ProjectId::from(id.into_inner()), status, &page)
            .await?,
    ))
}

/// Moves a task on the board (`viewer`s get `403`): into `status` (its own by default), right after `after_id`
/// and/or right before `before_id`, or to the end of the column with neither. Only this task changes (its
/// `position`, and `status` when the column changes). With `If-Match`, the task must still have that version.
#[utoipa::path(tag = "projects", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "The `ETag` the move is based on")),
    request_body = MoveTaskRequest,
    responses(
        (status = 200, description = "The task; `ETag` is its new version", body = Task),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 412, description = "The task changed since that `ETag`", body = Problem),
        (status = 422, description = "A neighbour that is not another task of the target column, or neighbours that are not adjacent", body = Problem),
    ))]
#[post("/tasks/{id}/move")]
pub(crate) async fn move_task(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: Json<MoveTaskRequest>,
) -> Result<HttpResponse, ApiError> {
    let Json(body) = body;
    let to = TaskMove {
        status: body.status,
        after_id: body.after_id.map(TaskId::from),
        before_id: body.before_id.map(TaskId::from),
    };
    let task = state
        .projects
        .move_task(
            actor(user),
            TaskId::from(id.into_inner()),
            &to,
            if_match(&req).as_ref(),
        )
        .await?;
    Ok(task_response(HttpResponse::Ok(), &task))
}
