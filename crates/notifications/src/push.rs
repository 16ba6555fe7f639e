//! Web Push (RFC 8030 delivery, RFC 8291 message encryption, RFC 8292 VAPID): subscriptions, the server's
//! VAPID key, and the `push` job that delivers one notification to one subscription. Pure Rust
//! (web-push-native on RustCrypto; reqwest on rustls).
//!
//! Every account is assumed hostile, and an endpoint is a URL the server will `POST` to on its own:
//! - endpoints must pass [`crate::push_target`] (public `https` names only) when subscribing, and again before
//!   every delivery, where the connection goes only to addresses checked then
//!   ([`epop_storage::outbound::checked_client`]: a resolver of its own, no proxies, no redirects);
//! - what a push service answered never shows in an answer: a subscription it answered `404`/`410` for is
//!   removed from delivery (disabled) but not deleted, so subscribing the same endpoint again is still `200`
//!   and deleting it still `204`;
//! - a user keeps at most [`PushPolicy::max_per_user`] subscriptions: a new one beyond it replaces their
//!   oldest.

use crate::error::{NotificationsError, NotificationsResult};
pub use crate::push_target::PushPolicy;
use crate::push_target::{Target, check_endpoint};
use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use diesel::{ExpressionMethods as _, OptionalExtension as _, QueryDsl as _};
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use epop_core::{FieldError, PushSubscriptionId, UserId};
use epop_storage::DbPool;
use epop_storage::jobs::JobHandler;
use epop_storage::outbound::{self, REFUSED_ADDRESS_MESSAGE, refused_address};
use epop_storage::schema::{push_subscriptions, settings};
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;
use web_push_native::jwt_simple::algorithms::ES256KeyPair;
use web_push_native::{Auth, WebPushBuilder};

/// The job queue name of push deliveries.
pub const PUSH_QUEUE: &str = "push";
/// The settings row holding the generated VAPID private key.
const VAPID_SETTING: &str = "vapid_private_key";
/// How long a subscription waits for its endpoint's name to resolve; a name that does not resolve in time is
/// accepted, and checked at every delivery.
const RESOLVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// The server's VAPID identity.
pub struct VapidKeys {
    key_pair: ES256KeyPair,
    public_key: String,
    subject: String,
}

impl std::fmt::Debug for VapidKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VapidKeys")
            .field("public_key", &self.public_key)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// A VAPID key that is not a base64url P-256 private key.
#[derive(Debug, thiserror::Error)]
#[error("EPOP_VAPID_PRIVATE_KEY is not a base64url P-256 private key")]
pub struct BadVapidKey;

impl VapidKeys {
    /// Keys from a base64url P-256 private scalar, with a contact `subject` (`mailto:` URL).
    pub fn from_private(private_b64: &str, subject: &str) -> Result<Self, BadVapidKey> {
        let raw = URL_SAFE_NO_PAD
            .decode(private_b64.trim().trim_end_matches('='))
            .map_err(|_| BadVapidKey)?;
        let secret = p256::SecretKey::from_slice(&raw).map_err(|_| BadVapidKey)?;
        let key_pair = ES256KeyPair::from_bytes(&raw).map_err(|_| BadVapidKey)?;
        let public_key = URL_SAFE_NO_PAD.encode(secret.public_key().to_encoded_point(false).as_bytes());
        Ok(Self {
            key_pair,
            public_key,
            subject: subject.to_owned(),
        })
    }

    /// The configured key, or the one kept in the database, or a new one generated and kept there (safe when
    /// several gateways start at once: the first insert wins and everyone reads it back).
    pub async fn load_or_create(
        pool: &DbPool,
        configured: Option<&str>,
        subject: &str,
    ) -> NotificationsResult<Self> {
        if let Some(private) = configured {
            return Self::from_private(private, subject).map_err(|e| {
                NotificationsError::Invalid(vec![FieldError::new("EPOP_VAPID_PRIVATE_KEY", e.to_string())])
            });
        }
        let mut conn = pool.get().await?;
        let generated = URL_SAFE_NO_PAD.encode(ES256KeyPair::generate().to_bytes());
        diesel::insert_into(settings::table)
            .values((settings::key.eq(VAPID_SETTING), settings::value.eq(&generated)))
            .on_conflict_do_nothing()
            .execute(&mut conn)
            .await?;
        let stored: String = settings::table
            .find(VAPID_SETTING)
            .select(settings::value)
            .first(&mut conn)
            .await?;
        Self::from_private(&stored, subject).map_err(|e| {
            NotificationsError::Invalid(vec![FieldError::new("settings.vapid_private_key", e.to_string())])
        })
    }

    /// The public key browsers pass to `pushManager.subscribe` (base64url, uncompressed point).
    pub fn public_key(&self) -> &str {
        &self.public_key
    }
}

/// A stored subscription as its owner sees it (the keys are never shown again).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushSubscription {
    /// The id `DELETE /api/push-subscriptions/{id}` takes.
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub id: PushSubscriptionId,
    /// The push service URL, as the browser gave it.
    pub endpoint: String,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
}

/// Checks a browser `PushSubscription` without the network: the endpoint's URL ([`check_endpoint`]), `p256dh`
/// a P-256 point, `auth` 16 bytes (both base64url). Answers every failing field, and the endpoint's target.
pub fn check_subscription(
    endpoint: &str,
    p256dh: &str,
    auth: &str,
    allow_loopback: bool,
) -> (Vec<FieldError>, Option<Target>) {
    let mut errors = Vec::new();
    let target = match check_endpoint(endpoint, allow_loopback) {
        Ok(target) => Some(target),
        Err(why) => {
            errors.push(FieldError::new("endpoint", why));
            None
        }
    };
    let decoded = |text: &str| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok();
    if decoded(p256dh).is_none_or(|raw| p256::PublicKey::from_sec1_bytes(&raw).is_err()) {
        errors.push(FieldError::new(
            "keys.p256dh",
            "must be a base64url P-256 public key",
        ));
    }
    if decoded(auth).is_none_or(|raw| raw.len() != 16) {
        errors.push(FieldError::new("keys.auth", "must be 16 bytes, base64url"));
    }
    (errors, target)
}

/// Stores a subscription for `user`; the same endpoint again answers the existing one (moved to `user` if a
/// different account now uses that browser, and delivered to again if it was disabled). Returns the
/// subscription and whether it is new. The endpoint must pass [`check_endpoint`], and its name must not resolve
/// to an address the server does not contact (a name that does not resolve now is accepted and checked at every
/// delivery). Beyond `policy.max_per_user` subscriptions, the user's oldest are removed.
async fn subscribe(
    pool: &DbPool,
    policy: &PushPolicy,
    user: UserId,
    endpoint: &str,
    p256dh: &str,
    auth: &str,
) -> NotificationsResult<(PushSubscription, bool)> {
    let (mut errors, target) = check_subscription(endpoint, p256dh, auth, policy.allow_loopback);
    if let Some(target) = &target
        && !outbound::target_allowed_now(target, policy.allow_loopback, RESOLVE_TIMEOUT).await
    {
        errors.insert(0, FieldError::new("endpoint", REFUSED_ADDRESS_MESSAGE));
    }
    if !errors.is_empty() {
        return Err(NotificationsError::Invalid(errors));
    }
    let mut conn = pool.get().await?;
    conn.transaction::<_, NotificationsError, _>(async |conn| {
        // One user's subscriptions change one at a time, so the cap holds under concurrent subscribes.
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended('epop:push:' || $1::text, 0))")
            .bind::<diesel::sql_types::Uuid, _>(user)
            .execute(conn)
            .await?;
        let stored = store(conn, user, endpoint, p256dh, auth).await?;
        if policy.max_per_user > 0 {
            diesel::sql_query(
                "DELETE FROM push_subscriptions WHERE id IN (SELECT id FROM push_subscriptions \
                 WHERE user_id = $1 ORDER BY created_at DESC, id DESC OFFSET $2)",
            )
            .bind::<diesel::sql_types::Uuid, _>(user)
            .bind::<diesel::sql_types::BigInt, _>(i64::try_from(policy.max_per_user).unwrap_or(i64::MAX))
            .execute(conn)
            .await?;
        }
        Ok(stored)
    })
    .await
}

/// Inserts the subscription, or takes over the existing one of this endpoint (delivering to it again).
async fn store(
    conn: &mut AsyncPgConnection,
    user: UserId,
    endpoint: &str,
    p256dh: &str,
    auth: &str,
) -> NotificationsResult<(PushSubscription, bool)> {
    let inserted: Option<(PushSubscriptionId, String, DateTime<Utc>)> =
        diesel::insert_into(push_subscriptions::table)
            .values((
                push_subscriptions::id.eq(PushSubscriptionId::new()),
                push_subscriptions::user_id.eq(user),
                push_subscriptions::endpoint.eq(endpoint),
                push_subscriptions::p256dh.eq(p256dh),
                push_subscriptions::auth.eq(auth),
            ))
            .on_conflict(push_subscriptions::endpoint)
            .do_nothing()
            .returning((
                push_subscriptions::id,
                push_subscriptions::endpoint,
                push_subscriptions::created_at,
            ))
            .get_result(conn)
            .await
            .optional()?;
    let (row, created) = match inserted {
        Some(row) => (row, true),
        None => {
            let row =
                diesel::update(push_subscriptions::table.filter(push_subscriptions::endpoint.eq(endpoint)))
                    .set((
                        push_subscriptions::user_id.eq(user),
                        push_subscriptions::p256dh.eq(p256dh),
                        push_subscriptions::auth.eq(auth),
                        push_subscriptions::disabled_at.eq(None::<DateTime<Utc>>),
                    ))
                    .returning((
                        push_subscriptions::id,
                        push_subscriptions::endpoint,
                        push_subscriptions::created_at,
                    ))
                    .get_result(conn)
                    .await?;
            (row, false)
        }
    };
    Ok((
        PushSubscription {
            id: row.0,
            endpoint: row.1,
            created_at: row.2,
        },
        created,
    ))
}

/// Removes one of `user`'s subscriptions, disabled ones included (`NotFound` for anyone else's).
async fn unsubscribe(pool: &DbPool, user: UserId, id: PushSubscriptionId) -> NotificationsResult<()> {
    let mut conn = pool.get().await?;
    let removed = diesel::delete(
        push_subscriptions::table
            .filter(push_subscriptions::id.eq(id))
            .filter(push_subscriptions::user_id.eq(user)),
    )
    .execute(&mut conn)
    .await?;
    if removed == 1 {
        Ok(())
    } else {
        Err(NotificationsError::NotFound)
    }
}

/// Delivers push jobs.
pub struct PushSender {
    pool: DbPool,
    vapid: Arc<VapidKeys>,
    policy: PushPolicy,
    client: reqwest::Client,
}

impl std::fmt::Debug for PushSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushSender").finish_non_exhaustive()
    }
}

impl PushSender {
    /// A sender signing with `vapid`, contacting only endpoints `policy` allows.
    pub fn new(pool: DbPool, vapid: Arc<VapidKeys>, policy: PushPolicy) -> Result<Self, reqwest::Error> {
        // The checked address is where the request goes: no redirect elsewhere, no proxy resolving for us.
        let client = outbound::checked_client(
            policy.allow_loopback,
            std::time::Duration::from_secs(30),
            std::time::Duration::from_secs(10),
        )?;
        Ok(Self {
            pool,
            vapid,
            policy,
            client,
        })
    }

    /// Stops delivering to a subscription (see the module notes: it is not deleted).
    async fn disable(&self, id: PushSubscriptionId) -> Result<(), String> {
        let mut conn = self.pool.get().await.map_err(|e| e.to_string())?;
        diesel::update(push_subscriptions::table.find(id))
            .set(push_subscriptions::disabled_at.eq(diesel::dsl::now))
            .execute(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        Ok(())
    }
}

#[async_trait]
impl JobHandler for PushSender {
    fn queue(&self) -> &'static str {
        PUSH_QUEUE
    }

    async fn run(&self, payload: &Value) -> Result<(), String> {
        let id = payload
            .get("subscription_id")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<PushSubscriptionId>().ok())
            .ok_or("the job has no subscription")?;
        let mut conn = self.pool.get().await.map_err(|e| e.to_string())?;
        let subscription: Option<(UserId, String, String, String)> = push_subscriptions::table
            .find(id)
            .filter(push_subscriptions::disabled_at.is_null())
            .select((
                push_subscriptions::user_id,
                push_subscriptions::endpoint,
                push_subscriptions::p256dh,
                push_subscriptions::auth,
            ))
            .first(&mut conn)
            .await
            .optional()
            .map_err(|e| e.to_string())?;
        drop(conn);
        // Unsubscribed or disabled meanwhile: nothing to deliver.
        let Some((user, endpoint, p256dh, auth)) = subscription else {
            return Ok(());
        };
        // Read since, or do-not-disturb (then put back for its end): nothing to send now.
        if !crate::control::admit(&self.pool, PUSH_QUEUE, user, payload).await? {
            return Ok(());
        }
        // Stored before these rules, or otherwise: the endpoint is checked again before anything is sent.
        if let Err(why) = check_endpoint(&endpoint, self.policy.allow_loopback) {
            tracing::warn!(subscription = %id, why, "a push endpoint is not allowed; disabling it");
            return self.disable(id).await;
        }
        let ua_public = URL_SAFE_NO_PAD
            .decode(p256dh.trim_end_matches('='))
            .ok()
            .and_then(|raw| p256::PublicKey::from_sec1_bytes(&raw).ok())
            .ok_or("the subscription's p256dh is invalid")?;
        let auth_raw = URL_SAFE_NO_PAD
            .decode(auth.trim_end_matches('='))
            .map_err(|e| e.to_string())?;
        if auth_raw.len() != 16 {
            return Err("the subscription's auth secret is invalid".into());
        }
        let mut ua_auth = Auth::default();
        ua_auth.copy_from_slice(&auth_raw);
        let uri = endpoint.parse::<http::Uri>().map_err(|e| e.to_string())?;
        let body = serde_json::to_vec(payload.get("notification").unwrap_or(&Value::Null))
            .map_err(|e| e.to_string())?;
        let request = WebPushBuilder::new(uri, ua_public, ua_auth)
            .with_vapid(&self.vapid.key_pair, &self.vapid.subject)
            .build(body)
            .map_err(|e| e.to_string())?;
        let (parts, body) = request.into_parts();
        let mut outgoing = self.client.post(&endpoint).body(body);
        for (name, value) in &parts.headers {
            outgoing = outgoing.header(name.as_str(), value.as_bytes());
        }
        let response = match outgoing.send().await {
            Ok(response) => response,
            Err(error) if refused_address(&error) => {
                tracing::warn!(subscription = %id, "a push endpoint resolves to a refused address; disabling it");
                return self.disable(id).await;
            }
            Err(error) => return Err(error.to_string()),
        };
        match response.status().as_u16() {
            200..=299 => Ok(()),
            404 | 410 => self.disable(id).await,
            status => Err(format!("the push service answered {status}")),
        }
    }
}

/// Web Push as the gateway sees it: the server's VAPID key and each user's subscriptions; for the host's job
/// worker, [`Self::sender`] makes the [`PushSender`] that delivers with the same key and policy.
#[derive(Clone)]
pub struct PushService {
    pool: DbPool,
    vapid: Arc<VapidKeys>,
    policy: PushPolicy,
}

impl std::fmt::Debug for PushService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushService")
            .field("vapid", &self.vapid)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl PushService {
    /// A service signing with `vapid` (see [`VapidKeys::load_or_create`]) under `policy`.
    pub fn new(pool: DbPool, vapid: VapidKeys, policy: PushPolicy) -> Self {
        Self {
            pool,
            vapid: Arc::new(vapid),
            policy,
        }
    }

    /// The public key browsers pass to `pushManager.subscribe` (base64url, uncompressed point).
    pub fn vapid_public_key(&self) -> &str {
        self.vapid.public_key()
    }

    /// Stores a subscription for `user` and returns it and whether it is new. The same endpoint again answers
    /// the existing one (moved to `user`, delivered to again if it was disabled). The endpoint must pass
    /// [`check_endpoint`] and its name must not resolve to an address the server does not contact; beyond
    /// [`PushPolicy::max_per_user`] subscriptions, the user's oldest are removed.
    pub async fn subscribe(
        &self,
        user: UserId,
        endpoint: &str,
        p256dh: &str,
        auth: &str,
    ) -> NotificationsResult<(PushSubscription, bool)> {
        subscribe(&self.pool, &self.policy, user, endpoint, p256dh, auth).await
    }

    /// Removes one of `user`'s subscriptions (`NotFound` for anyone else's).
    pub async fn unsubscribe(&self, user: UserId, id: PushSubscriptionId) -> NotificationsResult<()> {
        unsubscribe(&self.pool, user, id).await
    }

    /// The job handler of the `push` queue, for the host's job worker.
    pub fn sender(&self) -> Result<PushSender, reqwest::Error> {
        PushSender::new(self.pool.clone(), self.vapid.clone(), self.policy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vapid_keys_round_trip_and_expose_an_uncompressed_public_key() {
        let private = URL_SAFE_NO_PAD.encode(ES256KeyPair::generate().to_bytes());
        let keys = VapidKeys::from_private(&private, "mailto:admin@localhost").unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(keys.public_key()).unwrap().len(), 65);
        assert!(VapidKeys::from_private("not a key", "mailto:x").is_err());
    }

    #[test]
    fn subscription_keys_are_checked() {
        let public = p256::SecretKey::random(&mut p256::elliptic_curve::rand_core::OsRng).public_key();
        let p256dh = URL_SAFE_NO_PAD.encode(public.to_encoded_point(false).as_bytes());
        let auth = URL_SAFE_NO_PAD.encode([7u8; 16]);
        let (errors, target) = check_subscription("https://push.example/abc", &p256dh, &auth, false);
        assert!(errors.is_empty());
        assert!(target.is_some());
        let (errors, target) = check_subscription("ftp://x", "abc", "short", false);
        let fields: Vec<String> = errors.into_iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["endpoint", "keys.p256dh", "keys.auth"]);
        assert!(target.is_none());
    }
}
