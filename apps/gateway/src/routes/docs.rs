//! The OpenAPI document (generated from the handlers' annotations) and its interactive viewer.

use crate::error::{FieldErrorSchema, Problem};
use crate::routes::projects;
use crate::routes::{auth, calendar, chat, health, metrics, users};
use crate::routes::{notifications, presence, push};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The OpenAPI 3.1 description of every REST endpoint.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "EPOP API",
        description = "The EPOP team workspace API. Errors are RFC 9457 problem+json.\n\nSlow requests: a \
                       request head must arrive within `EPOP_REQUEST_HEAD_TIMEOUT` seconds of its first byte (default \
                       5), and a request body must not pause longer than `EPOP_BODY_IDLE_TIMEOUT` seconds (default \
                       10) nor arrive slower on average than `EPOP_BODY_MIN_RATE` bytes per second (default 1024, \
                       counted after the first idle timeout). A body that does is answered `400 bad_request` and \
                       its connection is closed."
    ),
    paths(
        auth::register::register,
        auth::login::login,
        auth::refresh::refresh,
        auth::logout::logout,
        auth::logout_all::logout_all,
        users::me_get::me_get,
        users::me_update::me_update,
        users::list::list,
        users::get::get,
        chat::conversations_list::list,
        chat::conversation_create::create,
        chat::conversation_get::get,
        chat::messages_list::list,
        chat::message_send::send,
        chat::members_add::add,
        chat::member_remove::remove,
        chat::read::read,
        chat::message_get::get,
        chat::message_update::update,
        chat::message_delete::delete,
        chat::search::search,
        chat::files::presign_upload,
        chat::files::download,
        projects::projects_list::list,
        projects::project_create::create,
        projects::project_get::get,
        projects::project_update::update,
        projects::project_delete::delete,
        projects::member_add::add,
        projects::member_update::update,
        projects::member_remove::remove,
        projects::project_tasks_list::list,
        projects::task_create::create,
        projects::task_get::get,
        projects::task_update::update,
        projects::task_delete::delete,
        projects::tasks_list::list,
        calendar::event_create::create,
        calendar::events_list::list,
        calendar::event_get::get,
        calendar::event_update::update,
        calendar::event_delete::delete,
        calendar::export_ics::export,
        notifications::list::list,
        notifications::read::read,
        notifications::read_all::read_all,
        presence::get::get,
        push::vapid_key::vapid_key,
        push::subscribe::subscribe,
        push::unsubscribe::unsubscribe,
        health::health,
        health::live,
        metrics::metrics,
    ),
    components(schemas(Problem, FieldErrorSchema)),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Sign-up, sign-in and sessions"),
        (name = "users", description = "Accounts and the people directory"),
        (name = "chat", description = "Conversations, messages, read positions and search"),
        (name = "files", description = "Uploads and downloads through presigned URLs"),
        (name = "projects", description = "Projects, members with roles, and tasks"),
        (name = "calendar", description = "The caller's own calendar events and their iCalendar export"),
        (name = "notifications", description = "In-app notifications"),
        (name = "presence", description = "Who is online, on demand"),
        (name = "operations", description = "Health and metrics"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}
