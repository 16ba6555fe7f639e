//! # /api/webhooks/{id}/deliveries
//!
//! A webhook's delivery log (newest first), and a delivery sent again.

use super::{WebhooksQuery, managed};
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Query, page_request};
use crate::state::AppState;
use actix_web::{HttpResponse, get, post, web};
use epop_core::Page;
use epop_webhooks::Delivery;
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
