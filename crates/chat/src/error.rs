//! The chat crate's error type.

use epop_core::FieldError;
use epop_storage::StorageError;

/// Everything that can go wrong in chat.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// Input that breaks a rule, with every failing field.
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    /// The conversation, message or file does not exist or the caller may not see it.
    #[error("not found")]
    NotFound,
    /// The caller may see it but not change it (e.g. editing another member's message).
    #[error("forbidden")]
    Forbidden,
    /// The declared file is larger than the configured limit.
    #[error("file too large")]
    FileTooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The user holds as many upload slots not attached to a message as allowed.
    #[error("too many open uploads")]
    TooManyOpenUploads {
        /// How many open uploads a user may hold (`EPOP_MAX_OPEN_UPLOADS`).
        limit: u64,
        /// When the oldest of them expires (unless attached before).
        retry_after: std::time::Duration,
    },
    /// This upload would take the bytes the user holds in uploads not attached to a message over the limit.
    #[error("too many unattached bytes")]
    UnattachedBytesOverLimit {
        /// The limit in bytes.
        limit: u64,
        /// When the oldest of them expires (unless attached before).
        retry_after: std::time::Duration,
    },
    /// A new emoji on a message that has as many distinct emoji as allowed.
    #[error("too many distinct reactions")]
    TooManyReactions {
        /// How many distinct emoji one message may carry (a setting).
        limit: u64,
    },
    /// The caller holds as many of something as allowed (pending scheduled messages or reminders, saved
    /// messages), or a conversation has as many pins as allowed.
    #[error("limit reached: {what}")]
    LimitReached {
        /// What is limited, in words ("pending scheduled messages").
        what: &'static str,
        /// How many are allowed (a setting), named in the answer's detail.
        limit: u64,
    },
    /// The change contradicts the resource's state (a scheduled message that is being posted right now).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// A pagination cursor that this server did not make.
    #[error("invalid cursor")]
    BadCursor,
    /// The task writing a batch of sends into a conversation ended without answering this one (it failed
    /// with another send's error, or was dropped): the send may not have been written.
    #[error("the send was not written: {0}")]
    SendLost(&'static str),
    /// The system's random number generator failed (making a secret).
    #[error("no randomness: {0}")]
    Randomness(String),
    /// The database or the object store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl ChatError {
    /// An `Invalid` error for one field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ChatError::Invalid(vec![FieldError::new(field, message)])
    }
}

impl From<diesel::result::Error> for ChatError {
    fn from(error: diesel::result::Error) -> Self {
        ChatError::Storage(StorageError::Query(error))
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for ChatError {
    fn from(error: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        ChatError::Storage(StorageError::Pool(error))
    }
}

/// Result alias for the chat crate.
pub type ChatResult<T> = Result<T, ChatError>;
