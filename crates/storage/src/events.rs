//! Publishing committed domain events to every node.
//!
//! Services append events to the outbox inside their transaction and nudge the [`OutboxRelay`] after commit.
//! The relay (one drainer at a time across all nodes, by advisory lock, so events keep their commit order)
//! reads unpublished rows, hands them to the [`EventBus`] and marks them published. With Redis, the bus
//! publishes on one channel and every node (this one included) receives from it; without Redis it delivers in
//! process. Subscribers (the real-time layer, notifications) get a `tokio::sync::broadcast` receiver and never
//! learn which crate produced an event.

use crate::db::DbPool;
use crate::redis::RedisPool;
use crate::schema::outbox;
use crate::{StorageError, StorageResult};
use diesel::{ExpressionMethods as _, QueryDsl as _};
use diesel_async::{AsyncConnection as _, RunQueryDsl as _};
use epop_core::DomainEvent;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, broadcast};

/// How many events a subscriber may fall behind before it starts losing them (and is told so).
const BUS_CAPACITY: usize = 16_384;
/// Rows drained per relay transaction.
const RELAY_BATCH: i64 = 500;
/// Advisory lock key held while draining ("EPOPOUTB").
const RELAY_LOCK: i64 = 0x4550_4F50_4F55_5442;
/// How often the relay looks for rows written by other nodes or left by a crash.
const RELAY_POLL: Duration = Duration::from_millis(500);

/// A domain event with its outbox id (ids increase in commit order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishedEvent {
    /// The outbox row id.
    pub id: i64,
    /// The event.
    pub event: DomainEvent,
}

/// Fan-out of published events to local subscribers, through Redis when configured.
#[derive(Clone)]
pub struct EventBus {
    local: broadcast::Sender<Arc<PublishedEvent>>,
    redis: Option<RedisPool>,
    channel: Arc<str>,
}

impl std::fmt::Debug for EventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBus")
            .field("channel", &self.channel)
            .field("shared", &self.redis.is_some())
            .finish()
    }
}

impl EventBus {
    /// A bus on `{prefix}:events`; with `redis`, events travel through Redis to every node.
    pub fn new(redis: Option<RedisPool>, prefix: &str) -> Self {
        let (local, _) = broadcast::channel(BUS_CAPACITY);
        Self {
            local,
            redis,
            channel: Arc::from(format!("{prefix}:events")),
        }
    }

    /// A receiver of every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<PublishedEvent>> {
        self.local.subscribe()
    }

    fn deliver_locally(&self, event: PublishedEvent) {
        // No subscriber is not an error.
        let _ = self.local.send(Arc::new(event));
    }

    /// Publishes a batch: to Redis when configured (every node, this one included, receives it from there),
    /// else in process. If Redis fails, the batch is delivered in process so this node's clients still get it.
    pub async fn publish(&self, events: &[PublishedEvent]) {
        if let Some(redis) = &self.redis {
            match self.publish_shared(redis, events).await {
                Ok(()) => return,
                Err(error) => {
                    tracing::warn!(%error, "event bus: Redis publish failed; delivering on this node only")
                }
            }
        }
        for event in events {
            self.deliver_locally(event.clone());
        }
    }

    async fn publish_shared(&self, redis: &RedisPool, events: &[PublishedEvent]) -> StorageResult<()> {
        let mut conn = redis.get().await?;
        let mut pipe = redis::pipe();
        for event in events {
            pipe.cmd("PUBLISH")
                .arg(&*self.channel)
                .arg(serde_json::to_string(event)?)
                .ignore();
        }
        pipe.query_async::<()>(&mut conn).await?;
        Ok(())
    }

    /// Forwards events from the Redis channel to local subscribers until the process ends, reconnecting after
    /// failures. Call once per node when Redis is configured.
    pub fn spawn_redis_listener(&self, redis_url: String) -> tokio::task::JoinHandle<()> {
        let bus = self.clone();
        tokio::spawn(async move {
            let mut delay = Duration::from_millis(100);
            loop {
                match bus.listen(&redis_url).await {
                    Ok(()) => delay = Duration::from_millis(100),
                    Err(error) => {
                        tracing::warn!(%error, "event bus: Redis subscription lost; reconnecting");
                        delay = (delay * 2).min(Duration::from_secs(5));
                    }
                }
                tokio::time::sleep(delay).await;
            }
        })
    }

    async fn listen(&self, redis_url: &str) -> StorageResult<()> {
        use futures_util::StreamExt as _;
        let client = ::redis::Client::open(redis_url)?;
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(&*self.channel).await?;
        let mut messages = pubsub.on_message();
        while let Some(message) = messages.next().await {
            let payload: String = match message.get_payload() {
                Ok(payload) => payload,
                Err(error) => {
                    tracing::warn!(%error, "event bus: unreadable message");
                    continue;
                }
            };
            match serde_json::from_str::<PublishedEvent>(&payload) {
                Ok(event) => self.deliver_locally(event),
                Err(error) => tracing::warn!(%error, "event bus: undecodable event"),
            }
        }
        Err(StorageError::Object("the Redis subscription ended".into()))
    }
}

/// Wakes the relay right after a commit, so events go out in about a millisecond instead of a poll period.
#[derive(Debug, Clone, Default)]
pub struct OutboxNotifier(Arc<Notify>);

impl OutboxNotifier {
    /// Signals that new outbox rows were committed.
    pub fn notify(&self) {
        self.0.notify_one();
    }
}

/// Moves committed outbox rows to the [`EventBus`].
#[derive(Clone)]
pub struct OutboxRelay {
    pool: DbPool,
    bus: EventBus,
    notifier: OutboxNotifier,
    handlers: Vec<Arc<dyn OutboxHandler>>,
}

/// Durable work done for each event inside the relay's transaction, before the event is marked published:
/// exactly once per event (notifications are created this way, with the jobs that deliver them).
#[async_trait::async_trait]
pub trait OutboxHandler: Send + Sync {
    /// Handles a batch of events, in order, on the relay's transaction.
    async fn handle(
        &self,
        conn: &mut diesel_async::AsyncPgConnection,
        events: &[PublishedEvent],
    ) -> StorageResult<()>;
}

impl std::fmt::Debug for OutboxRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxRelay")
            .field("bus", &self.bus)
            .finish_non_exhaustive()
    }
}

impl OutboxRelay {
    /// A relay from the outbox in `pool` to `bus`, woken by `notifier`.
    pub fn new(pool: DbPool, bus: EventBus, notifier: OutboxNotifier) -> Self {
        Self {
            pool,
            bus,
            notifier,
            handlers: Vec::new(),
        }
    }

    /// Adds a handler that runs, inside the relay's transaction, for every event before it is published.
    pub fn with_handler(mut self, handler: Arc<dyn OutboxHandler>) -> Self {
        self.handlers.push(handler);
        self
    }

    /// Runs the relay until the process ends.
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticks = 0u32;
            loop {
                match self.drain().await {
                    // More may be waiting (a full batch, or another node held the lock): go again soon.
                    Ok(Drained::Full | Drained::Busy) => {
                        tokio::time::sleep(Duration::from_millis(2)).await;
                        continue;
                    }
                    Ok(Drained::Done) => {}
                    Err(error) => tracing::warn!(%error, "outbox relay failed; retrying"),
                }
                ticks = ticks.wrapping_add(1);
                if ticks.is_multiple_of(7200) {
                    self.purge_published().await;
                }
                let _ = tokio::time::timeout(RELAY_POLL, self.notifier.0.notified()).await;
            }
        })
    }

    /// Publishes one batch of unpublished events, in id order.
    async fn drain(&self) -> StorageResult<Drained> {
        let mut conn = self.pool.get().await?;
        let bus = self.bus.clone();
        let handlers = self.handlers.clone();
        conn.transaction::<_, StorageError, _>(async |conn| {
            // One round trip: take the drainer's lock, let this transaction's commit skip the disk flush
            // (after a crash the worst case is an event published twice, at least once, which subscribers
            // tolerate: messages carry ids), and read the batch. Without the lock the batch is empty.
            let batch: Vec<BatchRow> = diesel::sql_query(
                "SELECT l.locked, o.id, o.payload \
                 FROM (SELECT pg_try_advisory_xact_lock($1) AS locked, \
                              set_config('synchronous_commit', 'off', true) AS flush) AS l \
                 LEFT JOIN LATERAL (SELECT id, payload FROM outbox \
                                    WHERE l.locked AND published_at IS NULL \
                                    ORDER BY id LIMIT $2) AS o ON true",
            )
            .bind::<diesel::sql_types::BigInt, _>(RELAY_LOCK)
            .bind::<diesel::sql_types::BigInt, _>(RELAY_BATCH)
            .load(conn)
            .await?;
            if !<[BatchRow]>::first(&batch).is_some_and(|row| row.locked) {
                return Ok(Drained::Busy);
            }
            let rows: Vec<(i64, serde_json::Value)> = batch
                .into_iter()
                .filter_map(|row| row.id.zip(row.payload))
                .collect();
            if rows.is_empty() {
                return Ok(Drained::Done);
            }
            let full = rows.len() as i64 == RELAY_BATCH;
            let ids: Vec<i64> = rows.iter().map(|(id, _)| *id).collect();
            let events: Vec<PublishedEvent> = rows
                .into_iter()
                .filter_map(
                    |(id, payload)| match serde_json::from_value::<DomainEvent>(payload) {
                        Ok(event) => Some(PublishedEvent { id, event }),
                        Err(error) => {
                            tracing::error!(id, %error, "outbox row is not a known event; skipping it");
                            None
                        }
                    },
                )
                .collect();
            // Publish first: handlers (notifications for offline members) may take a while on a large
            // conversation and must not hold up delivery. A handler failure rolls the batch back and it is
            // published again later (at least once, as above).
            bus.publish(&events).await;
            for handler in &handlers {
                handler.handle(conn, &events).await?;
            }
            diesel::update(outbox::table.filter(outbox::id.eq_any(&ids)))
                .set(outbox::published_at.eq(diesel::dsl::now))
                .execute(conn)
                .await?;
            Ok(if full { Drained::Full } else { Drained::Done })
        })
        .await
    }

    async fn purge_published(&self) {
        let Ok(mut conn) = self.pool.get().await else {
            return;
        };
        let cutoff = chrono::Utc::now() - chrono::Duration::days(1);
        if let Err(error) = diesel::delete(outbox::table.filter(outbox::published_at.lt(cutoff)))
            .execute(&mut conn)
            .await
        {
            tracing::warn!(%error, "purging published outbox rows failed");
        }
    }
}

/// One row of the relay's batch query: whether the drainer's lock was taken, and an unpublished event (none
/// when the lock was not taken or nothing is waiting).
#[derive(diesel::QueryableByName)]
struct BatchRow {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    locked: bool,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    id: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Jsonb>)]
    payload: Option<serde_json::Value>,
}

enum Drained {
    Done,
    Full,
    Busy,
}
