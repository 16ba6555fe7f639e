//! The `fanout` scenario: N raw WebSocket clients in one conversation, messages posted over REST, and the
//! delivery of every `message:new` to every client measured end to end.
//!
//! Each client speaks Engine.IO v4 / Socket.IO v5 by hand over a minimal WebSocket client (`rawws`, so that
//! the load generator's cost per frame stays far below the gateway's): it reads the `0{...}` open
//! frame, sends `40{"token":"<jwt>"}` with an HS256 access token the load generator signs itself for its user
//! (claims `sub`, `role`, `iat`, `exp`, `jti`, as `crates/auth/src/token.rs` issues them), waits for `40{...}`,
//! answers pings (`2`) with pongs (`3`), and parses `42["message:new",{...}]` frames. Every posted message's
//! content carries its sequence number and the wall-clock time (Unix nanoseconds) just before its `POST`; the
//! latency of a delivery is the receiving client's wall clock minus that time (one machine, one clock), so it
//! covers the whole path: REST handler, database commit, outbox relay, Redis pub/sub, fan-out, socket write,
//! and the client's read.
//!
//! Latencies are kept per client as compact microsecond vectors and merged into one HDR histogram at the end:
//! an HDR histogram with three significant digits over 1 µs..60 s is about 100 KiB, which times 10,000
//! clients would dwarf what is being measured.
//!
//! Memory: the gateway's `VmRSS` (from `/proc/<pid>/status`) before the first connection and after all
//! clients have been connected and idle for a while (after the gateway's CPU has settled, since every connect
//! sets off presence work) gives the growth per connection.
//!
//! Every wait is bounded in time; the only target is the URL given (loopback in the benchmark).

use crate::print_latency;
use crate::rawws::{Opcode, RawWs};
use anyhow::Context as _;
use hdrhistogram::Histogram;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{Semaphore, watch};

/// The options of the `fanout` scenario.
#[derive(Debug, clap::Args)]
pub(crate) struct FanoutArgs {
    /// WebSocket clients to connect (one user each, in file order).
    #[arg(long, default_value_t = 1000)]
    clients: usize,
    /// The conversation every user is a member of.
    #[arg(long)]
    conversation: String,
    /// The gateway's `EPOP_JWT_SECRET`, to sign each client's access token.
    #[arg(long, env = "EPOP_JWT_SECRET", hide_env_values = true)]
    jwt_secret: String,
    /// One user id (UUID) per line: members of the conversation.
    #[arg(long)]
    user_ids_file: std::path::PathBuf,
    /// Access token of a member, used to post the messages over REST.
    #[arg(long)]
    sender_token: String,
    /// Messages posted at `--rate` (the latency phase).
    #[arg(long, default_value_t = 50)]
    messages: u64,
    /// Messages per second in the latency phase.
    #[arg(long, default_value_t = 10.0)]
    rate: f64,
    /// Messages posted back to back after the latency phase (the throughput phase; 0: none).
    #[arg(long, default_value_t = 0)]
    burst_messages: u64,
    /// Concurrent `POST` loops in the throughput phase.
    #[arg(long, default_value_t = 4)]
    burst_concurrency: usize,
    /// Connections being opened at the same time.
    #[arg(long, default_value_t = 64)]
    connect_concurrency: usize,
    /// The gateway's process id, for its memory (`VmRSS`) and CPU time; without it neither is reported.
    #[arg(long)]
    gateway_pid: Option<u32>,
    /// Seconds to stay idle once connected (and settled) before measuring memory.
    #[arg(long, default_value_t = 5)]
    idle_seconds: u64,
    /// Longest wait, in seconds, for the gateway's CPU to settle after the last connect.
    #[arg(long, default_value_t = 300)]
    settle_timeout: u64,
    /// Longest wait, in seconds, for outstanding deliveries after each phase's last `POST` answered.
    #[arg(long, default_value_t = 10)]
    drain_seconds: u64,
    /// Longest time, in seconds, one client may take to connect (WebSocket + Socket.IO CONNECT).
    #[arg(long, default_value_t = 60)]
    connect_timeout: u64,
}

/// Counters shared by every client task.
#[derive(Default)]
pub(crate) struct Shared {
    pub(crate) connected: AtomicUsize,
    pub(crate) connect_failed: AtomicUsize,
    pub(crate) refused: AtomicUsize,
    /// Connected clients whose connection ended before the end of the run.
    pub(crate) dropped: AtomicUsize,
    /// `message:new` frames of this run's messages.
    pub(crate) deliveries: AtomicU64,
    /// Unix nanoseconds of the latest delivery.
    last_delivery: AtomicU64,
    pub(crate) presence_frames: AtomicU64,
    pub(crate) other_frames: AtomicU64,
    pub(crate) pings: AtomicU64,
    /// Clients that received at least one message of the paced / burst phase.
    reached_paced: AtomicUsize,
    reached_burst: AtomicUsize,
}

/// What one client saw.
#[derive(Default)]
pub(crate) struct ClientOutcome {
    /// (message sequence number, latency in µs) of every delivery, in arrival order.
    pub(crate) deliveries: Vec<(u32, u32)>,
    pub(crate) duplicates: u64,
    pub(crate) out_of_order: u64,
}

pub(crate) fn unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// `VmRSS` of a process, in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// utime + stime of a process, in clock ticks.
pub(crate) fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the `(comm)`, which may contain spaces: state is field 3, utime 14, stime 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

pub(crate) fn clock_ticks_per_second() -> u64 {
    // The Linux default; `getconf CLK_TCK` is 100 everywhere this runs.
    100
}

/// An HS256 access token for `user`, with the claims the gateway's `TokenSigner` issues.
/// Access tokens for the first `clients` user ids of `file` (one per line), signed with `secret`: the seeded
/// users of a scenario, who cannot log in.
pub(crate) fn socket_tokens(
    file: &std::path::Path,
    clients: usize,
    secret: &str,
) -> anyhow::Result<Vec<String>> {
    let ids = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let users: Vec<&str> = ids.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    anyhow::ensure!(
        users.len() >= clients,
        "{} holds {} user ids, fewer than --clients {}",
        file.display(),
        users.len(),
        clients
    );
    let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes());
    let now = chrono::Utc::now().timestamp();
    users[..clients]
        .iter()
        .map(|user| sign_token(&key, user, now))
        .collect()
}

pub(crate) fn sign_token(key: &jsonwebtoken::EncodingKey, user: &str, now: i64) -> anyhow::Result<String> {
    let claims = json!({
        "sub": user,
        "role": "member",
        "iat": now,
        "exp": now + 4 * 3600,
        "jti": uuid::Uuid::now_v7(),
    });
    Ok(jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        key,
    )?)
}

/// The marker in every posted message's content, followed by `s=<seq> t=<unix nanos>`.
pub(crate) const MARKER: &str = "fanout s=";

/// Parses `s=<seq> t=<nanos>` out of a `message:new` frame.
fn parse_stamp(frame: &[u8]) -> Option<(u64, u64)> {
    let at = frame.windows(MARKER.len()).position(|w| w == MARKER.as_bytes())? + MARKER.len();
    let (seq, rest) = leading_number(&frame[at..])?;
    let (sent, _) = leading_number(rest.strip_prefix(b" t=")?)?;
    Some((seq, sent))
}

/// The conversation sequence number (`"seq":N`) of a `message:new` frame.
fn conversation_seq(frame: &[u8]) -> Option<u64> {
    const KEY: &[u8] = b"\"seq\":";
    let at = frame.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    leading_number(&frame[at..]).map(|(seq, _)| seq)
}

/// The decimal number at the start of `bytes`, and what follows it.
fn leading_number(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 19 {
        return None;
    }
    let value = bytes[..digits]
        .iter()
        .fold(0u64, |n, digit| n * 10 + u64::from(digit - b'0'));
    Some((value, &bytes[digits..]))
}

/// The next whole text frame during the handshake phase (allocates; not used for deliveries).
pub(crate) async fn next_text(ws: &mut RawWs) -> anyhow::Result<Vec<u8>> {
    loop {
        while let Some(found) = ws.next_buffered()? {
            let text = (found.opcode == Opcode::Text).then(|| ws.payload(&found).to_vec());
            let closed = found.opcode == Opcode::Close;
            ws.consume(&found);
            anyhow::ensure!(!closed, "closed by the server");
            if let Some(text) = text {
                return Ok(text);
            }
        }
        anyhow::ensure!(ws.fill().await? > 0, "connection closed");
    }
}

/// Opens the WebSocket and completes the Engine.IO open and Socket.IO CONNECT; `Ok(Err(_))` is a refusal.
pub(crate) async fn connect_one(
    addr: &str,
    path: &str,
    token: &str,
) -> anyhow::Result<Result<RawWs, String>> {
    let mut ws = RawWs::connect(addr, path).await?;
    let open = next_text(&mut ws).await?;
    anyhow::ensure!(open.starts_with(b"0"), "expected the Engine.IO open packet");
    ws.send_text(&format!("40{}", json!({ "token": token }))).await?;
    loop {
        let frame = next_text(&mut ws).await?;
        if frame.starts_with(b"40") {
            return Ok(Ok(ws));
        }
        if frame.starts_with(b"44") {
            return Ok(Err(String::from_utf8_lossy(&frame).into_owned()));
        }
        if frame == b"2" {
            ws.send_text("3").await?;
        }
    }
}

/// Where a client connects: `host:port` and the Engine.IO path with its query.
pub(crate) struct Target {
    pub(crate) addr: String,
    pub(crate) path: String,
}

/// One client: connects, then reads until told to stop, recording the latency of every delivery.
#[expect(
    clippy::too_many_arguments,
    reason = "one phase of the benchmark, parameterised by its inputs"
)]
pub(crate) async fn client(
    target: Arc<Target>,
    token: String,
    gate: Arc<Semaphore>,
    shared: Arc<Shared>,
    paced_messages: u64,
    total_messages: u64,
    connect_timeout: Duration,
    mut stop: watch::Receiver<bool>,
) -> ClientOutcome {
    let mut outcome = ClientOutcome::default();
    let mut ws = {
        let Ok(_permit) = gate.acquire().await else {
            return outcome;
        };
        match tokio::time::timeout(connect_timeout, connect_one(&target.addr, &target.path, &token)).await {
            Ok(Ok(Ok(ws))) => ws,
            Ok(Ok(Err(_refusal))) => {
                shared.refused.fetch_add(1, Ordering::Relaxed);
                return outcome;
            }
            Ok(Err(_)) | Err(_) => {
                shared.connect_failed.fetch_add(1, Ordering::Relaxed);
                return outcome;
            }
        }
    };
    drop(token);
    shared.connected.fetch_add(1, Ordering::Relaxed);
    outcome.deliveries.reserve_exact(total_messages as usize);
    // One bit per message of the run: duplicates are counted, not recorded twice.
    let mut seen = vec![0u64; (total_messages as usize).div_ceil(64).max(1)];
    // The highest conversation sequence number (commit order) delivered so far.
    let mut highest: Option<u64> = None;
    let (mut reached_paced, mut reached_burst) = (false, false);
    loop {
        // Every frame this read brought in, handled in place.
        let mut pings = 0;
        loop {
            let found = match ws.next_buffered() {
                Ok(Some(found)) => found,
                Ok(None) => break,
                Err(_) => {
                    shared.dropped.fetch_add(1, Ordering::Relaxed);
                    return outcome;
                }
            };
            match found.opcode {
                Opcode::Text => {}
                Opcode::Close => {
                    shared.dropped.fetch_add(1, Ordering::Relaxed);
                    return outcome;
                }
                Opcode::Binary | Opcode::Ping | Opcode::Pong => {
                    ws.consume(&found);
                    continue;
                }
            }
            let text = ws.payload(&found);
            if text.starts_with(b"42[\"message:new\"") {
                let received = unix_nanos();
                match parse_stamp(text) {
                    Some((seq, sent)) if seq < total_messages => {
                        let (word, bit) = ((seq / 64) as usize, 1u64 << (seq % 64));
                        if seen[word] & bit != 0 {
                            outcome.duplicates += 1;
                        } else {
                            seen[word] |= bit;
                            // Deliveries must follow the conversation's order (its `seq`, given at commit),
                            // which is not always the posting order: a slow POST may commit after the next.
                            let committed = conversation_seq(text);
                            if committed.is_some_and(|c| highest.is_some_and(|h| c < h)) {
                                outcome.out_of_order += 1;
                            }
                            highest = highest.max(committed);
                            let micros =
                                (received.saturating_sub(sent) / 1000).min(u64::from(u32::MAX)) as u32;
                            let (reached, counter) = if seq < paced_messages {
                                (&mut reached_paced, &shared.reached_paced)
                            } else {
                                (&mut reached_burst, &shared.reached_burst)
                            };
                            if !*reached {
                                *reached = true;
                                counter.fetch_add(1, Ordering::Relaxed);
                            }
                            outcome.deliveries.push((seq as u32, micros));
                            shared.deliveries.fetch_add(1, Ordering::Relaxed);
                            shared.last_delivery.fetch_max(received, Ordering::Relaxed);
                        }
                    }
                    _ => {
                        shared.other_frames.fetch_add(1, Ordering::Relaxed);
                    }
                }
            } else if text.starts_with(b"42[\"presence") {
                shared.presence_frames.fetch_add(1, Ordering::Relaxed);
            } else if text == b"2" {
                pings += 1;
            } else if text == b"1" || text.starts_with(b"41") {
                shared.dropped.fetch_add(1, Ordering::Relaxed);
                return outcome;
            } else {
                shared.other_frames.fetch_add(1, Ordering::Relaxed);
            }
            ws.consume(&found);
        }
        for _ in 0..pings {
            shared.pings.fetch_add(1, Ordering::Relaxed);
            if ws.send_text("3").await.is_err() {
                shared.dropped.fetch_add(1, Ordering::Relaxed);
                return outcome;
            }
        }
        let read = tokio::select! {
            biased;
            read = ws.fill() => read,
            _ = stop.changed() => break,
        };
        if !matches!(read, Ok(n) if n > 0) {
            shared.dropped.fetch_add(1, Ordering::Relaxed);
            return outcome;
        }
    }
    let _ = ws.close().await;
    outcome
}

/// One phase's delivery latencies, and their split into the time to the first client and the spread after it.
struct PhaseSplit {
    /// `POST` sent → delivered, every delivery.
    latency: Histogram<u64>,
    /// `POST` answered → delivered, every delivery: the part after the commit.
    after_answer: Histogram<u64>,
    /// `POST` sent → first client, one value per message.
    first: Histogram<u64>,
    /// That message's first delivery → this delivery, every delivery: how long writing to every socket takes.
    spread: Histogram<u64>,
}

/// How one phase went.
struct PhaseResult {
    label: &'static str,
    posted: Posted,
    /// Deliveries counted while the phase ran and drained.
    delivered: u64,
    /// Whether every expected delivery arrived before the drain timeout.
    all_in: bool,
    /// The gateway's CPU ticks before and after.
    cpu: Option<(u64, u64)>,
    /// Unix nanoseconds of the last delivery.
    last: u64,
}

/// The split of every phase (in the order of the phases).
struct Breakdown {
    phases: Vec<PhaseSplit>,
}

impl Breakdown {
    fn of(
        outcomes: &[ClientOutcome],
        total_messages: u64,
        paced_messages: u64,
        phases: &[PhaseResult],
    ) -> anyhow::Result<Self> {
        let total = total_messages as usize;
        let mut first = vec![u32::MAX; total];
        for &(seq, micros) in outcomes.iter().flat_map(|o| &o.deliveries) {
            let slot = &mut first[seq as usize];
            *slot = (*slot).min(micros);
        }
        let mut answered = vec![None; total];
        for phase in phases {
            for &(seq, micros) in &phase.posted.answered {
                if let Some(slot) = answered.get_mut(seq as usize) {
                    *slot = Some(micros);
                }
            }
        }
        let mut split = Vec::new();
        for result in phases {
            let paced = result.label == "paced";
            let mut phase = PhaseSplit {
                latency: crate::histogram()?,
                after_answer: crate::histogram()?,
                first: crate::histogram()?,
                spread: crate::histogram()?,
            };
            for &(seq, micros) in outcomes.iter().flat_map(|o| &o.deliveries) {
                if (u64::from(seq) < paced_messages) != paced {
                    continue;
                }
                let micros = u64::from(micros);
                phase.latency.record(micros.max(1))?;
                phase
                    .spread
                    .record(micros.saturating_sub(u64::from(first[seq as usize])).max(1))?;
                if let Some(post) = answered[seq as usize] {
                    phase.after_answer.record(micros.saturating_sub(post).max(1))?;
                }
            }
            for (seq, &micros) in first.iter().enumerate() {
                if micros != u32::MAX && ((seq as u64) < paced_messages) == paced {
                    phase.first.record(u64::from(micros).max(1))?;
                }
            }
            split.push(phase);
        }
        Ok(Self { phases: split })
    }
}

/// What the `POST`s of one phase saw.
struct Posted {
    ok: u64,
    failed: u64,
    latencies: Histogram<u64>,
    /// The `POST` latency in µs of each message that was answered, by sequence number.
    answered: Vec<(u64, u64)>,
    first_sent: u64,
    last_answered: u64,
}

/// Posts the message with sequence number `seq`; returns the REST latency in µs, or `None` on failure.
async fn post_one(client: &reqwest::Client, url: &str, seq: u64) -> Option<u64> {
    let sent = unix_nanos();
    let started = Instant::now();
    // A realistic chat line around the stamp.
    let content = format!("{MARKER}{seq} t={sent} please review the report before the meeting, terima kasih");
    let response = client
        .post(url)
        .json(&json!({ "content": content }))
        .send()
        .await
        .ok()?;
    let ok = response.status().is_success();
    let _ = response.bytes().await.ok()?;
    ok.then(|| started.elapsed().as_micros() as u64)
}

/// Posts `count` messages from `first_seq`: at `rate` per second (open loop, each `POST` on its own task),
/// or, with `rate` 0, back to back from `concurrency` loops.
async fn post_phase(
    client: &reqwest::Client,
    url: &str,
    first_seq: u64,
    count: u64,
    rate: f64,
    concurrency: usize,
) -> anyhow::Result<Posted> {
    let first_sent = unix_nanos();
    let mut handles = Vec::new();
    if rate > 0.0 {
        let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        for seq in first_seq..first_seq + count {
            ticker.tick().await;
            let (client, url) = (client.clone(), url.to_owned());
            handles.push(tokio::spawn(async move {
                let mut one = Vec::with_capacity(1);
                one.push((seq, post_one(&client, &url, seq).await));
                one
            }));
        }
    } else {
        let next = Arc::new(AtomicU64::new(first_seq));
        for _ in 0..concurrency.max(1) {
            let (client, url, next) = (client.clone(), url.to_owned(), next.clone());
            handles.push(tokio::spawn(async move {
                let mut results = Vec::new();
                loop {
                    let seq = next.fetch_add(1, Ordering::Relaxed);
                    if seq >= first_seq + count {
                        return results;
                    }
                    results.push((seq, post_one(&client, &url, seq).await));
                }
            }));
        }
    }
    let mut posted = Posted {
        ok: 0,
        failed: 0,
        latencies: crate::histogram()?,
        answered: Vec::new(),
        first_sent,
        last_answered: 0,
    };
    for handle in handles {
        for (seq, result) in handle.await? {
            match result {
                Some(micros) => {
                    posted.ok += 1;
                    posted.latencies.record(micros.max(1))?;
                    posted.answered.push((seq, micros));
                }
                None => posted.failed += 1,
            }
        }
    }
    posted.last_answered = unix_nanos();
    Ok(posted)
}

/// Waits until `expected` deliveries arrived or `limit` passed; returns whether all arrived.
async fn drain(shared: &Shared, expected: u64, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if shared.deliveries.load(Ordering::Relaxed) >= expected {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    shared.deliveries.load(Ordering::Relaxed) >= expected
}

/// Waits (at most `limit`) until the gateway used under 5% of a core for two consecutive seconds; returns the
/// time waited.
pub(crate) async fn settle(pid: Option<u32>, limit: Duration) -> Duration {
    let started = Instant::now();
    let Some(pid) = pid else { return Duration::ZERO };
    let mut quiet = 0;
    let mut last = cpu_ticks(pid).unwrap_or(0);
    while started.elapsed() < limit && quiet < 2 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = cpu_ticks(pid).unwrap_or(0);
        if now.saturating_sub(last) * 100 < 5 * clock_ticks_per_second() {
            quiet += 1;
        } else {
            quiet = 0;
        }
        last = now;
    }
    started.elapsed()
}

/// Runs the scenario against `base` (`http://host:port`).
pub(crate) async fn run(base: &str, args: FanoutArgs) -> anyhow::Result<()> {
    let tokens = socket_tokens(&args.user_ids_file, args.clients, &args.jwt_secret)?;
    anyhow::ensure!(args.rate > 0.0, "--rate must be positive");
    let clients = args.clients;

    let target = Arc::new(Target {
        addr: base
            .strip_prefix("http://")
            .context("--base-url must be http://")?
            .trim_end_matches('/')
            .to_owned(),
        path: "/socket.io/?EIO=4&transport=websocket".to_owned(),
    });

    let shared = Arc::new(Shared::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let gate = Arc::new(Semaphore::new(args.connect_concurrency.max(1)));
    let total_messages = args.messages + args.burst_messages;
    let pid = args.gateway_pid;
    let tck = clock_ticks_per_second();

    println!(
        "fanout: clients={clients} conversation={} messages={} at {}/s, then {} back to back ({} loops); connect concurrency {}",
        args.conversation,
        args.messages,
        args.rate,
        args.burst_messages,
        args.burst_concurrency,
        args.connect_concurrency
    );
    // A previous run's disconnects may still be being processed: start from a quiet gateway.
    let _ = settle(pid, Duration::from_secs(args.settle_timeout)).await;
    let rss_before = pid.and_then(rss_kib);
    let cpu_before_connect = pid.and_then(cpu_ticks);
    let connect_started = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    for token in tokens {
        tasks.push(tokio::spawn(client(
            target.clone(),
            token,
            gate.clone(),
            shared.clone(),
            args.messages,
            total_messages,
            Duration::from_secs(args.connect_timeout),
            stop_rx.clone(),
        )));
    }
    // Every client either connects, is refused or fails within its timeout (queued ones included).
    let connect_limit = Duration::from_secs(args.connect_timeout)
        * (clients.div_ceil(args.connect_concurrency.max(1)) as u32).max(1);
    let mut progress = Instant::now();
    while connect_started.elapsed() < connect_limit {
        let done = shared.connected.load(Ordering::Relaxed)
            + shared.refused.load(Ordering::Relaxed)
            + shared.connect_failed.load(Ordering::Relaxed);
        if done >= clients {
            break;
        }
        if progress.elapsed() >= Duration::from_secs(10) {
            println!(
                "  connecting: {} connected after {:.1} s",
                shared.connected.load(Ordering::Relaxed),
                connect_started.elapsed().as_secs_f64()
            );
            progress = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let connect_time = connect_started.elapsed();
    let connected = shared.connected.load(Ordering::Relaxed);
    println!(
        "connect: {connected} of {clients} connected in {:.2} s ({:.0}/s); refused={} failed={}",
        connect_time.as_secs_f64(),
        connected as f64 / connect_time.as_secs_f64(),
        shared.refused.load(Ordering::Relaxed),
        shared.connect_failed.load(Ordering::Relaxed)
    );
    let settle_limit = Duration::from_secs(args.settle_timeout);
    let settled = settle(pid, settle_limit).await;
    if pid.is_some() && settled >= settle_limit {
        println!(
            "after connect: the gateway did NOT settle within {} s (still busy; the phases below run under that load)",
            args.settle_timeout
        );
    }
    let cpu_after_connect = pid.and_then(cpu_ticks);
    if let (Some(before), Some(after)) = (cpu_before_connect, cpu_after_connect) {
        println!(
            "after connect: gateway settled {:.1} s after the last CONNECT; gateway CPU for connecting + settling {:.2} s ({:.0} us/connection); presence frames received {}",
            settled.as_secs_f64(),
            (after - before) as f64 / tck as f64,
            (after - before) as f64 / tck as f64 * 1e6 / connected.max(1) as f64,
            shared.presence_frames.load(Ordering::Relaxed)
        );
    }
    tokio::time::sleep(Duration::from_secs(args.idle_seconds)).await;
    if let (Some(before), Some(after)) = (rss_before, pid.and_then(rss_kib)) {
        println!(
            "memory: gateway VmRSS {:.1} MiB before, {:.1} MiB with {connected} idle connections = {:.2} KiB per connection",
            before as f64 / 1024.0,
            after as f64 / 1024.0,
            after.saturating_sub(before) as f64 / connected.max(1) as f64
        );
    }
    let dropped_before_send = shared.dropped.load(Ordering::Relaxed);

    let mut headers = HeaderMap::new();
    let mut value = HeaderValue::from_str(&format!("Bearer {}", args.sender_token))
        .context("the sender token is not a valid header value")?;
    value.set_sensitive(true);
    headers.insert(AUTHORIZATION, value);
    let rest = reqwest::Client::builder()
        .default_headers(headers)
        .pool_max_idle_per_host(args.burst_concurrency + 16)
        .tcp_nodelay(true)
        .build()?;
    let post_url = format!("{base}/api/conversations/{}/messages", args.conversation);

    let live = (connected - dropped_before_send) as u64;
    let mut phases = Vec::new();
    let drain_limit = Duration::from_secs(args.drain_seconds);
    for (label, first, count, rate) in [
        ("paced", 0, args.messages, args.rate),
        ("burst", args.messages, args.burst_messages, 0.0),
    ] {
        if count == 0 {
            continue;
        }
        let delivered_before = shared.deliveries.load(Ordering::Relaxed);
        let cpu_before = pid.and_then(cpu_ticks);
        let posted = post_phase(&rest, &post_url, first, count, rate, args.burst_concurrency).await?;
        let expected = delivered_before + live * posted.ok;
        let all_in = drain(&shared, expected, drain_limit).await;
        let cpu_after = pid.and_then(cpu_ticks);
        let delivered = shared.deliveries.load(Ordering::Relaxed) - delivered_before;
        let last = shared.last_delivery.load(Ordering::Relaxed);
        phases.push(PhaseResult {
            label,
            posted,
            delivered,
            all_in,
            cpu: cpu_before.zip(cpu_after),
            last,
        });
        // Let the tail of this phase settle before the next one starts.
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    let dropped = shared.dropped.load(Ordering::Relaxed);
    stop_tx.send_replace(true);
    let mut outcomes = Vec::with_capacity(tasks.len());
    for task in tasks {
        outcomes.push(task.await?);
    }
    let duplicates: u64 = outcomes.iter().map(|o| o.duplicates).sum();
    let out_of_order: u64 = outcomes.iter().map(|o| o.out_of_order).sum();
    let breakdown = Breakdown::of(&outcomes, total_messages, args.messages, &phases)?;

    for (index, result) in phases.iter().enumerate() {
        let PhaseResult {
            label,
            posted,
            delivered,
            all_in,
            cpu,
            last,
        } = result;
        let Some(split) = breakdown.phases.get(index) else {
            continue;
        };
        let latencies = &split.latency;
        println!(
            "{label}: posted ok={} failed={} over {:.2} s; POST latency p50={:.2}ms p99={:.2}ms max={:.2}ms",
            posted.ok,
            posted.failed,
            posted.last_answered.saturating_sub(posted.first_sent) as f64 / 1e9,
            posted.latencies.value_at_quantile(0.50) as f64 / 1000.0,
            posted.latencies.value_at_quantile(0.99) as f64 / 1000.0,
            posted.latencies.max() as f64 / 1000.0,
        );
        print_latency(&format!("{label} delivery latency"), latencies);
        print_latency(
            &format!("{label}   of which POST answered -> delivered"),
            &split.after_answer,
        );
        print_latency(
            &format!("{label}   per message, POST sent -> first client"),
            &split.first,
        );
        print_latency(
            &format!("{label}   per delivery, that message's first client -> this client"),
            &split.spread,
        );
        let window = last.saturating_sub(posted.first_sent) as f64 / 1e9;
        let expected = clients as u64 * posted.ok;
        println!(
            "{label}: deliveries {delivered} of {expected} expected ({clients} clients x {} messages) in {window:.2} s (first POST to last delivery) = {:.0} deliveries/s; lost {}{}",
            posted.ok,
            *delivered as f64 / window.max(1e-9),
            expected.saturating_sub(*delivered),
            if *all_in { "" } else { " (drain timed out)" }
        );
        let reached = if *label == "paced" {
            &shared.reached_paced
        } else {
            &shared.reached_burst
        };
        let reached = reached.load(Ordering::Relaxed);
        if reached < clients {
            println!(
                "{label}: only {reached} of {clients} clients received any message of this phase: {} connected clients got none (not in the conversation's room)",
                clients - reached
            );
        }
        if let Some((before, after)) = cpu {
            let seconds = (after - before) as f64 / tck as f64;
            println!(
                "{label}: gateway CPU {seconds:.2} s (user+sys) = {:.2} us per delivery, {:.2} cores over the window",
                seconds * 1e6 / (*delivered).max(1) as f64,
                seconds / window.max(1e-9)
            );
        }
    }
    println!(
        "connections: dropped by the server {dropped} ({dropped_before_send} before the first POST); duplicates {duplicates}; messages delivered out of the conversation's order {out_of_order}; pings answered {}; presence frames {}; other frames {}",
        shared.pings.load(Ordering::Relaxed),
        shared.presence_frames.load(Ordering::Relaxed),
        shared.other_frames.load(Ordering::Relaxed)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_parsed_out_of_message_frames() {
        let frame = br#"42["message:new",{"id":"x","content":"fanout s=17 t=1700000000123456789 please review","seq":3}]"#;
        assert_eq!(parse_stamp(frame), Some((17, 1_700_000_000_123_456_789)));
        assert_eq!(parse_stamp(br#"42["message:new",{"content":"hello"}]"#), None);
        assert_eq!(
            parse_stamp(br#"42["message:new",{"content":"fanout s= t=5"}]"#),
            None
        );
    }

    #[test]
    fn tokens_carry_the_gateway_claims() {
        let key = jsonwebtoken::EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef");
        let token = sign_token(&key, "0190f0b4-0000-7000-8000-000000000001", 1_700_000_000).unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.validate_exp = false;
        let decoded = jsonwebtoken::decode::<serde_json::Value>(
            &token,
            &jsonwebtoken::DecodingKey::from_secret(b"0123456789abcdef0123456789abcdef"),
            &validation,
        )
        .unwrap();
        assert_eq!(decoded.claims["role"], "member");
        assert_eq!(decoded.claims["exp"], 1_700_000_000 + 4 * 3600);
    }
}
