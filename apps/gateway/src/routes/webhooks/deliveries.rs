//! # /api/webhooks/{id}/deliveries
//!
//! A webhook's delivery log (newest first), each delivery's attempts, and a delivery sent again.

use super::{WebhooksQuery, managed};
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Query, page_request};
use crate::state::AppState;
use actix_web::{HttpResponse, get, post, web};
use epop_core::Page;
use epop_webhooks::{Delivery, DeliveryAttempt};
use uuid::Uuid;

/// A webhook's deliveries, newest first: each event (or ping) once, with its attempts so far, the latest
/// attempt's status code, duration and error, and when the next attempt is due.
#[utoipa::path(tag = "webhooks", security(("bearer" = [])), params(("id" = Uuid, Path), WebhooksQuery),
    responses(
        (status = 200, body = Page<Delivery>),
        (status = 400, description = "Bad cursor", body = Problem),
        (status = 401, body = Problem),
        (status = 404, description = "No such webhook, or the caller may not manage it", body = Problem),
        (status = 422, body = Problem),
    ))]
#[get("/webhooks/{id}/deliveries")]
pub(crate) async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    query: Query<WebhooksQuery>,
) -> Result<web::Json<Page<Delivery>>, ApiError> {
    let id = managed(&state, user, id.into_inner()).await?;
    let Query(query) = query;
    let page = page_request(query.limit, query.cursor);
    Ok(web::Json(state.webhooks.deliveries(id, &page).await?))
}

/// A delivery's attempts, newest first: when each was made, whether the receiver accepted it, its status code
/// or why it failed, and how long it took. The newest `EPOP_WEBHOOK_ATTEMPTS_KEPT` (default 50) of each
/// delivery are kept; a delivery's attempts go with it (`EPOP_WEBHOOK_DELIVERY_RETENTION_DAYS`).
#[utoipa::path(tag = "webhooks", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("delivery_id" = Uuid, Path), WebhooksQuery),
    responses(
        (status = 200, body = Page<DeliveryAttempt>),
        (status = 400, description = "Bad cursor", body = Problem),
        (status = 401, body = Problem),
        (status = 404, description = "No such webhook or delivery, or the caller may not manage it", body = Problem),
        (status = 422, body = Problem),
    ))]
#[get("/webhooks/{id}/deliveries/{delivery_id}/attempts")]
pub(crate) async fn attempts(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
    query: Query<WebhooksQuery>,
) -> Result<web::Json<Page<DeliveryAttempt>>, ApiError> {
    let (id, delivery) = path.into_inner();
    let id = managed(&state, user, id).await?;
    let Query(query) = query;
    let page = page_request(query.limit, query.cursor);
    Ok(web::Json(state.webhooks.attempts(id, delivery, &page).await?))
}

/// Sends a delivery again now, with the same `webhook-id` and body, as a new run of the retry schedule
/// (attempts still queued for it are dropped). The webhook must be on for it to be sent.
#[utoipa::path(tag = "webhooks", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("delivery_id" = Uuid, Path)),
    responses(
        (status = 202, description = "Queued", body = Delivery),
        (status = 401, body = Problem),
        (status = 404, description = "No such webhook or delivery, or the caller may not manage it", body = Problem),
    ))]
#[post("/webhooks/{id}/deliveries/{delivery_id}/redeliver")]
pub(crate) async fn redeliver(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (id, delivery) = path.into_inner();
    let id = managed(&state, user, id).await?;
    let queued = state.webhooks.redeliver(id, delivery).await?;
    Ok(HttpResponse::Accepted().json(queued))
}
