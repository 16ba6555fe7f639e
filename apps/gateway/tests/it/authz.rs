//! The authorization matrix: every operation of the OpenAPI document, sent by each kind of caller, answers the
//! status docs/api.md gives it. [`MATRIX`] has one row per operation; the test first checks that its rows and
//! the document's operations are the same set, so a new route without a row fails here (add the row: what
//! each caller gets, from the reference), and so does a row for a route that is gone.
//!
//! The callers ([`Caller`]), each about one world of resources made by the owner, Olga:
//! - no token; a stranger (signed in, related to nothing); a global admin (`role: admin`, no membership).
//! - projects, their tasks, labels, comments, board and webhooks: the project roles `viewer`, `member`, `admin`,
//!   `owner` (Olga created the project; the task, its comment, the label and the webhook are hers).
//! - conversations and messages: Olga created the group, sent the message and made the incoming webhook;
//!   viewer, member and admin are plain members of it (a group has no roles beyond its creator).
//! - calendar: Olga organises the event; viewer, member and admin are invited to it.
//! - personal things (sessions, access tokens, reminders, scheduled messages, push subscriptions,
//!   notifications, the calendar feed): Olga's; everyone else is another user.
//! - bots: made by the global admin.
//! - an API token without the scope: a personal access token of Olga's with every scope but the one the route
//!   needs (docs/api.md, Personal access tokens), or with every scope for a route no scope grants. Each row
//!   says what the route asks of a token ([`Row::scope`], [`Row::public_to_tokens`], or nothing: no token
//!   reaches it), and the test checks that against the gateway's one table of them (`epop_gateway::scopes`).
//!
//! Rows that change something give each caller a world nobody touched: a fresh one after a caller the row lets
//! through (a refused request changes nothing, so the next caller keeps the world); reads share one world per
//! row. Rows run in the table's order, one caller after the other.

use crate::helpers::{PASSWORD, TestApp, TestUser};
use epop_auth::Scope::{self, *};
use epop_gateway::scopes::Access;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};

/// Who sends a request: one column of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    NoToken,
    Stranger,
    Viewer,
    Member,
    Admin,
    Owner,
    GlobalAdmin,
    /// A personal access token of the owner lacking the scope the route needs.
    TokenWithoutScope,
}

/// The columns, in the order of every row's answers.
const CALLERS: [Caller; 8] = [
    Caller::NoToken,
    Caller::Stranger,
    Caller::Viewer,
    Caller::Member,
    Caller::Admin,
    Caller::Owner,
    Caller::GlobalAdmin,
    Caller::TokenWithoutScope,
];

/// One operation: its document key (`METHOD /path/{param}`), the request sent (path and body templates with
/// `{placeholders}` of the world, see [`World`]), and what each caller of [`CALLERS`] gets.
struct Row {
    operation: &'static str,
    path: &'static str,
    body: Option<&'static str>,
    answers: [u16; 8],
    /// A resource of the world made before the request though the request does not name it.
    needs: Option<&'static str>,
    /// What the route asks of a personal access token: a scope, nothing (`Public`), or `None`: it refuses
    /// tokens (or is not under `/api`, where tokens are not looked at).
    token: Option<Access>,
}

impl Row {
    const fn needing(self, resource: &'static str) -> Self {
        Self {
            needs: Some(resource),
            ..self
        }
    }

    /// A token needs `scope` for this route.
    const fn scope(self, scope: Scope) -> Self {
        Self {
            token: Some(Access::Needs(scope)),
            ..self
        }
    }

    /// Any token may call this route (it needs no credentials at all).
    const fn public_to_tokens(self) -> Self {
        Self {
            token: Some(Access::Public),
            ..self
        }
    }
}

const fn row(operation: &'static str, path: &'static str, answers: [u16; 8]) -> Row {
    Row {
        operation,
        path,
        body: None,
        answers,
        needs: None,
        token: None,
    }
}

const fn with_body(
    operation: &'static str,
    path: &'static str,
    body: &'static str,
    answers: [u16; 8],
) -> Row {
    Row {
        operation,
        path,
        body: Some(body),
        answers,
        needs: None,
        token: None,
    }
}

// Shorthands for the common columns: no token, stranger, viewer, member, admin, owner, global admin, and an API
// token without the scope (`403` on every route under `/api` but the public ones).
/// The admin API: global admins only, `404` for everyone else.
const ADMIN_ONLY: [u16; 8] = [401, 404, 404, 404, 404, 404, 200, 403];
const ADMIN_ONLY_CREATES: [u16; 8] = [401, 404, 404, 404, 404, 404, 201, 403];
const ADMIN_ONLY_NO_CONTENT: [u16; 8] = [401, 404, 404, 404, 404, 404, 204, 403];
/// Anyone signed in, whatever their relations.
const SIGNED_IN: [u16; 8] = [401, 200, 200, 200, 200, 200, 200, 403];
/// Anyone signed in creates something of their own.
const SIGNED_IN_CREATES: [u16; 8] = [401, 201, 201, 201, 201, 201, 201, 403];
/// Anyone signed in; nothing to answer.
const SIGNED_IN_NO_CONTENT: [u16; 8] = [401, 204, 204, 204, 204, 204, 204, 403];
/// The members of the conversation (a global admin is no member).
const MEMBERS: [u16; 8] = [401, 404, 200, 200, 200, 200, 404, 403];
const MEMBERS_CREATE: [u16; 8] = [401, 404, 201, 201, 201, 201, 404, 403];
const MEMBERS_NO_CONTENT: [u16; 8] = [401, 404, 204, 204, 204, 204, 404, 403];
/// The sender of the message only; the other members see it but may not change it.
const SENDER_ONLY: [u16; 8] = [401, 404, 403, 403, 403, 200, 404, 403];
/// The project's members read (a global admin acts as owner everywhere).
const PROJECT_READ: [u16; 8] = [401, 404, 200, 200, 200, 200, 200, 403];
/// Project work (tasks, comments, labels): anyone but a viewer.
const PROJECT_WORK: [u16; 8] = [401, 404, 403, 200, 200, 200, 200, 403];
const PROJECT_WORK_CREATE: [u16; 8] = [401, 404, 403, 201, 201, 201, 201, 403];
const PROJECT_WORK_NO_CONTENT: [u16; 8] = [401, 404, 403, 204, 204, 204, 204, 403];
/// Project management: `owner` or `admin`.
const PROJECT_MANAGE: [u16; 8] = [401, 404, 403, 403, 200, 200, 200, 403];
const PROJECT_MANAGE_CREATE: [u16; 8] = [401, 404, 403, 403, 201, 201, 201, 403];
/// One of the project's webhooks: its `owner`s and `admin`s manage it; for anyone else it does not exist.
const PROJECT_WEBHOOK: [u16; 8] = [401, 404, 404, 404, 200, 200, 200, 403];
const PROJECT_WEBHOOK_ACCEPTED: [u16; 8] = [401, 404, 404, 404, 202, 202, 202, 403];
const PROJECT_WEBHOOK_NO_CONTENT: [u16; 8] = [401, 404, 404, 404, 204, 204, 204, 403];
/// Olga's own things: everyone else gets `404`.
const OWNER_ONLY: [u16; 8] = [401, 404, 404, 404, 404, 200, 404, 403];
const OWNER_ONLY_NO_CONTENT: [u16; 8] = [401, 404, 404, 404, 404, 204, 404, 403];
/// The event's organiser and attendees read it.
const INVITED: [u16; 8] = [401, 404, 200, 200, 200, 200, 404, 403];
/// Only the organiser changes it; attendees get `403`.
const ORGANISER: [u16; 8] = [401, 404, 403, 403, 403, 200, 404, 403];
/// The same answer for everyone, tokens included: a route that needs no credentials (outside `/api`, or one of
/// the public routes of `/api`).
const fn public(status: u16) -> [u16; 8] {
    [status; 8]
}
/// The same answer for everyone but an access token, which the route refuses (`/api/auth/*`).
const fn signed_out(status: u16) -> [u16; 8] {
    [status, status, status, status, status, status, status, 403]
}

/// One row per operation of the OpenAPI document, in its order.
const MATRIX: &[Row] = &[
    // Administration (bots: global admins make them and their tokens).
    with_body(
        "POST /api/admin/bots",
        "/api/admin/bots",
        r#"{"username": "{unique}", "display_name": "Deploy Bot"}"#,
        ADMIN_ONLY_CREATES,
    ),
    row(
        "GET /api/admin/bots/{id}/tokens",
        "/api/admin/bots/{bot}/tokens",
        ADMIN_ONLY,
    ),
    with_body(
        "POST /api/admin/bots/{id}/tokens",
        "/api/admin/bots/{bot}/tokens",
        r#"{"name": "deploy", "scopes": ["messages:write"]}"#,
        ADMIN_ONLY_CREATES,
    ),
    row(
        "DELETE /api/admin/bots/{id}/tokens/{token_id}",
        "/api/admin/bots/{bot}/tokens/{bot_token}",
        ADMIN_ONLY_NO_CONTENT,
    ),
    row("GET /api/admin/audit-log", "/api/admin/audit-log", ADMIN_ONLY),
    row("GET /api/admin/users", "/api/admin/users", ADMIN_ONLY),
    row(
        "GET /api/admin/users/{id}",
        "/api/admin/users/{target}",
        ADMIN_ONLY,
    ),
    row(
        "POST /api/admin/users/{id}/deactivate",
        "/api/admin/users/{target}/deactivate",
        ADMIN_ONLY,
    ),
    row(
        "POST /api/admin/users/{id}/password-reset",
        "/api/admin/users/{target}/password-reset",
        [401, 404, 404, 404, 404, 404, 202, 403],
    ),
    row(
        "POST /api/admin/users/{id}/reactivate",
        "/api/admin/users/{target}/reactivate",
        ADMIN_ONLY,
    ),
    with_body(
        "PUT /api/admin/users/{id}/role",
        "/api/admin/users/{target}/role",
        r#"{"role": "member"}"#,
        ADMIN_ONLY,
    ),
    // Authentication: public routes answer the same whoever asks; a token changes nothing.
    with_body(
        "POST /api/auth/login",
        "/api/auth/login",
        r#"{"email": "vera@example.com", "password": "{password}"}"#,
        signed_out(200),
    ),
    with_body(
        "POST /api/auth/logout",
        "/api/auth/logout",
        r#"{"refresh_token": "{refresh}"}"#,
        signed_out(204),
    ),
    // Ends the caller's own session: sent with a session signed in for it (see `{own}`).
    row(
        "POST /api/auth/logout-all",
        "/api/auth/logout-all",
        SIGNED_IN_NO_CONTENT,
    ),
    with_body(
        "POST /api/auth/mfa",
        "/api/auth/mfa",
        r#"{"mfa_token": "not-a-token", "code": "123456"}"#,
        signed_out(401),
    ),
    // Single sign-on: no provider is configured here, so starting or finishing one is `404`; an unknown
    // exchange code is `422`.
    row(
        "GET /api/auth/oidc/{provider}/start",
        "/api/auth/oidc/nowhere/start",
        signed_out(404),
    ),
    row(
        "GET /api/auth/oidc/{provider}/callback",
        "/api/auth/oidc/nowhere/callback?state=s&code=c",
        signed_out(404),
    ),
    with_body(
        "POST /api/auth/oidc/exchange",
        "/api/auth/oidc/exchange",
        r#"{"code": "not-a-code"}"#,
        signed_out(422),
    ),
    with_body(
        "POST /api/auth/password-reset",
        "/api/auth/password-reset",
        r#"{"email": "vera@example.com"}"#,
        signed_out(202),
    ),
    with_body(
        "POST /api/auth/password-reset/confirm",
        "/api/auth/password-reset/confirm",
        r#"{"token": "not-a-token", "password": "another horse battery"}"#,
        signed_out(422),
    ),
    with_body(
        "POST /api/auth/refresh",
        "/api/auth/refresh",
        r#"{"refresh_token": "{refresh}"}"#,
        signed_out(200),
    ),
    with_body(
        "POST /api/auth/register",
        "/api/auth/register",
        r#"{"name": "New", "email": "{unique}@example.com", "password": "{password}"}"#,
        signed_out(201),
    ),
    row("GET /api/auth/sessions", "/api/auth/sessions", SIGNED_IN),
    row(
        "DELETE /api/auth/sessions/{id}",
        "/api/auth/sessions/{session}",
        OWNER_ONLY_NO_CONTENT,
    ),
    with_body(
        "POST /api/auth/verify-email",
        "/api/auth/verify-email",
        r#"{"token": "not-a-token"}"#,
        signed_out(422),
    ),
    with_body(
        "POST /api/auth/verify-email/resend",
        "/api/auth/verify-email/resend",
        r#"{"email": "vera@example.com"}"#,
        signed_out(202),
    ),
    // Calendar.
    row("GET /api/calendar-events", "/api/calendar-events", SIGNED_IN).scope(CalendarRead),
    with_body(
        "POST /api/calendar-events",
        "/api/calendar-events",
        r#"{"title": "Standup", "start_time": "2030-01-07T09:00:00Z", "end_time": "2030-01-07T09:15:00Z"}"#,
        SIGNED_IN_CREATES,
    )
    .scope(CalendarWrite),
    row(
        "GET /api/calendar-events.ics",
        "/api/calendar-events.ics",
        SIGNED_IN,
    )
    .scope(CalendarRead),
    row(
        "GET /api/calendar-events/{id}",
        "/api/calendar-events/{event}",
        INVITED,
    )
    .scope(CalendarRead),
    with_body(
        "PUT /api/calendar-events/{id}",
        "/api/calendar-events/{event}",
        r#"{"title": "Moved"}"#,
        ORGANISER,
    )
    .scope(CalendarWrite),
    row(
        "DELETE /api/calendar-events/{id}",
        "/api/calendar-events/{event}",
        [401, 404, 403, 403, 403, 204, 404, 403],
    )
    .scope(CalendarWrite),
    // One's own reminders of an event one organises or attends.
    row(
        "GET /api/calendar-events/{id}/reminders",
        "/api/calendar-events/{event}/reminders",
        INVITED,
    )
    .scope(CalendarRead),
    with_body(
        "PUT /api/calendar-events/{id}/reminders",
        "/api/calendar-events/{event}/reminders",
        r#"{"minutes": [10]}"#,
        INVITED,
    )
    .scope(CalendarWrite),
    with_body(
        "POST /api/calendar-events/{id}/response",
        "/api/calendar-events/{event}/response",
        r#"{"status": "accepted"}"#,
        [401, 404, 200, 200, 200, 403, 404, 403],
    )
    .scope(CalendarWrite),
    row("POST /api/calendar-feed", "/api/calendar-feed", SIGNED_IN_CREATES),
    // Revoking is idempotent: Olga's feed goes, the others have none and nothing happens to hers.
    row(
        "DELETE /api/calendar-feed",
        "/api/calendar-feed",
        SIGNED_IN_NO_CONTENT,
    )
    .needing("feed"),
    row(
        "GET /api/calendar-feed/{token}",
        "/api/calendar-feed/{feed}",
        public(200),
    )
    .public_to_tokens(),
    row(
        "GET /api/calendar/free-busy",
        "/api/calendar/free-busy?users={owner}&from=2030-01-07T00:00:00Z&to=2030-01-08T00:00:00Z",
        SIGNED_IN,
    )
    .scope(CalendarRead),
    // Conversations and messages.
    row("GET /api/conversations", "/api/conversations", SIGNED_IN).scope(ConversationsRead),
    with_body(
        "POST /api/conversations",
        "/api/conversations",
        r#"{"type": "group", "name": "New", "member_ids": ["{target}"]}"#,
        SIGNED_IN_CREATES,
    )
    .scope(ConversationsWrite),
    row(
        "GET /api/conversations/{id}",
        "/api/conversations/{conversation}",
        MEMBERS,
    )
    .scope(ConversationsRead),
    with_body(
        "POST /api/conversations/{id}/members",
        "/api/conversations/{conversation}/members",
        r#"{"user_ids": ["{target}"]}"#,
        MEMBERS,
    )
    .scope(ConversationsWrite),
    // The member leaves; only the creator removes someone else.
    row(
        "DELETE /api/conversations/{id}/members/{user_id}",
        "/api/conversations/{conversation}/members/{member}",
        [401, 404, 403, 204, 403, 204, 404, 403],
    )
    .scope(ConversationsWrite),
    row(
        "GET /api/conversations/{id}/messages",
        "/api/conversations/{conversation}/messages",
        MEMBERS,
    )
    .scope(MessagesRead),
    with_body(
        "POST /api/conversations/{id}/messages",
        "/api/conversations/{conversation}/messages",
        r#"{"content": "hello"}"#,
        MEMBERS_CREATE,
    )
    .scope(MessagesWrite),
    row(
        "GET /api/conversations/{id}/notifications",
        "/api/conversations/{conversation}/notifications",
        MEMBERS,
    )
    .scope(ConversationsRead),
    with_body(
        "PUT /api/conversations/{id}/notifications",
        "/api/conversations/{conversation}/notifications",
        r#"{"level": "mentions"}"#,
        MEMBERS,
    )
    .scope(ConversationsWrite),
    row(
        "GET /api/conversations/{id}/pins",
        "/api/conversations/{conversation}/pins",
        MEMBERS,
    )
    .scope(MessagesRead),
    with_body(
        "POST /api/conversations/{id}/read",
        "/api/conversations/{conversation}/read",
        "{}",
        MEMBERS_NO_CONTENT,
    )
    .scope(MessagesWrite),
    with_body(
        "POST /api/conversations/{id}/scheduled-messages",
        "/api/conversations/{conversation}/scheduled-messages",
        r#"{"content": "later", "send_at": "{soon}"}"#,
        MEMBERS_CREATE,
    )
    .scope(MessagesWrite),
    // Incoming webhooks: any member of the group makes, lists and deletes them; no token reaches them.
    row(
        "GET /api/conversations/{id}/incoming-webhooks",
        "/api/conversations/{conversation}/incoming-webhooks",
        MEMBERS,
    ),
    with_body(
        "POST /api/conversations/{id}/incoming-webhooks",
        "/api/conversations/{conversation}/incoming-webhooks",
        r#"{"name": "CI"}"#,
        MEMBERS_CREATE,
    ),
    row(
        "DELETE /api/conversations/{id}/incoming-webhooks/{hook_id}",
        "/api/conversations/{conversation}/incoming-webhooks/{incoming}",
        MEMBERS_NO_CONTENT,
    ),
    // Outgoing webhooks of a conversation: its members (a global admin is none).
    row(
        "GET /api/conversations/{id}/webhooks",
        "/api/conversations/{conversation}/webhooks",
        MEMBERS,
    ),
    with_body(
        "POST /api/conversations/{id}/webhooks",
        "/api/conversations/{conversation}/webhooks",
        r#"{"url": "{receiver}"}"#,
        MEMBERS_CREATE,
    ),
    with_body(
        "POST /api/conversations/{id}/unread",
        "/api/conversations/{conversation}/unread",
        r#"{"message_id": "{message}"}"#,
        MEMBERS_NO_CONTENT,
    )
    .scope(MessagesWrite),
    with_body(
        "POST /api/files/presign-upload",
        "/api/files/presign-upload",
        r#"{"file_name": "notes.txt", "content_type": "text/plain", "file_size": 9}"#,
        SIGNED_IN_CREATES,
    )
    .scope(MessagesWrite),
    // Olga's upload, attached to her message in the group: its members download it.
    row(
        "GET /api/files/{id}",
        "/api/files/{file}",
        [401, 404, 302, 302, 302, 302, 404, 403],
    )
    .scope(MessagesRead),
    row("GET /api/messages/{id}", "/api/messages/{message}", MEMBERS).scope(MessagesRead),
    with_body(
        "PUT /api/messages/{id}",
        "/api/messages/{message}",
        r#"{"content": "edited"}"#,
        SENDER_ONLY,
    )
    .scope(MessagesWrite),
    row(
        "DELETE /api/messages/{id}",
        "/api/messages/{message}",
        [401, 404, 403, 403, 403, 204, 404, 403],
    )
    .scope(MessagesWrite),
    row(
        "GET /api/messages/{id}/history",
        "/api/messages/{message}/history",
        MEMBERS,
    )
    .scope(MessagesRead),
    row(
        "PUT /api/messages/{id}/pin",
        "/api/messages/{message}/pin",
        MEMBERS_NO_CONTENT,
    )
    .scope(MessagesWrite),
    // Olga pinned it; any member unpins.
    row(
        "DELETE /api/messages/{id}/pin",
        "/api/messages/{pinned}/pin",
        MEMBERS_NO_CONTENT,
    )
    .scope(MessagesWrite),
    row(
        "PUT /api/messages/{id}/reactions/{emoji}",
        "/api/messages/{message}/reactions/%F0%9F%91%8D",
        MEMBERS_NO_CONTENT,
    )
    .scope(MessagesWrite),
    // Only one's own reaction is removed: Olga reacted, the others have none (`404`).
    row(
        "DELETE /api/messages/{id}/reactions/{emoji}",
        "/api/messages/{reacted}/reactions/%F0%9F%91%8D",
        OWNER_ONLY_NO_CONTENT,
    )
    .scope(MessagesWrite),
    with_body(
        "POST /api/messages/{id}/reminders",
        "/api/messages/{message}/reminders",
        r#"{"remind_at": "{soon}"}"#,
        MEMBERS_CREATE,
    )
    .scope(MessagesWrite),
    row(
        "GET /api/messages/{id}/replies",
        "/api/messages/{message}/replies",
        MEMBERS,
    )
    .scope(MessagesRead),
    row(
        "PUT /api/messages/{id}/saved",
        "/api/messages/{message}/saved",
        MEMBERS_NO_CONTENT,
    )
    .scope(MessagesWrite),
    // Saved messages are one's own: Olga saved it, the others have nothing to forget (`404`).
    row(
        "DELETE /api/messages/{id}/saved",
        "/api/messages/{saved}/saved",
        OWNER_ONLY_NO_CONTENT,
    )
    .scope(MessagesWrite),
    // Notifications.
    row("GET /api/notifications", "/api/notifications", SIGNED_IN).scope(NotificationsRead),
    with_body(
        "POST /api/notifications/read-all",
        "/api/notifications/read-all",
        "{}",
        SIGNED_IN_NO_CONTENT,
    )
    .scope(NotificationsWrite),
    row(
        "POST /api/notifications/{id}/read",
        "/api/notifications/{notification}/read",
        OWNER_ONLY_NO_CONTENT,
    )
    .scope(NotificationsWrite),
    row("GET /api/presence", "/api/presence?user_ids={owner}", SIGNED_IN).scope(UsersRead),
    // Projects and tasks: the role matrix.
    row("GET /api/projects", "/api/projects", SIGNED_IN).scope(ProjectsRead),
    with_body(
        "POST /api/projects",
        "/api/projects",
        r#"{"name": "New"}"#,
        SIGNED_IN_CREATES,
    )
    .scope(ProjectsWrite),
    row("GET /api/projects/{id}", "/api/projects/{project}", PROJECT_READ).scope(ProjectsRead),
    with_body(
        "PUT /api/projects/{id}",
        "/api/projects/{project}",
        r#"{"name": "Renamed"}"#,
        PROJECT_MANAGE,
    )
    .scope(ProjectsWrite),
    row(
        "DELETE /api/projects/{id}",
        "/api/projects/{project}",
        [401, 404, 403, 403, 403, 204, 204, 403],
    )
    .scope(ProjectsWrite),
    row(
        "GET /api/projects/{id}/board",
        "/api/projects/{project}/board?status=todo",
        PROJECT_READ,
    )
    .scope(TasksRead),
    row(
        "GET /api/projects/{id}/labels",
        "/api/projects/{project}/labels",
        PROJECT_READ,
    )
    .scope(TasksRead),
    with_body(
        "POST /api/projects/{id}/labels",
        "/api/projects/{project}/labels",
        r##"{"name": "urgent", "colour": "#ff0000"}"##,
        PROJECT_WORK_CREATE,
    )
    .scope(TasksWrite),
    row(
        "DELETE /api/projects/{id}/labels/{label_id}",
        "/api/projects/{project}/labels/{label}",
        PROJECT_WORK_NO_CONTENT,
    )
    .scope(TasksWrite),
    with_body(
        "PATCH /api/projects/{id}/labels/{label_id}",
        "/api/projects/{project}/labels/{label}",
        r#"{"name": "later"}"#,
        PROJECT_WORK,
    )
    .scope(TasksWrite),
    with_body(
        "POST /api/projects/{id}/members",
        "/api/projects/{project}/members",
        r#"{"user_id": "{target}", "role": "member"}"#,
        [401, 404, 403, 403, 201, 201, 201, 403],
    )
    .scope(ProjectsWrite),
    with_body(
        "PUT /api/projects/{id}/members/{user_id}",
        "/api/projects/{project}/members/{member}",
        r#"{"role": "viewer"}"#,
        PROJECT_MANAGE,
    )
    .scope(ProjectsWrite),
    // The member leaves; owners and admins remove members.
    row(
        "DELETE /api/projects/{id}/members/{user_id}",
        "/api/projects/{project}/members/{member}",
        [401, 404, 403, 204, 204, 204, 204, 403],
    )
    .scope(ProjectsWrite),
    // A project's webhooks: its owners and admins (and global admins); other members see the project (`403`).
    row(
        "GET /api/projects/{id}/webhooks",
        "/api/projects/{project}/webhooks",
        PROJECT_MANAGE,
    ),
    with_body(
        "POST /api/projects/{id}/webhooks",
        "/api/projects/{project}/webhooks",
        r#"{"url": "{receiver}"}"#,
        PROJECT_MANAGE_CREATE,
    ),
    row(
        "GET /api/projects/{id}/tasks",
        "/api/projects/{project}/tasks",
        PROJECT_READ,
    )
    .scope(TasksRead),
    with_body(
        "POST /api/projects/{id}/tasks",
        "/api/projects/{project}/tasks",
        r#"{"title": "New task"}"#,
        PROJECT_WORK_CREATE,
    )
    .scope(TasksWrite),
    // Web Push.
    with_body(
        "POST /api/push-subscriptions",
        "/api/push-subscriptions",
        "{subscription}",
        SIGNED_IN_CREATES,
    )
    .scope(NotificationsWrite),
    row(
        "DELETE /api/push-subscriptions/{id}",
        "/api/push-subscriptions/{push}",
        OWNER_ONLY_NO_CONTENT,
    )
    .scope(NotificationsWrite),
    row(
        "GET /api/push/vapid-public-key",
        "/api/push/vapid-public-key",
        [401, 200, 200, 200, 200, 200, 200, 200],
    )
    .public_to_tokens(),
    // Reminders, saved and scheduled messages: the caller's own.
    row("GET /api/reminders", "/api/reminders", SIGNED_IN).scope(MessagesRead),
    row("GET /api/reminders/{id}", "/api/reminders/{reminder}", OWNER_ONLY).scope(MessagesRead),
    row(
        "DELETE /api/reminders/{id}",
        "/api/reminders/{reminder}",
        OWNER_ONLY_NO_CONTENT,
    )
    .scope(MessagesWrite),
    row("GET /api/saved-messages", "/api/saved-messages", SIGNED_IN).scope(MessagesRead),
    row(
        "GET /api/scheduled-messages",
        "/api/scheduled-messages",
        SIGNED_IN,
    )
    .scope(MessagesRead),
    row(
        "GET /api/scheduled-messages/{id}",
        "/api/scheduled-messages/{scheduled}",
        OWNER_ONLY,
    )
    .scope(MessagesRead),
    row(
        "DELETE /api/scheduled-messages/{id}",
        "/api/scheduled-messages/{scheduled}",
        OWNER_ONLY_NO_CONTENT,
    )
    .scope(MessagesWrite),
    with_body(
        "PATCH /api/scheduled-messages/{id}",
        "/api/scheduled-messages/{scheduled}",
        r#"{"content": "changed"}"#,
        OWNER_ONLY,
    )
    .scope(MessagesWrite),
    row(
        "GET /api/search/messages",
        "/api/search/messages?q=hello",
        SIGNED_IN,
    )
    .scope(MessagesRead),
    // Tasks.
    row("GET /api/tasks", "/api/tasks", SIGNED_IN).scope(TasksRead),
    row("GET /api/tasks/{id}", "/api/tasks/{task}", PROJECT_READ).scope(TasksRead),
    with_body(
        "PUT /api/tasks/{id}",
        "/api/tasks/{task}",
        r#"{"title": "Renamed"}"#,
        PROJECT_WORK,
    )
    .scope(TasksWrite),
    row(
        "DELETE /api/tasks/{id}",
        "/api/tasks/{task}",
        PROJECT_WORK_NO_CONTENT,
    )
    .scope(TasksWrite),
    row(
        "GET /api/tasks/{id}/activity",
        "/api/tasks/{task}/activity",
        PROJECT_READ,
    )
    .scope(TasksRead),
    row(
        "GET /api/tasks/{id}/comments",
        "/api/tasks/{task}/comments",
        PROJECT_READ,
    )
    .scope(TasksRead),
    with_body(
        "POST /api/tasks/{id}/comments",
        "/api/tasks/{task}/comments",
        r#"{"body": "a comment"}"#,
        PROJECT_WORK_CREATE,
    )
    .scope(TasksWrite),
    // One's own comment only: anyone else who sees the task gets `403`.
    row(
        "DELETE /api/tasks/{id}/comments/{comment_id}",
        "/api/tasks/{task}/comments/{comment}",
        [401, 404, 403, 403, 403, 204, 403, 403],
    )
    .scope(TasksWrite),
    with_body(
        "PATCH /api/tasks/{id}/comments/{comment_id}",
        "/api/tasks/{task}/comments/{comment}",
        r#"{"body": "edited"}"#,
        [401, 404, 403, 403, 403, 200, 403, 403],
    )
    .scope(TasksWrite),
    with_body(
        "POST /api/tasks/{id}/move",
        "/api/tasks/{task}/move",
        "{}",
        PROJECT_WORK,
    )
    .scope(TasksWrite),
    // Threads (the message is the root of a thread with one reply).
    row("GET /api/threads", "/api/threads", SIGNED_IN).scope(MessagesRead),
    row(
        "PUT /api/threads/{id}/follow",
        "/api/threads/{thread}/follow",
        MEMBERS_NO_CONTENT,
    )
    .scope(MessagesWrite),
    row(
        "DELETE /api/threads/{id}/follow",
        "/api/threads/{thread}/follow",
        MEMBERS_NO_CONTENT,
    )
    .scope(MessagesWrite),
    with_body(
        "POST /api/threads/{id}/read",
        "/api/threads/{thread}/read",
        "{}",
        MEMBERS_NO_CONTENT,
    )
    .scope(MessagesWrite),
    // Users: the caller's own account.
    row("GET /api/users", "/api/users", SIGNED_IN).scope(UsersRead),
    row("GET /api/users/me", "/api/users/me", SIGNED_IN).scope(UsersRead),
    with_body(
        "PUT /api/users/me",
        "/api/users/me",
        r#"{"name": "Same Name"}"#,
        SIGNED_IN,
    ),
    // Nobody here has a second factor.
    with_body(
        "DELETE /api/users/me/mfa",
        "/api/users/me/mfa",
        r#"{"password": "{password}", "code": "123456"}"#,
        [401, 404, 404, 404, 404, 404, 404, 403],
    ),
    // Starts an enrolment of the caller (so the confirmation below has one to refuse a wrong code for).
    with_body(
        "POST /api/users/me/mfa/totp",
        "/api/users/me/mfa/totp",
        r#"{"password": "{password}"}"#,
        SIGNED_IN_CREATES,
    ),
    with_body(
        "POST /api/users/me/mfa/totp/confirm",
        "/api/users/me/mfa/totp/confirm",
        r#"{"code": "000000"}"#,
        [401, 422, 422, 422, 422, 422, 422, 403],
    ),
    // Personal access tokens: made, listed and revoked by a signed-in session only.
    row("GET /api/users/me/tokens", "/api/users/me/tokens", SIGNED_IN),
    with_body(
        "POST /api/users/me/tokens",
        "/api/users/me/tokens",
        r#"{"name": "script", "scopes": ["messages:read"]}"#,
        SIGNED_IN_CREATES,
    ),
    row(
        "DELETE /api/users/me/tokens/{id}",
        "/api/users/me/tokens/{pat}",
        OWNER_ONLY_NO_CONTENT,
    ),
    row(
        "GET /api/users/me/notification-settings",
        "/api/users/me/notification-settings",
        SIGNED_IN,
    )
    .scope(NotificationsRead),
    with_body(
        "PUT /api/users/me/notification-settings",
        "/api/users/me/notification-settings",
        "{}",
        SIGNED_IN,
    )
    .scope(NotificationsWrite),
    row("GET /api/users/{id}", "/api/users/{owner}", SIGNED_IN).scope(UsersRead),
    // Webhooks: the global ones are the global admins'; one webhook (here a project's, Olga's) is `404` for anyone
    // who may not manage its scope, and no token reaches any (they hand out secrets).
    row("GET /api/webhooks", "/api/webhooks", ADMIN_ONLY),
    with_body(
        "POST /api/webhooks",
        "/api/webhooks",
        r#"{"url": "{receiver}"}"#,
        ADMIN_ONLY_CREATES,
    ),
    row(
        "GET /api/webhooks/{id}",
        "/api/webhooks/{webhook}",
        PROJECT_WEBHOOK,
    ),
    with_body(
        "PATCH /api/webhooks/{id}",
        "/api/webhooks/{webhook}",
        r#"{"description": "builds"}"#,
        PROJECT_WEBHOOK,
    ),
    row(
        "DELETE /api/webhooks/{id}",
        "/api/webhooks/{webhook}",
        PROJECT_WEBHOOK_NO_CONTENT,
    ),
    row(
        "GET /api/webhooks/{id}/deliveries",
        "/api/webhooks/{webhook}/deliveries",
        PROJECT_WEBHOOK,
    ),
    row(
        "GET /api/webhooks/{id}/deliveries/{delivery_id}/attempts",
        "/api/webhooks/{webhook}/deliveries/{delivery}/attempts",
        PROJECT_WEBHOOK,
    ),
    row(
        "POST /api/webhooks/{id}/deliveries/{delivery_id}/redeliver",
        "/api/webhooks/{webhook}/deliveries/{delivery}/redeliver",
        PROJECT_WEBHOOK_ACCEPTED,
    ),
    row(
        "POST /api/webhooks/{id}/ping",
        "/api/webhooks/{webhook}/ping",
        PROJECT_WEBHOOK_ACCEPTED,
    ),
    with_body(
        "POST /api/webhooks/{id}/rotate-secret",
        "/api/webhooks/{webhook}/rotate-secret",
        "{}",
        PROJECT_WEBHOOK,
    ),
    // An incoming webhook's secret URL is its credential: anyone who has it posts (a bearer token changes nothing).
    with_body(
        "POST /hooks/{token}",
        "/hooks/{hook}",
        r#"{"text": "deployed"}"#,
        public(200),
    ),
    // Operations: public.
    row("GET /health", "/health", public(200)),
    row("GET /health/live", "/health/live", public(200)),
    row("GET /metrics", "/metrics", public(200)),
];

/// The people of the matrix, signed up once per test.
struct People {
    owner: TestUser,
    admin: TestUser,
    member: TestUser,
    viewer: TestUser,
    stranger: TestUser,
    global_admin: TestUser,
    /// The account the admin routes act on, added to things by the rows that add someone.
    target: TestUser,
    /// Olga's access tokens, by the scope each lacks (`None`: a token with every scope).
    tokens: HashMap<Option<Scope>, String>,
}

impl People {
    async fn sign_up(app: &TestApp) -> Self {
        let [owner, admin, member, viewer, stranger, target, _vera] = app
            .users(["Olga", "Adam", "Mia", "Vic", "Stan", "Tess", "Vera"])
            .await;
        let global_admin = crate::admin::global_admin(app).await;
        Self {
            owner,
            admin,
            member,
            viewer,
            stranger,
            global_admin,
            target,
            tokens: HashMap::new(),
        }
    }

    /// An access token of Olga's with every scope but `lacking` (every scope for `None`), made once.
    async fn token_without(&mut self, app: &TestApp, lacking: Option<Scope>) -> String {
        if let Some(token) = self.tokens.get(&lacking) {
            return token.clone();
        }
        let scopes: Vec<&str> = Scope::ALL
            .iter()
            .filter(|scope| Some(**scope) != lacking)
            .map(|scope| scope.as_str())
            .collect();
        let token = crate::access_tokens::token_with(app, &self.owner, &scopes).await;
        self.tokens.insert(lacking, token.clone());
        token
    }

    /// Everyone signs in again: `POST /api/auth/logout-all` ended every session of each caller (and Olga's
    /// access tokens with hers).
    async fn sign_in_again(&mut self, app: &TestApp) {
        self.tokens.clear();
        for caller in CALLERS {
            if let Some(email) = Self::email(caller) {
                let session = app.sign_in_again(email).await;
                *self.user_mut(caller) = session;
            }
        }
    }

    fn user_mut(&mut self, caller: Caller) -> &mut TestUser {
        match caller {
            Caller::NoToken | Caller::Stranger => &mut self.stranger,
            Caller::TokenWithoutScope => &mut self.owner,
            Caller::Viewer => &mut self.viewer,
            Caller::Member => &mut self.member,
            Caller::Admin => &mut self.admin,
            Caller::Owner => &mut self.owner,
            Caller::GlobalAdmin => &mut self.global_admin,
        }
    }

    fn user(&self, caller: Caller) -> Option<&TestUser> {
        match caller {
            Caller::NoToken | Caller::TokenWithoutScope => None,
            Caller::Stranger => Some(&self.stranger),
            Caller::Viewer => Some(&self.viewer),
            Caller::Member => Some(&self.member),
            Caller::Admin => Some(&self.admin),
            Caller::Owner => Some(&self.owner),
            Caller::GlobalAdmin => Some(&self.global_admin),
        }
    }

    fn email(caller: Caller) -> Option<&'static str> {
        Some(match caller {
            Caller::NoToken | Caller::TokenWithoutScope => return None,
            Caller::Stranger => "stan@example.com",
            Caller::Viewer => "vic@example.com",
            Caller::Member => "mia@example.com",
            Caller::Admin => "adam@example.com",
            Caller::Owner => "olga@example.com",
            Caller::GlobalAdmin => "root@example.com",
        })
    }
}

/// The resources one row (or one cell) acts on, made by Olga as its templates name them: each
/// `{placeholder}` becomes the id (or text) of its resource, made the first time it is named.
struct World<'a> {
    app: &'a TestApp,
    people: &'a People,
    made: HashMap<&'static str, String>,
}

/// The placeholders, each after those it needs (a task needs its project).
const RESOURCES: &[(&str, &[&str])] = &[
    ("project", &[]),
    ("label", &["project"]),
    ("task", &["project"]),
    ("comment", &["task"]),
    ("webhook", &["project"]),
    ("delivery", &["webhook"]),
    ("conversation", &[]),
    ("incoming", &["conversation"]),
    ("hook", &["conversation"]),
    ("message", &["conversation"]),
    ("thread", &["message"]),
    ("pinned", &["message"]),
    ("reacted", &["message"]),
    ("saved", &["message"]),
    ("file", &["conversation"]),
    ("reminder", &["message"]),
    ("scheduled", &["conversation"]),
    ("event", &[]),
    ("feed", &[]),
    ("push", &[]),
    ("notification", &[]),
    ("session", &[]),
    ("refresh", &[]),
    ("pat", &[]),
    ("bot", &[]),
    ("bot_token", &["bot"]),
];

/// Where webhooks deliver: nothing listens there (the matrix makes them, it does not wait for deliveries).
const RECEIVER: &str = "http://127.0.0.1:9/epop";

impl<'a> World<'a> {
    fn new(app: &'a TestApp, people: &'a People) -> Self {
        Self {
            app,
            people,
            made: HashMap::new(),
        }
    }

    /// `template` with its placeholders filled in, making what they name first.
    async fn fill(&mut self, template: &str) -> String {
        let mut wanted: BTreeSet<&'static str> = BTreeSet::new();
        for (name, _) in RESOURCES {
            if template.contains(&format!("{{{name}}}")) {
                wanted.insert(name);
            }
        }
        // Close over what the wanted resources need, then make them in RESOURCES' order.
        for (name, needs) in RESOURCES.iter().rev() {
            if wanted.contains(name) {
                wanted.extend(needs.iter().copied());
            }
        }
        for (name, _) in RESOURCES {
            if wanted.contains(name) && !self.made.contains_key(name) {
                let made = self.make(name).await;
                self.made.insert(name, made);
            }
        }
        let people = self.people;
        let mut text = template
            .replace("{password}", PASSWORD)
            .replace("{receiver}", RECEIVER)
            .replace("{soon}", &soon())
            .replace("{owner}", &people.owner.id)
            .replace("{member}", &people.member.id)
            .replace("{target}", &people.target.id)
            .replace("{unique}", &uuid::Uuid::now_v7().simple().to_string());
        if text.contains("{subscription}") {
            let endpoint = format!("https://push.example.test/{}", uuid::Uuid::now_v7().simple());
            text = text.replace(
                "{subscription}",
                &crate::push::Browser::new().subscription(&endpoint).to_string(),
            );
        }
        for (name, value) in &self.made {
            text = text.replace(&format!("{{{name}}}"), value);
        }
        text
    }

    async fn make(&self, name: &str) -> String {
        let app = self.app;
        let people = self.people;
        let olga = app.as_user(&people.owner);
        let id = |value: &Value| value["id"].as_str().expect("an id").to_owned();
        let made = |name: &str| self.made[name].clone();
        match name {
            "project" => {
                let project = id(&olga
                    .clone()
                    .post_created("/api/projects", json!({"name": "P"}))
                    .await);
                for (user, role) in [
                    (&people.admin, "admin"),
                    (&people.member, "member"),
                    (&people.viewer, "viewer"),
                ] {
                    olga.clone()
                        .post_created(
                            format!("/api/projects/{project}/members"),
                            json!({"user_id": user.id, "role": role}),
                        )
                        .await;
                }
                project
            }
            "label" => id(&olga
                .post_created(
                    format!("/api/projects/{}/labels", made("project")),
                    json!({"name": "bug", "colour": "#00ff00"}),
                )
                .await),
            "task" => id(&olga
                .post_created(
                    format!("/api/projects/{}/tasks", made("project")),
                    json!({"title": "T"}),
                )
                .await),
            "comment" => id(&olga
                .post_created(
                    format!("/api/tasks/{}/comments", made("task")),
                    json!({"body": "mine"}),
                )
                .await),
            "conversation" => {
                app.group(
                    &people.owner,
                    "G",
                    &[&people.admin, &people.member, &people.viewer],
                )
                .await
            }
            "message" => id(&app.message(&people.owner, &made("conversation"), "hello").await),
            "thread" => {
                let root = made("message");
                olga.post_created(
                    format!("/api/conversations/{}/messages", made("conversation")),
                    json!({"content": "a reply", "thread_root_id": root}),
                )
                .await;
                root
            }
            "pinned" | "reacted" | "saved" => {
                let message = made("message");
                let path = match name {
                    "pinned" => format!("/api/messages/{message}/pin"),
                    "reacted" => format!("/api/messages/{message}/reactions/%F0%9F%91%8D"),
                    _ => format!("/api/messages/{message}/saved"),
                };
                olga.send(Method::PUT, path, None)
                    .await
                    .empty(reqwest::StatusCode::NO_CONTENT);
                message
            }
            "file" => {
                let slot =
                    crate::files::upload(app, &people.owner, "notes.txt", "text/plain", b"the notes").await;
                let file = slot["attachment_id"].as_str().unwrap().to_owned();
                olga.post_created(
                    format!("/api/conversations/{}/messages", made("conversation")),
                    json!({"content": "see attached", "attachment_ids": [file]}),
                )
                .await;
                file
            }
            "reminder" => id(&olga
                .post_created(
                    format!("/api/messages/{}/reminders", made("message")),
                    json!({"remind_at": soon()}),
                )
                .await),
            "scheduled" => id(&olga
                .post_created(
                    format!("/api/conversations/{}/scheduled-messages", made("conversation")),
                    json!({"content": "later", "send_at": soon()}),
                )
                .await),
            "event" => {
                let attendees = [&people.admin.id, &people.member.id, &people.viewer.id];
                id(&olga
                    .post_created(
                        "/api/calendar-events",
                        json!({
                            "title": "Review",
                            "start_time": "2030-01-07T10:00:00Z",
                            "end_time": "2030-01-07T11:00:00Z",
                            "attendees": attendees,
                        }),
                    )
                    .await)
            }
            "feed" => {
                let feed = olga.post_created("/api/calendar-feed", json!({})).await;
                feed["token"].as_str().expect("a feed token").to_owned()
            }
            "push" => {
                let endpoint = format!("https://push.example.test/{}", uuid::Uuid::now_v7().simple());
                let subscription = crate::push::Browser::new().subscription(&endpoint);
                id(&olga.post_created("/api/push-subscriptions", subscription).await)
            }
            "notification" => {
                let notification = uuid::Uuid::now_v7();
                app.sql(&format!(
                    "INSERT INTO notifications (id, user_id, kind, payload) \
                     VALUES ('{notification}', '{}', 'reminder', '{{}}')",
                    people.owner.id
                ))
                .await;
                notification.to_string()
            }
            "session" => {
                let session = app.sign_in_again("olga@example.com").await;
                let sessions = app.as_user(&session).get_ok("/api/auth/sessions").await;
                crate::helpers::elements(&sessions["items"])
                    .find(|s| s["current"] == true)
                    .map(id)
                    .expect("the current session is listed")
            }
            "refresh" => app.sign_in_again("vera@example.com").await.refresh_token,
            "webhook" => id(&olga
                .post_created(
                    format!("/api/projects/{}/webhooks", made("project")),
                    json!({"url": RECEIVER}),
                )
                .await),
            "delivery" => {
                let ping = olga
                    .send(
                        Method::POST,
                        format!("/api/webhooks/{}/ping", made("webhook")),
                        None,
                    )
                    .await
                    .json(reqwest::StatusCode::ACCEPTED);
                id(&ping)
            }
            "incoming" | "hook" => {
                let hook = olga
                    .post_created(
                        format!("/api/conversations/{}/incoming-webhooks", made("conversation")),
                        json!({"name": "CI"}),
                    )
                    .await;
                if name == "incoming" {
                    id(&hook)
                } else {
                    let url = hook["url"].as_str().expect("the hook's URL is shown");
                    url.rsplit('/').next().expect("a token").to_owned()
                }
            }
            "pat" => {
                id(&crate::access_tokens::create_token(app, &people.owner, "script", &["users:read"]).await)
            }
            "bot" => id(&app
                .as_user(&people.global_admin)
                .post_created(
                    "/api/admin/bots",
                    json!({"username": uuid::Uuid::now_v7().simple().to_string(), "display_name": "Bot"}),
                )
                .await),
            "bot_token" => id(&app
                .as_user(&people.global_admin)
                .post_created(
                    format!("/api/admin/bots/{}/tokens", made("bot")),
                    json!({"name": "deploy", "scopes": ["messages:write"]}),
                )
                .await),
            other => panic!("no resource {other}"),
        }
    }
}

/// A week from now (RFC 3339): when scheduled messages and reminders are due (they may be at most a year ahead).
fn soon() -> String {
    (chrono::Utc::now() + chrono::Duration::days(7)).to_rfc3339()
}

/// The token `caller` sends for `row`: a session of its own for the routes that end the caller's sessions, an
/// access token of Olga's lacking the row's scope for [`Caller::TokenWithoutScope`].
async fn token_for(app: &TestApp, people: &People, row: &Row, caller: Caller, pat: &str) -> Option<String> {
    if caller == Caller::TokenWithoutScope {
        if row.operation == "POST /api/auth/logout-all" {
            // Olga ended every session a column ago, and her tokens with them: a new token of a new session.
            let olga = app.sign_in_again("olga@example.com").await;
            let every: Vec<&str> = Scope::ALL.iter().map(|scope| scope.as_str()).collect();
            return Some(crate::access_tokens::token_with(app, &olga, &every).await);
        }
        return Some(pat.to_owned());
    }
    let user = people.user(caller)?;
    if row.operation == "POST /api/auth/logout-all" {
        let email = People::email(caller)?;
        return Some(app.sign_in_again(email).await.access_token);
    }
    Some(user.access_token.clone())
}

/// What the gateway's table asks of a token for `operation` (`None`: no token reaches it).
fn gateway_token_access(operation: &str) -> Option<Access> {
    epop_gateway::scopes::ROUTES
        .iter()
        .find(|(method, pattern, _)| format!("{method} {pattern}") == operation)
        .map(|(_, _, access)| *access)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_each_kind_of_caller_as_the_reference_says() {
    let app = TestApp::with_settings([
        ("EPOP_ACCOUNT_EMAIL_RATE_LIMIT", "0"),
        ("EPOP_WEBHOOKS_ALLOW_LOOPBACK_FOR_TESTS", "true"),
    ])
    .await;

    // The table and the document list the same operations.
    let document = app.openapi().await;
    let mut documented = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("a path item").keys() {
            if ["get", "put", "post", "delete", "patch", "head", "options"].contains(&method.as_str()) {
                documented.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    let tabled: BTreeSet<String> = MATRIX.iter().map(|row| row.operation.to_owned()).collect();
    let missing: Vec<&String> = documented.difference(&tabled).collect();
    let stale: Vec<&String> = tabled.difference(&documented).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "operations without a row in MATRIX (add one, as docs/api.md says): {missing:?}; \
         rows for operations the document no longer has: {stale:?}"
    );
    assert_eq!(tabled.len(), MATRIX.len(), "one row per operation");
    // What each row says a token needs is what the gateway's one table of scopes says.
    let differing: Vec<String> = MATRIX
        .iter()
        .filter(|row| row.token != gateway_token_access(row.operation))
        .map(|row| {
            format!(
                "{}: the matrix says {:?}, apps/gateway/src/scopes.rs {:?}",
                row.operation,
                row.token,
                gateway_token_access(row.operation)
            )
        })
        .collect();
    assert!(differing.is_empty(), "scopes differ:\n{}", differing.join("\n"));

    let mut people = People::sign_up(&app).await;
    let mut wrong = Vec::new();
    for row in MATRIX {
        let lacking = match row.token {
            Some(Access::Needs(scope)) => Some(scope),
            Some(Access::Public) | None => None,
        };
        let pat = people.token_without(&app, lacking).await;
        wrong.extend(check_row(&app, &people, row, &pat).await);
        if row.operation == "POST /api/auth/logout-all" {
            people.sign_in_again(&app).await;
        }
    }
    assert!(
        wrong.is_empty(),
        "{} answers differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// What differs from `row`'s answers when each caller sends its request.
async fn check_row(app: &TestApp, people: &People, row: &Row, pat: &str) -> Vec<String> {
    let mut wrong = Vec::new();
    let method: Method = row.operation.split(' ').next().unwrap().parse().unwrap();
    let shared = method == Method::GET;
    let mut world = World::new(app, people);
    // Whether a caller before may have changed the world: a refusal changes nothing, so the next caller acts
    // on the same untouched world without making another.
    let mut touched = false;
    for (column, caller) in CALLERS.into_iter().enumerate() {
        if touched && !shared {
            world = World::new(app, people);
        }
        if let Some(resource) = row.needs {
            world.fill(&format!("{{{resource}}}")).await;
        }
        let path = world.fill(row.path).await;
        let body = match row.body {
            Some(template) => Some(
                serde_json::from_str::<Value>(&world.fill(template).await)
                    .unwrap_or_else(|e| panic!("{}: body template: {e}", row.operation)),
            ),
            None => None,
        };
        let client = match token_for(app, people, row, caller, pat).await {
            Some(token) => app.as_token(&token),
            None => app.anonymous(),
        };
        let answer = client.send(method.clone(), &path, body).await;
        let expected = row.answers[column];
        touched = expected < 400;
        if answer.status().as_u16() != expected {
            wrong.push(format!(
                "{} as {caller:?}: expected {expected}, got {} {}",
                row.operation,
                answer.status().as_u16(),
                answer.text.chars().take(200).collect::<String>()
            ));
        }
    }
    wrong
}
