//! # POST /api/push-subscriptions

use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Json};
use crate::routes::required;
use crate::state::AppState;
use actix_web::HttpResponse;
use actix_web::post;
use actix_web::web;
use epop_notifications::push::PushSubscription;
use serde::Deserialize;

/// A browser `PushSubscription` (its `toJSON()`); other fields such as `expirationTime` are ignored.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct SubscribeRequest {
    /// The push service URL: `https`, naming a host (not an IP address, not `localhost`) that resolves only
    /// to public addresses.
    #[garde(required, length(max = 2048))]
    #[schema(value_type = String, max_length = 2048)]
    pub endpoint: Option<String>,
    /// The browser's keys that every push is encrypted with (RFC 8291).
    #[garde(required, dive)]
    #[schema(value_type = SubscriptionKeys)]
    pub keys: Option<SubscriptionKeys>,
}

/// The keys of a push subscription.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct SubscriptionKeys {
    /// The browser's P-256 public key, base64url.
    #[garde(required, length(max = 200))]
    #[schema(value_type = String, max_length = 200)]
    pub p256dh: Option<String>,
    /// The browser's 16-byte auth secret, base64url.
    #[garde(required, length(max = 100))]
    #[schema(value_type = String, max_length = 100)]
    pub auth: Option<String>,
}

/// Subscribes the caller's browser to Web Push notifications. The same endpoint again is `200`.
///
/// The server `POST`s to the endpoint on its own, so it must be an `https` URL without credentials whose host
/// is a name, not an IP address and not `localhost`, resolving only to public addresses (never loopback,
/// private, carrier-grade NAT, link-local such as `169.254.169.254`, unique-local such as `fd00:ec2::254`,
/// unspecified, multicast or reserved): `422` on `endpoint` otherwise. A name that does not resolve now is
/// accepted; it is checked again before every delivery, and the server connects only to the addresses that
/// check allowed (no redirects are followed). A user keeps at most `EPOP_PUSH_SUBSCRIPTIONS_MAX` subscriptions
/// (default 10): a new one beyond that replaces their oldest. What a push service answers never shows here: a
/// subscription it answered `404`/`410` for gets no more pushes, yet the same endpoint again is still `200`.
#[utoipa::path(tag = "notifications", security(("bearer" = [])), request_body = SubscribeRequest,
    responses(
        (status = 201, body = PushSubscription),
        (status = 200, description = "Already subscribed", body = PushSubscription),
        (status = 401, body = Problem),
        (status = 422, description = "A missing or malformed field; an `endpoint` that is not `https`, names an IP address or `localhost`, or resolves to a non-public address", body = Problem),
    ))]
#[post("/push-subscriptions")]
pub(crate) async fn subscribe(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<SubscribeRequest>,
) -> Result<HttpResponse, ApiError> {
    let Json(body) = body;
    let endpoint = required(body.endpoint, "endpoint")?;
    let keys = required(body.keys, "keys")?;
    let p256dh = required(keys.p256dh, "keys.p256dh")?;
    let auth = required(keys.auth, "keys.auth")?;
    let (subscription, created) = state.push.subscribe(user.id, &endpoint, &p256dh, &auth).await?;
    Ok(if created {
        HttpResponse::Created().json(subscription)
    } else {
        HttpResponse::Ok().json(subscription)
    })
}
