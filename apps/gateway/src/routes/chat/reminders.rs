//! # GET /api/reminders, GET /api/reminders/{id} and DELETE /api/reminders/{id}

use super::PageQuery;
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Query, page_request};
use crate::state::AppState;
use actix_web::{HttpResponse, delete, get, web};
use epop_chat::Reminder;
use epop_core::{Page, ReminderId};
use uuid::Uuid;

/// The caller's reminders still waiting, soonest first (by `remind_at`, then `id`).
#[utoipa::path(tag = "chat", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = Page<Reminder>), (status = 400, body = Problem), (status = 401, body = Problem), (status = 422, body = Problem)))]
#[get("/reminders")]
pub(crate) async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<PageQuery>,
) -> Result<web::Json<Page<Reminder>>, ApiError> {
    let Query(query) = query;
    let page = state
        .chat
        .reminders(user.id, &page_request(query.limit, query.cursor))
        .await?;
    Ok(web::Json(page))
}

/// One of the caller's reminders while it waits (`404` for anyone else's, and once it came or was cancelled).
#[utoipa::path(tag = "chat", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = Reminder), (status = 401, body = Problem), (status = 404, body = Problem)))]
#[get("/reminders/{id}")]
pub(crate) async fn get(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<web::Json<Reminder>, ApiError> {
    let id = ReminderId::from(id.into_inner());
    Ok(web::Json(state.chat.reminder(user.id, id).await?))
}

/// Cancels one of the caller's reminders. Once it is being announced (its time has come), `409`.
#[utoipa::path(tag = "chat", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses(
        (status = 204, description = "Cancelled"),
        (status = 401, body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "It is being announced", body = Problem),
    ))]
#[delete("/reminders/{id}")]
pub(crate) async fn cancel(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = ReminderId::from(id.into_inner());
    state.chat.cancel_reminder(user.id, id).await?;
    Ok(HttpResponse::NoContent().finish())
}
