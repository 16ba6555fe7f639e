//! # DELETE /api/calendar-events/{id}

use super::ScopeQuery;
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Query};
use crate::state::AppState;
use actix_web::delete;
use actix_web::{HttpResponse, web};

/// Deletes an event or a whole series the caller organises, or cancels one instance (`scope=this`, the
/// default: it becomes an `exdate`) or it and every later one (`scope=following`: the series ends before it).
/// Attendees get a `calendar_cancelled` notification. An attendee is answered `403`.
#[utoipa::path(tag = "calendar", security(("bearer" = [])),
    params(("id" = String, Path, description = "Event, series or instance id"), ScopeQuery),
    responses(
        (status = 204, description = "Deleted or cancelled"),
        (status = 401, body = Problem),
        (status = 403, description = "The caller is an attendee, not the organiser", body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "The series has the most cancelled instances allowed", body = Problem),
        (status = 422, description = "A bad `scope`", body = Problem),
    ))]
#[delete("/calendar-events/{id}")]
pub(crate) async fn delete(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    query: Query<ScopeQuery>,
) -> Result<HttpResponse, ApiError> {
    let Query(query) = query;
    state
        .calendar
        .delete(user.id, &id, query.scope.unwrap_or_default())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
