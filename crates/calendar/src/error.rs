//! The calendar crate's error type.

use epop_core::FieldError;
use epop_storage::StorageError;

/// Everything that can go wrong in the calendar.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    /// Input that breaks a rule, with every failing field.
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    /// The event does not exist or belongs to someone else.
    #[error("not found")]
    NotFound,
    /// The caller sees the event but may not do this (an attendee changing it, the organiser answering).
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// A per-user or per-event bound would be exceeded.
    #[error("limit reached: {0}")]
    LimitReached(String),
    /// Background (blocking) work failed unexpectedly.
    #[error("internal: {0}")]
    Internal(String),
    /// A pagination cursor that this server did not make.
    #[error("invalid cursor")]
    BadCursor,
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl CalendarError {
    /// An `Invalid` error for one field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        CalendarError::Invalid(vec![FieldError::new(field, message)])
    }
}

impl From<diesel::result::Error> for CalendarError {
    fn from(error: diesel::result::Error) -> Self {
        CalendarError::Storage(StorageError::Query(error))
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for CalendarError {
    fn from(error: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        CalendarError::Storage(StorageError::Pool(error))
    }
}

/// Result alias for the calendar crate.
pub type CalendarResult<T> = Result<T, CalendarError>;
