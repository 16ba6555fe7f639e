//! # GET /api/projects/{id}

use super::actor;
use crate::error::{ApiError, Problem};
use crate::extract::AuthUser;
use crate::state::AppState;
use actix_web::get;
use actix_web::web;
use epop_core::ProjectId;
use epop_projects::Project;
use uuid::Uuid;

/// A project the caller is a member of (any project for a global admin; `404` for anyone else).
#[utoipa::path(tag = "projects", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = Project), (status = 401, body = Problem), (status = 404, body = Problem)))]
#[get("/projects/{id}")]
pub(crate) async fn get(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<web::Json<Project>, ApiError> {
    Ok(web::Json(
        state
            .projects
            .project(actor(user), ProjectId::from(id.into_inner()))
            .await?,
    ))
}
