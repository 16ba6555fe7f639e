//! Who is online, across nodes. With Redis, each user has a sorted set of the nodes they are connected to,
//! scored by an expiry that the node refreshes every few seconds; a crashed node stops refreshing and its
//! users drop out when the scores pass. Without Redis, presence is this node's sockets.
//!
//! Comings and goings are announced (`presence`) to whoever sees the user's presence: the members of their
//! direct conversations and groups up to `EPOP_PRESENCE_GROUP_LIMIT`, and the sockets subscribed to them,
//! at most once per user per `EPOP_PRESENCE_INTERVAL_MS` ([`throttle`]).

pub mod throttle;

use super::{EpopRealtime, LiveSignal};
use chrono::{DateTime, Utc};
use epop_core::UserId;
use epop_storage::redis::SharedConnection;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use throttle::Decision;

/// How long a node's claim that a user is online lasts without refresh, by default.
pub const DEFAULT_CLAIM_TTL: Duration = Duration::from_secs(30);

/// Users whose claims are renewed per Redis round trip (three commands each).
const REFRESH_CHUNK: usize = 256;

/// How long a user's "last seen" time is kept in Redis.
const LAST_SEEN_TTL_SECS: u64 = 30 * 24 * 3600;

/// Without Redis, the most "last seen" times kept (the map is cleared when full).
const LAST_SEEN_LOCAL_MAX: usize = 100_000;

/// Presence tracking for this node.
pub struct Presence {
    redis: Option<SharedConnection>,
    prefix: String,
    node: String,
    /// This node's index of online users: user -> sockets connected here.
    local: Mutex<HashMap<UserId, usize>>,
    /// Without Redis: when users went offline, at most [`LAST_SEEN_LOCAL_MAX`] of them (with Redis, a key
    /// per user that expires after [`LAST_SEEN_TTL_SECS`]).
    last_seen: Mutex<HashMap<UserId, DateTime<Utc>>>,
    /// How long a claim lasts; refreshed every third of it.
    ttl: Duration,
}

/// A user's presence as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct PresenceStatus {
    /// Whose presence.
    #[schema(value_type = uuid::Uuid)]
    pub user_id: UserId,
    /// `online` or `offline`.
    #[schema(example = "online")]
    pub status: &'static str,
    /// When they went offline, if known (`null` while online).
    pub last_seen_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for Presence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Presence")
            .field("node", &self.node)
            .finish_non_exhaustive()
    }
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

impl Presence {
    /// Presence kept in `redis` (or in process), under `prefix`.
    pub fn new(redis: Option<SharedConnection>, prefix: &str, ttl: Duration) -> Self {
        Self {
            redis,
            prefix: prefix.to_owned(),
            node: epop_socketio::random_id(),
            local: Mutex::new(HashMap::new()),
            last_seen: Mutex::new(HashMap::new()),
            ttl,
        }
    }

    /// The set of users online anywhere, scored by when their last claim expires.
    fn online_key(&self) -> String {
        format!("{}:presence:online", self.prefix)
    }

    fn key(&self, user: UserId) -> String {
        format!("{}:presence:{user}", self.prefix)
    }

    fn seen_key(&self, user: UserId) -> String {
        format!("{}:presence:seen:{user}", self.prefix)
    }

    /// Remembers that `user` went offline now.
    fn record_last_seen(&self, pipe: Option<&mut redis::Pipeline>, user: UserId, at: DateTime<Utc>) {
        match pipe {
            Some(pipe) => {
                pipe.cmd("SET")
                    .arg(self.seen_key(user))
                    .arg(at.timestamp_millis())
                    .arg("EX")
                    .arg(LAST_SEEN_TTL_SECS)
                    .ignore();
            }
            None => {
                let mut seen = super::lock(&self.last_seen);
                if seen.len() >= LAST_SEEN_LOCAL_MAX && !seen.contains_key(&user) {
                    seen.clear();
                }
                seen.insert(user, at);
            }
        }
    }

    async fn online_elsewhere(&self, user: UserId) -> bool {
        let Some(redis) = &self.redis else { return false };
        let Ok(mut conn) = redis.get().await else {
            return false;
        };
        let count: redis::RedisResult<i64> = redis::cmd("ZCOUNT")
            .arg(self.key(user))
            .arg(now_ms())
            .arg("+inf")
            .query_async(&mut conn)
            .await;
        count.is_ok_and(|n| n > 0)
    }

    /// Adds this node's claims for `users` (one pipelined round trip).
    fn add_claims(&self, pipe: &mut redis::Pipeline, users: &[UserId]) {
        let expires = now_ms() + self.ttl.as_millis() as i64;
        for &user in users {
            pipe.cmd("ZADD")
                .arg(self.key(user))
                .arg(expires)
                .arg(&self.node)
                .ignore()
                .cmd("PEXPIRE")
                .arg(self.key(user))
                .arg(self.ttl.as_millis() as i64 * 2)
                .ignore()
                .cmd("ZADD")
                .arg(self.online_key())
                .arg("GT")
                .arg(expires)
                .arg(user.to_string())
                .ignore();
        }
    }

    async fn claim(&self, user: UserId, present: bool) {
        let Some(redis) = &self.redis else { return };
        let Ok(mut conn) = redis.get().await else { return };
        let result: redis::RedisResult<()> = if present {
            let mut pipe = redis::pipe();
            self.add_claims(&mut pipe, &[user]);
            pipe.query_async(&mut conn).await
        } else {
            redis::cmd("ZREM")
                .arg(self.key(user))
                .arg(&self.node)
                .query_async(&mut conn)
                .await
        };
        if let Err(error) = result {
            tracing::warn!(%error, "presence: Redis unreachable");
        }
    }

    /// Renews this node's claims for every user connected here, [`REFRESH_CHUNK`] users per round trip.
    async fn refresh_all(&self) {
        let Some(redis) = &self.redis else { return };
        let users: Vec<UserId> = super::lock(&self.local).keys().copied().collect();
        for chunk in users.chunks(REFRESH_CHUNK) {
            let Ok(mut conn) = redis.get().await else { return };
            let mut pipe = redis::pipe();
            self.add_claims(&mut pipe, chunk);
            let result: redis::RedisResult<()> = pipe.query_async(&mut conn).await;
            if let Err(error) = result {
                tracing::warn!(%error, "presence: Redis unreachable");
                return;
            }
        }
    }

    /// A socket of `user` connected here; returns whether the user just came online everywhere.
    pub async fn connect(&self, user: UserId) -> bool {
        let first_here = {
            let mut local = super::lock(&self.local);
            let count = local.entry(user).or_insert(0);
            *count += 1;
            *count == 1
        };
        if !first_here {
            return false;
        }
        let Some(redis) = &self.redis else {
            super::lock(&self.last_seen).remove(&user);
            return true;
        };
        let Ok(mut conn) = redis.get().await else {
            return true;
        };
        // Whether another node holds a claim, and this node's claim, in one round trip.
        let mut pipe = redis::pipe();
        pipe.cmd("ZCOUNT").arg(self.key(user)).arg(now_ms()).arg("+inf");
        self.add_claims(&mut pipe, &[user]);
        let result: redis::RedisResult<(i64,)> = pipe.query_async(&mut conn).await;
        match result {
            Ok((elsewhere,)) => elsewhere == 0,
            Err(error) => {
                tracing::warn!(%error, "presence: Redis unreachable");
                true
            }
        }
    }

    /// A socket of `user` left here; returns whether the user is now offline everywhere.
    pub async fn disconnect(&self, user: UserId) -> bool {
        let last_here = {
            let mut local = super::lock(&self.local);
            match local.get_mut(&user) {
                Some(count) if *count > 1 => {
                    *count -= 1;
                    false
                }
                Some(_) => {
                    local.remove(&user);
                    true
                }
                None => false,
            }
        };
        if !last_here {
            return false;
        }
        self.claim(user, false).await;
        let offline = !self.online_elsewhere(user).await;
        if !offline {
            return false;
        }
        let now = Utc::now();
        match &self.redis {
            None => self.record_last_seen(None, user, now),
            Some(redis) => {
                if let Ok(mut conn) = redis.get().await {
                    let mut pipe = redis::pipe();
                    pipe.cmd("ZREM")
                        .arg(self.online_key())
                        .arg(user.to_string())
                        .ignore();
                    self.record_last_seen(Some(&mut pipe), user, now);
                    let _: redis::RedisResult<()> = pipe.query_async(&mut conn).await;
                }
            }
        }
        true
    }

    /// Users whose every claim expired (their node died): each is handed to exactly one node (the one whose
    /// `ZREM` succeeds), which announces them offline.
    pub async fn take_expired(&self) -> Vec<UserId> {
        let Some(redis) = &self.redis else {
            return Vec::new();
        };
        let Ok(mut conn) = redis.get().await else {
            return Vec::new();
        };
        let expired: Vec<String> = redis::cmd("ZRANGEBYSCORE")
            .arg(self.online_key())
            .arg("-inf")
            .arg(now_ms())
            .arg("LIMIT")
            .arg(0)
            .arg(100)
            .query_async(&mut conn)
            .await
            .unwrap_or_default();
        let mut taken = Vec::new();
        for user in expired {
            let removed: i64 = redis::cmd("ZREM")
                .arg(self.online_key())
                .arg(&user)
                .query_async(&mut conn)
                .await
                .unwrap_or(0);
            if removed == 1
                && let Ok(user) = user.parse::<UserId>()
            {
                taken.push(user);
            }
        }
        if !taken.is_empty() {
            let mut pipe = redis::pipe();
            let now = Utc::now();
            for user in &taken {
                self.record_last_seen(Some(&mut pipe), *user, now);
            }
            let _: redis::RedisResult<()> = pipe.query_async(&mut conn).await;
        }
        taken
    }

    /// Which of `users` are online (here or on any node): this node's index first, then one Redis round trip
    /// for the others.
    pub async fn online_among(&self, users: &[UserId]) -> Vec<UserId> {
        self.statuses(users, false)
            .await
            .into_iter()
            .filter(|status| status.status == "online")
            .map(|status| status.user_id)
            .collect()
    }

    /// The presence of each of `users`, in order: this node's index of online users first, then, for the
    /// users not connected here, one Redis round trip (their claims, and when `last_seen` their last-seen
    /// times).
    pub async fn statuses(&self, users: &[UserId], last_seen: bool) -> Vec<PresenceStatus> {
        let mut online: Vec<bool> = {
            let local = super::lock(&self.local);
            users.iter().map(|user| local.contains_key(user)).collect()
        };
        let mut seen: Vec<Option<DateTime<Utc>>> = vec![None; users.len()];
        let elsewhere: Vec<usize> = (0..users.len()).filter(|&i| !online[i]).collect();
        match &self.redis {
            None if last_seen => {
                let known = super::lock(&self.last_seen);
                for &i in &elsewhere {
                    seen[i] = known.get(&users[i]).copied();
                }
            }
            None => {}
            Some(redis) if !elsewhere.is_empty() => {
                if let Ok(mut conn) = redis.get().await {
                    let mut pipe = redis::pipe();
                    let mut scores = redis::cmd("ZMSCORE");
                    scores.arg(self.online_key());
                    for &i in &elsewhere {
                        scores.arg(users[i].to_string());
                    }
                    pipe.add_command(scores);
                    if last_seen {
                        let mut times = redis::cmd("MGET");
                        for &i in &elsewhere {
                            times.arg(self.seen_key(users[i]));
                        }
                        pipe.add_command(times);
                    }
                    let answer: redis::RedisResult<Vec<redis::Value>> = pipe.query_async(&mut conn).await;
                    match answer {
                        Ok(values) => {
                            let mut values = values.into_iter();
                            let scores: Vec<Option<f64>> = values
                                .next()
                                .and_then(|v| redis::from_redis_value(v).ok())
                                .unwrap_or_default();
                            let times: Vec<Option<i64>> = values
                                .next()
                                .and_then(|v| redis::from_redis_value(v).ok())
                                .unwrap_or_default();
                            let now = now_ms() as f64;
                            for (n, &i) in elsewhere.iter().enumerate() {
                                online[i] = scores.get(n).copied().flatten().is_some_and(|s| s > now);
                                seen[i] = times
                                    .get(n)
                                    .copied()
                                    .flatten()
                                    .and_then(DateTime::<Utc>::from_timestamp_millis);
                            }
                        }
                        Err(error) => tracing::warn!(%error, "presence: Redis unreachable"),
                    }
                }
            }
            Some(_) => {}
        }
        users
            .iter()
            .zip(online.into_iter().zip(seen))
            .map(|(&user_id, (online, seen))| PresenceStatus {
                user_id,
                status: if online { "online" } else { "offline" },
                last_seen_at: if online { None } else { seen },
            })
            .collect()
    }

    /// Refreshes this node's claims every third of their lifetime until `cancel` (nothing to do without
    /// Redis).
    pub async fn run_refresh(&self, cancel: tokio_util::sync::CancellationToken) {
        if self.redis.is_none() {
            return;
        }
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(self.ttl / 3) => {}
            }
            self.refresh_all().await;
        }
    }
}

#[async_trait::async_trait]
impl epop_chat::OnlineUsers for Presence {
    async fn online(&self, users: &[UserId]) -> Vec<UserId> {
        self.online_among(users).await
    }
}

#[async_trait::async_trait]
impl epop_notifications::LiveConnections for Presence {
    async fn online(&self, users: &[UserId]) -> Vec<UserId> {
        self.online_among(users).await
    }
}

impl EpopRealtime {
    /// `user` came online (their first socket anywhere) or went offline (their last): announced to whoever
    /// sees their presence now, or, within an interval of the last announcement, by one look at the
    /// interval's end that announces their presence as it is then.
    pub(super) async fn presence_changed(self: &Arc<Self>, user: UserId, online: bool) {
        let decision = super::lock(&self.presence_throttle).changed(user, online, Instant::now());
        match decision {
            Decision::Now => self.announce_presence(user, online).await,
            Decision::Nothing => {}
            Decision::LookAt(at) => {
                let app = Arc::downgrade(self);
                tokio::spawn(async move {
                    tokio::time::sleep_until(at.into()).await;
                    let Some(app) = app.upgrade() else { return };
                    let online = app.presence.online_among(&[user]).await.contains(&user);
                    let announce =
                        super::lock(&app.presence_throttle).look_again(user, online, Instant::now());
                    if announce {
                        app.announce_presence(user, online).await;
                    }
                });
            }
        }
    }

    /// Tells everyone who sees `user`'s presence that they are online or offline now.
    async fn announce_presence(&self, user: UserId, online: bool) {
        let conversations = self.audience(user).await.conversations;
        let signal = LiveSignal::Presence {
            user_id: user,
            online,
            last_seen_at: (!online).then(Utc::now),
            conversations,
        };
        self.publish_signal(&signal).await;
    }

    /// Announces offline the users of nodes that died (their presence claims expired), until the process ends.
    pub fn spawn_presence_sweeper(self: &Arc<Self>) {
        let app = Arc::downgrade(self);
        let every = self.state.config.presence_ttl / 3;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(app) = app.upgrade() else { return };
                for user in app.presence.take_expired().await {
                    app.announce_presence(user, false).await;
                }
            }
        });
    }

    /// Who sees `user`'s presence (their direct conversations and groups up to the limit, and those
    /// conversations' members), in one query; nobody when the database cannot say (presence is best effort).
    pub(super) async fn audience(&self, user: UserId) -> epop_chat::PresenceAudience {
        match self
            .state
            .chat
            .presence_audience(user, self.state.config.presence_group_limit)
            .await
        {
            Ok(audience) => audience,
            Err(error) => {
                tracing::warn!(%error, "could not load a user's presence audience");
                epop_chat::PresenceAudience::default()
            }
        }
    }
}
