//! The second factor: TOTP (RFC 6238, with `totp-rs`: SHA-1, 6 digits, 30-second steps, one step of clock
//! skew either way, which is what authenticator apps assume) and single-use recovery codes.
//!
//! - **At rest** the TOTP secret is encrypted with AES-256-GCM under [`MfaKey`] (from the configuration; the
//!   sealing itself is [`epop_storage::sealed`], shared with webhook secrets), with
//!   the user's id as associated data, so a database dump alone reveals no secret and a row moved to another
//!   user does not decrypt. Recovery codes (80 random bits each) and sign-in challenge tokens (256 bits) are
//!   stored as SHA-256 hashes.
//! - **Replay**: the time step of the last accepted code is kept per user, and only a later step is accepted,
//!   so a code works once even within its validity window.
//! - **Enrolment** returns the secret (base32), its `otpauth://` URI and the URI as a QR code (SVG, drawn by the
//!   `qrcode` crate), and takes effect only when a code from the app is confirmed.

use crate::error::{AuthError, AuthResult};
use epop_core::UserId;
use epop_storage::sealed::{SealError, SealingKey};
use secrecy::SecretString;
use sha2::{Digest as _, Sha256};
use totp_rs::{Algorithm, Builder, Secret, Totp};

/// The issuer shown by authenticator apps.
pub const ISSUER: &str = "EPOP";
/// How many recovery codes a user gets.
pub const RECOVERY_CODES: usize = 10;
/// Bytes of a TOTP secret (160 bits, as RFC 4226 recommends).
const SECRET_BYTES: usize = 20;

/// The key that encrypts TOTP secrets at rest (an [`epop_storage::sealed::SealingKey`], the user's id as
/// associated data).
#[derive(Clone, Debug)]
pub struct MfaKey {
    key: SealingKey,
}

impl MfaKey {
    /// A key of exactly 32 bytes.
    pub fn from_bytes(key: &[u8; 32]) -> Self {
        Self {
            key: SealingKey::from_bytes(key),
        }
    }

    /// A key derived from another secret of the configuration (SHA-256 of a label and the secret), for
    /// deployments that configure no key of their own.
    pub fn derived_from(secret: &SecretString) -> Self {
        Self {
            key: SealingKey::derived_from("epop-mfa-key:", secret),
        }
    }

    /// `nonce || ciphertext` of `plaintext`, bound to `user`.
    pub(crate) fn encrypt(&self, user: UserId, plaintext: &[u8]) -> AuthResult<Vec<u8>> {
        self.key
            .seal(user.into_uuid().as_bytes(), plaintext)
            .map_err(|error| AuthError::Crypto(format!("encrypting a TOTP secret failed: {error}")))
    }

    /// The plaintext of `stored` for `user`; a wrong key, user or a changed byte is an error.
    pub(crate) fn decrypt(&self, user: UserId, stored: &[u8]) -> AuthResult<Vec<u8>> {
        self.key
            .open(user.into_uuid().as_bytes(), stored)
            .map_err(|error| match error {
                SealError::Truncated => AuthError::Crypto("a stored TOTP secret is truncated".into()),
                _ => AuthError::Crypto(
                    "a stored TOTP secret does not decrypt (was EPOP_MFA_KEY changed?)".into(),
                ),
            })
    }
}

/// A fresh TOTP secret.
pub(crate) fn new_secret() -> AuthResult<Vec<u8>> {
    let mut secret = vec![0u8; SECRET_BYTES];
    getrandom::fill(&mut secret).map_err(|e| AuthError::Crypto(e.to_string()))?;
    Ok(secret)
}

/// The TOTP generator of `secret` for the account `label` (shown in the app; `:` is not allowed there).
pub(crate) fn totp(secret: &[u8], label: &str) -> AuthResult<Totp> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(Secret::new(secret.to_vec().into_boxed_slice()))
        .with_issuer(Some(ISSUER))
        .with_account_name(label.replace(':', "_"))
        .build()
        .map_err(|e| AuthError::Crypto(e.to_string()))
}

/// The time step `code` belongs to at `unix_seconds` (within one step either way), if it is right and later than
/// `last_step` (a code is accepted once).
pub(crate) fn accept(totp: &Totp, code: &str, unix_seconds: u64, last_step: Option<i64>) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let step = i64::try_from(totp.check(&code, unix_seconds)?).ok()?;
    match last_step {
        Some(last) if step <= last => None,
        _ => Some(step),
    }
}

/// What enrolment shows the user once.
#[derive(Debug, Clone)]
pub struct TotpEnrolment {
    /// The secret, base32 (for typing it into an app).
    pub secret: String,
    /// `otpauth://totp/EPOP:{email}?secret=…&issuer=EPOP` (SHA-1, 6 digits and 30 s, the defaults, are implied).
    pub otpauth_uri: String,
    /// The URI as a QR code, an SVG document.
    pub qr_svg: String,
}

/// The enrolment details of `secret` for `label`.
pub(crate) fn enrolment(secret: &[u8], label: &str) -> AuthResult<TotpEnrolment> {
    let totp = totp(secret, label)?;
    let otpauth_uri = totp.to_url().map_err(|e| AuthError::Crypto(e.to_string()))?;
    let qr = qrcode::QrCode::new(otpauth_uri.as_bytes()).map_err(|e| AuthError::Crypto(e.to_string()))?;
    let qr_svg = qr
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build();
    Ok(TotpEnrolment {
        secret: totp.secret().to_base32(),
        otpauth_uri,
        qr_svg,
    })
}

/// Ten fresh recovery codes (`xxxx-xxxx-xxxx-xxxx`, 80 random bits of lower-case base32 each).
pub(crate) fn new_recovery_codes() -> AuthResult<Vec<String>> {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut random = [0u8; 16];
            getrandom::fill(&mut random).map_err(|e| AuthError::Crypto(e.to_string()))?;
            let chars: Vec<char> = random
                .iter()
                .map(|b| char::from(ALPHABET[usize::from(b % 32)]))
                .collect();
            Ok(chars
                .chunks(4)
                .map(|group| group.iter().collect::<String>())
                .collect::<Vec<_>>()
                .join("-"))
        })
        .collect()
}

/// The stored form of a recovery code: SHA-256 of its normal form (lower case, no dashes or spaces), so it may be
/// typed in any case and grouping.
pub(crate) fn recovery_code_hash(code: &str) -> Vec<u8> {
    let normal: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    Sha256::digest(normal.as_bytes()).to_vec()
}

/// The ways a sign-in can be completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactorMethod {
    /// A code from the authenticator app.
    Totp,
    /// One of the recovery codes.
    RecoveryCode,
}

impl SecondFactorMethod {
    /// The wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            SecondFactorMethod::Totp => "totp",
            SecondFactorMethod::RecoveryCode => "recovery_code",
        }
    }
}

/// What completes a sign-in that needs a second factor.
#[derive(Debug)]
pub enum SecondFactor {
    /// A 6-digit code from the authenticator app.
    Totp(String),
    /// One of the recovery codes (any case, with or without dashes).
    RecoveryCode(String),
}

/// A sign-in waiting for its second factor.
#[derive(Debug, Clone)]
pub struct MfaChallenge {
    /// Presented with the second factor (`POST /api/auth/mfa`); single-use, short-lived.
    pub mfa_token: String,
    /// How it can be completed.
    pub methods: Vec<SecondFactorMethod>,
    /// Seconds until it expires.
    pub expires_in: i64,
}

/// The outcome of a correct password.
#[derive(Debug, Clone)]
pub enum SignIn {
    /// Signed in.
    Session(Box<crate::model::Session>),
    /// The account has a second factor: complete with [`crate::AuthService::complete_mfa`].
    MfaRequired(MfaChallenge),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_decrypt_only_with_their_key_and_user() {
        let key = MfaKey::from_bytes(&[7u8; 32]);
        let user = UserId::new();
        let stored = key.encrypt(user, b"secret bytes").unwrap();
        assert_eq!(key.decrypt(user, &stored).unwrap(), b"secret bytes");
        assert!(!stored.windows(12).any(|w| w == b"secret bytes"));
        assert!(key.decrypt(UserId::new(), &stored).is_err());
        assert!(MfaKey::from_bytes(&[8u8; 32]).decrypt(user, &stored).is_err());
        let mut tampered = stored.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(key.decrypt(user, &tampered).is_err());
        assert!(key.decrypt(user, &stored[..5]).is_err());
    }

    #[test]
    fn a_code_is_accepted_once_within_its_window() {
        let secret = new_secret().unwrap();
        let totp = totp(&secret, "ann@example.com").unwrap();
        let now = 1_765_000_000u64;
        let code = totp.generate(now).to_string();
        let step = accept(&totp, &code, now, None).unwrap();
        assert_eq!(step, i64::try_from(now / 30).unwrap());
        // The same code again, even a few seconds later: refused.
        assert_eq!(accept(&totp, &code, now + 5, Some(step)), None);
        // The previous step's code, one step late, is still fine the first time.
        let previous = totp.generate(now - 30).to_string();
        assert_eq!(accept(&totp, &previous, now, None), Some(step - 1));
        assert_eq!(accept(&totp, &previous, now, Some(step - 1)), None);
        // The next step's code after the current one was used.
        let next = totp.generate(now + 30).to_string();
        assert_eq!(accept(&totp, &next, now + 30, Some(step)), Some(step + 1));
        // Garbage and codes far from now.
        assert_eq!(accept(&totp, "12345", now, None), None);
        assert_eq!(accept(&totp, "abcdef", now, None), None);
        let old = totp.generate(now - 300).to_string();
        assert_eq!(accept(&totp, &old, now, None), None);
        // Spaces people type are ignored.
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert_eq!(accept(&totp, &spaced, now, None), Some(step));
    }

    #[test]
    fn enrolment_shows_the_secret_as_uri_and_qr_code() {
        let secret = new_secret().unwrap();
        let enrolment = enrolment(&secret, "ann:x@example.com").unwrap();
        assert!(
            enrolment.otpauth_uri.starts_with("otpauth://totp/EPOP:ann_x"),
            "{}",
            enrolment.otpauth_uri
        );
        assert!(
            enrolment
                .otpauth_uri
                .contains(&format!("secret={}", enrolment.secret))
        );
        assert!(enrolment.otpauth_uri.contains("issuer=EPOP"));
        assert!(enrolment.qr_svg.contains("<svg"));
    }

    #[test]
    fn recovery_codes_are_distinct_and_typed_in_any_form() {
        let codes = new_recovery_codes().unwrap();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let distinct: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(distinct.len(), RECOVERY_CODES);
        let code = &codes[0];
        assert_eq!(code.len(), 19);
        assert_eq!(
            recovery_code_hash(code),
            recovery_code_hash(&code.to_uppercase().replace('-', " "))
        );
        assert_ne!(recovery_code_hash(code), recovery_code_hash(&codes[1]));
    }
}
