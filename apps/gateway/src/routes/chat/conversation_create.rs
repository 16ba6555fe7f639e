//! # POST /api/conversations

use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Json};
use crate::routes::required;
use crate::state::AppState;
use actix_web::http::header::LOCATION;
use actix_web::post;
use actix_web::{HttpResponse, web};
use epop_chat::{ConversationKind, Opened};
use epop_core::{FieldError, UserId};
use serde::Deserialize;
use uuid::Uuid;

/// A new direct or group conversation.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct CreateConversationRequest {
    /// `direct` or `group`.
    #[garde(required)]
    #[schema(value_type = ConversationKind, example = "group")]
    pub r#type: Option<ConversationKind>,
    /// The group's name, 1..=100 characters (groups only).
    #[garde(length(chars, min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    /// The other member (direct: exactly one) or the members besides the creator (group).
    #[garde(required, length(max = 1000))]
    #[schema(value_type = Vec<Uuid>, max_items = 1000)]
    pub member_ids: Option<Vec<Uuid>>,
}

/// Creates a conversation. A direct conversation the two already share answers `200` with it.
#[utoipa::path(tag = "chat", security(("bearer" = [])), request_body = CreateConversationRequest,
    responses(
        (status = 201, description = "Created; `Location` points at it", body = epop_chat::Conversation),
        (status = 200, description = "The direct conversation the two already share", body = epop_chat::Conversation),
        (status = 401, body = Problem),
        (status = 422, description = "Unknown users, oneself, or a direct conversation without exactly one other member", body = Problem),
    ))]
#[post("/conversations")]
pub(crate) async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<CreateConversationRequest>,
) -> Result<HttpResponse, ApiError> {
    let Json(body) = body;
    let kind = required(body.r#type, "type")?;
    let members: Vec<UserId> = required(body.member_ids, "member_ids")?
        .into_iter()
        .map(UserId::from)
        .collect();
    let (conversation, created) = if kind == ConversationKind::Direct {
        let [other] = members.as_slice() else {
            return Err(ApiError::validation(vec![FieldError::new(
                "member_ids",
                "a direct conversation has exactly one other member",
            )]));
        };
        match state.chat.open_direct(user.id, *other).await? {
            Opened::Created(conversation) => (conversation, true),
            Opened::Existing(conversation) => (conversation, false),
        }
    } else {
        let name = required(body.name, "name")?;
        (state.chat.create_group(user.id, &name, &members).await?, true)
    };
    if created {
        Ok(HttpResponse::Created()
            .insert_header((LOCATION, format!("/api/conversations/{}", conversation.id)))
            .json(conversation))
    } else {
        Ok(HttpResponse::Ok().json(conversation))
    }
}
