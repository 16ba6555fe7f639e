//! # GET /api/users/me

use super::UserDto;
use crate::error::{ApiError, Problem};
use crate::extract::AuthUser;
use crate::state::AppState;
use actix_web::get;
use actix_web::web;

/// The caller's own account.
#[utoipa::path(tag = "users", security(("bearer" = [])),
    responses((status = 200, body = UserDto), (status = 401, body = Problem)))]
#[get("/users/me")]
pub(crate) async fn me_get(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<web::Json<UserDto>, ApiError> {
    Ok(web::Json(state.auth.me(user.id).await?.into()))
}
