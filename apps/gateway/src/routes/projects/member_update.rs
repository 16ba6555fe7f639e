//! # PUT /api/projects/{id}/members/{user_id}

use super::actor;
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Json};
use crate::routes::required;
use crate::state::AppState;
use actix_web::put;
use actix_web::web;
use epop_core::{ProjectId, UserId};
use epop_projects::Project;
use epop_projects::ProjectRole;
use serde::Deserialize;
use uuid::Uuid;

/// A member's new role.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct ChangeRoleRequest {
    /// `owner`, `admin`, `member` or `viewer`.
    #[garde(required)]
    #[schema(value_type = ProjectRole)]
    pub role: Option<ProjectRole>,
}

/// Changes a member's role (`owner` or `admin`; only an owner grants or takes `owner`; the last owner stays).
#[utoipa::path(tag = "projects", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("user_id" = Uuid, Path)), request_body = ChangeRoleRequest,
    responses(
        (status = 200, body = Project),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 404, description = "No such project or member", body = Problem),
        (status = 409, description = "Demoting the last owner", body = Problem),
        (status = 422, body = Problem),
    ))]
#[put("/projects/{id}/members/{user_id}")]
pub(crate) async fn update(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
    body: Json<ChangeRoleRequest>,
) -> Result<web::Json<Project>, ApiError> {
    let Json(body) = body;
    let (id, member) = path.into_inner();
    let role = required(body.role, "role")?;
    Ok(web::Json(
        state
            .projects
            .change_role(actor(user), ProjectId::from(id), UserId::from(member), role)
            .await?,
    ))
}
