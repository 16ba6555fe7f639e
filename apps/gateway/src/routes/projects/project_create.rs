//! # POST /api/projects

use super::{ProjectSchema, actor};
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Json};
use crate::routes::required;
use crate::state::AppState;
use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, web};
use epop_projects::{NewProject, ProjectStatus};
use serde::Deserialize;

/// A new project.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct CreateProjectRequest {
    /// 1..=200 characters.
    #[garde(required, length(chars, min = 1, max = 200))]
    #[schema(value_type = String)]
    pub name: Option<String>,
    /// At most 10,000 characters (default empty).
    #[garde(length(chars, max = 10_000))]
    pub description: Option<String>,
    /// `active` (default), `on_hold`, `completed` or `archived`.
    #[garde(skip)]
    #[schema(value_type = Option<String>)]
    pub status: Option<ProjectStatus>,
}

/// Creates a project; the caller is its `owner`.
#[utoipa::path(post, path = "/api/projects", tag = "projects", security(("bearer" = [])), request_body = CreateProjectRequest,
    responses(
        (status = 201, description = "Created; `Location` points at it", body = ProjectSchema),
        (status = 401, body = Problem),
        (status = 422, body = Problem),
    ))]
pub async fn create(
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
