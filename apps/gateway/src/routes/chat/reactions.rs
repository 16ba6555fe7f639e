//! # PUT /api/messages/{id}/reactions/{emoji} and DELETE /api/messages/{id}/reactions/{emoji}

use crate::error::{ApiError, Problem};
use crate::extract::AuthUser;
use crate::state::AppState;
use actix_web::{HttpResponse, delete, put, web};
use epop_core::MessageId;
use uuid::Uuid;

/// Reacts to a message of one of the caller's conversations (idempotent). `emoji` (percent-encoded in the
/// path) is one Unicode emoji sequence, skin tones allowed, or a `:shortcode:` naming one; anything else is
/// `422`. A new emoji on a message that already has `EPOP_MAX_REACTION_EMOJI` distinct ones (default 20) is `409`.
#[utoipa::path(tag = "chat", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("emoji" = String, Path, description = "An emoji, or a `:shortcode:`")),
    responses(
        (status = 204, description = "Reacted (or already had)"),
        (status = 401, body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "The message has as many distinct emoji as allowed", body = Problem),
        (status = 422, description = "Not one emoji nor a shortcode of one", body = Problem),
    ))]
#[put("/messages/{id}/reactions/{emoji}")]
pub(crate) async fn add(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(Uuid, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, emoji) = path.into_inner();
    state.chat.react(user.id, MessageId::from(id), &emoji).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Takes back the caller's reaction (`404` when they have none with this emoji).
#[utoipa::path(tag = "chat", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("emoji" = String, Path, description = "An emoji, or a `:shortcode:`")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, body = Problem),
        (status = 404, body = Problem),
        (status = 422, description = "Not one emoji nor a shortcode of one", body = Problem),
    ))]
#[delete("/messages/{id}/reactions/{emoji}")]
pub(crate) async fn remove(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(Uuid, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, emoji) = path.into_inner();
    state.chat.unreact(user.id, MessageId::from(id), &emoji).await?;
    Ok(HttpResponse::NoContent().finish())
}
