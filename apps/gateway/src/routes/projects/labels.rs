//! # /api/projects/{id}/labels
//!
//! A project's labels: listed (paged, oldest first) by anyone who sees the project; created, changed and
//! deleted by those who may work on its tasks.

use super::actor;
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Json, Query, page_request};
use crate::routes::required;
use crate::state::AppState;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use epop_core::{LabelId, Page, ProjectId};
use epop_projects::Label;
use serde::Deserialize;
use uuid::Uuid;

/// The body of `POST /api/projects/{id}/labels`.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct CreateLabelRequest {
    /// 1..=50 characters (trimmed), unique in the project whatever the case.
    #[garde(required, length(chars, min = 1, max = 50))]
    #[schema(value_type = String, min_length = 1, max_length = 50)]
    pub name: Option<String>,
    /// `#rrggbb` (hexadecimal; stored in lower case).
    #[garde(required, length(min = 7, max = 7))]
    #[schema(value_type = String, pattern = "^#[0-9a-fA-F]{6}$", example = "#1f6feb")]
    pub colour: Option<String>,
}

/// The body of `PATCH /api/projects/{id}/labels/{label_id}`: fields left out stay as they are.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct UpdateLabelRequest {
    /// 1..=50 characters (trimmed), unique in the project whatever the case.
    #[garde(length(chars, min = 1, max = 50))]
    #[schema(min_length = 1, max_length = 50)]
    pub name: Option<String>,
    /// `#rrggbb` (hexadecimal).
    #[garde(length(min = 7, max = 7))]
    #[schema(pattern = "^#[0-9a-fA-F]{6}$")]
    pub colour: Option<String>,
}

/// Paging of a project's labels.
#[derive(Debug, Deserialize, garde::Validate, utoipa::IntoParams)]
pub struct LabelsQuery {
    /// Page size, 1..=100 (default 50).
    #[garde(range(min = 1, max = 100))]
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u16>,
    /// Cursor from the previous page.
    #[garde(skip)]
    pub cursor: Option<String>,
}

/// Creates a label (`viewer`s get `403`). A project has at most `EPOP_PROJECT_MAX_LABELS` labels.
#[utoipa::path(tag = "projects", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = CreateLabelRequest,
    responses(
        (status = 201, body = Label),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "A label of that name exists, or the project has the most labels it may", body = Problem),
        (status = 422, body = Problem),
    ))]
#[post("/projects/{id}/labels")]
pub(crate) async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: Json<CreateLabelRequest>,
) -> Result<HttpResponse, ApiError> {
    let Json(body) = body;
    let name = required(body.name, "name")?;
    let colour = required(body.colour, "colour")?;
    let label = state
        .projects
        .create_label(actor(user), ProjectId::from(id.into_inner()), &name, &colour)
        .await?;
    Ok(HttpResponse::Created().json(label))
}

/// A project's labels, oldest first.
#[utoipa::path(tag = "projects", security(("bearer" = [])),
    params(("id" = Uuid, Path), LabelsQuery),
    responses(
        (status = 200, body = Page<Label>),
        (status = 400, description = "Bad cursor", body = Problem),
        (status = 401, body = Problem),
        (status = 404, body = Problem),
        (status = 422, body = Problem),
    ))]
#[get("/projects/{id}/labels")]
pub(crate) async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    query: Query<LabelsQuery>,
) -> Result<web::Json<Page<Label>>, ApiError> {
    let Query(query) = query;
    let page = page_request(query.limit, query.cursor);
    Ok(web::Json(
        state
            .projects
            .labels(actor(user), ProjectId::from(id.into_inner()), &page)
            .await?,
    ))
}

/// Renames or recolours a label (`viewer`s get `403`).
#[utoipa::path(tag = "projects", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("label_id" = Uuid, Path)), request_body = UpdateLabelRequest,
    responses(
        (status = 200, body = Label),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "A label of that name exists", body = Problem),
        (status = 422, body = Problem),
    ))]
#[patch("/projects/{id}/labels/{label_id}")]
pub(crate) async fn update(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
    body: Json<UpdateLabelRequest>,
) -> Result<web::Json<Label>, ApiError> {
    let Json(body) = body;
    let (project, label) = path.into_inner();
    Ok(web::Json(
        state
            .projects
            .update_label(
                actor(user),
                ProjectId::from(project),
                LabelId::from(label),
                body.name.as_deref(),
                body.colour.as_deref(),
            )
            .await?,
    ))
}

/// Deletes a label (`viewer`s get `403`); it leaves every task that carried it.
#[utoipa::path(tag = "projects", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("label_id" = Uuid, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 404, body = Problem),
    ))]
#[delete("/projects/{id}/labels/{label_id}")]
pub(crate) async fn delete(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (project, label) = path.into_inner();
    state
        .projects
        .delete_label(actor(user), ProjectId::from(project), LabelId::from(label))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
