//! The `refresh_tokens` table: one row per issued refresh token, grouped into families by login.

use crate::error::AuthResult;
use chrono::{DateTime, Utc};
use diesel::{
    ExpressionMethods as _, Insertable, OptionalExtension as _, QueryDsl as _, Queryable, Selectable,
    SelectableHelper as _,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use epop_core::{TokenFamilyId, UserId};
use epop_storage::schema::refresh_tokens;
use uuid::Uuid;

/// A row of `refresh_tokens`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens, check_for_backend(diesel::pg::Pg))]
pub(crate) struct RefreshTokenRow {
    pub(crate) id: Uuid,
    /// The login this token descends from.
    pub(crate) family_id: TokenFamilyId,
    /// When it stops being valid.
    pub(crate) expires_at: DateTime<Utc>,
    /// When it was revoked (rotation, logout, reuse).
    pub(crate) revoked_at: Option<DateTime<Utc>>,
    /// The token that replaced it on rotation.
    pub(crate) replaced_by: Option<Uuid>,
}

/// A new row of `refresh_tokens`.
#[derive(Debug, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub(crate) struct NewRefreshTokenRow {
    pub(crate) id: Uuid,
    pub(crate) user_id: UserId,
    pub(crate) family_id: TokenFamilyId,
    /// SHA-256 of the token.
    pub(crate) token_hash: Vec<u8>,
    pub(crate) expires_at: DateTime<Utc>,
}

/// Stores a new token.
pub(crate) async fn insert(conn: &mut AsyncPgConnection, row: &NewRefreshTokenRow) -> AuthResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values(row)
        .execute(conn)
        .await?;
    Ok(())
}

/// The owner of the token with this hash, if any (no lock: the caller locks the user first, then the token).
pub(crate) async fn owner_by_hash(conn: &mut AsyncPgConnection, hash: &[u8]) -> AuthResult<Option<UserId>> {
    Ok(refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(hash))
        .select(refresh_tokens::user_id)
        .first(conn)
        .await
        .optional()?)
}

/// Finds a token by its hash and locks it, so two concurrent refreshes of one token serialise and the second
/// sees the first's rotation.
pub(crate) async fn find_by_hash_for_update(
    conn: &mut AsyncPgConnection,
    hash: &[u8],
) -> AuthResult<Option<RefreshTokenRow>> {
    Ok(refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(hash))
        .select(RefreshTokenRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?)
}

/// Marks a token revoked (and, on rotation, which token replaced it).
pub(crate) async fn revoke(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    now: DateTime<Utc>,
    replaced_by: Option<Uuid>,
) -> AuthResult<()> {
    diesel::update(refresh_tokens::table.find(id))
        .set((
            refresh_tokens::revoked_at.eq(now),
            refresh_tokens::replaced_by.eq(replaced_by),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Revokes every still-active token of a family.
pub(crate) async fn revoke_family(
    conn: &mut AsyncPgConnection,
    family: TokenFamilyId,
    now: DateTime<Utc>,
) -> AuthResult<usize> {
    Ok(diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(family))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)
    .await?)
}

/// Revokes every still-active token of a user.
pub(crate) async fn revoke_all_of_user(
    conn: &mut AsyncPgConnection,
    user: UserId,
    now: DateTime<Utc>,
) -> AuthResult<usize> {
    Ok(diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::user_id.eq(user))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)
    .await?)
}

/// Deletes up to `limit` refresh tokens that expired before `before` (rotated ones of live sessions too: a
/// token expired that long ago is refused as unknown rather than as reused); returns how many went.
pub(crate) async fn purge_expired(
    conn: &mut AsyncPgConnection,
    before: DateTime<Utc>,
    limit: i64,
) -> AuthResult<usize> {
    let expired: Vec<Uuid> = refresh_tokens::table
        .filter(refresh_tokens::expires_at.lt(before))
        .select(refresh_tokens::id)
        .limit(limit)
        .load(conn)
        .await?;
    Ok(
        diesel::delete(refresh_tokens::table.filter(refresh_tokens::id.eq_any(expired)))
            .execute(conn)
            .await?,
    )
}
