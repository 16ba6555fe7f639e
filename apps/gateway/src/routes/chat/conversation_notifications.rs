//! # GET and PUT /api/conversations/{id}/notifications

use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Json};
use crate::state::AppState;
use actix_web::{get, put, web};
use chrono::{DateTime, Utc};
use epop_chat::{ConversationNotifications, NotifyLevel};
use epop_core::ConversationId;
use serde::Deserialize;
use uuid::Uuid;

/// The caller's notification settings of a conversation, all at once (a field left out is reset).
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct ConversationNotificationsRequest {
    /// `all`, `mentions` or `none`; `null` or absent: the default (`all` for direct conversations and groups of
    /// at most `EPOP_NOTIFY_ALL_MAX_MEMBERS` members, `mentions` for larger groups).
    #[garde(skip)]
    pub level: Option<NotifyLevel>,
    /// Muted (no in-app notifications) until this instant, which must be in the future; `null` or absent: not
    /// muted.
    #[garde(skip)]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub muted_until: Option<DateTime<Utc>>,
}

/// The caller's notification settings of one of their conversations.
#[utoipa::path(tag = "chat", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = ConversationNotifications),
        (status = 401, body = Problem),
        (status = 404, body = Problem),
    ))]
#[get("/conversations/{id}/notifications")]
pub(crate) async fn get(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<web::Json<ConversationNotifications>, ApiError> {
    let settings = state
        .chat
        .notification_settings(user.id, ConversationId::from(id.into_inner()))
        .await?;
    Ok(web::Json(settings))
}

/// Sets the caller's notification level of one of their conversations and mutes it until an instant: in-app
/// notifications of a conversation follow its level (`none` while muted).
#[utoipa::path(tag = "chat", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = ConversationNotificationsRequest,
    responses(
        (status = 200, body = ConversationNotifications),
        (status = 401, body = Problem),
        (status = 404, body = Problem),
        (status = 422, description = "A level that is not one of the three, or `muted_until` not in the future", body = Problem),
    ))]
#[put("/conversations/{id}/notifications")]
pub(crate) async fn put(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: Json<ConversationNotificationsRequest>,
) -> Result<web::Json<ConversationNotifications>, ApiError> {
    let Json(body) = body;
    let settings = state
        .chat
        .set_notification_settings(
            user.id,
            ConversationId::from(id.into_inner()),
            body.level,
            body.muted_until,
        )
        .await?;
    Ok(web::Json(settings))
}
