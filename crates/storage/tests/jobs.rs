//! The job queue against a real PostgreSQL: transactional enqueue, exclusive claims, retries with backoff,
//! dead letters, and jobs surviving the death of their worker.

#![expect(clippy::unwrap_used, reason = "tests panic on unexpected failures")]

use async_trait::async_trait;
use diesel::QueryableByName;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use epop_storage::jobs::{self, JobHandler, JobWorker, Outcome};
use epop_test_support::TestDatabase;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = diesel::sql_types::Text)]
    status: String,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    attempts: i32,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    last_error: Option<String>,
}

async fn rows(conn: &mut AsyncPgConnection) -> Vec<Row> {
    diesel::sql_query("SELECT status, attempts, last_error FROM jobs ORDER BY id")
        .load(conn)
        .await
        .unwrap()
}

async fn setup() -> (TestDatabase, epop_storage::DbPool, AsyncPgConnection) {
    let db = TestDatabase::create().await.unwrap();
    let pool = epop_storage::db::build_pool(&db.url, 4).unwrap();
    let conn = AsyncPgConnection::establish(&db.url).await.unwrap();
    (db, pool, conn)
}

struct Counting {
    runs: AtomicUsize,
    fail: bool,
}

#[async_trait]
impl JobHandler for Counting {
    fn queue(&self) -> &'static str {
        "test"
    }

    async fn run(&self, _payload: &Value) -> Result<(), String> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        if self.fail {
            Err("the service said no".into())
        } else {
            Ok(())
        }
    }
}

#[tokio::test]
async fn a_job_enqueued_in_a_rolled_back_transaction_does_not_exist() {
    let (_db, _pool, mut conn) = setup().await;
    let result = conn
        .transaction::<(), diesel::result::Error, _>(async |conn| {
            jobs::enqueue(conn, "test", &json!({"n": 1}))
                .await
                .map_err(|_| diesel::result::Error::RollbackTransaction)?;
            Err(diesel::result::Error::RollbackTransaction)
        })
        .await;
    assert!(result.is_err());
    assert!(rows(&mut conn).await.is_empty());
    jobs::enqueue(&mut conn, "test", &json!({"n": 2})).await.unwrap();
    assert_eq!(rows(&mut conn).await.len(), 1);
}

#[tokio::test]
async fn concurrent_workers_never_take_the_same_job() {
    let (_db, pool, mut conn) = setup().await;
    for n in 0..40 {
        jobs::enqueue(&mut conn, "test", &json!({"n": n})).await.unwrap();
    }
    let claim = |worker: &'static str| {
        let pool = pool.clone();
        async move {
            let mut conn = pool.get().await.unwrap();
            jobs::claim(&mut conn, &["test".to_owned()], worker, 15)
                .await
                .unwrap()
        }
    };
    let (a, b, c) = tokio::join!(claim("a"), claim("b"), claim("c"));
    let mut ids: Vec<i64> = a.iter().chain(&b).chain(&c).map(|job| job.id).collect();
    let total = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), total, "a job was claimed twice");
    assert_eq!(total, 40);
    assert!(
        jobs::claim(&mut conn, &["test".to_owned()], "d", 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn failures_are_retried_with_backoff_then_dead_lettered() {
    let (_db, pool, mut conn) = setup().await;
    jobs::enqueue(&mut conn, "test", &json!({})).await.unwrap();
    let handler = Arc::new(Counting {
        runs: AtomicUsize::new(0),
        fail: true,
    });
    let worker = JobWorker::new(pool.clone(), "w".into(), 4, vec![handler.clone()]);
    for attempt in 1..=jobs::DEFAULT_MAX_ATTEMPTS {
        assert_eq!(worker.run_once().await.unwrap(), 1, "attempt {attempt}");
        let row = &rows(&mut conn).await[0];
        assert_eq!(row.attempts, attempt);
        assert_eq!(row.last_error.as_deref(), Some("the service said no"));
        if attempt < jobs::DEFAULT_MAX_ATTEMPTS {
            assert_eq!(row.status, "queued");
            // Not due yet: backoff.
            assert_eq!(worker.run_once().await.unwrap(), 0);
            diesel::sql_query("UPDATE jobs SET run_at = now()")
                .execute(&mut conn)
                .await
                .unwrap();
        } else {
            assert_eq!(
                row.status, "dead",
                "the dead-letter list keeps the job and its error"
            );
        }
    }
    assert_eq!(
        AtomicUsize::load(&handler.runs, Ordering::SeqCst),
        jobs::DEFAULT_MAX_ATTEMPTS as usize
    );
    assert_eq!(worker.run_once().await.unwrap(), 0, "dead jobs are not run again");
}

#[tokio::test]
async fn jobs_of_a_worker_that_died_are_taken_back() {
    let (_db, pool, mut conn) = setup().await;
    jobs::enqueue(&mut conn, "test", &json!({})).await.unwrap();
    // A worker claims the job and dies before finishing it.
    let claimed = jobs::claim(&mut conn, &["test".to_owned()], "dead-worker", 1)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(rows(&mut conn).await[0].status, "running");
    assert_eq!(
        jobs::requeue_abandoned(&mut conn, chrono::Utc::now(), jobs::LEASE)
            .await
            .unwrap(),
        0,
        "within its lease"
    );
    let later =
        chrono::Utc::now() + chrono::Duration::from_std(jobs::LEASE).unwrap() + chrono::Duration::seconds(1);
    assert_eq!(
        jobs::requeue_abandoned(&mut conn, later, jobs::LEASE)
            .await
            .unwrap(),
        1
    );
    let handler = Arc::new(Counting {
        runs: AtomicUsize::new(0),
        fail: false,
    });
    let worker = JobWorker::new(pool, "w2".into(), 4, vec![handler.clone()]);
    assert_eq!(worker.run_once().await.unwrap(), 1);
    assert_eq!(rows(&mut conn).await[0].status, "done");
    assert_eq!(AtomicUsize::load(&handler.runs, Ordering::SeqCst), 1);
}

#[tokio::test]
async fn outcomes_are_reported() {
    let (_db, pool, mut conn) = setup().await;
    let job = {
        jobs::enqueue(&mut conn, "test", &json!({})).await.unwrap();
        jobs::claim(&mut conn, &["test".to_owned()], "w", 1)
            .await
            .unwrap()
            .remove(0)
    };
    let outcome = jobs::finish(&mut conn, &job, Err("boom".into()), chrono::Utc::now())
        .await
        .unwrap();
    assert!(matches!(outcome, Outcome::Retry(at) if at > chrono::Utc::now()));
    assert_eq!(outcome.label(), "retry");
    drop(pool);
}

#[tokio::test]
async fn dead_and_finished_jobs_are_never_taken_back() {
    let (_db, pool, mut conn) = setup().await;
    for n in 0..3 {
        jobs::enqueue(&mut conn, "test", &json!({"n": n})).await.unwrap();
    }
    let mut claimed = jobs::claim(&mut conn, &["test".to_owned()], "w", 3)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 3);
    claimed.sort_by_key(|job| job.id);
    let now = chrono::Utc::now();
    let dead = jobs::ClaimedJob {
        attempts: 5,
        ..claimed[0].clone()
    };
    assert_eq!(
        jobs::finish(&mut conn, &dead, Err("gave up".into()), now)
            .await
            .unwrap(),
        Outcome::Dead
    );
    jobs::finish(&mut conn, &claimed[1], Ok(()), now).await.unwrap();
    // Long after every lease, only the job still marked running (its worker died) is put back.
    diesel::sql_query(
        "UPDATE jobs SET locked_at = now() - interval '1 day', updated_at = now() - interval '1 day'",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let later = chrono::Utc::now() + chrono::Duration::days(2);
    assert_eq!(
        jobs::requeue_abandoned(&mut conn, later, std::time::Duration::from_secs(1))
            .await
            .unwrap(),
        1
    );
    let statuses: Vec<String> = rows(&mut conn).await.into_iter().map(|r| r.status).collect();
    assert_eq!(statuses, ["dead", "done", "queued"]);
    let handler = Arc::new(Counting {
        runs: AtomicUsize::new(0),
        fail: false,
    });
    let worker = JobWorker::new(pool, "w2".into(), 8, vec![handler.clone()]);
    assert_eq!(
        worker.run_once().await.unwrap(),
        1,
        "only the abandoned job runs again"
    );
    assert_eq!(AtomicUsize::load(&handler.runs, Ordering::SeqCst), 1);
}
