//! # POST and DELETE /api/calendar-feed, GET /api/calendar-feed/{token}
//!
//! Each user may have one secret feed URL that serves their calendar as iCalendar to subscribing apps, which
//! cannot sign in: the token in the path is the credential (256 random bits; only its SHA-256 is stored).
//! Making a new one revokes the old one. Answers carry a strong `ETag` (a hash of the body), and a request
//! whose `If-None-Match` matches it is answered `304` without a body.

use crate::error::{ApiError, Problem};
use crate::extract::AuthUser;
use crate::state::AppState;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, ETAG, IF_NONE_MATCH, LOCATION};
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use epop_calendar::ics::FeedTask;
use serde::Serialize;

/// Most tasks one feed shows.
const FEED_TASKS: i64 = 1_000;

/// A new feed URL.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FeedResponse {
    /// The absolute URL to subscribe to; keep it secret.
    pub url: String,
    /// The secret part of it.
    pub token: String,
}

/// Makes a new secret feed URL for the caller; the previous one stops working.
#[utoipa::path(tag = "calendar", security(("bearer" = [])),
    responses(
        (status = 201, description = "Created; `Location` is the feed", body = FeedResponse),
        (status = 401, body = Problem),
    ))]
#[post("/calendar-feed")]
pub(crate) async fn regenerate(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    let token = state.calendar.regenerate_feed(user.id).await?;
    let path = format!("/api/calendar-feed/{token}");
    let url = format!("{}{path}", state.config.public_url.trim_end_matches('/'));
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, path))
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(FeedResponse { url, token }))
}

/// Revokes the caller's feed URL.
#[utoipa::path(tag = "calendar", security(("bearer" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, body = Problem),
        (status = 404, description = "The caller has no feed", body = Problem),
    ))]
#[delete("/calendar-feed")]
pub(crate) async fn revoke(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    state.calendar.revoke_feed(user.id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Whether an `If-None-Match` header value matches `etag` (`*`, or one of a comma-separated list; weak
/// comparison, RFC 9110 section 13.1.2).
fn matches(header: &str, etag: &str) -> bool {
    let bare = etag.trim_start_matches("W/");
    header
        .split(',')
        .map(str::trim)
        .any(|candidate| candidate == "*" || candidate.trim_start_matches("W/") == bare)
}

/// The feed's owner's events (organised and invited, single events and whole series with their changes) as
/// one RFC 5545 calendar, like `GET /api/calendar-events.ics` without a range, and the tasks assigned to them
/// that have a due date (`VTODO` with `DUE`, at most 1,000, soonest first). No sign-in: the token is the
/// credential (`404` for an unknown or revoked one).
#[utoipa::path(tag = "calendar",
    params(("token" = String, Path, description = "The feed's secret token"),
        ("If-None-Match" = Option<String>, Header, description = "An `ETag` of an earlier answer")),
    responses(
        (status = 200, description = "An iCalendar object, with `ETag`", content_type = "text/calendar", body = String),
        (status = 304, description = "Unchanged since the `ETag` given in `If-None-Match`"),
        (status = 404, body = Problem),
    ))]
#[get("/calendar-feed/{token}")]
pub(crate) async fn feed(
    state: web::Data<AppState>,
    request: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let owner = state.calendar.feed_owner(&token).await?;
    let tasks = state
        .projects
        .due_tasks_of(owner, FEED_TASKS)
        .await?
        .into_iter()
        .filter_map(|task| {
            Some(FeedTask {
                due: task.due_date?,
                id: task.id.to_string(),
                title: task.title,
                description: task.description,
                status: task.status.as_str().to_owned(),
                created_at: task.created_at,
                updated_at: task.updated_at,
            })
        })
        .collect();
    let (text, etag) = state.calendar.feed(owner, tasks).await?;
    let not_modified = request
        .headers()
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| matches(v, &etag));
    if not_modified {
        return Ok(HttpResponse::NotModified()
            .insert_header((ETAG, etag))
            .insert_header((CACHE_CONTROL, "private, no-cache"))
            .finish());
    }
    Ok(HttpResponse::Ok()
        .content_type("text/calendar; charset=utf-8")
        .insert_header((ETAG, etag))
        .insert_header((CACHE_CONTROL, "private, no-cache"))
        .insert_header((CONTENT_DISPOSITION, "inline; filename=\"calendar.ics\""))
        .body(text))
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn if_none_match_lists_and_wildcards() {
        assert!(matches("\"abc\"", "\"abc\""));
        assert!(matches("\"x\", W/\"abc\"", "\"abc\""));
        assert!(matches("*", "\"abc\""));
        assert!(!matches("\"abd\"", "\"abc\""));
        assert!(!matches("", "\"abc\""));
    }
}
