//! The `loopback-floor` scenario: what fan-out costs on this machine with no server at all.
//!
//! `--writers` threads (2, like the gateway's workers on this machine) write a frame of `--frame-bytes` to
//! each of their share of `--sockets` loopback TCP connections, as a gateway writing one event to every socket
//! of a room would (spawned per round: ~20 µs, negligible); another thread reads them all on a tokio
//! runtime with one task per connection, as the fan-out benchmark's clients do. Each round starts once the
//! previous one has been read in full, and reports how long the writes took (the writer's cost per socket,
//! which includes the loopback delivery the kernel runs in the writer's context) and when the last frame of
//! the round was read (the least time in which any server could reach every client of a room this size here).
//! Rounds are paced at `--rate` per second, as the benchmark's latency phase is. The writing side is a child
//! process (this program again), so that 10,000 connections fit each side's descriptor limit; everything stays
//! on 127.0.0.1.

use anyhow::Context as _;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt as _;

/// The options of the `loopback-floor` scenario.
#[derive(Debug, clap::Args)]
pub(crate) struct FloorArgs {
    /// Connections (the room size).
    #[arg(long, default_value_t = 10_000)]
    sockets: usize,
    /// Rounds (one frame to every connection each).
    #[arg(long, default_value_t = 50)]
    rounds: u32,
    /// Rounds per second (at most; a round never starts before the previous one was read in full).
    #[arg(long, default_value_t = 10.0)]
    rate: f64,
    /// Bytes per frame (a `message:new` WebSocket frame of the fan-out benchmark is about 330).
    #[arg(long, default_value_t = 330)]
    frame_bytes: usize,
    /// Writer threads, each writing to its share of the connections (the gateway has one worker per core).
    #[arg(long, default_value_t = 2)]
    writers: usize,
    /// Internal: run as the writing child process for this many connections.
    #[arg(long, hide = true)]
    writer_of: Option<usize>,
}

/// Runs the scenario: this process reads; a child process (this program again, `--writer-of`) accepts the
/// connections and writes, so that each side's descriptors stay within one process's limit.
pub(crate) fn run(args: &FloorArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.sockets > 0 && args.frame_bytes > 0 && args.writers > 0,
        "--sockets, --frame-bytes and --writers must be positive"
    );
    if let Some(sockets) = args.writer_of {
        return write_side(sockets, args.frame_bytes, args.writers);
    }
    let mut child = Command::new(std::env::current_exe()?)
        .args(["loopback-floor", "--frame-bytes", &args.frame_bytes.to_string()])
        .args(["--writers", &args.writers.to_string()])
        .args(["--writer-of", &args.sockets.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let result = read_side(args, &mut child);
    let _ = child.kill();
    let _ = child.wait();
    result
}

/// The child: accepts `sockets` connections, prints its port, then writes one frame to every connection each
/// time a line arrives on its standard input, answering with the microseconds the writes took.
fn write_side(sockets: usize, frame_bytes: usize, writers: usize) -> anyhow::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    println!("{}", listener.local_addr()?.port());
    std::io::stdout().flush()?;
    let mut connections = Vec::with_capacity(sockets);
    for _ in 0..sockets {
        let (server, _) = listener.accept()?;
        server.set_nodelay(true)?;
        connections.push(server);
    }
    let frame = vec![b'x'; frame_bytes];
    let share = connections.len().div_ceil(writers);
    for line in std::io::stdin().lines() {
        line?;
        let started = Instant::now();
        std::thread::scope(|scope| -> anyhow::Result<()> {
            let threads: Vec<_> = connections
                .chunks_mut(share)
                .map(|chunk| {
                    let frame = &frame;
                    scope.spawn(move || -> std::io::Result<()> {
                        for socket in chunk {
                            socket.write_all(frame)?;
                        }
                        Ok(())
                    })
                })
                .collect();
            for thread in threads {
                thread
                    .join()
                    .map_err(|_| anyhow::anyhow!("a writer thread panicked"))??;
            }
            Ok(())
        })?;
        println!("{}", started.elapsed().as_micros());
        std::io::stdout().flush()?;
    }
    Ok(())
}

/// The parent: connects, reads every frame on a tokio runtime (a task per connection), and paces the rounds.
fn read_side(args: &FloorArgs, child: &mut std::process::Child) -> anyhow::Result<()> {
    let mut replies = BufReader::new(child.stdout.take().context("the writer's output")?).lines();
    let mut orders = child.stdin.take().context("the writer's input")?;
    let port: u16 = replies.next().context("the writer's port")??.trim().parse()?;
    let mut readers = Vec::with_capacity(args.sockets);
    for _ in 0..args.sockets {
        let client = TcpStream::connect(("127.0.0.1", port))?;
        client.set_nodelay(true)?;
        client.set_nonblocking(true)?;
        readers.push(client);
    }
    let frames_read = Arc::new(AtomicU64::new(0));
    let frame_bytes = args.frame_bytes;
    let counter = frames_read.clone();
    let reader = std::thread::spawn(move || -> anyhow::Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async move {
            let mut tasks = Vec::with_capacity(readers.len());
            for socket in readers {
                let counter = counter.clone();
                tasks.push(tokio::spawn(async move {
                    let mut socket = tokio::net::TcpStream::from_std(socket)?;
                    let mut buf = vec![0u8; 4096];
                    let mut pending = 0usize;
                    loop {
                        let n = socket.read(&mut buf).await?;
                        if n == 0 {
                            return anyhow::Ok(());
                        }
                        pending += n;
                        let whole = pending / frame_bytes;
                        pending %= frame_bytes;
                        counter.fetch_add(whole as u64, Ordering::Release);
                    }
                }));
            }
            for task in tasks {
                task.await??;
            }
            anyhow::Ok(())
        })
    });

    let period = Duration::from_secs_f64(1.0 / args.rate.max(0.001));
    let mut write_times = crate::histogram()?;
    let mut round_times = crate::histogram()?;
    let mut expected = 0u64;
    let started = Instant::now();
    for round in 0..args.rounds {
        let due = started + period * round;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let round_started = Instant::now();
        writeln!(orders, "go")?;
        orders.flush()?;
        expected += args.sockets as u64;
        let deadline = Instant::now() + Duration::from_secs(30);
        while frames_read.load(Ordering::Acquire) < expected {
            anyhow::ensure!(Instant::now() < deadline, "frames were not read within 30 s");
            // A short sleep, not a spin: the writers and the reader need both cores.
            std::thread::sleep(Duration::from_micros(50));
        }
        round_times.record(round_started.elapsed().as_micros() as u64)?;
        let written: u64 = replies.next().context("the writer's timing")??.trim().parse()?;
        write_times.record(written.max(1))?;
    }
    // End of input: the writer exits and its connections close, which ends the reader's tasks.
    drop(orders);
    reader
        .join()
        .map_err(|_| anyhow::anyhow!("the reader thread panicked"))??;
    let sockets = args.sockets as f64;
    println!(
        "loopback floor: {} sockets, {} rounds at {}/s, {} bytes per frame, {} writer threads",
        args.sockets, args.rounds, args.rate, args.frame_bytes, args.writers
    );
    println!(
        "writing one frame to every socket: p50={:.2}ms p99={:.2}ms = {:.2} us of wall time per socket (p50)",
        write_times.value_at_quantile(0.5) as f64 / 1000.0,
        write_times.value_at_quantile(0.99) as f64 / 1000.0,
        write_times.value_at_quantile(0.5) as f64 / sockets
    );
    println!(
        "last frame of a round read (one reader thread, a task per socket): p50={:.2}ms p99={:.2}ms max={:.2}ms",
        round_times.value_at_quantile(0.5) as f64 / 1000.0,
        round_times.value_at_quantile(0.99) as f64 / 1000.0,
        round_times.max() as f64 / 1000.0
    );
    Ok(())
}
