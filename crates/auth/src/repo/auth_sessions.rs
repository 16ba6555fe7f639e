//! The `auth_sessions` table: one row per refresh token family (a sign-in), what the user sees of it in
//! `GET /api/auth/sessions`, and whether it was ended on its own (its access tokens then refused).

use crate::error::AuthResult;
use chrono::{DateTime, Utc};
use diesel::{
    ExpressionMethods as _, Insertable, OptionalExtension as _, QueryDsl as _, Queryable, Selectable,
    SelectableHelper as _,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use epop_core::{TokenFamilyId, UserId};
use epop_storage::schema::auth_sessions;

/// A live session as its owner lists it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = auth_sessions, check_for_backend(diesel::pg::Pg))]
pub(crate) struct SessionRow {
    pub(crate) id: TokenFamilyId,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) last_used_at: DateTime<Utc>,
    pub(crate) ip: Option<String>,
    pub(crate) user_agent: Option<String>,
}

/// A new session (a sign-in).
#[derive(Debug, Insertable)]
#[diesel(table_name = auth_sessions)]
pub(crate) struct NewSessionRow<'a> {
    pub(crate) id: TokenFamilyId,
    pub(crate) user_id: UserId,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) last_used_at: DateTime<Utc>,
    pub(crate) expires_at: DateTime<Utc>,
    pub(crate) ip: Option<&'a str>,
    pub(crate) user_agent: Option<&'a str>,
}

/// Records a new session.
pub(crate) async fn insert(conn: &mut AsyncPgConnection, row: &NewSessionRow<'_>) -> AuthResult<()> {
    diesel::insert_into(auth_sessions::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(())
}

/// Notes a refresh of the session: when, from where, and its new refresh token's expiry.
pub(crate) async fn touch(
    conn: &mut AsyncPgConnection,
    id: TokenFamilyId,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    ip: Option<&str>,
    user_agent: Option<&str>,
) -> AuthResult<()> {
    diesel::update(auth_sessions::table.find(id))
        .set((
            auth_sessions::last_used_at.eq(now),
            auth_sessions::expires_at.eq(expires_at),
            auth_sessions::ip.eq(ip),
            auth_sessions::user_agent.eq(user_agent),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Marks one session as no longer signed in (logout, reuse of its refresh token).
pub(crate) async fn end(
    conn: &mut AsyncPgConnection,
    id: TokenFamilyId,
    now: DateTime<Utc>,
) -> AuthResult<()> {
    diesel::update(
        auth_sessions::table
            .find(id)
            .filter(auth_sessions::ended_at.is_null()),
    )
    .set(auth_sessions::ended_at.eq(now))
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks every live session of the user as ended.
pub(crate) async fn end_all_of_user(
    conn: &mut AsyncPgConnection,
    user: UserId,
    now: DateTime<Utc>,
) -> AuthResult<()> {
    diesel::update(
        auth_sessions::table
            .filter(auth_sessions::user_id.eq(user))
            .filter(auth_sessions::ended_at.is_null()),
    )
    .set(auth_sessions::ended_at.eq(now))
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends the live session `id` of `user` on its own, refusing its access tokens from `at` (PostgreSQL's clock);
/// returns whether there was one (another user's session, or an ended one, is left alone).
pub(crate) async fn revoke(
    conn: &mut AsyncPgConnection,
    user: UserId,
    id: TokenFamilyId,
    now: DateTime<Utc>,
) -> AuthResult<bool> {
    let ended = diesel::update(
        auth_sessions::table
            .find(id)
            .filter(auth_sessions::user_id.eq(user))
            .filter(auth_sessions::ended_at.is_null())
            .filter(auth_sessions::expires_at.gt(now)),
    )
    .set((auth_sessions::ended_at.eq(now), auth_sessions::revoked_at.eq(now)))
    .execute(conn)
    .await?;
    Ok(ended == 1)
}

/// Whether the session `id` was ended on its own (its access tokens are refused).
pub(crate) async fn is_revoked(conn: &mut AsyncPgConnection, id: TokenFamilyId) -> AuthResult<bool> {
    let revoked: Option<Option<DateTime<Utc>>> = auth_sessions::table
        .find(id)
        .select(auth_sessions::revoked_at)
        .first(conn)
        .await
        .optional()?;
    Ok(revoked.flatten().is_some())
}

/// The sessions ended on their own since `since`, by id after `after`, at most `limit`.
pub(crate) async fn revoked_since(
    conn: &mut AsyncPgConnection,
    since: DateTime<Utc>,
    after: Option<TokenFamilyId>,
    limit: i64,
) -> AuthResult<Vec<TokenFamilyId>> {
    let mut query = auth_sessions::table
        .filter(auth_sessions::revoked_at.gt(since))
        .select(auth_sessions::id)
        .order(auth_sessions::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(auth_sessions::id.gt(after));
    }
    Ok(query.load(conn).await?)
}

/// One page of the user's live sessions, newest first, after `before` (an id of the previous page); fetches
/// `limit + 1` rows so the caller can tell whether another page exists.
pub(crate) async fn live_page(
    conn: &mut AsyncPgConnection,
    user: UserId,
    now: DateTime<Utc>,
    before: Option<TokenFamilyId>,
    limit: i64,
) -> AuthResult<Vec<SessionRow>> {
    let mut query = auth_sessions::table
        .filter(auth_sessions::user_id.eq(user))
        .filter(auth_sessions::ended_at.is_null())
        .filter(auth_sessions::expires_at.gt(now))
        .select(SessionRow::as_select())
        .order(auth_sessions::id.desc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(auth_sessions::id.lt(before));
    }
    Ok(query.load(conn).await?)
}

/// The user's live sessions beyond the newest `keep`, oldest first.
pub(crate) async fn live_beyond(
    conn: &mut AsyncPgConnection,
    user: UserId,
    now: DateTime<Utc>,
    keep: i64,
) -> AuthResult<Vec<TokenFamilyId>> {
    let mut beyond: Vec<TokenFamilyId> = auth_sessions::table
        .filter(auth_sessions::user_id.eq(user))
        .filter(auth_sessions::ended_at.is_null())
        .filter(auth_sessions::expires_at.gt(now))
        .select(auth_sessions::id)
        .order(auth_sessions::id.desc())
        .offset(keep)
        .load(conn)
        .await?;
    beyond.reverse();
    Ok(beyond)
}

/// Deletes up to `limit` sessions that ended or expired before `before`, with their refresh tokens; returns
/// how many sessions went.
pub(crate) async fn purge_over(
    conn: &mut AsyncPgConnection,
    before: DateTime<Utc>,
    limit: i64,
) -> AuthResult<usize> {
    use diesel::sql_types::{BigInt, Timestamptz};
    // One statement, so a session never outlives its tokens' deletion or the reverse.
    Ok(diesel::sql_query(
        "WITH over AS ( \
             SELECT id FROM auth_sessions WHERE ended_at < $1 OR expires_at < $1 LIMIT $2 \
         ), tokens AS ( \
             DELETE FROM refresh_tokens WHERE family_id IN (SELECT id FROM over) \
         ) \
         DELETE FROM auth_sessions WHERE id IN (SELECT id FROM over)",
    )
    .bind::<Timestamptz, _>(before)
    .bind::<BigInt, _>(limit)
    .execute(conn)
    .await?)
}
