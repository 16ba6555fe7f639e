//! `epop-loadgen`: a small, honest load generator for EPOP's benchmarks (see `bench/README.md`).
//!
//! It drives a running gateway over real sockets and reports throughput and latency percentiles (HDR
//! histograms, microsecond resolution). Request loops are bounded in time and only target the address given
//! (loopback in the benchmarks). Connections are kept alive and pooled, one per concurrent loop, so the
//! figures measure the gateway rather than TCP handshakes.

mod fanout;
mod floor;
mod rawws;
mod team;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use hdrhistogram::Histogram;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use reqwest::{Client, RequestBuilder, Url};
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
    /// `GET /api/conversations/{id}/messages?limit=50` (the newest page) in closed loops.
    MessagesList {
        #[command(flatten)]
        target: Target,
        /// Messages per page.
        #[arg(long, default_value_t = 50)]
        limit: u16,
    },
    /// `POST /api/conversations/{id}/messages` (a short text, no `client_id`, no attachments) in closed loops.
    MessagesSend {
        #[command(flatten)]
        target: Target,
    },
    /// `GET /api/search/messages?q=...` in closed loops, cycling through the queries; latency is reported per
    /// query and overall.
    Search {
        /// Access token of the searching user.
        #[arg(long)]
        token: String,
        /// Comma-separated queries, used in turn (e.g. `report,项目,会议,laporan`).
        #[arg(long, value_delimiter = ',', required = true)]
        queries: Vec<String>,
        /// Results per page.
        #[arg(long, default_value_t = 20)]
        limit: u16,
        /// Concurrent request loops.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// Seconds to run.
        #[arg(long, default_value_t = 15)]
        seconds: u64,
    },
    /// N WebSocket clients (Engine.IO/Socket.IO spoken by hand) in one conversation; messages posted over REST;
    /// delivery latency, deliveries per second, lost deliveries and the gateway's memory per connection.
    Fanout(fanout::FanoutArgs),
    /// No server: threads write a frame to each of N loopback connections, another reads them; the least
    /// time fan-out to N sockets can take on this machine.
    LoopbackFloor(floor::FloorArgs),
    /// Issue 10's team scenario: N sockets of one conversation timed over `message:send` while a quiet phase
    /// and then a burst of REST posts into a large group with offline members run; the outbox backlog sampled.
    TeamBurst(team::TeamBurstArgs),
}

/// Who calls, on which conversation, how hard and for how long (the message scenarios).
#[derive(Debug, clap::Args)]
struct Target {
    /// Access token of a member of the conversation.
    #[arg(long)]
    token: String,
    /// The conversation's id.
    #[arg(long)]
    conversation: String,
    /// Concurrent request loops (each waits for its answer before sending again).
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Seconds to run.
    #[arg(long, default_value_t = 15)]
    seconds: u64,
}

/// An empty latency histogram: 1 µs to 60 s, three significant digits.
fn histogram() -> anyhow::Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, 60_000_000, 3).context("histogram bounds")
}

/// Prints the count and percentiles of a latency histogram (microseconds) in milliseconds.
fn print_latency(label: &str, h: &Histogram<u64>) {
    println!(
        "{label}: n={} p50={:.2}ms p90={:.2}ms p95={:.2}ms p99={:.2}ms max={:.2}ms",
        h.len(),
        h.value_at_quantile(0.50) as f64 / 1000.0,
        h.value_at_quantile(0.90) as f64 / 1000.0,
        h.value_at_quantile(0.95) as f64 / 1000.0,
        h.value_at_quantile(0.99) as f64 / 1000.0,
        h.max() as f64 / 1000.0
    );
}

/// Builds request `n` (counted across all loops) and names the histogram (by index) it is recorded in.
type MakeRequest = dyn Fn(&Client, u64) -> (usize, RequestBuilder) + Send + Sync;

/// What a closed-loop run observed.
struct Outcome {
    /// Latencies of `2xx` answers, one histogram per request kind.
    latencies: Vec<Histogram<u64>>,
    /// Answers outside `2xx`.
    non_2xx: u64,
    /// Requests that got no answer (connection or protocol errors).
    errors: u64,
    /// Wall-clock seconds from the first request to the last answer.
    elapsed: f64,
}

impl Outcome {
    /// All request kinds together.
    fn overall(&self) -> anyhow::Result<Histogram<u64>> {
        let mut all = histogram()?;
        for h in &self.latencies {
            all.add(h)?;
        }
        Ok(all)
    }

    /// Prints the throughput line and the overall latency of a scenario.
    fn print(&self, scenario: &str, concurrency: usize) -> anyhow::Result<()> {
        let all = self.overall()?;
        println!(
            "{scenario}: concurrency={concurrency} ok={} rate={:.1}/s non_2xx={} errors={} seconds={:.2}",
            all.len(),
            all.len() as f64 / self.elapsed,
            self.non_2xx,
            self.errors,
            self.elapsed
        );
        print_latency(&format!("{scenario} latency"), &all);
        Ok(())
    }
}

/// A keep-alive client sending `token` as bearer on every request, pooling one connection per loop.
fn authorized_client(token: &str, concurrency: usize) -> anyhow::Result<Client> {
    let mut headers = HeaderMap::new();
    let mut value =
        HeaderValue::from_str(&format!("Bearer {token}")).context("the token is not a valid header value")?;
    value.set_sensitive(true);
    headers.insert(AUTHORIZATION, value);
    Ok(Client::builder()
        .default_headers(headers)
        .pool_max_idle_per_host(concurrency + 4)
        .pool_idle_timeout(Duration::from_secs(90))
        .tcp_nodelay(true)
        .build()?)
}

/// Runs `concurrency` closed loops for `seconds`: each sends a request, reads the whole answer, records its
/// latency under the kind `make` names (one of `kinds`), and goes again.
async fn closed_loops(
    client: &Client,
    concurrency: usize,
    seconds: u64,
    kinds: usize,
    make: Arc<MakeRequest>,
) -> anyhow::Result<Outcome> {
    let stop = Arc::new(AtomicBool::new(false));
    let sequence = Arc::new(AtomicU64::new(0));
    let non_2xx = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut loops = Vec::new();
    for _ in 0..concurrency {
        let (client, stop, sequence, non_2xx, errors, make) = (
            client.clone(),
            stop.clone(),
            sequence.clone(),
            non_2xx.clone(),
            errors.clone(),
            make.clone(),
        );
        loops.push(tokio::spawn(async move {
            let mut latencies = (0..kinds)
                .map(|_| histogram())
                .collect::<anyhow::Result<Vec<_>>>()?;
            while !stop.load(Ordering::Relaxed) {
                let (kind, request) = make(&client, sequence.fetch_add(1, Ordering::Relaxed));
                let sent = Instant::now();
                match request.send().await {
                    Ok(response) => {
                        let status = response.status();
                        let body = response.bytes().await;
                        match (status.is_success(), body) {
                            (true, Ok(_)) => {
                                if let Some(h) = latencies.get_mut(kind) {
                                    h.record(sent.elapsed().as_micros() as u64)?;
                                }
                            }
                            (false, Ok(_)) => {
                                non_2xx.fetch_add(1, Ordering::Relaxed);
                            }
                            (_, Err(_)) => {
                                errors.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                    Err(_) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            anyhow::Ok(latencies)
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = (0..kinds)
        .map(|_| histogram())
        .collect::<anyhow::Result<Vec<_>>>()?;
    for handle in loops {
        for (total, part) in latencies.iter_mut().zip(handle.await??) {
            total.add(part)?;
        }
    }
    Ok(Outcome {
        latencies,
        non_2xx: non_2xx.load(Ordering::Relaxed),
        errors: errors.load(Ordering::Relaxed),
        elapsed: started.elapsed().as_secs_f64(),
    })
}

/// The newest page of a conversation, over and over.
async fn messages_list_scenario(base: &str, target: Target, limit: u16) -> anyhow::Result<()> {
    let client = authorized_client(&target.token, target.concurrency)?;
    let url = Url::parse_with_params(
        &format!("{base}/api/conversations/{}/messages", target.conversation),
        &[("limit", limit.to_string())],
    )?;
    let make: Arc<MakeRequest> = Arc::new(move |client: &Client, _| (0, client.get(url.clone())));
    let outcome = closed_loops(&client, target.concurrency, target.seconds, 1, make).await?;
    outcome.print("messages-list", target.concurrency)
}

/// Short messages posted to one conversation (each one takes the conversation's next `seq`).
async fn messages_send_scenario(base: &str, target: Target) -> anyhow::Result<()> {
    let client = authorized_client(&target.token, target.concurrency)?;
    let url = Url::parse(&format!(
        "{base}/api/conversations/{}/messages",
        target.conversation
    ))?;
    let make: Arc<MakeRequest> = Arc::new(move |client: &Client, n| {
        let content = format!("bench message {n}: please review the report before the meeting, terima kasih");
        (0, client.post(url.clone()).json(&json!({ "content": content })))
    });
    let outcome = closed_loops(&client, target.concurrency, target.seconds, 1, make).await?;
    outcome.print("messages-send", target.concurrency)
}

/// Searches over all of the user's conversations, cycling through `queries`.
async fn search_scenario(
    base: &str,
    token: &str,
    queries: &[String],
    limit: u16,
    concurrency: usize,
    seconds: u64,
) -> anyhow::Result<()> {
    let queries: Vec<String> = queries
        .iter()
        .map(|q| q.trim().to_owned())
        .filter(|q| !q.is_empty())
        .collect();
    anyhow::ensure!(
        !queries.is_empty(),
        "--queries needs at least one non-empty query"
    );
    let client = authorized_client(token, concurrency)?;
    let urls = queries
        .iter()
        .map(|q| {
            Url::parse_with_params(
                &format!("{base}/api/search/messages"),
                &[("q", q.as_str()), ("limit", &limit.to_string())],
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let kinds = urls.len();
    let make: Arc<MakeRequest> = Arc::new(move |client: &Client, n| {
        let kind = (n % kinds as u64) as usize;
        (kind, client.get(urls[kind].clone()))
    });
    let outcome = closed_loops(&client, concurrency, seconds, kinds, make).await?;
    outcome.print("search", concurrency)?;
    for (query, h) in queries.iter().zip(&outcome.latencies) {
        print_latency(&format!("search q={query:?}"), h);
    }
    Ok(())
}

/// Logins in closed loops, with an optional open-loop `/health/live` probe beside them.
async fn login_scenario(
    base: String,
    email: String,
    password: String,
    concurrency: usize,
    seconds: u64,
    probe_rate: u32,
) -> anyhow::Result<()> {
    let client = Client::builder()
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
        Scenario::MessagesList { target, limit } => messages_list_scenario(&base, target, limit).await,
        Scenario::MessagesSend { target } => messages_send_scenario(&base, target).await,
        Scenario::Search {
            token,
            queries,
            limit,
            concurrency,
            seconds,
        } => search_scenario(&base, &token, &queries, limit, concurrency, seconds).await,
        Scenario::Fanout(args) => fanout::run(&base, args).await,
        Scenario::TeamBurst(args) => team::run(&base, args).await,
        Scenario::LoopbackFloor(args) => tokio::task::spawn_blocking(move || floor::run(&args)).await?,
    }
}
