//! HTTP routes, one endpoint per file. Handlers are thin: extract and validate, call a service, map the
//! answer. Rules live in the domain crates.

pub mod admin;
pub mod auth;
pub mod calendar;
pub mod chat;
pub mod docs;
mod fallback;
pub mod health;
pub mod hooks;
pub mod metrics;
pub mod mfa;
pub mod notifications;
pub mod presence;
pub mod projects;
pub mod push;
pub mod users;
pub mod webhooks;

use crate::error::ApiError;
use crate::middleware::api_guard;
use actix_web::middleware::from_fn;
use actix_web::web;
use epop_core::FieldError;
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_actix_web::{AppExt as _, scope};

pub use fallback::{RouteTable, path_error};

/// Registers every HTTP route but Socket.IO's and the documentation's (`crate::app::configure`). The API's routes are registered
/// with `service`, which records each one's `#[utoipa::path]` operation as it mounts the handler: the OpenAPI
/// document ([`openapi`]) is made by this same function, so a route cannot be served undocumented nor
/// documented unserved. Only the local store's presigned URLs (not an API clients call by name) use plain
/// `route`.
///
/// Order matters where patterns overlap: `/users/me` before `/users/{id}`.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(health::health)
        .service(health::live)
        .service(metrics::metrics)
        .service(hooks::post)
        .route("/files/local/{key:.*}", web::put().to(chat::local_store::upload))
        .route(
            "/files/local/{key:.*}",
            web::get().to(chat::local_store::download),
        )
        .service(
            scope("/api")
                .wrap(from_fn(api_guard))
                .service(auth::register::register)
                .service(auth::login::login)
                .service(auth::refresh::refresh)
                .service(auth::logout::logout)
                .service(auth::logout_all::logout_all)
                .service(auth::sessions_list::list)
                .service(auth::session_delete::delete)
                .service(auth::password_reset::password_reset)
                .service(auth::password_reset_confirm::password_reset_confirm)
                .service(auth::verify_email::verify_email)
                .service(auth::verify_email_resend::verify_email_resend)
                .service(auth::oidc_start::start)
                .service(auth::oidc_callback::callback)
                .service(auth::oidc_exchange::exchange)
                .service(mfa::complete::complete)
                .service(chat::conversations_list::list)
                .service(chat::conversation_create::create)
                .service(chat::conversation_get::get)
                .service(chat::messages_list::list)
                .service(chat::message_send::send)
                .service(chat::members_add::add)
                .service(chat::member_remove::remove)
                .service(chat::read::read)
                .service(chat::unread::unread)
                .service(chat::conversation_notifications::get)
                .service(chat::conversation_notifications::put)
                .service(chat::message_get::get)
                .service(chat::message_update::update)
                .service(chat::message_delete::delete)
                .service(chat::replies_list::list)
                .service(chat::reactions::add)
                .service(chat::reactions::remove)
                .service(chat::threads_list::list)
                .service(chat::thread_read::read)
                .service(chat::thread_follow::follow)
                .service(chat::thread_follow::unfollow)
                .service(chat::scheduled_create::create)
                .service(chat::scheduled_list::list)
                .service(chat::scheduled_get::get)
                .service(chat::scheduled_update::update)
                .service(chat::scheduled_cancel::cancel)
                .service(chat::reminder_create::create)
                .service(chat::reminders::list)
                .service(chat::reminders::get)
                .service(chat::reminders::cancel)
                .service(chat::saved::save)
                .service(chat::saved::unsave)
                .service(chat::saved::list)
                .service(chat::history::list)
                .service(chat::pins::pin)
                .service(chat::pins::unpin)
                .service(chat::pins::list)
                .service(chat::incoming_webhooks::create)
                .service(chat::incoming_webhooks::list)
                .service(chat::incoming_webhooks::delete)
                .service(projects::projects_list::list)
                .service(projects::project_create::create)
                .service(projects::project_get::get)
                .service(projects::project_update::update)
                .service(projects::project_delete::delete)
                .service(projects::member_add::add)
                .service(projects::member_update::update)
                .service(projects::member_remove::remove)
                .service(projects::project_tasks_list::list)
                .service(projects::task_create::create)
                .service(projects::tasks_list::list)
                .service(projects::task_get::get)
                .service(projects::task_update::update)
                .service(projects::task_delete::delete)
                .service(projects::task_comments::create)
                .service(projects::task_comments::list)
                .service(projects::task_comments::update)
                .service(projects::task_comments::delete)
                .service(projects::task_activity::list)
                .service(projects::labels::create)
                .service(projects::labels::list)
                .service(projects::labels::update)
                .service(projects::labels::delete)
                .service(projects::board::column)
                .service(projects::board::move_task)
                .service(chat::search::search)
                .service(calendar::export_ics::export)
                .service(calendar::events_list::list)
                .service(calendar::event_create::create)
                .service(calendar::event_get::get)
                .service(calendar::event_update::update)
                .service(calendar::event_delete::delete)
                .service(calendar::event_respond::respond)
                .service(calendar::reminders::get)
                .service(calendar::reminders::set)
                .service(calendar::free_busy::free_busy)
                .service(calendar::feed::regenerate)
                .service(calendar::feed::revoke)
                .service(calendar::feed::feed)
                .service(push::vapid_key::vapid_key)
                .service(push::subscribe::subscribe)
                .service(push::unsubscribe::unsubscribe)
                .service(notifications::list::list)
                .service(notifications::read_all::read_all)
                .service(notifications::read::read)
                .service(notifications::settings::get)
                .service(notifications::settings::put)
                .service(chat::files::presign_upload)
                .service(chat::files::download)
                .service(presence::get::get)
                .service(users::list::list)
                .service(users::me_get::me_get)
                .service(users::me_update::me_update)
                .service(users::tokens::create)
                .service(users::tokens::list)
                .service(users::tokens::delete)
                .service(mfa::totp_start::totp_start)
                .service(mfa::totp_confirm::totp_confirm)
                .service(mfa::disable::disable)
                .service(users::get::get)
                .service(admin::users_list::list)
                .service(admin::user_get::get)
                .service(admin::user_deactivate::deactivate)
                .service(admin::user_reactivate::reactivate)
                .service(admin::user_role::set_role)
                .service(admin::user_password_reset::force_reset)
                .service(admin::audit_log::list)
                .service(admin::bots::create)
                .service(admin::bots::create_token)
                .service(admin::bots::tokens)
                .service(admin::bots::revoke_token)
                .service(webhooks::collections::create_global)
                .service(webhooks::collections::list_global)
                .service(webhooks::collections::create_in_conversation)
                .service(webhooks::collections::list_in_conversation)
                .service(webhooks::collections::create_in_project)
                .service(webhooks::collections::list_in_project)
                .service(webhooks::item::get)
                .service(webhooks::item::update)
                .service(webhooks::item::delete)
                .service(webhooks::rotate_secret::rotate_secret)
                .service(webhooks::deliveries::list)
                .service(webhooks::deliveries::attempts)
                .service(webhooks::deliveries::redeliver)
                .service(webhooks::ping::ping)
                .default_service(web::to(fallback::unrouted)),
        )
        .default_service(web::to(fallback::unrouted));
}

/// The OpenAPI document of the routes [`configure`] registers, completed by [`docs::complete`] with the answers
/// every route shares (problem bodies, rate limits, malformed bodies, outages).
pub fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi as _;
    let (_, document) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(docs::ApiDoc::openapi())
        .configure(configure)
        .split_for_parts();
    docs::complete(document)
}

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
