//! What global admins do to accounts: list and search them, deactivate and reactivate them, change their
//! global role, and make their owner set a new password.
//!
//! Every change is made under the user's row lock, ends every session of the user (a deactivated account's
//! tokens and sockets end at once; a new role reaches the user's next access token, so the old ones, which
//! carry the old role, must go), and is written to the audit log in its transaction. Changes of who is an
//! active admin are serialised by a transaction-level advisory lock, and none may leave the workspace without
//! an active admin ([`AuthError::LastAdmin`]). The checks that the caller is an admin are the gateway's.
//!
//! The audit log is read here too (admins only), exported by the command line, and purged past its retention.

use crate::account_mail::{ACCOUNT_EMAIL_QUEUE, AccountEmailJob};
use crate::error::{AuthError, AuthResult};
use crate::model::{AdminUser, ClientInfo, Role};
use crate::repo::users::{self, AdminChangeset, DirectoryCursor, UNUSABLE_PASSWORD};
use crate::repo::{email_tokens, mfa as mfa_repo};
use crate::service::AuthService;
use diesel_async::{AsyncConnection as _, AsyncPgConnection};
use epop_core::{Cursor, Page, PageRequest, UserId};
use epop_storage::audit::{self, AuditAction, AuditEntry, AuditFilter, AuditRecord, AuditTarget, Order};
use epop_storage::jobs;
use uuid::Uuid;

/// One admin change of an account.
enum Change {
    Deactivate,
    Reactivate,
    Role(Role),
    ForcePasswordReset,
}

impl AuthService {
    /// Every account (or those whose name or e-mail starts with `query`), by lower-cased name then id, as
    /// admins see them.
    pub async fn admin_users(&self, query: Option<&str>, page: &PageRequest) -> AuthResult<Page<AdminUser>> {
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
        let rows = users::admin_page(
            &mut conn,
            query.filter(|q| !q.is_empty()),
            after.as_ref(),
            as_of,
            i64::from(page.limit),
        )
        .await?;
        let page = Page::from_overfetch(rows, page.limit, |(key, row, _)| DirectoryCursor {
            name: key.clone(),
            id: row.id,
            as_of,
        });
        let mut items = Vec::with_capacity(page.items.len());
        for (_, row, mfa_enabled) in page.items {
            items.push(AdminUser {
                deactivated_at: row.deactivated_at,
                user: row.into_user()?,
                mfa_enabled,
            });
        }
        Ok(Page {
            items,
            next_cursor: page.next_cursor,
        })
    }

    /// One account as admins see it; `UserNotFound` when there is none.
    pub async fn admin_user(&self, user: UserId) -> AuthResult<AdminUser> {
        let mut conn = self.pool.get().await?;
        admin_view(&mut conn, user).await
    }

    /// Deactivates `user`: they cannot sign in, and every session of theirs ends now (tokens and sockets);
    /// their content stays. Deactivating a deactivated account changes nothing. `LastAdmin` for the last
    /// active admin.
    pub async fn deactivate_user(
        &self,
        admin: UserId,
        user: UserId,
        client: &ClientInfo,
    ) -> AuthResult<AdminUser> {
        self.admin_change(admin, user, Change::Deactivate, client).await
    }

    /// Lets a deactivated `user` sign in again (their old sessions stay ended).
    pub async fn reactivate_user(
        &self,
        admin: UserId,
        user: UserId,
        client: &ClientInfo,
    ) -> AuthResult<AdminUser> {
        self.admin_change(admin, user, Change::Reactivate, client).await
    }

    /// Gives `user` the global `role`; every session of theirs ends (their tokens carry the role). The same
    /// role changes nothing. `LastAdmin` when it would demote the last active admin.
    pub async fn set_role(
        &self,
        admin: UserId,
        user: UserId,
        role: Role,
        client: &ClientInfo,
    ) -> AuthResult<AdminUser> {
        self.admin_change(admin, user, Change::Role(role), client).await
    }

    /// Makes `user` set a new password: the current one stops working, every session ends, and a reset link
    /// is e-mailed to them (when account e-mails are configured; otherwise an admin tells them to use
    /// `POST /api/auth/password-reset`).
    pub async fn force_password_reset(
        &self,
        admin: UserId,
        user: UserId,
        client: &ClientInfo,
    ) -> AuthResult<AdminUser> {
        self.admin_change(admin, user, Change::ForcePasswordReset, client)
            .await
    }

    async fn admin_change(
        &self,
        admin: UserId,
        user: UserId,
        change: Change,
        client: &ClientInfo,
    ) -> AuthResult<AdminUser> {
        let now = self.clock.now();
        let account_emails = self.settings.account_emails;
        let mut conn = self.pool.get().await?;
        let this = self.clone();
        let (view, cutoff) = conn
            .transaction::<_, AuthError, _>(async |conn| {
                users::lock_admin_changes(conn).await?;
                if !users::lock_for_revocation(conn, user).await? {
                    return Err(AuthError::UserNotFound);
                }
                let current = users::find(conn, user).await?.ok_or(AuthError::UserNotFound)?;
                let is_active_admin =
                    current.role == Role::Admin.as_str() && current.deactivated_at.is_none();
                let (changes, action, details) = match change {
                    Change::Deactivate if current.deactivated_at.is_some() => {
                        return Ok((admin_view(conn, user).await?, None));
                    }
                    Change::Deactivate => (
                        AdminChangeset {
                            deactivated_at: Some(Some(now)),
                            ..AdminChangeset::default()
                        },
                        AuditAction::UserDeactivated,
                        serde_json::json!({}),
                    ),
                    Change::Reactivate if current.deactivated_at.is_none() => {
                        return Ok((admin_view(conn, user).await?, None));
                    }
                    Change::Reactivate => (
                        AdminChangeset {
                            deactivated_at: Some(None),
                            ..AdminChangeset::default()
                        },
                        AuditAction::UserReactivated,
                        serde_json::json!({}),
                    ),
                    Change::Role(role) if current.role == role.as_str() => {
                        return Ok((admin_view(conn, user).await?, None));
                    }
                    Change::Role(role) => (
                        AdminChangeset {
                            role: Some(role.as_str()),
                            ..AdminChangeset::default()
                        },
                        AuditAction::RoleChanged,
                        serde_json::json!({"from": current.role, "to": role.as_str()}),
                    ),
                    Change::ForcePasswordReset => (
                        AdminChangeset {
                            password_hash: Some(UNUSABLE_PASSWORD),
                            ..AdminChangeset::default()
                        },
                        AuditAction::PasswordResetForced,
                        serde_json::json!({"email_sent": account_emails}),
                    ),
                };
                let leaves_admins = matches!(action, AuditAction::UserDeactivated | AuditAction::RoleChanged);
                if is_active_admin && leaves_admins && users::other_active_admins(conn, user).await? == 0 {
                    return Err(AuthError::LastAdmin);
                }
                users::admin_update(
                    conn,
                    user,
                    AdminChangeset {
                        updated_at: Some(now),
                        ..changes
                    },
                )
                .await?;
                if matches!(action, AuditAction::PasswordResetForced) {
                    // Links sent before prove nothing now; a fresh one goes out.
                    email_tokens::delete_of_user(conn, user, email_tokens::Purpose::PasswordReset).await?;
                    if account_emails {
                        let job = AccountEmailJob::PasswordReset {
                            email: current.email.clone(),
                        };
                        let payload =
                            serde_json::to_value(&job).map_err(|e| AuthError::Crypto(e.to_string()))?;
                        jobs::enqueue(conn, ACCOUNT_EMAIL_QUEUE, &payload).await?;
                    }
                }
                audit::append(
                    conn,
                    &AuditEntry::new(Some(admin), action, client.ip.as_deref())
                        .on(AuditTarget::User(user))
                        .with(details),
                    now,
                )
                .await?;
                // Reactivation has no session to end (they ended at the deactivation).
                let cutoff = if matches!(action, AuditAction::UserReactivated) {
                    None
                } else {
                    Some(this.end_sessions_in(conn, user, now).await?)
                };
                Ok((admin_view(conn, user).await?, cutoff))
            })
            .await?;
        if let Some(cutoff) = cutoff {
            self.cutoffs.raised(user, cutoff).await;
        }
        Ok(view)
    }
}

impl AuthService {
    /// One page of the audit log, newest first, filtered by `filter`.
    pub async fn audit_log(&self, filter: &AuditFilter, page: &PageRequest) -> AuthResult<Page<AuditRecord>> {
        let after = page
            .cursor
            .as_ref()
            .map(Cursor::decode::<Uuid>)
            .transpose()
            .map_err(|_| AuthError::BadCursor)?;
        let mut conn = self.pool.get().await?;
        let rows = audit::page(
            &mut conn,
            filter,
            after,
            Order::NewestFirst,
            i64::from(page.limit) + 1,
        )
        .await?;
        Ok(Page::from_overfetch(rows, page.limit, |row| row.id))
    }

    /// Up to `limit` audit rows matching `filter` after the row `after`, oldest first (the export).
    pub async fn audit_export_batch(
        &self,
        filter: &AuditFilter,
        after: Option<Uuid>,
        limit: i64,
    ) -> AuthResult<Vec<AuditRecord>> {
        let mut conn = self.pool.get().await?;
        Ok(audit::page(&mut conn, filter, after, Order::OldestFirst, limit).await?)
    }

    /// Deletes audit rows older than `retention`, in batches of `batch` (one statement each, so no long lock);
    /// returns how many went.
    pub async fn purge_audit_log(&self, retention: chrono::Duration, batch: i64) -> AuthResult<usize> {
        let before = self.clock.now() - retention;
        let mut purged = 0;
        loop {
            let mut conn = self.pool.get().await?;
            let deleted = audit::purge_before(&mut conn, before, batch).await?;
            purged += deleted;
            if (deleted as i64) < batch {
                return Ok(purged);
            }
        }
    }
}

/// `user` as admins see them.
async fn admin_view(conn: &mut AsyncPgConnection, user: UserId) -> AuthResult<AdminUser> {
    let row = users::find(conn, user).await?.ok_or(AuthError::UserNotFound)?;
    let mfa_enabled = mfa_repo::is_enabled(conn, user).await?;
    Ok(AdminUser {
        deactivated_at: row.deactivated_at,
        user: row.into_user()?,
        mfa_enabled,
    })
}
