//! The gateway's one error type and its RFC 9457 problem+json rendering.
//!
//! Every failure a handler can return becomes an [`ApiError`]: domain errors through one exhaustive `match`
//! per crate (no `_` arm, so a new variant cannot ship unmapped), extractor failures through the handlers in
//! [`crate::extract`]. Server-side failures (5xx) keep their cause for the log line, which carries the
//! request id, and show the client only the generic title.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use epop_auth::AuthError;
use epop_calendar::CalendarError;
use epop_chat::ChatError;
use epop_core::{ErrorCode, FieldError};
use epop_projects::ProjectsError;
use epop_storage::StorageError;
use serde::Serialize;
use std::fmt;

/// The problem details a client receives (`docs/api.md`, Errors).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// The problem type: its entry in the API reference (`{EPOP_PUBLIC_URL}/docs/api.md#{code}`).
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the problem type.
    pub title: String,
    /// The status of the answer, repeated for clients that only keep the body.
    pub status: u16,
    /// What happened in this occurrence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The stable error code; clients branch on it.
    pub code: ErrorCode,
    /// The request's id, also found in the server's logs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Every failing field (for `validation_failed`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// Where the API reference that explains each problem type is served (`docs/api.md`, section "Errors"): the
/// `type` of a problem is this path with the code as the fragment, made absolute with `EPOP_PUBLIC_URL` when the
/// answer is sent ([`crate::middleware::observe`]).
pub const PROBLEM_TYPES_PATH: &str = "/docs/api.md";

/// The `type` of problems with `anchor` (an error code, or `method_not_allowed`), relative to the gateway.
fn problem_type(anchor: &str) -> String {
    format!("{PROBLEM_TYPES_PATH}#{anchor}")
}

/// An error answer, with its cause kept for the log.
#[derive(Debug)]
pub struct ApiError {
    /// The client-facing code.
    pub code: ErrorCode,
    /// A client-safe explanation.
    pub detail: Option<String>,
    /// Failing fields.
    pub errors: Vec<FieldError>,
    /// Seconds to wait, for `rate_limited` and for `unavailable` answers that shed load (`Retry-After`).
    pub retry_after: Option<u64>,
    /// The internal cause, logged and never shown.
    pub cause: Option<anyhow::Error>,
}

impl ApiError {
    /// An error with `code` and a client-safe `detail`.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: Some(detail.into()),
            errors: Vec::new(),
            retry_after: None,
            cause: None,
        }
    }

    /// `422 validation_failed` listing `errors`.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        Self {
            code: ErrorCode::ValidationFailed,
            detail: Some("one or more fields are invalid".into()),
            errors,
            retry_after: None,
            cause: None,
        }
    }

    /// `404 not_found`.
    pub fn not_found() -> Self {
        Self::new(ErrorCode::NotFound, "the resource does not exist")
    }

    /// `401 unauthorized`.
    pub fn unauthorized() -> Self {
        Self::new(ErrorCode::Unauthorized, "missing or invalid credentials")
    }

    /// `429 rate_limited` with `Retry-After`.
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        Self {
            retry_after: Some(retry_after_secs.max(1)),
            ..Self::new(ErrorCode::RateLimited, "too many requests")
        }
    }

    /// `429 rate_limited` with `Retry-After` and a `detail` saying which limit was reached.
    pub fn rate_limited_because(retry_after_secs: u64, detail: impl Into<String>) -> Self {
        Self {
            retry_after: Some(retry_after_secs.max(1)),
            ..Self::new(ErrorCode::RateLimited, detail)
        }
    }

    /// `500 internal`, keeping `cause` for the log.
    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        Self {
            cause: Some(cause.into()),
            ..Self::bare(ErrorCode::Internal)
        }
    }

    /// `503 unavailable`, keeping `cause` for the log.
    pub fn unavailable(cause: impl Into<anyhow::Error>) -> Self {
        Self {
            cause: Some(cause.into()),
            ..Self::new(ErrorCode::Unavailable, "the service is temporarily unavailable")
        }
    }

    /// `503 unavailable` with `Retry-After`: the server refused the request before doing any work because it is
    /// saturated. A deliberate answer, not a failure: it is not logged (it is counted in a metric instead).
    pub fn overloaded(retry_after_secs: u64) -> Self {
        Self {
            retry_after: Some(retry_after_secs.max(1)),
            ..Self::new(
                ErrorCode::Unavailable,
                "the server is busy; try again after Retry-After seconds",
            )
        }
    }

    /// Whether this is a server failure worth an ERROR line: 5xx, except load shedding ([`Self::overloaded`]),
    /// which under a burst could otherwise write thousands of lines a second.
    fn is_failure(&self) -> bool {
        self.code.http_status() >= 500 && !(self.code == ErrorCode::Unavailable && self.retry_after.is_some())
    }

    fn bare(code: ErrorCode) -> Self {
        Self {
            code,
            detail: None,
            errors: Vec::new(),
            retry_after: None,
            cause: None,
        }
    }

    /// `405`: `path` answers only `allowed` (the `Allow` header lists them). Its code is `bad_request`, the code
    /// of client errors that have none of their own.
    pub fn method_not_allowed(allowed: &[actix_web::http::Method]) -> HttpResponse {
        let allow = allowed
            .iter()
            .map(actix_web::http::Method::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        let mut problem =
            ApiError::new(ErrorCode::BadRequest, format!("this path answers only {allow}")).problem();
        problem.status = StatusCode::METHOD_NOT_ALLOWED.as_u16();
        problem.title = "Method not allowed".to_owned();
        problem.kind = problem_type("method_not_allowed");
        let mut response = HttpResponse::MethodNotAllowed()
            .insert_header((
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/problem+json"),
            ))
            .insert_header((header::ALLOW, allow))
            .body(serde_json::to_vec(&problem).unwrap_or_default());
        response.extensions_mut().insert(problem);
        response
    }

    /// The problem body for this error.
    pub fn problem(&self) -> Problem {
        Problem {
            kind: problem_type(self.code.as_str()),
            title: self.code.title().to_owned(),
            status: self.code.http_status(),
            detail: self.detail.clone(),
            code: self.code,
            request_id: None,
            errors: self.errors.clone(),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code.as_str())?;
        if let Some(cause) = &self.cause {
            write!(f, ": {cause:#}")?;
        }
        Ok(())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        if self.is_failure() {
            // The request span carries the request id; `{:#}` prints the whole cause chain.
            tracing::error!(code = self.code.as_str(), error = %self, "request failed");
        }
        let problem = self.problem();
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        ));
        if let Some(secs) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        if matches!(
            self.code,
            ErrorCode::Unauthorized | ErrorCode::InvalidCredentials | ErrorCode::TokenReused
        ) {
            response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = response.body(body);
        // The request-id middleware adds `request_id` to the body on the way out.
        response.extensions_mut().insert(problem);
        response
    }
}

impl From<StorageError> for ApiError {
    fn from(error: StorageError) -> Self {
        match error {
            // The object store being down is a dependency outage (it may come back), not a server bug.
            StorageError::Pool(_)
            | StorageError::RedisUnavailable(_)
            | StorageError::Connect(_)
            | StorageError::Object(_) => ApiError::unavailable(error),
            StorageError::Query(_)
            | StorageError::PoolConfig(_)
            | StorageError::Migration(_)
            | StorageError::Redis(_)
            | StorageError::Encode(_)
            | StorageError::Join(_)
            | StorageError::SubscriptionEnded => ApiError::internal(error),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Invalid(errors) => ApiError::validation(errors),
            AuthError::EmailTaken => {
                ApiError::new(ErrorCode::EmailTaken, "an account already uses this e-mail")
            }
            AuthError::InvalidCredentials => {
                ApiError::new(ErrorCode::InvalidCredentials, "e-mail or password is wrong")
            }
            AuthError::Unauthorized => ApiError::unauthorized(),
            AuthError::TokenReused => ApiError::new(
                ErrorCode::TokenReused,
                "this refresh token was already used; every session of its login was ended",
            ),
            AuthError::EmailNotVerified => ApiError::new(
                ErrorCode::Forbidden,
                "this account's e-mail address is not verified yet: open the link sent to it (POST /api/auth/verify-email/resend sends a new one)",
            ),
            AuthError::MfaAlreadyEnabled => ApiError::new(
                ErrorCode::Conflict,
                "the second factor is on already; turn it off (DELETE /api/users/me/mfa) before enrolling again",
            ),
            AuthError::MfaNotPending => ApiError::new(
                ErrorCode::Conflict,
                "no enrolment to confirm: start one with POST /api/users/me/mfa/totp",
            ),
            AuthError::MfaNotEnabled => ApiError::not_found(),
            AuthError::WrongSecondFactor => {
                ApiError::new(ErrorCode::Forbidden, "the code is wrong or was used before")
            }
            AuthError::WrongCurrentPassword => {
                ApiError::new(ErrorCode::Forbidden, "the current password is wrong")
            }
            AuthError::BadCursor => ApiError::new(ErrorCode::BadRequest, "the cursor is not valid"),
            AuthError::UserNotFound => ApiError::not_found(),
            AuthError::Deactivated => ApiError::new(
                ErrorCode::Forbidden,
                "this account is deactivated; an administrator can reactivate it",
            ),
            AuthError::SessionNotFound | AuthError::AccessTokenNotFound => ApiError::not_found(),
            AuthError::TooManyAccessTokens { limit } => ApiError::new(
                ErrorCode::Conflict,
                format!("at most {limit} access tokens are allowed: revoke one first"),
            ),
            AuthError::UsernameTaken => {
                ApiError::new(ErrorCode::Conflict, "another account already has this username")
            }
            AuthError::UnknownProvider => ApiError::not_found(),
            AuthError::ProviderUnavailable => ApiError::new(
                ErrorCode::Unavailable,
                "the single sign-on provider cannot be reached; try again later",
            ),
            AuthError::LastAdmin => ApiError::new(
                ErrorCode::Conflict,
                "this would leave no active admin: promote another account first",
            ),
            AuthError::Busy { retry_after } => ApiError::overloaded(retry_after.as_secs()),
            AuthError::Crypto(_) => ApiError::internal(error),
            AuthError::Storage(inner) => inner.into(),
        }
    }
}

impl From<ChatError> for ApiError {
    fn from(error: ChatError) -> Self {
        match error {
            ChatError::Invalid(errors) => ApiError::validation(errors),
            ChatError::NotFound => ApiError::not_found(),
            ChatError::Forbidden => ApiError::new(ErrorCode::Forbidden, "only the author may change this"),
            ChatError::FileTooLarge { limit } => ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("files may be at most {limit} bytes"),
            ),
            ChatError::TooManyOpenUploads { limit, retry_after } => ApiError::rate_limited_because(
                retry_after.as_secs(),
                format!(
                    "you hold {limit} uploads not attached to a message, the most allowed: attach them, or \
                     reserve more after Retry-After seconds, when the oldest expires"
                ),
            ),
            ChatError::UnattachedBytesOverLimit { limit, retry_after } => ApiError::rate_limited_because(
                retry_after.as_secs(),
                format!(
                    "with this file_size your uploads not attached to a message would exceed {limit} bytes: \
                     attach them, or try again after Retry-After seconds, when the oldest expires"
                ),
            ),
            ChatError::TooManyReactions { limit } => ApiError::new(
                ErrorCode::Conflict,
                format!("a message holds at most {limit} distinct emoji: react with one already there"),
            ),
            ChatError::LimitReached { what, limit } => {
                ApiError::new(ErrorCode::Conflict, format!("at most {limit} {what} are allowed"))
            }
            ChatError::Conflict(why) => ApiError::new(ErrorCode::Conflict, why),
            ChatError::BadCursor => ApiError::new(ErrorCode::BadRequest, "the cursor is not valid"),
            ChatError::SendLost(_) | ChatError::Randomness(_) => ApiError::internal(error),
            ChatError::Storage(inner) => inner.into(),
        }
    }
}

impl From<ProjectsError> for ApiError {
    fn from(error: ProjectsError) -> Self {
        match error {
            ProjectsError::Invalid(errors) => ApiError::validation(errors),
            ProjectsError::NotFound => ApiError::not_found(),
            ProjectsError::Forbidden => ApiError::new(
                ErrorCode::Forbidden,
                "your role in this project does not allow this",
            ),
            ProjectsError::AlreadyMember => {
                ApiError::new(ErrorCode::Conflict, "the user is a member of the project already")
            }
            ProjectsError::LastOwner => ApiError::new(
                ErrorCode::Conflict,
                "the last owner cannot leave, be removed or be demoted",
            ),
            ProjectsError::VersionMismatch { .. } => ApiError::new(
                ErrorCode::PreconditionFailed,
                "the task has changed since that version; fetch it again",
            ),
            ProjectsError::HasChildren { count } => ApiError::new(
                ErrorCode::Conflict,
                format!(
                    "the task has {count} subtasks: delete again with ?children=delete (the whole subtree) or \
                     ?children=detach (they become top-level tasks)"
                ),
            ),
            ProjectsError::LabelNameTaken => ApiError::new(
                ErrorCode::Conflict,
                "the project has a label of that name already (names are compared without case)",
            ),
            ProjectsError::LimitReached { what, limit } => {
                ApiError::new(ErrorCode::Conflict, format!("{what}: at most {limit}"))
            }
            ProjectsError::BadCursor => ApiError::new(ErrorCode::BadRequest, "the cursor is not valid"),
            ProjectsError::Storage(inner) => inner.into(),
        }
    }
}

impl From<CalendarError> for ApiError {
    fn from(error: CalendarError) -> Self {
        match error {
            CalendarError::Invalid(errors) => ApiError::validation(errors),
            CalendarError::NotFound => ApiError::not_found(),
            CalendarError::Forbidden(why) => ApiError::new(ErrorCode::Forbidden, why),
            CalendarError::LimitReached(why) => ApiError::new(ErrorCode::Conflict, why),
            CalendarError::Internal(why) => ApiError::internal(anyhow::anyhow!(why)),
            CalendarError::BadCursor => ApiError::new(ErrorCode::BadRequest, "the cursor is not valid"),
            CalendarError::Storage(inner) => inner.into(),
        }
    }
}

impl From<epop_webhooks::WebhooksError> for ApiError {
    fn from(error: epop_webhooks::WebhooksError) -> Self {
        match error {
            epop_webhooks::WebhooksError::Invalid(errors) => ApiError::validation(errors),
            epop_webhooks::WebhooksError::NotFound => ApiError::not_found(),
            epop_webhooks::WebhooksError::TooManyWebhooks { limit } => ApiError::new(
                ErrorCode::Conflict,
                format!("a conversation, a project or the server has at most {limit} webhooks"),
            ),
            epop_webhooks::WebhooksError::BadCursor => {
                ApiError::new(ErrorCode::BadRequest, "the cursor is not valid")
            }
            epop_webhooks::WebhooksError::NoRandomness(why) => ApiError::internal(anyhow::anyhow!(why)),
            epop_webhooks::WebhooksError::Sealing(why) => ApiError::internal(why),
            epop_webhooks::WebhooksError::Storage(inner) => inner.into(),
        }
    }
}

impl From<epop_notifications::NotificationsError> for ApiError {
    fn from(error: epop_notifications::NotificationsError) -> Self {
        match error {
            epop_notifications::NotificationsError::Invalid(errors) => ApiError::validation(errors),
            epop_notifications::NotificationsError::NotFound => ApiError::not_found(),
            epop_notifications::NotificationsError::BadCursor => {
                ApiError::new(ErrorCode::BadRequest, "the cursor is not valid")
            }
            epop_notifications::NotificationsError::Storage(inner) => inner.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody as _;

    #[test]
    fn internal_errors_render_without_their_cause() {
        let error = ApiError::internal(anyhow::anyhow!("SELECT secret FROM users failed at db.rs:42"));
        let response = error.error_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = response.into_body().try_into_bytes().unwrap();
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert!(!text.contains("SELECT"), "{text}");
        assert!(text.contains("\"code\":\"internal\""));
    }

    #[test]
    fn saturated_hashing_answers_503_with_retry_after_and_is_no_failure() {
        let error = ApiError::from(AuthError::Busy {
            retry_after: std::time::Duration::from_secs(3),
        });
        assert!(!error.is_failure());
        let response = error.error_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers().get(header::RETRY_AFTER).unwrap(), "3");
        // A dependency outage is a failure (logged).
        assert!(ApiError::unavailable(anyhow::anyhow!("redis down")).is_failure());
    }

    #[test]
    fn every_code_renders_with_its_status() {
        for code in ErrorCode::ALL {
            let response = ApiError::new(code, "x").error_response();
            assert_eq!(response.status().as_u16(), code.http_status());
            assert_eq!(
                response.headers().get(header::CONTENT_TYPE).unwrap(),
                "application/problem+json"
            );
        }
    }

    /// The Rust sources of a directory tree, each up to its unit tests (`#[cfg(test)]`).
    fn sources(dir: &std::path::Path, into: &mut String) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                sources(&path, into);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                into.push_str(text.split("#[cfg(test)]").next().unwrap_or_default());
            }
        }
    }

    /// Every error code is produced by some path of the server, and some integration test sees a client get it
    /// (after Lemmy's `test_errors_used`): a code nobody produces is a documented lie, and one no test asserts
    /// can break unnoticed.
    #[test]
    fn every_error_code_is_produced_and_tested() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut code = String::new();
        sources(&root.join("src"), &mut code);
        for krate in ["auth", "chat", "projects", "notifications", "calendar", "storage"] {
            sources(&root.join("../../crates").join(krate).join("src"), &mut code);
        }
        // The code's own definition is no use of it.
        let code = code.replace("pub const ALL", "");
        let mut tests = String::new();
        sources(&root.join("tests"), &mut tests);
        for error in ErrorCode::ALL {
            let variant = format!("{error:?}");
            assert!(
                code.contains(&format!("ErrorCode::{variant}")),
                "no path of the server produces {}",
                error.as_str()
            );
            assert!(
                tests.contains(&format!("\"{}\"", error.as_str())),
                "no integration test asserts {}",
                error.as_str()
            );
        }
    }
}
