//! The rules of accounts and sessions.

use crate::account_mail::{ACCOUNT_EMAIL_QUEUE, AccountEmailJob, IssuedToken};
use crate::error::{AuthError, AuthResult};
use crate::mfa::{self, MfaChallenge, MfaKey, SecondFactor, SecondFactorMethod, SignIn, TotpEnrolment};
use crate::model::{ClientInfo, NewAccount, ProfileChanges, Role, Session, User, UserSummary};
use crate::password::{HasherStats, PasswordHasher};
use crate::repo::auth_sessions::{self, NewSessionRow};
use crate::repo::email_tokens::{self, Purpose};
use crate::repo::mfa as mfa_repo;
use crate::repo::refresh_tokens::{self, NewRefreshTokenRow};
use crate::repo::users::{self, DirectoryCursor, NewUserRow, UserChangeset};
use crate::sessions::{SessionCutoffs, is_revoked};
use crate::token::{self, AccessClaims, TokenSigner};
use chrono::Duration;
use diesel_async::{AsyncConnection as _, AsyncPgConnection};
use epop_core::{Clock, Cursor, DomainEvent, FieldError, Page, PageRequest, TokenFamilyId, UserId};
use epop_storage::audit::{self, AuditAction, AuditEntry, AuditTarget};
use epop_storage::{DbPool, jobs, outbox};
use secrecy::SecretString;
use std::sync::Arc;
use uuid::Uuid;

/// Lifetimes of the tokens the service issues, and the account rules a deployment chooses.
#[derive(Debug, Clone, Copy)]
pub struct AuthSettings {
    /// Access token lifetime (default 15 minutes).
    pub access_ttl: Duration,
    /// Refresh token lifetime (default 30 days).
    pub refresh_ttl: Duration,
    /// Lifetime of a password reset link (30 minutes).
    pub password_reset_ttl: Duration,
    /// Lifetime of an e-mail verification link (default 24 hours).
    pub email_verification_ttl: Duration,
    /// Whether account e-mails (reset and verification links) can be sent: without them, nothing is enqueued.
    pub account_emails: bool,
    /// Whether signing in needs a verified e-mail address (needs `account_emails`).
    pub require_verified_email: bool,
    /// How long a sign-in waits for its second factor (5 minutes).
    pub mfa_challenge_ttl: Duration,
    /// Wrong codes a sign-in waiting for its second factor allows (5).
    pub mfa_max_attempts: i32,
    /// Personal access tokens one user may hold (`0`: no limit).
    pub max_access_tokens: u64,
    /// Live sessions one user may have; a sign-in past it ends their oldest (`0`: no limit; default 50).
    pub max_sessions_per_user: u64,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            access_ttl: Duration::minutes(15),
            refresh_ttl: Duration::days(30),
            password_reset_ttl: Duration::minutes(30),
            email_verification_ttl: Duration::hours(24),
            account_emails: false,
            require_verified_email: false,
            mfa_challenge_ttl: Duration::minutes(5),
            mfa_max_attempts: 5,
            max_access_tokens: 50,
            max_sessions_per_user: 50,
        }
    }
}

/// The message of every refused reset or verification token: unknown, used, expired or for an address the
/// account no longer has all read the same.
const BAD_TOKEN: &str = "is unknown, expired or already used";

/// Registration, login, token refresh and logout, and profile management.
///
/// Inputs are expected to be shape-validated by the caller (lengths, e-mail syntax); the service enforces the
/// rules that need the database or a secret.
///
/// **Ending sessions.** A logout everywhere, a new password or a new e-mail revokes every refresh token of the
/// user and sets the instant up to which their access tokens are refused ([`crate::sessions`]); every request
/// and socket handshake checks it ([`Self::authenticate`]). Both sides use PostgreSQL's clock and the user's
/// row lock: tokens are issued under a share lock (a refresh locks the user before its token), a revocation
/// takes the row exclusively and only then reads the clock and revokes the refresh tokens. So a refresh in
/// flight during a logout everywhere either finishes first (and its tokens are revoked with the rest) or waits
/// and finds its token revoked; and a token issued right after, even in the same second, stays valid (tokens
/// carry their instant to the microsecond, `iat_us`).
#[derive(Clone)]
pub struct AuthService {
    pub(crate) pool: DbPool,
    pub(crate) hasher: PasswordHasher,
    signer: TokenSigner,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) settings: AuthSettings,
    pub(crate) cutoffs: SessionCutoffs,
    mfa_key: Option<MfaKey>,
    /// The single sign-on providers (`None`: none configured).
    pub(crate) oidc: Option<crate::oidc::OidcProviders>,
}

impl std::fmt::Debug for AuthService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthService")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// What a refresh transaction decided; reuse must commit the family revocation before failing.
enum Rotation {
    Rotated {
        user: Box<users::UserRow>,
        family: TokenFamilyId,
        refresh_token: String,
        expires_at: chrono::DateTime<chrono::Utc>,
        issued_at: chrono::DateTime<chrono::Utc>,
    },
    Reused,
    Invalid,
}

impl AuthService {
    /// Builds the service.
    pub fn new(
        pool: DbPool,
        hasher: PasswordHasher,
        signer: TokenSigner,
        clock: Arc<dyn Clock>,
        settings: AuthSettings,
    ) -> Self {
        Self {
            cutoffs: SessionCutoffs::new(pool.clone()),
            pool,
            hasher,
            signer,
            clock,
            settings,
            mfa_key: None,
            oidc: None,
        }
    }

    /// Encrypts TOTP secrets with `key` (without one, the second factor cannot be enrolled or checked).
    pub fn with_mfa_key(mut self, key: MfaKey) -> Self {
        self.mfa_key = Some(key);
        self
    }

    /// Shares session cutoffs between gateway nodes through `redis` (keys under `prefix`); without it they
    /// are read from PostgreSQL and kept in process (a single node).
    pub fn with_shared_cutoffs(
        mut self,
        redis: Option<epop_storage::redis::SharedConnection>,
        prefix: &str,
    ) -> Self {
        self.cutoffs = self.cutoffs.with_redis(
            redis,
            prefix,
            self.settings.access_ttl.to_std().unwrap_or_default(),
        );
        self
    }

    /// Copies the recent session cutoffs to Redis and marks it as holding them all, so that requests of users
    /// without one need no PostgreSQL read (see [`crate::sessions`]); requests also start it when they find a
    /// Redis without them. `Ok(false)` when another node is doing it, Redis may evict keys, or there is none.
    pub async fn seed_session_cutoffs(&self) -> AuthResult<bool> {
        self.cutoffs.seed().await
    }

    /// Forgets this process's copy of `user`'s session cutoff (another node revoked their sessions; with Redis
    /// every request reads the shared value anyway).
    pub fn sessions_revoked_elsewhere(&self, user: UserId) {
        self.cutoffs.forget(user);
    }

    /// `user`'s session cutoff read from PostgreSQL and shared through Redis (see
    /// [`SessionCutoffs::resync`]); the gateway calls it when it hears that a user's sessions ended.
    pub async fn resync_session_cutoff(&self, user: UserId) -> AuthResult<Option<i64>> {
        self.cutoffs.resync(user).await
    }

    /// The password hashing threads' load and refusals, for metrics.
    pub fn hasher_stats(&self) -> HasherStats {
        self.hasher.stats()
    }

    /// Verifies an access token's signature and expiry only, and returns its claims. Requests and socket
    /// handshakes use [`Self::authenticate`], which also refuses tokens of ended sessions.
    pub fn verify_access_token(&self, token: &str) -> AuthResult<AccessClaims> {
        self.signer.verify(token)
    }

    /// The instant (microseconds since the epoch) up to which `user`'s access tokens are refused, `None` when
    /// never; see [`crate::sessions::is_revoked`].
    pub async fn session_cutoff(&self, user: UserId) -> AuthResult<Option<i64>> {
        self.cutoffs.cutoff(user).await
    }

    /// Verifies an access token and checks that its session was not ended since it was issued (a logout
    /// everywhere, a new password or e-mail, that one session ended, a deactivation): one Redis `MGET` (see
    /// [`crate::sessions`]). `Unauthorized` for a bad, expired or revoked token; `Storage` when neither Redis
    /// nor PostgreSQL can say.
    ///
    /// A personal access token (`epop_pat_…`) is checked against its row instead ([`crate::access_tokens`]);
    /// its claims carry its scopes in `grant`.
    pub async fn authenticate(&self, token: &str) -> AuthResult<AccessClaims> {
        if crate::access_tokens::is_access_token(token) {
            return self.authenticate_access_token(token).await;
        }
        let claims = self.signer.verify(token)?;
        let (cutoff, session_ended) = self.cutoffs.check(claims.sub, claims.sid).await?;
        if session_ended || is_revoked(claims.issued_at_micros(), cutoff) {
            return Err(AuthError::Unauthorized);
        }
        Ok(claims)
    }

    /// Forgets this process's copy of whether the session `sid` was ended (another node ended it).
    pub fn session_ended_elsewhere(&self, sid: TokenFamilyId) {
        self.cutoffs.forget_session(sid);
    }

    /// Creates an account and signs it in. A taken e-mail (compared case-insensitively) is `EmailTaken`.
    #[tracing::instrument(skip_all)]
    pub async fn register(&self, account: NewAccount, client: &ClientInfo) -> AuthResult<Session> {
        // A place in the hashing queue first: when hashing is saturated the refusal costs no database work.
        crate::access_tokens::refuse_bot_address(&account.email)?;
        let permit = self.hasher.admit()?;
        // Cheap early answer that saves a hash; the unique index still decides under races. The connection
        // goes back to the pool while the password is hashed: a burst of sign-ups waiting for the hashing
        // threads must not hold every database connection.
        {
            let mut conn = self.pool.get().await?;
            if users::find_by_email(&mut conn, &account.email).await?.is_some() {
                return Err(AuthError::EmailTaken);
            }
        }
        let hash = permit.hash(&account.password).await?;
        let mut conn = self.pool.get().await?;
        let now = self.clock.now();
        let this = self.clone();
        let session = conn
            .transaction::<_, AuthError, _>(async |conn| {
                let user = users::insert(
                    conn,
                    NewUserRow {
                        id: UserId::new(),
                        name: &account.name,
                        email: &account.email,
                        password_hash: &hash,
                        role: account.role.as_str(),
                        email_verified: false,
                        is_bot: false,
                    },
                )
                .await?;
                this.enqueue_verification(conn, &user.email).await?;
                this.open_session(conn, user, now, client).await
            })
            .await?;
        self.cap_sessions(session.user.id, client).await?;
        Ok(session)
    }

    /// Creates an account without signing it in (administration). Its e-mail counts as verified: the operator
    /// vouches for it.
    pub async fn create_user(&self, account: NewAccount) -> AuthResult<User> {
        let hash = self.hasher.hash(&account.password).await?;
        let mut conn = self.pool.get().await?;
        let row = users::insert(
            &mut conn,
            NewUserRow {
                id: UserId::new(),
                name: &account.name,
                email: &account.email,
                password_hash: &hash,
                role: account.role.as_str(),
                email_verified: true,
                is_bot: false,
            },
        )
        .await?;
        row.into_user()
    }

    /// Creates a global admin with this e-mail unless any account already has it (never changes an existing
    /// account). Returns whether one was created. Safe when several gateways start at once. Its e-mail counts
    /// as verified (it comes from the configuration).
    pub async fn ensure_admin(&self, email: &str, name: &str, password: &SecretString) -> AuthResult<bool> {
        let mut conn = self.pool.get().await?;
        if users::find_by_email(&mut conn, email).await?.is_some() {
            return Ok(false);
        }
        let hash = self.hasher.hash(password).await?;
        users::insert_if_email_free(
            &mut conn,
            NewUserRow {
                id: UserId::new(),
                name,
                email,
                password_hash: &hash,
                role: Role::Admin.as_str(),
                email_verified: true,
                is_bot: false,
            },
        )
        .await
    }

    /// Signs in with e-mail and password. Unknown e-mail and wrong password both cost one Argon2id verification
    /// and both answer `InvalidCredentials`. An account with a second factor gets [`SignIn::MfaRequired`]: a
    /// short-lived, single-use `mfa_token` for [`Self::complete_mfa`], and no session yet.
    #[tracing::instrument(skip_all)]
    pub async fn login(
        &self,
        email: &str,
        password: &SecretString,
        client: &ClientInfo,
    ) -> AuthResult<SignIn> {
        // A place in the hashing queue first: when hashing is saturated the refusal costs no database work.
        let permit = self.hasher.admit()?;
        let mut conn = self.pool.get().await?;
        let found = users::find_by_email(&mut conn, email).await?;
        // Return the connection to the pool while hashing.
        drop(conn);
        // An account whose owner must reset their password, and a bot, have no password: the dummy hash is
        // checked instead (same time, never a match).
        let stored = found
            .as_ref()
            .filter(|row| !row.is_bot)
            .map(|row| row.password_hash.clone())
            .filter(|hash| hash != users::UNUSABLE_PASSWORD);
        let verified = permit.verify(password, stored).await?;
        let Some(user) = found else {
            self.audit_failed_login(None, email, "invalid_credentials", client)
                .await?;
            return Err(AuthError::InvalidCredentials);
        };
        if !verified {
            self.audit_failed_login(Some(user.id), email, "invalid_credentials", client)
                .await?;
            return Err(AuthError::InvalidCredentials);
        }
        if user.deactivated_at.is_some() {
            self.audit_failed_login(Some(user.id), email, "deactivated", client)
                .await?;
            return Err(AuthError::Deactivated);
        }
        // Said only to whoever knows the password, so it tells nobody else whether the address has an account.
        if self.settings.require_verified_email && !user.email_verified {
            return Err(AuthError::EmailNotVerified);
        }
        self.sign_in(user.id, client, serde_json::json!({"method": "password"}))
            .await
    }

    /// Signs in `user`, whose first factor (password, single sign-on) was checked: a session, or a challenge for
    /// the second factor when they have one. Audited as `auth.login` with `details` (such as the method) for a
    /// session. Ends the user's oldest sessions past `EPOP_MAX_SESSIONS_PER_USER`.
    pub(crate) async fn sign_in(
        &self,
        user: UserId,
        client: &ClientInfo,
        details: serde_json::Value,
    ) -> AuthResult<SignIn> {
        let now = self.clock.now();
        let mut conn = self.pool.get().await?;
        let this = self.clone();
        let challenge_ttl = self.settings.mfa_challenge_ttl;
        // Issued under the user's share lock, by the database's clock (see the type's notes).
        let signed_in = conn
            .transaction::<_, AuthError, _>(async |conn| {
                // A bot signs in with nothing but its tokens, whatever the first factor was.
                let Some(user) = users::lock_for_session(conn, user)
                    .await?
                    .filter(|user| !user.is_bot)
                else {
                    return Err(AuthError::InvalidCredentials);
                };
                if user.deactivated_at.is_some() {
                    return Err(AuthError::Deactivated);
                }
                if mfa_repo::is_enabled(conn, user.id).await? {
                    let mfa_token = token::new_link_token()?;
                    mfa_repo::insert_challenge(
                        conn,
                        user.id,
                        &token::link_token_hash(&mfa_token),
                        now + challenge_ttl,
                        now,
                    )
                    .await?;
                    return Ok(SignIn::MfaRequired(MfaChallenge {
                        mfa_token,
                        methods: vec![SecondFactorMethod::Totp, SecondFactorMethod::RecoveryCode],
                        expires_in: challenge_ttl.num_seconds(),
                    }));
                }
                let user_id = user.id;
                let session = this.open_session(conn, user, now, client).await?;
                audit::append(
                    conn,
                    &AuditEntry::new(Some(user_id), AuditAction::Login, client.ip.as_deref())
                        .on(AuditTarget::User(user_id))
                        .with(details.clone()),
                    now,
                )
                .await?;
                Ok(SignIn::Session(Box::new(session)))
            })
            .await?;
        if let SignIn::Session(session) = &signed_in {
            self.cap_sessions(session.user.id, client).await?;
        }
        Ok(signed_in)
    }

    /// Exchanges a refresh token for a new session in the same family. The presented token is revoked; if it
    /// had already been rotated, the whole family is revoked and the answer is `TokenReused`.
    #[tracing::instrument(skip_all)]
    pub async fn refresh(&self, presented: &str, client: &ClientInfo) -> AuthResult<Session> {
        let now = self.clock.now();
        let hash = token::refresh_token_hash(presented);
        let mut conn = self.pool.get().await?;
        let this = self.clone();
        let rotation = conn
            .transaction::<_, AuthError, _>(async |conn| {
                // The user first, then the token (the order a revocation takes them in): a logout everywhere
                // either finished before (the token is found revoked) or waits for this rotation to commit.
                let Some(owner) = refresh_tokens::owner_by_hash(conn, &hash).await? else {
                    return Ok(Rotation::Invalid);
                };
                let Some(user) = users::lock_for_session(conn, owner).await? else {
                    return Ok(Rotation::Invalid);
                };
                let Some(current) = refresh_tokens::find_by_hash_for_update(conn, &hash).await? else {
                    return Ok(Rotation::Invalid);
                };
                if current.revoked_at.is_some() {
                    if current.replaced_by.is_some() {
                        refresh_tokens::revoke_family(conn, current.family_id, now).await?;
                        auth_sessions::end(conn, current.family_id, now).await?;
                        return Ok(Rotation::Reused);
                    }
                    return Ok(Rotation::Invalid);
                }
                if current.expires_at <= now || user.deactivated_at.is_some() {
                    return Ok(Rotation::Invalid);
                }
                let (refresh_token, expires_at, new_id) = this
                    .insert_refresh_token(conn, &user, current.family_id, now)
                    .await?;
                refresh_tokens::revoke(conn, current.id, now, Some(new_id)).await?;
                auth_sessions::touch(
                    conn,
                    current.family_id,
                    now,
                    expires_at,
                    client.ip.as_deref(),
                    client.user_agent.as_deref(),
                )
                .await?;
                Ok(Rotation::Rotated {
                    user: Box::new(user),
                    family: current.family_id,
                    refresh_token,
                    expires_at,
                    issued_at: users::database_now(conn).await?,
                })
            })
            .await?;
        match rotation {
            Rotation::Rotated {
                user,
                family,
                refresh_token,
                expires_at,
                issued_at,
            } => self.session(user.into_user()?, family, refresh_token, expires_at, issued_at),
            Rotation::Reused => Err(AuthError::TokenReused),
            Rotation::Invalid => Err(AuthError::Unauthorized),
        }
    }

    /// Revokes one refresh token (sign out of this device). Unknown, expired or revoked tokens are
    /// `Unauthorized`; a rotated one is reuse and revokes its family.
    #[tracing::instrument(skip_all)]
    pub async fn logout(&self, presented: &str) -> AuthResult<()> {
        let now = self.clock.now();
        let hash = token::refresh_token_hash(presented);
        let mut conn = self.pool.get().await?;
        conn.transaction::<_, AuthError, _>(async |conn| {
            let Some(current) = refresh_tokens::find_by_hash_for_update(conn, &hash).await? else {
                return Ok(Err(AuthError::Unauthorized));
            };
            if current.revoked_at.is_some() {
                if current.replaced_by.is_some() {
                    refresh_tokens::revoke_family(conn, current.family_id, now).await?;
                    auth_sessions::end(conn, current.family_id, now).await?;
                    return Ok(Err(AuthError::TokenReused));
                }
                return Ok(Err(AuthError::Unauthorized));
            }
            if current.expires_at <= now {
                return Ok(Err(AuthError::Unauthorized));
            }
            refresh_tokens::revoke(conn, current.id, now, None).await?;
            auth_sessions::end(conn, current.family_id, now).await?;
            Ok(Ok(()))
        })
        .await?
    }

    /// Ends every session of the user: their refresh tokens are revoked and their access tokens issued until
    /// now refused, on every node, before this returns; the announcement closes their sockets.
    #[tracing::instrument(skip(self))]
    pub async fn logout_all(&self, user: UserId, client: &ClientInfo) -> AuthResult<()> {
        let now = self.clock.now();
        let mut conn = self.pool.get().await?;
        let cutoff = conn
            .transaction::<_, AuthError, _>(async |conn| {
                if !users::lock_for_revocation(conn, user).await? {
                    return Err(AuthError::UserNotFound);
                }
                audit::append(
                    conn,
                    &AuditEntry::new(Some(user), AuditAction::LogoutAll, client.ip.as_deref())
                        .on(AuditTarget::User(user)),
                    now,
                )
                .await?;
                self.end_sessions_in(conn, user, now).await
            })
            .await?;
        self.cutoffs.raised(user, cutoff).await;
        Ok(())
    }

    /// The caller's own account.
    pub async fn me(&self, user: UserId) -> AuthResult<User> {
        let mut conn = self.pool.get().await?;
        users::find(&mut conn, user)
            .await?
            .ok_or(AuthError::UserNotFound)?
            .into_user()
    }

    /// Another user as the directory shows them.
    pub async fn summary(&self, user: UserId) -> AuthResult<UserSummary> {
        let user = self.me(user).await?;
        Ok(UserSummary {
            id: user.id,
            name: user.name,
            email: user.email,
        })
    }

    /// Changes the caller's own profile. A new e-mail or password needs the right `current_password`
    /// (`Invalid` on field `current_password` when missing, `WrongCurrentPassword` when wrong) and revokes
    /// every refresh token of the user.
    #[tracing::instrument(skip_all, fields(user = %user))]
    pub async fn update_profile(
        &self,
        user: UserId,
        changes: ProfileChanges,
        client: &ClientInfo,
    ) -> AuthResult<User> {
        if let Some(email) = &changes.email {
            crate::access_tokens::refuse_bot_address(email)?;
        }
        let mut conn = self.pool.get().await?;
        let current = users::find(&mut conn, user)
            .await?
            .ok_or(AuthError::UserNotFound)?;
        drop(conn);
        let email_changes = changes
            .email
            .as_deref()
            .is_some_and(|email| email != current.email);
        // Another address, not only another spelling of the same one: it has to be verified again.
        let address_changes = changes
            .email
            .as_deref()
            .is_some_and(|email| email.to_lowercase() != current.email.to_lowercase());
        let sensitive = email_changes || changes.password.is_some();
        if sensitive {
            let Some(current_password) = changes.current_password.as_ref() else {
                return Err(AuthError::Invalid(vec![FieldError::new(
                    "current_password",
                    "is required to change the e-mail or password",
                )]));
            };
            if !self
                .hasher
                .verify(current_password, Some(current.password_hash.clone()))
                .await?
            {
                return Err(AuthError::WrongCurrentPassword);
            }
        }
        let new_hash = match changes.password.as_ref() {
            Some(password) => Some(self.hasher.hash(password).await?),
            None => None,
        };
        let now = self.clock.now();
        let mut conn = self.pool.get().await?;
        let this = self.clone();
        let (row, cutoff) = conn
            .transaction::<_, AuthError, _>(async |conn| {
                if sensitive && !users::lock_for_revocation(conn, user).await? {
                    return Err(AuthError::UserNotFound);
                }
                let row = users::update(
                    conn,
                    user,
                    UserChangeset {
                        name: changes.name.as_deref(),
                        email: if email_changes {
                            changes.email.as_deref()
                        } else {
                            None
                        },
                        password_hash: new_hash.as_deref(),
                        email_verified: address_changes.then_some(false),
                        updated_at: Some(now),
                    },
                )
                .await?;
                if address_changes {
                    // The old address's links prove nothing about the new one.
                    email_tokens::delete_of_user(conn, user, Purpose::VerifyEmail).await?;
                    email_tokens::delete_of_user(conn, user, Purpose::PasswordReset).await?;
                    this.enqueue_verification(conn, &row.email).await?;
                }
                let changed = [
                    (email_changes, AuditAction::EmailChanged),
                    (new_hash.is_some(), AuditAction::PasswordChanged),
                ];
                for (_, action) in changed.into_iter().filter(|(changed, _)| *changed) {
                    audit::append(
                        conn,
                        &AuditEntry::new(Some(user), action, client.ip.as_deref())
                            .on(AuditTarget::User(user)),
                        now,
                    )
                    .await?;
                }
                let cutoff = if sensitive {
                    Some(this.end_sessions_in(conn, user, now).await?)
                } else {
                    None
                };
                Ok((row, cutoff))
            })
            .await?;
        if let Some(cutoff) = cutoff {
            self.cutoffs.raised(user, cutoff).await;
        }
        row.into_user()
    }

    /// Asks for a password reset link for the account with this e-mail, if there is one. Costs the same either
    /// way (one job enqueued; the job looks the account up, see [`crate::account_mail`]), so neither the
    /// answer nor its time tells whether the address has an account. Without account e-mails it does nothing.
    #[tracing::instrument(skip_all)]
    pub async fn request_password_reset(&self, email: &str) -> AuthResult<()> {
        self.enqueue_account_email(&AccountEmailJob::PasswordReset {
            email: email.to_owned(),
        })
        .await
    }

    /// Asks again for a verification link for the account with this e-mail, if there is one and it is not
    /// verified yet; costs the same either way, as [`Self::request_password_reset`].
    #[tracing::instrument(skip_all)]
    pub async fn request_email_verification(&self, email: &str) -> AuthResult<()> {
        self.enqueue_account_email(&AccountEmailJob::VerifyEmail {
            email: email.to_owned(),
        })
        .await
    }

    async fn enqueue_account_email(&self, job: &AccountEmailJob) -> AuthResult<()> {
        if !self.settings.account_emails {
            return Ok(());
        }
        let payload = serde_json::to_value(job).map_err(|e| AuthError::Crypto(e.to_string()))?;
        let mut conn = self.pool.get().await?;
        jobs::enqueue(&mut conn, ACCOUNT_EMAIL_QUEUE, &payload).await?;
        Ok(())
    }

    /// Enqueues a verification e-mail to `email` inside the caller's transaction (sign-up, e-mail change).
    async fn enqueue_verification(&self, conn: &mut AsyncPgConnection, email: &str) -> AuthResult<()> {
        if !self.settings.account_emails {
            return Ok(());
        }
        let job = AccountEmailJob::VerifyEmail {
            email: email.to_owned(),
        };
        let payload = serde_json::to_value(&job).map_err(|e| AuthError::Crypto(e.to_string()))?;
        jobs::enqueue(conn, ACCOUNT_EMAIL_QUEUE, &payload).await?;
        Ok(())
    }

    /// Minutes a password reset link works.
    pub fn password_reset_minutes(&self) -> i64 {
        self.settings.password_reset_ttl.num_minutes()
    }

    /// Hours an e-mail verification link works.
    pub fn email_verification_hours(&self) -> i64 {
        self.settings.email_verification_ttl.num_hours()
    }

    /// Issues a password reset token for the account with `email` (replacing any earlier one), or `None` when
    /// no account has it. Run by the e-mail job, which sends the token.
    pub(crate) async fn issue_password_reset(&self, email: &str) -> AuthResult<Option<IssuedToken>> {
        let mut conn = self.pool.get().await?;
        // Bots have no password to reset and no mailbox.
        let Some(user) = users::find_by_email(&mut conn, email)
            .await?
            .filter(|u| !u.is_bot)
        else {
            return Ok(None);
        };
        let ttl = self.settings.password_reset_ttl;
        Ok(Some(
            self.issue_link_token(&mut conn, user, Purpose::PasswordReset, ttl)
                .await?,
        ))
    }

    /// Issues a verification token for the account with `email` (replacing any earlier one), or `None` when no
    /// account has it or it is verified already. Run by the e-mail job, which sends the token.
    pub(crate) async fn issue_email_verification(&self, email: &str) -> AuthResult<Option<IssuedToken>> {
        let mut conn = self.pool.get().await?;
        let Some(user) = users::find_by_email(&mut conn, email)
            .await?
            .filter(|u| !u.is_bot)
        else {
            return Ok(None);
        };
        if user.email_verified {
            return Ok(None);
        }
        let ttl = self.settings.email_verification_ttl;
        Ok(Some(
            self.issue_link_token(&mut conn, user, Purpose::VerifyEmail, ttl)
                .await?,
        ))
    }

    /// Replaces `user`'s link token for `purpose` with a new one that works for `ttl` at the user's current
    /// address (only its hash is stored), and returns it for the e-mail.
    async fn issue_link_token(
        &self,
        conn: &mut AsyncPgConnection,
        user: users::UserRow,
        purpose: Purpose,
        ttl: Duration,
    ) -> AuthResult<IssuedToken> {
        let token = token::new_link_token()?;
        let expires_at = self.clock.now() + ttl;
        email_tokens::replace(
            conn,
            user.id,
            purpose,
            &token::link_token_hash(&token),
            &user.email,
            expires_at,
        )
        .await?;
        Ok(IssuedToken {
            name: user.name,
            email: user.email,
            token,
        })
    }

    /// Sets a new password with a reset token and ends every session of the user (as [`Self::logout_all`]).
    /// The token works once, within its lifetime, and only while the account still has the address it was sent
    /// to; otherwise `Invalid` on field `token`, and nothing changes. Using it also proves the address, so the
    /// e-mail counts as verified from then on.
    #[tracing::instrument(skip_all)]
    pub async fn reset_password(
        &self,
        presented: &str,
        password: &SecretString,
        client: &ClientInfo,
    ) -> AuthResult<()> {
        let bad_token = || AuthError::Invalid(vec![FieldError::new("token", BAD_TOKEN)]);
        let hash = token::link_token_hash(presented);
        // A place in the hashing queue first (a refusal costs nothing), then a cheap look at the token so that a
        // wrong one costs no hash.
        let permit = self.hasher.admit()?;
        let now = self.clock.now();
        let mut conn = self.pool.get().await?;
        let found = email_tokens::find(&mut conn, Purpose::PasswordReset, &hash).await?;
        drop(conn);
        if !found.is_some_and(|row| row.is_live(now)) {
            return Err(bad_token());
        }
        let new_hash = permit.hash(password).await?;
        let mut conn = self.pool.get().await?;
        let (user, cutoff) = conn
            .transaction::<_, AuthError, _>(async |conn| {
                // Checked again under the token's lock: of two uses at once, the second finds it used.
                let Some(row) = email_tokens::find_for_update(conn, Purpose::PasswordReset, &hash).await?
                else {
                    return Err(bad_token());
                };
                if !row.is_live(now) || !users::lock_for_revocation(conn, row.user_id).await? {
                    return Err(bad_token());
                }
                let Some(current) = users::find(conn, row.user_id).await? else {
                    return Err(bad_token());
                };
                if current.email.to_lowercase() != row.email.to_lowercase() {
                    return Err(bad_token());
                }
                email_tokens::mark_used(conn, row.id, now).await?;
                users::update(
                    conn,
                    row.user_id,
                    UserChangeset {
                        password_hash: Some(&new_hash),
                        email_verified: Some(true),
                        updated_at: Some(now),
                        ..UserChangeset::default()
                    },
                )
                .await?;
                audit::append(
                    conn,
                    &AuditEntry::new(
                        Some(row.user_id),
                        AuditAction::PasswordReset,
                        client.ip.as_deref(),
                    )
                    .on(AuditTarget::User(row.user_id)),
                    now,
                )
                .await?;
                let cutoff = self.end_sessions_in(conn, row.user_id, now).await?;
                Ok((row.user_id, cutoff))
            })
            .await?;
        self.cutoffs.raised(user, cutoff).await;
        Ok(())
    }

    /// Marks the address a verification token was sent to as verified. The token works once, within its
    /// lifetime, and only while the account still has that address; otherwise `Invalid` on field `token`, and
    /// nothing changes.
    #[tracing::instrument(skip_all)]
    pub async fn verify_email(&self, presented: &str) -> AuthResult<()> {
        let bad_token = || AuthError::Invalid(vec![FieldError::new("token", BAD_TOKEN)]);
        let hash = token::link_token_hash(presented);
        let now = self.clock.now();
        let mut conn = self.pool.get().await?;
        conn.transaction::<_, AuthError, _>(async |conn| {
            let Some(row) = email_tokens::find_for_update(conn, Purpose::VerifyEmail, &hash).await? else {
                return Err(bad_token());
            };
            if !row.is_live(now) {
                return Err(bad_token());
            }
            let Some(current) = users::find(conn, row.user_id).await? else {
                return Err(bad_token());
            };
            if current.email.to_lowercase() != row.email.to_lowercase() {
                return Err(bad_token());
            }
            email_tokens::mark_used(conn, row.id, now).await?;
            users::update(
                conn,
                row.user_id,
                UserChangeset {
                    email_verified: Some(true),
                    updated_at: Some(now),
                    ..UserChangeset::default()
                },
            )
            .await?;
            Ok(())
        })
        .await
    }

    /// The key of TOTP secrets; `Crypto` when none was configured (the gateway always configures one).
    fn mfa_key(&self) -> AuthResult<&MfaKey> {
        self.mfa_key
            .as_ref()
            .ok_or_else(|| AuthError::Crypto("no key for TOTP secrets is configured".into()))
    }

    /// The clock as whole Unix seconds, for TOTP steps.
    fn unix_now(&self) -> u64 {
        u64::try_from(self.clock.now().timestamp()).unwrap_or_default()
    }

    /// Starts TOTP enrolment: a new secret, pending until confirmed with a code (a new enrolment replaces a
    /// pending one). Needs the password (`WrongCurrentPassword` otherwise), so that a stolen access token
    /// cannot put a second factor on the account and lock its owner out. `MfaAlreadyEnabled` when TOTP is on
    /// already.
    #[tracing::instrument(skip(self, password))]
    pub async fn start_totp_enrolment(
        &self,
        user: UserId,
        password: &SecretString,
    ) -> AuthResult<TotpEnrolment> {
        let key = self.mfa_key()?.clone();
        let permit = self.hasher.admit()?;
        let mut conn = self.pool.get().await?;
        let current = users::find(&mut conn, user)
            .await?
            .ok_or(AuthError::UserNotFound)?;
        drop(conn);
        if !permit.verify(password, Some(current.password_hash)).await? {
            return Err(AuthError::WrongCurrentPassword);
        }
        let secret = mfa::new_secret()?;
        let mut conn = self.pool.get().await?;
        conn.transaction::<_, AuthError, _>(async |conn| {
            if !users::lock_for_revocation(conn, user).await? {
                return Err(AuthError::UserNotFound);
            }
            if mfa_repo::find_for_update(conn, user)
                .await?
                .is_some_and(|row| row.enabled_at.is_some())
            {
                return Err(AuthError::MfaAlreadyEnabled);
            }
            let row = users::find(conn, user).await?.ok_or(AuthError::UserNotFound)?;
            mfa_repo::put_pending(conn, user, &key.encrypt(user, &secret)?).await?;
            mfa::enrolment(&secret, &row.email)
        })
        .await
    }

    /// Confirms TOTP enrolment with a code from the app: TOTP is on from now, ten single-use recovery codes are
    /// made (returned once; only their hashes are kept), and every session of the user ends but the one this
    /// returns for the caller. A wrong code is `Invalid` on field `code` and changes nothing; no enrolment
    /// started is `MfaNotPending`; already on, `MfaAlreadyEnabled`.
    #[tracing::instrument(skip(self, code))]
    pub async fn confirm_totp(
        &self,
        user: UserId,
        code: &str,
        client: &ClientInfo,
    ) -> AuthResult<(Vec<String>, Session)> {
        let key = self.mfa_key()?.clone();
        let now = self.clock.now();
        let unix = self.unix_now();
        let codes = mfa::new_recovery_codes()?;
        let hashes: Vec<Vec<u8>> = codes.iter().map(|c| mfa::recovery_code_hash(c)).collect();
        let mut conn = self.pool.get().await?;
        let this = self.clone();
        let (session, cutoff) = conn
            .transaction::<_, AuthError, _>(async |conn| {
                if !users::lock_for_revocation(conn, user).await? {
                    return Err(AuthError::UserNotFound);
                }
                let Some(row) = mfa_repo::find_for_update(conn, user).await? else {
                    return Err(AuthError::MfaNotPending);
                };
                if row.enabled_at.is_some() {
                    return Err(AuthError::MfaAlreadyEnabled);
                }
                let secret = key.decrypt(user, &row.secret_encrypted)?;
                let totp = mfa::totp(&secret, "confirm")?;
                let Some(step) = mfa::accept(&totp, code, unix, row.last_step) else {
                    return Err(AuthError::Invalid(vec![FieldError::new(
                        "code",
                        "is not the authenticator app's current code",
                    )]));
                };
                mfa_repo::record_step(conn, user, step).await?;
                mfa_repo::enable(conn, user, now).await?;
                mfa_repo::replace_recovery_codes(conn, user, &hashes).await?;
                audit::append(
                    conn,
                    &AuditEntry::new(Some(user), AuditAction::MfaEnabled, client.ip.as_deref())
                        .on(AuditTarget::User(user)),
                    now,
                )
                .await?;
                let cutoff = this.end_sessions_in(conn, user, now).await?;
                let row = users::lock_for_session(conn, user)
                    .await?
                    .ok_or(AuthError::UserNotFound)?;
                Ok((this.open_session(conn, row, now, client).await?, cutoff))
            })
            .await?;
        self.cutoffs.raised(user, cutoff).await;
        Ok((codes, session))
    }

    /// Turns the second factor off; needs the password and a current code (or a recovery code). Every session
    /// ends but the one this returns for the caller. A wrong password is `WrongCurrentPassword`, a wrong code
    /// `WrongSecondFactor`, no second factor `MfaNotEnabled`; in each case nothing changes.
    #[tracing::instrument(skip(self, password, factor))]
    pub async fn disable_mfa(
        &self,
        user: UserId,
        password: &SecretString,
        factor: SecondFactor,
        client: &ClientInfo,
    ) -> AuthResult<Session> {
        let key = self.mfa_key()?.clone();
        let permit = self.hasher.admit()?;
        let mut conn = self.pool.get().await?;
        let current = users::find(&mut conn, user)
            .await?
            .ok_or(AuthError::UserNotFound)?;
        drop(conn);
        if !permit.verify(password, Some(current.password_hash)).await? {
            return Err(AuthError::WrongCurrentPassword);
        }
        let now = self.clock.now();
        let unix = self.unix_now();
        let mut conn = self.pool.get().await?;
        let this = self.clone();
        let (session, cutoff) = conn
            .transaction::<_, AuthError, _>(async |conn| {
                if !users::lock_for_revocation(conn, user).await? {
                    return Err(AuthError::UserNotFound);
                }
                let Some(row) = mfa_repo::find_for_update(conn, user)
                    .await?
                    .filter(|row| row.enabled_at.is_some())
                else {
                    return Err(AuthError::MfaNotEnabled);
                };
                if !this
                    .second_factor_holds(conn, &key, user, &row, &factor, unix, now)
                    .await?
                {
                    return Err(AuthError::WrongSecondFactor);
                }
                mfa_repo::remove_all(conn, user).await?;
                audit::append(
                    conn,
                    &AuditEntry::new(Some(user), AuditAction::MfaDisabled, client.ip.as_deref())
                        .on(AuditTarget::User(user)),
                    now,
                )
                .await?;
                let cutoff = this.end_sessions_in(conn, user, now).await?;
                let row = users::lock_for_session(conn, user)
                    .await?
                    .ok_or(AuthError::UserNotFound)?;
                Ok((this.open_session(conn, row, now, client).await?, cutoff))
            })
            .await?;
        self.cutoffs.raised(user, cutoff).await;
        Ok(session)
    }

    /// Whether `factor` is right for the user's enabled TOTP `row`, recording its use (the code's step, or the
    /// recovery code spent).
    #[expect(clippy::too_many_arguments, reason = "one private step of three transactions")]
    async fn second_factor_holds(
        &self,
        conn: &mut AsyncPgConnection,
        key: &MfaKey,
        user: UserId,
        row: &mfa_repo::TotpRow,
        factor: &SecondFactor,
        unix: u64,
        now: chrono::DateTime<chrono::Utc>,
    ) -> AuthResult<bool> {
        match factor {
            SecondFactor::Totp(code) => {
                let secret = key.decrypt(user, &row.secret_encrypted)?;
                let totp = mfa::totp(&secret, "check")?;
                match mfa::accept(&totp, code, unix, row.last_step) {
                    Some(step) => {
                        mfa_repo::record_step(conn, user, step).await?;
                        Ok(true)
                    }
                    None => Ok(false),
                }
            }
            SecondFactor::RecoveryCode(code) => {
                mfa_repo::use_recovery_code(conn, user, &mfa::recovery_code_hash(code), now).await
            }
        }
    }

    /// Completes a sign-in that needs a second factor, with its `mfa_token` and a code or a recovery code. The
    /// token works once, for a few minutes and for a few wrong codes: otherwise `Unauthorized`. A wrong code
    /// is `InvalidCredentials` (and counts as a try). A code is accepted once. Using a recovery code ends
    /// every other session of the user (the one returned is new).
    #[tracing::instrument(skip_all)]
    pub async fn complete_mfa(
        &self,
        mfa_token: &str,
        factor: SecondFactor,
        client: &ClientInfo,
    ) -> AuthResult<Session> {
        let key = self.mfa_key()?.clone();
        let hash = token::link_token_hash(mfa_token);
        let now = self.clock.now();
        let unix = self.unix_now();
        let recovery = matches!(factor, SecondFactor::RecoveryCode(_));
        let max_attempts = self.settings.mfa_max_attempts;
        let mut conn = self.pool.get().await?;
        let this = self.clone();
        let outcome = conn
            .transaction::<_, AuthError, _>(async |conn| {
                // The user first, then the challenge (the order every revocation takes them in).
                let Some(owner) = mfa_repo::challenge_owner(conn, &hash).await? else {
                    return Ok(Err(AuthError::Unauthorized));
                };
                let locked = if recovery {
                    users::lock_for_revocation(conn, owner).await?
                } else {
                    users::lock_for_session(conn, owner).await?.is_some()
                };
                let Some(challenge) = mfa_repo::find_challenge_for_update(conn, &hash).await? else {
                    return Ok(Err(AuthError::Unauthorized));
                };
                if !locked
                    || challenge.used_at.is_some()
                    || challenge.expires_at <= now
                    || challenge.attempts >= max_attempts
                {
                    return Ok(Err(AuthError::Unauthorized));
                }
                // The second factor was turned off or reset since the password was checked.
                let Some(row) = mfa_repo::find_for_update(conn, owner)
                    .await?
                    .filter(|row| row.enabled_at.is_some())
                else {
                    return Ok(Err(AuthError::Unauthorized));
                };
                if !this
                    .second_factor_holds(conn, &key, owner, &row, &factor, unix, now)
                    .await?
                {
                    mfa_repo::count_failed_attempt(conn, challenge.id).await?;
                    audit::append(
                        conn,
                        &AuditEntry::new(None, AuditAction::LoginFailed, client.ip.as_deref())
                            .on(AuditTarget::User(owner))
                            .with(serde_json::json!({"reason": "wrong_second_factor"})),
                        now,
                    )
                    .await?;
                    return Ok(Err(AuthError::InvalidCredentials));
                }
                mfa_repo::finish_challenge(conn, challenge.id, now).await?;
                if recovery {
                    audit::append(
                        conn,
                        &AuditEntry::new(
                            Some(owner),
                            AuditAction::MfaRecoveryCodeUsed,
                            client.ip.as_deref(),
                        )
                        .on(AuditTarget::User(owner)),
                        now,
                    )
                    .await?;
                }
                let method = if recovery { "recovery_code" } else { "totp" };
                audit::append(
                    conn,
                    &AuditEntry::new(Some(owner), AuditAction::Login, client.ip.as_deref())
                        .on(AuditTarget::User(owner))
                        .with(serde_json::json!({ "method": method })),
                    now,
                )
                .await?;
                let cutoff = if recovery {
                    Some(this.end_sessions_in(conn, owner, now).await?)
                } else {
                    None
                };
                let user = users::lock_for_session(conn, owner)
                    .await?
                    .filter(|user| user.deactivated_at.is_none())
                    .ok_or(AuthError::Unauthorized)?;
                Ok(Ok((
                    owner,
                    this.open_session(conn, user, now, client).await?,
                    cutoff,
                )))
            })
            .await?;
        let (owner, session, cutoff) = outcome?;
        if let Some(cutoff) = cutoff {
            self.cutoffs.raised(owner, cutoff).await;
        }
        self.cap_sessions(owner, client).await?;
        Ok(session)
    }

    /// Removes the second factor of the account with `email` (an operator's reset for someone who lost their
    /// device): the secret, the recovery codes and pending sign-ins, and every session of the user ends (a
    /// device that is not in their hands may be signed in). Returns whether it had one; `UserNotFound` for no
    /// such account (then nothing changes).
    #[tracing::instrument(skip(self))]
    pub async fn reset_mfa(&self, email: &str) -> AuthResult<bool> {
        let now = self.clock.now();
        let mut conn = self.pool.get().await?;
        let user = users::find_by_email(&mut conn, email)
            .await?
            .ok_or(AuthError::UserNotFound)?;
        let (had, cutoff) = conn
            .transaction::<_, AuthError, _>(async |conn| {
                if !users::lock_for_revocation(conn, user.id).await? {
                    return Err(AuthError::UserNotFound);
                }
                let had = mfa_repo::remove_all(conn, user.id).await?;
                audit::append(
                    conn,
                    &AuditEntry::new(None, AuditAction::MfaReset, None)
                        .on(AuditTarget::User(user.id))
                        .with(serde_json::json!({"had_second_factor": had})),
                    now,
                )
                .await?;
                Ok((had, self.end_sessions_in(conn, user.id, now).await?))
            })
            .await?;
        self.cutoffs.raised(user.id, cutoff).await;
        Ok(had)
    }

    /// Records a refused sign-in (`reason`: `invalid_credentials` or `deactivated`) for the account `user` if
    /// one has the e-mail. Costs one insert either way, so it tells nothing by its time.
    async fn audit_failed_login(
        &self,
        user: Option<UserId>,
        email: &str,
        reason: &str,
        client: &ClientInfo,
    ) -> AuthResult<()> {
        let mut conn = self.pool.get().await?;
        // Whoever tried is unknown: the account is the target, not the actor.
        let mut entry = AuditEntry::new(None, AuditAction::LoginFailed, client.ip.as_deref()).with(
            serde_json::json!({"email": email.chars().take(254).collect::<String>(), "reason": reason}),
        );
        if let Some(user) = user {
            entry = entry.on(AuditTarget::User(user));
        }
        audit::append(&mut conn, &entry, self.clock.now()).await?;
        Ok(())
    }

    /// Ends every session of `user` inside the caller's transaction, which holds the user's row for
    /// revocation: refuses access tokens issued until now, revokes refresh tokens, announces it (sockets close).
    /// The caller raises the returned cutoff after commit.
    pub(crate) async fn end_sessions_in(
        &self,
        conn: &mut AsyncPgConnection,
        user: UserId,
        now: chrono::DateTime<chrono::Utc>,
    ) -> AuthResult<chrono::DateTime<chrono::Utc>> {
        let cutoff = users::revoke_sessions(conn, user).await?;
        refresh_tokens::revoke_all_of_user(conn, user, now).await?;
        auth_sessions::end_all_of_user(conn, user, now).await?;
        outbox::append(conn, &DomainEvent::SessionsRevoked { user_id: user }).await?;
        Ok(cutoff)
    }

    /// The people directory: everyone (or those whose name or e-mail starts with `query`), by lower-cased name
    /// then id.
    pub async fn directory(&self, query: Option<&str>, page: &PageRequest) -> AuthResult<Page<UserSummary>> {
        let after = page
            .cursor
            .as_ref()
            .map(Cursor::decode::<DirectoryCursor>)
            .transpose()
            .map_err(|_| AuthError::BadCursor)?;
        let as_of = after
            .as_ref()
            .map_or_else(|| self.clock.now(), |cursor| cursor.as_of);
        let mut conn = self.pool.get().await?;
        let rows = users::directory_page(
            &mut conn,
            query.filter(|q| !q.is_empty()),
            after.as_ref(),
            as_of,
            i64::from(page.limit),
        )
        .await?;
        Ok(
            Page::from_overfetch(rows, page.limit, |(key, summary)| DirectoryCursor {
                name: key.clone(),
                id: summary.id,
                as_of,
            })
            .map(|(_, summary)| summary),
        )
    }

    async fn insert_refresh_token(
        &self,
        conn: &mut AsyncPgConnection,
        user: &users::UserRow,
        family: TokenFamilyId,
        now: chrono::DateTime<chrono::Utc>,
    ) -> AuthResult<(String, chrono::DateTime<chrono::Utc>, Uuid)> {
        let refresh_token = token::new_refresh_token()?;
        let expires_at = now + self.settings.refresh_ttl;
        let id = Uuid::now_v7();
        refresh_tokens::insert(
            conn,
            &NewRefreshTokenRow {
                id,
                user_id: user.id,
                family_id: family,
                token_hash: token::refresh_token_hash(&refresh_token),
                expires_at,
            },
        )
        .await?;
        Ok((refresh_token, expires_at, id))
    }

    async fn store_refresh_token(
        &self,
        conn: &mut AsyncPgConnection,
        user: &users::UserRow,
        family: TokenFamilyId,
        now: chrono::DateTime<chrono::Utc>,
    ) -> AuthResult<(String, chrono::DateTime<chrono::Utc>)> {
        let (token, expires_at, _) = self.insert_refresh_token(conn, user, family, now).await?;
        Ok((token, expires_at))
    }

    /// A session in a new token family for `user`, inside the caller's transaction that holds the user's row,
    /// its access token issued by the database's clock read under that lock.
    async fn open_session(
        &self,
        conn: &mut AsyncPgConnection,
        user: users::UserRow,
        now: chrono::DateTime<chrono::Utc>,
        client: &ClientInfo,
    ) -> AuthResult<Session> {
        let family = TokenFamilyId::new();
        let (refresh_token, expires_at) = self.store_refresh_token(conn, &user, family, now).await?;
        auth_sessions::insert(
            conn,
            &NewSessionRow {
                id: family,
                user_id: user.id,
                created_at: now,
                last_used_at: now,
                expires_at,
                ip: client.ip.as_deref(),
                user_agent: client.user_agent.as_deref(),
            },
        )
        .await?;
        let issued_at = users::database_now(conn).await?;
        self.session(user.into_user()?, family, refresh_token, expires_at, issued_at)
    }

    /// The session answered for `user`, its access token issued at `issued_at` (the database's clock, read
    /// under the user's share lock).
    fn session(
        &self,
        user: User,
        family: TokenFamilyId,
        refresh_token: String,
        refresh_expires_at: chrono::DateTime<chrono::Utc>,
        issued_at: chrono::DateTime<chrono::Utc>,
    ) -> AuthResult<Session> {
        let ttl = self.settings.access_ttl.num_seconds();
        let access_token = self
            .signer
            .issue(user.id, user.role, Some(family), issued_at, ttl)?;
        Ok(Session {
            user,
            access_token,
            expires_in: ttl,
            refresh_token,
            refresh_expires_at,
        })
    }
}
