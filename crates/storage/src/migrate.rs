//! Embedded migrations, applied under an advisory lock.

use crate::{StorageError, StorageResult};
use diesel::RunQueryDsl as _;
use diesel::connection::Connection as _;
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

/// The SQL migrations in `migrations/`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations");

/// The names of the migrations this build applies (`<version>_<name>`), oldest first: what a build compiled before
/// a migration was added lacks, however the `migrations/` folder reads now.
pub fn embedded_names() -> StorageResult<Vec<String>> {
    let migrations = diesel::migration::MigrationSource::<diesel::pg::Pg>::migrations(&MIGRATIONS)
        .map_err(|e| StorageError::Migration(e.to_string()))?;
    Ok(migrations.iter().map(|m| m.name().to_string()).collect())
}

/// The advisory lock key that serialises concurrent migration runs ("EPOPMIGR" in ASCII).
const MIGRATION_LOCK_KEY: i64 = 0x4550_4F50_4D49_4752;

/// Applies every pending migration and returns how many ran. Safe to call from several processes at once: the
/// first takes an advisory lock, the others wait for it and then find nothing left to do.
pub async fn run_pending(database_url: &str) -> StorageResult<usize> {
    let url = database_url.to_owned();
    // The wrapper drives the async connection by blocking on the runtime: keep it off the async workers.
    tokio::task::spawn_blocking(move || -> StorageResult<usize> {
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url)?;
        diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})")).execute(&mut conn)?;
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map(|versions| versions.len())
            .map_err(|e| StorageError::Migration(e.to_string()));
        let unlocked =
            diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})")).execute(&mut conn);
        let applied = applied?;
        unlocked?;
        Ok(applied)
    })
    .await?
}
