//! The connection pool against a real PostgreSQL: connections left idle after a burst are closed (their
//! PostgreSQL backends end), the most recently useful ones are kept, and the pool opens new ones on demand.

#![expect(clippy::unwrap_used, reason = "tests panic on unexpected failures")]

use diesel::QueryableByName;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use epop_storage::db::{build_pool, close_idle_connections, ping};
use epop_test_support::TestDatabase;
use std::time::Duration;

#[derive(QueryableByName)]
struct Backends {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    count: i64,
}

/// The PostgreSQL backends connected to the test's database, other than `observer` itself.
async fn backends(observer: &mut AsyncPgConnection) -> i64 {
    let row: Backends = diesel::sql_query(
        "SELECT count(*) AS count FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .get_result(observer)
    .await
    .unwrap();
    row.count
}

#[tokio::test]
async fn connections_idle_after_a_burst_are_closed_and_reopened_on_demand() {
    let db = TestDatabase::create().await.unwrap();
    let pool = build_pool(&db.url, 4).unwrap();
    let mut observer = AsyncPgConnection::establish(&db.url).await.unwrap();

    // A burst: three requests at once, each holding a connection.
    let held = [
        pool.get().await.unwrap(),
        pool.get().await.unwrap(),
        pool.get().await.unwrap(),
    ];
    drop(held);
    assert_eq!(pool.status().size, 3);
    assert_eq!(backends(&mut observer).await, 3);

    // Used a moment ago: nothing is closed.
    assert_eq!(close_idle_connections(&pool, Duration::from_secs(3600), 1), 0);
    assert_eq!(pool.status().size, 3);

    // Idle longer than the timeout: all but the one kept are closed, and their backends end.
    assert_eq!(close_idle_connections(&pool, Duration::ZERO, 1), 2);
    assert_eq!(pool.status().size, 1);
    let mut remaining = backends(&mut observer).await;
    for _ in 0..50 {
        if remaining == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        remaining = backends(&mut observer).await;
    }
    assert_eq!(remaining, 1, "closed connections left their backends running");

    // The next burst gets its connections again.
    let again = [pool.get().await.unwrap(), pool.get().await.unwrap()];
    drop(again);
    ping(&pool).await.unwrap();
    assert_eq!(pool.status().size, 2);
}
