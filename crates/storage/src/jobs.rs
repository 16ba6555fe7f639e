//! A durable job queue in PostgreSQL (the role BullMQ plays in a Node stack; Redis keeps nothing on disk).
//!
//! A job is a row of `jobs`, enqueued with [`enqueue`] on the caller's connection, so it commits or rolls back
//! with the change that caused it. Workers claim due jobs with `FOR UPDATE SKIP LOCKED` (many workers, on
//! many nodes, never take the same job), run them, and record the outcome: done, retried later with
//! exponential backoff, or dead after `max_attempts` (the dead-letter list is `status = 'dead'`, kept with
//! the last error). Jobs claimed by a worker that died are put back after a lease expires, so every job
//! survives a restart.

use crate::StorageResult;
use crate::db::DbPool;
use crate::schema::jobs;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::{ExpressionMethods as _, QueryDsl as _, QueryableByName};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Attempts before a job is declared dead, unless the enqueuer says otherwise.
pub const DEFAULT_MAX_ATTEMPTS: i32 = 5;
/// How long a claimed job may run before another worker may take it back (its worker is presumed dead), unless
/// the worker is given another lease ([`JobWorker::with_lease`]) or its handler a shorter one
/// ([`JobHandler::lease`]).
pub const LEASE: Duration = Duration::from_secs(300);
/// How often, at most, a worker looks for jobs of dead workers (and at start).
const REQUEUE_EVERY: Duration = Duration::from_secs(5);

/// Adds a job to `queue` on `conn` (call it inside the transaction of the change that causes it).
pub async fn enqueue(conn: &mut AsyncPgConnection, queue: &str, payload: &Value) -> StorageResult<i64> {
    Ok(diesel::insert_into(jobs::table)
        .values((
            jobs::queue.eq(queue),
            jobs::payload.eq(payload),
            jobs::max_attempts.eq(DEFAULT_MAX_ATTEMPTS),
        ))
        .returning(jobs::id)
        .get_result(conn)
        .await?)
}

/// Adds a job to `queue` on `conn` that no worker claims before `run_at` (scheduled messages, reminders): workers
/// poll every second, so it runs at most about a second late while they keep up.
pub async fn enqueue_at(
    conn: &mut AsyncPgConnection,
    queue: &str,
    payload: &Value,
    run_at: DateTime<Utc>,
) -> StorageResult<i64> {
    Ok(diesel::insert_into(jobs::table)
        .values((
            jobs::queue.eq(queue),
            jobs::payload.eq(payload),
            jobs::max_attempts.eq(DEFAULT_MAX_ATTEMPTS),
            jobs::run_at.eq(run_at),
        ))
        .returning(jobs::id)
        .get_result(conn)
        .await?)
}

/// Moves a job that no worker has claimed yet to `run_at`; `false` when it already ran, runs, or is gone.
pub async fn reschedule_queued(
    conn: &mut AsyncPgConnection,
    id: i64,
    run_at: DateTime<Utc>,
) -> StorageResult<bool> {
    let moved = diesel::update(
        jobs::table
            .filter(jobs::id.eq(id))
            .filter(jobs::status.eq("queued")),
    )
    .set((jobs::run_at.eq(run_at), jobs::updated_at.eq(diesel::dsl::now)))
    .execute(conn)
    .await?;
    Ok(moved == 1)
}

/// Deletes a job that no worker has claimed yet; `false` when it already ran, runs, or is gone.
pub async fn cancel_queued(conn: &mut AsyncPgConnection, id: i64) -> StorageResult<bool> {
    let deleted = diesel::delete(
        jobs::table
            .filter(jobs::id.eq(id))
            .filter(jobs::status.eq("queued")),
    )
    .execute(conn)
    .await?;
    Ok(deleted == 1)
}

/// Moves the jobs of `moves` (`(id, run_at)`) that no worker has claimed yet, in one statement; answers the ids
/// that moved (the others already ran, run, or are gone).
pub async fn reschedule_all_queued(
    conn: &mut AsyncPgConnection,
    moves: &[(i64, DateTime<Utc>)],
) -> StorageResult<Vec<i64>> {
    if moves.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = moves.iter().map(|(id, _)| *id).collect();
    let times: Vec<DateTime<Utc>> = moves.iter().map(|(_, at)| *at).collect();
    let moved: Vec<JobId> = diesel::sql_query(
        "UPDATE jobs SET run_at = m.run_at, updated_at = now()
         FROM unnest($1::bigint[], $2::timestamptz[]) AS m(id, run_at)
         WHERE jobs.id = m.id AND jobs.status = 'queued'
         RETURNING jobs.id",
    )
    .bind::<diesel::sql_types::Array<diesel::sql_types::BigInt>, _>(&ids)
    .bind::<diesel::sql_types::Array<diesel::sql_types::Timestamptz>, _>(&times)
    .load(conn)
    .await?;
    Ok(moved.into_iter().map(|j| j.id).collect())
}

/// Deletes the jobs of `ids` that no worker has claimed yet, in one statement; answers how many.
pub async fn cancel_all_queued(conn: &mut AsyncPgConnection, ids: &[i64]) -> StorageResult<usize> {
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(diesel::delete(
        jobs::table
            .filter(jobs::id.eq_any(ids))
            .filter(jobs::status.eq("queued")),
    )
    .execute(conn)
    .await?)
}

/// Adds jobs to `queue`, each not claimed before its time, in one statement; answers their ids in the order of
/// `jobs_at`.
pub async fn enqueue_all_at(
    conn: &mut AsyncPgConnection,
    queue: &str,
    jobs_at: &[(Value, DateTime<Utc>)],
) -> StorageResult<Vec<i64>> {
    if jobs_at.is_empty() {
        return Ok(Vec::new());
    }
    let payloads: Vec<&Value> = jobs_at.iter().map(|(payload, _)| payload).collect();
    let times: Vec<DateTime<Utc>> = jobs_at.iter().map(|(_, at)| *at).collect();
    // Ids come from a sequence, taken in the order the rows are inserted (`ORDER BY j.n`): sorted, they follow
    // `jobs_at`.
    let rows: Vec<JobId> = diesel::sql_query(
        "INSERT INTO jobs (queue, payload, max_attempts, run_at)
         SELECT $1, j.payload, $4, j.run_at
         FROM unnest($2::jsonb[], $3::timestamptz[]) WITH ORDINALITY AS j(payload, run_at, n)
         ORDER BY j.n
         RETURNING id",
    )
    .bind::<diesel::sql_types::Text, _>(queue)
    .bind::<diesel::sql_types::Array<diesel::sql_types::Jsonb>, _>(&payloads)
    .bind::<diesel::sql_types::Array<diesel::sql_types::Timestamptz>, _>(&times)
    .bind::<diesel::sql_types::Integer, _>(DEFAULT_MAX_ATTEMPTS)
    .load(conn)
    .await?;
    let mut ids: Vec<i64> = rows.into_iter().map(|r| r.id).collect();
    ids.sort_unstable();
    Ok(ids)
}

/// A job id answered by a statement.
#[derive(QueryableByName)]
struct JobId {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

/// Adds several jobs to `queue` in one statement (set-based producers: one per recipient of a notification).
pub async fn enqueue_all(
    conn: &mut AsyncPgConnection,
    queue: &str,
    payloads: &[Value],
) -> StorageResult<usize> {
    if payloads.is_empty() {
        return Ok(0);
    }
    let rows: Vec<_> = payloads
        .iter()
        .map(|payload| {
            (
                jobs::queue.eq(queue),
                jobs::payload.eq(payload),
                jobs::max_attempts.eq(DEFAULT_MAX_ATTEMPTS),
            )
        })
        .collect();
    Ok(diesel::insert_into(jobs::table)
        .values(rows)
        .execute(conn)
        .await?)
}

/// A job a worker has claimed.
#[derive(Debug, Clone, QueryableByName)]
pub struct ClaimedJob {
    /// The job's id.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub id: i64,
    /// The queue it was enqueued on, which tells the worker what kind of job `payload` is.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub queue: String,
    /// What to do.
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    pub payload: Value,
    /// Attempts so far, this one included.
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub attempts: i32,
    /// Attempts allowed.
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub max_attempts: i32,
}

/// Claims up to `limit` due jobs of `queues` for `worker`.
pub async fn claim(
    conn: &mut AsyncPgConnection,
    queues: &[String],
    worker: &str,
    limit: i64,
) -> StorageResult<Vec<ClaimedJob>> {
    Ok(diesel::sql_query(
        "UPDATE jobs SET status = 'running', locked_at = now(), locked_by = $2, attempts = attempts + 1, updated_at = now()
         WHERE id IN (
             SELECT id FROM jobs
             WHERE status = 'queued' AND queue = ANY($1) AND run_at <= now()
             ORDER BY run_at, id
             LIMIT $3
             FOR UPDATE SKIP LOCKED
         )
         RETURNING id, queue, payload, attempts, max_attempts",
    )
    .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(queues)
    .bind::<diesel::sql_types::Text, _>(worker)
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .load(conn)
    .await?)
}

/// What became of a job after a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It succeeded.
    Done,
    /// It failed and will run again at this time.
    Retry(DateTime<Utc>),
    /// It failed for the last time and is in the dead-letter list.
    Dead,
}

impl Outcome {
    /// The metric label of the outcome.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::Retry(_) => "retry",
            Outcome::Dead => "dead",
        }
    }
}

/// The wait before attempt `attempt + 1`: 2, 4, 8 … seconds, at most an hour.
pub fn backoff(attempt: i32) -> Duration {
    let exponent = u32::try_from(attempt.clamp(1, 12)).unwrap_or(12);
    Duration::from_secs(2u64.pow(exponent)).min(Duration::from_secs(3600))
}

/// Records a run's result.
pub async fn finish(
    conn: &mut AsyncPgConnection,
    job: &ClaimedJob,
    result: Result<(), String>,
    now: DateTime<Utc>,
) -> StorageResult<Outcome> {
    let (outcome, error) = match result {
        Ok(()) => (Outcome::Done, None),
        Err(error) if job.attempts >= job.max_attempts => (Outcome::Dead, Some(error)),
        Err(error) => {
            let wait =
                chrono::Duration::from_std(backoff(job.attempts)).unwrap_or(chrono::Duration::hours(1));
            (Outcome::Retry(now + wait), Some(error))
        }
    };
    let (status, run_at) = match outcome {
        Outcome::Done => ("done", now),
        Outcome::Retry(at) => ("queued", at),
        Outcome::Dead => ("dead", now),
    };
    diesel::update(jobs::table.find(job.id))
        .set((
            jobs::status.eq(status),
            jobs::run_at.eq(run_at),
            jobs::last_error.eq(error),
            jobs::locked_at.eq(None::<DateTime<Utc>>),
            jobs::locked_by.eq(None::<String>),
            jobs::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    Ok(outcome)
}

/// Marks several jobs done in one statement (the common case of a batch that succeeded).
pub async fn finish_done(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
    now: DateTime<Utc>,
) -> StorageResult<usize> {
    Ok(diesel::update(jobs::table.filter(jobs::id.eq_any(ids)))
        .set((
            jobs::status.eq("done"),
            jobs::last_error.eq(None::<String>),
            jobs::locked_at.eq(None::<DateTime<Utc>>),
            jobs::locked_by.eq(None::<String>),
            jobs::updated_at.eq(now),
        ))
        .execute(conn)
        .await?)
}

/// Puts back jobs whose worker has held them longer than `lease` (it died); returns how many. Only `running`
/// jobs: one that is done or dead (in the dead-letter list) is never run again.
pub async fn requeue_abandoned(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    lease: Duration,
) -> StorageResult<usize> {
    requeue_held_past(conn, None, lease, now).await
}

/// Puts back the running jobs (of `queue` only, when given) whose worker has held them longer than `lease` (it
/// died); returns how many.
async fn requeue_held_past(
    conn: &mut AsyncPgConnection,
    queue: Option<&str>,
    lease: Duration,
    now: DateTime<Utc>,
) -> StorageResult<usize> {
    let cutoff = now - chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::minutes(5));
    let mut requeue = diesel::update(
        jobs::table
            .filter(jobs::status.eq("running"))
            .filter(jobs::locked_at.lt(cutoff)),
    )
    .set((
        jobs::status.eq("queued"),
        jobs::locked_at.eq(None::<DateTime<Utc>>),
        jobs::locked_by.eq(None::<String>),
    ))
    .into_boxed();
    if let Some(queue) = queue {
        requeue = requeue.filter(jobs::queue.eq(queue));
    }
    Ok(requeue.execute(conn).await?)
}

/// Runs the jobs of one queue.
#[async_trait]
pub trait JobHandler: Send + Sync {
    /// The queue this handler serves.
    fn queue(&self) -> &'static str;
    /// Runs one job; an `Err` is retried with backoff (its text is kept as `last_error`).
    async fn run(&self, payload: &Value) -> Result<(), String>;

    /// How long one of its jobs may stay claimed before another worker takes it back, its worker presumed
    /// dead ([`LEASE`] by default). A handler whose runs are bounded in time (a request with a timeout) may
    /// answer less, so that a crash delays its jobs by little more than that bound.
    fn lease(&self) -> Duration {
        LEASE
    }

    /// Runs the jobs of this queue claimed together, answering one result per payload, in order. By default
    /// they run one by one, concurrently; a handler whose jobs coalesce (the notifications of one
    /// conversation) overrides it to do them in one statement.
    async fn run_batch(&self, payloads: &[&Value]) -> Vec<Result<(), String>> {
        futures_util::future::join_all(payloads.iter().map(|payload| self.run(payload))).await
    }
}

/// Called with `(queue, outcome label)` after every run (for metrics).
pub type OutcomeHook = Arc<dyn Fn(&str, &str) + Send + Sync>;

/// A pool of workers claiming and running jobs.
#[derive(Clone)]
pub struct JobWorker {
    pool: DbPool,
    handlers: HashMap<String, Arc<dyn JobHandler>>,
    worker_id: String,
    wake: Arc<Notify>,
    batch: i64,
    hook: Option<OutcomeHook>,
    lease: Duration,
}

impl std::fmt::Debug for JobWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobWorker")
            .field("worker_id", &self.worker_id)
            .field("queues", &self.handlers.keys())
            .finish_non_exhaustive()
    }
}

impl JobWorker {
    /// A worker named `worker_id` running up to `batch` jobs at once with `handlers`.
    pub fn new(pool: DbPool, worker_id: String, batch: i64, handlers: Vec<Arc<dyn JobHandler>>) -> Self {
        let handlers = handlers.into_iter().map(|h| (h.queue().to_owned(), h)).collect();
        Self {
            pool,
            handlers,
            worker_id,
            wake: Arc::new(Notify::new()),
            batch: batch.max(1),
            hook: None,
            lease: LEASE,
        }
    }

    /// Takes back jobs that other (dead) workers have held longer than `lease` (default [`LEASE`]).
    #[must_use]
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(Duration::from_secs(1));
        self
    }

    /// Reports every outcome to `hook`.
    pub fn with_hook(mut self, hook: OutcomeHook) -> Self {
        self.hook = Some(hook);
        self
    }

    /// A handle that wakes the worker right away (after enqueuing).
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Claims and runs one batch; returns how many jobs ran.
    pub async fn run_once(&self) -> StorageResult<usize> {
        let queues: Vec<String> = self.handlers.keys().cloned().collect();
        let claimed = {
            let mut conn = self.pool.get().await?;
            claim(&mut conn, &queues, &self.worker_id, self.batch).await?
        };
        let count = claimed.len();
        // Jobs of one queue are handed over together, so that a handler may coalesce them.
        let mut by_queue: HashMap<&str, Vec<&ClaimedJob>> = HashMap::new();
        for job in &claimed {
            by_queue.entry(job.queue.as_str()).or_default().push(job);
        }
        let runs = by_queue.into_iter().map(|(queue, jobs)| async move {
            let results = match self.handlers.get(queue) {
                Some(handler) => {
                    let payloads: Vec<&Value> = jobs.iter().map(|job| &job.payload).collect();
                    handler.run_batch(&payloads).await
                }
                None => vec![Err(format!("no handler for queue {queue}")); jobs.len()],
            };
            let padded = results.into_iter().chain(std::iter::repeat_with(|| {
                Err("the handler gave no result".to_owned())
            }));
            jobs.into_iter().zip(padded).collect::<Vec<_>>()
        });
        let results: Vec<(&ClaimedJob, Result<(), String>)> = futures_util::future::join_all(runs)
            .await
            .into_iter()
            .flatten()
            .collect();
        let mut conn = self.pool.get().await?;
        let now = Utc::now();
        let mut done: Vec<(i64, &str)> = Vec::new();
        for (job, result) in results {
            match result {
                Ok(()) => done.push((job.id, job.queue.as_str())),
                Err(error) => {
                    tracing::warn!(job = job.id, queue = %job.queue, attempt = job.attempts, %error, "job failed");
                    let outcome = finish(&mut conn, job, Err(error), now).await?;
                    if let Some(hook) = &self.hook {
                        hook(&job.queue, outcome.label());
                    }
                }
            }
        }
        if !done.is_empty() {
            let ids: Vec<i64> = done.iter().map(|(id, _)| *id).collect();
            finish_done(&mut conn, &ids, now).await?;
            if let Some(hook) = &self.hook {
                for (_, queue) in &done {
                    hook(queue, Outcome::Done.label());
                }
            }
        }
        Ok(count)
    }

    /// Takes back the jobs whose worker died: those of queues with a lease of their own after it, the others
    /// after [`LEASE`].
    async fn requeue_abandoned(&self) -> StorageResult<usize> {
        let mut conn = self.pool.get().await?;
        let now = Utc::now();
        let mut taken = requeue_abandoned(&mut conn, now, self.lease).await?;
        for (queue, handler) in &self.handlers {
            let lease = handler.lease();
            if lease < self.lease {
                taken += requeue_held_past(&mut conn, Some(queue), lease, now).await?;
            }
        }
        Ok(taken)
    }

    /// Runs until `cancel`: claims due jobs, sleeps when there are none (woken early by [`Self::waker`]), and
    /// takes back jobs of dead workers at start and then every half lease (at most every few seconds). A batch
    /// in progress is finished (its outcomes stored) before it stops.
    pub async fn run(self, cancel: CancellationToken) {
        let requeue_every = (self.lease / 2).clamp(Duration::from_millis(500), REQUEUE_EVERY);
        let mut next_requeue = tokio::time::Instant::now();
        while !cancel.is_cancelled() {
            if tokio::time::Instant::now() >= next_requeue {
                next_requeue = tokio::time::Instant::now() + requeue_every;
                match self.requeue_abandoned().await {
                    Ok(0) => {}
                    Ok(taken) => tracing::info!(taken, "took back jobs of workers that died"),
                    Err(error) => tracing::warn!(%error, "could not take back abandoned jobs"),
                }
            }
            let pause = match self.run_once().await {
                Ok(0) => Duration::from_secs(1),
                Ok(_) => continue,
                Err(error) => {
                    tracing::warn!(%error, "job worker failed; retrying");
                    Duration::from_secs(1)
                }
            };
            tokio::select! {
                () = cancel.cancelled() => return,
                _ = tokio::time::timeout(pause, self.wake.notified()) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_secs(2));
        assert_eq!(backoff(2), Duration::from_secs(4));
        assert_eq!(backoff(5), Duration::from_secs(32));
        assert_eq!(backoff(40), Duration::from_secs(3600));
        assert_eq!(backoff(0), Duration::from_secs(2));
    }
}
