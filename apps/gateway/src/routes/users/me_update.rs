//! # PUT /api/users/me

use super::UserDto;
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, ClientIp, Json, RequestClient};
use crate::routes::no_surrounding_space;
use crate::state::AppState;
use actix_web::put;
use actix_web::web;
use epop_auth::ProfileChanges;
use secrecy::SecretString;
use serde::Deserialize;

/// A partial profile update. Changing `email` or `password` needs `current_password`.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct UpdateMeRequest {
    /// New display name, 1..=100 characters.
    #[garde(length(chars, min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    /// A new e-mail: needs `current_password` and ends every session.
    #[garde(length(chars, max = 254), email, inner(custom(no_surrounding_space)))]
    #[schema(max_length = 254, format = Email)]
    pub email: Option<String>,
    /// New password, 8..=128 characters.
    #[garde(length(chars, min = 8, max = 128))]
    #[schema(min_length = 8, max_length = 128)]
    pub password: Option<String>,
    /// Needed to change `email` or `password`; a wrong one is `403 forbidden`.
    #[garde(length(chars, max = 128))]
    #[schema(max_length = 128)]
    pub current_password: Option<String>,
}

/// Changes the caller's name, e-mail or password. A new e-mail or password ends every session, as
/// `POST /api/auth/logout-all` does: every refresh token is revoked, every access token issued until then (the
/// one of this request included) is refused at once on every node, and the user's sockets are disconnected.
#[utoipa::path(tag = "users", security(("bearer" = [])), request_body = UpdateMeRequest,
    responses(
        (status = 200, body = UserDto),
        (status = 401, body = Problem),
        (status = 403, description = "Wrong `current_password`", body = Problem),
        (status = 409, description = "E-mail taken (`email_taken`)", body = Problem),
        (status = 422, description = "Invalid fields, or `current_password` missing", body = Problem),
        (status = 429, description = "A request naming `current_password` is under the sign-in limit (`EPOP_AUTH_RATE_LIMIT` per minute, per client IP and per user); `Retry-After` says when to try again", body = Problem),
    ))]
#[put("/users/me")]
pub(crate) async fn me_update(
    state: web::Data<AppState>,
    user: AuthUser,
    ip: ClientIp,
    client: RequestClient,
    body: Json<UpdateMeRequest>,
) -> Result<web::Json<UserDto>, ApiError> {
    let Json(body) = body;
    if body.current_password.is_some() {
        crate::routes::auth::check_reauth_limits(&state, ip, user.id).await?;
    }
    let changes = ProfileChanges {
        name: body.name,
        email: body.email,
        password: body.password.map(SecretString::from),
        current_password: body.current_password.map(SecretString::from),
    };
    Ok(web::Json(
        state
            .auth
            .update_profile(user.id, changes, &client.0)
            .await?
            .into(),
    ))
}
