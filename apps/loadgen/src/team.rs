//! The `team-burst` scenario (issue 10, points 1 and 4): does a busy group stall real time for everyone else?
//!
//! Against a running gateway it connects `--clients` raw WebSocket clients (the `fanout` scenario's client,
//! one seeded user each, tokens signed with `--jwt-secret`) of one conversation, plus one more socket, the
//! sender (another member), which emits `message:send` with an ack at `--rate` per second for the whole run.
//! Every emitted message carries its number and the wall-clock time just before the emit
//! (`fanout s=<n> t=<nanos>`), so each client's receipt of `message:new` gives one emit-to-delivery latency
//! (the sender's own socket is skipped by the gateway: the message's origin).
//!
//! The run has two phases, back to back:
//!
//! 1. **quiet** (`--quiet-seconds`): only the socket sender;
//! 2. **burst** (`--burst-seconds`): the socket sender goes on while `--burst-concurrency` closed REST loops
//!    `POST` into a separate group (`--group`, whose other members are seeded users with no socket, so the
//!    gateway writes a `message` notification for each of them per message).
//!
//! Delivery is counted against a cutoff, the end of the sending plus `--grace-seconds`: a delivery after it is
//! **late**, one that never came (by the end of the run) is **missing**; both are **lost**. After the cutoff
//! the run keeps reading (late deliveries are still timed) while it watches the outbox drain, at most
//! `--drain-seconds` after the burst.
//!
//! With `--database-url`, a `psql` child process (one connection, kept open) samples the outbox backlog
//! (`SELECT count(*) FROM outbox WHERE published_at IS NULL`) every `--sample-ms` and counts the notifications,
//! jobs and outbox events the run created. Every wait is bounded in time; the only targets are the URL and the
//! database given (loopback in the benchmark).

use crate::fanout::{self, ClientOutcome, MARKER, Shared, Target};
use crate::rawws::{Opcode, RawWs};
use anyhow::Context as _;
use hdrhistogram::Histogram;
use reqwest::Client;
use serde_json::json;
use std::process::Stdio;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::sync::{Semaphore, watch};

/// The options of the `team-burst` scenario.
#[derive(Debug, clap::Args)]
pub(crate) struct TeamBurstArgs {
    /// WebSocket clients of the real-time conversation (one user each, in file order), besides the sender.
    #[arg(long, default_value_t = 1000)]
    clients: usize,
    /// The real-time conversation: every user of `--user-ids-file` and `--sender-user` are members.
    #[arg(long)]
    conversation: String,
    /// One user id (UUID) per line: the receiving members of `--conversation`.
    #[arg(long)]
    user_ids_file: std::path::PathBuf,
    /// The member whose socket emits `message:send` (not one of the receivers).
    #[arg(long)]
    sender_user: String,
    /// The gateway's `EPOP_JWT_SECRET`, to sign each socket's access token.
    #[arg(long, env = "EPOP_JWT_SECRET", hide_env_values = true)]
    jwt_secret: String,
    /// `message:send` emits per second, for the quiet and the burst phase.
    #[arg(long, default_value_t = 10.0)]
    rate: f64,
    /// Seconds of the quiet phase (only the socket sender).
    #[arg(long, default_value_t = 10)]
    quiet_seconds: u64,
    /// Seconds of the burst phase (the REST loops post into the group).
    #[arg(long, default_value_t = 20)]
    burst_seconds: u64,
    /// The group the REST loops post into.
    #[arg(long)]
    group: String,
    /// Access token of the member of `--group` who posts over REST.
    #[arg(long)]
    group_token: String,
    /// Concurrent REST loops in the burst phase.
    #[arg(long, default_value_t = 64)]
    burst_concurrency: usize,
    /// Requests per second the REST loops offer together (paced); 0: as fast as answered (closed loops).
    #[arg(long, default_value_t = 0.0)]
    burst_rate: f64,
    /// Seconds after the last emit until which a delivery is on time (later: late, counted as lost).
    #[arg(long, default_value_t = 10)]
    grace_seconds: u64,
    /// Longest wait, in seconds after the burst, for the outbox to drain (late deliveries are timed meanwhile).
    #[arg(long, default_value_t = 180)]
    drain_seconds: u64,
    /// PostgreSQL URL of the gateway's database, for the outbox backlog (via `psql`); without it, none.
    #[arg(long)]
    database_url: Option<String>,
    /// The `psql` program.
    #[arg(long, default_value = "psql")]
    psql: String,
    /// Milliseconds between two samples of the outbox backlog.
    #[arg(long, default_value_t = 250)]
    sample_ms: u64,
    /// Connections being opened at the same time.
    #[arg(long, default_value_t = 64)]
    connect_concurrency: usize,
    /// Longest time, in seconds, one client may take to connect.
    #[arg(long, default_value_t = 60)]
    connect_timeout: u64,
    /// The gateway's process id, for its CPU time; without it, none is reported.
    #[arg(long)]
    gateway_pid: Option<u32>,
    /// Longest wait, in seconds, for the gateway's CPU to settle after the clients connected.
    #[arg(long, default_value_t = 120)]
    settle_timeout: u64,
}

/// Locks `mutex`, also after a panic elsewhere (the data is counters only).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Latency histogram for this scenario: 1 µs to one hour (late deliveries take minutes).
fn long_histogram() -> anyhow::Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).context("histogram bounds")
}

/// A keep-alive client posting as `token`, one pooled connection per loop; a request that takes more than
/// 30 s counts as an error, so the burst ends even if the gateway stops answering.
fn rest_client(token: &str, concurrency: usize) -> anyhow::Result<Client> {
    let mut headers = reqwest::header::HeaderMap::new();
    let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))
        .context("the token is not a valid header value")?;
    value.set_sensitive(true);
    headers.insert(reqwest::header::AUTHORIZATION, value);
    Ok(Client::builder()
        .default_headers(headers)
        .pool_max_idle_per_host(concurrency + 4)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()?)
}

/// `a / b`, when `b` is positive.
pub(crate) fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0 && a.is_finite() && b.is_finite()).then(|| a / b)
}

/// The Socket.IO EVENT packet (inside an Engine.IO message) that emits `message:send` with ack id `ack`.
fn emit_frame(ack: u64, conversation: &str, seq: u64, sent_nanos: u64) -> String {
    let content =
        format!("{MARKER}{seq} t={sent_nanos} please review the report before the meeting, terima kasih");
    format!(
        "42{ack}{}",
        json!(["message:send", {"conversation_id": conversation, "content": content}])
    )
}

/// An ACK packet `43<id>[...]`: its id and whether it says `"ok":true`.
fn parse_ack(frame: &[u8]) -> Option<(u64, bool)> {
    let rest = frame.strip_prefix(b"43")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 19 || rest.get(digits) != Some(&b'[') {
        return None;
    }
    let id = rest[..digits]
        .iter()
        .fold(0u64, |n, digit| n * 10 + u64::from(digit - b'0'));
    let ok = rest.windows(9).any(|w| w == b"\"ok\":true");
    Some((id, ok))
}

/// What the sender socket saw, per message number.
#[derive(Default)]
struct SenderLog {
    /// Unix nanoseconds just before the emit (0: not sent).
    sent: Vec<u64>,
    /// Unix nanoseconds of the ack (0: none yet).
    acked: Vec<u64>,
    /// Whether the ack said `ok: true`.
    ok: Vec<bool>,
    /// Acks that said `ok: false`, and frames that ended the connection.
    refused: u64,
    dropped: bool,
}

/// Counters the sender shares while it runs.
#[derive(Default)]
struct SenderProgress {
    sent: AtomicU64,
    answered: AtomicU64,
    refused: AtomicU64,
}

/// The sender: emits `count` messages at `rate`/s from `start`, reads acks (and answers pings) until `stop`.
#[expect(
    clippy::too_many_arguments,
    reason = "one socket of the benchmark, parameterised by its inputs"
)]
async fn sender(
    mut ws: RawWs,
    conversation: String,
    count: u64,
    rate: f64,
    start: tokio::time::Instant,
    progress: Arc<SenderProgress>,
    log: Arc<Mutex<SenderLog>>,
    mut stop: watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval_at(start, Duration::from_secs_f64(1.0 / rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut next = 0u64;
    loop {
        let mut pings = 0;
        loop {
            let found = match ws.next_buffered() {
                Ok(Some(found)) => found,
                Ok(None) => break,
                Err(_) => {
                    lock(&log).dropped = true;
                    return;
                }
            };
            if found.opcode == Opcode::Close {
                lock(&log).dropped = true;
                return;
            }
            if found.opcode == Opcode::Text {
                let text = ws.payload(&found);
                if let Some((id, ok)) = parse_ack(text) {
                    let now = fanout::unix_nanos();
                    let mut log = lock(&log);
                    if let Some(seq) = id.checked_sub(1).map(|s| s as usize)
                        && seq < log.acked.len()
                        && log.acked[seq] == 0
                    {
                        log.acked[seq] = now;
                        log.ok[seq] = ok;
                        progress.answered.fetch_add(1, Ordering::Relaxed);
                        if !ok {
                            log.refused += 1;
                            progress.refused.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                } else if text == b"2" {
                    pings += 1;
                } else if text == b"1" || text.starts_with(b"41") {
                    lock(&log).dropped = true;
                    return;
                }
            }
            ws.consume(&found);
        }
        for _ in 0..pings {
            if ws.send_text("3").await.is_err() {
                lock(&log).dropped = true;
                return;
            }
        }
        tokio::select! {
            biased;
            _ = stop.changed() => break,
            _ = ticker.tick(), if next < count => {
                let sent = fanout::unix_nanos();
                if let Some(slot) = lock(&log).sent.get_mut(next as usize) {
                    *slot = sent;
                }
                if ws.send_text(&emit_frame(next + 1, &conversation, next, sent)).await.is_err() {
                    lock(&log).dropped = true;
                    return;
                }
                next += 1;
                progress.sent.fetch_add(1, Ordering::Relaxed);
            }
            read = ws.fill() => {
                if !matches!(read, Ok(n) if n > 0) {
                    lock(&log).dropped = true;
                    return;
                }
            }
        }
    }
    let _ = ws.close().await;
}

/// One `psql` process kept open, answering one-line queries.
struct Psql {
    child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

impl Psql {
    fn open(program: &str, url: &str) -> anyhow::Result<Self> {
        let mut child = tokio::process::Command::new(program)
            .args(["-X", "-q", "-A", "-t", "-d", url])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {program}"))?;
        let stdin = child.stdin.take().context("psql stdin")?;
        let stdout = child.stdout.take().context("psql stdout")?;
        Ok(Self {
            child,
            stdin,
            lines: BufReader::new(stdout).lines(),
        })
    }

    /// Runs a query that prints exactly one line (at most 10 s).
    async fn one_line(&mut self, sql: &str) -> Option<String> {
        let work = async {
            self.stdin.write_all(sql.as_bytes()).await.ok()?;
            self.stdin.write_all(b";\n").await.ok()?;
            self.stdin.flush().await.ok()?;
            self.lines.next_line().await.ok().flatten()
        };
        tokio::time::timeout(Duration::from_secs(10), work)
            .await
            .ok()
            .flatten()
    }

    async fn count(&mut self, sql: &str) -> Option<i64> {
        self.one_line(sql).await?.trim().parse().ok()
    }

    async fn close(mut self) {
        let _ = self.stdin.shutdown().await;
        let _ = tokio::time::timeout(Duration::from_secs(2), self.child.wait()).await;
        let _ = self.child.start_kill();
    }
}

/// The backlog, and the age in seconds of its oldest event (the relay's lag: how far behind it is).
const BACKLOG_SQL: &str = "SELECT count(*) || ' ' || coalesce(extract(epoch FROM now() - (SELECT created_at FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT 1)), 0) FROM outbox WHERE published_at IS NULL";

/// One sample: unix nanos, unpublished events, age of the oldest in seconds.
type Sample = (u64, i64, f64);

/// Samples the outbox backlog and its oldest event's age until `stop` (or `limit`); keeps the latest backlog
/// in `latest` (-1: unknown).
async fn sample_backlog(
    mut psql: Psql,
    every: Duration,
    limit: Duration,
    latest: Arc<AtomicI64>,
    mut stop: watch::Receiver<bool>,
) -> Vec<Sample> {
    let mut samples = Vec::new();
    let started = Instant::now();
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failures = 0;
    while started.elapsed() < limit && failures < 5 {
        tokio::select! {
            _ = stop.changed() => break,
            _ = ticker.tick() => {}
        }
        match psql
            .one_line(BACKLOG_SQL)
            .await
            .as_deref()
            .and_then(parse_count_and_span)
        {
            Some((n, age)) => {
                samples.push((fanout::unix_nanos(), n, age));
                latest.store(n, Ordering::Relaxed);
            }
            None => failures += 1,
        }
    }
    psql.close().await;
    samples
}

/// What the backlog samples say.
#[derive(Debug, PartialEq)]
pub(crate) struct BacklogSummary {
    /// The largest backlog, and its time in seconds after the burst started.
    pub(crate) max: i64,
    pub(crate) max_at: f64,
    /// Seconds after the burst's end at which the backlog was first seen at 0 (none: not drained).
    pub(crate) drained_after: Option<f64>,
    /// The backlog at the burst's end (the sample nearest after it).
    pub(crate) at_burst_end: i64,
    /// The last sample, and its time in seconds after the burst's end.
    pub(crate) last: i64,
    pub(crate) last_at: f64,
    /// Net events per second by which the backlog shrank after the burst: from its peak after the burst's end
    /// to the drain (or the last sample). Net, since the relay's notification projector writes events too.
    pub(crate) net_drain_rate: Option<f64>,
}

/// Summarises `(unix nanos, backlog)` samples around a burst from `burst_start` to `burst_end` (unix nanos).
pub(crate) fn summarise_backlog(
    samples: &[(u64, i64)],
    burst_start: u64,
    burst_end: u64,
) -> Option<BacklogSummary> {
    let secs = |from: u64, to: u64| (to as f64 - from as f64) / 1e9;
    let &(max_time, max) = samples.iter().max_by_key(|&&(t, n)| (n, std::cmp::Reverse(t)))?;
    let after: Vec<&(u64, i64)> = samples.iter().filter(|&&(t, _)| t >= burst_end).collect();
    let &&(last_time, last) = after.last().or(samples.last().as_ref())?;
    let at_burst_end = after.first().map_or(last, |&&(_, n)| n);
    let drained = after.iter().find(|&&&(_, n)| n == 0).map(|&&(t, _)| t);
    let (until, remaining) = drained.map_or((last_time, last), |t| (t, 0));
    let peak = after
        .iter()
        .filter(|&&&(t, _)| t <= until)
        .max_by_key(|&&&(t, n)| (n, std::cmp::Reverse(t)));
    let net_drain_rate = peak.and_then(|&&(peak_time, peak)| {
        let elapsed = secs(peak_time, until);
        let removed = peak - remaining;
        (elapsed > 0.5 && removed > 0).then(|| removed as f64 / elapsed)
    });
    Some(BacklogSummary {
        max,
        max_at: secs(burst_start, max_time),
        drained_after: drained.map(|t| secs(burst_end, t).max(0.0)),
        at_burst_end,
        last,
        last_at: secs(burst_end, last_time),
        net_drain_rate,
    })
}

/// `"<count> <seconds>"` as psql prints the relay query's row.
fn parse_count_and_span(line: &str) -> Option<(i64, f64)> {
    let (count, span) = line.trim().split_once(' ')?;
    Some((count.parse().ok()?, span.parse().ok()?))
}

/// How one phase's deliveries went, against the cutoff.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    /// Messages of the phase the sender emitted and the gateway did not refuse.
    pub(crate) messages: u64,
    pub(crate) expected: u64,
    pub(crate) on_time: u64,
    pub(crate) late: u64,
}

impl Tally {
    pub(crate) fn missing(&self) -> u64 {
        self.expected.saturating_sub(self.on_time + self.late)
    }

    pub(crate) fn lost(&self) -> u64 {
        self.expected.saturating_sub(self.on_time)
    }
}

/// Which phase message `seq` belongs to: 0 quiet, 1 burst.
fn phase_of(seq: u64, quiet_messages: u64) -> usize {
    usize::from(seq >= quiet_messages)
}

/// Counts every phase's deliveries (`(seq, µs after its emit)` per client) against `cutoff` (unix nanos), for
/// `clients` receivers of every message `sent` (emit time, 0 = never sent) that was not refused.
pub(crate) fn tally(
    deliveries: &[&[(u32, u32)]],
    sent: &[u64],
    refused: &[bool],
    quiet_messages: u64,
    clients: u64,
    cutoff: u64,
) -> [Tally; 2] {
    let mut phases = [Tally::default(), Tally::default()];
    for (seq, &at) in sent.iter().enumerate() {
        if at != 0 && !refused.get(seq).copied().unwrap_or(false) {
            let phase = &mut phases[phase_of(seq as u64, quiet_messages)];
            phase.messages += 1;
            phase.expected += clients;
        }
    }
    for &(seq, micros) in deliveries.iter().flat_map(|d| d.iter()) {
        let Some(&at) = sent.get(seq as usize) else {
            continue;
        };
        if at == 0 || refused.get(seq as usize).copied().unwrap_or(false) {
            continue;
        }
        let phase = &mut phases[phase_of(u64::from(seq), quiet_messages)];
        if at + u64::from(micros) * 1000 <= cutoff {
            phase.on_time += 1;
        } else {
            phase.late += 1;
        }
    }
    phases
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

fn print_long(label: &str, h: &Histogram<u64>) {
    if h.is_empty() {
        println!("{label}: n=0 (none)");
    } else {
        crate::print_latency(label, h);
    }
}

/// Runs the scenario against `base` (`http://host:port`).
pub(crate) async fn run(base: &str, args: TeamBurstArgs) -> anyhow::Result<()> {
    let tokens = fanout::socket_tokens(&args.user_ids_file, args.clients, &args.jwt_secret)?;
    anyhow::ensure!(
        args.rate > 0.0 && args.rate <= 1000.0,
        "--rate must be in (0, 1000]"
    );
    let clients = args.clients;
    let key = jsonwebtoken::EncodingKey::from_secret(args.jwt_secret.as_bytes());
    let sender_token = fanout::sign_token(&key, &args.sender_user, chrono::Utc::now().timestamp())?;
    let target = Arc::new(Target {
        addr: base
            .strip_prefix("http://")
            .context("--base-url must be http://")?
            .trim_end_matches('/')
            .to_owned(),
        path: "/socket.io/?EIO=4&transport=websocket".to_owned(),
    });
    let quiet_messages = (args.quiet_seconds as f64 * args.rate).round() as u64;
    let burst_messages = (args.burst_seconds as f64 * args.rate).round() as u64;
    let total = quiet_messages + burst_messages;
    let pid = args.gateway_pid;
    let tck = fanout::clock_ticks_per_second() as f64;
    println!(
        "team-burst: {clients} sockets in conversation {} + 1 sender emitting message:send at {}/s; quiet {} s ({quiet_messages} messages), then burst {} s ({burst_messages} messages) while {} REST loops post into group {}",
        args.conversation,
        args.rate,
        args.quiet_seconds,
        args.burst_seconds,
        args.burst_concurrency,
        args.group
    );

    // Connect the receivers, then the sender.
    let shared = Arc::new(Shared::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let gate = Arc::new(Semaphore::new(args.connect_concurrency.max(1)));
    let _ = fanout::settle(pid, Duration::from_secs(args.settle_timeout)).await;
    let connect_started = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    for token in tokens {
        tasks.push(tokio::spawn(fanout::client(
            target.clone(),
            token,
            gate.clone(),
            shared.clone(),
            quiet_messages,
            total,
            Duration::from_secs(args.connect_timeout),
            stop_rx.clone(),
        )));
    }
    let connect_limit = Duration::from_secs(args.connect_timeout)
        * (clients.div_ceil(args.connect_concurrency.max(1)) as u32).max(1);
    while connect_started.elapsed() < connect_limit {
        let done = shared.connected.load(Ordering::Relaxed)
            + shared.refused.load(Ordering::Relaxed)
            + shared.connect_failed.load(Ordering::Relaxed);
        if done >= clients {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let connected = shared.connected.load(Ordering::Relaxed);
    println!(
        "connect: {connected} of {clients} connected in {:.2} s; refused={} failed={}",
        connect_started.elapsed().as_secs_f64(),
        shared.refused.load(Ordering::Relaxed),
        shared.connect_failed.load(Ordering::Relaxed)
    );
    let why = match tokio::time::timeout(
        Duration::from_secs(args.connect_timeout),
        fanout::connect_one(&target.addr, &target.path, &sender_token),
    )
    .await
    {
        Ok(Ok(Ok(ws))) => Ok(ws),
        Ok(Ok(Err(refusal))) => Err(format!("refused: {refusal}")),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err("timed out".to_owned()),
    };
    let sender_ws = match why {
        Ok(ws) => ws,
        Err(why) => {
            stop_tx.send_replace(true);
            anyhow::bail!("the sender socket could not connect: {why}");
        }
    };
    let settle_limit = Duration::from_secs(args.settle_timeout);
    let settled = fanout::settle(pid, settle_limit).await;
    println!(
        "after connect: gateway {} {:.1} s after the last CONNECT; presence frames received {}",
        if pid.is_some() && settled >= settle_limit {
            "did NOT settle"
        } else {
            "settled"
        },
        settled.as_secs_f64(),
        shared.presence_frames.load(Ordering::Relaxed)
    );

    // The database side: counts before, and the backlog sampler.
    let mut counter = match &args.database_url {
        Some(url) => Some(Psql::open(&args.psql, url)?),
        None => None,
    };
    let mut before = (None, None, None);
    if let Some(psql) = counter.as_mut() {
        before = (
            psql.count("SELECT count(*) FROM notifications").await,
            psql.count("SELECT count(*) FROM jobs").await,
            psql.count("SELECT coalesce(max(id), 0) FROM outbox").await,
        );
    }
    let latest_backlog = Arc::new(AtomicI64::new(-1));
    let whole_run = Duration::from_secs(args.quiet_seconds + args.burst_seconds + args.drain_seconds + 30);
    let sampler = match &args.database_url {
        Some(url) => Some(tokio::spawn(sample_backlog(
            Psql::open(&args.psql, url)?,
            Duration::from_millis(args.sample_ms.max(10)),
            whole_run,
            latest_backlog.clone(),
            stop_rx.clone(),
        ))),
        None => None,
    };

    // Quiet, then burst; the sender runs through both.
    let progress = Arc::new(SenderProgress::default());
    let log = Arc::new(Mutex::new(SenderLog {
        sent: vec![0; total as usize],
        acked: vec![0; total as usize],
        ok: vec![false; total as usize],
        ..SenderLog::default()
    }));
    let start = tokio::time::Instant::now() + Duration::from_millis(200);
    let sender_task = tokio::spawn(sender(
        sender_ws,
        args.conversation.clone(),
        total,
        args.rate,
        start,
        progress.clone(),
        log.clone(),
        stop_rx.clone(),
    ));
    tokio::time::sleep_until(start + Duration::from_secs(args.quiet_seconds)).await;
    let rest = rest_client(&args.group_token, args.burst_concurrency)?;
    let url = reqwest::Url::parse(&format!("{base}/api/conversations/{}/messages", args.group))?;
    let make: Arc<crate::MakeRequest> = Arc::new(move |client: &Client, n| {
        let content = format!("team burst {n}: please review the report before the meeting, terima kasih");
        (0, client.post(url.clone()).json(&json!({ "content": content })))
    });
    let burst_start = fanout::unix_nanos();
    let cpu_burst_start = pid.and_then(fanout::cpu_ticks);
    let pace = (args.burst_rate > 0.0).then_some(args.burst_rate);
    let outcome = crate::loops_at(&rest, args.burst_concurrency, args.burst_seconds, 1, pace, make).await?;
    let burst_end = fanout::unix_nanos();
    let cpu_burst_end = pid.and_then(fanout::cpu_ticks);
    let burst_ended = Instant::now();

    // Deliveries until the cutoff: the last emit (the sender's schedule ends with the burst) plus the grace.
    let emit_end = start + Duration::from_secs_f64(total as f64 / args.rate);
    let cutoff_at = emit_end + Duration::from_secs(args.grace_seconds);
    loop {
        let sent = progress.sent.load(Ordering::Relaxed);
        let expected = sent.saturating_sub(progress.refused.load(Ordering::Relaxed)) * connected as u64;
        let all_in = sent >= total
            && progress.answered.load(Ordering::Relaxed) >= sent
            && shared.deliveries.load(Ordering::Relaxed) >= expected;
        if all_in || tokio::time::Instant::now() >= cutoff_at {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let cutoff = fanout::unix_nanos();
    // Then the outbox's drain, late deliveries still being timed.
    let drain_limit = Duration::from_secs(args.drain_seconds);
    if sampler.is_some() {
        while burst_ended.elapsed() < drain_limit && latest_backlog.load(Ordering::Relaxed) != 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // One more sample after the drain, so the backlog seen at 0 is not the one before the burst.
        tokio::time::sleep(Duration::from_millis(args.sample_ms.max(10) * 2)).await;
    }
    let cpu_drained = pid.and_then(fanout::cpu_ticks);
    let drain_waited = burst_ended.elapsed();
    let dropped = shared.dropped.load(Ordering::Relaxed);
    stop_tx.send_replace(true);
    let samples = match sampler {
        Some(task) => task.await?,
        None => Vec::new(),
    };
    let mut outcomes: Vec<ClientOutcome> = Vec::with_capacity(tasks.len());
    for task in tasks {
        outcomes.push(task.await?);
    }
    sender_task.await?;
    let log = std::mem::take(&mut *lock(&log));

    // Report.
    let refused: Vec<bool> = log
        .acked
        .iter()
        .zip(&log.ok)
        .map(|(&acked, &ok)| acked != 0 && !ok)
        .collect();
    let per_client: Vec<&[(u32, u32)]> = outcomes.iter().map(|o| o.deliveries.as_slice()).collect();
    let tallies = tally(
        &per_client,
        &log.sent,
        &refused,
        quiet_messages,
        connected as u64,
        cutoff,
    );
    let labels = ["quiet", "burst"];
    let mut latency = [long_histogram()?, long_histogram()?];
    let mut after_ack = [long_histogram()?, long_histogram()?];
    let mut acks = [long_histogram()?, long_histogram()?];
    for &(seq, micros) in outcomes.iter().flat_map(|o| &o.deliveries) {
        let seq = seq as usize;
        let phase = phase_of(seq as u64, quiet_messages);
        latency[phase].record(u64::from(micros).max(1))?;
        if let (Some(&sent), Some(&acked)) = (log.sent.get(seq), log.acked.get(seq))
            && sent != 0
            && acked != 0
        {
            let delivered = sent + u64::from(micros) * 1000;
            after_ack[phase].record((delivered.saturating_sub(acked) / 1000).max(1))?;
        }
    }
    for (seq, (&sent, &acked)) in log.sent.iter().zip(&log.acked).enumerate() {
        if sent != 0 && acked != 0 {
            acks[phase_of(seq as u64, quiet_messages)].record((acked.saturating_sub(sent) / 1000).max(1))?;
        }
    }
    let grace = args.grace_seconds;
    for (phase, label) in labels.iter().enumerate() {
        let t = &tallies[phase];
        let in_phase = |seq: usize| phase_of(seq as u64, quiet_messages) == phase;
        let emitted = log
            .sent
            .iter()
            .enumerate()
            .filter(|&(seq, &at)| at != 0 && in_phase(seq))
            .count();
        let refused_here = refused
            .iter()
            .enumerate()
            .filter(|&(seq, &r)| r && in_phase(seq))
            .count();
        println!(
            "{label}: message:send emitted {emitted} (acked {}, refused {refused_here}); ack latency p50={:.2}ms p99={:.2}ms max={:.2}ms",
            acks[phase].len(),
            ms(&acks[phase], 0.5),
            ms(&acks[phase], 0.99),
            acks[phase].max() as f64 / 1000.0
        );
        print_long(&format!("{label} emit -> delivery"), &latency[phase]);
        print_long(
            &format!("{label}   of which ack received -> delivered"),
            &after_ack[phase],
        );
        println!(
            "{label}: deliveries expected {} ({connected} sockets x {} messages); on time {} (by {grace} s after the last emit); late {}; missing {}; lost {}",
            t.expected,
            t.messages,
            t.on_time,
            t.late,
            t.missing(),
            t.lost()
        );
    }
    outcome.print("burst REST POST into the group", args.burst_concurrency)?;
    let rest_ok = outcome.overall()?.len();
    let rest_rate = rest_ok as f64 / outcome.elapsed;
    if let (Some(a), Some(b), Some(c)) = (cpu_burst_start, cpu_burst_end, cpu_drained) {
        let window = (b - a) as f64 / tck;
        let through = (c - a) as f64 / tck;
        println!(
            "gateway CPU: {window:.2} s during the burst = {:.2} ms per REST send; {through:.2} s from the burst's start until drained ({:.1} s after it) = {:.2} ms per REST send",
            window * 1e3 / rest_ok.max(1) as f64,
            drain_waited.as_secs_f64(),
            through * 1e3 / rest_ok.max(1) as f64
        );
    }
    // What the database says: rows created, and how fast the relay published this run's events.
    let mut relay_rate = None;
    if let Some(mut psql) = counter.take() {
        let after = (
            psql.count("SELECT count(*) FROM notifications").await,
            psql.count("SELECT count(*) FROM jobs").await,
        );
        let diff =
            |a: Option<i64>, b: Option<i64>| a.zip(b).map_or("?".to_owned(), |(a, b)| (b - a).to_string());
        println!(
            "created during the run: notifications {}, jobs {}",
            diff(before.0, after.0),
            diff(before.1, after.1)
        );
        if let Some(first) = before.2 {
            let types = psql
                .one_line(&format!(
                    "SELECT coalesce(string_agg(event_type || '=' || n || ' (' || unpublished || ' unpublished)', ', ' ORDER BY event_type), 'none') FROM (SELECT event_type, count(*) AS n, count(*) FILTER (WHERE published_at IS NULL) AS unpublished FROM outbox WHERE id > {first} GROUP BY event_type) AS t"
                ))
                .await;
            println!(
                "outbox events written during the run: {}",
                types.unwrap_or_else(|| "?".to_owned())
            );
            let published = psql
                .one_line(&format!(
                    "SELECT count(*) || ' ' || coalesce(extract(epoch FROM max(published_at)) - {start}, 0) FROM outbox WHERE id > {first} AND published_at >= to_timestamp({start})",
                    start = burst_start as f64 / 1e9
                ))
                .await;
            if let Some((count, span)) = published.as_deref().and_then(parse_count_and_span) {
                relay_rate = ratio(count as f64, span);
                println!(
                    "outbox relay: published {count} events from the burst's start to its last publication {span:.1} s later = {} (its rate under the burst)",
                    relay_rate.map_or("n/a".to_owned(), |r| format!("{r:.0} events/s"))
                );
            }
        }
        psql.close().await;
    }
    let counts: Vec<(u64, i64)> = samples.iter().map(|&(t, n, _)| (t, n)).collect();
    let backlog = summarise_backlog(&counts, burst_start, burst_end);
    let max_lag = samples
        .iter()
        .map(|&(_, _, age)| age)
        .fold(None, |max: Option<f64>, age| {
            Some(max.map_or(age, |m| m.max(age)))
        });
    if let Some(b) = &backlog {
        println!(
            "outbox backlog: {} samples every {} ms; max {} unpublished events {:.1} s after the burst started ({} s long); {} at the burst's end",
            samples.len(),
            args.sample_ms,
            b.max,
            b.max_at,
            args.burst_seconds,
            b.at_burst_end
        );
        match b.drained_after {
            Some(after) => println!("outbox drained to 0 {after:.1} s after the burst ended"),
            None => println!(
                "outbox NOT drained within {} s after the burst: {} events still unpublished {:.1} s after it ({})",
                args.drain_seconds,
                b.last,
                b.last_at,
                b.net_drain_rate
                    .map_or("the backlog was still growing".to_owned(), |r| format!(
                        "net drain {r:.0} events/s since its peak: about {:.0} s more at that rate",
                        b.last as f64 / r
                    ))
            ),
        }
        if let Some(s) = relay_rate.and_then(|r| ratio(b.max as f64, r)) {
            println!(
                "outbox: the largest backlog was {s:.1} s of the relay's publishing at its rate under the burst"
            );
        }
    }
    if let Some(lag) = max_lag {
        println!(
            "outbox lag: the oldest unpublished event was at most {lag:.2} s old (target <= 1 s of work)"
        );
    }
    let duplicates: u64 = outcomes.iter().map(|o| o.duplicates).sum();
    let out_of_order: u64 = outcomes.iter().map(|o| o.out_of_order).sum();
    println!(
        "connections: receivers dropped by the server {dropped}; sender dropped {}; duplicates {duplicates}; delivered out of the conversation's order {out_of_order}",
        log.dropped
    );
    let quiet_p99 = (!latency[0].is_empty()).then(|| ms(&latency[0], 0.99));
    let burst_p99 = (!latency[1].is_empty()).then(|| ms(&latency[1], 0.99));
    let fmt = |v: Option<f64>| v.map_or("n/a".to_owned(), |v| format!("{v:.2}"));
    println!(
        "team-burst summary: quiet_p50_ms={} quiet_p99_ms={} burst_p99_ms={} burst_over_quiet_p99={} quiet_lost={} burst_lost={} burst_late={} rest_rate={rest_rate:.1} max_backlog={} max_lag_s={} drained_after_s={}",
        fmt((!latency[0].is_empty()).then(|| ms(&latency[0], 0.5))),
        fmt(quiet_p99),
        fmt(burst_p99),
        fmt(quiet_p99.zip(burst_p99).and_then(|(q, b)| ratio(b, q))),
        tallies[0].lost(),
        tallies[1].lost(),
        tallies[1].late,
        backlog.as_ref().map_or("n/a".to_owned(), |b| b.max.to_string()),
        fmt(max_lag),
        fmt(backlog.as_ref().and_then(|b| b.drained_after)),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acks_are_parsed() {
        assert_eq!(
            parse_ack(br#"4317[{"message":{"id":"x"},"ok":true}]"#),
            Some((17, true))
        );
        assert_eq!(
            parse_ack(br#"432[{"ok":false,"error":{"code":"not_found"}}]"#),
            Some((2, false))
        );
        assert_eq!(parse_ack(br#"43[{"ok":true}]"#), None);
        assert_eq!(parse_ack(br#"42["message:new",{}]"#), None);
        assert_eq!(parse_ack(b"4312"), None);
    }

    #[test]
    fn emits_carry_the_stamp_and_the_ack_id() {
        let frame = emit_frame(8, "c0ffee", 7, 1_700_000_000_000_000_001);
        assert!(frame.starts_with(r#"428["message:send",{"#), "{frame}");
        assert!(frame.contains(r#""conversation_id":"c0ffee""#));
        assert!(frame.contains("fanout s=7 t=1700000000000000001 please"));
    }

    #[test]
    fn relay_rows_are_parsed() {
        assert_eq!(parse_count_and_span("712420 151.25\n"), Some((712_420, 151.25)));
        assert_eq!(parse_count_and_span("0 0"), Some((0, 0.0)));
        assert_eq!(parse_count_and_span("nope"), None);
    }

    #[test]
    fn ratios_need_a_positive_base() {
        assert_eq!(ratio(3.0, 2.0), Some(1.5));
        assert_eq!(ratio(3.0, 0.0), None);
        assert_eq!(ratio(f64::NAN, 1.0), None);
    }

    #[test]
    fn deliveries_are_counted_against_the_cutoff() {
        // Messages 0, 1 quiet; 2, 3 burst (3 refused); emitted at 1 s, 2 s, 3 s, 4 s; cutoff at 10 s.
        let s = 1_000_000_000u64;
        let sent = [s, 2 * s, 3 * s, 4 * s];
        let refused = [false, false, false, true];
        let a: &[(u32, u32)] = &[(0, 1_000), (1, 2_000), (2, 6_000_000), (3, 10)];
        let b: &[(u32, u32)] = &[(0, 1_500), (2, 8_000_000), (9, 1)];
        let [quiet, burst] = tally(&[a, b], &sent, &refused, 2, 2, 10 * s);
        assert_eq!(
            quiet,
            Tally {
                messages: 2,
                expected: 4,
                on_time: 3,
                late: 0
            }
        );
        assert_eq!((quiet.missing(), quiet.lost()), (1, 1));
        // Message 2: one on time (3 + 6 = 9 s), one late (3 + 8 = 11 s).
        assert_eq!(
            burst,
            Tally {
                messages: 1,
                expected: 2,
                on_time: 1,
                late: 1
            }
        );
        assert_eq!((burst.missing(), burst.lost()), (0, 1));
    }

    #[test]
    fn backlog_summary_finds_the_peak_and_the_drain() {
        let s = 1_000_000_000u64;
        // Burst from 10 s to 20 s; the backlog grows to 900, then drains by 100 per second.
        let samples = [
            (9 * s, 0),
            (12 * s, 300),
            (18 * s, 900),
            (20 * s, 800),
            (24 * s, 400),
            (28 * s, 0),
            (29 * s, 0),
        ];
        let b = summarise_backlog(&samples, 10 * s, 20 * s).unwrap();
        assert_eq!(b.max, 900);
        assert!((b.max_at - 8.0).abs() < 1e-9);
        assert_eq!(b.at_burst_end, 800);
        assert_eq!(b.drained_after, Some(8.0));
        // From the peak after the burst (800 at 20 s) to the drain at 28 s.
        assert_eq!(b.net_drain_rate, Some(100.0));

        // Not drained: the rate comes from the last sample.
        let b = summarise_backlog(&samples[..5], 10 * s, 20 * s).unwrap();
        assert_eq!(b.drained_after, None);
        assert_eq!((b.last, b.net_drain_rate), (400, Some(100.0)));
        // The backlog may still grow after the burst (the projector's own events): the rate starts at its peak.
        let growing = [
            (9 * s, 0),
            (21 * s, 500),
            (22 * s, 700),
            (25 * s, 400),
            (29 * s, 0),
        ];
        let b = summarise_backlog(&growing, 10 * s, 20 * s).unwrap();
        assert_eq!((b.max, b.at_burst_end), (700, 500));
        assert_eq!(b.net_drain_rate, Some(100.0));
        assert_eq!(b.drained_after, Some(9.0));
        assert!(summarise_backlog(&[], 0, 1).is_none());
    }
}
