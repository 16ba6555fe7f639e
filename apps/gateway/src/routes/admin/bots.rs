//! # POST /api/admin/bots, and a bot's tokens: POST, GET /api/admin/bots/{id}/tokens, DELETE
//! /api/admin/bots/{id}/tokens/{token_id}
//!
//! Bot users (`docs/api.md`, Bot users): accounts without a password that act only through the access tokens
//! admins issue here. A bot is listed, deactivated and reactivated with the other accounts
//! (`/api/admin/users…`).

use crate::error::{ApiError, Problem};
use crate::extract::{GlobalAdmin, Json, Query, RequestClient, page_request};
use crate::routes::chat::PageQuery;
use crate::routes::required;
use crate::routes::users::UserDto;
use crate::routes::users::tokens::{AccessTokenPage, CreateTokenRequest, CreatedTokenDto};
use crate::state::AppState;
use actix_web::{HttpResponse, delete, get, post, web};
use epop_core::{AccessTokenId, UserId};
use serde::Deserialize;
use uuid::Uuid;

/// A new bot.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct CreateBotRequest {
    /// Unique among bots: 1..=32 of `a-z`, `0-9`, `-` and `_`, starting with a letter or digit. The bot's
    /// `email` becomes `{username}@bots.invalid`.
    #[garde(required, length(min = 1, max = 32), pattern(r"^[a-z0-9][a-z0-9_-]*$"))]
    #[schema(min_length = 1, max_length = 32, pattern = r"^[a-z0-9][a-z0-9_-]*$")]
    pub username: Option<String>,
    /// The name people see, 1..=100 characters.
    #[garde(
        required,
        length(chars, min = 1, max = 100),
        inner(custom(crate::routes::no_surrounding_space))
    )]
    #[schema(min_length = 1, max_length = 100)]
    pub display_name: Option<String>,
}

/// Creates a bot user: `is_bot: true`, no password (every sign-in with its e-mail is refused as a wrong
/// password is), a `member`. It acts only through access tokens issued with `POST /api/admin/bots/{id}/tokens`.
#[utoipa::path(tag = "admin", security(("bearer" = [])), request_body = CreateBotRequest,
    responses(
        (status = 201, description = "The bot", body = UserDto),
        (status = 401, body = Problem),
        (status = 404, description = "The caller is not a global admin", body = Problem),
        (status = 409, description = "Another bot has the username", body = Problem),
        (status = 422, description = "Bad `username` or `display_name`", body = Problem),
    ))]
#[post("/admin/bots")]
pub(crate) async fn create(
    state: web::Data<AppState>,
    admin: GlobalAdmin,
    client: RequestClient,
    body: Json<CreateBotRequest>,
) -> Result<HttpResponse, ApiError> {
    let Json(body) = body;
    let username = required(body.username, "username")?;
    let display_name = required(body.display_name, "display_name")?;
    let bot = state
        .auth
        .create_bot(admin.0.id, &username, &display_name, &client.0)
        .await?;
    Ok(HttpResponse::Created().json(UserDto::from(bot)))
}

/// Issues an access token for a bot (shown once, as `POST /api/users/me/tokens` does), counted against the
/// bot's `EPOP_MAX_ACCESS_TOKENS`.
#[utoipa::path(tag = "admin", security(("bearer" = [])), request_body = CreateTokenRequest,
    params(("id" = Uuid, Path, description = "The bot's user id")),
    responses(
        (status = 201, body = CreatedTokenDto),
        (status = 401, body = Problem),
        (status = 404, description = "No such bot, or the caller is not a global admin", body = Problem),
        (status = 409, description = "The bot has as many tokens as allowed", body = Problem),
        (status = 422, description = "Bad `name`, an unknown scope, or `expires_at` not in the future", body = Problem),
    ))]
#[post("/admin/bots/{id}/tokens")]
pub(crate) async fn create_token(
    state: web::Data<AppState>,
    admin: GlobalAdmin,
    client: RequestClient,
    id: web::Path<Uuid>,
    body: Json<CreateTokenRequest>,
) -> Result<HttpResponse, ApiError> {
    let issued = state
        .auth
        .create_bot_token(
            admin.0.id,
            UserId::from(id.into_inner()),
            body.0.into_new()?,
            &client.0,
        )
        .await?;
    Ok(HttpResponse::Created().json(CreatedTokenDto::from(issued)))
}

/// A bot's access tokens, newest first (never their secrets).
#[utoipa::path(tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The bot's user id"), PageQuery),
    responses(
        (status = 200, body = AccessTokenPage),
        (status = 400, description = "Bad cursor", body = Problem),
        (status = 401, body = Problem),
        (status = 404, description = "No such bot, or the caller is not a global admin", body = Problem),
        (status = 422, description = "Bad `limit`", body = Problem),
    ))]
#[get("/admin/bots/{id}/tokens")]
pub(crate) async fn tokens(
    state: web::Data<AppState>,
    _admin: GlobalAdmin,
    id: web::Path<Uuid>,
    query: Query<PageQuery>,
) -> Result<web::Json<AccessTokenPage>, ApiError> {
    let Query(query) = query;
    let page = page_request(query.limit, query.cursor);
    let page = state
        .auth
        .bot_tokens(UserId::from(id.into_inner()), &page)
        .await?;
    Ok(web::Json(page.into()))
}

/// Revokes a bot's token at once, on every node (its sockets are disconnected).
#[utoipa::path(tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The bot's user id"), ("token_id" = Uuid, Path)),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, body = Problem),
        (status = 404, description = "No such bot or token, or the caller is not a global admin", body = Problem),
    ))]
#[delete("/admin/bots/{id}/tokens/{token_id}")]
pub(crate) async fn revoke_token(
    state: web::Data<AppState>,
    admin: GlobalAdmin,
    client: RequestClient,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (bot, token) = path.into_inner();
    state
        .auth
        .revoke_bot_token(
            admin.0.id,
            UserId::from(bot),
            AccessTokenId::from(token),
            &client.0,
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
