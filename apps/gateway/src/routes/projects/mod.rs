//! `/api/projects` and `/api/tasks`.
//!
//! Responses serialize the projects crate's own types (`Project`, `Task`), which also describe themselves to the
//! OpenAPI document (its `openapi` feature). Who may do what is decided in the projects crate
//! (`epop_projects::access`), never here.

pub mod board;
pub mod labels;
pub mod member_add;
pub mod member_remove;
pub mod member_update;
pub mod project_create;
pub mod project_delete;
pub mod project_get;
pub mod project_tasks_list;
pub mod project_update;
pub mod projects_list;
pub mod task_activity;
pub mod task_comments;
pub mod task_create;
pub mod task_delete;
pub mod task_get;
pub mod task_update;
pub mod tasks_list;

use crate::error::ApiError;
use crate::extract::AuthUser;
use actix_web::http::header::{ETAG, IF_MATCH};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};
use chrono::{DateTime, NaiveDate, Utc};
use epop_auth::Role;
use epop_core::{FieldError, UserId};
use epop_projects::{Actor, IfMatch, Task};
use serde::{Deserialize, Deserializer};
use std::str::FromStr;
use uuid::Uuid;

/// The caller as the projects crate sees them: a global `admin` acts as `owner` on every project.
pub(crate) fn actor(user: AuthUser) -> Actor {
    Actor {
        id: user.id,
        global_admin: matches!(user.role, Role::Admin),
    }
}

/// An `assigned_to` query value: `me` or a user id.
pub(crate) fn assignee(value: Option<&str>, me: UserId) -> Result<Option<UserId>, ApiError> {
    match value {
        None | Some("") => Ok(None),
        Some("me") => Ok(Some(me)),
        Some(other) => Uuid::parse_str(other)
            .map(|id| Some(UserId::from(id)))
            .map_err(|_| {
                ApiError::validation(vec![FieldError::new("assigned_to", "must be `me` or a user id")])
            }),
    }
}

/// A due date: an RFC 3339 timestamp, or a plain `YYYY-MM-DD` date meaning midnight UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueDate(pub DateTime<Utc>);

impl FromStr for DueDate {
    type Err = &'static str;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        if let Ok(at) = DateTime::parse_from_rfc3339(value) {
            return Ok(DueDate(at.with_timezone(&Utc)));
        }
        NaiveDate::parse_from_str(value, "%Y-%m-%d")
            .ok()
            .filter(|_| value.len() == 10)
            .and_then(|date| date.and_hms_opt(0, 0, 0))
            .map(|at| DueDate(at.and_utc()))
            .ok_or("must be an RFC 3339 timestamp or a YYYY-MM-DD date")
    }
}

impl<'de> Deserialize<'de> for DueDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Deserializes a field that may be absent (`None`), `null` (`Some(None)`) or a value (`Some(Some(v))`).
/// Use with `#[serde(default, deserialize_with = "double_option")]`.
pub(crate) fn double_option<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// The strong entity tag of a task version: `"<version>"`.
pub(crate) fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// The versions an `If-Match` header accepts: `None` without the header or with `*`; otherwise the listed
/// strong tags (weak or malformed tags match nothing, so they answer `412`).
pub(crate) fn if_match(req: &HttpRequest) -> Option<IfMatch> {
    let values: Vec<&str> = req
        .headers()
        .get_all(IF_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect();
    if values.is_empty() || values.contains(&"*") {
        return None;
    }
    Some(IfMatch(
        values
            .iter()
            .filter_map(|v| v.strip_prefix('"')?.strip_suffix('"')?.parse().ok())
            .collect(),
    ))
}

/// A `200` answer with the task and its `ETag`.
pub(crate) fn task_response(mut builder: HttpResponseBuilder, task: &Task) -> HttpResponse {
    builder.insert_header((ETAG, etag(task.version))).json(task)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_dates_take_timestamps_and_plain_dates() {
        let at: DueDate = "2026-12-01T10:30:00+01:00".parse().unwrap();
        assert_eq!(at.0.to_rfc3339(), "2026-12-01T09:30:00+00:00");
        let day: DueDate = "2026-12-01".parse().unwrap();
        assert_eq!(day.0.to_rfc3339(), "2026-12-01T00:00:00+00:00");
        for bad in ["2026-13-01", "tomorrow", "2026-1-1", ""] {
            assert!(bad.parse::<DueDate>().is_err(), "{bad}");
        }
    }

    #[test]
    fn if_match_lists_strong_versions() {
        let req = actix_web::test::TestRequest::default()
            .insert_header((IF_MATCH, "\"3\", W/\"4\", \"x\""))
            .to_http_request();
        assert_eq!(if_match(&req), Some(IfMatch(vec![3])));
        let any = actix_web::test::TestRequest::default()
            .insert_header((IF_MATCH, "*"))
            .to_http_request();
        assert_eq!(if_match(&any), None);
        assert_eq!(
            if_match(&actix_web::test::TestRequest::default().to_http_request()),
            None
        );
    }
}
