//! # GET /api/users/{id}

use super::UserSummaryDto;
use crate::error::{ApiError, Problem};
use crate::extract::AuthUser;
use crate::state::AppState;
use actix_web::get;
use actix_web::web;
use epop_core::UserId;
use uuid::Uuid;

/// Another user, as the directory shows them.
#[utoipa::path(tag = "users", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The user's id")),
    responses((status = 200, body = UserSummaryDto), (status = 401, body = Problem), (status = 404, body = Problem)))]
#[get("/users/{id}")]
pub(crate) async fn get(
    state: web::Data<AppState>,
    _user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<web::Json<UserSummaryDto>, ApiError> {
    Ok(web::Json(
        state.auth.summary(UserId::from(id.into_inner())).await?.into(),
    ))
}
