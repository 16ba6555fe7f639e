//! # PUT /api/projects/{id}

use super::actor;
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Json};
use crate::state::AppState;
use actix_web::put;
use actix_web::web;
use epop_core::ProjectId;
use epop_projects::ProjectStatus;
use epop_projects::{Project, ProjectChanges};
use serde::Deserialize;
use uuid::Uuid;

/// A partial change to a project: fields left out (or `null`) stay as they are.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct UpdateProjectRequest {
    /// 1..=200 characters.
    #[garde(length(chars, min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    /// At most 10,000 characters.
    #[garde(length(chars, max = 10_000))]
    #[schema(max_length = 10_000)]
    pub description: Option<String>,
    /// `active`, `on_hold`, `completed` or `archived`.
    #[garde(skip)]
    pub status: Option<ProjectStatus>,
}

/// Changes a project (`owner` or `admin`; `403` for other members).
#[utoipa::path(tag = "projects", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = UpdateProjectRequest,
    responses((status = 200, body = Project), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
#[put("/projects/{id}")]
pub(crate) async fn update(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: Json<UpdateProjectRequest>,
) -> Result<web::Json<Project>, ApiError> {
    let Json(body) = body;
    let changes = ProjectChanges {
        name: body.name,
        description: body.description,
        status: body.status,
    };
    Ok(web::Json(
        state
            .projects
            .update_project(actor(user), ProjectId::from(id.into_inner()), &changes)
            .await?,
    ))
}
