//! The error vocabulary clients see.
//!
//! Error policy (for every EPOP crate):
//! - Each domain crate has one `thiserror` enum. Its variants say what went wrong in domain terms
//!   (`EmailTaken`, `ConversationNotFound`), never in HTTP terms.
//! - Each variant maps to exactly one [`ErrorCode`] in the gateway, in one exhaustive `match` (no `_` arm),
//!   so a new variant cannot ship without a deliberate client-facing code.
//! - Validation problems carry every failing field as a [`FieldError`], with a dotted path (`keys.p256dh`,
//!   `member_ids[2]`).
//! - Infrastructure failures (database, Redis, storage) are wrapped with their cause for the logs and reach
//!   clients only as `internal` or `unavailable`, with no detail.

use serde::Serialize;

/// A stable, machine-readable error code (`docs/api.md`, Errors). Clients switch on these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request is malformed (bad JSON, an undecodable cursor).
    BadRequest,
    /// The body is not JSON.
    UnsupportedMediaType,
    /// One or more fields are missing or out of their limits.
    ValidationFailed,
    /// No valid credentials were presented.
    Unauthorized,
    /// E-mail and password do not match an account.
    InvalidCredentials,
    /// A refresh token that was already rotated was presented again.
    TokenReused,
    /// The caller may see the resource but not change it.
    Forbidden,
    /// The resource does not exist or the caller may not see it.
    NotFound,
    /// The change conflicts with the current state.
    Conflict,
    /// Another account already uses the e-mail.
    EmailTaken,
    /// The body or a declared size is over the limit.
    PayloadTooLarge,
    /// An `If-Match` precondition did not hold.
    PreconditionFailed,
    /// Too many requests; retry after the given time.
    RateLimited,
    /// The server is temporarily unable to answer (overload, a dependency down).
    Unavailable,
    /// An unexpected server error.
    Internal,
}

impl ErrorCode {
    /// Every code, for exhaustiveness tests and documentation.
    pub const ALL: [ErrorCode; 15] = [
        ErrorCode::BadRequest,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::ValidationFailed,
        ErrorCode::Unauthorized,
        ErrorCode::InvalidCredentials,
        ErrorCode::TokenReused,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::Conflict,
        ErrorCode::EmailTaken,
        ErrorCode::PayloadTooLarge,
        ErrorCode::PreconditionFailed,
        ErrorCode::RateLimited,
        ErrorCode::Unavailable,
        ErrorCode::Internal,
    ];

    /// The snake_case wire form of the code.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::ValidationFailed => "validation_failed",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::InvalidCredentials => "invalid_credentials",
            ErrorCode::TokenReused => "token_reused",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::EmailTaken => "email_taken",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::PreconditionFailed => "precondition_failed",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
        }
    }

    /// The HTTP status that goes with the code.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::BadRequest => 400,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::ValidationFailed => 422,
            ErrorCode::Unauthorized | ErrorCode::InvalidCredentials | ErrorCode::TokenReused => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict | ErrorCode::EmailTaken => 409,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::PreconditionFailed => 412,
            ErrorCode::RateLimited => 429,
            ErrorCode::Unavailable => 503,
            ErrorCode::Internal => 500,
        }
    }

    /// The code of an error answer with `status` that no EPOP handler made (a middleware's or the HTTP
    /// server's own): the code of that status, `bad_request` for other client errors and `internal` for
    /// other server errors.
    pub fn for_status(status: u16) -> ErrorCode {
        match status {
            401 => ErrorCode::Unauthorized,
            403 => ErrorCode::Forbidden,
            404 => ErrorCode::NotFound,
            409 => ErrorCode::Conflict,
            412 => ErrorCode::PreconditionFailed,
            413 => ErrorCode::PayloadTooLarge,
            415 => ErrorCode::UnsupportedMediaType,
            422 => ErrorCode::ValidationFailed,
            429 => ErrorCode::RateLimited,
            503 => ErrorCode::Unavailable,
            500.. => ErrorCode::Internal,
            _ => ErrorCode::BadRequest,
        }
    }

    /// A short human title for the problem body.
    pub fn title(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "Bad request",
            ErrorCode::UnsupportedMediaType => "Unsupported media type",
            ErrorCode::ValidationFailed => "Validation failed",
            ErrorCode::Unauthorized => "Unauthorized",
            ErrorCode::InvalidCredentials => "Invalid credentials",
            ErrorCode::TokenReused => "Refresh token reused",
            ErrorCode::Forbidden => "Forbidden",
            ErrorCode::NotFound => "Not found",
            ErrorCode::Conflict => "Conflict",
            ErrorCode::EmailTaken => "E-mail already taken",
            ErrorCode::PayloadTooLarge => "Payload too large",
            ErrorCode::PreconditionFailed => "Precondition failed",
            ErrorCode::RateLimited => "Too many requests",
            ErrorCode::Unavailable => "Service unavailable",
            ErrorCode::Internal => "Internal server error",
        }
    }
}

/// One failing input field: a dotted path and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// Dotted path of the field, `[i]` for array items (`keys.p256dh`, `member_ids[2]`).
    pub field: String,
    /// What is wrong, in plain words.
    pub message: String,
}

impl FieldError {
    /// A field error for `field` with `message`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_serializes_to_its_wire_form_and_has_an_error_status() {
        for code in ErrorCode::ALL {
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                serde_json::json!(code.as_str())
            );
            assert!((400..600).contains(&code.http_status()), "{code:?}");
            assert!(!code.title().is_empty());
        }
    }
}
