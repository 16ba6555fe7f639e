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
        /// Ignore `Retry-After` on `503` and try again at once (a misbehaving client); by default a refused
        /// loop waits the seconds the server asked for, as a well-behaved client does.
        #[arg(long)]
        ignore_retry_after: bool,
    },
    /// No server: times Argon2id with the gateway's parameters (19 MiB, 2 passes, 1 lane, reused memory) on one
    /// thread, then on one thread per core at once, and prints the machine's login limit `cores / time per hash`.
    HashLimit {
        /// Hashes per measurement.
        #[arg(long, default_value_t = 40)]
        hashes: u32,
    },
    /// `GET /api/conversations/{id}/messages?limit=50` (the newest page) in closed loops.
    MessagesList {
        #[command(flatten)]
        target: Target,
        /// Messages per page.
        #[arg(long, default_value_t = 50)]
        limit: u16,
    },
    /// `POST /api/conversations/{id}/messages` (a short text, no `client_id`, no attachments) in closed loops,
    /// or offered at `--rate` by the same loops.
    MessagesSend {
        #[command(flatten)]
        target: Target,
        /// Sends per second, all loops together (each send waits for its turn); closed loops when absent.
        #[arg(long)]
        rate: Option<f64>,
        /// Thread roots, comma-separated, one per `--conversation` in the same order (empty: a top-level message):
        /// the sends to that conversation are replies in that thread. With several conversations, latency is
        /// also reported per conversation, so a thread and a flat conversation are compared in the same run.
        #[arg(long, value_delimiter = ',')]
        thread_root: Vec<String>,
    },
    /// `GET` of the paths in turn (e.g. `/api/threads?limit=50,/api/conversations?limit=50`) in closed loops;
    /// latency is reported per path and overall, so lists are compared in the same run.
    Get {
        /// Access token of the user.
        #[arg(long)]
        token: String,
        /// Comma-separated paths with their queries, requested in turn.
        #[arg(long, value_delimiter = ',', required = true)]
        path: Vec<String>,
        /// Concurrent request loops.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// Seconds to run.
        #[arg(long, default_value_t = 15)]
        seconds: u64,
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
    /// The conversation's id; several, comma-separated, are posted to in turn (`messages-send`) or the first
    /// is read (`messages-list`).
    #[arg(long, value_delimiter = ',', required = true)]
    conversation: Vec<String>,
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
    loops_at(client, concurrency, seconds, kinds, None, make).await
}

/// `concurrency` request loops for `seconds`; with `pace` (requests per second, all loops together) request
/// `n` waits for its turn at `n / pace` seconds after the start, so the loops offer that rate while they keep up
/// (an open loop bounded by `concurrency`), and run closed when `pace` is `None`.
async fn loops_at(
    client: &Client,
    concurrency: usize,
    seconds: u64,
    kinds: usize,
    pace: Option<f64>,
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
                let n = sequence.fetch_add(1, Ordering::Relaxed);
                if let Some(rate) = pace.filter(|rate| *rate > 0.0) {
                    tokio::time::sleep_until((started + Duration::from_secs_f64(n as f64 / rate)).into())
                        .await;
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                }
                let (kind, request) = make(&client, n);
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
    let first = target.conversation.first().context("no conversation")?;
    let url = Url::parse_with_params(
        &format!("{base}/api/conversations/{first}/messages"),
        &[("limit", limit.to_string())],
    )?;
    let make: Arc<MakeRequest> = Arc::new(move |client: &Client, _| (0, client.get(url.clone())));
    let outcome = closed_loops(&client, target.concurrency, target.seconds, 1, make).await?;
    outcome.print("messages-list", target.concurrency)
}

/// Short messages posted to the conversations in turn (each one takes its conversation's next `seq`), as replies
/// in the thread given for a conversation.
async fn messages_send_scenario(
    base: &str,
    target: Target,
    rate: Option<f64>,
    thread_roots: &[String],
) -> anyhow::Result<()> {
    let client = authorized_client(&target.token, target.concurrency)?;
    let urls = target
        .conversation
        .iter()
        .map(|id| Url::parse(&format!("{base}/api/conversations/{id}/messages")))
        .collect::<Result<Vec<_>, _>>()?;
    anyhow::ensure!(!urls.is_empty(), "no conversation");
    anyhow::ensure!(
        thread_roots.len() <= urls.len(),
        "more --thread-root values than conversations"
    );
    let roots: Vec<Option<String>> = (0..urls.len())
        .map(|i| {
            thread_roots
                .get(i)
                .map(|root| root.trim().to_owned())
                .filter(|root| !root.is_empty())
        })
        .collect();
    let labels: Vec<String> = target
        .conversation
        .iter()
        .zip(&roots)
        .map(|(conversation, root)| match root {
            Some(root) => format!("messages-send to {conversation} in thread {root}"),
            None => format!("messages-send to {conversation}"),
        })
        .collect();
    let kinds = urls.len();
    let make: Arc<MakeRequest> = Arc::new(move |client: &Client, n| {
        let content = format!("bench message {n}: please review the report before the meeting, terima kasih");
        let kind = n as usize % kinds;
        let body = match &roots[kind] {
            Some(root) => json!({ "content": content, "thread_root_id": root }),
            None => json!({ "content": content }),
        };
        (kind, client.post(urls[kind].clone()).json(&body))
    });
    let outcome = loops_at(&client, target.concurrency, target.seconds, kinds, rate, make).await?;
    outcome.print("messages-send", target.concurrency)?;
    if kinds > 1 {
        for (label, h) in labels.iter().zip(&outcome.latencies) {
            print_latency(label, h);
        }
    }
    Ok(())
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
    let urls = queries
        .iter()
        .map(|q| {
            Url::parse_with_params(
                &format!("{base}/api/search/messages"),
                &[("q", q.as_str()), ("limit", &limit.to_string())],
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let labels: Vec<String> = queries.iter().map(|q| format!("search q={q:?}")).collect();
    gets_in_turn(token, urls, &labels, concurrency, seconds, "search").await
}

/// `GET`s of `paths` in turn; latency per path.
async fn get_scenario(
    base: &str,
    token: &str,
    paths: &[String],
    concurrency: usize,
    seconds: u64,
) -> anyhow::Result<()> {
    anyhow::ensure!(!paths.is_empty(), "--path needs at least one path");
    let urls = paths
        .iter()
        .map(|path| Url::parse(&format!("{base}{}", path.trim())))
        .collect::<Result<Vec<_>, _>>()?;
    let labels: Vec<String> = paths.iter().map(|path| format!("get {}", path.trim())).collect();
    gets_in_turn(token, urls, &labels, concurrency, seconds, "get").await
}

/// `GET`s of `urls` in turn in closed loops as `token`'s user; prints the run as `scenario`, then the latency of
/// each URL under its label.
async fn gets_in_turn(
    token: &str,
    urls: Vec<Url>,
    labels: &[String],
    concurrency: usize,
    seconds: u64,
    scenario: &str,
) -> anyhow::Result<()> {
    let client = authorized_client(token, concurrency)?;
    let kinds = urls.len();
    let make: Arc<MakeRequest> = Arc::new(move |client: &Client, n| {
        let kind = (n % kinds as u64) as usize;
        (kind, client.get(urls[kind].clone()))
    });
    let outcome = closed_loops(&client, concurrency, seconds, kinds, make).await?;
    outcome.print(scenario, concurrency)?;
    for (label, h) in labels.iter().zip(&outcome.latencies) {
        print_latency(label, h);
    }
    Ok(())
}

/// Logins in closed loops, with an optional open-loop `/health/live` probe beside them. A loop refused with
/// `503` waits the `Retry-After` it was given (unless `ignore_retry_after`), bounded by the end of the run.
async fn login_scenario(
    base: String,
    email: String,
    password: String,
    concurrency: usize,
    seconds: u64,
    probe_rate: u32,
    ignore_retry_after: bool,
) -> anyhow::Result<()> {
    let client = Client::builder()
        .pool_max_idle_per_host(concurrency + 4)
        .build()?;
    let stop = Arc::new(AtomicBool::new(false));
    let unavailable = Arc::new(AtomicU64::new(0));
    let without_retry_after = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    let mut loops = Vec::new();
    for _ in 0..concurrency {
        let (client, stop, unavailable, without_retry_after, failures) = (
            client.clone(),
            stop.clone(),
            unavailable.clone(),
            without_retry_after.clone(),
            failures.clone(),
        );
        let url = format!("{base}/api/auth/login");
        let body = json!({"email": email, "password": password});
        loops.push(tokio::spawn(async move {
            let mut latencies = histogram()?;
            let mut refusals = histogram()?;
            while !stop.load(Ordering::Relaxed) {
                let sent = Instant::now();
                let response = client.post(&url).json(&body).send().await;
                let Ok(response) = response else {
                    failures.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                let status = response.status().as_u16();
                let retry_after = response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok());
                let read = response.bytes().await.is_ok();
                match (status, read) {
                    (200, true) => latencies.record(sent.elapsed().as_micros() as u64)?,
                    (503, true) => {
                        refusals.record(sent.elapsed().as_micros() as u64)?;
                        unavailable.fetch_add(1, Ordering::Relaxed);
                        match retry_after {
                            None => {
                                without_retry_after.fetch_add(1, Ordering::Relaxed);
                            }
                            Some(secs) if !ignore_retry_after => {
                                let until =
                                    (tokio::time::Instant::now() + Duration::from_secs(secs)).min(deadline);
                                tokio::time::sleep_until(until).await;
                            }
                            Some(_) => {}
                        }
                    }
                    _ => {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            anyhow::Ok((latencies, refusals))
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
    tokio::time::sleep_until(deadline).await;
    stop.store(true, Ordering::Relaxed);
    let mut logins = histogram()?;
    let mut refusals = histogram()?;
    for handle in loops {
        let (ok, refused) = handle.await??;
        logins.add(ok)?;
        refusals.add(refused)?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let refused = unavailable.load(Ordering::Relaxed);
    println!(
        "login: concurrency={concurrency} ok={} rate={:.1}/s unavailable_503={refused} ({:.1}/s, {} without Retry-After) failures={} seconds={elapsed:.1} retry_after={}",
        logins.len(),
        logins.len() as f64 / elapsed,
        refused as f64 / elapsed,
        without_retry_after.load(Ordering::Relaxed),
        failures.load(Ordering::Relaxed),
        if ignore_retry_after { "ignored" } else { "honoured" },
    );
    print_latency("login latency (200)", &logins);
    if !refusals.is_empty() {
        print_latency("refusal latency (503)", &refusals);
    }
    if let Some(probe) = probe {
        print_latency("/health/live latency under login load", &probe.await??);
    }
    Ok(())
}

/// Times `hashes` Argon2id hashes with the gateway's parameters on one thread, then on `cores` threads at once,
/// and prints the login limit of this machine: `cores / time per hash` (single-threaded time).
fn hash_limit(hashes: u32) -> anyhow::Result<()> {
    use argon2::{Algorithm, Argon2, Block, Params, Version};
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let hashes = hashes.max(1);
    // Hashes per second of one thread, its memory block reused as the gateway's hashing threads do.
    let run = move |seed: u8| -> anyhow::Result<Duration> {
        let params = Params::DEFAULT;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let mut memory = vec![Block::new(); params.block_count()];
        let mut out = [0u8; 32];
        let salt = [seed; 16];
        // One hash to warm up (page faults of the block, CPU frequency).
        argon2
            .hash_password_into_with_memory(b"warm up", &salt, &mut out, &mut memory)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let started = Instant::now();
        for i in 0..hashes {
            argon2
                .hash_password_into_with_memory(&i.to_le_bytes(), &salt, &mut out, &mut memory)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        Ok(started.elapsed() / hashes)
    };
    let single = run(0)?;
    let parallel = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..cores)
            .map(|i| scope.spawn(move || run(u8::try_from(i % 256).unwrap_or(0))))
            .collect();
        threads
            .into_iter()
            .map(|t| {
                t.join()
                    .map_err(|_| anyhow::anyhow!("a hashing thread panicked"))?
            })
            .collect::<anyhow::Result<Vec<_>>>()
    })?;
    let slowest = parallel.iter().max().copied().unwrap_or(single);
    let limit = cores as f64 / single.as_secs_f64();
    println!(
        "hash-limit: cores={cores} time_per_hash={:.2}ms (one thread alone) limit={limit:.1}/s (cores / time per hash); with {cores} threads at once: {:.2}ms per hash = {:.1}/s",
        single.as_secs_f64() * 1000.0,
        slowest.as_secs_f64() * 1000.0,
        cores as f64 / slowest.as_secs_f64()
    );
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
            ignore_retry_after,
        } => {
            login_scenario(
                base,
                email,
                password,
                concurrency,
                seconds,
                probe_rate,
                ignore_retry_after,
            )
            .await
        }
        Scenario::HashLimit { hashes } => tokio::task::spawn_blocking(move || hash_limit(hashes)).await?,
        Scenario::MessagesList { target, limit } => messages_list_scenario(&base, target, limit).await,
        Scenario::MessagesSend {
            target,
            rate,
            thread_root,
        } => messages_send_scenario(&base, target, rate, &thread_root).await,
        Scenario::Get {
            token,
            path,
            concurrency,
            seconds,
        } => get_scenario(&base, &token, &path, concurrency, seconds).await,
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
