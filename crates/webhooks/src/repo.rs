//! Diesel queries of webhook endpoints and deliveries. Every function takes the caller's connection, so the
//! service composes them inside its transactions.

use crate::model::{Delivery, DeliveryAttempt, Scope, Webhook};
use chrono::{DateTime, Utc};
use diesel::{
    BoolExpressionMethods as _, ExpressionMethods as _, Insertable, OptionalExtension as _, QueryDsl as _,
    Queryable, Selectable, SelectableHelper as _,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use epop_core::{ConversationId, ProjectId, UserId};
use epop_storage::schema::{webhook_deliveries, webhook_delivery_attempts, webhook_endpoints};
use epop_storage::sealed::{SealError, SealingKey};
use uuid::Uuid;

/// A stored endpoint.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_endpoints, check_for_backend(diesel::pg::Pg))]
pub(crate) struct EndpointRow {
    pub(crate) id: Uuid,
    pub(crate) scope: String,
    pub(crate) conversation_id: Option<ConversationId>,
    pub(crate) project_id: Option<ProjectId>,
    pub(crate) url: String,
    pub(crate) description: String,
    pub(crate) event_types: Vec<String>,
    pub(crate) enabled: bool,
    pub(crate) disabled_reason: Option<String>,
    /// The secret in clear: only rows written before secrets were sealed, until a gateway seals them.
    pub(crate) secret: Option<String>,
    pub(crate) previous_secret: Option<String>,
    pub(crate) previous_secret_expires_at: Option<DateTime<Utc>>,
    pub(crate) created_by: Option<UserId>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
    /// The secret sealed with the webhook key ([`seal_secret`]).
    pub(crate) secret_sealed: Option<Vec<u8>>,
    pub(crate) previous_secret_sealed: Option<Vec<u8>>,
}

/// `secret` sealed for endpoint `id` (its id is the associated data: a sealed value moved to another endpoint
/// does not open).
pub(crate) fn seal_secret(key: &SealingKey, id: Uuid, secret: &str) -> Result<Vec<u8>, SealError> {
    key.seal(id.as_bytes(), secret.as_bytes())
}

/// The secret of endpoint `id` sealed as `sealed`.
fn open_secret(key: &SealingKey, id: Uuid, sealed: &[u8]) -> Result<String, SealError> {
    String::from_utf8(key.open(id.as_bytes(), sealed)?).map_err(|_| SealError::Undecryptable)
}

/// One secret column pair in clear: the sealed value opened, else the clear text of an unsealed row.
fn clear(
    key: &SealingKey,
    id: Uuid,
    sealed: Option<&[u8]>,
    plain: Option<&str>,
) -> Result<Option<String>, SealError> {
    match (sealed, plain) {
        (Some(sealed), _) => open_secret(key, id, sealed).map(Some),
        (None, plain) => Ok(plain.map(str::to_owned)),
    }
}

impl EndpointRow {
    /// Its scope (`Global` for a stored combination the CHECK constraint rules out).
    pub(crate) fn scope(&self) -> Scope {
        Scope::from_stored(&self.scope, self.conversation_id, self.project_id).unwrap_or(Scope::Global)
    }

    /// The secrets that sign now, in clear: the current one, and the previous one until it expires.
    pub(crate) fn signing_secrets(
        &self,
        key: &SealingKey,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, SealError> {
        let mut secrets: Vec<String> = clear(
            key,
            self.id,
            self.secret_sealed.as_deref(),
            self.secret.as_deref(),
        )?
        .into_iter()
        .collect();
        if self.previous_secret_expires_at.is_some_and(|until| until > now)
            && let Some(previous) = clear(
                key,
                self.id,
                self.previous_secret_sealed.as_deref(),
                self.previous_secret.as_deref(),
            )?
        {
            secrets.push(previous);
        }
        Ok(secrets)
    }

    /// Whether a secret of the row is in clear (written before secrets were sealed).
    pub(crate) fn has_clear_secrets(&self) -> bool {
        self.secret.is_some() || self.previous_secret.is_some()
    }

    /// Seals the secrets kept in clear (the text columns become NULL).
    pub(crate) fn seal_clear_secrets(&mut self, key: &SealingKey) -> Result<(), SealError> {
        if let Some(secret) = self.secret.take() {
            self.secret_sealed = Some(seal_secret(key, self.id, &secret)?);
        }
        if let Some(previous) = self.previous_secret.take() {
            self.previous_secret_sealed = Some(seal_secret(key, self.id, &previous)?);
        }
        Ok(())
    }

    /// Opens the sealed secrets into the text columns (the sealed ones become NULL), for going back to a
    /// version that keeps them in clear.
    pub(crate) fn unseal_secrets(&mut self, key: &SealingKey) -> Result<(), SealError> {
        if let Some(sealed) = self.secret_sealed.take() {
            self.secret = Some(open_secret(key, self.id, &sealed)?);
        }
        if let Some(sealed) = self.previous_secret_sealed.take() {
            self.previous_secret = Some(open_secret(key, self.id, &sealed)?);
        }
        Ok(())
    }

    /// Makes `sealed` the current secret; the current one goes on signing until `until` (`None`: it stops now).
    pub(crate) fn replace_secret(&mut self, sealed: Vec<u8>, until: Option<DateTime<Utc>>) {
        let current = (self.secret.take(), self.secret_sealed.replace(sealed));
        match until {
            Some(until) => {
                (self.previous_secret, self.previous_secret_sealed) = current;
                self.previous_secret_expires_at = Some(until);
            }
            None => {
                self.previous_secret = None;
                self.previous_secret_sealed = None;
                self.previous_secret_expires_at = None;
            }
        }
    }

    /// The endpoint as its managers see it (`now` decides whether a previous secret still signs).
    pub(crate) fn into_webhook(self, now: DateTime<Utc>) -> Webhook {
        Webhook {
            id: self.id,
            scope: self.scope,
            conversation_id: self.conversation_id,
            project_id: self.project_id,
            url: self.url,
            description: self.description,
            event_types: self.event_types,
            enabled: self.enabled,
            disabled_reason: self.disabled_reason,
            previous_secret_expires_at: self.previous_secret_expires_at.filter(|until| {
                (self.previous_secret.is_some() || self.previous_secret_sealed.is_some()) && *until > now
            }),
            created_by: self.created_by,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// A new endpoint's row.
#[derive(Insertable)]
#[diesel(table_name = webhook_endpoints)]
pub(crate) struct NewEndpointRow<'a> {
    pub(crate) id: Uuid,
    pub(crate) scope: &'a str,
    pub(crate) conversation_id: Option<ConversationId>,
    pub(crate) project_id: Option<ProjectId>,
    pub(crate) url: &'a str,
    pub(crate) description: &'a str,
    pub(crate) event_types: &'a [String],
    pub(crate) secret_sealed: &'a [u8],
    pub(crate) created_by: Option<UserId>,
}

pub(crate) async fn insert_endpoint(
    conn: &mut AsyncPgConnection,
    row: &NewEndpointRow<'_>,
) -> diesel::QueryResult<EndpointRow> {
    diesel::insert_into(webhook_endpoints::table)
        .values(row)
        .returning(EndpointRow::as_returning())
        .get_result(conn)
        .await
}

/// Serialises the changes to one scope's endpoints (the per-scope bound holds under concurrent creates).
pub(crate) async fn lock_scope(conn: &mut AsyncPgConnection, scope: Scope) -> diesel::QueryResult<()> {
    let key = match scope {
        Scope::Global => "global".to_owned(),
        Scope::Conversation(id) => format!("conversation:{id}"),
        Scope::Project(id) => format!("project:{id}"),
    };
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended('epop:webhooks:' || $1, 0))")
        .bind::<diesel::sql_types::Text, _>(key)
        .execute(conn)
        .await?;
    Ok(())
}

/// A boxed query of one scope's endpoints.
fn in_scope(scope: Scope) -> webhook_endpoints::BoxedQuery<'static, diesel::pg::Pg> {
    let query = webhook_endpoints::table.into_boxed();
    match scope {
        Scope::Global => query.filter(webhook_endpoints::scope.eq("global")),
        Scope::Conversation(id) => query.filter(webhook_endpoints::conversation_id.eq(id)),
        Scope::Project(id) => query.filter(webhook_endpoints::project_id.eq(id)),
    }
}

pub(crate) async fn count_in_scope(conn: &mut AsyncPgConnection, scope: Scope) -> diesel::QueryResult<i64> {
    in_scope(scope).count().get_result(conn).await
}

/// Up to `limit` endpoints of `scope` after `after`, oldest first.
pub(crate) async fn page_in_scope(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    after: Option<Uuid>,
    limit: i64,
) -> diesel::QueryResult<Vec<EndpointRow>> {
    let mut query = in_scope(scope)
        .select(EndpointRow::as_select())
        .order(webhook_endpoints::id.asc())
        .limit(limit);
    if let Some(after) = after {
        query = query.filter(webhook_endpoints::id.gt(after));
    }
    query.load(conn).await
}

pub(crate) async fn find_endpoint(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> diesel::QueryResult<Option<EndpointRow>> {
    webhook_endpoints::table
        .find(id)
        .select(EndpointRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The endpoint, locked until the transaction ends.
pub(crate) async fn lock_endpoint(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> diesel::QueryResult<Option<EndpointRow>> {
    webhook_endpoints::table
        .find(id)
        .select(EndpointRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// Stores the changeable fields of `row` (and `updated_at`).
pub(crate) async fn save_endpoint(
    conn: &mut AsyncPgConnection,
    row: &EndpointRow,
    now: DateTime<Utc>,
) -> diesel::QueryResult<EndpointRow> {
    diesel::update(webhook_endpoints::table.find(row.id))
        .set((
            webhook_endpoints::url.eq(&row.url),
            webhook_endpoints::description.eq(&row.description),
            webhook_endpoints::event_types.eq(&row.event_types),
            webhook_endpoints::enabled.eq(row.enabled),
            webhook_endpoints::disabled_reason.eq(&row.disabled_reason),
            webhook_endpoints::secret.eq(&row.secret),
            webhook_endpoints::secret_sealed.eq(&row.secret_sealed),
            webhook_endpoints::previous_secret.eq(&row.previous_secret),
            webhook_endpoints::previous_secret_sealed.eq(&row.previous_secret_sealed),
            webhook_endpoints::previous_secret_expires_at.eq(row.previous_secret_expires_at),
            webhook_endpoints::updated_at.eq(now),
        ))
        .returning(EndpointRow::as_returning())
        .get_result(conn)
        .await
}

/// Stores only the secret columns of `row` (sealing or unsealing changes nothing a manager sees).
pub(crate) async fn save_secrets(conn: &mut AsyncPgConnection, row: &EndpointRow) -> diesel::QueryResult<()> {
    diesel::update(webhook_endpoints::table.find(row.id))
        .set((
            webhook_endpoints::secret.eq(&row.secret),
            webhook_endpoints::secret_sealed.eq(&row.secret_sealed),
            webhook_endpoints::previous_secret.eq(&row.previous_secret),
            webhook_endpoints::previous_secret_sealed.eq(&row.previous_secret_sealed),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Up to `limit` endpoints after `after` (by id) whose secrets are in clear (`sealed: false`) or sealed
/// (`sealed: true`).
pub(crate) async fn ids_with_secrets(
    conn: &mut AsyncPgConnection,
    sealed: bool,
    after: Option<Uuid>,
    limit: i64,
) -> diesel::QueryResult<Vec<Uuid>> {
    let mut query = webhook_endpoints::table
        .select(webhook_endpoints::id)
        .order(webhook_endpoints::id.asc())
        .limit(limit)
        .into_boxed();
    query = if sealed {
        query.filter(
            webhook_endpoints::secret_sealed
                .is_not_null()
                .or(webhook_endpoints::previous_secret_sealed.is_not_null()),
        )
    } else {
        query.filter(
            webhook_endpoints::secret
                .is_not_null()
                .or(webhook_endpoints::previous_secret.is_not_null()),
        )
    };
    if let Some(after) = after {
        query = query.filter(webhook_endpoints::id.gt(after));
    }
    query.load(conn).await
}

pub(crate) async fn delete_endpoint(conn: &mut AsyncPgConnection, id: Uuid) -> diesel::QueryResult<bool> {
    let deleted = diesel::delete(webhook_endpoints::table.find(id))
        .execute(conn)
        .await?;
    Ok(deleted == 1)
}

/// Turns an enabled endpoint off with `reason`; `false` when it was off already.
pub(crate) async fn disable_endpoint(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> diesel::QueryResult<bool> {
    let changed = diesel::update(
        webhook_endpoints::table
            .find(id)
            .filter(webhook_endpoints::enabled.eq(true)),
    )
    .set((
        webhook_endpoints::enabled.eq(false),
        webhook_endpoints::disabled_reason.eq(reason),
        webhook_endpoints::updated_at.eq(now),
    ))
    .execute(conn)
    .await?;
    Ok(changed == 1)
}

/// A stored delivery.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries, check_for_backend(diesel::pg::Pg))]
pub(crate) struct DeliveryRow {
    pub(crate) id: Uuid,
    pub(crate) endpoint_id: Uuid,
    pub(crate) event_type: String,
    pub(crate) payload: serde_json::Value,
    pub(crate) status: String,
    pub(crate) attempts: i32,
    pub(crate) step: i32,
    pub(crate) generation: i32,
    pub(crate) last_status_code: Option<i32>,
    pub(crate) last_duration_ms: Option<i32>,
    pub(crate) last_error: Option<String>,
    pub(crate) last_attempt_at: Option<DateTime<Utc>>,
    pub(crate) next_attempt_at: Option<DateTime<Utc>>,
    pub(crate) created_at: DateTime<Utc>,
}

impl From<DeliveryRow> for Delivery {
    fn from(row: DeliveryRow) -> Self {
        Delivery {
            id: row.id,
            webhook_id: row.endpoint_id,
            event_type: row.event_type,
            status: row.status,
            attempts: row.attempts,
            status_code: row.last_status_code,
            duration_ms: row.last_duration_ms,
            error: row.last_error,
            last_attempt_at: row.last_attempt_at,
            next_attempt_at: row.next_attempt_at,
            created_at: row.created_at,
        }
    }
}

/// Adds a delivery that is not of an outbox event (a ping), pending now.
pub(crate) async fn insert_delivery(
    conn: &mut AsyncPgConnection,
    endpoint: Uuid,
    event_type: &str,
    payload: &serde_json::Value,
    now: DateTime<Utc>,
) -> diesel::QueryResult<DeliveryRow> {
    diesel::insert_into(webhook_deliveries::table)
        .values((
            webhook_deliveries::id.eq(Uuid::now_v7()),
            webhook_deliveries::endpoint_id.eq(endpoint),
            webhook_deliveries::event_type.eq(event_type),
            webhook_deliveries::payload.eq(payload),
            webhook_deliveries::next_attempt_at.eq(now),
            webhook_deliveries::created_at.eq(now),
            webhook_deliveries::updated_at.eq(now),
        ))
        .returning(DeliveryRow::as_returning())
        .get_result(conn)
        .await
}

/// Up to `limit` deliveries of `endpoint` before `before`, newest first.
pub(crate) async fn deliveries_page(
    conn: &mut AsyncPgConnection,
    endpoint: Uuid,
    before: Option<Uuid>,
    limit: i64,
) -> diesel::QueryResult<Vec<DeliveryRow>> {
    let mut query = webhook_deliveries::table
        .filter(webhook_deliveries::endpoint_id.eq(endpoint))
        .select(DeliveryRow::as_select())
        .order(webhook_deliveries::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(webhook_deliveries::id.lt(before));
    }
    query.load(conn).await
}

/// The delivery, locked until the transaction ends.
pub(crate) async fn lock_delivery(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> diesel::QueryResult<Option<DeliveryRow>> {
    webhook_deliveries::table
        .find(id)
        .select(DeliveryRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// Starts a new run of the schedule: pending now, with the next generation (queued jobs of older ones do
/// nothing). Returns the new generation.
pub(crate) async fn restart(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    now: DateTime<Utc>,
) -> diesel::QueryResult<DeliveryRow> {
    diesel::update(webhook_deliveries::table.find(id))
        .set((
            webhook_deliveries::status.eq("pending"),
            webhook_deliveries::step.eq(0),
            webhook_deliveries::generation.eq(webhook_deliveries::generation + 1),
            webhook_deliveries::next_attempt_at.eq(now),
            webhook_deliveries::updated_at.eq(now),
        ))
        .returning(DeliveryRow::as_returning())
        .get_result(conn)
        .await
}

/// What one attempt found out.
pub(crate) struct AttemptRecord<'a> {
    pub(crate) status: &'a str,
    pub(crate) status_code: Option<i32>,
    pub(crate) duration_ms: Option<i32>,
    pub(crate) error: Option<&'a str>,
    pub(crate) attempted_at: DateTime<Utc>,
    pub(crate) next_attempt_at: Option<DateTime<Utc>>,
    /// Whether an attempt was made (a check that stopped it before sending counts none).
    pub(crate) sent: bool,
    /// The generation of the next job (the same when none follows).
    pub(crate) generation: i32,
}

/// Stores an attempt's outcome on its delivery and, when one was made, in the attempt log, of which the
/// newest `keep` rows of the delivery stay.
pub(crate) async fn record_attempt(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    record: &AttemptRecord<'_>,
    keep: i64,
) -> diesel::QueryResult<()> {
    if record.sent {
        diesel::insert_into(webhook_delivery_attempts::table)
            .values((
                webhook_delivery_attempts::id.eq(Uuid::now_v7()),
                webhook_delivery_attempts::delivery_id.eq(id),
                webhook_delivery_attempts::attempted_at.eq(record.attempted_at),
                webhook_delivery_attempts::status_code.eq(record.status_code),
                webhook_delivery_attempts::duration_ms.eq(record.duration_ms),
                webhook_delivery_attempts::error.eq(record.error),
            ))
            .execute(conn)
            .await?;
        // Each attempt adds one row, so at most a few are past the bound (more only after it was lowered).
        let beyond: Vec<Uuid> = webhook_delivery_attempts::table
            .select(webhook_delivery_attempts::id)
            .filter(webhook_delivery_attempts::delivery_id.eq(id))
            .order(webhook_delivery_attempts::id.desc())
            .limit(1000)
            .offset(keep.max(1))
            .load(conn)
            .await?;
        if !beyond.is_empty() {
            diesel::delete(
                webhook_delivery_attempts::table.filter(webhook_delivery_attempts::id.eq_any(beyond)),
            )
            .execute(conn)
            .await?;
        }
    }
    let made = i32::from(record.sent);
    diesel::update(webhook_deliveries::table.find(id))
        .set((
            webhook_deliveries::status.eq(record.status),
            webhook_deliveries::attempts.eq(webhook_deliveries::attempts + made),
            webhook_deliveries::step.eq(webhook_deliveries::step + made),
            webhook_deliveries::generation.eq(record.generation),
            webhook_deliveries::last_status_code.eq(record.status_code),
            webhook_deliveries::last_duration_ms.eq(record.duration_ms),
            webhook_deliveries::last_error.eq(record.error),
            webhook_deliveries::last_attempt_at.eq(record.attempted_at),
            webhook_deliveries::next_attempt_at.eq(record.next_attempt_at),
            webhook_deliveries::updated_at.eq(record.attempted_at),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes up to `batch` finished deliveries made before the UUIDv7 `floor`; returns how many went.
pub(crate) async fn purge_finished_before(
    conn: &mut AsyncPgConnection,
    floor: Uuid,
    batch: i64,
) -> diesel::QueryResult<usize> {
    let doomed: Vec<Uuid> = webhook_deliveries::table
        .select(webhook_deliveries::id)
        .filter(webhook_deliveries::id.lt(floor))
        .filter(webhook_deliveries::status.ne("pending"))
        .order(webhook_deliveries::id.asc())
        .limit(batch)
        .load(conn)
        .await?;
    if doomed.is_empty() {
        return Ok(0);
    }
    diesel::delete(webhook_deliveries::table.filter(webhook_deliveries::id.eq_any(doomed)))
        .execute(conn)
        .await
}

/// A logged attempt.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_delivery_attempts, check_for_backend(diesel::pg::Pg))]
pub(crate) struct AttemptRow {
    pub(crate) id: Uuid,
    pub(crate) delivery_id: Uuid,
    pub(crate) attempted_at: DateTime<Utc>,
    pub(crate) status_code: Option<i32>,
    pub(crate) duration_ms: Option<i32>,
    pub(crate) error: Option<String>,
}

impl From<AttemptRow> for DeliveryAttempt {
    fn from(row: AttemptRow) -> Self {
        DeliveryAttempt {
            id: row.id,
            delivery_id: row.delivery_id,
            attempted_at: row.attempted_at,
            succeeded: row.error.is_none(),
            status_code: row.status_code,
            duration_ms: row.duration_ms,
            error: row.error,
        }
    }
}

/// Up to `limit` logged attempts of `delivery` before `before`, newest first.
pub(crate) async fn attempts_page(
    conn: &mut AsyncPgConnection,
    delivery: Uuid,
    before: Option<Uuid>,
    limit: i64,
) -> diesel::QueryResult<Vec<AttemptRow>> {
    let mut query = webhook_delivery_attempts::table
        .filter(webhook_delivery_attempts::delivery_id.eq(delivery))
        .select(AttemptRow::as_select())
        .order(webhook_delivery_attempts::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(webhook_delivery_attempts::id.lt(before));
    }
    query.load(conn).await
}

/// The delivery `id` if it belongs to `endpoint`.
pub(crate) async fn find_delivery_of(
    conn: &mut AsyncPgConnection,
    endpoint: Uuid,
    id: Uuid,
) -> diesel::QueryResult<Option<Uuid>> {
    webhook_deliveries::table
        .find(id)
        .filter(webhook_deliveries::endpoint_id.eq(endpoint))
        .select(webhook_deliveries::id)
        .first(conn)
        .await
        .optional()
}

/// A delivery and its endpoint (no lock: an attempt reads them before sending).
pub(crate) async fn delivery_with_endpoint(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> diesel::QueryResult<Option<(DeliveryRow, EndpointRow)>> {
    use diesel::JoinOnDsl as _;
    webhook_deliveries::table
        .inner_join(webhook_endpoints::table.on(webhook_endpoints::id.eq(webhook_deliveries::endpoint_id)))
        .filter(webhook_deliveries::id.eq(id))
        .select((DeliveryRow::as_select(), EndpointRow::as_select()))
        .first(conn)
        .await
        .optional()
}
