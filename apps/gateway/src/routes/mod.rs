//! HTTP routes, one endpoint per file. Handlers are thin: extract and validate, call a service, map the
//! answer. Rules live in the domain crates.

pub mod auth;
pub mod calendar;
pub mod chat;
pub mod docs;
pub mod health;
pub mod metrics;
pub mod notifications;
pub mod presence;
pub mod projects;
pub mod push;
pub mod users;

use crate::error::ApiError;
use epop_core::FieldError;

/// Takes a field that garde's `required` already checked; a `None` here would be a validation bug, reported
/// as the same `422` rather than a panic.
pub(crate) fn required<T>(value: Option<T>, field: &str) -> Result<T, ApiError> {
    value.ok_or_else(|| ApiError::validation(vec![FieldError::new(field, "is required")]))
}

/// garde rule: no leading or trailing white space (an e-mail with a stray space would never match at login).
pub(crate) fn no_surrounding_space(value: &str, _: &()) -> garde::Result {
    if value.trim() != value {
        return Err(garde::Error::new("must not start or end with spaces"));
    }
    Ok(())
}
