//! # POST /api/webhooks/{id}/rotate-secret

use super::{changer, managed};
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, OptionalJson, RequestClient};
use crate::state::AppState;
use actix_web::{post, web};
use epop_webhooks::WebhookWithSecret;
use serde::Deserialize;
use std::time::Duration;
use uuid::Uuid;

/// How long the secret being replaced goes on signing, unless the request says otherwise.
const DEFAULT_OVERLAP: Duration = Duration::from_secs(24 * 3600);

/// The optional body of `POST /api/webhooks/{id}/rotate-secret`.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct RotateSecretRequest {
    /// How long, in seconds, the current secret goes on signing beside the new one (0..=604800, default
    /// 86400); `0` stops it at once.
    #[garde(range(max = 604_800))]
    #[schema(maximum = 604_800)]
    pub overlap_seconds: Option<u64>,
}

/// Gives a webhook a new secret, shown this once. Until `previous_secret_expires_at`, every delivery is signed
/// with both secrets (`webhook-signature: v1,<new> v1,<old>`), so the receiver can switch without losing any.
/// A secret rotated out earlier stops signing now. Audited.
#[utoipa::path(tag = "webhooks", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body(content = Option<RotateSecretRequest>, description = "Optional"),
    responses(
        (status = 200, description = "The webhook with its new `secret`", body = WebhookWithSecret),
        (status = 401, body = Problem),
        (status = 404, description = "No such webhook, or the caller may not manage it", body = Problem),
        (status = 422, body = Problem),
    ))]
#[post("/webhooks/{id}/rotate-secret")]
pub(crate) async fn rotate_secret(
    state: web::Data<AppState>,
    user: AuthUser,
    client: RequestClient,
    id: web::Path<Uuid>,
    body: OptionalJson<RotateSecretRequest>,
) -> Result<web::Json<WebhookWithSecret>, ApiError> {
    let id = managed(&state, user, id.into_inner()).await?;
    let overlap = body
        .0
        .and_then(|b| b.overlap_seconds)
        .map_or(DEFAULT_OVERLAP, Duration::from_secs);
    Ok(web::Json(
        state
            .webhooks
            .rotate_secret(changer(user, &client), id, overlap)
            .await?,
    ))
}
