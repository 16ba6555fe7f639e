//! # epop-auth
//!
//! Accounts and sessions, with no HTTP in sight (the gateway maps this crate's [`AuthService`] onto routes):
//!
//! - [`password`]: Argon2id hashing on a fixed set of hashing threads (one per core), each reusing one 19 MiB
//!   memory block, so a login flood cannot starve other requests or grow memory; a request that would wait longer
//!   than a bound for a thread is refused at once with [`AuthError::Busy`] and a retry delay;
//! - [`token`]: HS256 access tokens (JWT) and opaque refresh tokens stored only as SHA-256 hashes;
//! - `repo` (private to the crate: typed ids in, rows out): the Diesel repositories for users and refresh tokens;
//! - [`service`]: the rules: registration, login with equal-time failures, refresh rotation with reuse
//!   detection that revokes the whole token family, logout, profile changes that revoke every session;
//! - [`sessions`]: the instant up to which a user's access tokens are refused, checked on every request
//!   through Redis (see there for why, and for the clock and locks that order issuing against revoking).
//!
//! - [`account_mail`]: password reset and e-mail verification links, issued and sent from the job queue (the
//!   request only enqueues, so it costs the same whether or not an account has the address);
//!   [`account_mail_sender`] runs those jobs.
//!
//! - [`mfa`]: the TOTP second factor (secrets encrypted at rest, codes accepted once), recovery codes, and
//!   sign-ins that wait for their second factor.
//!
//! - [`access_tokens`]: personal access tokens limited to [`scope`]s, and bot users that act only through
//!   them.
//!
//! - [`signed_in`]: a user's signed-in sessions (one per refresh token family), listed and ended one by one.
//!
//! - [`admin`]: what global admins do to accounts (deactivation, roles, forced password resets).
//!
//! - [`oidc`]: single sign-on with OpenID Connect (authorization code with PKCE and a nonce, discovery),
//!   linking accounts by the provider's verified e-mail or creating them.
//!
//! Security-relevant actions are written to the audit log (`epop_storage::audit`) in their own transaction.
//!
//! Services own transactions; repositories take `&mut AsyncPgConnection` and never open one themselves.

pub mod access_tokens;
pub mod account_mail;
pub mod account_mail_sender;
pub mod admin;
pub mod error;
pub mod mfa;
pub mod model;
pub mod oidc;
pub mod password;
mod repo;
pub mod scope;
pub mod service;
pub mod sessions;
pub mod signed_in;
pub mod token;

pub use access_tokens::{AccessToken, IssuedAccessToken, NewAccessToken};
pub use account_mail::{ACCOUNT_EMAIL_QUEUE, Mailer, OutgoingMail};
pub use account_mail_sender::AccountEmails;
pub use error::{AuthError, AuthResult};
pub use mfa::{MfaKey, SecondFactor, SignIn};
pub use model::{
    AdminUser, ClientInfo, NewAccount, ProfileChanges, Role, Session, SessionInfo, User, UserSummary,
};
pub use oidc::{OidcProvider, OidcProviders, SsoCallback, SsoFailure, SsoStart};
pub use password::{HashPermit, HasherSettings, HasherStats, PasswordHasher};
pub use scope::Scope;
pub use service::{AuthService, AuthSettings};
pub use token::{AccessClaims, TokenGrant, TokenSigner};
