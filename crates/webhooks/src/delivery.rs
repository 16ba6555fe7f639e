//! Deliveries: made once per (endpoint, event) by the outbox relay's handler ([`WebhookJobs`]), sent by the
//! `webhooks` job queue ([`WebhookSender`]).
//!
//! One attempt: the delivery and its endpoint are read; a job of an older generation (a redelivery started a
//! new one), a delivery that is no longer pending, or a gone endpoint does nothing; a turned-off endpoint fails
//! the delivery. Otherwise the body is signed with every secret that signs now and `POST`ed with the
//! Standard Webhooks headers through the SSRF-checked client (the URL is checked again first), within the
//! timeout, reading at most [`RESPONSE_EXCERPT`] bytes of the answer. Then, in one transaction: `2xx` succeeds;
//! `410` fails the delivery and turns the endpoint off (audited); anything else is retried on the schedule
//! ([`crate::retry`]) as a new job of the next generation, or fails once the schedule is over. Each attempt
//! made is also added to the delivery's attempt log (its newest `attempts_kept` stay), in the same transaction.
//!
//! A worker that dies mid-attempt leaves its job claimed: the queue takes it back after [`WebhookSender`]'s
//! lease (a little more than two timeouts) and the attempt is made again, with the same `webhook-id` and body.

use crate::events::webhook_event;
use crate::repo::{self, AttemptRecord};
use crate::retry::{next_attempt, parse_retry_after};
use crate::service::WebhookSettings;
use crate::signature;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use epop_storage::audit::{self, AuditAction, AuditEntry, AuditTarget};
use epop_storage::events::{OutboxHandler, PublishedEvent};
use epop_storage::jobs::{self, JobHandler};
use epop_storage::sealed::SealingKey;
use epop_storage::{DbPool, StorageError, StorageResult, outbound};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use uuid::Uuid;

/// The job queue of delivery attempts.
pub const WEBHOOKS_QUEUE: &str = "webhooks";
/// The most bytes of a receiver's answer that are read (and kept, as text, in the log's `error`).
pub const RESPONSE_EXCERPT: usize = 512;
/// The user agent of deliveries.
const USER_AGENT: &str = "EPOP-Webhooks/1";

/// The payload of an attempt's job.
pub(crate) fn job_payload(delivery: Uuid, generation: i32) -> Value {
    json!({"delivery_id": delivery, "generation": generation})
}

/// A UUIDv7 made by PostgreSQL (15 has no `uuidv7()`): a random v4 whose first 48 bits become the Unix
/// milliseconds and whose version bits become 7.
const SQL_UUID_V7: &str = "encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) placing \
     substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3) FROM 1 FOR 6), \
     52, 1), 53, 1), 'hex')::uuid";

/// The outbox handler: in the relay's transaction, one statement turns a batch's events into a delivery per
/// matching enabled endpoint (scope and event types) and a job each; deliveries already made for an
/// (endpoint, event) are left alone, so a retried batch adds nothing.
#[derive(Debug)]
pub struct WebhookJobs {
    worker: Arc<Notify>,
}

impl WebhookJobs {
    /// A handler that wakes `worker` once its batch committed.
    pub fn new(worker: Arc<Notify>) -> Self {
        Self { worker }
    }
}

#[async_trait]
impl OutboxHandler for WebhookJobs {
    async fn handle(&self, conn: &mut AsyncPgConnection, events: &[PublishedEvent]) -> StorageResult<()> {
        let now = Utc::now();
        let mut positions = Vec::new();
        let mut types = Vec::new();
        let mut conversations = Vec::new();
        let mut projects = Vec::new();
        let mut payloads = Vec::new();
        for published in events {
            if let Some(event) = webhook_event(&published.event) {
                positions.push(published.position);
                types.push(event.event_type.to_owned());
                conversations.push(event.conversation_id);
                projects.push(event.project_id);
                payloads.push(crate::events::payload(event.event_type, now, event.data));
            }
        }
        if positions.is_empty() {
            return Ok(());
        }
        let statement = format!(
            "WITH ev AS ( \
                 SELECT * FROM unnest($1::bigint[], $2::text[], $3::uuid[], $4::uuid[], $5::jsonb[]) \
                     AS e(position, event_type, conversation_id, project_id, payload) \
             ), candidates AS ( \
                 SELECT ep.id AS endpoint_id, ep.event_types, ev.* FROM ev \
                     JOIN webhook_endpoints ep ON ep.scope = 'global' AND ep.enabled \
                 UNION ALL \
                 SELECT ep.id, ep.event_types, ev.* FROM ev \
                     JOIN webhook_endpoints ep ON ep.conversation_id = ev.conversation_id AND ep.enabled \
                 UNION ALL \
                 SELECT ep.id, ep.event_types, ev.* FROM ev \
                     JOIN webhook_endpoints ep ON ep.project_id = ev.project_id AND ep.enabled \
             ), made AS ( \
                 INSERT INTO webhook_deliveries (id, endpoint_id, event_position, event_type, payload, next_attempt_at) \
                 SELECT {SQL_UUID_V7}, endpoint_id, position, event_type, payload, now() FROM candidates \
                 WHERE cardinality(event_types) = 0 OR event_type = ANY(event_types) \
                 ON CONFLICT (endpoint_id, event_position) WHERE event_position IS NOT NULL DO NOTHING \
                 RETURNING id \
             ) \
             INSERT INTO jobs (queue, payload, max_attempts) \
             SELECT $6, jsonb_build_object('delivery_id', id, 'generation', 0), $7 FROM made"
        );
        diesel::sql_query(statement)
            .bind::<diesel::sql_types::Array<diesel::sql_types::BigInt>, _>(&positions)
            .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(&types)
            .bind::<diesel::sql_types::Array<diesel::sql_types::Nullable<diesel::sql_types::Uuid>>, _>(
                &conversations,
            )
            .bind::<diesel::sql_types::Array<diesel::sql_types::Nullable<diesel::sql_types::Uuid>>, _>(
                &projects,
            )
            .bind::<diesel::sql_types::Array<diesel::sql_types::Jsonb>, _>(&payloads)
            .bind::<diesel::sql_types::Text, _>(WEBHOOKS_QUEUE)
            .bind::<diesel::sql_types::Integer, _>(jobs::DEFAULT_MAX_ATTEMPTS)
            .execute(conn)
            .await?;
        Ok(())
    }

    fn committed(&self) {
        self.worker.notify_one();
    }
}

/// How one attempt went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    /// `2xx`.
    Accepted(u16),
    /// `410 Gone`: the receiver wants no more.
    Gone,
    /// Any other answer, or none; with the receiver's `Retry-After` when it gave one.
    Failed {
        status: Option<u16>,
        retry_after: Option<Duration>,
        error: String,
    },
    /// Not sent: the URL is not one the server contacts (now).
    Refused(String),
}

/// Runs the `webhooks` jobs: one delivery attempt each.
pub struct WebhookSender {
    pool: DbPool,
    settings: WebhookSettings,
    client: reqwest::Client,
    key: SealingKey,
}

impl std::fmt::Debug for WebhookSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSender")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Text of at most 1000 characters (the log's bound).
fn clip(text: &str) -> String {
    text.chars().take(1000).collect()
}

impl WebhookSender {
    /// A sender under `settings` (its client checks every address it connects to), opening the signing secrets
    /// with `key`.
    pub fn new(pool: DbPool, settings: WebhookSettings, key: SealingKey) -> Result<Self, reqwest::Error> {
        let client = outbound::checked_client(
            settings.allow_loopback,
            settings.timeout,
            settings.timeout.min(Duration::from_secs(10)),
        )?;
        Ok(Self {
            pool,
            settings,
            client,
            key,
        })
    }

    /// Sends `body` to `url` signed with `secrets`, as delivery `id`.
    async fn send(&self, url: &str, secrets: &[String], id: &str, body: &[u8]) -> Answer {
        if let Err(why) = outbound::check_url(url, self.settings.allow_loopback) {
            return Answer::Refused(format!("the URL {why}"));
        }
        let now = Utc::now();
        let timestamp = now.timestamp();
        let request = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("user-agent", USER_AGENT)
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header(
                "webhook-signature",
                signature::header(secrets.iter().map(String::as_str), id, timestamp, body),
            )
            .body(body.to_vec());
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(error) if outbound::refused_address(&error) => {
                return Answer::Refused(
                    "the URL's host resolves to an address this server does not contact".into(),
                );
            }
            Err(error) => {
                let why = if error.is_timeout() {
                    "no answer within the timeout".to_owned()
                } else if error.is_connect() {
                    "could not connect".to_owned()
                } else {
                    "the request failed".to_owned()
                };
                return Answer::Failed {
                    status: None,
                    retry_after: None,
                    error: why,
                };
            }
        };
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Answer::Accepted(status);
        }
        if status == 410 {
            return Answer::Gone;
        }
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, now));
        // At most RESPONSE_EXCERPT bytes of the answer are read, within what is left of the timeout.
        let mut excerpt: Vec<u8> = Vec::new();
        while excerpt.len() < RESPONSE_EXCERPT {
            match response.chunk().await {
                Ok(Some(chunk)) => excerpt.extend_from_slice(&chunk),
                Ok(None) | Err(_) => break,
            }
        }
        excerpt.truncate(RESPONSE_EXCERPT);
        let text = String::from_utf8_lossy(&excerpt);
        let error = if text.trim().is_empty() {
            format!("the receiver answered {status}")
        } else {
            format!("the receiver answered {status}: {}", text.trim())
        };
        Answer::Failed {
            status: Some(status),
            retry_after,
            error: clip(&error),
        }
    }

    /// One attempt of the job `payload` names.
    async fn attempt(&self, delivery: Uuid, generation: i32) -> StorageResult<()> {
        let mut conn = self.pool.get().await?;
        let Some(found) = repo::delivery_with_endpoint(&mut conn, delivery).await? else {
            return Ok(());
        };
        let (row, endpoint) = found;
        if row.generation != generation || row.status != "pending" {
            return Ok(());
        }
        let now = Utc::now();
        if !endpoint.enabled {
            let record = AttemptRecord {
                status: "failed",
                status_code: None,
                duration_ms: None,
                error: Some("the webhook is turned off"),
                attempted_at: now,
                next_attempt_at: None,
                sent: false,
                generation,
            };
            return self.store(&mut conn, delivery, generation, &record, None).await;
        }
        drop(conn);
        let body = serde_json::to_vec(&row.payload)?;
        let started = Instant::now();
        let answer = match endpoint.signing_secrets(&self.key, now) {
            Ok(secrets) => {
                self.send(&endpoint.url, &secrets, &row.id.to_string(), &body)
                    .await
            }
            Err(error) => {
                tracing::error!(webhook = %endpoint.id, %error, "a webhook's signing secret does not open");
                Answer::Refused(
                    "not sent: the signing secret does not decrypt (was EPOP_WEBHOOK_KEY changed?)".into(),
                )
            }
        };
        let duration = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
        let attempted_at = Utc::now();
        let step = usize::try_from(row.step).unwrap_or(0) + 1;
        let (status, status_code, error, next, sent, gone) = match &answer {
            Answer::Accepted(code) => ("succeeded", Some(i32::from(*code)), None, None, true, false),
            Answer::Gone => (
                "failed",
                Some(410),
                Some("the receiver answered 410 Gone: the webhook is turned off".to_owned()),
                None,
                true,
                true,
            ),
            Answer::Failed {
                status,
                retry_after,
                error,
            } => {
                let next = next_attempt(step, *retry_after, self.settings.max_retry_after, attempted_at);
                let state = if next.is_some() { "pending" } else { "failed" };
                (
                    state,
                    status.map(i32::from),
                    Some(error.clone()),
                    next,
                    true,
                    false,
                )
            }
            Answer::Refused(why) => {
                let next = next_attempt(step, None, self.settings.max_retry_after, attempted_at);
                let state = if next.is_some() { "pending" } else { "failed" };
                (state, None, Some(why.clone()), next, true, false)
            }
        };
        let record = AttemptRecord {
            status,
            status_code,
            duration_ms: Some(duration),
            error: error.as_deref(),
            attempted_at,
            next_attempt_at: next,
            sent,
            generation: if next.is_some() {
                generation + 1
            } else {
                generation
            },
        };
        let mut conn = self.pool.get().await?;
        self.store(
            &mut conn,
            delivery,
            generation,
            &record,
            gone.then_some(endpoint.id),
        )
        .await
    }

    /// Stores an attempt (unless a redelivery started a new generation meanwhile): its record, the next
    /// attempt's job, and, for `gone`, the endpoint turned off and audited; one transaction.
    async fn store(
        &self,
        conn: &mut AsyncPgConnection,
        delivery: Uuid,
        generation: i32,
        record: &AttemptRecord<'_>,
        gone: Option<Uuid>,
    ) -> StorageResult<()> {
        conn.transaction::<_, StorageError, _>(async |conn| {
            let Some(current) = repo::lock_delivery(conn, delivery).await? else {
                return Ok(());
            };
            if current.generation != generation || current.status != "pending" {
                return Ok(());
            }
            let keep = i64::try_from(self.settings.attempts_kept).unwrap_or(i64::MAX);
            repo::record_attempt(conn, delivery, record, keep).await?;
            if let Some(at) = record.next_attempt_at {
                jobs::enqueue_at(
                    conn,
                    WEBHOOKS_QUEUE,
                    &job_payload(delivery, record.generation),
                    at,
                )
                .await?;
            }
            if let Some(endpoint) = gone {
                turn_off_gone(conn, endpoint, record.attempted_at).await?;
            }
            Ok(())
        })
        .await
    }
}

/// Turns an endpoint off after a `410`, with its audit row (no actor: the receiver asked).
async fn turn_off_gone(
    conn: &mut AsyncPgConnection,
    endpoint: Uuid,
    now: DateTime<Utc>,
) -> StorageResult<()> {
    if repo::disable_endpoint(conn, endpoint, "gone", now).await? {
        let entry = AuditEntry::new(None, AuditAction::WebhookDisabled, None)
            .on(AuditTarget::Webhook(endpoint))
            .with(json!({"reason": "gone"}));
        audit::append(conn, &entry, now).await?;
    }
    Ok(())
}

#[async_trait]
impl JobHandler for WebhookSender {
    fn queue(&self) -> &'static str {
        WEBHOOKS_QUEUE
    }

    async fn run(&self, payload: &Value) -> Result<(), String> {
        let delivery = payload
            .get("delivery_id")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<Uuid>().ok())
            .ok_or("the job has no delivery")?;
        let generation = payload
            .get("generation")
            .and_then(Value::as_i64)
            .and_then(|g| i32::try_from(g).ok())
            .ok_or("the job has no generation")?;
        self.attempt(delivery, generation)
            .await
            .map_err(|e| e.to_string())
    }

    fn lease(&self) -> Duration {
        self.settings.timeout * 2 + Duration::from_secs(10)
    }
}
