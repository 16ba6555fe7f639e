//! Argon2id password hashing on a fixed set of hashing threads, with admission by estimated wait.
//!
//! Each hashing thread owns one Argon2 memory block (19 MiB with the OWASP parameters) and reuses it for every
//! hash, so memory stays at `threads × 19 MiB` under any load instead of one fresh block per request (which the
//! system allocator kept in a growing number of per-thread arenas). A thread idle for [`IDLE_RELEASE`] frees its
//! block, so memory goes back down once a burst is over.
//!
//! Requests reach the threads through one bounded queue. Before a request is queued, [`PasswordHasher::admit`]
//! estimates its wait: `(requests ahead / threads) × time per hash`, the time per hash being a moving average of
//! the hashes just measured. A request that would wait longer than the configured bound is refused at once with
//! [`AuthError::Busy`] and a retry delay, instead of waiting, timing out and having spent the client's time; the
//! refusals are counted (see [`HasherSettings::on_refused`]) and logged as one warning per
//! [`WARNING_INTERVAL`] at most.

use crate::error::{AuthError, AuthResult};
use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use secrecy::{ExposeSecret as _, SecretString};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// A hashing thread that has had no work for this long frees its memory block.
pub const IDLE_RELEASE: Duration = Duration::from_secs(3);
/// At most one warning about refused requests per this interval (with the count since the last one).
pub const WARNING_INTERVAL: Duration = Duration::from_secs(30);
/// Hard bound of the queue, per hashing thread, whatever the estimate says (the estimate normally refuses far
/// earlier: 2 s of 40 ms hashes is 50 per thread).
const MAX_QUEUED_PER_THREAD: usize = 256;
/// Weight of a new measurement in the moving average of the time per hash (1/8).
const EWMA_SHIFT: u32 = 3;
/// Largest Argon2 memory a stored hash may ask for (256 MiB): a hash string is data, not a reason to allocate
/// without limit.
const MAX_BLOCKS: usize = 256 * 1024;

/// Called once per refused request (the gateway counts them in a metric).
pub type RefusalHook = Arc<dyn Fn() + Send + Sync>;

/// How many hashing threads run and how long a request may wait for one.
#[derive(Clone)]
pub struct HasherSettings {
    /// Hashing threads; use the number of cores (more threads than cores only make every hash slower).
    pub threads: usize,
    /// The longest estimated wait for a hashing thread a request is admitted with; beyond it, `Busy`.
    pub max_wait: Duration,
    /// Called for every refused request.
    pub on_refused: Option<RefusalHook>,
}

impl HasherSettings {
    /// `threads` hashing threads, a two-second bound on the wait, no refusal hook.
    pub fn with_threads(threads: usize) -> Self {
        Self {
            threads,
            max_wait: Duration::from_secs(2),
            on_refused: None,
        }
    }
}

impl std::fmt::Debug for HasherSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HasherSettings")
            .field("threads", &self.threads)
            .field("max_wait", &self.max_wait)
            .field("on_refused", &self.on_refused.is_some())
            .finish()
    }
}

/// What the hashing threads are doing, for metrics.
#[derive(Debug, Clone, Copy)]
pub struct HasherStats {
    /// Hashing threads.
    pub threads: usize,
    /// Requests admitted and not finished (running, queued, or about to queue).
    pub pending: usize,
    /// The moving average of the time one hash takes.
    pub time_per_hash: Duration,
    /// Requests refused since start.
    pub refused_total: u64,
}

/// Hashes and verifies passwords with Argon2id (OWASP parameters: 19 MiB, 2 passes, 1 lane) on its own threads.
///
/// Cloning is cheap and shares the threads; they stop when the last clone is dropped.
#[derive(Clone)]
pub struct PasswordHasher {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

struct Shared {
    jobs: Arc<Queue>,
    threads: usize,
    max_wait: Duration,
    /// Admitted requests not yet finished; what a new request would queue behind.
    pending: AtomicUsize,
    /// Moving average of the time per hash, in nanoseconds.
    nanos_per_hash: AtomicU64,
    refused: AtomicU64,
    on_refused: Option<RefusalHook>,
    /// Refusals since the last warning, and when it was written (ms since `started`; `u64::MAX`: never).
    unwarned: AtomicU64,
    last_warning_ms: AtomicU64,
    started: Instant,
    /// A hash of a random password, verified against when the e-mail is unknown so both failures cost the same.
    dummy_hash: Box<str>,
}

/// The work a hashing thread does for one request.
enum Work {
    Hash(SecretBytes),
    Verify(SecretBytes, String),
}

/// What it answers.
enum Done {
    Hashed(String),
    Verified(bool),
}

struct Job {
    work: Work,
    reply: oneshot::Sender<AuthResult<Done>>,
}

/// Password bytes that are wiped when dropped.
struct SecretBytes(Vec<u8>);

impl Drop for SecretBytes {
    fn drop(&mut self) {
        self.0.iter_mut().for_each(|b| *b = 0);
        std::hint::black_box(&self.0);
    }
}

/// A place in the hashing queue, taken by [`PasswordHasher::admit`] before any other work of the request (so a
/// refused request costs nothing else) and given back when the request's hash is done or the request is dropped.
#[must_use = "a permit is used to hash or verify"]
pub struct HashPermit {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for HashPermit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashPermit").finish_non_exhaustive()
    }
}

impl Drop for HashPermit {
    fn drop(&mut self) {
        self.shared.pending.fetch_sub(1, Ordering::AcqRel);
    }
}

impl PasswordHasher {
    /// Starts the hashing threads and computes the dummy hash (which also gives the first time per hash), so call
    /// it once at start-up, outside the async executor.
    pub fn new(settings: HasherSettings) -> AuthResult<Self> {
        let threads = settings.threads.max(1);
        let mut random = [0u8; 32];
        getrandom::fill(&mut random).map_err(|e| AuthError::Crypto(e.to_string()))?;
        let mut memory = Vec::new();
        let started = Instant::now();
        let dummy = hash_with(&mut memory, &random)?;
        let first_hash = started.elapsed();
        drop(memory);

        let jobs = Arc::new(Queue {
            state: Mutex::new(QueueState {
                jobs: VecDeque::new(),
                closed: false,
            }),
            ready: Condvar::new(),
            capacity: threads * MAX_QUEUED_PER_THREAD,
        });
        let shared = Arc::new(Shared {
            jobs,
            threads,
            max_wait: settings.max_wait,
            pending: AtomicUsize::new(0),
            nanos_per_hash: AtomicU64::new(u64::try_from(first_hash.as_nanos()).unwrap_or(u64::MAX)),
            refused: AtomicU64::new(0),
            on_refused: settings.on_refused,
            unwarned: AtomicU64::new(0),
            last_warning_ms: AtomicU64::new(u64::MAX),
            started,
            dummy_hash: dummy.into(),
        });
        for index in 0..threads {
            let queue = shared.jobs.clone();
            let weak = Arc::downgrade(&shared);
            std::thread::Builder::new()
                .name(format!("argon2-{index}"))
                .spawn(move || hashing_thread(&queue, &weak))
                .map_err(|e| AuthError::Crypto(format!("starting a hashing thread: {e}")))?;
        }
        Ok(Self { shared })
    }

    /// Takes a place in the hashing queue, or answers [`AuthError::Busy`] at once when the estimated wait for a
    /// hashing thread is over the bound. Call it before the request does anything else expensive.
    pub fn admit(&self) -> AuthResult<HashPermit> {
        let shared = &self.shared;
        let ahead = shared.pending.fetch_add(1, Ordering::AcqRel);
        // The permit gives the place back if it is refused below.
        let permit = HashPermit {
            shared: shared.clone(),
        };
        let wait = shared.estimated_wait(ahead);
        let over_bound = ahead >= shared.threads && wait > shared.max_wait;
        if over_bound || ahead >= shared.threads * MAX_QUEUED_PER_THREAD {
            drop(permit);
            shared.refused(wait);
            return Err(AuthError::Busy {
                retry_after: retry_after(wait),
            });
        }
        Ok(permit)
    }

    /// Hashes `password` into a PHC string.
    pub async fn hash(&self, password: &SecretString) -> AuthResult<String> {
        self.admit()?.hash(password).await
    }

    /// Verifies `password` against `stored`, or against the dummy hash when there is no account (see
    /// [`HashPermit::verify`]).
    pub async fn verify(&self, password: &SecretString, stored: Option<String>) -> AuthResult<bool> {
        self.admit()?.verify(password, stored).await
    }

    /// The threads' current load and the refusals so far.
    pub fn stats(&self) -> HasherStats {
        let shared = &self.shared;
        HasherStats {
            threads: shared.threads,
            pending: shared.pending.load(Ordering::Acquire),
            time_per_hash: Duration::from_nanos(shared.nanos_per_hash.load(Ordering::Relaxed)),
            refused_total: shared.refused.load(Ordering::Relaxed),
        }
    }
}

impl HashPermit {
    /// Hashes `password` into a PHC string.
    pub async fn hash(self, password: &SecretString) -> AuthResult<String> {
        match self.run(Work::Hash(secret_bytes(password))).await? {
            Done::Hashed(phc) => Ok(phc),
            Done::Verified(_) => Err(AuthError::Crypto("hashing thread answered a verification".into())),
        }
    }

    /// Verifies `password` against `stored`, or against the dummy hash when there is no account, so that the
    /// answer takes the same time either way. Returns `true` only for a real, matching hash.
    pub async fn verify(self, password: &SecretString, stored: Option<String>) -> AuthResult<bool> {
        let has_account = stored.is_some();
        let phc = stored.unwrap_or_else(|| self.shared.dummy_hash.to_string());
        match self.run(Work::Verify(secret_bytes(password), phc)).await? {
            Done::Verified(matches) => Ok(has_account && matches),
            Done::Hashed(_) => Err(AuthError::Crypto("hashing thread answered a hash".into())),
        }
    }

    async fn run(self, work: Work) -> AuthResult<Done> {
        let (reply, answer) = oneshot::channel();
        match self.shared.jobs.push(Job { work, reply }) {
            Ok(()) => {}
            // Admission keeps the queue below its capacity; a full queue still only refuses.
            Err(Refused::Full) => {
                let wait = self
                    .shared
                    .estimated_wait(self.shared.pending.load(Ordering::Acquire));
                self.shared.refused(wait);
                return Err(AuthError::Busy {
                    retry_after: retry_after(wait),
                });
            }
            Err(Refused::Closed) => {
                return Err(AuthError::Crypto("the hashing threads have stopped".into()));
            }
        }
        // Dropping this future (the client went away) closes `answer`; the thread then skips the hash.
        let done = answer
            .await
            .map_err(|_| AuthError::Crypto("a hashing thread stopped".into()))?;
        drop(self);
        done
    }
}

impl Shared {
    /// How long a request with `ahead` requests before it waits for a hashing thread to start on it.
    fn estimated_wait(&self, ahead: usize) -> Duration {
        let rounds = u64::try_from(ahead / self.threads).unwrap_or(u64::MAX);
        Duration::from_nanos(rounds.saturating_mul(self.nanos_per_hash.load(Ordering::Relaxed)))
    }

    /// Counts a refusal and writes the rate-limited warning when it is due.
    fn refused(&self, wait: Duration) {
        self.refused.fetch_add(1, Ordering::Relaxed);
        if let Some(hook) = &self.on_refused {
            hook();
        }
        self.unwarned.fetch_add(1, Ordering::Relaxed);
        let now_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let interval_ms = u64::try_from(WARNING_INTERVAL.as_millis()).unwrap_or(u64::MAX);
        let last = self.last_warning_ms.load(Ordering::Relaxed);
        let due = last == u64::MAX || now_ms.saturating_sub(last) >= interval_ms;
        // One caller wins the exchange and writes the warning; the others only counted.
        if due
            && self
                .last_warning_ms
                .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            let refused = self.unwarned.swap(0, Ordering::Relaxed);
            tracing::warn!(
                refused,
                estimated_wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                max_wait_ms = u64::try_from(self.max_wait.as_millis()).unwrap_or(u64::MAX),
                threads = self.threads,
                "password hashing is saturated: refusing logins with 503 and Retry-After (at most one such warning per {} s)",
                WARNING_INTERVAL.as_secs()
            );
        }
    }

    /// Folds one measured hash into the moving average.
    fn measured(&self, took: Duration) {
        let sample = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        let _ = self
            .nanos_per_hash
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |average| {
                let average = i128::from(average);
                let next = average + ((i128::from(sample) - average) >> EWMA_SHIFT);
                u64::try_from(next.max(1)).ok()
            });
    }
}

/// Seconds a refused client should wait: until the work ahead of it has cleared, at least one.
fn retry_after(wait: Duration) -> Duration {
    Duration::from_secs(wait.as_secs_f64().ceil().max(1.0) as u64)
}

fn secret_bytes(password: &SecretString) -> SecretBytes {
    SecretBytes(password.expose_secret().as_bytes().to_vec())
}

/// The bounded queue in front of the hashing threads. Threads wait on the condition variable with a timeout each
/// (not one at a time, as on a shared channel receiver), so every idle thread frees its block after
/// [`IDLE_RELEASE`].
struct Queue {
    state: Mutex<QueueState>,
    ready: Condvar,
    capacity: usize,
}

struct QueueState {
    jobs: VecDeque<Job>,
    /// Set when the last [`PasswordHasher`] is gone: the threads finish the queue and stop.
    closed: bool,
}

/// Why a job was not queued.
enum Refused {
    Full,
    Closed,
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, QueueState> {
        // The lock is only held to move jobs in and out; a panic elsewhere leaves the state consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push(&self, job: Job) -> Result<(), Refused> {
        let mut state = self.lock();
        if state.closed {
            return Err(Refused::Closed);
        }
        if state.jobs.len() >= self.capacity {
            return Err(Refused::Full);
        }
        state.jobs.push_back(job);
        drop(state);
        self.ready.notify_one();
        Ok(())
    }

    fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.jobs.close();
    }
}

/// One hashing thread: takes jobs until every [`PasswordHasher`] clone is gone, reusing `memory` for each, and
/// frees `memory` whenever it has had nothing to do for [`IDLE_RELEASE`].
fn hashing_thread(queue: &Queue, shared: &std::sync::Weak<Shared>) {
    let mut memory: Vec<Block> = Vec::new();
    loop {
        let mut state = queue.lock();
        let job = loop {
            if let Some(job) = state.jobs.pop_front() {
                break job;
            }
            if state.closed {
                return;
            }
            let (next, waited) = queue
                .ready
                .wait_timeout(state, IDLE_RELEASE)
                .unwrap_or_else(PoisonError::into_inner);
            state = next;
            if waited.timed_out() && state.jobs.is_empty() && !memory.is_empty() {
                // Idle: give the block back (the next hash allocates it again, in a few milliseconds).
                memory = Vec::new();
            }
        };
        drop(state);
        if job.reply.is_closed() {
            // The request was dropped while queued (its client went away): no one wants this hash.
            continue;
        }
        let started = Instant::now();
        let result = match &job.work {
            Work::Hash(password) => hash_with(&mut memory, &password.0).map(Done::Hashed),
            Work::Verify(password, phc) => verify_with(&mut memory, &password.0, phc).map(Done::Verified),
        };
        if let Some(shared) = shared.upgrade() {
            shared.measured(started.elapsed());
        }
        let _ = job.reply.send(result);
    }
}

/// Makes `memory` exactly `blocks` long, reusing it when it already is.
fn blocks(memory: &mut Vec<Block>, blocks: usize) -> AuthResult<&mut [Block]> {
    if blocks > MAX_BLOCKS {
        return Err(AuthError::Crypto(format!(
            "a hash asks for {blocks} KiB of memory"
        )));
    }
    if memory.len() != blocks {
        *memory = Vec::new();
        memory.resize(blocks, Block::new());
    }
    Ok(memory.as_mut_slice())
}

/// Argon2id with the default (OWASP) parameters and a fresh 16-byte salt, as a PHC string.
fn hash_with(memory: &mut Vec<Block>, password: &[u8]) -> AuthResult<String> {
    let crypto = |e: &dyn std::fmt::Display| AuthError::Crypto(e.to_string());
    let params = Params::DEFAULT;
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| crypto(&e))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    argon2
        .hash_password_into_with_memory(password, &salt, &mut out, blocks(memory, params.block_count())?)
        .map_err(|e| crypto(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| crypto(&e))?,
        salt: Some(Salt::new(&salt).map_err(|e| crypto(&e))?),
        hash: Some(Output::new(&out).map_err(|e| crypto(&e))?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `phc` (any Argon2 variant and parameters), compared in constant
/// time. A string that does not parse is no match.
fn verify_with(memory: &mut Vec<Block>, password: &[u8], phc: &str) -> AuthResult<bool> {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return Ok(false);
    };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return Ok(false);
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm.as_str()) else {
        return Ok(false);
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(version)) => version,
        Some(Err(_)) => return Ok(false),
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return Ok(false);
    };
    let mut out = vec![0u8; expected.len()];
    let argon2 = Argon2::new(algorithm, version, params.clone());
    argon2
        .hash_password_into_with_memory(password, salt, &mut out, blocks(memory, params.block_count())?)
        .map_err(|e| AuthError::Crypto(e.to_string()))?;
    let computed = Output::new(&out).map_err(|e| AuthError::Crypto(e.to_string()))?;
    // `Output`'s equality is constant-time.
    Ok(computed == *expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::PasswordHasher as _;

    fn hasher(threads: usize, max_wait: Duration) -> PasswordHasher {
        PasswordHasher::new(HasherSettings {
            max_wait,
            ..HasherSettings::with_threads(threads)
        })
        .unwrap()
    }

    #[tokio::test]
    async fn hashes_verify_only_the_right_password() {
        let hasher = hasher(2, Duration::from_secs(2));
        let password = SecretString::from("correct horse battery");
        let phc = hasher.hash(&password).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(hasher.verify(&password, Some(phc.clone())).await.unwrap());
        assert!(
            !hasher
                .verify(&SecretString::from("wrong horse"), Some(phc.clone()))
                .await
                .unwrap()
        );
        // Two hashes of one password differ (fresh salts) and both verify.
        let again = hasher.hash(&password).await.unwrap();
        assert_ne!(phc, again);
        assert!(hasher.verify(&password, Some(again)).await.unwrap());
        // No account: the dummy hash is checked, and the answer is always false.
        assert!(!hasher.verify(&password, None).await.unwrap());
        // Garbage in the database is no match, not a failure.
        assert!(!hasher.verify(&password, Some("not a hash".into())).await.unwrap());
    }

    #[tokio::test]
    async fn hashes_of_the_argon2_crate_still_verify_and_ours_verify_there() {
        // Hashes stored before this module reused memory were made by `Argon2::hash_password`.
        let hasher = hasher(1, Duration::from_secs(2));
        let password = SecretString::from("an older password");
        let old = Argon2::default()
            .hash_password(b"an older password")
            .unwrap()
            .to_string();
        assert!(hasher.verify(&password, Some(old.clone())).await.unwrap());
        assert!(
            !hasher
                .verify(&SecretString::from("another"), Some(old))
                .await
                .unwrap()
        );
        let ours = hasher.hash(&password).await.unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            argon2::PasswordVerifier::verify_password(&Argon2::default(), b"an older password", &parsed)
                .is_ok()
        );
        // Other parameters than the defaults are honoured (the block is resized for them).
        let small = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(1024, 1, 1, None).unwrap(),
        )
        .hash_password(b"an older password")
        .unwrap()
        .to_string();
        assert!(hasher.verify(&password, Some(small)).await.unwrap());
    }

    #[tokio::test]
    async fn the_dummy_hash_has_the_parameters_of_real_hashes() {
        // Equal time for unknown e-mails: the dummy costs what a real verification costs.
        let hasher = hasher(1, Duration::from_secs(2));
        let real = hasher.hash(&SecretString::from("password1")).await.unwrap();
        let params = |phc: &str| PasswordHash::new(phc).unwrap().params.to_string();
        assert_eq!(params(&hasher.shared.dummy_hash), params(&real));
        assert!(
            hasher
                .shared
                .dummy_hash
                .starts_with("$argon2id$v=19$m=19456,t=2,p=1$")
        );
    }

    #[tokio::test]
    async fn a_request_that_would_wait_too_long_is_refused_with_a_retry_delay() {
        let refusals = Arc::new(AtomicU64::new(0));
        let counted = refusals.clone();
        let hasher = PasswordHasher::new(HasherSettings {
            threads: 1,
            max_wait: Duration::from_millis(1),
            on_refused: Some(Arc::new(move || {
                counted.fetch_add(1, Ordering::Relaxed);
            })),
        })
        .unwrap();
        // One thread free: admitted whatever the bound.
        let first = hasher.admit().unwrap();
        // One request ahead on the only thread: it would wait a whole hash, more than 1 ms.
        let Err(AuthError::Busy { retry_after }) = hasher.admit() else {
            panic!("a second request should be refused");
        };
        assert!(retry_after >= Duration::from_secs(1));
        assert_eq!(refusals.load(Ordering::Relaxed), 1);
        assert_eq!(hasher.stats().refused_total, 1);
        assert_eq!(hasher.stats().pending, 1, "a refused request holds no place");
        // Once the place is given back, requests are admitted again and the hash works.
        drop(first);
        assert!(hasher.hash(&SecretString::from("password1")).await.is_ok());
        assert_eq!(hasher.stats().pending, 0);
    }

    #[tokio::test]
    async fn requests_within_the_bound_wait_and_all_succeed() {
        // A generous bound: as many requests as fit are queued, none refused.
        let hasher = hasher(2, Duration::from_secs(60));
        let password = SecretString::from("password1");
        let phc = hasher.hash(&password).await.unwrap();
        let checks: Vec<_> = (0..6)
            .map(|_| {
                let (hasher, password, phc) = (hasher.clone(), password.clone(), phc.clone());
                tokio::spawn(async move { hasher.verify(&password, Some(phc)).await })
            })
            .collect();
        for check in checks {
            assert!(check.await.unwrap().unwrap());
        }
        assert_eq!(hasher.stats().refused_total, 0);
    }

    #[test]
    fn the_queue_bound_holds_when_the_estimate_is_tiny() {
        let hasher = hasher(1, Duration::from_secs(3600));
        hasher.shared.nanos_per_hash.store(1, Ordering::Relaxed);
        let held: Vec<_> = (0..MAX_QUEUED_PER_THREAD)
            .map(|_| hasher.admit().unwrap())
            .collect();
        assert!(matches!(hasher.admit(), Err(AuthError::Busy { .. })));
        drop(held);
        assert!(hasher.admit().is_ok());
    }

    #[test]
    fn the_wait_estimate_counts_rounds_of_the_threads() {
        let hasher = hasher(2, Duration::from_secs(2));
        hasher.shared.nanos_per_hash.store(40_000_000, Ordering::Relaxed);
        assert_eq!(hasher.shared.estimated_wait(0), Duration::ZERO);
        assert_eq!(hasher.shared.estimated_wait(1), Duration::ZERO);
        assert_eq!(hasher.shared.estimated_wait(2), Duration::from_millis(40));
        assert_eq!(hasher.shared.estimated_wait(101), Duration::from_millis(2000));
        assert_eq!(retry_after(Duration::from_millis(2040)), Duration::from_secs(3));
        assert_eq!(retry_after(Duration::ZERO), Duration::from_secs(1));
        hasher.shared.measured(Duration::from_millis(120));
        assert_eq!(hasher.stats().time_per_hash, Duration::from_millis(50));
    }
}
