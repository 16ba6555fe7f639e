//! The rules of accounts and sessions.

use crate::error::{AuthError, AuthResult};
use crate::model::{NewAccount, ProfileChanges, Role, Session, User, UserSummary};
use crate::password::{HasherStats, PasswordHasher};
use crate::repo::refresh_tokens::{self, NewRefreshTokenRow};
use crate::repo::users::{self, DirectoryCursor, NewUserRow, UserChangeset};
use crate::sessions::{SessionCutoffs, is_revoked};
use crate::token::{self, AccessClaims, TokenSigner};
use chrono::Duration;
use diesel_async::{AsyncConnection as _, AsyncPgConnection};
use epop_core::{Clock, Cursor, DomainEvent, FieldError, Page, PageRequest, TokenFamilyId, UserId};
use epop_storage::{DbPool, outbox};
use secrecy::SecretString;
use std::sync::Arc;
use uuid::Uuid;

/// Lifetimes of the tokens the service issues.
#[derive(Debug, Clone, Copy)]
pub struct AuthSettings {
    /// Access token lifetime (default 15 minutes).
    pub access_ttl: Duration,
    /// Refresh token lifetime (default 30 days).
    pub refresh_ttl: Duration,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            access_ttl: Duration::minutes(15),
            refresh_ttl: Duration::days(30),
        }
    }
}

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
    pool: DbPool,
    hasher: PasswordHasher,
    signer: TokenSigner,
    clock: Arc<dyn Clock>,
    settings: AuthSettings,
    cutoffs: SessionCutoffs,
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
        user: users::UserRow,
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
        }
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

    /// The password hashing threads' load and refusals, for metrics.
    pub fn hasher_stats(&self) -> HasherStats {
        self.hasher.stats()
    }

    /// Verifies an access token's signature and expiry only, and returns its claims. Requests and socket
    /// handshakes use [`Self::authenticate`], which also refuses tokens of ended sessions.
    pub fn verify_access_token(&self, token: &str) -> AuthResult<AccessClaims> {
        self.signer.verify(token)
    }

    /// Verifies an access token and checks that its session was not ended since it was issued (a logout
    /// everywhere, a new password or e-mail): one Redis `GET` (see [`crate::sessions`]). `Unauthorized` for a
    /// bad, expired or revoked token; `Storage` when neither Redis nor PostgreSQL can say.
    pub async fn authenticate(&self, token: &str) -> AuthResult<AccessClaims> {
        let claims = self.signer.verify(token)?;
        let cutoff = self.cutoffs.cutoff(claims.sub).await?;
        if is_revoked(claims.issued_at_micros(), cutoff) {
            return Err(AuthError::Unauthorized);
        }
        Ok(claims)
    }

    /// Creates an account and signs it in. A taken e-mail (compared case-insensitively) is `EmailTaken`.
    #[tracing::instrument(skip_all)]
    pub async fn register(&self, account: NewAccount) -> AuthResult<Session> {
        // A place in the hashing queue first: when hashing is saturated the refusal costs no database work.
        let permit = self.hasher.admit()?;
        let mut conn = self.pool.get().await?;
        // Cheap early answer that saves a hash; the unique index still decides under races.
        if users::find_by_email(&mut conn, &account.email).await?.is_some() {
            return Err(AuthError::EmailTaken);
        }
        let hash = permit.hash(&account.password).await?;
        let now = self.clock.now();
        let this = self.clone();
        conn.transaction::<_, AuthError, _>(async |conn| {
            let user = users::insert(
                conn,
                NewUserRow {
                    id: UserId::new(),
                    name: &account.name,
                    email: &account.email,
                    password_hash: &hash,
                    role: account.role.as_str(),
                },
            )
            .await?;
            this.open_session(conn, user, now).await
        })
        .await
    }

    /// Creates an account without signing it in (administration).
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
            },
        )
        .await?;
        row.into_user()
    }

    /// Creates a global admin with this e-mail unless any account already has it (never changes an existing
    /// account). Returns whether one was created. Safe when several gateways start at once.
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
            },
        )
        .await
    }

    /// Signs in with e-mail and password. Unknown e-mail and wrong password both cost one Argon2id verification
    /// and both answer `InvalidCredentials`.
    #[tracing::instrument(skip_all)]
    pub async fn login(&self, email: &str, password: &SecretString) -> AuthResult<Session> {
        // A place in the hashing queue first: when hashing is saturated the refusal costs no database work.
        let permit = self.hasher.admit()?;
        let mut conn = self.pool.get().await?;
        let found = users::find_by_email(&mut conn, email).await?;
        // Return the connection to the pool while hashing.
        drop(conn);
        let stored = found.as_ref().map(|row| row.password_hash.clone());
        if !permit.verify(password, stored).await? {
            return Err(AuthError::InvalidCredentials);
        }
        let Some(user) = found else {
            return Err(AuthError::InvalidCredentials);
        };
        let now = self.clock.now();
        let mut conn = self.pool.get().await?;
        let this = self.clone();
        // Issued under the user's share lock, by the database's clock (see the type's notes).
        conn.transaction::<_, AuthError, _>(async |conn| {
            let Some(user) = users::lock_for_session(conn, user.id).await? else {
                return Err(AuthError::InvalidCredentials);
            };
            this.open_session(conn, user, now).await
        })
        .await
    }

    /// Exchanges a refresh token for a new session in the same family. The presented token is revoked; if it
    /// had already been rotated, the whole family is revoked and the answer is `TokenReused`.
    #[tracing::instrument(skip_all)]
    pub async fn refresh(&self, presented: &str) -> AuthResult<Session> {
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
                        return Ok(Rotation::Reused);
                    }
                    return Ok(Rotation::Invalid);
                }
                if current.expires_at <= now {
                    return Ok(Rotation::Invalid);
                }
                let (refresh_token, expires_at, new_id) = this
                    .insert_refresh_token(conn, &user, current.family_id, now)
                    .await?;
                refresh_tokens::revoke(conn, current.id, now, Some(new_id)).await?;
                Ok(Rotation::Rotated {
                    user,
                    refresh_token,
                    expires_at,
                    issued_at: users::database_now(conn).await?,
                })
            })
            .await?;
        match rotation {
            Rotation::Rotated {
                user,
                refresh_token,
                expires_at,
                issued_at,
            } => self.session(user.into_user()?, refresh_token, expires_at, issued_at),
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
                    return Ok(Err(AuthError::TokenReused));
                }
                return Ok(Err(AuthError::Unauthorized));
            }
            if current.expires_at <= now {
                return Ok(Err(AuthError::Unauthorized));
            }
            refresh_tokens::revoke(conn, current.id, now, None).await?;
            Ok(Ok(()))
        })
        .await?
    }

    /// Ends every session of the user: their refresh tokens are revoked and their access tokens issued until
    /// now refused, on every node, before this returns; the announcement closes their sockets.
    #[tracing::instrument(skip(self))]
    pub async fn logout_all(&self, user: UserId) -> AuthResult<()> {
        let now = self.clock.now();
        let mut conn = self.pool.get().await?;
        let cutoff = conn
            .transaction::<_, AuthError, _>(async |conn| {
                if !users::lock_for_revocation(conn, user).await? {
                    return Err(AuthError::UserNotFound);
                }
                let cutoff = users::revoke_sessions(conn, user).await?;
                refresh_tokens::revoke_all_of_user(conn, user, now).await?;
                outbox::append(conn, &DomainEvent::SessionsRevoked { user_id: user }).await?;
                Ok(cutoff)
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
    pub async fn update_profile(&self, user: UserId, changes: ProfileChanges) -> AuthResult<User> {
        let mut conn = self.pool.get().await?;
        let current = users::find(&mut conn, user)
            .await?
            .ok_or(AuthError::UserNotFound)?;
        drop(conn);
        let email_changes = changes
            .email
            .as_deref()
            .is_some_and(|email| email != current.email);
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
                        updated_at: Some(now),
                    },
                )
                .await?;
                let cutoff = if sensitive {
                    let cutoff = users::revoke_sessions(conn, user).await?;
                    refresh_tokens::revoke_all_of_user(conn, user, now).await?;
                    outbox::append(conn, &DomainEvent::SessionsRevoked { user_id: user }).await?;
                    Some(cutoff)
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
    ) -> AuthResult<Session> {
        let (refresh_token, expires_at) = self
            .store_refresh_token(conn, &user, TokenFamilyId::new(), now)
            .await?;
        let issued_at = users::database_now(conn).await?;
        self.session(user.into_user()?, refresh_token, expires_at, issued_at)
    }

    /// The session answered for `user`, its access token issued at `issued_at` (the database's clock, read
    /// under the user's share lock).
    fn session(
        &self,
        user: User,
        refresh_token: String,
        refresh_expires_at: chrono::DateTime<chrono::Utc>,
        issued_at: chrono::DateTime<chrono::Utc>,
    ) -> AuthResult<Session> {
        let ttl = self.settings.access_ttl.num_seconds();
        let access_token = self.signer.issue(user.id, user.role, issued_at, ttl)?;
        Ok(Session {
            user,
            access_token,
            expires_in: ttl,
            refresh_token,
            refresh_expires_at,
        })
    }
}
