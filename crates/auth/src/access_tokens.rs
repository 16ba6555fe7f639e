//! Personal access tokens and bot users.
//!
//! Design notes:
//! - **Tokens.** `epop_pat_` followed by 256 random bits (base64url, 43 characters): the prefix makes a leaked
//!   token recognisable to secret scanners, the randomness makes a fast hash (SHA-256) enough at rest. The
//!   secret is shown once, when created; lists show its first characters only.
//! - **Checking one.** Each request with a token reads its row joined with its owner (one query by a unique
//!   index): no cache, so a revocation (the row is deleted) refuses the token at once on every node. The token
//!   is refused when expired, when its owner is deactivated, and when its owner ended every session after it
//!   was created (logout everywhere, a new password or e-mail, a password reset, a role change): those end a
//!   user's tokens as they end their sessions. `last_used_at` is written at most once a minute per token.
//! - **Sockets.** A token's claims carry its id as their session (`sid`), so revoking it publishes the same
//!   [`DomainEvent::SessionEnded`] that ending one session does, and the sockets it opened close on every node.
//! - **Bots** are users with `is_bot` and no password: they cannot sign in (a sign-in is refused as a wrong
//!   password would be) and act only through tokens an admin issues for them, or as an incoming webhook's
//!   author. Their e-mail address is `{username}@bots.invalid` (the reserved `.invalid` domain, never mailed:
//!   it is not verified, and account e-mails skip bots), which keeps usernames unique with the e-mails.

use crate::error::{AuthError, AuthResult};
use crate::model::{ClientInfo, Role, User};
use crate::repo::access_tokens::{self, AccessTokenRow, NewAccessTokenRow};
use crate::repo::users::{self, NewUserRow, UNUSABLE_PASSWORD};
use crate::scope::Scope;
use crate::service::AuthService;
use crate::token::{AccessClaims, TokenGrant, new_refresh_token, refresh_token_hash};
use chrono::{DateTime, Duration, Utc};
use diesel_async::AsyncConnection as _;
use epop_core::{AccessTokenId, Cursor, DomainEvent, FieldError, Page, PageRequest, TokenFamilyId, UserId};
use epop_storage::audit::{self, AuditAction, AuditEntry, AuditTarget};
use epop_storage::outbox;

/// What every personal access token starts with.
pub const TOKEN_PREFIX: &str = "epop_pat_";
/// Characters of a token shown in lists (the prefix and four more).
const SHOWN_CHARS: usize = TOKEN_PREFIX.len() + 4;
/// Least time between two writes of a token's `last_used_at`.
const TOUCH_EVERY: Duration = Duration::minutes(1);
/// How long a socket opened with a token that never expires stays before it must reconnect (and be checked
/// again).
const SOCKET_RECHECK: Duration = Duration::hours(24);
/// The domain of bots' e-mail addresses (RFC 6761: `.invalid` never resolves).
pub const BOT_EMAIL_DOMAIN: &str = "bots.invalid";

/// A personal access token as its owner (or an admin, for a bot) sees it: never the secret.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessToken {
    /// Its id (`DELETE /api/users/me/tokens/{id}`).
    pub id: AccessTokenId,
    /// Whose it is.
    pub user_id: UserId,
    /// The owner's name for it.
    pub name: String,
    /// Its first characters, to recognise it.
    pub token_prefix: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// Who created it (the owner, or the admin who issued it for a bot).
    pub created_by: Option<UserId>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it stops working (`None`: never).
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was last used (to the minute).
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A token just created, with its secret (shown this once).
#[derive(Debug, Clone)]
pub struct IssuedAccessToken {
    /// The token.
    pub token: AccessToken,
    /// The bearer token itself.
    pub secret: String,
}

/// What a new token is.
#[derive(Debug, Clone)]
pub struct NewAccessToken {
    /// 1..=100 characters.
    pub name: String,
    /// At least one; repeats are dropped.
    pub scopes: Vec<Scope>,
    /// In the future, or `None` for a token that never expires.
    pub expires_at: Option<DateTime<Utc>>,
}

impl AccessTokenRow {
    fn into_token(self) -> AccessToken {
        AccessToken {
            id: self.id,
            user_id: self.user_id,
            name: self.name,
            token_prefix: self.token_prefix,
            // Stored scopes come from `Scope::as_str`; a name this build no longer knows grants nothing.
            scopes: self.scopes.iter().filter_map(|s| s.parse().ok()).collect(),
            created_by: self.created_by,
            created_at: self.created_at,
            expires_at: self.expires_at,
            last_used_at: self.last_used_at,
        }
    }
}

/// Whether `token` has the form of a personal access token (rather than a JWT).
pub fn is_access_token(token: &str) -> bool {
    token.starts_with(TOKEN_PREFIX)
}

impl AuthService {
    /// Creates a token for the caller `owner`.
    pub async fn create_access_token(
        &self,
        owner: UserId,
        new: NewAccessToken,
        client: &ClientInfo,
    ) -> AuthResult<IssuedAccessToken> {
        self.issue_access_token(owner, owner, new, client).await
    }

    /// Creates a token for the bot `bot`, issued by the admin `admin`; `AccessTokenNotFound` when `bot` is no
    /// bot.
    pub async fn create_bot_token(
        &self,
        admin: UserId,
        bot: UserId,
        new: NewAccessToken,
        client: &ClientInfo,
    ) -> AuthResult<IssuedAccessToken> {
        self.require_bot(bot).await?;
        self.issue_access_token(admin, bot, new, client).await
    }

    /// The tokens of `owner`, newest first.
    pub async fn access_tokens(&self, owner: UserId, page: &PageRequest) -> AuthResult<Page<AccessToken>> {
        let before = page
            .cursor
            .as_ref()
            .map(Cursor::decode::<AccessTokenId>)
            .transpose()
            .map_err(|_| AuthError::BadCursor)?;
        let mut conn = self.pool.get().await?;
        let rows = access_tokens::page(&mut conn, owner, before, i64::from(page.limit)).await?;
        Ok(Page::from_overfetch(rows, page.limit, |row| row.id).map(AccessTokenRow::into_token))
    }

    /// The tokens of the bot `bot` (admins); `UserNotFound` when it is no bot.
    pub async fn bot_tokens(&self, bot: UserId, page: &PageRequest) -> AuthResult<Page<AccessToken>> {
        self.require_bot(bot).await?;
        self.access_tokens(bot, page).await
    }

    /// Revokes `owner`'s token `id` at once (REST on every node; its sockets close). `AccessTokenNotFound`
    /// when `owner` has no such token.
    pub async fn revoke_access_token(
        &self,
        actor: UserId,
        owner: UserId,
        id: AccessTokenId,
        client: &ClientInfo,
    ) -> AuthResult<()> {
        let now = self.clock.now();
        let mut conn = self.pool.get().await?;
        conn.transaction::<_, AuthError, _>(async |conn| {
            let row = access_tokens::delete(conn, owner, id)
                .await?
                .ok_or(AuthError::AccessTokenNotFound)?;
            audit::append(
                conn,
                &AuditEntry::new(Some(actor), AuditAction::AccessTokenRevoked, client.ip.as_deref())
                    .on(AuditTarget::AccessToken(id))
                    .with(serde_json::json!({"user_id": owner, "name": row.name})),
                now,
            )
            .await?;
            outbox::append(
                conn,
                &DomainEvent::SessionEnded {
                    user_id: owner,
                    session_id: token_session(id),
                },
            )
            .await?;
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// Revokes a bot's token (admins); `AccessTokenNotFound` when `bot` is no bot or has no such token.
    pub async fn revoke_bot_token(
        &self,
        admin: UserId,
        bot: UserId,
        id: AccessTokenId,
        client: &ClientInfo,
    ) -> AuthResult<()> {
        self.require_bot(bot).await?;
        self.revoke_access_token(admin, bot, id, client).await
    }

    async fn require_bot(&self, bot: UserId) -> AuthResult<()> {
        let mut conn = self.pool.get().await?;
        match users::find(&mut conn, bot).await? {
            Some(row) if row.is_bot => Ok(()),
            _ => Err(AuthError::UserNotFound),
        }
    }

    async fn issue_access_token(
        &self,
        actor: UserId,
        owner: UserId,
        new: NewAccessToken,
        client: &ClientInfo,
    ) -> AuthResult<IssuedAccessToken> {
        let now = self.clock.now();
        let mut errors = Vec::new();
        let name = new.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            errors.push(FieldError::new("name", "must be 1 to 100 characters"));
        }
        let mut scopes = new.scopes;
        scopes.sort_unstable();
        scopes.dedup();
        if scopes.is_empty() {
            errors.push(FieldError::new("scopes", "must name at least one scope"));
        }
        if new.expires_at.is_some_and(|at| at <= now) {
            errors.push(FieldError::new("expires_at", "must be in the future"));
        }
        if !errors.is_empty() {
            return Err(AuthError::Invalid(errors));
        }
        let secret = format!("{TOKEN_PREFIX}{}", new_refresh_token()?);
        let hash = refresh_token_hash(&secret);
        let shown: String = secret.chars().take(SHOWN_CHARS).collect();
        let limit = self.settings.max_access_tokens;
        let names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
        let mut conn = self.pool.get().await?;
        let row = conn
            .transaction::<_, AuthError, _>(async |conn| {
                // Under the owner's row lock, so two creations cannot both take the last place.
                if !users::lock_for_revocation(conn, owner).await? {
                    return Err(AuthError::UserNotFound);
                }
                access_tokens::delete_expired(conn, owner, now).await?;
                let held = u64::try_from(access_tokens::count(conn, owner).await?).unwrap_or(u64::MAX);
                if limit > 0 && held >= limit {
                    return Err(AuthError::TooManyAccessTokens { limit });
                }
                let row = access_tokens::insert(
                    conn,
                    NewAccessTokenRow {
                        id: AccessTokenId::new(),
                        user_id: owner,
                        name,
                        token_hash: &hash,
                        token_prefix: &shown,
                        scopes: names.clone(),
                        created_by: Some(actor),
                        created_at: now,
                        expires_at: new.expires_at,
                    },
                )
                .await?;
                audit::append(
                    conn,
                    &AuditEntry::new(Some(actor), AuditAction::AccessTokenCreated, client.ip.as_deref())
                        .on(AuditTarget::AccessToken(row.id))
                        .with(serde_json::json!({
                            "user_id": owner,
                            "name": row.name,
                            "scopes": names,
                            "expires_at": row.expires_at,
                        })),
                    now,
                )
                .await?;
                Ok(row)
            })
            .await?;
        Ok(IssuedAccessToken {
            token: row.into_token(),
            secret,
        })
    }

    /// Checks a personal access token (see the module notes) and returns claims standing for it: its owner,
    /// their role, its id as the session, and its scopes in `grant`. `Unauthorized` for an unknown, expired or
    /// ended token.
    pub(crate) async fn authenticate_access_token(&self, token: &str) -> AuthResult<AccessClaims> {
        let hash = refresh_token_hash(token);
        let now = self.clock.now();
        let mut conn = self.pool.get().await?;
        let Some(found) = access_tokens::find_for_check(&mut conn, &hash).await? else {
            return Err(AuthError::Unauthorized);
        };
        let row = &found.token;
        let expired = row.expires_at.is_some_and(|at| at <= now);
        let ended = found
            .sessions_valid_after
            .is_some_and(|cutoff| row.created_at <= cutoff);
        if expired || ended || found.deactivated_at.is_some() {
            return Err(AuthError::Unauthorized);
        }
        let role = found
            .role
            .parse::<Role>()
            .map_err(|e| AuthError::Crypto(e.to_string()))?;
        if row.last_used_at.is_none_or(|at| at < now - TOUCH_EVERY) {
            access_tokens::touch(&mut conn, row.id, now, TOUCH_EVERY).await?;
        }
        let recheck = now + SOCKET_RECHECK;
        let exp = row.expires_at.map_or(recheck, |at| at.min(recheck));
        let token = found.token.into_token();
        Ok(AccessClaims {
            sub: token.user_id,
            role,
            iat: token.created_at.timestamp(),
            exp: exp.timestamp(),
            jti: token.id.into_uuid(),
            iat_us: Some(token.created_at.timestamp_micros()),
            sid: Some(token_session(token.id)),
            grant: Some(TokenGrant {
                id: token.id,
                scopes: token.scopes,
            }),
        })
    }

    /// Creates a bot user (admins): no password, `is_bot`, e-mail `{username}@bots.invalid`. `UsernameTaken`
    /// when another account has the username.
    pub async fn create_bot(
        &self,
        admin: UserId,
        username: &str,
        display_name: &str,
        client: &ClientInfo,
    ) -> AuthResult<User> {
        let now = self.clock.now();
        let email = format!("{username}@{BOT_EMAIL_DOMAIN}");
        let mut conn = self.pool.get().await?;
        let row = conn
            .transaction::<_, AuthError, _>(async |conn| {
                let row = users::insert(conn, bot_row(display_name, &email))
                    .await
                    .map_err(|error| match error {
                        AuthError::EmailTaken => AuthError::UsernameTaken,
                        other => other,
                    })?;
                audit::append(
                    conn,
                    &AuditEntry::new(Some(admin), AuditAction::BotCreated, client.ip.as_deref())
                        .on(AuditTarget::User(row.id))
                        .with(serde_json::json!({"username": username})),
                    now,
                )
                .await?;
                Ok(row)
            })
            .await?;
        row.into_user()
    }

    /// Creates the bot user an incoming webhook posts as (named `name`, username `hook-{id}`).
    pub async fn create_hook_bot(&self, name: &str) -> AuthResult<User> {
        let email = format!("hook-{}@{BOT_EMAIL_DOMAIN}", uuid::Uuid::now_v7().simple());
        let mut conn = self.pool.get().await?;
        users::insert(&mut conn, bot_row(name, &email)).await?.into_user()
    }

    /// Deletes the bot `bot` made by [`Self::create_hook_bot`] when its hook could not be created (it never
    /// posted anything). Accounts that are no bots are never deleted.
    pub async fn remove_unused_bot(&self, bot: UserId) -> AuthResult<()> {
        let mut conn = self.pool.get().await?;
        users::delete_bot(&mut conn, bot).await
    }
}

fn bot_row<'a>(name: &'a str, email: &'a str) -> NewUserRow<'a> {
    NewUserRow {
        id: UserId::new(),
        name,
        email,
        password_hash: UNUSABLE_PASSWORD,
        role: Role::Member.as_str(),
        email_verified: false,
        is_bot: true,
    }
}

/// Refuses an address of the bots' domain for a person's account (it would take a bot's username).
pub(crate) fn refuse_bot_address(email: &str) -> AuthResult<()> {
    let domain = email
        .rsplit_once('@')
        .map(|(_, domain)| domain.to_ascii_lowercase());
    if domain.as_deref() == Some(BOT_EMAIL_DOMAIN) {
        return Err(AuthError::Invalid(vec![FieldError::new(
            "email",
            format!("addresses @{BOT_EMAIL_DOMAIN} are reserved for bots"),
        )]));
    }
    Ok(())
}

/// The session id a token's claims carry (and its sockets are ended by).
fn token_session(id: AccessTokenId) -> TokenFamilyId {
    TokenFamilyId(id.into_uuid())
}
