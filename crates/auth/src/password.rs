//! Argon2id password hashing off the async executor, with bounded concurrency.

use crate::error::{AuthError, AuthResult};
use argon2::{Argon2, PasswordHash, PasswordHasher as _, PasswordVerifier as _};
use secrecy::{ExposeSecret as _, SecretString};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// How long a hash request may wait for a free hashing slot before answering [`AuthError::Busy`].
const QUEUE_WAIT: Duration = Duration::from_secs(2);
/// How many requests may wait for a slot, per running slot.
const QUEUE_DEPTH_PER_SLOT: usize = 8;

/// Hashes and verifies passwords with Argon2id (OWASP parameters: 19 MiB, 2 passes, 1 lane).
///
/// At most `slots` hashes run at once, on Tokio's blocking pool; up to `slots * 8` more wait up to two
/// seconds; anything beyond that fails fast with [`AuthError::Busy`].
#[derive(Debug, Clone)]
pub struct PasswordHasher {
    running: Arc<Semaphore>,
    waiting: Arc<Semaphore>,
    /// A hash of a random password, verified against when the e-mail is unknown so both failures cost the same.
    dummy_hash: Arc<str>,
}

impl PasswordHasher {
    /// A hasher running at most `slots` hashes at once (use the number of cores). Computes the dummy hash, so
    /// call it once at start-up, outside the async executor or where a one-off 20 ms stall is fine.
    pub fn new(slots: usize) -> AuthResult<Self> {
        let slots = slots.max(1);
        let mut random = [0u8; 32];
        getrandom::fill(&mut random).map_err(|e| AuthError::Crypto(e.to_string()))?;
        let dummy = hash_now(&random)?;
        Ok(Self {
            running: Arc::new(Semaphore::new(slots)),
            waiting: Arc::new(Semaphore::new(slots * (QUEUE_DEPTH_PER_SLOT + 1))),
            dummy_hash: dummy.into(),
        })
    }

    /// Hashes `password` into a PHC string.
    pub async fn hash(&self, password: &SecretString) -> AuthResult<String> {
        let bytes = password.expose_secret().as_bytes().to_vec();
        self.run(move || hash_now(&bytes)).await
    }

    /// Verifies `password` against `stored`, or against the dummy hash when there is no account, so that the
    /// answer takes the same time either way. Returns `true` only for a real, matching hash.
    pub async fn verify(&self, password: &SecretString, stored: Option<String>) -> AuthResult<bool> {
        let bytes = password.expose_secret().as_bytes().to_vec();
        let has_account = stored.is_some();
        let phc = stored.unwrap_or_else(|| self.dummy_hash.to_string());
        let matches = self.run(move || Ok(verify_now(&bytes, &phc))).await?;
        Ok(has_account && matches)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> AuthResult<T> + Send + 'static,
    ) -> AuthResult<T> {
        let _queued = self
            .waiting
            .clone()
            .try_acquire_owned()
            .map_err(|_| AuthError::Busy)?;
        let slot = tokio::time::timeout(QUEUE_WAIT, self.running.clone().acquire_owned())
            .await
            .map_err(|_| AuthError::Busy)?
            .map_err(|_| AuthError::Busy)?;
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            work()
        })
        .await
        .map_err(|e| AuthError::Crypto(e.to_string()))?
    }
}

fn hash_now(password: &[u8]) -> AuthResult<String> {
    Argon2::default()
        .hash_password(password)
        .map(|hash| hash.to_string())
        .map_err(|e| AuthError::Crypto(e.to_string()))
}

fn verify_now(password: &[u8], phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|parsed| Argon2::default().verify_password(password, &parsed).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_only_the_right_password() {
        let hasher = PasswordHasher::new(2).unwrap();
        let password = SecretString::from("correct horse battery");
        let phc = hasher.hash(&password).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(hasher.verify(&password, Some(phc.clone())).await.unwrap());
        assert!(
            !hasher
                .verify(&SecretString::from("wrong horse"), Some(phc))
                .await
                .unwrap()
        );
        // No account: the dummy hash is checked, and the answer is always false.
        assert!(!hasher.verify(&password, None).await.unwrap());
    }

    #[tokio::test]
    async fn a_full_queue_answers_busy_instead_of_waiting() {
        let hasher = PasswordHasher::new(1).unwrap();
        let held: Vec<_> = (0..(QUEUE_DEPTH_PER_SLOT + 1))
            .map(|_| hasher.waiting.clone().try_acquire_owned().unwrap())
            .collect();
        let result = hasher.hash(&SecretString::from("password1")).await;
        assert!(matches!(result, Err(AuthError::Busy)));
        drop(held);
        assert!(hasher.hash(&SecretString::from("password1")).await.is_ok());
    }
}
