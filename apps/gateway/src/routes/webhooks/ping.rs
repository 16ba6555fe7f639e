//! # POST /api/webhooks/{id}/ping

use super::managed;
use crate::error::{ApiError, Problem};
use crate::extract::AuthUser;
use crate::state::AppState;
use actix_web::{HttpResponse, post, web};
use epop_webhooks::Delivery;
use uuid::Uuid;

/// Sends a test event (`webhook.ping`, whatever the webhook's event types) as a delivery of its own, signed and
/// retried like any other; it shows in the delivery log.
#[utoipa::path(tag = "webhooks", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses(
        (status = 202, description = "Queued", body = Delivery),
        (status = 401, body = Problem),
        (status = 404, description = "No such webhook, or the caller may not manage it", body = Problem),
    ))]
#[post("/webhooks/{id}/ping")]
pub(crate) async fn ping(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = managed(&state, user, id.into_inner()).await?;
    Ok(HttpResponse::Accepted().json(state.webhooks.ping(id).await?))
}
