//! # /api/tasks/{id}/comments
//!
//! Comments on a task: `POST` and `GET` (paged, oldest first); `PATCH` and `DELETE` of one's own comment.

use super::actor;
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Json, Query, page_request};
use crate::routes::required;
use crate::state::AppState;
use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use epop_core::{Page, TaskCommentId, TaskId};
use epop_projects::TaskComment;
use serde::Deserialize;
use uuid::Uuid;

/// The body of a new or edited comment.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct CommentRequest {
    /// 1..=10,000 characters, not only spaces; `<@USER_ID>` mentions a project member.
    #[garde(required, length(chars, min = 1, max = 10_000))]
    #[schema(value_type = String, min_length = 1, max_length = 10_000)]
    pub body: Option<String>,
}

/// Paging of a task's comments.
#[derive(Debug, Deserialize, garde::Validate, utoipa::IntoParams)]
pub struct CommentsQuery {
    /// Page size, 1..=100 (default 50).
    #[garde(range(min = 1, max = 100))]
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u16>,
    /// Cursor from the previous page.
    #[garde(skip)]
    pub cursor: Option<String>,
}

/// Posts a comment on a task (`viewer`s get `403`). The task's watchers (creator, assignee, commenters) get a
/// `task_comment` notification, the mentioned project members a `task_mention` one.
#[utoipa::path(tag = "projects", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = CommentRequest,
    responses(
        (status = 201, description = "Posted; `Location` points at the task's comments", body = TaskComment),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "The task has the most comments it may carry (`EPOP_TASK_MAX_COMMENTS`)", body = Problem),
        (status = 422, body = Problem),
    ))]
#[post("/tasks/{id}/comments")]
pub(crate) async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: Json<CommentRequest>,
) -> Result<HttpResponse, ApiError> {
    let Json(body) = body;
    let text = required(body.body, "body")?;
    let task = TaskId::from(id.into_inner());
    let comment = state.projects.create_comment(actor(user), task, &text).await?;
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, format!("/api/tasks/{task}/comments/{}", comment.id)))
        .json(comment))
}

/// A task's comments, oldest first (by `created_at`, then `id`).
#[utoipa::path(tag = "projects", security(("bearer" = [])),
    params(("id" = Uuid, Path), CommentsQuery),
    responses(
        (status = 200, body = Page<TaskComment>),
        (status = 400, description = "Bad cursor", body = Problem),
        (status = 401, body = Problem),
        (status = 404, body = Problem),
        (status = 422, body = Problem),
    ))]
#[get("/tasks/{id}/comments")]
pub(crate) async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    query: Query<CommentsQuery>,
) -> Result<web::Json<Page<TaskComment>>, ApiError> {
    let Query(query) = query;
    let page = page_request(query.limit, query.cursor);
    Ok(web::Json(
        state
            .projects
            .comments(actor(user), TaskId::from(id.into_inner()), &page)
            .await?,
    ))
}

/// Edits one's own comment (anyone else gets `403`); members it newly mentions get a `task_mention`
/// notification.
#[utoipa::path(tag = "projects", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("comment_id" = Uuid, Path)), request_body = CommentRequest,
    responses(
        (status = 200, description = "The edited comment", body = TaskComment),
        (status = 401, body = Problem),
        (status = 403, description = "Not the comment's author, or a `viewer`", body = Problem),
        (status = 404, body = Problem),
        (status = 422, body = Problem),
    ))]
#[patch("/tasks/{id}/comments/{comment_id}")]
pub(crate) async fn update(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
    body: Json<CommentRequest>,
) -> Result<web::Json<TaskComment>, ApiError> {
    let Json(body) = body;
    let text = required(body.body, "body")?;
    let (task, comment) = path.into_inner();
    Ok(web::Json(
        state
            .projects
            .update_comment(
                actor(user),
                TaskId::from(task),
                TaskCommentId::from(comment),
                &text,
            )
            .await?,
    ))
}

/// Deletes one's own comment (anyone else gets `403`).
#[utoipa::path(tag = "projects", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("comment_id" = Uuid, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = Problem),
        (status = 403, description = "Not the comment's author, or a `viewer`", body = Problem),
        (status = 404, body = Problem),
    ))]
#[delete("/tasks/{id}/comments/{comment_id}")]
pub(crate) async fn delete(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (task, comment) = path.into_inner();
    state
        .projects
        .delete_comment(actor(user), TaskId::from(task), TaskCommentId::from(comment))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
