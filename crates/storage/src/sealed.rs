//! Secrets sealed at rest: AES-256-GCM under a key from the configuration, with a random 96-bit nonce per
//! value and associated data naming the row a value belongs to, so a database dump alone reveals no secret
//! and a value copied to another row does not open. Stored as `nonce || ciphertext` (with the GCM tag).
//!
//! Used for the TOTP secrets of the second factor (`epop-auth`, the user's id as associated data) and the
//! signing secrets of outgoing webhooks (`epop-webhooks`, the endpoint's id).

use aes_gcm::aead::{Aead as _, KeyInit as _, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use secrecy::{ExposeSecret as _, SecretString};
use sha2::{Digest as _, Sha256};
use std::sync::Arc;

/// Bytes of an AES-GCM nonce.
const NONCE_BYTES: usize = 12;

/// Why a value could not be sealed or opened (never the value or the key).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The system's random number generator failed (no nonce).
    #[error("no randomness for a nonce: {0}")]
    Randomness(String),
    /// Encryption failed.
    #[error("encrypting failed")]
    Encrypt,
    /// The stored value is shorter than a nonce.
    #[error("the stored value is truncated")]
    Truncated,
    /// A wrong key, other associated data, or a changed byte.
    #[error("the stored value does not decrypt with this key")]
    Undecryptable,
}

/// A 256-bit key that seals values at rest (cheap to clone: the expanded key is shared).
#[derive(Clone)]
pub struct SealingKey {
    cipher: Arc<Aes256Gcm>,
}

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealingKey { .. }")
    }
}

impl SealingKey {
    /// A key of exactly 32 bytes.
    pub fn from_bytes(key: &[u8; 32]) -> Self {
        Self {
            cipher: Arc::new(Aes256Gcm::new(key.into())),
        }
    }

    /// A key derived from another secret of the configuration: SHA-256 of `label` and the secret (each use
    /// has its own label, so two uses never share a key).
    pub fn derived_from(label: &str, secret: &SecretString) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(label.as_bytes());
        hasher.update(secret.expose_secret().as_bytes());
        Self::from_bytes(&hasher.finalize().into())
    }

    /// `nonce || ciphertext` of `plaintext`, bound to `aad`.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce).map_err(|e| SealError::Randomness(e.to_string()))?;
        let ciphertext = self
            .cipher
            .encrypt(&Nonce::from(nonce), Payload { msg: plaintext, aad })
            .map_err(|_| SealError::Encrypt)?;
        let mut stored = nonce.to_vec();
        stored.extend_from_slice(&ciphertext);
        Ok(stored)
    }

    /// The plaintext of `stored` (made by [`Self::seal`] with this key and `aad`).
    pub fn open(&self, aad: &[u8], stored: &[u8]) -> Result<Vec<u8>, SealError> {
        if stored.len() < NONCE_BYTES {
            return Err(SealError::Truncated);
        }
        let (nonce, ciphertext) = stored.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| SealError::Truncated)?;
        self.cipher
            .decrypt(&Nonce::from(nonce), Payload { msg: ciphertext, aad })
            .map_err(|_| SealError::Undecryptable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_associated_data() {
        let key = SealingKey::from_bytes(&[7; 32]);
        let sealed = key.seal(b"row-1", b"whsec_secret").unwrap();
        assert!(!sealed.windows(12).any(|w| w == b"whsec_secret"));
        assert_eq!(key.open(b"row-1", &sealed).unwrap(), b"whsec_secret");
        assert_ne!(
            key.seal(b"row-1", b"whsec_secret").unwrap(),
            sealed,
            "a fresh nonce each time"
        );
        assert_eq!(key.open(b"row-2", &sealed), Err(SealError::Undecryptable));
        let other = SealingKey::from_bytes(&[8; 32]);
        assert_eq!(other.open(b"row-1", &sealed), Err(SealError::Undecryptable));
        let mut changed = sealed.clone();
        *changed.last_mut().unwrap() ^= 1;
        assert_eq!(key.open(b"row-1", &changed), Err(SealError::Undecryptable));
        assert_eq!(key.open(b"row-1", &sealed[..5]), Err(SealError::Truncated));
    }

    #[test]
    fn derived_keys_differ_by_label() {
        let secret = SecretString::from("jwt-secret");
        let mfa = SealingKey::derived_from("epop-mfa-key:", &secret);
        let hooks = SealingKey::derived_from("epop-webhook-key:", &secret);
        let sealed = mfa.seal(b"x", b"value").unwrap();
        assert!(hooks.open(b"x", &sealed).is_err());
        let again = SealingKey::derived_from("epop-mfa-key:", &secret);
        assert_eq!(again.open(b"x", &sealed).unwrap(), b"value");
    }
}
