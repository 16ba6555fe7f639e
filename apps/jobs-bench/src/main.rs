//! `epop-jobs-bench`: how many jobs per second EPOP's durable queue processes with a no-op handler.
//!
//! It migrates the database it is given, enqueues `--jobs` jobs in one statement, then runs `--workers`
//! concurrent workers (claiming `--batch` jobs at a time with `FOR UPDATE SKIP LOCKED`, marking them done)
//! until the queue is empty, and reports the rate. Point it at a scratch database: it empties `jobs`.

use async_trait::async_trait;
use clap::Parser;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use epop_storage::jobs::{JobHandler, JobWorker};
use serde_json::Value;
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug, Parser)]
#[command(name = "epop-jobs-bench")]
struct Cli {
    /// A scratch database (its `jobs` table is emptied).
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// Jobs to process.
    #[arg(long, default_value_t = 50_000)]
    jobs: i64,
    /// Jobs claimed per round trip.
    #[arg(long, default_value_t = 100)]
    batch: i64,
    /// Concurrent workers.
    #[arg(long, default_value_t = 4)]
    workers: usize,
}

struct Noop;

#[async_trait]
impl JobHandler for Noop {
    fn queue(&self) -> &'static str {
        "bench"
    }

    async fn run(&self, _payload: &Value) -> Result<(), String> {
        Ok(())
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    epop_storage::migrate::run_pending(&cli.database_url).await?;
    let mut conn = AsyncPgConnection::establish(&cli.database_url).await?;
    diesel::sql_query("TRUNCATE jobs").execute(&mut conn).await?;
    let started = Instant::now();
    diesel::sql_query(format!(
        "INSERT INTO jobs (queue, payload) SELECT 'bench', jsonb_build_object('n', n) FROM generate_series(1, {}) AS n",
        cli.jobs
    ))
    .execute(&mut conn)
    .await?;
    println!(
        "enqueued {} jobs in {:.2} s",
        cli.jobs,
        started.elapsed().as_secs_f64()
    );

    let pool = epop_storage::db::build_pool(&cli.database_url, cli.workers + 2)?;
    let worker = JobWorker::new(pool, "bench".into(), cli.batch, vec![Arc::new(Noop)]);
    let started = Instant::now();
    let runs = (0..cli.workers).map(|_| {
        let worker = worker.clone();
        tokio::spawn(async move {
            let mut processed = 0usize;
            loop {
                match worker.run_once().await {
                    Ok(0) => return Ok::<usize, anyhow::Error>(processed),
                    Ok(n) => processed += n,
                    Err(error) => return Err(error.into()),
                }
            }
        })
    });
    let mut processed = 0;
    for run in runs {
        processed += run.await??;
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "processed {processed} jobs in {seconds:.2} s = {:.0} jobs/s (workers {}, batch {}, no-op handler)",
        processed as f64 / seconds,
        cli.workers,
        cli.batch
    );
    Ok(())
}
