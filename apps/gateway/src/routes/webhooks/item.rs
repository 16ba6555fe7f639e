//! # /api/webhooks/{id}
//!
//! One webhook: read, changed (`PATCH`: fields left out stay) and deleted by those who may manage its scope.

use super::{changer, managed};
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Json, RequestClient};
use crate::state::AppState;
use actix_web::{HttpResponse, delete, get, patch, web};
use epop_webhooks::{Webhook, WebhookChanges};
use serde::Deserialize;
use uuid::Uuid;

/// The body of `PATCH /api/webhooks/{id}`: fields left out stay as they are.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct UpdateWebhookRequest {
    /// A new URL, checked as on creation.
    #[garde(length(chars, min = 1, max = 2048))]
    #[schema(min_length = 1, max_length = 2048)]
    pub url: Option<String>,
    /// A new description (at most 500 characters).
    #[garde(length(chars, max = 500))]
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// New event types (empty: all of the scope's).
    #[garde(length(max = 64))]
    #[schema(max_items = 64)]
    pub event_types: Option<Vec<String>>,
    /// On (`true`, which also clears `disabled_reason`) or off (`false`: `disabled_reason` becomes `manual`).
    #[garde(skip)]
    pub enabled: Option<bool>,
}

/// One webhook (never its secret).
#[utoipa::path(tag = "webhooks", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = Webhook),
        (status = 401, body = Problem),
        (status = 404, description = "No such webhook, or the caller may not manage it", body = Problem),
    ))]
#[get("/webhooks/{id}")]
pub(crate) async fn get(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<web::Json<Webhook>, ApiError> {
    let id = managed(&state, user, id.into_inner()).await?;
    Ok(web::Json(state.webhooks.get(id).await?))
}

/// Changes a webhook's URL, description or event types, or turns it on or off. Audited.
#[utoipa::path(tag = "webhooks", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = UpdateWebhookRequest,
    responses(
        (status = 200, body = Webhook),
        (status = 401, body = Problem),
        (status = 404, description = "No such webhook, or the caller may not manage it", body = Problem),
        (status = 422, description = "A malformed field; a `url` that is not a public `https` URL; an unknown event type", body = Problem),
    ))]
#[patch("/webhooks/{id}")]
pub(crate) async fn update(
    state: web::Data<AppState>,
    user: AuthUser,
    client: RequestClient,
    id: web::Path<Uuid>,
    body: Json<UpdateWebhookRequest>,
) -> Result<web::Json<Webhook>, ApiError> {
    let id = managed(&state, user, id.into_inner()).await?;
    let Json(body) = body;
    let changes = WebhookChanges {
        url: body.url,
        description: body.description,
        event_types: body.event_types,
        enabled: body.enabled,
    };
    Ok(web::Json(
        state
            .webhooks
            .update(changer(user, &client), id, &changes)
            .await?,
    ))
}

/// Deletes a webhook and its delivery log; attempts still queued are not made. Audited.
#[utoipa::path(tag = "webhooks", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = Problem),
        (status = 404, description = "No such webhook, or the caller may not manage it", body = Problem),
    ))]
#[delete("/webhooks/{id}")]
pub(crate) async fn delete(
    state: web::Data<AppState>,
    user: AuthUser,
    client: RequestClient,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = managed(&state, user, id.into_inner()).await?;
    state.webhooks.delete(changer(user, &client), id).await?;
    Ok(HttpResponse::NoContent().finish())
}
