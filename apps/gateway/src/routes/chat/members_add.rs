//! # POST /api/conversations/{id}/members

use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Json};
use crate::routes::required;
use crate::state::AppState;
use actix_web::post;
use actix_web::web;
use epop_chat::Conversation;
use epop_core::{ConversationId, UserId};
use serde::Deserialize;
use uuid::Uuid;

/// People to add to a group.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct AddMembersRequest {
    /// Existing users; those in the group already are left as they are.
    #[garde(required, length(min = 1, max = 1000))]
    #[schema(value_type = Vec<Uuid>, min_items = 1, max_items = 1000)]
    pub user_ids: Option<Vec<Uuid>>,
}

/// Adds people to a group (any member may; people already in it change nothing).
#[utoipa::path(tag = "chat", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = AddMembersRequest,
    responses(
        (status = 200, body = Conversation),
        (status = 401, body = Problem),
        (status = 404, body = Problem),
        (status = 422, description = "Unknown users, or a direct conversation", body = Problem),
    ))]
#[post("/conversations/{id}/members")]
pub(crate) async fn add(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: Json<AddMembersRequest>,
) -> Result<web::Json<Conversation>, ApiError> {
    let Json(body) = body;
    let users: Vec<UserId> = required(body.user_ids, "user_ids")?
        .into_iter()
        .map(UserId::from)
        .collect();
    Ok(web::Json(
        state
            .chat
            .add_members(user.id, ConversationId::from(id.into_inner()), &users)
            .await?,
    ))
}
