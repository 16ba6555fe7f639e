//! Who is online, across nodes. With Redis, each user has a sorted set of the nodes they are connected to,
//! scored by an expiry that the node refreshes every few seconds; a crashed node stops refreshing and its
//! users drop out when the scores pass. Without Redis, presence is this node's sockets.

use epop_core::UserId;
use epop_storage::redis::RedisPool;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a node's claim that a user is online lasts without refresh, by default.
pub const DEFAULT_CLAIM_TTL: Duration = Duration::from_secs(30);

/// Users whose claims are renewed per Redis round trip (three commands each).
const REFRESH_CHUNK: usize = 256;

/// Presence tracking for this node.
pub struct Presence {
    redis: Option<RedisPool>,
    prefix: String,
    node: String,
    local: Mutex<HashMap<UserId, usize>>,
    /// How long a claim lasts; refreshed every third of it.
    ttl: Duration,
}

impl std::fmt::Debug for Presence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Presence")
            .field("node", &self.node)
            .finish_non_exhaustive()
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Presence {
    /// Presence kept in `redis` (or in process), under `prefix`.
    pub fn new(redis: Option<RedisPool>, prefix: &str, ttl: Duration) -> Self {
        Self {
            redis,
            prefix: prefix.to_owned(),
            node: super::engine::random_id(),
            local: Mutex::new(HashMap::new()),
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
        let elsewhere = self.online_elsewhere(user).await;
        self.claim(user, true).await;
        !elsewhere
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
        if offline
            && let Some(redis) = &self.redis
            && let Ok(mut conn) = redis.get().await
        {
            let _: redis::RedisResult<i64> = redis::cmd("ZREM")
                .arg(self.online_key())
                .arg(user.to_string())
                .query_async(&mut conn)
                .await;
        }
        offline
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
        taken
    }

    /// Which of `users` are online (here or on any node), in one Redis round trip.
    pub async fn online_among(&self, users: &[UserId]) -> Vec<UserId> {
        let local: Vec<bool> = {
            let local = super::lock(&self.local);
            users.iter().map(|user| local.contains_key(user)).collect()
        };
        let mut remote: Vec<bool> = vec![false; users.len()];
        if let Some(redis) = &self.redis
            && !users.is_empty()
            && let Ok(mut conn) = redis.get().await
        {
            let mut command = redis::cmd("ZMSCORE");
            command.arg(self.online_key());
            for user in users {
                command.arg(user.to_string());
            }
            let scores: redis::RedisResult<Vec<Option<f64>>> = command.query_async(&mut conn).await;
            if let Ok(scores) = scores {
                let now = now_ms() as f64;
                remote = scores
                    .into_iter()
                    .map(|score| score.is_some_and(|s| s > now))
                    .collect();
            }
        }
        users
            .iter()
            .zip(local.iter().zip(remote.iter()))
            .filter(|(_, (l, r))| **l || **r)
            .map(|(u, _)| *u)
            .collect()
    }

    /// Refreshes this node's claims until the presence tracker is dropped.
    pub fn spawn_refresh(self: &Arc<Self>) {
        if self.redis.is_none() {
            return;
        }
        let presence = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let Some(every) = presence.upgrade().map(|p| p.ttl / 3) else {
                    return;
                };
                tokio::time::sleep(every).await;
                let Some(presence) = presence.upgrade() else {
                    return;
                };
                presence.refresh_all().await;
            }
        });
    }
}

#[async_trait::async_trait]
impl epop_notifications::LiveConnections for Presence {
    async fn online(&self, users: &[UserId]) -> Vec<UserId> {
        self.online_among(users).await
    }
}
