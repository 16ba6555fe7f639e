//! Diesel repositories of the auth crate. Functions take `&mut AsyncPgConnection` so the service decides the
//! transaction boundaries.

pub(crate) mod access_tokens;
pub(crate) mod auth_sessions;
pub(crate) mod email_tokens;
pub(crate) mod mfa;
pub(crate) mod oidc;
pub(crate) mod refresh_tokens;
pub(crate) mod users;

diesel::define_sql_function! {
    /// SQL `lower(text)`, used for case-insensitive e-mail and name matching (backed by expression indexes).
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}
