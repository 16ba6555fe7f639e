//! # GET /api/auth/sessions

use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Query, page_request};
use crate::state::AppState;
use actix_web::get;
use actix_web::web;
use chrono::{DateTime, Utc};
use epop_auth::SessionInfo;
use epop_core::TokenFamilyId;
use serde::{Deserialize, Serialize};

/// Paging of the sessions list.
#[derive(Debug, Deserialize, garde::Validate, utoipa::IntoParams)]
pub struct SessionsQuery {
    /// Page size, 1..=100 (default 50).
    #[garde(range(min = 1, max = 100))]
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u16>,
    /// Cursor from the previous page.
    #[garde(skip)]
    pub cursor: Option<String>,
}

/// One signed-in session of the caller: a sign-in and the refreshes that kept it going.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionDto {
    /// The session's id, for `DELETE /api/auth/sessions/{id}`.
    #[schema(value_type = uuid::Uuid)]
    pub id: TokenFamilyId,
    /// When it signed in.
    pub created_at: DateTime<Utc>,
    /// The last sign-in or refresh.
    pub last_used_at: DateTime<Utc>,
    /// The client's IP address at the last sign-in or refresh.
    pub ip: Option<String>,
    /// The client's `User-Agent` at the last sign-in or refresh (at most 512 characters).
    pub user_agent: Option<String>,
    /// Whether it is the session of the access token that asked.
    pub current: bool,
}

impl From<SessionInfo> for SessionDto {
    fn from(session: SessionInfo) -> Self {
        Self {
            id: session.id,
            created_at: session.created_at,
            last_used_at: session.last_used_at,
            ip: session.ip,
            user_agent: session.user_agent,
            current: session.current,
        }
    }
}

/// A page of the caller's sessions.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionPage {
    /// Newest sign-in first.
    pub items: Vec<SessionDto>,
    /// Cursor of the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// The caller's signed-in sessions, newest first: one per sign-in (a refresh token family) whose refresh token
/// still works. A session ends with a logout, a logout everywhere, a password or e-mail change, a refresh
/// token reuse, `DELETE /api/auth/sessions/{id}`, or when its refresh token expires.
#[utoipa::path(tag = "auth", security(("bearer" = [])), params(SessionsQuery),
    responses(
        (status = 200, body = SessionPage),
        (status = 400, description = "Bad cursor", body = Problem),
        (status = 401, body = Problem),
        (status = 422, description = "Bad `limit`", body = Problem),
    ))]
#[get("/auth/sessions")]
pub(crate) async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<SessionsQuery>,
) -> Result<web::Json<SessionPage>, ApiError> {
    let Query(query) = query;
    let page = page_request(query.limit, query.cursor);
    let page = state.auth.sessions(user.id, user.session, &page).await?;
    Ok(web::Json(SessionPage {
        items: page.items.into_iter().map(SessionDto::from).collect(),
        next_cursor: page.next_cursor,
    }))
}
