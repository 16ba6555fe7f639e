//! The second factor's tables: `user_totp` (the encrypted TOTP secret, pending or enabled, and the last
//! accepted time step), `mfa_recovery_codes` (hashed, single-use) and `mfa_challenges` (sign-ins awaiting
//! their second factor).

use crate::error::AuthResult;
use chrono::{DateTime, Utc};
use diesel::{
    BoolExpressionMethods as _, ExpressionMethods as _, OptionalExtension as _, QueryDsl as _, Queryable,
    Selectable, SelectableHelper as _,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use epop_core::UserId;
use epop_storage::schema::{mfa_challenges, mfa_recovery_codes, user_totp};
use uuid::Uuid;

/// A row of `user_totp`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = user_totp, check_for_backend(diesel::pg::Pg))]
pub(crate) struct TotpRow {
    /// `nonce || ciphertext` of the secret (AES-256-GCM, the user id as associated data).
    pub(crate) secret_encrypted: Vec<u8>,
    /// When it was confirmed; `None` while enrolment is pending.
    pub(crate) enabled_at: Option<DateTime<Utc>>,
    /// The time step of the last accepted code.
    pub(crate) last_step: Option<i64>,
}

/// Starts (or restarts) enrolment: a pending secret, replacing the row (the caller checked, under
/// [`find_for_update`], that it is not enabled).
pub(crate) async fn put_pending(
    conn: &mut AsyncPgConnection,
    user: UserId,
    secret_encrypted: &[u8],
) -> AuthResult<()> {
    diesel::insert_into(user_totp::table)
        .values((
            user_totp::user_id.eq(user),
            user_totp::secret_encrypted.eq(secret_encrypted),
        ))
        .on_conflict(user_totp::user_id)
        .do_update()
        .set((
            user_totp::secret_encrypted.eq(secret_encrypted),
            user_totp::last_step.eq(None::<i64>),
            user_totp::enabled_at.eq(None::<DateTime<Utc>>),
            user_totp::created_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// The user's TOTP row, locked until the transaction ends (a code's step is checked and recorded under it, so
/// a code is accepted once even when sent twice at once).
pub(crate) async fn find_for_update(
    conn: &mut AsyncPgConnection,
    user: UserId,
) -> AuthResult<Option<TotpRow>> {
    Ok(user_totp::table
        .find(user)
        .select(TotpRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?)
}

/// Whether the user has an enabled second factor.
pub(crate) async fn is_enabled(conn: &mut AsyncPgConnection, user: UserId) -> AuthResult<bool> {
    let enabled: Option<Option<DateTime<Utc>>> = user_totp::table
        .find(user)
        .select(user_totp::enabled_at)
        .first(conn)
        .await
        .optional()?;
    Ok(matches!(enabled, Some(Some(_))))
}

/// Records the step of an accepted code.
pub(crate) async fn record_step(conn: &mut AsyncPgConnection, user: UserId, step: i64) -> AuthResult<()> {
    diesel::update(user_totp::table.find(user))
        .set(user_totp::last_step.eq(step))
        .execute(conn)
        .await?;
    Ok(())
}

/// Enables the pending secret.
pub(crate) async fn enable(conn: &mut AsyncPgConnection, user: UserId, now: DateTime<Utc>) -> AuthResult<()> {
    diesel::update(user_totp::table.find(user))
        .set(user_totp::enabled_at.eq(now))
        .execute(conn)
        .await?;
    Ok(())
}

/// Removes the user's second factor: the secret, the recovery codes and the pending sign-ins. Returns whether
/// there was a secret.
pub(crate) async fn remove_all(conn: &mut AsyncPgConnection, user: UserId) -> AuthResult<bool> {
    let removed = diesel::delete(user_totp::table.find(user)).execute(conn).await?;
    diesel::delete(mfa_recovery_codes::table.filter(mfa_recovery_codes::user_id.eq(user)))
        .execute(conn)
        .await?;
    diesel::delete(mfa_challenges::table.filter(mfa_challenges::user_id.eq(user)))
        .execute(conn)
        .await?;
    Ok(removed == 1)
}

/// Replaces the user's recovery codes with these hashes (one statement each way).
pub(crate) async fn replace_recovery_codes(
    conn: &mut AsyncPgConnection,
    user: UserId,
    hashes: &[Vec<u8>],
) -> AuthResult<()> {
    diesel::delete(mfa_recovery_codes::table.filter(mfa_recovery_codes::user_id.eq(user)))
        .execute(conn)
        .await?;
    let rows: Vec<_> = hashes
        .iter()
        .map(|hash| {
            (
                mfa_recovery_codes::id.eq(Uuid::now_v7()),
                mfa_recovery_codes::user_id.eq(user),
                mfa_recovery_codes::code_hash.eq(hash),
            )
        })
        .collect();
    diesel::insert_into(mfa_recovery_codes::table)
        .values(rows)
        .execute(conn)
        .await?;
    Ok(())
}

/// Uses one of the user's unused recovery codes with this hash; returns whether there was one.
pub(crate) async fn use_recovery_code(
    conn: &mut AsyncPgConnection,
    user: UserId,
    hash: &[u8],
    now: DateTime<Utc>,
) -> AuthResult<bool> {
    let used = diesel::update(
        mfa_recovery_codes::table
            .filter(mfa_recovery_codes::user_id.eq(user))
            .filter(mfa_recovery_codes::code_hash.eq(hash))
            .filter(mfa_recovery_codes::used_at.is_null()),
    )
    .set(mfa_recovery_codes::used_at.eq(now))
    .execute(conn)
    .await?;
    Ok(used == 1)
}

/// A row of `mfa_challenges`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = mfa_challenges, check_for_backend(diesel::pg::Pg))]
pub(crate) struct ChallengeRow {
    /// Primary key.
    pub(crate) id: Uuid,
    /// When it stops working.
    pub(crate) expires_at: DateTime<Utc>,
    /// Wrong codes tried so far.
    pub(crate) attempts: i32,
    /// When it completed a sign-in.
    pub(crate) used_at: Option<DateTime<Utc>>,
}

/// Stores a new challenge, deleting the user's finished and expired ones first (so each user has only the
/// challenges of their sign-ins of the last few minutes, which the sign-in limit bounds).
pub(crate) async fn insert_challenge(
    conn: &mut AsyncPgConnection,
    user: UserId,
    token_hash: &[u8],
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> AuthResult<()> {
    diesel::delete(
        mfa_challenges::table
            .filter(mfa_challenges::user_id.eq(user))
            .filter(
                mfa_challenges::used_at
                    .is_not_null()
                    .or(mfa_challenges::expires_at.le(now)),
            ),
    )
    .execute(conn)
    .await?;
    diesel::insert_into(mfa_challenges::table)
        .values((
            mfa_challenges::id.eq(Uuid::now_v7()),
            mfa_challenges::user_id.eq(user),
            mfa_challenges::token_hash.eq(token_hash),
            mfa_challenges::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// The challenge with this token hash, locked until the transaction ends.
pub(crate) async fn find_challenge_for_update(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
) -> AuthResult<Option<ChallengeRow>> {
    Ok(mfa_challenges::table
        .filter(mfa_challenges::token_hash.eq(token_hash))
        .select(ChallengeRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?)
}

/// Counts a wrong code against the challenge.
pub(crate) async fn count_failed_attempt(conn: &mut AsyncPgConnection, id: Uuid) -> AuthResult<()> {
    diesel::update(mfa_challenges::table.find(id))
        .set(mfa_challenges::attempts.eq(mfa_challenges::attempts + 1))
        .execute(conn)
        .await?;
    Ok(())
}

/// Marks the challenge used (it completed a sign-in).
pub(crate) async fn finish_challenge(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    now: DateTime<Utc>,
) -> AuthResult<()> {
    diesel::update(mfa_challenges::table.find(id))
        .set(mfa_challenges::used_at.eq(now))
        .execute(conn)
        .await?;
    Ok(())
}

/// The user a challenge belongs to, if it exists (no lock: the caller locks the user first, then the challenge).
pub(crate) async fn challenge_owner(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
) -> AuthResult<Option<UserId>> {
    Ok(mfa_challenges::table
        .filter(mfa_challenges::token_hash.eq(token_hash))
        .select(mfa_challenges::user_id)
        .first(conn)
        .await
        .optional()?)
}
