//! # GET /api/users

use super::{UserPage, UserSummaryDto};
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Query, page_request};
use crate::state::AppState;
use actix_web::get;
use actix_web::web;
use serde::Deserialize;

/// Directory filter and paging.
#[derive(Debug, Deserialize, garde::Validate, utoipa::IntoParams)]
pub struct ListUsersQuery {
    /// Case-insensitive prefix of the name or e-mail.
    #[garde(length(chars, max = 254))]
    #[param(max_length = 254)]
    pub query: Option<String>,
    /// Page size, 1..=100 (default 50).
    #[garde(range(min = 1, max = 100))]
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u16>,
    /// Cursor from the previous page.
    #[garde(skip)]
    pub cursor: Option<String>,
}

/// The people directory, by name: everyone, or those whose name or e-mail starts with `query`.
#[utoipa::path(tag = "users", security(("bearer" = [])), params(ListUsersQuery),
    responses(
        (status = 200, body = UserPage),
        (status = 400, description = "Bad cursor", body = Problem),
        (status = 401, body = Problem),
        (status = 422, description = "Bad `limit`", body = Problem),
    ))]
#[get("/users")]
pub(crate) async fn list(
    state: web::Data<AppState>,
    _user: AuthUser,
    query: Query<ListUsersQuery>,
) -> Result<web::Json<UserPage>, ApiError> {
    let Query(query) = query;
    let page = page_request(query.limit, query.cursor);
    let page = state.auth.directory(query.query.as_deref(), &page).await?;
    Ok(web::Json(UserPage {
        items: page.items.into_iter().map(UserSummaryDto::from).collect(),
        next_cursor: page.next_cursor,
    }))
}
