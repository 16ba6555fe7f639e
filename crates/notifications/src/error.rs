//! The notifications crate's error type.

use epop_storage::StorageError;

/// Everything that can go wrong with notifications.
#[derive(Debug, thiserror::Error)]
pub enum NotificationsError {
    /// Input that breaks a rule, with every failing field.
    #[error("invalid input")]
    Invalid(Vec<epop_core::FieldError>),
    /// The notification does not exist or is someone else's.
    #[error("not found")]
    NotFound,
    /// A pagination cursor that this server did not make.
    #[error("invalid cursor")]
    BadCursor,
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<diesel::result::Error> for NotificationsError {
    fn from(error: diesel::result::Error) -> Self {
        NotificationsError::Storage(StorageError::Query(error))
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for NotificationsError {
    fn from(error: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        NotificationsError::Storage(StorageError::Pool(error))
    }
}

/// Result alias for the notifications crate.
pub type NotificationsResult<T> = Result<T, NotificationsError>;
