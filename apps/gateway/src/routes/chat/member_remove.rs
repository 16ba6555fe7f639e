//! # DELETE /api/conversations/{id}/members/{user_id}

use crate::error::{ApiError, Problem};
use crate::extract::AuthUser;
use crate::state::AppState;
use actix_web::delete;
use actix_web::{HttpResponse, web};
use epop_core::{ConversationId, UserId};
use uuid::Uuid;

/// Leaves a group, or (its creator only) removes someone from it.
#[utoipa::path(tag = "chat", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("user_id" = Uuid, Path)),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, body = Problem),
        (status = 403, description = "Only the group's creator removes others", body = Problem),
        (status = 404, body = Problem),
        (status = 422, description = "A direct conversation cannot be left", body = Problem),
    ))]
#[delete("/conversations/{id}/members/{user_id}")]
pub(crate) async fn remove(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (id, member) = path.into_inner();
    state
        .chat
        .remove_member(user.id, ConversationId::from(id), UserId::from(member))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
