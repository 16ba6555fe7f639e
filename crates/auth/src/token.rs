//! Access tokens (HS256 JWT) and refresh tokens (opaque random strings, stored as SHA-256 hashes).

use crate::error::{AuthError, AuthResult};
use crate::model::Role;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use epop_core::{TokenFamilyId, UserId};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user id.
    pub sub: UserId,
    /// The user's global role when the token was issued.
    pub role: Role,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
    /// Unique token id.
    pub jti: Uuid,
    /// Issued at, in microseconds since the epoch (an EPOP addition: `iat` has whole seconds, too coarse to
    /// tell a token issued just before a logout everywhere from one issued just after it in the same second).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat_us: Option<i64>,
    /// The session (refresh token family) the token was issued to, so that ending that one session refuses it
    /// (an EPOP addition; tokens issued before it existed have none and end only with every session).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<TokenFamilyId>,
    /// Set when the request was authenticated with a personal access token rather than a signed-in session:
    /// the token and its scopes. Never part of a JWT (a signed token cannot claim scopes).
    #[serde(skip)]
    pub grant: Option<TokenGrant>,
}

/// What a personal access token allows (see [`crate::access_tokens`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenGrant {
    /// The token's id.
    pub id: epop_core::AccessTokenId,
    /// What it may do.
    pub scopes: Vec<crate::scope::Scope>,
}

impl TokenGrant {
    /// Whether the token has `scope`.
    pub fn allows(&self, scope: crate::scope::Scope) -> bool {
        self.scopes.contains(&scope)
    }
}

impl AccessClaims {
    /// When the token was issued, in microseconds since the epoch: `iat_us`, or for a token without it the
    /// start of its `iat` second (earlier than it was issued, so a revocation in that second covers it).
    pub fn issued_at_micros(&self) -> i64 {
        self.iat_us.unwrap_or_else(|| self.iat.saturating_mul(1_000_000))
    }
}

/// Signs and verifies access tokens with one HS256 secret.
#[derive(Clone)]
pub struct TokenSigner {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSigner { .. }")
    }
}

impl TokenSigner {
    /// A signer for `secret` (the caller checks it is at least 32 bytes).
    pub fn new(secret: &SecretString) -> Self {
        let bytes = secret.expose_secret().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        Self {
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
            validation,
        }
    }

    /// Issues an access token for `user`'s session `sid`, valid from `now` for `ttl_seconds`.
    pub fn issue(
        &self,
        user: UserId,
        role: Role,
        sid: Option<TokenFamilyId>,
        now: DateTime<Utc>,
        ttl_seconds: i64,
    ) -> AuthResult<String> {
        let iat = now.timestamp();
        let claims = AccessClaims {
            sub: user,
            role,
            iat,
            exp: iat + ttl_seconds,
            jti: Uuid::now_v7(),
            iat_us: Some(now.timestamp_micros()),
            sid,
            grant: None,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AuthError::Crypto(e.to_string()))
    }

    /// Verifies signature, algorithm (HS256 only) and expiry, and returns the claims.
    pub fn verify(&self, token: &str) -> AuthResult<AccessClaims> {
        jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|_| AuthError::Unauthorized)
    }
}

/// A fresh refresh token: 256 random bits, URL-safe base64.
pub fn new_refresh_token() -> AuthResult<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| AuthError::Crypto(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The stored form of a refresh token. Tokens have 256 bits of entropy, so a fast hash is enough.
pub fn refresh_token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A fresh single-use token for a link sent by e-mail (password reset, e-mail verification): 256 random bits,
/// URL-safe base64 (43 characters).
pub fn new_link_token() -> AuthResult<String> {
    new_refresh_token()
}

/// The stored form of a link token (SHA-256: the token has 256 bits of entropy, so a fast hash is enough).
pub fn link_token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> TokenSigner {
        TokenSigner::new(&SecretString::from("0123456789abcdef0123456789abcdef"))
    }

    #[test]
    fn issued_tokens_verify_and_carry_the_claims() {
        let user = UserId::new();
        let token = signer().issue(user, Role::Admin, None, Utc::now(), 900).unwrap();
        let claims = signer().verify(&token).unwrap();
        assert_eq!(claims.sub, user);
        assert_eq!(claims.role, Role::Admin);
        assert_eq!(claims.exp - claims.iat, 900);
    }

    #[test]
    fn tokens_carry_their_issue_instant_in_microseconds() {
        let at = Utc::now();
        let claims = signer()
            .verify(&signer().issue(UserId::new(), Role::Member, None, at, 60).unwrap())
            .unwrap();
        assert_eq!(claims.iat, at.timestamp());
        assert_eq!(claims.issued_at_micros(), at.timestamp_micros());
        // A token without the claim counts from the start of its second.
        let legacy = AccessClaims {
            iat_us: None,
            ..claims
        };
        assert_eq!(legacy.issued_at_micros(), at.timestamp() * 1_000_000);
    }

    #[test]
    fn expired_tampered_and_foreign_tokens_are_rejected() {
        let user = UserId::new();
        let expired = signer()
            .issue(
                user,
                Role::Member,
                None,
                Utc::now() - chrono::Duration::hours(1),
                900,
            )
            .unwrap();
        assert!(matches!(signer().verify(&expired), Err(AuthError::Unauthorized)));

        let other = TokenSigner::new(&SecretString::from("another-secret-another-secret-xx"));
        let foreign = other.issue(user, Role::Member, None, Utc::now(), 900).unwrap();
        assert!(signer().verify(&foreign).is_err());

        let good = signer().issue(user, Role::Member, None, Utc::now(), 900).unwrap();
        let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
        let forged_claims = serde_json::json!({"sub": user, "role": "admin", "iat": 0, "exp": i64::MAX / 2, "jti": Uuid::nil()});
        parts[1] = URL_SAFE_NO_PAD.encode(forged_claims.to_string());
        assert!(signer().verify(&parts.join(".")).is_err());

        let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        assert!(signer().verify(&format!("{none_header}.{}.", parts[1])).is_err());
    }

    #[test]
    fn refresh_tokens_are_long_random_and_hashed() {
        let a = new_refresh_token().unwrap();
        let b = new_refresh_token().unwrap();
        assert_ne!(a, b);
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).unwrap().len(), 32);
        assert_eq!(refresh_token_hash(&a).len(), 32);
        assert_ne!(refresh_token_hash(&a), refresh_token_hash(&b));
    }
}
