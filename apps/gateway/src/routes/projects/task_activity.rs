//! # GET /api/tasks/{id}/activity

use super::actor;
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Query, page_request};
use crate::state::AppState;
use actix_web::{get, web};
use epop_core::{Page, TaskId};
use epop_projects::TaskActivity;
use serde::Deserialize;
use uuid::Uuid;

/// Paging of a task's activity.
#[derive(Debug, Deserialize, garde::Validate, utoipa::IntoParams)]
pub struct ActivityQuery {
    /// Page size, 1..=100 (default 50).
    #[garde(range(min = 1, max = 100))]
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u16>,
    /// Cursor from the previous page.
    #[garde(skip)]
    pub cursor: Option<String>,
}

/// Every change to a task, oldest first: who, when, which field, the old and the new value.
#[utoipa::path(tag = "projects", security(("bearer" = [])),
    params(("id" = Uuid, Path), ActivityQuery),
    responses(
        (status = 200, body = Page<TaskActivity>),
        (status = 400, description = "Bad cursor", body = Problem),
        (status = 401, body = Problem),
        (status = 404, body = Problem),
        (status = 422, body = Problem),
    ))]
#[get("/tasks/{id}/activity")]
pub(crate) async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    query: Query<ActivityQuery>,
) -> Result<web::Json<Page<TaskActivity>>, ApiError> {
    let Query(query) = query;
    let page = page_request(query.limit, query.cursor);
    Ok(web::Json(
        state
            .projects
            .task_activity(actor(user), TaskId::from(id.into_inner()), &page)
            .await?,
    ))
}
