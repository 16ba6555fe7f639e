//! # POST /api/conversations/{id}/messages

use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Json};
use crate::state::AppState;
use actix_web::http::header::LOCATION;
use actix_web::post;
use actix_web::{HttpResponse, web};
use epop_chat::{Sent, ThreadReply};
use epop_core::{AttachmentId, ConversationId, FieldError, MessageId};
use serde::Deserialize;
use uuid::Uuid;

/// A new message.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct SendMessageRequest {
    /// The text, 1..=10,000 characters unless attachments are given (checked after `client_id`
    /// deduplication, so a retry returns the first message whatever it carries).
    #[garde(skip)]
    pub content: Option<String>,
    /// An idempotency key: the same one again returns the first message and stores nothing.
    #[garde(custom(crate::rules::client_id))]
    #[schema(min_length = 1, max_length = 128)]
    pub client_id: Option<String>,
    /// Uploaded files to attach (from `POST /api/files/presign-upload`, uploaded by the caller).
    #[garde(length(max = 20))]
    #[schema(max_items = 20)]
    pub attachment_ids: Option<Vec<Uuid>>,
    /// Reply in the thread of this top-level message of the same conversation (a reply, or a message of
    /// another conversation, is `422`).
    #[garde(skip)]
    pub thread_root_id: Option<Uuid>,
    /// With `thread_root_id`: also show (and count) the reply in the conversation (default `false`).
    #[garde(skip)]
    pub send_to_conversation: Option<bool>,
}

/// Where a message goes in a thread (REST and socket alike); `send_to_conversation: true` without
/// `thread_root_id` is `422`.
pub(crate) fn thread_reply(
    thread_root_id: Option<Uuid>,
    send_to_conversation: Option<bool>,
) -> Result<Option<ThreadReply>, ApiError> {
    match (thread_root_id, send_to_conversation) {
        (Some(root), also) => Ok(Some(ThreadReply {
            root: MessageId::from(root),
            send_to_conversation: also.unwrap_or(false),
        })),
        (None, Some(true)) => Err(ApiError::validation(vec![FieldError::new(
            "send_to_conversation",
            "only for a reply (with thread_root_id)",
        )])),
        (None, _) => Ok(None),
    }
}

/// Posts a message. A repeated `client_id` answers `200` with the first message.
#[utoipa::path(tag = "chat", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = SendMessageRequest,
    responses(
        (status = 201, body = epop_chat::Message),
        (status = 200, description = "The message first sent with this `client_id`", body = epop_chat::Message),
        (status = 401, body = Problem),
        (status = 404, description = "Not a member, or the first message with this `client_id` was deleted", body = Problem),
        (status = 422, body = Problem),
    ))]
#[post("/conversations/{id}/messages")]
pub(crate) async fn send(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: Json<SendMessageRequest>,
) -> Result<HttpResponse, ApiError> {
    let Json(body) = body;
    let thread = thread_reply(body.thread_root_id, body.send_to_conversation)?;
    let attachments: Vec<AttachmentId> = body
        .attachment_ids
        .unwrap_or_default()
        .into_iter()
        .map(AttachmentId::from)
        .collect();
    let content = body.content.unwrap_or_default();
    let sent = state
        .chat
        .send(
            user.id,
            ConversationId::from(id.into_inner()),
            &content,
            body.client_id.as_deref(),
            &attachments,
            thread,
            None,
        )
        .await?;
    Ok(match sent {
        Sent::Created(message) => HttpResponse::Created()
            .insert_header((LOCATION, format!("/api/messages/{}", message.id)))
            .json(message),
        Sent::Existing(message) => HttpResponse::Ok().json(message),
    })
}
