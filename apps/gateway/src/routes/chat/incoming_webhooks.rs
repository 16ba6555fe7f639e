//! # POST, GET /api/conversations/{id}/incoming-webhooks and DELETE
//! /api/conversations/{id}/incoming-webhooks/{hook_id}
//!
//! Incoming webhooks (`docs/api.md`, Incoming webhooks): the members of a group manage them; the secret URL
//! they get is served by [`crate::routes::hooks`].

use super::PageQuery;
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Json, Query, RequestClient, page_request};
use crate::routes::{no_surrounding_space, required};
use crate::state::AppState;
use actix_web::{HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use epop_chat::incoming_webhooks::{CreatedIncomingWebhook, IncomingWebhook};
use epop_core::{ConversationId, IncomingWebhookId, UserId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A new incoming webhook.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct CreateHookRequest {
    /// Its name, 1..=100 characters: also the name its bot user shows with each message.
    #[garde(
        required,
        length(chars, min = 1, max = 100),
        inner(custom(no_surrounding_space))
    )]
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    /// Whether every request must carry a valid Standard Webhooks signature made with the `signing_secret`
    /// the answer shows (default `false`).
    #[garde(skip)]
    #[serde(default)]
    pub verify_signatures: bool,
}

/// An incoming webhook as members see it (never its URL or secret).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IncomingWebhookDto {
    /// Its id.
    #[schema(value_type = uuid::Uuid)]
    pub id: IncomingWebhookId,
    /// The conversation it posts into.
    #[schema(value_type = uuid::Uuid)]
    pub conversation_id: ConversationId,
    /// The bot user it posts as (a member of the conversation, `is_bot: true`).
    #[schema(value_type = uuid::Uuid)]
    pub bot_user_id: UserId,
    /// Its name.
    pub name: String,
    /// Who created it; `null` once that account is gone.
    #[schema(value_type = Option<uuid::Uuid>)]
    pub created_by: Option<UserId>,
    /// Whether requests must be signed.
    pub verify_signatures: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

impl From<IncomingWebhook> for IncomingWebhookDto {
    fn from(hook: IncomingWebhook) -> Self {
        Self {
            id: hook.id,
            conversation_id: hook.conversation_id,
            bot_user_id: hook.bot_user_id,
            name: hook.name,
            created_by: hook.created_by,
            verify_signatures: hook.verify_signatures,
            created_at: hook.created_at,
        }
    }
}

/// A hook just created, with the secrets shown only now.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedHookDto {
    /// The secret URL to `POST` messages to (`{EPOP_PUBLIC_URL}/hooks/{token}`): anyone who has it can post
    /// into the conversation (unless signatures are verified). Only its hash is kept: it cannot be shown again.
    pub url: String,
    /// The Standard Webhooks secret (`whsec_…`) to sign requests with, when `verify_signatures`; else `null`.
    pub signing_secret: Option<String>,
    /// The hook as listed.
    #[serde(flatten)]
    pub details: IncomingWebhookDto,
}

/// A page of incoming webhooks.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IncomingWebhookPage {
    /// Oldest first.
    pub items: Vec<IncomingWebhookDto>,
    /// Cursor of the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// Creates an incoming webhook in a group the caller belongs to, with its own bot user (named as the hook,
/// `is_bot: true`), who joins the group (members get `conversation:updated`). The answer shows the secret URL
/// once. A direct conversation is `409`; at most `EPOP_MAX_INCOMING_WEBHOOKS` per conversation (`409`).
#[utoipa::path(tag = "chat", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = CreateHookRequest,
    responses(
        (status = 201, body = CreatedHookDto),
        (status = 401, body = Problem),
        (status = 403, description = "Called with an access token", body = Problem),
        (status = 404, description = "No such conversation, or the caller is not a member", body = Problem),
        (status = 409, description = "A direct conversation, or as many hooks as allowed", body = Problem),
        (status = 422, description = "Bad `name` or `verify_signatures`", body = Problem),
    ))]
#[post("/conversations/{id}/incoming-webhooks")]
pub(crate) async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    client: RequestClient,
    id: web::Path<Uuid>,
    body: Json<CreateHookRequest>,
) -> Result<HttpResponse, ApiError> {
    let Json(body) = body;
    let name = required(body.name, "name")?;
    let conversation = ConversationId::from(id.into_inner());
    // The bot is the auth crate's (users), the hook the chat crate's: made one after the other, and the bot
    // removed again when the hook cannot be made (not a member, a direct conversation, the limit).
    let bot = state.auth.create_hook_bot(&name).await?;
    let created = state
        .chat
        .create_incoming_webhook(
            user.id,
            conversation,
            bot.id,
            &name,
            body.verify_signatures,
            client.0.ip.as_deref(),
        )
        .await;
    let created: CreatedIncomingWebhook = match created {
        Ok(created) => created,
        Err(error) => {
            if let Err(cleanup) = state.auth.remove_unused_bot(bot.id).await {
                tracing::warn!(error = %cleanup, "could not remove the bot of a hook that was not created");
            }
            return Err(error.into());
        }
    };
    let url = format!(
        "{}/hooks/{}",
        state.config.public_url.trim_end_matches('/'),
        created.token
    );
    Ok(HttpResponse::Created().json(CreatedHookDto {
        url,
        signing_secret: created.signing_secret,
        details: created.hook.into(),
    }))
}

/// The incoming webhooks of a conversation the caller belongs to, oldest first (never their URLs).
#[utoipa::path(tag = "chat", security(("bearer" = [])), params(("id" = Uuid, Path), PageQuery),
    responses(
        (status = 200, body = IncomingWebhookPage),
        (status = 400, description = "Bad cursor", body = Problem),
        (status = 401, body = Problem),
        (status = 403, description = "Called with an access token", body = Problem),
        (status = 404, description = "No such conversation, or the caller is not a member", body = Problem),
        (status = 422, description = "Bad `limit`", body = Problem),
    ))]
#[get("/conversations/{id}/incoming-webhooks")]
pub(crate) async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    query: Query<PageQuery>,
) -> Result<web::Json<IncomingWebhookPage>, ApiError> {
    let Query(query) = query;
    let page = page_request(query.limit, query.cursor);
    let page = state
        .chat
        .incoming_webhooks(user.id, ConversationId::from(id.into_inner()), &page)
        .await?;
    Ok(web::Json(IncomingWebhookPage {
        items: page.items.into_iter().map(IncomingWebhookDto::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Deletes an incoming webhook (any member may): its URL answers `404` from now on and its bot leaves the
/// conversation; what it posted stays.
#[utoipa::path(tag = "chat", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("hook_id" = Uuid, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = Problem),
        (status = 403, description = "Called with an access token", body = Problem),
        (status = 404, description = "No such hook in a conversation of the caller", body = Problem),
    ))]
#[delete("/conversations/{id}/incoming-webhooks/{hook_id}")]
pub(crate) async fn delete(
    state: web::Data<AppState>,
    user: AuthUser,
    client: RequestClient,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (conversation, hook) = path.into_inner();
    state
        .chat
        .delete_incoming_webhook(
            user.id,
            ConversationId::from(conversation),
            IncomingWebhookId::from(hook),
            client.0.ip.as_deref(),
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
