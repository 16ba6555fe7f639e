//! # GET /api/push/vapid-public-key

use crate::error::{ApiError, Problem};
use crate::extract::AuthUser;
use crate::state::AppState;
use actix_web::get;
use actix_web::web;
use serde::Serialize;

/// The server's VAPID public key.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VapidKey {
    /// Base64url uncompressed P-256 point, for `pushManager.subscribe({applicationServerKey})`.
    pub key: String,
}

/// The key browsers subscribe with.
#[utoipa::path(tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = VapidKey), (status = 401, body = Problem)))]
#[get("/push/vapid-public-key")]
pub(crate) async fn vapid_key(
    state: web::Data<AppState>,
    _user: AuthUser,
) -> Result<web::Json<VapidKey>, ApiError> {
    Ok(web::Json(VapidKey {
        key: state.push.vapid_public_key().to_owned(),
    }))
}
