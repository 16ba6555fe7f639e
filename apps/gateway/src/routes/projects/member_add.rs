//! # POST /api/projects/{id}/members

use super::actor;
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Json};
use crate::routes::required;
use crate::state::AppState;
use actix_web::http::header::LOCATION;
use actix_web::post;
use actix_web::{HttpResponse, web};
use epop_core::{ProjectId, UserId};
use epop_projects::Project;
use epop_projects::ProjectRole;
use serde::Deserialize;
use uuid::Uuid;

/// A user to add to a project.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct AddMemberRequest {
    /// An existing user who is not a member yet.
    #[garde(required)]
    #[schema(value_type = Uuid)]
    pub user_id: Option<Uuid>,
    /// `owner` (only an owner grants it), `admin`, `member` or `viewer`.
    #[garde(required)]
    #[schema(value_type = ProjectRole)]
    pub role: Option<ProjectRole>,
}

/// Adds a member (`owner` or `admin`); answers the project.
#[utoipa::path(tag = "projects", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = AddMemberRequest,
    responses(
        (status = 201, description = "Added; `Location` points at the project", body = Project),
        (status = 401, body = Problem),
        (status = 403, description = "Not an owner or admin, or an admin granting `owner`", body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "Already a member", body = Problem),
        (status = 422, description = "Unknown user or role", body = Problem),
    ))]
#[post("/projects/{id}/members")]
pub(crate) async fn add(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: Json<AddMemberRequest>,
) -> Result<HttpResponse, ApiError> {
    let Json(body) = body;
    let member = UserId::from(required(body.user_id, "user_id")?);
    let role = required(body.role, "role")?;
    let project = state
        .projects
        .add_member(actor(user), ProjectId::from(id.into_inner()), member, role)
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, format!("/api/projects/{}", project.id)))
        .json(project))
}
