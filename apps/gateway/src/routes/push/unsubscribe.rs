//! # DELETE /api/push-subscriptions/{id}

use crate::error::{ApiError, Problem};
use crate::extract::AuthUser;
use crate::state::AppState;
use actix_web::delete;
use actix_web::{HttpResponse, web};
use epop_core::PushSubscriptionId;
use uuid::Uuid;

/// Removes one of the caller's push subscriptions (`404` for anyone else's).
#[utoipa::path(tag = "notifications", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 204, description = "Removed"), (status = 401, body = Problem), (status = 404, body = Problem)))]
#[delete("/push-subscriptions/{id}")]
pub(crate) async fn unsubscribe(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    state
        .push
        .unsubscribe(user.id, PushSubscriptionId::from(id.into_inner()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
