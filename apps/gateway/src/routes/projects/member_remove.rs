//! # DELETE /api/projects/{id}/members/{user_id}

use super::actor;
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, RequestClient};
use crate::state::AppState;
use actix_web::delete;
use actix_web::{HttpResponse, web};
use epop_core::{ProjectId, UserId};
use uuid::Uuid;

/// Leaves a project, or (an `owner` or `admin`) removes a member; only an owner removes an owner. Their open
/// tasks in the project are unassigned.
#[utoipa::path(tag = "projects", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("user_id" = Uuid, Path)),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 404, description = "No such project or member", body = Problem),
        (status = 409, description = "The last owner", body = Problem),
    ))]
#[delete("/projects/{id}/members/{user_id}")]
pub(crate) async fn remove(
    state: web::Data<AppState>,
    user: AuthUser,
    client: RequestClient,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (id, member) = path.into_inner();
    state
        .projects
        .remove_member(
            actor(user),
            ProjectId::from(id),
            UserId::from(member),
            client.0.ip.as_deref(),
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
