//! Session cutoffs: the instant up to which a user's access tokens are refused (`users.sessions_valid_after`),
//! set by a logout everywhere or a new password or e-mail, so that such a change ends every session at once,
//! on every node, instead of when the tokens expire.
//!
//! Where it is read on every authenticated request and socket handshake:
//! - **Redis** (when configured) is asked on every request: one `MGET` of the user's key and of the
//!   *complete* marker, on one multiplexed connection shared by the process (a pooled connection would add a
//!   health-check round trip). A change is written there before its request is answered, so any request that
//!   starts after that answer, on any node, sees it. (An in-process cache invalidated by a pub/sub message
//!   would save the round trip but leave a window in which another node has not processed the message yet
//!   while it already serves a request with a revoked token.)
//! - **Only recent cutoffs matter.** A cutoff refuses tokens issued before it, and those expire one access
//!   token lifetime later; so Redis keeps a user's key for that lifetime plus a margin for clock skew (the
//!   *window*) and no longer. While the *complete* marker is present, Redis holds every cutoff younger than
//!   the window, and a missing key means "nothing to refuse": no PostgreSQL read, which matters because most
//!   users never end their sessions. The marker is set by a *seed* that copies the cutoffs younger than the
//!   window from PostgreSQL (under a Redis lock, so one node does it), after which each change writes its own
//!   key. A Redis that lost its data (restarted, flushed) has no marker: readers then read PostgreSQL for
//!   missing keys, as before the seed, and start a new seed. A Redis that may evict keys
//!   (`maxmemory-policy` other than `noeviction`, or one that does not say) is never marked complete: a key
//!   evicted under memory pressure would otherwise read as "nothing to refuse".
//! - **In process**, a bounded map with a short lifetime serves while Redis is unreachable (and without Redis,
//!   a single node, where this node's own changes update it at once). Misses read PostgreSQL.
//! - **PostgreSQL** is the source of truth. Every change of a cutoff goes through [`SessionCutoffs::raised`]
//!   after its commit: a cutoff written to PostgreSQL alone would stay unseen while Redis is marked complete.
//!
//! **One session ended on its own** (`DELETE /api/auth/sessions/:id`) is kept the same way, beside the cutoff:
//! access tokens carry their session (`sid`, the refresh token family), and the same `MGET` reads the session's
//! key too, so the check still costs one round trip. The key exists only for sessions ended within the window
//! (they are rare), `auth_sessions.revoked_at` is the source of truth, the seed copies the recent ones, and
//! [`SessionCutoffs::session_ended`] writes one after its commit. While a configured Redis does not answer, the
//! session's end is read from PostgreSQL on each check (no in-process copy: another node may have just ended
//! it).

use crate::error::{AuthError, AuthResult};
use crate::repo::{auth_sessions, users};
use chrono::{DateTime, Utc};
use epop_core::{TokenFamilyId, UserId};
use epop_storage::DbPool;
use epop_storage::redis::SharedConnection;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long this process trusts what it last read while Redis is unreachable (or absent).
const LOCAL_TTL: Duration = Duration::from_secs(1);
/// The most users this process remembers; beyond it, stale entries go, then all.
const LOCAL_CAPACITY: usize = 100_000;
/// Added to the access token lifetime for the window: the gateways' and PostgreSQL's clocks may differ.
const CLOCK_SKEW_MARGIN: Duration = Duration::from_secs(60);
/// How long one node may hold the seeding lock (a crashed seeder frees it after this).
const SEED_LOCK_SECS: u64 = 30;
/// Cutoffs copied to Redis per PostgreSQL read and Redis pipeline while seeding.
const SEED_BATCH: i64 = 1_000;
/// The Redis value of "never revoked".
const NEVER: i64 = 0;

/// Raises the stored cutoff to `ARGV[1]` unless it is already at least that (never moves it back).
const RAISE_SCRIPT: &str = r"
local current = tonumber(redis.call('GET', KEYS[1]) or '-1')
if current < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
return 0
";

/// Ends a seed: when `KEYS[1]` (the lock) still holds `ARGV[1]` (this seed's holder), frees it and, when
/// `ARGV[2]` is 1 (every recent cutoff was copied), sets `KEYS[2]` (the complete marker); answers 1 if marked.
const FINISH_SEED_SCRIPT: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1])
if ARGV[2] == '1' then
  redis.call('SET', KEYS[2], '1')
  return 1
end
return 0
";

/// What this process last read of each user's cutoff (or each session's end), and when.
type LocalCopies<K> = HashMap<K, (Option<i64>, Instant)>;
/// What one `MGET` of a cutoff, the complete marker and a session's end reads.
type StoredTriple = (Option<i64>, Option<i64>, Option<i64>);
/// The Redis value of an ended session.
const ENDED: i64 = 1;

/// What Redis says of one user's cutoff.
enum SharedAnswer {
    /// The key is there: `None` when never revoked.
    Known(Option<i64>),
    /// No key, and Redis holds every recent cutoff: nothing to refuse.
    NothingRecent,
    /// No key, and Redis may not hold every recent cutoff (no seed since it lost its data).
    Unknown,
}

/// The cutoffs of users' sessions, read through Redis and a local cache (see the module notes).
#[derive(Clone)]
pub struct SessionCutoffs {
    pool: DbPool,
    redis: Option<SharedConnection>,
    prefix: Arc<str>,
    /// The access token lifetime plus [`CLOCK_SKEW_MARGIN`]: how long a cutoff can refuse a live token.
    window: Duration,
    raise: Arc<redis::Script>,
    local: Arc<Mutex<LocalCopies<UserId>>>,
    /// What this process last read of sessions' ends (`Some(ENDED)` when ended on their own).
    local_sessions: Arc<Mutex<LocalCopies<TokenFamilyId>>>,
    /// Whether a seed is running in this process (at most one at a time).
    seeding: Arc<AtomicBool>,
}

impl std::fmt::Debug for SessionCutoffs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionCutoffs")
            .field("shared", &self.redis.is_some())
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

impl SessionCutoffs {
    /// Cutoffs read from PostgreSQL and kept in process only (a single node).
    pub fn new(pool: DbPool) -> Self {
        Self {
            pool,
            redis: None,
            prefix: Arc::from("epop"),
            window: Duration::from_secs(15 * 60) + CLOCK_SKEW_MARGIN,
            raise: Arc::new(redis::Script::new(RAISE_SCRIPT)),
            local: Arc::default(),
            local_sessions: Arc::default(),
            seeding: Arc::default(),
        }
    }

    /// Shares cutoffs between nodes through `redis`, under keys starting with `prefix`, for access tokens
    /// that live `access_ttl`.
    pub fn with_redis(mut self, redis: Option<SharedConnection>, prefix: &str, access_ttl: Duration) -> Self {
        self.redis = redis;
        self.prefix = Arc::from(prefix);
        self.window = access_ttl + CLOCK_SKEW_MARGIN;
        self
    }

    fn key(&self, user: UserId) -> String {
        format!("{}:auth:valid-after:{user}", self.prefix)
    }

    fn session_key(&self, session: TokenFamilyId) -> String {
        format!("{}:auth:session-ended:{session}", self.prefix)
    }

    /// The marker present while Redis holds every cutoff younger than the window.
    fn complete_key(&self) -> String {
        format!("{}:auth:valid-after:complete", self.prefix)
    }

    fn seed_lock_key(&self) -> String {
        format!("{}:auth:valid-after:seeding", self.prefix)
    }

    fn window_secs(&self) -> u64 {
        self.window.as_secs().max(1)
    }

    /// The instant (microseconds since the epoch) up to which `user`'s tokens are refused; `None` when never
    /// (or so long ago that no live token can be refused by it).
    pub async fn cutoff(&self, user: UserId) -> AuthResult<Option<i64>> {
        if let Some(redis) = &self.redis {
            match self.shared(redis, user).await {
                Ok(SharedAnswer::Known(value)) => {
                    self.remember(user, value);
                    return Ok(value);
                }
                Ok(SharedAnswer::NothingRecent) => {
                    self.remember(user, None);
                    return Ok(None);
                }
                Ok(SharedAnswer::Unknown) => {
                    self.seed_in_background();
                    let value = self.load(user).await?;
                    if let Err(error) = self.fill(redis, self.key(user), value).await {
                        tracing::debug!(%error, "could not cache a session cutoff in Redis");
                    }
                    self.remember(user, value);
                    return Ok(value);
                }
                Err(error) => {
                    tracing::debug!(%error, "session cutoffs: Redis unreachable, reading in process");
                }
            }
        }
        if let Some(value) = self.recent(user) {
            return Ok(value);
        }
        let value = self.load(user).await?;
        self.remember(user, value);
        Ok(value)
    }

    /// The cutoff of `user` (as [`Self::cutoff`]) and whether the session `sid` was ended on its own, read in
    /// one Redis round trip.
    pub async fn check(&self, user: UserId, sid: Option<TokenFamilyId>) -> AuthResult<(Option<i64>, bool)> {
        let Some(sid) = sid else {
            return Ok((self.cutoff(user).await?, false));
        };
        if let Some(redis) = &self.redis {
            match self.shared_with_session(redis, user, sid).await {
                Ok((user_answer, session_answer)) => {
                    let cutoff = match user_answer {
                        SharedAnswer::Known(value) => value,
                        SharedAnswer::NothingRecent => None,
                        SharedAnswer::Unknown => {
                            self.seed_in_background();
                            let value = self.load(user).await?;
                            if let Err(error) = self.fill(redis, self.key(user), value).await {
                                tracing::debug!(%error, "could not cache a session cutoff in Redis");
                            }
                            value
                        }
                    };
                    self.remember(user, cutoff);
                    let ended = match session_answer {
                        SharedAnswer::Known(value) => value,
                        SharedAnswer::NothingRecent => None,
                        SharedAnswer::Unknown => {
                            self.seed_in_background();
                            let value = self.load_session(sid).await?;
                            if let Err(error) = self.fill(redis, self.session_key(sid), value).await {
                                tracing::debug!(%error, "could not cache an ended session in Redis");
                            }
                            value
                        }
                    };
                    remember_in(&self.local_sessions, sid, ended);
                    return Ok((cutoff, ended.is_some()));
                }
                Err(error) => {
                    tracing::debug!(%error, "session cutoffs: Redis unreachable, reading in process");
                }
            }
        }
        let cutoff = match self.recent(user) {
            Some(value) => value,
            None => {
                let value = self.load(user).await?;
                self.remember(user, value);
                value
            }
        };
        // With Redis configured but not answering, another node may have ended the session a moment ago
        // (unlike a cutoff, an ended session is never expected by its token's age): PostgreSQL says, one
        // primary-key read, only while Redis is down. Without Redis (a single node), this process's own changes
        // keep its copy current.
        let recent = if self.redis.is_some() {
            None
        } else {
            recall_in(&self.local_sessions, &sid)
        };
        let ended = match recent {
            Some(value) => value,
            None => {
                let value = self.load_session(sid).await?;
                remember_in(&self.local_sessions, sid, value);
                value
            }
        };
        Ok((cutoff, ended.is_some()))
    }

    /// Records that the session `sid` was ended on its own, committed in PostgreSQL: in this process at once,
    /// and in Redis before the change is answered (so every node refuses its access tokens from then on).
    pub async fn session_ended(&self, sid: TokenFamilyId) {
        remember_in(&self.local_sessions, sid, Some(ENDED));
        if let Some(redis) = &self.redis {
            let written: epop_storage::StorageResult<()> = async {
                let mut conn = redis.get().await?;
                let _: () = redis::cmd("SET")
                    .arg(self.session_key(sid))
                    .arg(ENDED)
                    .arg("EX")
                    .arg(self.window_secs())
                    .query_async(&mut conn)
                    .await?;
                Ok(())
            }
            .await;
            if let Err(error) = written {
                self.unmark_complete_in_background(redis);
                tracing::warn!(%error, "could not share an ended session through Redis");
            }
        }
    }

    /// Forgets what this process remembers of the session `sid` (another node ended it).
    pub fn forget_session(&self, sid: TokenFamilyId) {
        if let Ok(mut local) = self.local_sessions.lock() {
            local.remove(&sid);
        }
    }

    /// Records a new cutoff, committed in PostgreSQL: in this process at once, and in Redis before the change
    /// is answered (so every node refuses older tokens from then on).
    pub async fn raised(&self, user: UserId, cutoff: DateTime<Utc>) {
        let micros = cutoff.timestamp_micros();
        self.remember(user, Some(micros));
        if let Some(redis) = &self.redis {
            let raised: epop_storage::StorageResult<()> = async {
                let mut conn = redis.get().await?;
                let _: i64 = self
                    .raise
                    .key(self.key(user))
                    .arg(micros)
                    .arg(self.window_secs())
                    .invoke_async(&mut conn)
                    .await?;
                Ok(())
            }
            .await;
            if let Err(error) = raised {
                // A Redis that kept its marker but missed this key would read as "nothing to refuse": take
                // the marker away (readers go back to PostgreSQL) if Redis answers again in time.
                self.unmark_complete_in_background(redis);
                tracing::warn!(%error, "could not share a session cutoff through Redis");
            }
        }
    }

    /// Reads `user`'s cutoff from PostgreSQL and raises it in Redis and in this process: for a change
    /// announced by the outbox that was written by a process without Redis (the command line).
    pub async fn resync(&self, user: UserId) -> AuthResult<Option<i64>> {
        let value = self.load(user).await?;
        if let Some(micros) = value
            && let Some(at) = DateTime::<Utc>::from_timestamp_micros(micros)
        {
            self.raised(user, at).await;
        }
        Ok(value)
    }

    /// Forgets what this process remembers of `user` (another node changed it).
    pub fn forget(&self, user: UserId) {
        if let Ok(mut local) = self.local.lock() {
            local.remove(&user);
        }
    }

    /// Copies every cutoff younger than the window from PostgreSQL to Redis and then marks Redis complete,
    /// unless another node is doing it, Redis may evict keys, or Redis lost the lock meanwhile. Returns whether
    /// this call marked it complete.
    pub async fn seed(&self) -> AuthResult<bool> {
        let Some(redis) = &self.redis else {
            return Ok(false);
        };
        let mut conn = redis.get().await?;
        let holder = uuid::Uuid::now_v7().simple().to_string();
        let locked: Option<String> = redis::cmd("SET")
            .arg(self.seed_lock_key())
            .arg(&holder)
            .arg("NX")
            .arg("EX")
            .arg(SEED_LOCK_SECS)
            .query_async(&mut conn)
            .await
            .map_err(epop_storage::StorageError::from)?;
        if locked.is_none() {
            return Ok(false);
        }
        let copied = self.copy_recent_cutoffs(&mut conn).await;
        // Marks Redis complete only if it still holds this seed's lock: a Redis that lost its data during the
        // seed (restarted, flushed) lost the lock with the copied cutoffs and must be seeded again.
        let finish = redis::Script::new(FINISH_SEED_SCRIPT);
        let finished: Result<i64, _> = finish
            .key(self.seed_lock_key())
            .key(self.complete_key())
            .arg(&holder)
            .arg(i64::from(copied.as_ref().is_ok_and(|copied| *copied)))
            .invoke_async(&mut conn)
            .await;
        let marked = copied? && finished.map_err(epop_storage::StorageError::from)? == 1;
        if marked {
            tracing::info!("session cutoffs seeded in Redis");
        }
        Ok(marked)
    }

    /// Copies the cutoffs younger than the window; `Ok(false)` when Redis may evict keys (nothing copied).
    async fn copy_recent_cutoffs(&self, redis: &mut epop_storage::redis::SharedCommands) -> AuthResult<bool> {
        let policy: Result<Vec<String>, _> = redis::cmd("CONFIG")
            .arg("GET")
            .arg("maxmemory-policy")
            .query_async(redis)
            .await;
        match policy {
            Ok(answer) if never_evicts(&answer) => {}
            Ok(answer) => {
                tracing::warn!(
                    ?answer,
                    "Redis may evict keys (maxmemory-policy is not noeviction): session cutoffs missing from \
                     Redis are read from PostgreSQL"
                );
                return Ok(false);
            }
            Err(error) => {
                tracing::warn!(
                    %error,
                    "Redis does not say its maxmemory-policy: session cutoffs missing from Redis are read from \
                     PostgreSQL"
                );
                return Ok(false);
            }
        }
        let window = chrono::Duration::from_std(self.window).unwrap_or(chrono::Duration::minutes(16));
        let mut after = None;
        loop {
            let batch = {
                let mut conn = self.pool.get().await?;
                users::recent_session_cutoffs(&mut conn, window, after, SEED_BATCH).await?
            };
            let Some(&(last, _)) = batch.last() else {
                break;
            };
            let mut pipe = redis::pipe();
            for (user, cutoff) in &batch {
                pipe.invoke_script(
                    self.raise
                        .key(self.key(*user))
                        .arg(cutoff.timestamp_micros())
                        .arg(self.window_secs()),
                );
            }
            let _: Vec<i64> = pipe
                .query_async(redis)
                .await
                .map_err(epop_storage::StorageError::from)?;
            if (batch.len() as i64) < SEED_BATCH {
                break;
            }
            after = Some(last);
        }
        let mut after = None;
        loop {
            let batch = {
                let mut conn = self.pool.get().await?;
                let since = users::database_now(&mut conn).await? - window;
                auth_sessions::revoked_since(&mut conn, since, after, SEED_BATCH).await?
            };
            let Some(&last) = batch.last() else {
                break;
            };
            let mut pipe = redis::pipe();
            for session in &batch {
                pipe.cmd("SET")
                    .arg(self.session_key(*session))
                    .arg(ENDED)
                    .arg("EX")
                    .arg(self.window_secs())
                    .ignore();
            }
            let _: () = pipe
                .query_async(redis)
                .await
                .map_err(epop_storage::StorageError::from)?;
            if (batch.len() as i64) < SEED_BATCH {
                break;
            }
            after = Some(last);
        }
        Ok(true)
    }

    /// Starts a seed unless one is running in this process.
    fn seed_in_background(&self) {
        if self.seeding.swap(true, Ordering::AcqRel) {
            return;
        }
        let cutoffs = self.clone();
        tokio::spawn(async move {
            if let Err(error) = cutoffs.seed().await {
                tracing::warn!(%error, "could not seed session cutoffs in Redis");
            }
            cutoffs.seeding.store(false, Ordering::Release);
        });
    }

    /// Deletes the complete marker, retrying for one window while Redis does not answer (afterwards nothing is
    /// left to refuse for the cutoff that could not be written).
    fn unmark_complete_in_background(&self, redis: &SharedConnection) {
        let key = self.complete_key();
        let redis = redis.clone();
        let give_up = Instant::now() + self.window;
        tokio::spawn(async move {
            while Instant::now() < give_up {
                let deleted: epop_storage::StorageResult<i64> = async {
                    let mut conn = redis.get().await?;
                    Ok(redis::cmd("DEL").arg(&key).query_async(&mut conn).await?)
                }
                .await;
                if deleted.is_ok() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }

    async fn shared(
        &self,
        redis: &SharedConnection,
        user: UserId,
    ) -> epop_storage::StorageResult<SharedAnswer> {
        let mut conn = redis.get().await?;
        let values: (Option<i64>, Option<i64>) = redis::cmd("MGET")
            .arg(self.key(user))
            .arg(self.complete_key())
            .query_async(&mut conn)
            .await?;
        Ok(match values {
            (Some(micros), _) => SharedAnswer::Known((micros != NEVER).then_some(micros)),
            (None, Some(_)) => SharedAnswer::NothingRecent,
            (None, None) => SharedAnswer::Unknown,
        })
    }

    /// Redis's answers for `user`'s cutoff and for the session `sid`, in one `MGET`.
    async fn shared_with_session(
        &self,
        redis: &SharedConnection,
        user: UserId,
        sid: TokenFamilyId,
    ) -> epop_storage::StorageResult<(SharedAnswer, SharedAnswer)> {
        let mut conn = redis.get().await?;
        let (cutoff, complete, session): StoredTriple = redis::cmd("MGET")
            .arg(self.key(user))
            .arg(self.complete_key())
            .arg(self.session_key(sid))
            .query_async(&mut conn)
            .await?;
        let answer = |value: Option<i64>, complete: bool| match value {
            Some(stored) => SharedAnswer::Known((stored != NEVER).then_some(stored)),
            None if complete => SharedAnswer::NothingRecent,
            None => SharedAnswer::Unknown,
        };
        Ok((
            answer(cutoff, complete.is_some()),
            answer(session, complete.is_some()),
        ))
    }

    async fn fill(
        &self,
        redis: &SharedConnection,
        key: String,
        value: Option<i64>,
    ) -> epop_storage::StorageResult<()> {
        let mut conn = redis.get().await?;
        let _: Option<String> = redis::cmd("SET")
            .arg(key)
            .arg(value.unwrap_or(NEVER))
            .arg("NX")
            .arg("EX")
            .arg(self.window_secs())
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    async fn load(&self, user: UserId) -> AuthResult<Option<i64>> {
        let mut conn = self.pool.get().await?;
        match users::sessions_valid_after(&mut conn, user).await {
            Ok(cutoff) => Ok(cutoff.map(|at| at.timestamp_micros())),
            // A validly signed token of a user who is gone: no session.
            Err(AuthError::UserNotFound) => Err(AuthError::Unauthorized),
            Err(error) => Err(error),
        }
    }

    /// `Some(ENDED)` when the session was ended on its own (an unknown session has nothing to refuse: its
    /// user's cutoff decides).
    async fn load_session(&self, sid: TokenFamilyId) -> AuthResult<Option<i64>> {
        let mut conn = self.pool.get().await?;
        Ok(auth_sessions::is_revoked(&mut conn, sid).await?.then_some(ENDED))
    }

    fn recent(&self, user: UserId) -> Option<Option<i64>> {
        recall_in(&self.local, &user)
    }

    fn remember(&self, user: UserId, value: Option<i64>) {
        remember_in(&self.local, user, value);
    }
}

/// What this process read of `key` less than [`LOCAL_TTL`] ago.
fn recall_in<K: std::hash::Hash + Eq>(local: &Mutex<LocalCopies<K>>, key: &K) -> Option<Option<i64>> {
    let local = local.lock().ok()?;
    local
        .get(key)
        .filter(|(_, at)| at.elapsed() < LOCAL_TTL)
        .map(|(value, _)| *value)
}

/// Remembers what this process read of `key`, within [`LOCAL_CAPACITY`].
fn remember_in<K: std::hash::Hash + Eq>(local: &Mutex<LocalCopies<K>>, key: K, value: Option<i64>) {
    let Ok(mut local) = local.lock() else {
        return;
    };
    if local.len() >= LOCAL_CAPACITY {
        local.retain(|_, (_, at)| at.elapsed() < LOCAL_TTL);
        if local.len() >= LOCAL_CAPACITY {
            local.clear();
        }
    }
    local.insert(key, (value, Instant::now()));
}

/// Whether Redis's answer to `CONFIG GET maxmemory-policy` says it never evicts a key.
fn never_evicts(answer: &[String]) -> bool {
    matches!(answer, [name, policy] if name == "maxmemory-policy" && policy == "noeviction")
}

/// Whether a token issued at `issued_micros` is refused by `cutoff`.
pub fn is_revoked(issued_micros: i64, cutoff: Option<i64>) -> bool {
    cutoff.is_some_and(|cutoff| issued_micros <= cutoff)
}

#[cfg(test)]
mod tests {
    use super::{is_revoked, never_evicts};

    #[test]
    fn only_a_redis_that_never_evicts_can_be_marked_complete() {
        let answer = |policy: &str| vec!["maxmemory-policy".to_owned(), policy.to_owned()];
        assert!(never_evicts(&answer("noeviction")));
        for policy in ["allkeys-lru", "volatile-lru", "volatile-ttl", "allkeys-random"] {
            assert!(!never_evicts(&answer(policy)), "{policy}");
        }
        // A Redis that hides the setting (or a proxy that answers nothing) is not trusted.
        assert!(!never_evicts(&[]));
    }

    #[test]
    fn tokens_issued_up_to_the_cutoff_are_refused_and_later_ones_kept() {
        let cutoff = 1_765_000_000_123_456;
        assert!(is_revoked(cutoff - 1, Some(cutoff)));
        assert!(is_revoked(cutoff, Some(cutoff)));
        // The same second, a microsecond later.
        assert!(!is_revoked(cutoff + 1, Some(cutoff)));
        assert!(!is_revoked(0, None));
    }
}
