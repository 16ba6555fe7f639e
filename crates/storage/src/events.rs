//! Publishing committed domain events to every node, in one order, without losing any.
//!
//! - Services append events to the outbox inside their transaction and nudge the [`OutboxRelay`] after commit.
//! - The relay (one drainer at a time across all nodes, by advisory lock) takes unpublished rows in id order,
//!   gives each the next **position** (a gapless counter, `outbox_positions`), marks them published, lets its
//!   handlers enqueue follow-up jobs (cheap and set-based: work per recipient runs later, as jobs), commits, and
//!   only then publishes: to this node's subscribers at once, and through Redis to the other nodes.
//! - Outbox ids are taken at insert, so a transaction that commits late can carry a lower id than events
//!   already published; positions are taken at publish, so a reader resuming "after position P" never skips it.
//! - Every node hands positioned events to its subscribers in position order, each once: a position at or below
//!   the last one handed over is a duplicate (this node's own batch coming back from Redis, say); one beyond the
//!   next is a gap (Redis dropped messages, the subscription was reconnecting, another node's relay got ahead),
//!   and the missing positions are read from the outbox first. A tail check every second catches events
//!   published while Redis was unreachable.
//! - Subscribers get a `tokio::sync::broadcast` receiver and never learn which crate produced an event; one
//!   that falls behind reads what it missed with [`EventBus::since`].
//! - Live signals (typing, presence: not domain events, never stored) travel beside the events, best-effort and
//!   unordered, as JSON whose type the publisher and its subscribers agree on ([`EventBus::publish_signal`]).

use crate::db::DbPool;
pub use crate::outbox::PublishedEvent;
use crate::redis::SharedConnection;
use crate::{StorageError, StorageResult, outbox};
use diesel_async::{AsyncConnection as _, RunQueryDsl as _};
use epop_core::DomainEvent;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, broadcast, mpsc};
use tokio_util::sync::CancellationToken;

/// How many events a subscriber may fall behind before it must read the rest from the outbox.
const BUS_CAPACITY: usize = 16_384;
/// How many live signals a subscriber may fall behind before it misses some (they are not stored).
const SIGNAL_CAPACITY: usize = 16_384;
/// Rows drained per relay transaction.
const RELAY_BATCH: i64 = 500;
/// Advisory lock key held while draining ("EPOPOUTB").
const RELAY_LOCK: i64 = 0x4550_4F50_4F55_5442;
/// How often the relay looks for rows written by other nodes or left by a crash.
const RELAY_POLL: Duration = Duration::from_millis(500);
/// How often a node with Redis checks that it has seen the newest position.
const TAIL_CHECK: Duration = Duration::from_secs(1);
/// Batches waiting for the sequencer (each at most [`RELAY_BATCH`] events).
const SEQUENCER_QUEUE: usize = 256;
/// The most events one catch-up read returns.
pub const CATCH_UP_LIMIT: i64 = 10_000;

/// What travels on the Redis channel: a positioned event or a live signal, and the node that published it.
#[derive(Serialize)]
struct WireOut<'a> {
    node: &'a str,
    #[serde(flatten)]
    body: WireBody<&'a DomainEvent, &'a serde_json::Value>,
}

#[derive(Deserialize)]
struct WireIn {
    node: String,
    #[serde(flatten)]
    body: WireBody<DomainEvent, serde_json::Value>,
}

/// A message on the channel: `{"position", "event"}` or `{"signal"}`.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum WireBody<E, S> {
    Event { position: i64, event: E },
    Signal { signal: S },
}

/// Work for the sequencer, the one task per node that hands positioned events to subscribers.
enum SequencerInput {
    /// Positioned events, in position order (a batch of this node's relay, or one event from Redis).
    Events(Vec<PublishedEvent>),
    /// The Redis subscription (re)started: whatever was published meanwhile must be read from the outbox.
    Resync,
}

/// Fan-out of published events to local subscribers, through Redis to the other nodes when configured.
#[derive(Clone)]
pub struct EventBus {
    local: broadcast::Sender<Arc<PublishedEvent>>,
    signals: broadcast::Sender<Arc<serde_json::Value>>,
    sequencer: mpsc::Sender<SequencerInput>,
    db: Option<DbPool>,
    redis: Option<SharedConnection>,
    channel: Arc<str>,
    /// This node's id on the channel, so its own messages coming back are recognised.
    node: Arc<str>,
}

impl std::fmt::Debug for EventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBus")
            .field("channel", &self.channel)
            .field("node", &self.node)
            .field("shared", &self.redis.is_some())
            .finish()
    }
}

impl EventBus {
    /// A bus on `{prefix}:events`; with `redis`, events travel through Redis to every node; with `db`, gaps are
    /// filled from the outbox. Starts nothing: committed events reach subscribers only while the returned
    /// [`EventSequencer`] runs (the host runs it with its other background work).
    pub fn new(db: Option<DbPool>, redis: Option<SharedConnection>, prefix: &str) -> (Self, EventSequencer) {
        let (local, _) = broadcast::channel(BUS_CAPACITY);
        let (signals, _) = broadcast::channel(SIGNAL_CAPACITY);
        let (sequencer, inputs) = mpsc::channel(SEQUENCER_QUEUE);
        let bus = Self {
            local,
            signals,
            sequencer,
            db,
            redis,
            channel: Arc::from(format!("{prefix}:events")),
            node: Arc::from(uuid::Uuid::now_v7().simple().to_string()),
        };
        let sequencer = EventSequencer {
            local: bus.local.clone(),
            db: bus.db.clone(),
            tail_check: bus.redis.is_some(),
            last: None,
            inputs,
        };
        (bus, sequencer)
    }

    /// A receiver of every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<PublishedEvent>> {
        self.local.subscribe()
    }

    /// Published events after `position`, in order, at most [`CATCH_UP_LIMIT`]: what a subscriber that fell
    /// behind (a `Lagged` receive) missed.
    pub async fn since(&self, position: i64) -> StorageResult<Vec<PublishedEvent>> {
        let Some(db) = &self.db else {
            return Ok(Vec::new());
        };
        let mut conn = db.get().await?;
        outbox::published_between(&mut conn, position, i64::MAX, CATCH_UP_LIMIT).await
    }

    /// A receiver of every live signal published from now on, on any node.
    pub fn subscribe_signals(&self) -> broadcast::Receiver<Arc<serde_json::Value>> {
        self.signals.subscribe()
    }

    /// Publishes a live signal (typing, presence: never stored): to this node's subscribers at once, and
    /// through Redis to the others. Best-effort: if Redis fails, the other nodes miss it.
    pub async fn publish_signal(&self, signal: serde_json::Value) {
        let signal = Arc::new(signal);
        // No subscriber is not an error.
        let _ = self.signals.send(signal.clone());
        let Some(redis) = &self.redis else { return };
        let published: StorageResult<()> = async {
            let wire = WireOut {
                node: &self.node,
                body: WireBody::Signal { signal: &*signal },
            };
            let mut conn = redis.get().await?;
            redis::cmd("PUBLISH")
                .arg(&*self.channel)
                .arg(serde_json::to_string(&wire)?)
                .query_async::<()>(&mut conn)
                .await?;
            Ok(())
        }
        .await;
        if let Err(error) = published {
            tracing::warn!(%error, "event bus: Redis publish of a live signal failed");
        }
    }

    /// Publishes events the relay has committed: to this node's sequencer, then through Redis to the others.
    async fn publish_committed(&self, events: Vec<PublishedEvent>) {
        if events.is_empty() {
            return;
        }
        if self.redis.is_some() {
            self.publish_shared(&events).await;
        }
        // The sequencer lives as long as the bus.
        let _ = self.sequencer.send(SequencerInput::Events(events)).await;
    }

    async fn publish_shared(&self, events: &[PublishedEvent]) {
        let Some(redis) = &self.redis else { return };
        let published: StorageResult<()> = async {
            let mut conn = redis.get().await?;
            let mut pipe = redis::pipe();
            for published in events {
                let wire = WireOut {
                    node: &self.node,
                    body: WireBody::Event {
                        position: published.position,
                        event: &published.event,
                    },
                };
                pipe.cmd("PUBLISH")
                    .arg(&*self.channel)
                    .arg(serde_json::to_string(&wire)?)
                    .ignore();
            }
            pipe.query_async::<()>(&mut conn).await?;
            Ok(())
        }
        .await;
        if let Err(error) = published {
            // Stored events still reach the other nodes: their tail check reads them from the outbox.
            tracing::warn!(%error, "event bus: Redis publish failed");
        }
    }

    /// Forwards events from the Redis channel to this node until `cancel`, reconnecting after failures (and
    /// reading from the outbox what was published meanwhile). Run once per node when Redis is configured.
    pub async fn listen_redis(self, redis_url: String, cancel: CancellationToken) {
        let mut delay = Duration::from_millis(100);
        loop {
            // A subscription holds no state worth finishing: stopping mid-message loses nothing stored.
            let listened = tokio::select! {
                () = cancel.cancelled() => return,
                listened = self.listen(&redis_url) => listened,
            };
            match listened {
                Ok(()) => delay = Duration::from_millis(100),
                Err(error) => {
                    tracing::warn!(%error, "event bus: Redis subscription lost; reconnecting");
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(delay) => {}
            }
        }
    }

    async fn listen(&self, redis_url: &str) -> StorageResult<()> {
        use futures_util::StreamExt as _;
        let client = ::redis::Client::open(redis_url)?;
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(&*self.channel).await?;
        // Subscribed: anything published while this node was not is in the outbox.
        let _ = self.sequencer.send(SequencerInput::Resync).await;
        let mut messages = pubsub.on_message();
        while let Some(message) = messages.next().await {
            let payload: String = match message.get_payload() {
                Ok(payload) => payload,
                Err(error) => {
                    tracing::warn!(%error, "event bus: unreadable message");
                    continue;
                }
            };
            let wire = match serde_json::from_str::<WireIn>(&payload) {
                Ok(wire) => wire,
                Err(error) => {
                    tracing::warn!(%error, "event bus: undecodable event");
                    continue;
                }
            };
            if *wire.node == *self.node {
                continue;
            }
            match wire.body {
                WireBody::Event { position, event } => {
                    let published = PublishedEvent { position, event };
                    let _ = self.sequencer.send(SequencerInput::Events(vec![published])).await;
                }
                WireBody::Signal { signal } => {
                    let _ = self.signals.send(Arc::new(signal));
                }
            }
        }
        Err(StorageError::SubscriptionEnded)
    }
}

/// The one task per node that hands positioned events to local subscribers in position order, each once,
/// filling gaps from the outbox. Made by [`EventBus::new`]; nothing reaches subscribers until it runs.
pub struct EventSequencer {
    local: broadcast::Sender<Arc<PublishedEvent>>,
    db: Option<DbPool>,
    /// Whether other nodes may publish (Redis): then the newest position is checked every second.
    tail_check: bool,
    /// The last position handed over (`None` until known).
    last: Option<i64>,
    inputs: mpsc::Receiver<SequencerInput>,
}

impl std::fmt::Debug for EventSequencer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventSequencer")
            .field("last", &self.last)
            .finish_non_exhaustive()
    }
}

impl EventSequencer {
    /// Hands events over until `cancel` (or until every [`EventBus`] clone is gone); a batch being handed over
    /// is finished first.
    pub async fn run(mut self, cancel: CancellationToken) {
        self.last = tokio::select! {
            () = cancel.cancelled() => return,
            newest = self.newest() => newest,
        };
        let mut tick = tokio::time::interval(TAIL_CHECK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                input = self.inputs.recv() => match input {
                    Some(SequencerInput::Events(events)) => self.hand_over(events).await,
                    Some(SequencerInput::Resync) => self.catch_up_to_newest().await,
                    None => return,
                },
                _ = tick.tick(), if self.tail_check => self.catch_up_to_newest().await,
            }
        }
    }

    /// The newest published position, from the outbox.
    async fn newest(&self) -> Option<i64> {
        let db = self.db.as_ref()?;
        let mut conn = db.get().await.ok()?;
        outbox::newest_position(&mut conn).await.ok()
    }

    async fn catch_up_to_newest(&mut self) {
        let Some(newest) = self.newest().await else { return };
        match self.last {
            Some(last) if newest > last => self.fill(last, newest + 1).await,
            Some(_) => {}
            None => self.last = Some(newest),
        }
    }

    async fn hand_over(&mut self, events: Vec<PublishedEvent>) {
        for published in events {
            let position = published.position;
            let last = *self.last.get_or_insert(position - 1);
            if position <= last {
                continue;
            }
            if position > last + 1 {
                self.fill(last, position).await;
            }
            self.deliver(published);
        }
    }

    /// Reads and hands over the positions strictly between `after` and `before`; whatever cannot be read
    /// (the database is down, the rows were purged) is skipped, so that live delivery never stalls.
    async fn fill(&mut self, after: i64, before: i64) {
        let mut from = after;
        while from + 1 < before {
            let read = match &self.db {
                Some(db) => match db.get().await {
                    Ok(mut conn) => outbox::published_between(&mut conn, from, before, CATCH_UP_LIMIT).await,
                    Err(error) => Err(error.into()),
                },
                None => Ok(Vec::new()),
            };
            match read {
                Ok(events) if !events.is_empty() => {
                    let count = events.len();
                    for published in events {
                        from = published.position;
                        self.deliver(published);
                    }
                    if (count as i64) < CATCH_UP_LIMIT {
                        break;
                    }
                }
                Ok(_) => break,
                Err(error) => {
                    tracing::warn!(%error, after = from, before, "event bus: could not read missed events");
                    break;
                }
            }
        }
        if before - 1 > self.last.unwrap_or(0) {
            self.last = Some(before - 1);
        }
    }

    fn deliver(&mut self, published: PublishedEvent) {
        self.last = Some(published.position);
        // No subscriber is not an error.
        let _ = self.local.send(Arc::new(published));
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

/// Work that must happen exactly once per event, done inside the relay's transaction before the batch commits.
///
/// It holds up every event of every node, so it must be cheap and set-based: one statement per batch, such as
/// enqueueing the jobs that do the real work (notifications for a conversation's members, e-mail, push). Never
/// a query per event or per recipient.
#[async_trait::async_trait]
pub trait OutboxHandler: Send + Sync {
    /// Handles a batch of events, in position order, on the relay's transaction.
    async fn handle(
        &self,
        conn: &mut diesel_async::AsyncPgConnection,
        events: &[PublishedEvent],
    ) -> StorageResult<()>;

    /// Called after the batch's transaction committed (to wake whoever runs the work it enqueued).
    fn committed(&self) {}
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

    /// Adds a handler that runs, inside the relay's transaction, for every batch before it commits.
    pub fn with_handler(mut self, handler: Arc<dyn OutboxHandler>) -> Self {
        self.handlers.push(handler);
        self
    }

    /// Runs the relay until `cancel`. A batch in progress is finished (committed and published) first, so
    /// stopping never leaves a transaction open.
    pub async fn run(self, cancel: CancellationToken) {
        let mut ticks = 0u32;
        while !cancel.is_cancelled() {
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
            tokio::select! {
                () = cancel.cancelled() => return,
                _ = tokio::time::timeout(RELAY_POLL, self.notifier.0.notified()) => {}
            }
        }
    }

    /// Publishes one batch of unpublished events: positions assigned and the batch marked published in one
    /// transaction, then handed to the bus.
    async fn drain(&self) -> StorageResult<Drained> {
        let mut conn = self.pool.get().await?;
        let handlers = self.handlers.clone();
        let drained = conn
            .transaction::<_, StorageError, _>(async |conn| {
                // One round trip: take the drainer's lock, let this transaction's commit skip the disk flush
                // (the rows it marks are rewritten by a relay after a database crash, at least once), and see
                // whether anything waits.
                let state: DrainState = diesel::sql_query(
                    "SELECT pg_try_advisory_xact_lock($1) AS locked, \
                            set_config('synchronous_commit', 'off', true) AS flush, \
                            EXISTS (SELECT 1 FROM outbox WHERE published_at IS NULL) AS waiting",
                )
                .bind::<diesel::sql_types::BigInt, _>(RELAY_LOCK)
                .get_result(conn)
                .await?;
                if !state.locked {
                    return Ok(None);
                }
                if !state.waiting {
                    return Ok(Some((Vec::new(), false)));
                }
                let rows = outbox::assign_positions(conn, RELAY_BATCH).await?;
                let full = rows.len() as i64 == RELAY_BATCH;
                let events: Vec<PublishedEvent> = rows
                    .into_iter()
                    .filter_map(|(position, payload)| {
                        match serde_json::from_value::<DomainEvent>(payload) {
                            Ok(event) => Some(PublishedEvent { position, event }),
                            Err(error) => {
                                tracing::error!(position, %error, "outbox row is not a known event; skipping it");
                                None
                            }
                        }
                    })
                    .collect();
                for handler in &handlers {
                    handler.handle(conn, &events).await?;
                }
                Ok(Some((events, full)))
            })
            .await?;
        drop(conn);
        match drained {
            None => Ok(Drained::Busy),
            Some((events, full)) => {
                for handler in &self.handlers {
                    handler.committed();
                }
                self.bus.publish_committed(events).await;
                Ok(if full { Drained::Full } else { Drained::Done })
            }
        }
    }

    async fn purge_published(&self) {
        let Ok(mut conn) = self.pool.get().await else {
            return;
        };
        if let Err(error) = outbox::purge_published_before(&mut conn, chrono::Duration::days(1)).await {
            tracing::warn!(%error, "purging published outbox rows failed");
        }
    }
}

/// The relay's first look: whether it holds the drainer's lock, and whether anything waits.
#[derive(diesel::QueryableByName)]
struct DrainState {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    locked: bool,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    waiting: bool,
}

enum Drained {
    Done,
    Full,
    Busy,
}
