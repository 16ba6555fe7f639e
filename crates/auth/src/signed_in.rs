//! A user's signed-in sessions: listing them, ending one, the cap on how many, and the purge of those over.
//!
//! A session is a sign-in: one refresh token family, recorded in `auth_sessions` with when it signed in, when
//! it was last refreshed, and from which address and user agent. Its access tokens carry its id (`sid`), so
//! ending it refuses them at once: the session is marked in PostgreSQL and then in Redis, where each request's
//! session check reads it in the same round trip as the user's cutoff (see [`crate::sessions`]); its refresh
//! tokens are revoked; and a [`DomainEvent::SessionEnded`] closes the sockets signed in with it on every node.

use crate::error::{AuthError, AuthResult};
use crate::model::{ClientInfo, SessionInfo};
use crate::repo::{auth_sessions, refresh_tokens, users};
use crate::service::AuthService;
use diesel_async::AsyncConnection as _;
use epop_core::{Cursor, DomainEvent, Page, PageRequest, TokenFamilyId, UserId};
use epop_storage::audit::{self, AuditAction, AuditEntry, AuditTarget};
use epop_storage::outbox;

impl AuthService {
    /// The user's live sessions, newest first; `current` (the caller's own, from its access token) is marked.
    pub async fn sessions(
        &self,
        user: UserId,
        current: Option<TokenFamilyId>,
        page: &PageRequest,
    ) -> AuthResult<Page<SessionInfo>> {
        let before = page
            .cursor
            .as_ref()
            .map(Cursor::decode::<TokenFamilyId>)
            .transpose()
            .map_err(|_| AuthError::BadCursor)?;
        let now = self.clock.now();
        let mut conn = self.pool.get().await?;
        let rows = auth_sessions::live_page(&mut conn, user, now, before, i64::from(page.limit)).await?;
        Ok(
            Page::from_overfetch(rows, page.limit, |row| row.id).map(|row| SessionInfo {
                id: row.id,
                created_at: row.created_at,
                last_used_at: row.last_used_at,
                ip: row.ip,
                user_agent: row.user_agent,
                current: Some(row.id) == current,
            }),
        )
    }

    /// Ends the user's session `session`: its refresh tokens are revoked and its access tokens refused from
    /// when this returns, on every node; its sockets are disconnected. Another user's session, an ended one or
    /// an unknown id is `SessionNotFound`, and nothing changes.
    #[tracing::instrument(skip(self, client))]
    pub async fn end_session(
        &self,
        user: UserId,
        session: TokenFamilyId,
        client: &ClientInfo,
    ) -> AuthResult<()> {
        let now = self.clock.now();
        let mut conn = self.pool.get().await?;
        conn.transaction::<_, AuthError, _>(async |conn| {
            // Under the user's row lock, as every revocation: a refresh of this session in flight either
            // finished (its new token is revoked below) or waits and finds its token revoked.
            if !users::lock_for_revocation(conn, user).await? {
                return Err(AuthError::SessionNotFound);
            }
            let entry = AuditEntry::new(Some(user), AuditAction::SessionEnded, client.ip.as_deref());
            if !end_one_in(conn, user, session, now, entry).await? {
                return Err(AuthError::SessionNotFound);
            }
            Ok(())
        })
        .await?;
        self.cutoffs.session_ended(session).await;
        Ok(())
    }

    /// Ends the oldest live sessions of `user` beyond `EPOP_MAX_SESSIONS_PER_USER` (a sign-in just opened one
    /// more), as [`Self::end_session`] ends one, each audited (`auth.session_ended`, reason `session_limit`).
    pub(crate) async fn cap_sessions(&self, user: UserId, client: &ClientInfo) -> AuthResult<()> {
        let Ok(keep) = i64::try_from(self.settings.max_sessions_per_user) else {
            return Ok(());
        };
        if keep == 0 {
            return Ok(());
        }
        let now = self.clock.now();
        let mut conn = self.pool.get().await?;
        // A cheap look first: nearly every sign-in stays under the cap and takes no lock.
        if auth_sessions::live_beyond(&mut conn, user, now, keep)
            .await?
            .is_empty()
        {
            return Ok(());
        }
        let ended = conn
            .transaction::<_, AuthError, _>(async |conn| {
                if !users::lock_for_revocation(conn, user).await? {
                    return Ok(Vec::new());
                }
                let mut ended = Vec::new();
                for session in auth_sessions::live_beyond(conn, user, now, keep).await? {
                    let entry = AuditEntry::new(Some(user), AuditAction::SessionEnded, client.ip.as_deref())
                        .with(serde_json::json!({"reason": "session_limit"}));
                    if end_one_in(conn, user, session, now, entry).await? {
                        ended.push(session);
                    }
                }
                Ok(ended)
            })
            .await?;
        for session in ended {
            self.cutoffs.session_ended(session).await;
        }
        Ok(())
    }

    /// Deletes sessions (with their refresh tokens), refresh tokens, and single sign-on states and codes that
    /// have been over for `grace` (never less than an access token's lifetime: a session ended on its own must
    /// stay known while its access tokens could still be presented), in
    /// batches of `batch`; returns how many sessions, other refresh tokens, states and codes went.
    pub async fn purge_sessions(&self, grace: chrono::Duration, batch: i64) -> AuthResult<usize> {
        let grace = grace.max(self.settings.access_ttl);
        let before = self.clock.now() - grace;
        let mut purged = 0;
        let mut conn = self.pool.get().await?;
        loop {
            let sessions = auth_sessions::purge_over(&mut conn, before, batch).await?;
            let tokens = refresh_tokens::purge_expired(&mut conn, before, batch).await?;
            let sso = crate::repo::oidc::purge_expired(&mut conn, self.clock.now(), batch).await?;
            purged += sessions + tokens + sso;
            if [sessions, tokens, sso].iter().all(|n| (*n as i64) < batch) {
                return Ok(purged);
            }
        }
    }
}

/// Ends the live session `session` of `user` on its own inside the caller's transaction (which holds the
/// user's row for revocation): its access tokens refused, its refresh tokens revoked, its sockets closed, and
/// `entry` (its target set to the session) written. Returns whether it was live; the caller marks it ended in
/// the session cutoffs after commit.
async fn end_one_in(
    conn: &mut diesel_async::AsyncPgConnection,
    user: UserId,
    session: TokenFamilyId,
    now: chrono::DateTime<chrono::Utc>,
    entry: AuditEntry<'_>,
) -> AuthResult<bool> {
    if !auth_sessions::revoke(conn, user, session, now).await? {
        return Ok(false);
    }
    refresh_tokens::revoke_family(conn, session, now).await?;
    audit::append(conn, &entry.on(AuditTarget::Session(session)), now).await?;
    outbox::append(
        conn,
        &DomainEvent::SessionEnded {
            user_id: user,
            session_id: session,
        },
    )
    .await?;
    Ok(true)
}
