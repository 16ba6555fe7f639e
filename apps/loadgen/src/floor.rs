//! The `loopback-floor` scenario: what fan-out costs on this machine with no server at all.
//!
//! One thread writes a frame of `--frame-bytes` to each of `--sockets` loopback TCP connections, in a loop,
//! as a gateway writing one event to every socket of a room would; another thread reads them all on a tokio
//! runtime with one task per connection, as the fan-out benchmark's clients do. Each round starts once the
//! previous one has been read in full, and reports how long the writes took (the writer's cost per socket,
//! which includes the loopback delivery the kernel runs in the writer's context) and when the last frame of
//! the round was read (the least time in which any server could reach every client of a room this size here).
//! Rounds are paced at `--rate` per second, as the benchmark's latency phase is. Everything stays in this
//! process, on 127.0.0.1.

use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
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
}

/// Runs the scenario.
pub(crate) fn run(args: &FloorArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.sockets > 0 && args.frame_bytes > 0,
        "--sockets and --frame-bytes must be positive"
    );
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let mut writers = Vec::with_capacity(args.sockets);
    let mut readers = Vec::with_capacity(args.sockets);
    for _ in 0..args.sockets {
        let client = TcpStream::connect(addr)?;
        let (server, _) = listener.accept()?;
        client.set_nodelay(true)?;
        server.set_nodelay(true)?;
        client.set_nonblocking(true)?;
        readers.push(client);
        writers.push(server);
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

    let frame = vec![b'x'; frame_bytes];
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
        for socket in &mut writers {
            socket.write_all(&frame)?;
        }
        write_times.record(round_started.elapsed().as_micros() as u64)?;
        expected += writers.len() as u64;
        let deadline = Instant::now() + Duration::from_secs(30);
        while frames_read.load(Ordering::Acquire) < expected {
            anyhow::ensure!(Instant::now() < deadline, "frames were not read within 30 s");
            std::thread::yield_now();
        }
        round_times.record(round_started.elapsed().as_micros() as u64)?;
    }
    drop(writers);
    reader
        .join()
        .map_err(|_| anyhow::anyhow!("the reader thread panicked"))??;
    let sockets = args.sockets as f64;
    println!(
        "loopback floor: {} sockets, {} rounds at {}/s, {} bytes per frame",
        args.sockets, args.rounds, args.rate, args.frame_bytes
    );
    println!(
        "writing one frame to every socket (one thread): p50={:.2}ms p99={:.2}ms = {:.2} us per socket (p50)",
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
