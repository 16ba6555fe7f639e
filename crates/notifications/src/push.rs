//! Web Push (RFC 8030 delivery, RFC 8291 message encryption, RFC 8292 VAPID): subscriptions, the server's
//! VAPID key, and the `push` job that delivers one notification to one subscription. A subscription the push
//! service answers `404`/`410` for is removed. Pure Rust (web-push-native on RustCrypto; reqwest on rustls).

use crate::error::{NotificationsError, NotificationsResult};
use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use diesel::{ExpressionMethods as _, OptionalExtension as _, QueryDsl as _};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use epop_core::{FieldError, PushSubscriptionId, UserId};
use epop_storage::DbPool;
use epop_storage::jobs::JobHandler;
use epop_storage::schema::{push_subscriptions, settings};
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;
use web_push_native::jwt_simple::algorithms::ES256KeyPair;
use web_push_native::{Auth, WebPushBuilder};

/// The job queue name of push deliveries.
pub const PUSH_QUEUE: &str = "push";
/// The settings row holding the generated VAPID private key.
const VAPID_SETTING: &str = "vapid_private_key";

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

/// A stored subscription as its owner sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PushSubscription {
    /// Its id.
    pub id: PushSubscriptionId,
    /// The push service URL.
    pub endpoint: String,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
}

/// Checks a browser `PushSubscription`'s keys: `p256dh` a P-256 point, `auth` 16 bytes (both base64url).
pub fn check_keys(endpoint: &str, p256dh: &str, auth: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if !(endpoint.starts_with("https://") || endpoint.starts_with("http://"))
        || endpoint.parse::<http::Uri>().is_err()
    {
        errors.push(FieldError::new("endpoint", "must be an http(s) URL"));
    }
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
    errors
}

/// Stores a subscription for `user`; the same endpoint again answers the existing one (moved to `user` if a
/// different account now uses that browser). Returns the subscription and whether it is new.
pub async fn subscribe(
    pool: &DbPool,
    user: UserId,
    endpoint: &str,
    p256dh: &str,
    auth: &str,
) -> NotificationsResult<(PushSubscription, bool)> {
    let errors = check_keys(endpoint, p256dh, auth);
    if !errors.is_empty() {
        return Err(NotificationsError::Invalid(errors));
    }
    let mut conn = pool.get().await?;
    let inserted: Option<(Uuid, String, DateTime<Utc>)> = diesel::insert_into(push_subscriptions::table)
        .values((
            push_subscriptions::id.eq(PushSubscriptionId::new().into_uuid()),
            push_subscriptions::user_id.eq(user.into_uuid()),
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
        .get_result(&mut conn)
        .await
        .optional()?;
    let (row, created) = match inserted {
        Some(row) => (row, true),
        None => {
            let row =
                diesel::update(push_subscriptions::table.filter(push_subscriptions::endpoint.eq(endpoint)))
                    .set((
                        push_subscriptions::user_id.eq(user.into_uuid()),
                        push_subscriptions::p256dh.eq(p256dh),
                        push_subscriptions::auth.eq(auth),
                    ))
                    .returning((
                        push_subscriptions::id,
                        push_subscriptions::endpoint,
                        push_subscriptions::created_at,
                    ))
                    .get_result(&mut conn)
                    .await?;
            (row, false)
        }
    };
    Ok((
        PushSubscription {
            id: PushSubscriptionId::from(row.0),
            endpoint: row.1,
            created_at: row.2,
        },
        created,
    ))
}

/// Removes one of `user`'s subscriptions (`NotFound` for anyone else's).
pub async fn unsubscribe(pool: &DbPool, user: UserId, id: PushSubscriptionId) -> NotificationsResult<()> {
    let mut conn = pool.get().await?;
    let removed = diesel::delete(
        push_subscriptions::table
            .filter(push_subscriptions::id.eq(id.into_uuid()))
            .filter(push_subscriptions::user_id.eq(user.into_uuid())),
    )
    .execute(&mut conn)
    .await?;
    if removed == 1 {
        Ok(())
    } else {
        Err(NotificationsError::NotFound)
    }
}

/// The subscription ids of a user (one push job each).
pub async fn subscription_ids(
    conn: &mut AsyncPgConnection,
    user: UserId,
) -> epop_storage::StorageResult<Vec<Uuid>> {
    Ok(push_subscriptions::table
        .filter(push_subscriptions::user_id.eq(user.into_uuid()))
        .select(push_subscriptions::id)
        .load(conn)
        .await?)
}

/// Delivers push jobs.
pub struct PushSender {
    pool: DbPool,
    vapid: std::sync::Arc<VapidKeys>,
    client: reqwest::Client,
}

impl std::fmt::Debug for PushSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushSender").finish_non_exhaustive()
    }
}

impl PushSender {
    /// A sender signing with `vapid`.
    pub fn new(pool: DbPool, vapid: std::sync::Arc<VapidKeys>) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()?;
        Ok(Self { pool, vapid, client })
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
            .and_then(|s| s.parse::<Uuid>().ok())
            .ok_or("the job has no subscription")?;
        let mut conn = self.pool.get().await.map_err(|e| e.to_string())?;
        let subscription: Option<(String, String, String)> = push_subscriptions::table
            .find(id)
            .select((
                push_subscriptions::endpoint,
                push_subscriptions::p256dh,
                push_subscriptions::auth,
            ))
            .first(&mut conn)
            .await
            .optional()
            .map_err(|e| e.to_string())?;
        drop(conn);
        // Unsubscribed meanwhile: nothing to deliver.
        let Some((endpoint, p256dh, auth)) = subscription else {
            return Ok(());
        };
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
        let response = outgoing.send().await.map_err(|e| e.to_string())?;
        match response.status().as_u16() {
            200..=299 => Ok(()),
            404 | 410 => {
                let mut conn = self.pool.get().await.map_err(|e| e.to_string())?;
                diesel::delete(push_subscriptions::table.find(id))
                    .execute(&mut conn)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(())
            }
            status => Err(format!("the push service answered {status}")),
        }
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
        assert!(check_keys("https://push.example/abc", &p256dh, &auth).is_empty());
        let fields: Vec<String> = check_keys("ftp://x", "abc", "short")
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, vec!["endpoint", "keys.p256dh", "keys.auth"]);
    }
}
