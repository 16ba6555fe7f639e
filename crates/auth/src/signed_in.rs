//! A user's signed-in sessions: listing them and ending one.
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
            if !auth_sessions::revoke(conn, user, session, now).await? {
                return Err(AuthError::SessionNotFound);
            }
            refresh_tokens::revoke_family(conn, session, now).await?;
            audit::append(
                conn,
                &AuditEntry::new(Some(user), AuditAction::SessionEnded, client.ip.as_deref())
                    .on(AuditTarget::Session(session)),
                now,
            )
            .await?;
            outbox::append(
                conn,
                &DomainEvent::SessionEnded {
                    user_id: user,
                    session_id: session,
                },
            )
            .await?;
            Ok(())
        })
        .await?;
        self.cutoffs.session_ended(session).await;
        Ok(())
    }
}
