//! # POST /api/projects

use super::actor;
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Json};
use crate::routes::required;
use crate::state::AppState;
use actix_web::http::header::LOCATION;
use actix_web::post;
use actix_web::{HttpResponse, web};
use epop_projects::NewProject;
use epop_projects::Project;
use epop_projects::ProjectStatus;
use serde::Deserialize;

/// The body of `POST /api/projects`; the caller becomes the project's first owner.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct CreateProjectRequest {
    /// 1..=200 characters.
    #[garde(required, length(chars, min = 1, max = 200))]
    #[schema(value_type = String, min_length = 1, max_length = 200)]
    pub name: Option<String>,
    /// At most 10,000 characters (default empty).
    #[garde(length(chars, max = 10_000))]
    #[schema(max_length = 10_000)]
    pub description: Option<String>,
    /// `active` (default), `on_hold`, `completed` or `archived`.
    #[garde(skip)]
    pub status: Option<ProjectStatus>,
}

/// Creates a project; the caller is its `owner`.
#[utoipa::path(tag = "projects", security(("bearer" = [])), request_body = CreateProjectRequest,
    responses(
        (status = 201, description = "Created; `Location` points at it", body = Project),
        (status = 401, body = Problem),
        (status = 422, body = Problem),
    ))]
#[post("/projects")]
pub(crate) async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<CreateProjectRequest>,
) -> Result<HttpResponse, ApiError> {
    let Json(body) = body;
    let new = NewProject {
        name: required(body.name, "name")?,
        description: body.description,
        status: body.status,
    };
    let project = state.projects.create_project(actor(user), &new).await?;
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, format!("/api/projects/{}", project.id)))
        .json(project))
}
