//! # GET /api/admin/users

use super::{AdminUserDto, AdminUserPage};
use crate::error::{ApiError, Problem};
use crate::extract::{GlobalAdmin, Query, page_request};
use crate::state::AppState;
use actix_web::get;
use actix_web::web;
use serde::Deserialize;

/// Search and paging of the accounts list.
#[derive(Debug, Deserialize, garde::Validate, utoipa::IntoParams)]
pub struct AdminUsersQuery {
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

/// Every account (deactivated ones included), by name, or those whose name or e-mail starts with `query`.
#[utoipa::path(tag = "admin", security(("bearer" = [])), params(AdminUsersQuery),
    responses(
        (status = 200, body = AdminUserPage),
        (status = 400, description = "Bad cursor", body = Problem),
        (status = 401, body = Problem),
        (status = 404, description = "The caller is not a global admin", body = Problem),
        (status = 422, description = "Bad `limit` or `query`", body = Problem),
    ))]
#[get("/admin/users")]
pub(crate) async fn list(
    state: web::Data<AppState>,
    _admin: GlobalAdmin,
    query: Query<AdminUsersQuery>,
) -> Result<web::Json<AdminUserPage>, ApiError> {
    let Query(query) = query;
    let page = page_request(query.limit, query.cursor);
    let page = state.auth.admin_users(query.query.as_deref(), &page).await?;
    Ok(web::Json(AdminUserPage {
        items: page.items.into_iter().map(AdminUserDto::from).collect(),
        next_cursor: page.next_cursor,
    }))
}
