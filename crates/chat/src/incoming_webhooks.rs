//! Incoming webhooks (`docs/api.md`, Incoming webhooks): a secret URL that posts into one group as the hook's
//! own bot user, as any member's message is posted (same rules, same events).
//!
//! Design notes:
//! - **The URL's token** is 256 random bits; only its SHA-256 is stored, so the URL is shown once, when the
//!   hook is created. A wrong token is `NotFound`, as a hook that does not exist.
//! - **The bot** is a user the embedding application creates with the hook (this crate does not write
//!   `users`); the hook makes it a member of the conversation in the hook's transaction, and deleting the hook
//!   takes it out again (its messages stay).
//! - **Signatures** follow Standard Webhooks when the hook was created with `verify_signatures`: the sender
//!   signs `{webhook-id}.{webhook-timestamp}.{body}` with HMAC-SHA256 under the `whsec_` secret and sends
//!   `webhook-signature: v1,<base64>` (several, space-separated, during a rotation). The timestamp must be
//!   within five minutes of the server's clock, and the `webhook-id` becomes the message's `client_id`, so a
//!   redelivered request posts nothing new. Checking an HMAC needs the secret itself, so it is kept as
//!   issued (the URL token, which alone lets anyone post to an unsigned hook, is kept only hashed).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use epop_core::{ConversationId, IncomingWebhookId, UserId};
use hmac::{Hmac, Mac as _};
use sha2::{Digest as _, Sha256};

/// The prefix of a Standard Webhooks secret.
pub const SECRET_PREFIX: &str = "whsec_";
/// How far a signed request's `webhook-timestamp` may be from the server's clock, either way.
pub const TIMESTAMP_TOLERANCE_SECS: i64 = 5 * 60;
/// The longest `webhook-id` accepted (it becomes the message's `client_id`).
pub const MAX_WEBHOOK_ID_CHARS: usize = 128;

/// An incoming webhook as members see it (never its token or secret).
#[derive(Debug, Clone, PartialEq)]
pub struct IncomingWebhook {
    /// Its id.
    pub id: IncomingWebhookId,
    /// The conversation it posts into.
    pub conversation_id: ConversationId,
    /// The bot user it posts as.
    pub bot_user_id: UserId,
    /// Its name (also the bot's name).
    pub name: String,
    /// Who created it (`None` once they are gone).
    pub created_by: Option<UserId>,
    /// Whether requests must carry a valid Standard Webhooks signature.
    pub verify_signatures: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A hook just created, with what is shown only now.
#[derive(Debug, Clone)]
pub struct CreatedIncomingWebhook {
    /// The hook.
    pub hook: IncomingWebhook,
    /// The secret token of its URL (`POST /hooks/{token}`).
    pub token: String,
    /// The `whsec_` signing secret, when it verifies signatures.
    pub signing_secret: Option<String>,
}

/// A hook found by its URL's token, with what checking a request needs.
#[derive(Debug, Clone)]
pub struct HookCredentials {
    /// The hook.
    pub hook: IncomingWebhook,
    /// Its signing secret, when it verifies signatures.
    pub signing_secret: Option<String>,
}

/// The Standard Webhooks headers of a request, as sent (absent ones `None`).
#[derive(Debug, Clone, Copy, Default)]
pub struct SignatureHeaders<'a> {
    /// `webhook-id`.
    pub id: Option<&'a str>,
    /// `webhook-timestamp` (seconds since the epoch).
    pub timestamp: Option<&'a str>,
    /// `webhook-signature` (`v1,<base64>`, space-separated).
    pub signature: Option<&'a str>,
}

/// Why a signed request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// A header is missing or malformed.
    #[error("the webhook-id, webhook-timestamp and webhook-signature headers are required")]
    MissingHeaders,
    /// The timestamp is too far from now.
    #[error("webhook-timestamp is more than five minutes away from the server's clock")]
    Stale,
    /// No signature matches.
    #[error("no webhook-signature matches the body")]
    Mismatch,
}

/// A new URL token (256 random bits, base64url) and its stored hash.
pub(crate) fn new_token() -> Result<(String, Vec<u8>), getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = token_hash(&token);
    Ok((token, hash))
}

/// The stored form of a URL token.
pub(crate) fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A new Standard Webhooks secret: `whsec_` and the standard base64 of 32 random bytes.
pub(crate) fn new_signing_secret() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes)))
}

/// Checks a Standard Webhooks signature over `body` with `secret` at `now`; returns the `webhook-id`.
pub fn verify_signature<'a>(
    secret: &str,
    headers: SignatureHeaders<'a>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<&'a str, SignatureError> {
    let (Some(id), Some(timestamp), Some(signatures)) = (headers.id, headers.timestamp, headers.signature)
    else {
        return Err(SignatureError::MissingHeaders);
    };
    if id.is_empty() || id.chars().count() > MAX_WEBHOOK_ID_CHARS {
        return Err(SignatureError::MissingHeaders);
    }
    let sent_at: i64 = timestamp.parse().map_err(|_| SignatureError::MissingHeaders)?;
    if (now.timestamp() - sent_at).abs() > TIMESTAMP_TOLERANCE_SECS {
        return Err(SignatureError::Stale);
    }
    let key = secret
        .strip_prefix(SECRET_PREFIX)
        .and_then(|encoded| STANDARD.decode(encoded).ok())
        .ok_or(SignatureError::Mismatch)?;
    let mac = |key: &[u8]| {
        Hmac::<Sha256>::new_from_slice(key).map(|mut mac| {
            mac.update(id.as_bytes());
            mac.update(b".");
            mac.update(timestamp.as_bytes());
            mac.update(b".");
            mac.update(body);
            mac
        })
    };
    for candidate in signatures.split(' ') {
        let Some(encoded) = candidate.strip_prefix("v1,") else {
            continue;
        };
        let Ok(signature) = STANDARD.decode(encoded) else {
            continue;
        };
        // `verify_slice` compares in constant time.
        if let Ok(mac) = mac(&key)
            && mac.verify_slice(&signature).is_ok()
        {
            return Ok(id);
        }
    }
    Err(SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A signature as a Standard Webhooks sender makes it.
    fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
        let key = STANDARD
            .decode(secret.strip_prefix(SECRET_PREFIX).unwrap())
            .unwrap();
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        mac.update(format!("{id}.{timestamp}.").as_bytes());
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn the_specification_example_verifies() {
        // The example of the Standard Webhooks specification.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        let now = DateTime::from_timestamp(1_614_265_330, 0).unwrap();
        let headers = SignatureHeaders {
            id: Some("msg_p5jXN8AQM9LWM0D4loKWxJek"),
            timestamp: Some("1614265330"),
            signature: Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
        };
        assert_eq!(
            verify_signature(secret, headers, body, now),
            Ok("msg_p5jXN8AQM9LWM0D4loKWxJek")
        );
    }

    #[test]
    fn wrong_stale_and_missing_signatures_are_refused() {
        let secret = new_signing_secret().unwrap();
        let now = Utc::now();
        let body = br#"{"text":"hi"}"#;
        let good = sign(&secret, "msg_1", now.timestamp(), body);
        let headers = |signature: &'static str, timestamp: i64| SignatureHeaders {
            id: Some("msg_1"),
            timestamp: Some(Box::leak(timestamp.to_string().into_boxed_str())),
            signature: Some(signature),
        };
        let good: &'static str = Box::leak(good.into_boxed_str());
        assert!(verify_signature(&secret, headers(good, now.timestamp()), body, now).is_ok());
        // A rotation sends several; one matching is enough.
        let both: &'static str = Box::leak(format!("v1,AAAA {good}").into_boxed_str());
        assert!(verify_signature(&secret, headers(both, now.timestamp()), body, now).is_ok());
        assert_eq!(
            verify_signature(&secret, headers(good, now.timestamp()), br#"{"text":"hI"}"#, now),
            Err(SignatureError::Mismatch)
        );
        let other = new_signing_secret().unwrap();
        assert_eq!(
            verify_signature(&other, headers(good, now.timestamp()), body, now),
            Err(SignatureError::Mismatch)
        );
        let old = now.timestamp() - TIMESTAMP_TOLERANCE_SECS - 1;
        let stale: &'static str = Box::leak(sign(&secret, "msg_1", old, body).into_boxed_str());
        assert_eq!(
            verify_signature(&secret, headers(stale, old), body, now),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify_signature(&secret, SignatureHeaders::default(), body, now),
            Err(SignatureError::MissingHeaders)
        );
    }

    #[test]
    fn tokens_are_random_and_stored_hashed() {
        let (a, hash_a) = new_token().unwrap();
        let (b, _) = new_token().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(token_hash(&a), hash_a);
        assert!(new_signing_secret().unwrap().starts_with(SECRET_PREFIX));
    }
}
