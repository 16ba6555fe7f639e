//! # epop-auth
//!
//! Accounts and sessions, with no HTTP in sight (the gateway maps this crate's [`AuthService`] onto routes):
//!
//! - [`password`]: Argon2id hashing on blocking threads, bounded by a semaphore sized to the cores so a login
//!   flood cannot starve other requests or exhaust memory (each hash holds 19 MiB); beyond the bound callers get
//!   [`AuthError::Busy`] quickly instead of queueing forever;
//! - [`token`]: HS256 access tokens (JWT) and opaque refresh tokens stored only as SHA-256 hashes;
//! - [`repo`]: the Diesel repositories for users and refresh tokens;
//! - [`service`]: the rules: registration, login with equal-time failures, refresh rotation with reuse
//!   detection that revokes the whole token family, logout, profile changes that revoke every session.
//!
//! Services own transactions; repositories take `&mut AsyncPgConnection` and never open one themselves.

pub mod error;
pub mod model;
pub mod password;
pub mod repo;
pub mod service;
pub mod token;

pub use error::{AuthError, AuthResult};
pub use model::{NewAccount, ProfileChanges, Role, Session, User, UserSummary};
pub use password::PasswordHasher;
pub use service::{AuthService, AuthSettings};
pub use token::{AccessClaims, TokenSigner};
