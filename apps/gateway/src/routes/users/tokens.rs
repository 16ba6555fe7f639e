//! # POST, GET /api/users/me/tokens and DELETE /api/users/me/tokens/{id}
//!
//! Personal access tokens (`docs/api.md`, Personal access tokens). The bodies and answers are shared with the
//! admin's routes for bots' tokens (`/api/admin/bots/{id}/tokens`).

use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Json, Query, RequestClient, page_request};
use crate::routes::chat::PageQuery;
use crate::routes::{no_surrounding_space, required};
use crate::state::AppState;
use actix_web::{HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use epop_auth::{AccessToken, IssuedAccessToken, NewAccessToken, Scope};
use epop_core::{AccessTokenId, Page, UserId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A new personal access token.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct CreateTokenRequest {
    /// What the token is for, 1..=100 characters.
    #[garde(
        required,
        length(chars, min = 1, max = 100),
        inner(custom(no_surrounding_space))
    )]
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    /// What it may do: one or more scopes (repeats are ignored).
    #[garde(required, length(min = 1, max = 32))]
    #[schema(min_items = 1, max_items = 32)]
    pub scopes: Option<Vec<Scope>>,
    /// When it stops working, in the future; absent or `null`: never.
    #[garde(skip)]
    pub expires_at: Option<DateTime<Utc>>,
}

impl CreateTokenRequest {
    /// The validated request as the service takes it.
    pub(crate) fn into_new(self) -> Result<NewAccessToken, ApiError> {
        Ok(NewAccessToken {
            name: required(self.name, "name")?,
            scopes: required(self.scopes, "scopes")?,
            expires_at: self.expires_at,
        })
    }
}

/// A personal access token as listed: never the secret.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccessTokenDto {
    /// The token's id (`DELETE .../tokens/{id}`).
    #[schema(value_type = uuid::Uuid)]
    pub id: AccessTokenId,
    /// Whose it is.
    #[schema(value_type = uuid::Uuid)]
    pub user_id: UserId,
    /// What it is for.
    pub name: String,
    /// Its first characters (`epop_pat_` and four more), to recognise it.
    pub token_prefix: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// Who created it: its owner, or the admin who issued it for a bot.
    #[schema(value_type = Option<uuid::Uuid>)]
    pub created_by: Option<UserId>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it stops working; `null`: never.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was last used (written at most once a minute); `null`: never.
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<AccessToken> for AccessTokenDto {
    fn from(token: AccessToken) -> Self {
        Self {
            id: token.id,
            user_id: token.user_id,
            name: token.name,
            token_prefix: token.token_prefix,
            scopes: token.scopes,
            created_by: token.created_by,
            created_at: token.created_at,
            expires_at: token.expires_at,
            last_used_at: token.last_used_at,
        }
    }
}

/// A token just created: the only time its secret is shown.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedTokenDto {
    /// The bearer token (`Authorization: Bearer epop_pat_…`, or the socket's `auth.token`). Only its hash is
    /// kept: it cannot be shown again.
    pub token: String,
    /// The token as listed.
    #[serde(flatten)]
    pub details: AccessTokenDto,
}

impl From<IssuedAccessToken> for CreatedTokenDto {
    fn from(issued: IssuedAccessToken) -> Self {
        Self {
            token: issued.secret,
            details: issued.token.into(),
        }
    }
}

/// A page of tokens.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccessTokenPage {
    /// Newest first.
    pub items: Vec<AccessTokenDto>,
    /// Cursor of the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

impl From<Page<AccessToken>> for AccessTokenPage {
    fn from(page: Page<AccessToken>) -> Self {
        Self {
            items: page.items.into_iter().map(AccessTokenDto::from).collect(),
            next_cursor: page.next_cursor,
        }
    }
}

/// Creates a personal access token for the caller, limited to `scopes`. The answer shows the token once; it is
/// kept only hashed. At most `EPOP_MAX_ACCESS_TOKENS` per user (`409` past it; expired ones do not count).
/// Tokens cannot create tokens (this route needs a signed-in session).
#[utoipa::path(tag = "users", security(("bearer" = [])), request_body = CreateTokenRequest,
    responses(
        (status = 201, body = CreatedTokenDto),
        (status = 401, body = Problem),
        (status = 403, description = "Called with an access token", body = Problem),
        (status = 409, description = "As many tokens as allowed already", body = Problem),
        (status = 422, description = "Bad `name`, an unknown scope, or `expires_at` not in the future", body = Problem),
    ))]
#[post("/users/me/tokens")]
pub(crate) async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    client: RequestClient,
    body: Json<CreateTokenRequest>,
) -> Result<HttpResponse, ApiError> {
    let issued = state
        .auth
        .create_access_token(user.id, body.0.into_new()?, &client.0)
        .await?;
    Ok(HttpResponse::Created().json(CreatedTokenDto::from(issued)))
}

/// The caller's personal access tokens, newest first (never their secrets).
#[utoipa::path(tag = "users", security(("bearer" = [])), params(PageQuery),
    responses(
        (status = 200, body = AccessTokenPage),
        (status = 400, description = "Bad cursor", body = Problem),
        (status = 401, body = Problem),
        (status = 403, description = "Called with an access token", body = Problem),
        (status = 422, description = "Bad `limit`", body = Problem),
    ))]
#[get("/users/me/tokens")]
pub(crate) async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<PageQuery>,
) -> Result<web::Json<AccessTokenPage>, ApiError> {
    let Query(query) = query;
    let page = page_request(query.limit, query.cursor);
    let page = state.auth.access_tokens(user.id, &page).await?;
    Ok(web::Json(page.into()))
}

/// Revokes one of the caller's tokens: from when this answers it is refused on every node, and the sockets
/// opened with it are disconnected.
#[utoipa::path(tag = "users", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The token's id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, body = Problem),
        (status = 403, description = "Called with an access token", body = Problem),
        (status = 404, description = "The caller has no token with this id", body = Problem),
    ))]
#[delete("/users/me/tokens/{id}")]
pub(crate) async fn delete(
    state: web::Data<AppState>,
    user: AuthUser,
    client: RequestClient,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    state
        .auth
        .revoke_access_token(user.id, user.id, AccessTokenId::from(id.into_inner()), &client.0)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
