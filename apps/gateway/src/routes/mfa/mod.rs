//! The second factor: TOTP enrolment and removal (`/api/users/me/mfa...`) and completing a sign-in that needs
//! it (`POST /api/auth/mfa`). The rules are in `epop_auth::mfa` and the auth service.

pub mod complete;
pub mod disable;
pub mod totp_confirm;
pub mod totp_start;

use crate::error::ApiError;
use crate::routes::auth::TokenResponse;
use epop_auth::mfa::SecondFactor;
use epop_core::FieldError;
use serde::Serialize;

/// Exactly one of `code` and `recovery_code`, as the factor they name; neither or both is `422` naming both
/// fields.
pub(crate) fn second_factor(
    code: Option<String>,
    recovery_code: Option<String>,
) -> Result<SecondFactor, ApiError> {
    match (code, recovery_code) {
        (Some(code), None) => Ok(SecondFactor::Totp(code)),
        (None, Some(code)) => Ok(SecondFactor::RecoveryCode(code)),
        _ => Err(ApiError::validation(vec![
            FieldError::new("code", "give exactly one of code and recovery_code"),
            FieldError::new("recovery_code", "give exactly one of code and recovery_code"),
        ])),
    }
}

/// A sign-in that needs its second factor.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MfaRequiredResponse {
    /// Always `true`.
    pub mfa_required: bool,
    /// Presented to `POST /api/auth/mfa` with the second factor: single-use, valid for `expires_in` seconds and
    /// for a few wrong codes.
    pub mfa_token: String,
    /// How the sign-in may be completed: `totp` (`code`) and `recovery_code`.
    pub methods: Vec<String>,
    /// Seconds until `mfa_token` expires.
    pub expires_in: i64,
}

/// The answer of a sign-in: a session, or a request for the second factor.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum LoginResponse {
    /// Signed in.
    Session(TokenResponse),
    /// The account has a second factor: complete with `POST /api/auth/mfa`.
    MfaRequired(MfaRequiredResponse),
}

/// A new session together with the recovery codes made when TOTP was turned on.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TotpEnabledResponse {
    /// Ten single-use recovery codes, shown this once (only their hashes are kept). Each completes one sign-in
    /// in place of a code (`POST /api/auth/mfa {mfa_token, recovery_code}`).
    pub recovery_codes: Vec<String>,
    /// The caller's new session (every other session of the user ended).
    #[serde(flatten)]
    pub session: TokenResponse,
}
