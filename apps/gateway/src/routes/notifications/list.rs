//! # GET /api/notifications

use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Query, page_request};
use crate::state::AppState;
use actix_web::get;
use actix_web::web;
use epop_notifications::Notification;
use serde::{Deserialize, Serialize};

/// Filter and paging.
#[derive(Debug, Deserialize, garde::Validate, utoipa::IntoParams)]
pub struct NotificationsQuery {
    /// `true`: only the unread ones; absent or `false`: all.
    #[garde(skip)]
    pub unread: Option<bool>,
    /// Page size, 1..=100 (default 50).
    #[garde(range(min = 1, max = 100))]
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u16>,
    /// Cursor from the previous page.
    #[garde(skip)]
    pub cursor: Option<String>,
}

/// A page of notifications with the unread count.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NotificationPage {
    /// Newest first.
    items: Vec<Notification>,
    /// `null` on the last page.
    next_cursor: Option<String>,
    /// The caller's unread notifications in all, not only on this page.
    unread_count: i64,
}

/// The caller's notifications, newest first, with how many are unread.
#[utoipa::path(tag = "notifications", security(("bearer" = [])), params(NotificationsQuery),
    responses((status = 200, body = NotificationPage), (status = 400, body = Problem), (status = 401, body = Problem), (status = 422, body = Problem)))]
#[get("/notifications")]
pub(crate) async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<NotificationsQuery>,
) -> Result<web::Json<NotificationPage>, ApiError> {
    let Query(query) = query;
    let page = page_request(query.limit, query.cursor);
    let (page, unread_count) = state
        .notifications
        .list(user.id, query.unread.unwrap_or(false), &page)
        .await?;
    Ok(web::Json(NotificationPage {
        items: page.items,
        next_cursor: page.next_cursor,
        unread_count,
    }))
}
