//! The `account_email_tokens` table: single-use tokens sent by e-mail (password reset links, e-mail
//! verification), stored as SHA-256 hashes, at most one per user and purpose.

use crate::error::AuthResult;
use chrono::{DateTime, Utc};
use diesel::{
    ExpressionMethods as _, Insertable, OptionalExtension as _, QueryDsl as _, Queryable, Selectable,
    SelectableHelper as _,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use epop_core::UserId;
use epop_storage::schema::account_email_tokens;
use uuid::Uuid;

/// What a token proves when it comes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// Its holder may set a new password.
    PasswordReset,
    /// Its holder controls the address it was sent to.
    VerifyEmail,
}

impl Purpose {
    /// The stored form.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Purpose::PasswordReset => "password_reset",
            Purpose::VerifyEmail => "verify_email",
        }
    }
}

/// A row of `account_email_tokens`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = account_email_tokens, check_for_backend(diesel::pg::Pg))]
pub(crate) struct EmailTokenRow {
    /// Primary key.
    pub(crate) id: Uuid,
    /// Whose account it acts on.
    pub(crate) user_id: UserId,
    /// The address it was sent to.
    pub(crate) email: String,
    /// When it stops working.
    pub(crate) expires_at: DateTime<Utc>,
    /// When it was used (it works once).
    pub(crate) used_at: Option<DateTime<Utc>>,
}

impl EmailTokenRow {
    /// Whether it may still be used at `now`.
    pub(crate) fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.used_at.is_none() && self.expires_at > now
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = account_email_tokens)]
struct NewEmailTokenRow<'a> {
    id: Uuid,
    user_id: UserId,
    purpose: &'a str,
    token_hash: &'a [u8],
    email: &'a str,
    expires_at: DateTime<Utc>,
}

/// Stores a new token for `user` and `purpose`, deleting the user's previous ones of that purpose (only the
/// latest link works; the table holds at most one row per user and purpose).
pub(crate) async fn replace(
    conn: &mut AsyncPgConnection,
    user: UserId,
    purpose: Purpose,
    token_hash: &[u8],
    email: &str,
    expires_at: DateTime<Utc>,
) -> AuthResult<()> {
    diesel::delete(
        account_email_tokens::table
            .filter(account_email_tokens::user_id.eq(user))
            .filter(account_email_tokens::purpose.eq(purpose.as_str())),
    )
    .execute(conn)
    .await?;
    diesel::insert_into(account_email_tokens::table)
        .values(&NewEmailTokenRow {
            id: Uuid::now_v7(),
            user_id: user,
            purpose: purpose.as_str(),
            token_hash,
            email,
            expires_at,
        })
        .execute(conn)
        .await?;
    Ok(())
}

/// The token of `purpose` with this hash, if any (no lock: for a cheap check before expensive work).
pub(crate) async fn find(
    conn: &mut AsyncPgConnection,
    purpose: Purpose,
    token_hash: &[u8],
) -> AuthResult<Option<EmailTokenRow>> {
    Ok(account_email_tokens::table
        .filter(account_email_tokens::token_hash.eq(token_hash))
        .filter(account_email_tokens::purpose.eq(purpose.as_str()))
        .select(EmailTokenRow::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// The token of `purpose` with this hash, locked until the transaction ends, so two uses of one token
/// serialise and the second finds it used.
pub(crate) async fn find_for_update(
    conn: &mut AsyncPgConnection,
    purpose: Purpose,
    token_hash: &[u8],
) -> AuthResult<Option<EmailTokenRow>> {
    Ok(account_email_tokens::table
        .filter(account_email_tokens::token_hash.eq(token_hash))
        .filter(account_email_tokens::purpose.eq(purpose.as_str()))
        .select(EmailTokenRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?)
}

/// Marks a token used.
pub(crate) async fn mark_used(conn: &mut AsyncPgConnection, id: Uuid, now: DateTime<Utc>) -> AuthResult<()> {
    diesel::update(account_email_tokens::table.find(id))
        .set(account_email_tokens::used_at.eq(now))
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes every token of `purpose` of the user (their links stop working).
pub(crate) async fn delete_of_user(
    conn: &mut AsyncPgConnection,
    user: UserId,
    purpose: Purpose,
) -> AuthResult<usize> {
    Ok(diesel::delete(
        account_email_tokens::table
            .filter(account_email_tokens::user_id.eq(user))
            .filter(account_email_tokens::purpose.eq(purpose.as_str())),
    )
    .execute(conn)
    .await?)
}
