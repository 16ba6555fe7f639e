//! The auth crate's error type. Each variant maps to one client-facing code at the gateway.

use epop_core::FieldError;
use epop_storage::StorageError;

/// Everything that can go wrong in authentication and account management.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Input that breaks a rule, with every failing field.
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    /// Another account already uses this e-mail.
    #[error("e-mail already taken")]
    EmailTaken,
    /// E-mail and password do not match an account.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// No token, or a token that is unknown, expired, revoked or badly signed.
    #[error("missing or invalid token")]
    Unauthorized,
    /// A refresh token that was already rotated was presented again; its family is now revoked.
    #[error("refresh token reused")]
    TokenReused,
    /// The password is right, but signing in needs a verified e-mail address and this one is not verified.
    #[error("e-mail address not verified")]
    EmailNotVerified,
    /// TOTP is on already (turn it off before enrolling again).
    #[error("the second factor is on already")]
    MfaAlreadyEnabled,
    /// No TOTP enrolment was started to confirm.
    #[error("no second factor enrolment is pending")]
    MfaNotPending,
    /// The user has no second factor to turn off.
    #[error("no second factor is on")]
    MfaNotEnabled,
    /// The code or recovery code given to confirm a sensitive change is wrong (or was used before).
    #[error("the second factor is wrong")]
    WrongSecondFactor,
    /// The `current_password` given for a sensitive change is wrong.
    #[error("current password is wrong")]
    WrongCurrentPassword,
    /// A pagination cursor that this server did not make.
    #[error("invalid cursor")]
    BadCursor,
    /// The user does not exist.
    #[error("user not found")]
    UserNotFound,
    /// The account was deactivated by an admin: it cannot sign in.
    #[error("account deactivated")]
    Deactivated,
    /// No live session of the caller has this id.
    #[error("session not found")]
    SessionNotFound,
    /// The caller has no personal access token with this id (or the user is no bot, for an admin).
    #[error("access token not found")]
    AccessTokenNotFound,
    /// The user holds as many personal access tokens as allowed.
    #[error("too many access tokens")]
    TooManyAccessTokens {
        /// How many one user may hold (`EPOP_MAX_ACCESS_TOKENS`).
        limit: u64,
    },
    /// Another account (a bot's) already has this username.
    #[error("username taken")]
    UsernameTaken,
    /// No single sign-on provider has this id.
    #[error("unknown single sign-on provider")]
    UnknownProvider,
    /// The single sign-on provider's discovery document could not be had (it is down or misconfigured).
    #[error("the single sign-on provider is unavailable")]
    ProviderUnavailable,
    /// The change would leave no active global admin.
    #[error("the last active admin cannot be demoted or deactivated")]
    LastAdmin,
    /// The password hashing threads are so far behind that this request would wait longer than the bound;
    /// it was refused before doing any work. Try again after `retry_after`.
    #[error("password hashing is saturated")]
    Busy {
        /// When the work queued now should have cleared (whole seconds, at least one).
        retry_after: std::time::Duration,
    },
    /// Signing or hashing failed unexpectedly.
    #[error("crypto failure: {0}")]
    Crypto(String),
    /// The database or another store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<diesel::result::Error> for AuthError {
    fn from(error: diesel::result::Error) -> Self {
        AuthError::Storage(StorageError::Query(error))
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for AuthError {
    fn from(error: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        AuthError::Storage(StorageError::Pool(error))
    }
}

/// Result alias for the auth crate.
pub type AuthResult<T> = Result<T, AuthError>;
