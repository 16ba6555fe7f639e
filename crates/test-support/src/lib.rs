//! # epop-test-support
//!
//! Isolation for integration tests that run in parallel (nextest runs each test in its own process):
//!
//! - [`TestDatabase`]: a private PostgreSQL database per test, created with `CREATE DATABASE .. TEMPLATE`
//!   from a template that is migrated once per migration set (its name carries a hash of `migrations/` and of
//!   the migrations the build embeds), built under an advisory lock so concurrent processes build it once, and
//!   dropped when the test ends. Databases left behind by killed test processes are swept after an hour.
//! - [`unique_prefix`]: a Redis key prefix per test, so rate limits and channels never collide.
//! - [`s3::TestS3`]: an in-process, signature-verifying S3 server (s3s-fs) on a random local port, serving a
//!   fresh temporary directory with one bucket; stopped and removed when dropped.
//! - [`add_person`]: someone in the shared `users` directory, for the examples and tests of one domain crate
//!   that run without `epop-auth`.
//!
//! The server is the one `DATABASE_URL` names (default `postgres://postgres@127.0.0.1:5432/postgres`).

pub mod s3;

use anyhow::Context as _;
use diesel::QueryableByName;
use diesel::sql_types::Text;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use sha2::{Digest as _, Sha256};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The advisory lock that serialises template builds across test processes.
const TEMPLATE_LOCK: i64 = 0x4550_4F50_5445_5354;
/// Per-test databases older than this are leftovers of killed runs.
const LEFTOVER_AGE: Duration = Duration::from_secs(3600);

/// The PostgreSQL server URL for tests, from `DATABASE_URL`, pointing at its maintenance database.
pub fn server_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The Redis URL for tests, from `REDIS_URL`.
pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A Redis key prefix no other test uses.
pub fn unique_prefix() -> String {
    format!("epoptest:{}", uuid::Uuid::now_v7().simple())
}

/// `url` with its database name replaced by `database`.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let without_db = match base.rfind('/') {
        Some(slash) if base[..slash].contains("://") && slash > base.find("://").unwrap_or(0) + 2 => {
            &base[..slash]
        }
        _ => base,
    };
    match query {
        Some(query) => format!("{without_db}/{database}?{query}"),
        None => format!("{without_db}/{database}"),
    }
}

fn migrations_hash() -> anyhow::Result<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    let mut entries: Vec<_> = walk(&dir)?;
    entries.sort();
    let mut hasher = Sha256::new();
    for path in entries {
        hasher.update(
            path.strip_prefix(&dir)
                .unwrap_or(&path)
                .to_string_lossy()
                .as_bytes(),
        );
        hasher.update(std::fs::read(&path)?);
    }
    // And what this build applies: a test binary compiled before a migration arrived reads the same folder but
    // would build its template without that migration under the complete set's name, for every later run.
    for name in epop_storage::migrate::embedded_names()? {
        hasher.update(name.as_bytes());
    }
    Ok(hasher
        .finalize()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect())
}

fn walk(dir: &Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            files.extend(walk(&path)?);
        } else {
            files.push(path);
        }
    }
    Ok(files)
}

#[derive(QueryableByName)]
struct DatabaseName {
    #[diesel(sql_type = Text)]
    datname: String,
}

/// A test database or template, with when a template was built (its comment; empty for others).
#[derive(QueryableByName)]
struct SweptDatabase {
    #[diesel(sql_type = Text)]
    datname: String,
    #[diesel(sql_type = Text)]
    built: String,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A private, migrated database that is dropped when this value is dropped.
#[derive(Debug)]
pub struct TestDatabase {
    /// URL of the private database.
    pub url: String,
    name: String,
    server: String,
}

impl TestDatabase {
    /// Creates a fresh database from the migrated template.
    pub async fn create() -> anyhow::Result<Self> {
        let server = server_url();
        let template = ensure_template(&server).await?;
        let name = format!("epop_t_{}_{}", now_secs(), uuid::Uuid::now_v7().simple());
        let mut conn = AsyncPgConnection::establish(&server)
            .await
            .context("connecting to the test PostgreSQL")?;
        let mut attempts = 0;
        loop {
            let created = diesel::sql_query(format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""))
                .execute(&mut conn)
                .await;
            match created {
                Ok(_) => break,
                // Another process may briefly hold the template (e.g. its builder closing): retry.
                Err(error)
                    if attempts < 50 && error.to_string().contains("being accessed by other users") =>
                {
                    attempts += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(error) => return Err(error).context("creating the test database"),
            }
        }
        Ok(Self {
            url: with_database(&server, &name),
            name,
            server,
        })
    }

    /// Creates an empty database (no schema), dropped like the others: the target of a restore.
    pub async fn create_empty() -> anyhow::Result<Self> {
        let server = server_url();
        let name = format!("epop_t_{}_{}", now_secs(), uuid::Uuid::now_v7().simple());
        let mut conn = AsyncPgConnection::establish(&server)
            .await
            .context("connecting to the test PostgreSQL")?;
        diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .await
            .context("creating the empty test database")?;
        Ok(Self {
            url: with_database(&server, &name),
            name,
            server,
        })
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let server = self.server.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime; use a separate thread with its own runtime.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async move {
                let mut conn = AsyncPgConnection::establish(&server).await.ok()?;
                diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .execute(&mut conn)
                    .await
                    .ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            eprintln!("warning: could not drop test database {}", self.name);
        }
    }
}

async fn ensure_template(server: &str) -> anyhow::Result<String> {
    let template = format!("epop_tpl_{}", migrations_hash()?);
    let mut conn = AsyncPgConnection::establish(server)
        .await
        .context("connecting to the test PostgreSQL (DATABASE_URL)")?;
    if database_exists(&mut conn, &template).await? {
        return Ok(template);
    }
    diesel::sql_query(format!("SELECT pg_advisory_lock({TEMPLATE_LOCK})"))
        .execute(&mut conn)
        .await?;
    let built = async {
        if database_exists(&mut conn, &template).await? {
            return Ok(());
        }
        sweep_leftovers(&mut conn).await?;
        let building = format!("{template}_building");
        diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"))
            .execute(&mut conn)
            .await?;
        diesel::sql_query(format!("CREATE DATABASE \"{building}\""))
            .execute(&mut conn)
            .await?;
        epop_storage::migrate::run_pending(&with_database(server, &building)).await?;
        diesel::sql_query(format!("ALTER DATABASE \"{building}\" RENAME TO \"{template}\""))
            .execute(&mut conn)
            .await?;
        // When it was built, so that other checkouts (other migration sets) leave it alone for a while.
        diesel::sql_query(format!("COMMENT ON DATABASE \"{template}\" IS '{}'", now_secs()))
            .execute(&mut conn)
            .await?;
        anyhow::Ok(())
    }
    .await;
    diesel::sql_query(format!("SELECT pg_advisory_unlock({TEMPLATE_LOCK})"))
        .execute(&mut conn)
        .await?;
    built.context("building the test template database")?;
    Ok(template)
}

async fn database_exists(conn: &mut AsyncPgConnection, name: &str) -> anyhow::Result<bool> {
    let rows: Vec<DatabaseName> = diesel::sql_query("SELECT datname FROM pg_database WHERE datname = $1")
        .bind::<Text, _>(name)
        .load(conn)
        .await?;
    Ok(rows.iter().any(|row| row.datname == name))
}

async fn sweep_leftovers(conn: &mut AsyncPgConnection) -> anyhow::Result<()> {
    let rows: Vec<SweptDatabase> = diesel::sql_query(
        "SELECT datname, coalesce(shobj_description(oid, 'pg_database'), '') AS built FROM pg_database \
         WHERE datname LIKE 'epop\\_t\\_%' OR datname LIKE 'epop\\_tpl\\_%'",
    )
    .load(conn)
    .await?;
    let cutoff = now_secs().saturating_sub(LEFTOVER_AGE.as_secs());
    for row in rows {
        let stale = match row
            .datname
            .strip_prefix("epop_t_")
            .and_then(|rest| rest.split('_').next())
        {
            Some(ts) => ts.parse::<u64>().is_ok_and(|ts| ts < cutoff),
            // Templates of other migration sets (older ones, or another checkout's) once they are an hour old.
            None => row.built.parse::<u64>().map_or(true, |ts| ts < cutoff),
        };
        if stale {
            diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                row.datname
            ))
            .execute(conn)
            .await?;
        }
    }
    Ok(())
}

/// Adds `name` to the shared `users` directory (the table `epop-auth` owns and the other domain crates read)
/// with a fresh address and an unusable password, and returns their id: what an embedder that keeps its own
/// accounts writes for each of its people.
pub async fn add_person(pool: &epop_storage::db::DbPool, name: &str) -> anyhow::Result<uuid::Uuid> {
    let id = uuid::Uuid::now_v7();
    let mut conn = pool.get().await?;
    diesel::sql_query(
        "INSERT INTO users (id, name, email, password_hash, role) VALUES ($1, $2, $3, '!', 'member')",
    )
    .bind::<diesel::sql_types::Uuid, _>(id)
    .bind::<Text, _>(name)
    .bind::<Text, _>(format!("{}-{}@example.com", name.to_lowercase(), id.simple()))
    .execute(&mut conn)
    .await
    .with_context(|| format!("adding {name} to the users directory"))?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_names_are_swapped_in_urls() {
        assert_eq!(
            with_database("postgres://u@h:5432/postgres", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            with_database("postgres://u@h/postgres?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
