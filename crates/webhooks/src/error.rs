//! The webhooks crate's error type.

use epop_core::FieldError;
use epop_storage::StorageError;

/// Everything that can go wrong with webhooks.
#[derive(Debug, thiserror::Error)]
pub enum WebhooksError {
    /// Input that breaks a rule, with every failing field.
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    /// The webhook or delivery does not exist (or the caller may not see it).
    #[error("not found")]
    NotFound,
    /// The scope has the most webhooks it may have.
    #[error("a scope has at most {limit} webhooks")]
    TooManyWebhooks {
        /// The bound.
        limit: u64,
    },
    /// A pagination cursor that this server did not make.
    #[error("invalid cursor")]
    BadCursor,
    /// The system's random number generator failed (no secret could be made).
    #[error("no randomness for a secret: {0}")]
    NoRandomness(String),
    /// A signing secret could not be sealed or opened (a changed `EPOP_WEBHOOK_KEY`, or no randomness).
    #[error("a webhook secret could not be sealed or opened: {0}")]
    Sealing(#[from] epop_storage::sealed::SealError),
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl WebhooksError {
    /// An `Invalid` error for one field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        WebhooksError::Invalid(vec![FieldError::new(field, message)])
    }
}

impl From<diesel::result::Error> for WebhooksError {
    fn from(error: diesel::result::Error) -> Self {
        WebhooksError::Storage(StorageError::Query(error))
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for WebhooksError {
    fn from(error: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        WebhooksError::Storage(StorageError::Pool(error))
    }
}

/// Result alias for the webhooks crate.
pub type WebhooksResult<T> = Result<T, WebhooksError>;
