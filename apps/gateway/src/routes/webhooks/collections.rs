//! # /api/webhooks, /api/conversations/{id}/webhooks, /api/projects/{id}/webhooks
//!
//! A scope's webhooks: created (`201` with the secret, shown this once) and listed (oldest first) by those who
//! may manage the scope.

use super::{Asked, CreateWebhookRequest, WebhooksQuery, authorize, changer};
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Json, Query, RequestClient, page_request};
use crate::state::AppState;
use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, get, post, web};
use epop_core::{ConversationId, Page, ProjectId};
use epop_webhooks::{Scope, Webhook, WebhookWithSecret};
use uuid::Uuid;

async fn create_in(
    state: &AppState,
    user: AuthUser,
    client: &RequestClient,
    scope: Scope,
    body: CreateWebhookRequest,
) -> Result<HttpResponse, ApiError> {
    authorize(state, user, scope, Asked::List).await?;
    let created = state
        .webhooks
        .create(changer(user, client), scope, &body.into_new()?)
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, format!("/api/webhooks/{}", created.webhook.id)))
        .json(created))
}

async fn list_in(
    state: &AppState,
    user: AuthUser,
    scope: Scope,
    query: WebhooksQuery,
) -> Result<web::Json<Page<Webhook>>, ApiError> {
    authorize(state, user, scope, Asked::List).await?;
    let page = page_request(query.limit, query.cursor);
    Ok(web::Json(state.webhooks.list(scope, &page).await?))
}

/// Creates a global webhook, which receives the events of every conversation and project (global admins only;
/// `404` for everyone else). A scope has at most `EPOP_WEBHOOKS_MAX_PER_SCOPE` webhooks (`409` past it).
#[utoipa::path(tag = "webhooks", security(("bearer" = [])), request_body = CreateWebhookRequest,
    responses(
        (status = 201, description = "Created; `Location` points at it; `secret` is shown this once", body = WebhookWithSecret),
        (status = 401, body = Problem),
        (status = 404, description = "The caller is not a global admin", body = Problem),
        (status = 409, description = "The scope has the most webhooks it may have", body = Problem),
        (status = 422, description = "A missing or malformed field; a `url` that is not a public `https` URL; an unknown event type", body = Problem),
    ))]
#[post("/webhooks")]
pub(crate) async fn create_global(
    state: web::Data<AppState>,
    user: AuthUser,
    client: RequestClient,
    body: Json<CreateWebhookRequest>,
) -> Result<HttpResponse, ApiError> {
    create_in(&state, user, &client, Scope::Global, body.0).await
}

/// The global webhooks, oldest first (global admins only).
#[utoipa::path(tag = "webhooks", security(("bearer" = [])), params(WebhooksQuery),
    responses(
        (status = 200, body = Page<Webhook>),
        (status = 400, description = "Bad cursor", body = Problem),
        (status = 401, body = Problem),
        (status = 404, description = "The caller is not a global admin", body = Problem),
        (status = 422, body = Problem),
    ))]
#[get("/webhooks")]
pub(crate) async fn list_global(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<WebhooksQuery>,
) -> Result<web::Json<Page<Webhook>>, ApiError> {
    list_in(&state, user, Scope::Global, query.0).await
}

/// Creates a webhook of a conversation (any member; `404` for others).
#[utoipa::path(tag = "webhooks", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = CreateWebhookRequest,
    responses(
        (status = 201, description = "Created; `Location` points at it; `secret` is shown this once", body = WebhookWithSecret),
        (status = 401, body = Problem),
        (status = 404, description = "No such conversation, or the caller is not a member", body = Problem),
        (status = 409, description = "The conversation has the most webhooks it may have", body = Problem),
        (status = 422, body = Problem),
    ))]
#[post("/conversations/{id}/webhooks")]
pub(crate) async fn create_in_conversation(
    state: web::Data<AppState>,
    user: AuthUser,
    client: RequestClient,
    id: web::Path<Uuid>,
    body: Json<CreateWebhookRequest>,
) -> Result<HttpResponse, ApiError> {
    let scope = Scope::Conversation(ConversationId::from(id.into_inner()));
    create_in(&state, user, &client, scope, body.0).await
}

/// A conversation's webhooks, oldest first (members only).
#[utoipa::path(tag = "webhooks", security(("bearer" = [])), params(("id" = Uuid, Path), WebhooksQuery),
    responses(
        (status = 200, body = Page<Webhook>),
        (status = 400, description = "Bad cursor", body = Problem),
        (status = 401, body = Problem),
        (status = 404, body = Problem),
        (status = 422, body = Problem),
    ))]
#[get("/conversations/{id}/webhooks")]
pub(crate) async fn list_in_conversation(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    query: Query<WebhooksQuery>,
) -> Result<web::Json<Page<Webhook>>, ApiError> {
    let scope = Scope::Conversation(ConversationId::from(id.into_inner()));
    list_in(&state, user, scope, query.0).await
}

/// Creates a webhook of a project (its `owner`s and `admin`s; `403` for other members, `404` for non-members).
#[utoipa::path(tag = "webhooks", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = CreateWebhookRequest,
    responses(
        (status = 201, description = "Created; `Location` points at it; `secret` is shown this once", body = WebhookWithSecret),
        (status = 401, body = Problem),
        (status = 403, description = "The caller's role may not manage the project's webhooks", body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "The project has the most webhooks it may have", body = Problem),
        (status = 422, body = Problem),
    ))]
#[post("/projects/{id}/webhooks")]
pub(crate) async fn create_in_project(
    state: web::Data<AppState>,
    user: AuthUser,
    client: RequestClient,
    id: web::Path<Uuid>,
    body: Json<CreateWebhookRequest>,
) -> Result<HttpResponse, ApiError> {
    let scope = Scope::Project(ProjectId::from(id.into_inner()));
    create_in(&state, user, &client, scope, body.0).await
}

/// A project's webhooks, oldest first (its `owner`s and `admin`s).
#[utoipa::path(tag = "webhooks", security(("bearer" = [])), params(("id" = Uuid, Path), WebhooksQuery),
    responses(
        (status = 200, body = Page<Webhook>),
        (status = 400, description = "Bad cursor", body = Problem),
        (status = 401, body = Problem),
        (status = 403, description = "The caller's role may not manage the project's webhooks", body = Problem),
        (status = 404, body = Problem),
        (status = 422, body = Problem),
    ))]
#[get("/projects/{id}/webhooks")]
pub(crate) async fn list_in_project(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    query: Query<WebhooksQuery>,
) -> Result<web::Json<Page<Webhook>>, ApiError> {
    let scope = Scope::Project(ProjectId::from(id.into_inner()));
    list_in(&state, user, scope, query.0).await
}
