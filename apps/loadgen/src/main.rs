//! `epop-loadgen`: a small, honest load generator for EPOP's benchmarks (see `bench/README.md`).
//!
//! It drives a running gateway over real sockets and reports throughput and latency percentiles (HDR
//! histograms, microsecond resolution). Request loops are bounded in time and only target the address given
//! (loopback in the benchmarks).

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use hdrhistogram::Histogram;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, Parser)]
#[command(name = "epop-loadgen", about = "Load generator for EPOP benchmarks")]
struct Cli {
    /// The gateway's base URL.
    #[arg(long, default_value = "http://127.0.0.1:18181")]
    base_url: String,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Debug, Subcommand)]
enum Scenario {
    /// Logins at a fixed concurrency, while a probe measures `/health/live` latency at a steady rate.
    Login {
        /// E-mail of an existing account.
        #[arg(long)]
        email: String,
        /// Its password.
        #[arg(long)]
        password: String,
        /// Concurrent login loops.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// Seconds to run.
        #[arg(long, default_value_t = 15)]
        seconds: u64,
        /// `/health/live` probes per second (0: none).
        #[arg(long, default_value_t = 200)]
        probe_rate: u32,
    },
}

fn histogram() -> anyhow::Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, 60_000_000, 3).context("histogram bounds")
}

fn print_latency(label: &str, h: &Histogram<u64>) {
    println!(
        "{label}: n={} p50={:.2}ms p90={:.2}ms p99={:.2}ms max={:.2}ms",
        h.len(),
        h.value_at_quantile(0.50) as f64 / 1000.0,
        h.value_at_quantile(0.90) as f64 / 1000.0,
        h.value_at_quantile(0.99) as f64 / 1000.0,
        h.max() as f64 / 1000.0
    );
}

async fn login_scenario(
    base: String,
    email: String,
    password: String,
    concurrency: usize,
    seconds: u64,
    probe_rate: u32,
) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency + 4)
        .build()?;
    let stop = Arc::new(AtomicBool::new(false));
    let unavailable = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut loops = Vec::new();
    for _ in 0..concurrency {
        let (client, stop, unavailable, failures) = (
            client.clone(),
            stop.clone(),
            unavailable.clone(),
            failures.clone(),
        );
        let url = format!("{base}/api/auth/login");
        let body = json!({"email": email, "password": password});
        loops.push(tokio::spawn(async move {
            let mut latencies = histogram()?;
            while !stop.load(Ordering::Relaxed) {
                let sent = Instant::now();
                let response = client.post(&url).json(&body).send().await;
                match response.map(|r| r.status().as_u16()) {
                    Ok(200) => latencies.record(sent.elapsed().as_micros() as u64)?,
                    Ok(503) => {
                        unavailable.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            anyhow::Ok(latencies)
        }));
    }
    let probe = (probe_rate > 0).then(|| {
        let (client, stop) = (client.clone(), stop.clone());
        let url = format!("{base}/health/live");
        tokio::spawn(async move {
            let mut latencies = histogram()?;
            let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(probe_rate)));
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            while !stop.load(Ordering::Relaxed) {
                ticker.tick().await;
                let sent = Instant::now();
                if client
                    .get(&url)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
                {
                    latencies.record(sent.elapsed().as_micros() as u64)?;
                }
            }
            anyhow::Ok(latencies)
        })
    });
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut logins = histogram()?;
    for handle in loops {
        logins.add(handle.await??)?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "login: concurrency={concurrency} ok={} rate={:.1}/s unavailable_503={} failures={}",
        logins.len(),
        logins.len() as f64 / elapsed,
        unavailable.load(Ordering::Relaxed),
        failures.load(Ordering::Relaxed)
    );
    print_latency("login latency", &logins);
    if let Some(probe) = probe {
        print_latency("/health/live latency under login load", &probe.await??);
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    let base = cli.base_url.trim_end_matches('/').to_owned();
    match cli.scenario {
        Scenario::Login {
            email,
            password,
            concurrency,
            seconds,
            probe_rate,
        } => login_scenario(base, email, password, concurrency, seconds, probe_rate).await,
    }
}
