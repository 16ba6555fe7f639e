//! The rules of webhooks: endpoints checked and bounded per scope, secrets made and rotated, the delivery log
//! read, deliveries repeated and pings sent. Whether the caller may manage a scope is decided by the gateway
//! before it calls here (see the crate notes); every change is audited in its own transaction.

use crate::delivery::{WEBHOOKS_QUEUE, WebhookJobs, WebhookSender, job_payload};
use crate::error::{WebhooksError, WebhooksResult};
use crate::events::{PING, payload, types_of};
use crate::model::{
    Delivery, DeliveryAttempt, NewWebhook, Scope, Webhook, WebhookChanges, WebhookWithSecret,
};
use crate::repo::{self, EndpointRow, NewEndpointRow};
use crate::signature::new_secret;
use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection as _, AsyncPgConnection};
use epop_core::{Cursor, FieldError, Page, PageRequest, UserId};
use epop_storage::audit::{self, AuditAction, AuditEntry, AuditTarget};
use epop_storage::sealed::SealingKey;
use epop_storage::{DbPool, jobs, outbound};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use uuid::Uuid;

/// How long a new URL's name may take to resolve when it is checked (a name that does not resolve in time is
/// accepted: it is checked again at every delivery).
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(2);
/// The longest URL.
const MAX_URL_CHARS: usize = 2048;
/// The longest description.
const MAX_DESCRIPTION_CHARS: usize = 500;
/// The longest overlap of a rotated secret with the new one.
pub const MAX_OVERLAP: Duration = Duration::from_secs(7 * 24 * 3600);

/// Limits and switches of webhooks (EPOP settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookSettings {
    /// Let URLs on loopback addresses through, over `http` too (tests only).
    pub allow_loopback: bool,
    /// Webhooks one scope (a conversation, a project, the server) may have (0: no limit).
    pub max_per_scope: u64,
    /// How long one delivery attempt may take, connecting, sending and reading the answer.
    pub timeout: Duration,
    /// The longest wait a receiver's `Retry-After` may ask for.
    pub max_retry_after: Duration,
    /// Attempts kept in each delivery's attempt log, the newest (at least 1).
    pub attempts_kept: u64,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            allow_loopback: false,
            max_per_scope: 10,
            timeout: Duration::from_secs(15),
            max_retry_after: Duration::from_secs(3600),
            attempts_kept: 50,
        }
    }
}

/// Outgoing webhooks: endpoints, their secrets and their delivery log.
#[derive(Clone)]
pub struct WebhooksService {
    pool: DbPool,
    settings: WebhookSettings,
    key: SealingKey,
}

impl std::fmt::Debug for WebhooksService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhooksService")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Who changes an endpoint, for the audit log.
#[derive(Debug, Clone, Copy)]
pub struct Changer<'a> {
    /// The user.
    pub user: UserId,
    /// Their client address.
    pub ip: Option<&'a str>,
}

fn decode(page: &PageRequest) -> WebhooksResult<Option<Uuid>> {
    page.cursor
        .as_ref()
        .map(|c| Cursor::decode(c).map_err(|_| WebhooksError::BadCursor))
        .transpose()
}

fn overfetch(page: &PageRequest) -> i64 {
    i64::from(page.limit) + 1
}

fn random_secret() -> WebhooksResult<String> {
    new_secret().map_err(|e| WebhooksError::NoRandomness(e.to_string()))
}

impl WebhooksService {
    /// Builds the service; signing secrets are sealed at rest with `key`.
    pub fn new(pool: DbPool, settings: WebhookSettings, key: SealingKey) -> Self {
        Self { pool, settings, key }
    }

    /// Its settings.
    pub fn settings(&self) -> WebhookSettings {
        self.settings
    }

    /// The job handler of the `webhooks` queue, for the host's job worker.
    pub fn sender(&self) -> Result<WebhookSender, reqwest::Error> {
        WebhookSender::new(self.pool.clone(), self.settings, self.key.clone())
    }

    /// The outbox handler that turns events into deliveries, waking `worker` after each batch.
    pub fn outbox_handler(&self, worker: Arc<Notify>) -> WebhookJobs {
        WebhookJobs::new(worker)
    }

    /// Checks a URL as it will be used: a public `https` URL ([`outbound::check_url`]) whose name does not
    /// resolve to an address the server does not contact now, at most 2048 characters.
    async fn check_url(&self, url: &str, errors: &mut Vec<FieldError>) {
        if url.chars().count() > MAX_URL_CHARS {
            errors.push(FieldError::new("url", "must be at most 2048 characters"));
            return;
        }
        match outbound::check_url(url, self.settings.allow_loopback) {
            Err(why) => errors.push(FieldError::new("url", why)),
            Ok(target) => {
                if !outbound::target_allowed_now(&target, self.settings.allow_loopback, RESOLVE_TIMEOUT).await
                {
                    errors.push(FieldError::new("url", outbound::REFUSED_ADDRESS_MESSAGE));
                }
            }
        }
    }

    /// The event types, each one of the scope's, without repeats (in the order given).
    fn check_types(scope: Scope, types: &[String], errors: &mut Vec<FieldError>) -> Vec<String> {
        let known = types_of(scope);
        let mut kept: Vec<String> = Vec::new();
        for (i, name) in types.iter().enumerate() {
            if !known.contains(&name.as_str()) {
                errors.push(FieldError::new(
                    format!("event_types[{i}]"),
                    format!("is not an event type of a {} webhook", scope.kind()),
                ));
            } else if !kept.contains(name) {
                kept.push(name.clone());
            }
        }
        kept
    }

    fn check_description(description: &str, errors: &mut Vec<FieldError>) {
        if description.chars().count() > MAX_DESCRIPTION_CHARS {
            errors.push(FieldError::new("description", "must be at most 500 characters"));
        }
    }

    async fn audit(
        conn: &mut AsyncPgConnection,
        by: Option<Changer<'_>>,
        action: AuditAction,
        endpoint: &EndpointRow,
        details: serde_json::Value,
        now: DateTime<Utc>,
    ) -> WebhooksResult<()> {
        let mut details = details;
        if let Some(map) = details.as_object_mut() {
            map.insert("scope".into(), json!(endpoint.scope));
            map.insert("url".into(), json!(endpoint.url));
            if let Some(id) = endpoint.conversation_id {
                map.insert("conversation_id".into(), json!(id));
            }
            if let Some(id) = endpoint.project_id {
                map.insert("project_id".into(), json!(id));
            }
        }
        let entry = AuditEntry::new(by.map(|b| b.user), action, by.and_then(|b| b.ip))
            .on(AuditTarget::Webhook(endpoint.id))
            .with(details);
        audit::append(conn, &entry, now).await?;
        Ok(())
    }

    /// Creates an endpoint in `scope` (which the caller may manage) and answers it with its secret. A scope
    /// holds at most `max_per_scope` endpoints (`TooManyWebhooks`).
    #[tracing::instrument(skip(self, new))]
    pub async fn create(
        &self,
        by: Changer<'_>,
        scope: Scope,
        new: &NewWebhook,
    ) -> WebhooksResult<WebhookWithSecret> {
        let mut errors = Vec::new();
        self.check_url(&new.url, &mut errors).await;
        let description = new.description.clone().unwrap_or_default();
        Self::check_description(&description, &mut errors);
        let event_types = Self::check_types(scope, &new.event_types, &mut errors);
        if !errors.is_empty() {
            return Err(WebhooksError::Invalid(errors));
        }
        let secret = random_secret()?;
        let id = Uuid::now_v7();
        let sealed = repo::seal_secret(&self.key, id, &secret)?;
        let limit = self.settings.max_per_scope;
        let now = Utc::now();
        let mut conn = self.pool.get().await?;
        let row = conn
            .transaction::<_, WebhooksError, _>(async |conn| {
                repo::lock_scope(conn, scope).await?;
                if limit > 0 && u64::try_from(repo::count_in_scope(conn, scope).await?).unwrap_or(0) >= limit
                {
                    return Err(WebhooksError::TooManyWebhooks { limit });
                }
                let (conversation_id, project_id) = match scope {
                    Scope::Global => (None, None),
                    Scope::Conversation(id) => (Some(id), None),
                    Scope::Project(id) => (None, Some(id)),
                };
                let row = repo::insert_endpoint(
                    conn,
                    &NewEndpointRow {
                        id,
                        scope: scope.kind(),
                        conversation_id,
                        project_id,
                        url: &new.url,
                        description: &description,
                        event_types: &event_types,
                        secret_sealed: &sealed,
                        created_by: Some(by.user),
                    },
                )
                .await?;
                Self::audit(
                    conn,
                    Some(by),
                    AuditAction::WebhookCreated,
                    &row,
                    json!({"event_types": row.event_types}),
                    now,
                )
                .await?;
                Ok(row)
            })
            .await?;
        Ok(WebhookWithSecret {
            webhook: row.into_webhook(now),
            secret,
        })
    }

    /// The endpoints of `scope`, oldest first.
    pub async fn list(&self, scope: Scope, page: &PageRequest) -> WebhooksResult<Page<Webhook>> {
        let after = decode(page)?;
        let mut conn = self.pool.get().await?;
        let rows = repo::page_in_scope(&mut conn, scope, after, overfetch(page)).await?;
        let now = Utc::now();
        Ok(Page::from_overfetch(rows, page.limit, |row| row.id).map(|row| row.into_webhook(now)))
    }

    /// The scope of endpoint `id` (for the caller's permission check); `NotFound` when there is none.
    pub async fn scope_of(&self, id: Uuid) -> WebhooksResult<Scope> {
        let mut conn = self.pool.get().await?;
        repo::find_endpoint(&mut conn, id)
            .await?
            .map(|row| row.scope())
            .ok_or(WebhooksError::NotFound)
    }

    /// One endpoint.
    pub async fn get(&self, id: Uuid) -> WebhooksResult<Webhook> {
        let mut conn = self.pool.get().await?;
        repo::find_endpoint(&mut conn, id)
            .await?
            .map(|row| row.into_webhook(Utc::now()))
            .ok_or(WebhooksError::NotFound)
    }

    /// Changes an endpoint: its URL (checked as on creation), description, event types, or whether it is on
    /// (turning it on clears why it was off).
    #[tracing::instrument(skip(self, changes))]
    pub async fn update(
        &self,
        by: Changer<'_>,
        id: Uuid,
        changes: &WebhookChanges,
    ) -> WebhooksResult<Webhook> {
        let scope = self.scope_of(id).await?;
        let mut errors = Vec::new();
        if let Some(url) = &changes.url {
            self.check_url(url, &mut errors).await;
        }
        if let Some(description) = &changes.description {
            Self::check_description(description, &mut errors);
        }
        let event_types = changes
            .event_types
            .as_ref()
            .map(|types| Self::check_types(scope, types, &mut errors));
        if !errors.is_empty() {
            return Err(WebhooksError::Invalid(errors));
        }
        let now = Utc::now();
        let mut conn = self.pool.get().await?;
        let row = conn
            .transaction::<_, WebhooksError, _>(async |conn| {
                let mut row = repo::lock_endpoint(conn, id)
                    .await?
                    .ok_or(WebhooksError::NotFound)?;
                let mut changed = serde_json::Map::new();
                if let Some(url) = &changes.url
                    && *url != row.url
                {
                    changed.insert("previous_url".into(), json!(row.url));
                    row.url.clone_from(url);
                }
                if let Some(description) = &changes.description
                    && *description != row.description
                {
                    changed.insert("description".into(), json!(description));
                    row.description.clone_from(description);
                }
                if let Some(types) = event_types
                    && types != row.event_types
                {
                    changed.insert("event_types".into(), json!(types));
                    row.event_types = types;
                }
                if let Some(enabled) = changes.enabled
                    && enabled != row.enabled
                {
                    changed.insert("enabled".into(), json!(enabled));
                    row.enabled = enabled;
                    row.disabled_reason = (!enabled).then(|| "manual".to_owned());
                }
                if changed.is_empty() {
                    return Ok(row);
                }
                let row = repo::save_endpoint(conn, &row, now).await?;
                Self::audit(
                    conn,
                    Some(by),
                    AuditAction::WebhookUpdated,
                    &row,
                    serde_json::Value::Object(changed),
                    now,
                )
                .await?;
                Ok(row)
            })
            .await?;
        Ok(row.into_webhook(now))
    }

    /// Deletes an endpoint and its delivery log (queued attempts find it gone and do nothing).
    #[tracing::instrument(skip(self))]
    pub async fn delete(&self, by: Changer<'_>, id: Uuid) -> WebhooksResult<()> {
        let now = Utc::now();
        let mut conn = self.pool.get().await?;
        conn.transaction::<_, WebhooksError, _>(async |conn| {
            let row = repo::lock_endpoint(conn, id)
                .await?
                .ok_or(WebhooksError::NotFound)?;
            Self::audit(conn, Some(by), AuditAction::WebhookDeleted, &row, json!({}), now).await?;
            repo::delete_endpoint(conn, id).await?;
            Ok(())
        })
        .await
    }

    /// Gives an endpoint a new secret; the current one goes on signing beside it for `overlap` (at most
    /// [`MAX_OVERLAP`]; zero: it stops at once). A secret rotated out earlier stops signing now.
    #[tracing::instrument(skip(self))]
    pub async fn rotate_secret(
        &self,
        by: Changer<'_>,
        id: Uuid,
        overlap: Duration,
    ) -> WebhooksResult<WebhookWithSecret> {
        if overlap > MAX_OVERLAP {
            return Err(WebhooksError::invalid(
                "overlap_seconds",
                "must be at most 604800 (7 days)",
            ));
        }
        let secret = random_secret()?;
        let sealed = repo::seal_secret(&self.key, id, &secret)?;
        let now = Utc::now();
        let until = now + chrono::Duration::from_std(overlap).unwrap_or(chrono::Duration::zero());
        let mut conn = self.pool.get().await?;
        let row = conn
            .transaction::<_, WebhooksError, _>(async |conn| {
                let mut row = repo::lock_endpoint(conn, id)
                    .await?
                    .ok_or(WebhooksError::NotFound)?;
                row.replace_secret(sealed.clone(), (!overlap.is_zero()).then_some(until));
                let row = repo::save_endpoint(conn, &row, now).await?;
                Self::audit(
                    conn,
                    Some(by),
                    AuditAction::WebhookSecretRotated,
                    &row,
                    json!({"overlap_seconds": overlap.as_secs()}),
                    now,
                )
                .await?;
                Ok(row)
            })
            .await?;
        Ok(WebhookWithSecret {
            webhook: row.into_webhook(now),
            secret,
        })
    }

    /// An endpoint's deliveries, newest first.
    pub async fn deliveries(&self, id: Uuid, page: &PageRequest) -> WebhooksResult<Page<Delivery>> {
        let before = decode(page)?;
        let mut conn = self.pool.get().await?;
        if repo::find_endpoint(&mut conn, id).await?.is_none() {
            return Err(WebhooksError::NotFound);
        }
        let rows = repo::deliveries_page(&mut conn, id, before, overfetch(page)).await?;
        Ok(Page::from_overfetch(rows, page.limit, |row| row.id).map(Delivery::from))
    }

    /// The attempts of delivery `delivery` of endpoint `id`, newest first (the newest `attempts_kept`);
    /// `NotFound` when the endpoint has no such delivery.
    pub async fn attempts(
        &self,
        id: Uuid,
        delivery: Uuid,
        page: &PageRequest,
    ) -> WebhooksResult<Page<DeliveryAttempt>> {
        let before = decode(page)?;
        let mut conn = self.pool.get().await?;
        if repo::find_delivery_of(&mut conn, id, delivery).await?.is_none() {
            return Err(WebhooksError::NotFound);
        }
        let rows = repo::attempts_page(&mut conn, delivery, before, overfetch(page)).await?;
        Ok(Page::from_overfetch(rows, page.limit, |row| row.id).map(DeliveryAttempt::from))
    }

    /// Sends a delivery of endpoint `id` again, now, as a new run of the retry schedule, with the same
    /// `webhook-id` and body. Attempts already queued for it do nothing.
    #[tracing::instrument(skip(self))]
    pub async fn redeliver(&self, id: Uuid, delivery: Uuid) -> WebhooksResult<Delivery> {
        let now = Utc::now();
        let mut conn = self.pool.get().await?;
        let row = conn
            .transaction::<_, WebhooksError, _>(async |conn| {
                let found = repo::lock_delivery(conn, delivery)
                    .await?
                    .filter(|row| row.endpoint_id == id)
                    .ok_or(WebhooksError::NotFound)?;
                let row = repo::restart(conn, found.id, now).await?;
                jobs::enqueue(conn, WEBHOOKS_QUEUE, &job_payload(row.id, row.generation)).await?;
                Ok(row)
            })
            .await?;
        Ok(row.into())
    }

    /// Sends a `webhook.ping` event to endpoint `id` (whatever its event types), as a delivery of its own.
    #[tracing::instrument(skip(self))]
    pub async fn ping(&self, id: Uuid) -> WebhooksResult<Delivery> {
        let now = Utc::now();
        let mut conn = self.pool.get().await?;
        let row = conn
            .transaction::<_, WebhooksError, _>(async |conn| {
                let endpoint = repo::find_endpoint(conn, id)
                    .await?
                    .ok_or(WebhooksError::NotFound)?;
                let body = payload(PING, now, json!({"webhook_id": endpoint.id}));
                let row = repo::insert_delivery(conn, endpoint.id, PING, &body, now).await?;
                jobs::enqueue(conn, WEBHOOKS_QUEUE, &job_payload(row.id, row.generation)).await?;
                Ok(row)
            })
            .await?;
        Ok(row.into())
    }

    /// Seals the signing secrets that rows written before secrets were sealed keep in clear; returns how many
    /// endpoints were sealed. Every gateway runs it when it starts (rows are locked one at a time: several at
    /// once do no harm).
    pub async fn seal_stored_secrets(&self) -> WebhooksResult<usize> {
        self.convert_secrets(false).await
    }

    /// The opposite of [`Self::seal_stored_secrets`], for going back to a version that keeps secrets in clear
    /// (`epop-gateway admin unseal-webhook-secrets`, with the gateways stopped); returns how many endpoints.
    pub async fn unseal_stored_secrets(&self) -> WebhooksResult<usize> {
        self.convert_secrets(true).await
    }

    /// Seals clear secrets (`sealed: false`) or opens sealed ones (`sealed: true`), one endpoint per
    /// transaction.
    async fn convert_secrets(&self, sealed: bool) -> WebhooksResult<usize> {
        const BATCH: i64 = 500;
        let mut conn = self.pool.get().await?;
        let mut converted = 0;
        let mut after = None;
        loop {
            let ids = repo::ids_with_secrets(&mut conn, sealed, after, BATCH).await?;
            for id in &ids {
                let key = &self.key;
                let changed = conn
                    .transaction::<_, WebhooksError, _>(async |conn| {
                        let Some(mut row) = repo::lock_endpoint(conn, *id).await? else {
                            return Ok(false);
                        };
                        if sealed {
                            if row.secret_sealed.is_none() && row.previous_secret_sealed.is_none() {
                                return Ok(false);
                            }
                            row.unseal_secrets(key)?;
                        } else {
                            if !row.has_clear_secrets() {
                                return Ok(false);
                            }
                            row.seal_clear_secrets(key)?;
                        }
                        repo::save_secrets(conn, &row).await?;
                        Ok(true)
                    })
                    .await?;
                converted += usize::from(changed);
            }
            match ids.last() {
                Some(last) if ids.len() as i64 == BATCH => after = Some(*last),
                _ => return Ok(converted),
            }
        }
    }

    /// Deletes up to `batch` finished deliveries older than `age`; returns how many went.
    pub async fn purge_deliveries(&self, age: Duration, batch: i64) -> WebhooksResult<usize> {
        let cutoff = Utc::now() - chrono::Duration::from_std(age).unwrap_or(chrono::Duration::days(36_500));
        let mut conn = self.pool.get().await?;
        Ok(repo::purge_finished_before(&mut conn, audit::id_floor(cutoff), batch).await?)
    }
}
