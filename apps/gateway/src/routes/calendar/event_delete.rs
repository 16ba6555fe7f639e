//! # DELETE /api/calendar-events/{id}

use crate::error::{ApiError, Problem};
use crate::extract::AuthUser;
use crate::state::AppState;
use actix_web::delete;
use actix_web::{HttpResponse, web};
use epop_core::CalendarEventId;
use uuid::Uuid;

/// Deletes one of the caller's events.
#[utoipa::path(tag = "calendar", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 204, description = "Deleted"), (status = 401, body = Problem), (status = 404, body = Problem)))]
#[delete("/calendar-events/{id}")]
pub(crate) async fn delete(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    state
        .calendar
        .delete(user.id, CalendarEventId::from(id.into_inner()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
