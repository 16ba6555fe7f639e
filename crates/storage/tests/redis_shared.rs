//! The shared Redis connection answers commands and scripts in one round trip each.

use epop_storage::redis::{SharedConnection, ping};

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

#[tokio::test]
async fn the_shared_connection_answers_commands_and_scripts() {
    let redis = SharedConnection::new(&redis_url()).unwrap();
    ping(&redis).await.unwrap();
    let mut conn = redis.get().await.unwrap();
    let answer: i64 = redis::Script::new("return tonumber(ARGV[1]) + 1")
        .arg(41)
        .invoke_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(answer, 42);
}

#[tokio::test]
async fn an_unreachable_redis_is_an_outage_not_a_bug() {
    let redis = SharedConnection::new("redis://127.0.0.1:1").unwrap();
    let error = ping(&redis).await.unwrap_err();
    assert!(
        matches!(error, epop_storage::StorageError::RedisUnavailable(_)),
        "{error:?}"
    );
}
