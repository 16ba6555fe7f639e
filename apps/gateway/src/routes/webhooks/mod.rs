//! `/api/webhooks`, `/api/conversations/{id}/webhooks` and `/api/projects/{id}/webhooks`: outgoing webhooks
//! (`docs/api.md`, Webhooks).
//!
//! Who may manage a scope is asked here of the services that own it, then the webhooks service does the work
//! (domain crates never call each other): a conversation's webhooks by its members (chat has no roles beyond
//! membership), a project's by its `owner`s and `admin`s (`epop_projects::Action::ManageWebhooks`), global ones
//! by global admins. A webhook the caller may not manage is `404`, as if it did not exist; on a project's list
//! a member whose role may not manage webhooks gets `403` (they can see the project).

pub mod collections;
pub mod deliveries;
pub mod item;
pub mod ping;
pub mod rotate_secret;

use crate::error::ApiError;
use crate::extract::{AuthUser, RequestClient};
use crate::routes::projects::actor;
use crate::state::AppState;
use epop_auth::Role;
use epop_projects::{Action, ProjectsError};
use epop_webhooks::Scope;
use epop_webhooks::service::Changer;
use serde::Deserialize;
use uuid::Uuid;

/// Whether the caller asks about a scope's list (where a visible project answers `403`) or one webhook (where
/// anything the caller may not manage is `404`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Asked {
    /// `/api/.../webhooks`.
    List,
    /// `/api/webhooks/{id}...`.
    One,
}

/// Checks that `user` may manage the webhooks of `scope`.
pub(crate) async fn authorize(
    state: &AppState,
    user: AuthUser,
    scope: Scope,
    asked: Asked,
) -> Result<(), ApiError> {
    match scope {
        Scope::Global if user.role == Role::Admin => Ok(()),
        Scope::Global => Err(ApiError::not_found()),
        Scope::Conversation(id) => {
            if state.chat.is_member(user.id, id).await? {
                Ok(())
            } else {
                Err(ApiError::not_found())
            }
        }
        Scope::Project(id) => match state
            .projects
            .check_access(actor(user), id, Action::ManageWebhooks)
            .await
        {
            Ok(()) => Ok(()),
            Err(ProjectsError::Forbidden) if asked == Asked::One => Err(ApiError::not_found()),
            Err(error) => Err(error.into()),
        },
    }
}

/// Checks that `user` may manage webhook `id` (`404` otherwise, and for no such webhook).
pub(crate) async fn managed(state: &AppState, user: AuthUser, id: Uuid) -> Result<Uuid, ApiError> {
    let scope = state.webhooks.scope_of(id).await?;
    authorize(state, user, scope, Asked::One).await?;
    Ok(id)
}

/// The caller and their address, for the audit log.
pub(crate) fn changer(user: AuthUser, client: &RequestClient) -> Changer<'_> {
    Changer {
        user: user.id,
        ip: client.0.ip.as_deref(),
    }
}

/// The body of `POST /api/webhooks`, `/api/conversations/{id}/webhooks` and `/api/projects/{id}/webhooks`.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct CreateWebhookRequest {
    /// Where deliveries are `POST`ed: an `https` URL without credentials whose host is a name (not an IP
    /// address, not `localhost`) resolving only to public addresses.
    #[garde(required, length(chars, min = 1, max = 2048))]
    #[schema(value_type = String, min_length = 1, max_length = 2048, example = "https://hooks.example.com/epop")]
    pub url: Option<String>,
    /// What it is for (at most 500 characters).
    #[garde(length(chars, max = 500))]
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// The event types to deliver, each one of the scope's (`docs/api.md`, Webhooks); left out or empty: all.
    #[garde(length(max = 64))]
    #[schema(max_items = 64)]
    pub event_types: Option<Vec<String>>,
}

impl CreateWebhookRequest {
    /// The checked request as the service takes it.
    pub(crate) fn into_new(self) -> Result<epop_webhooks::NewWebhook, ApiError> {
        Ok(epop_webhooks::NewWebhook {
            url: crate::routes::required(self.url, "url")?,
            description: self.description,
            event_types: self.event_types.unwrap_or_default(),
        })
    }
}

/// Paging of a webhook list or delivery log.
#[derive(Debug, Deserialize, garde::Validate, utoipa::IntoParams)]
pub struct WebhooksQuery {
    /// Page size, 1..=100 (default 50).
    #[garde(range(min = 1, max = 100))]
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u16>,
    /// Cursor from the previous page.
    #[garde(skip)]
    pub cursor: Option<String>,
}
