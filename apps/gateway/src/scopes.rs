//! What a personal access token may reach: the one table from API routes (method and path pattern, as the
//! router matched them) and socket events to the [`Scope`] each needs (`docs/api.md`, Personal access tokens).
//!
//! A route that is not in the table refuses tokens (`403`): account management (passwords, e-mail, the second
//! factor, sessions, the tokens themselves), the admin API, incoming and outgoing webhooks and the calendar feed's
//! secret (they issue secrets of their own), and any route added later until someone decides its scope here. Signed-in
//! sessions (JWT access tokens) are not limited by this table.

use actix_web::http::Method;
use epop_auth::Scope;

/// What a route asks of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The token must have this scope.
    Needs(Scope),
    /// A route that needs no credentials at all (a token sent along changes nothing).
    Public,
}

use Access::{Needs, Public};
use Scope::*;

/// Every route a token may reach, with what it needs.
pub const ROUTES: &[(&str, &str, Access)] = &[
    // Public routes.
    ("GET", "/api/push/vapid-public-key", Public),
    ("GET", "/api/calendar-feed/{token}", Public),
    // People.
    ("GET", "/api/users", Needs(UsersRead)),
    ("GET", "/api/users/me", Needs(UsersRead)),
    ("GET", "/api/users/{id}", Needs(UsersRead)),
    ("GET", "/api/presence", Needs(UsersRead)),
    // Conversations.
    ("GET", "/api/conversations", Needs(ConversationsRead)),
    ("GET", "/api/conversations/{id}", Needs(ConversationsRead)),
    (
        "GET",
        "/api/conversations/{id}/notifications",
        Needs(ConversationsRead),
    ),
    ("POST", "/api/conversations", Needs(ConversationsWrite)),
    (
        "POST",
        "/api/conversations/{id}/members",
        Needs(ConversationsWrite),
    ),
    (
        "DELETE",
        "/api/conversations/{id}/members/{user_id}",
        Needs(ConversationsWrite),
    ),
    (
        "PUT",
        "/api/conversations/{id}/notifications",
        Needs(ConversationsWrite),
    ),
    // Messages.
    ("GET", "/api/conversations/{id}/messages", Needs(MessagesRead)),
    ("GET", "/api/conversations/{id}/pins", Needs(MessagesRead)),
    ("GET", "/api/messages/{id}", Needs(MessagesRead)),
    ("GET", "/api/messages/{id}/history", Needs(MessagesRead)),
    ("GET", "/api/messages/{id}/replies", Needs(MessagesRead)),
    ("GET", "/api/threads", Needs(MessagesRead)),
    ("GET", "/api/saved-messages", Needs(MessagesRead)),
    ("GET", "/api/scheduled-messages", Needs(MessagesRead)),
    ("GET", "/api/scheduled-messages/{id}", Needs(MessagesRead)),
    ("GET", "/api/reminders", Needs(MessagesRead)),
    ("GET", "/api/reminders/{id}", Needs(MessagesRead)),
    ("GET", "/api/search/messages", Needs(MessagesRead)),
    ("GET", "/api/files/{id}", Needs(MessagesRead)),
    ("POST", "/api/conversations/{id}/messages", Needs(MessagesWrite)),
    ("POST", "/api/conversations/{id}/read", Needs(MessagesWrite)),
    ("POST", "/api/conversations/{id}/unread", Needs(MessagesWrite)),
    (
        "POST",
        "/api/conversations/{id}/scheduled-messages",
        Needs(MessagesWrite),
    ),
    ("PATCH", "/api/scheduled-messages/{id}", Needs(MessagesWrite)),
    ("DELETE", "/api/scheduled-messages/{id}", Needs(MessagesWrite)),
    ("PUT", "/api/messages/{id}", Needs(MessagesWrite)),
    ("DELETE", "/api/messages/{id}", Needs(MessagesWrite)),
    ("PUT", "/api/messages/{id}/pin", Needs(MessagesWrite)),
    ("DELETE", "/api/messages/{id}/pin", Needs(MessagesWrite)),
    (
        "PUT",
        "/api/messages/{id}/reactions/{emoji}",
        Needs(MessagesWrite),
    ),
    (
        "DELETE",
        "/api/messages/{id}/reactions/{emoji}",
        Needs(MessagesWrite),
    ),
    ("PUT", "/api/messages/{id}/saved", Needs(MessagesWrite)),
    ("DELETE", "/api/messages/{id}/saved", Needs(MessagesWrite)),
    ("POST", "/api/messages/{id}/reminders", Needs(MessagesWrite)),
    ("DELETE", "/api/reminders/{id}", Needs(MessagesWrite)),
    ("POST", "/api/threads/{id}/read", Needs(MessagesWrite)),
    ("PUT", "/api/threads/{id}/follow", Needs(MessagesWrite)),
    ("DELETE", "/api/threads/{id}/follow", Needs(MessagesWrite)),
    ("POST", "/api/files/presign-upload", Needs(MessagesWrite)),
    // Projects.
    ("GET", "/api/projects", Needs(ProjectsRead)),
    ("GET", "/api/projects/{id}", Needs(ProjectsRead)),
    ("POST", "/api/projects", Needs(ProjectsWrite)),
    ("PUT", "/api/projects/{id}", Needs(ProjectsWrite)),
    ("DELETE", "/api/projects/{id}", Needs(ProjectsWrite)),
    ("POST", "/api/projects/{id}/members", Needs(ProjectsWrite)),
    (
        "PUT",
        "/api/projects/{id}/members/{user_id}",
        Needs(ProjectsWrite),
    ),
    (
        "DELETE",
        "/api/projects/{id}/members/{user_id}",
        Needs(ProjectsWrite),
    ),
    // Tasks.
    ("GET", "/api/projects/{id}/tasks", Needs(TasksRead)),
    ("GET", "/api/projects/{id}/labels", Needs(TasksRead)),
    ("GET", "/api/projects/{id}/board", Needs(TasksRead)),
    ("GET", "/api/tasks", Needs(TasksRead)),
    ("GET", "/api/tasks/{id}", Needs(TasksRead)),
    ("GET", "/api/tasks/{id}/comments", Needs(TasksRead)),
    ("GET", "/api/tasks/{id}/activity", Needs(TasksRead)),
    ("POST", "/api/projects/{id}/tasks", Needs(TasksWrite)),
    ("PUT", "/api/tasks/{id}", Needs(TasksWrite)),
    ("DELETE", "/api/tasks/{id}", Needs(TasksWrite)),
    ("POST", "/api/tasks/{id}/move", Needs(TasksWrite)),
    ("POST", "/api/tasks/{id}/comments", Needs(TasksWrite)),
    (
        "PATCH",
        "/api/tasks/{id}/comments/{comment_id}",
        Needs(TasksWrite),
    ),
    (
        "DELETE",
        "/api/tasks/{id}/comments/{comment_id}",
        Needs(TasksWrite),
    ),
    ("POST", "/api/projects/{id}/labels", Needs(TasksWrite)),
    ("PATCH", "/api/projects/{id}/labels/{label_id}", Needs(TasksWrite)),
    (
        "DELETE",
        "/api/projects/{id}/labels/{label_id}",
        Needs(TasksWrite),
    ),
    // Calendar.
    ("GET", "/api/calendar-events", Needs(CalendarRead)),
    ("GET", "/api/calendar-events.ics", Needs(CalendarRead)),
    ("GET", "/api/calendar-events/{id}", Needs(CalendarRead)),
    ("GET", "/api/calendar-events/{id}/reminders", Needs(CalendarRead)),
    ("GET", "/api/calendar/free-busy", Needs(CalendarRead)),
    ("POST", "/api/calendar-events", Needs(CalendarWrite)),
    ("PUT", "/api/calendar-events/{id}", Needs(CalendarWrite)),
    ("DELETE", "/api/calendar-events/{id}", Needs(CalendarWrite)),
    ("POST", "/api/calendar-events/{id}/response", Needs(CalendarWrite)),
    ("PUT", "/api/calendar-events/{id}/reminders", Needs(CalendarWrite)),
    // Notifications.
    ("GET", "/api/notifications", Needs(NotificationsRead)),
    (
        "GET",
        "/api/users/me/notification-settings",
        Needs(NotificationsRead),
    ),
    ("POST", "/api/notifications/read-all", Needs(NotificationsWrite)),
    ("POST", "/api/notifications/{id}/read", Needs(NotificationsWrite)),
    (
        "PUT",
        "/api/users/me/notification-settings",
        Needs(NotificationsWrite),
    ),
    ("POST", "/api/push-subscriptions", Needs(NotificationsWrite)),
    (
        "DELETE",
        "/api/push-subscriptions/{id}",
        Needs(NotificationsWrite),
    ),
];

/// What a token needs for `method` on the route `pattern` (`None`: the route refuses tokens).
pub fn route_access(method: &Method, pattern: &str) -> Option<Access> {
    ROUTES
        .iter()
        .find(|(m, p, _)| *p == pattern && *m == method.as_str())
        .map(|(_, _, access)| *access)
}

/// The scope a socket opened with a token needs to connect (it receives messages).
pub const SOCKET_CONNECT: Scope = MessagesRead;

/// The scope a socket's client event needs when the socket was opened with a token.
pub fn socket_event_scope(event: &str) -> Scope {
    match event {
        "presence:subscribe" | "presence:unsubscribe" => UsersRead,
        // message:send, message:read, message:unread, thread:read, typing:*; an unknown event is refused
        // by its handler after this check.
        _ => MessagesWrite,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_is_a_documented_route_and_none_is_listed_twice() {
        let document = crate::routes::openapi();
        let mut seen = std::collections::HashSet::new();
        for (method, pattern, _) in ROUTES {
            assert!(
                seen.insert((method, pattern)),
                "{method} {pattern} is listed twice"
            );
            let item = document
                .paths
                .paths
                .get(*pattern)
                .unwrap_or_else(|| panic!("{pattern} is no route"));
            let documented = crate::routes::docs::named_operations(item)
                .any(|(name, _)| name.eq_ignore_ascii_case(method));
            assert!(documented, "{method} {pattern} is no route");
        }
    }

    #[test]
    fn account_management_refuses_tokens() {
        for (method, pattern) in [
            (Method::PUT, "/api/users/me"),
            (Method::POST, "/api/users/me/tokens"),
            (Method::GET, "/api/users/me/tokens"),
            (Method::DELETE, "/api/users/me/tokens/{id}"),
            (Method::POST, "/api/users/me/mfa/totp"),
            (Method::DELETE, "/api/users/me/mfa"),
            (Method::GET, "/api/auth/sessions"),
            (Method::POST, "/api/auth/logout-all"),
            (Method::GET, "/api/admin/users"),
            (Method::POST, "/api/admin/bots"),
            (Method::POST, "/api/conversations/{id}/incoming-webhooks"),
            (Method::POST, "/api/calendar-feed"),
        ] {
            assert_eq!(route_access(&method, pattern), None, "{method} {pattern}");
        }
        assert_eq!(
            route_access(&Method::POST, "/api/conversations/{id}/messages"),
            Some(Needs(MessagesWrite))
        );
    }
}
