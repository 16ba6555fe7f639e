//! The `personal_access_tokens` table.

use crate::error::AuthResult;
use chrono::{DateTime, Utc};
use diesel::{
    ExpressionMethods as _, Insertable, JoinOnDsl as _, OptionalExtension as _, QueryDsl as _, Queryable,
    Selectable, SelectableHelper as _,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use epop_core::{AccessTokenId, UserId};
use epop_storage::schema::{personal_access_tokens as pats, users};

/// A row of `personal_access_tokens` (without the hash).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = pats, check_for_backend(diesel::pg::Pg))]
pub(crate) struct AccessTokenRow {
    pub(crate) id: AccessTokenId,
    pub(crate) user_id: UserId,
    pub(crate) name: String,
    pub(crate) token_prefix: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) created_by: Option<UserId>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) expires_at: Option<DateTime<Utc>>,
    pub(crate) last_used_at: Option<DateTime<Utc>>,
}

/// A new row of `personal_access_tokens`.
#[derive(Debug, Insertable)]
#[diesel(table_name = pats)]
pub(crate) struct NewAccessTokenRow<'a> {
    pub(crate) id: AccessTokenId,
    pub(crate) user_id: UserId,
    pub(crate) name: &'a str,
    pub(crate) token_hash: &'a [u8],
    pub(crate) token_prefix: &'a str,
    pub(crate) scopes: Vec<&'a str>,
    pub(crate) created_by: Option<UserId>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) expires_at: Option<DateTime<Utc>>,
}

/// What a request's token check reads: the token and the state of its owner, in one query.
#[derive(Debug, Clone)]
pub(crate) struct TokenCheckRow {
    pub(crate) token: AccessTokenRow,
    pub(crate) role: String,
    pub(crate) deactivated_at: Option<DateTime<Utc>>,
    pub(crate) sessions_valid_after: Option<DateTime<Utc>>,
}

/// Inserts a token.
pub(crate) async fn insert(
    conn: &mut AsyncPgConnection,
    row: NewAccessTokenRow<'_>,
) -> AuthResult<AccessTokenRow> {
    Ok(diesel::insert_into(pats::table)
        .values(&row)
        .returning(AccessTokenRow::as_returning())
        .get_result(conn)
        .await?)
}

/// Deletes `user`'s tokens that expired before `now`; returns how many.
pub(crate) async fn delete_expired(
    conn: &mut AsyncPgConnection,
    user: UserId,
    now: DateTime<Utc>,
) -> AuthResult<usize> {
    Ok(diesel::delete(
        pats::table
            .filter(pats::user_id.eq(user))
            .filter(pats::expires_at.le(now)),
    )
    .execute(conn)
    .await?)
}

/// How many tokens `user` holds.
pub(crate) async fn count(conn: &mut AsyncPgConnection, user: UserId) -> AuthResult<i64> {
    Ok(pats::table
        .filter(pats::user_id.eq(user))
        .count()
        .get_result(conn)
        .await?)
}

/// Up to `limit` of `user`'s tokens, newest first, before `before`.
pub(crate) async fn page(
    conn: &mut AsyncPgConnection,
    user: UserId,
    before: Option<AccessTokenId>,
    limit: i64,
) -> AuthResult<Vec<AccessTokenRow>> {
    let mut query = pats::table
        .filter(pats::user_id.eq(user))
        .select(AccessTokenRow::as_select())
        .order(pats::id.desc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(pats::id.lt(before));
    }
    Ok(query.load(conn).await?)
}

/// Deletes `user`'s token `id`; returns it when there was one.
pub(crate) async fn delete(
    conn: &mut AsyncPgConnection,
    user: UserId,
    id: AccessTokenId,
) -> AuthResult<Option<AccessTokenRow>> {
    Ok(
        diesel::delete(pats::table.filter(pats::id.eq(id)).filter(pats::user_id.eq(user)))
            .returning(AccessTokenRow::as_returning())
            .get_result(conn)
            .await
            .optional()?,
    )
}

/// The token whose hash is `hash`, with its owner's role, deactivation and session cutoff.
pub(crate) async fn find_for_check(
    conn: &mut AsyncPgConnection,
    hash: &[u8],
) -> AuthResult<Option<TokenCheckRow>> {
    type Found = (
        AccessTokenRow,
        String,
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
    );
    let found: Option<Found> = pats::table
        .inner_join(users::table.on(users::id.eq(pats::user_id)))
        .filter(pats::token_hash.eq(hash))
        .select((
            AccessTokenRow::as_select(),
            users::role,
            users::deactivated_at,
            users::sessions_valid_after,
        ))
        .first(conn)
        .await
        .optional()?;
    Ok(found.map(
        |(token, role, deactivated_at, sessions_valid_after)| TokenCheckRow {
            token,
            role,
            deactivated_at,
            sessions_valid_after,
        },
    ))
}

/// Records that token `id` was used at `now`, unless that was already recorded within `every` (so a busy
/// token costs one write a minute, and concurrent requests write at most once).
pub(crate) async fn touch(
    conn: &mut AsyncPgConnection,
    id: AccessTokenId,
    now: DateTime<Utc>,
    every: chrono::Duration,
) -> AuthResult<()> {
    use diesel::BoolExpressionMethods as _;
    diesel::update(
        pats::table.filter(pats::id.eq(id)).filter(
            pats::last_used_at
                .is_null()
                .or(pats::last_used_at.lt(now - every)),
        ),
    )
    .set(pats::last_used_at.eq(now))
    .execute(conn)
    .await?;
    Ok(())
}
