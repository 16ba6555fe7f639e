//! # PUT /api/threads/{id}/follow and DELETE /api/threads/{id}/follow

use crate::error::{ApiError, Problem};
use crate::extract::AuthUser;
use crate::state::AppState;
use actix_web::{HttpResponse, delete, put, web};
use epop_core::MessageId;
use uuid::Uuid;

/// Follows a thread of one of the caller's conversations (idempotent).
#[utoipa::path(tag = "chat", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The thread's root message")),
    responses((status = 204, description = "Following"), (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 422, description = "`id` is a reply", body = Problem)))]
#[put("/threads/{id}/follow")]
pub(crate) async fn follow(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    state
        .chat
        .set_following(user.id, MessageId::from(id.into_inner()), true)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Stops following a thread (idempotent); replying to it again follows it again.
#[utoipa::path(tag = "chat", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The thread's root message")),
    responses((status = 204, description = "Not following"), (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 422, description = "`id` is a reply", body = Problem)))]
#[delete("/threads/{id}/follow")]
pub(crate) async fn unfollow(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    state
        .chat
        .set_following(user.id, MessageId::from(id.into_inner()), false)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
