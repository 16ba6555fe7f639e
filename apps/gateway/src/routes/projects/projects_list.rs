//! # GET /api/projects

use super::actor;
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Query, page_request};
use crate::state::AppState;
use actix_web::get;
use actix_web::web;
use epop_core::Page;
use epop_projects::Project;
use epop_projects::ProjectStatus;
use serde::Deserialize;

/// Filter and paging of the project list.
#[derive(Debug, Deserialize, garde::Validate, utoipa::IntoParams)]
pub struct ProjectsQuery {
    /// Only projects with this status: `active`, `on_hold`, `completed` or `archived`.
    #[garde(skip)]
    #[param(inline, nullable = false)]
    pub status: Option<ProjectStatus>,
    /// Page size, 1..=100 (default 50).
    #[garde(range(min = 1, max = 100))]
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u16>,
    /// Cursor from the previous page.
    #[garde(skip)]
    pub cursor: Option<String>,
}

/// The projects the caller is a member of (every project for a global admin), oldest first.
#[utoipa::path(tag = "projects", security(("bearer" = [])), params(ProjectsQuery),
    responses(
        (status = 200, body = Page<Project>),
        (status = 400, description = "Bad cursor", body = Problem),
        (status = 401, body = Problem),
        (status = 422, description = "Bad `status` or `limit`", body = Problem),
    ))]
#[get("/projects")]
pub(crate) async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<ProjectsQuery>,
) -> Result<web::Json<Page<Project>>, ApiError> {
    let Query(query) = query;
    let status = query.status;
    let page = page_request(query.limit, query.cursor);
    Ok(web::Json(
        state.projects.projects(actor(user), status, &page).await?,
    ))
}
