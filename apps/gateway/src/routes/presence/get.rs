//! # GET /api/presence

use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Query};
use crate::realtime::presence::PresenceStatus;
use crate::state::AppState;
use actix_web::get;
use actix_web::web;
use epop_core::{FieldError, UserId};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// The most users one request may ask about.
pub const MAX_USER_IDS: usize = 100;

/// Whose presence.
#[derive(Debug, Deserialize, garde::Validate, utoipa::IntoParams)]
pub struct PresenceQuery {
    /// Comma-separated user ids, 1 to 100.
    #[garde(length(max = 4000))]
    #[param(value_type = String, max_length = 4000, pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(,[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}){0,99}$")]
    pub user_ids: Option<String>,
}

/// The presence of the users asked about whom the caller may see.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PresenceList {
    /// One per user asked about who shares a conversation with the caller (or is the caller), in the order
    /// asked; other users are left out.
    pub items: Vec<PresenceStatus>,
}

fn parse_ids(raw: Option<&str>) -> Result<Vec<UserId>, ApiError> {
    let invalid = |message: &str| ApiError::validation(vec![FieldError::new("user_ids", message)]);
    let raw = raw
        .map(str::trim)
        .filter(|raw| !raw.is_empty())
        .ok_or_else(|| invalid("is required"))?;
    let mut ids = Vec::new();
    let mut distinct = HashSet::new();
    for part in raw.split(',') {
        let id = part
            .trim()
            .parse::<uuid::Uuid>()
            .map_err(|_| invalid("must be comma-separated user ids"))?;
        let id = UserId::from(id);
        if distinct.insert(id) {
            ids.push(id);
        }
        if ids.len() > MAX_USER_IDS {
            return Err(invalid("at most 100 user ids"));
        }
    }
    Ok(ids)
}

/// The presence of up to 100 users, on demand: `online` while they have a socket connected on any node,
/// `offline` with when they were last seen otherwise. Users who share no conversation with the caller are left
/// out.
#[utoipa::path(tag = "presence", security(("bearer" = [])), params(PresenceQuery),
    responses(
        (status = 200, body = PresenceList),
        (status = 401, body = Problem),
        (status = 422, description = "`user_ids` missing, malformed or more than 100", body = Problem),
    ))]
#[get("/presence")]
pub(crate) async fn get(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<PresenceQuery>,
) -> Result<web::Json<PresenceList>, ApiError> {
    let Query(query) = query;
    let ids = parse_ids(query.user_ids.as_deref())?;
    let visible: HashSet<UserId> = state
        .chat
        .presence_visible(user.id, &ids)
        .await?
        .into_iter()
        .collect();
    let shown: Vec<UserId> = ids.into_iter().filter(|id| visible.contains(id)).collect();
    let items = state.presence.statuses(&shown, true).await;
    Ok(web::Json(PresenceList { items }))
}
