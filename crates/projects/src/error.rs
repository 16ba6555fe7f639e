//! The projects crate's error type.

use epop_core::FieldError;
use epop_storage::StorageError;

/// Everything that can go wrong with projects and tasks.
#[derive(Debug, thiserror::Error)]
pub enum ProjectsError {
    /// Input that breaks a rule, with every failing field.
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    /// The project, task or member does not exist, or the caller may not see it.
    #[error("not found")]
    NotFound,
    /// The caller may see it but their role does not allow the change.
    #[error("forbidden")]
    Forbidden,
    /// The user is a member of the project already.
    #[error("already a member")]
    AlreadyMember,
    /// The change would leave the project without an owner.
    #[error("the last owner cannot leave, be removed or be demoted")]
    LastOwner,
    /// The task changed since the version the caller based the update on.
    #[error("the task has changed (now version {current})")]
    VersionMismatch {
        /// The task's current version.
        current: i64,
    },
    /// Deleting a task that has subtasks needs the choice of what happens to them (`?children=`).
    #[error("the task has {count} subtasks: choose children=delete or children=detach")]
    HasChildren {
        /// Its direct subtasks.
        count: i64,
    },
    /// A per-resource bound is reached (e.g. comments on one task).
    #[error("{what}: at most {limit}")]
    LimitReached {
        /// What is full.
        what: &'static str,
        /// How many are allowed (a setting), named in the answer's detail.
        limit: u64,
    },
    /// The project has a label of that name already.
    #[error("the project has a label of that name")]
    LabelNameTaken,
    /// A pagination cursor that this server did not make.
    #[error("invalid cursor")]
    BadCursor,
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl ProjectsError {
    /// An `Invalid` error for one field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ProjectsError::Invalid(vec![FieldError::new(field, message)])
    }
}

impl From<diesel::result::Error> for ProjectsError {
    fn from(error: diesel::result::Error) -> Self {
        ProjectsError::Storage(StorageError::Query(error))
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for ProjectsError {
    fn from(error: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        ProjectsError::Storage(StorageError::Pool(error))
    }
}

/// Result alias for the projects crate.
pub type ProjectsResult<T> = Result<T, ProjectsError>;
