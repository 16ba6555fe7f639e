//! The single sign-on tables: `oidc_states` (sign-ins sent to a provider), `oidc_exchange_codes` (finished
//! callbacks waiting for the web app) and `user_identities` (accounts' identities at providers).

use crate::error::AuthResult;
use chrono::{DateTime, Utc};
use diesel::{
    ExpressionMethods as _, Insertable, OptionalExtension as _, QueryDsl as _, Queryable, Selectable,
    SelectableHelper as _,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use epop_core::UserId;
use epop_storage::schema::{oidc_exchange_codes, oidc_states, user_identities};

/// A sign-in sent to a provider.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = oidc_states, check_for_backend(diesel::pg::Pg))]
pub(crate) struct StateRow {
    pub(crate) state_hash: Vec<u8>,
    pub(crate) provider: String,
    pub(crate) nonce: String,
    pub(crate) pkce_verifier: String,
    pub(crate) expires_at: DateTime<Utc>,
}

/// Records a sign-in sent to a provider.
pub(crate) async fn insert_state(conn: &mut AsyncPgConnection, row: &StateRow) -> AuthResult<()> {
    diesel::insert_into(oidc_states::table)
        .values(row)
        .execute(conn)
        .await?;
    Ok(())
}

/// Takes (deletes and returns) the sign-in whose `state` has this hash, if any: each works once.
pub(crate) async fn take_state(conn: &mut AsyncPgConnection, hash: &[u8]) -> AuthResult<Option<StateRow>> {
    Ok(diesel::delete(oidc_states::table.find(hash))
        .returning(StateRow::as_returning())
        .get_result(conn)
        .await
        .optional()?)
}

/// A finished callback's one-time code.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = oidc_exchange_codes, check_for_backend(diesel::pg::Pg))]
pub(crate) struct ExchangeCodeRow {
    pub(crate) code_hash: Vec<u8>,
    pub(crate) user_id: UserId,
    pub(crate) provider: String,
    pub(crate) expires_at: DateTime<Utc>,
}

/// Records a one-time code for the web app.
pub(crate) async fn insert_exchange_code(
    conn: &mut AsyncPgConnection,
    row: &ExchangeCodeRow,
) -> AuthResult<()> {
    diesel::insert_into(oidc_exchange_codes::table)
        .values(row)
        .execute(conn)
        .await?;
    Ok(())
}

/// Takes (deletes and returns) the one-time code with this hash, if any.
pub(crate) async fn take_exchange_code(
    conn: &mut AsyncPgConnection,
    hash: &[u8],
) -> AuthResult<Option<ExchangeCodeRow>> {
    Ok(diesel::delete(oidc_exchange_codes::table.find(hash))
        .returning(ExchangeCodeRow::as_returning())
        .get_result(conn)
        .await
        .optional()?)
}

/// The account the provider's subject signs in to, if it was linked.
pub(crate) async fn identity_owner(
    conn: &mut AsyncPgConnection,
    provider: &str,
    subject: &str,
) -> AuthResult<Option<UserId>> {
    Ok(user_identities::table
        .find((provider, subject))
        .select(user_identities::user_id)
        .first(conn)
        .await
        .optional()?)
}

/// Links the provider's subject to `user` (nothing when it is linked already).
pub(crate) async fn link_identity(
    conn: &mut AsyncPgConnection,
    provider: &str,
    subject: &str,
    user: UserId,
    now: DateTime<Utc>,
) -> AuthResult<bool> {
    let inserted = diesel::insert_into(user_identities::table)
        .values((
            user_identities::provider.eq(provider),
            user_identities::subject.eq(subject),
            user_identities::user_id.eq(user),
            user_identities::created_at.eq(now),
            user_identities::last_login_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(inserted == 1)
}

/// Notes a sign-in through the identity.
pub(crate) async fn touch_identity(
    conn: &mut AsyncPgConnection,
    provider: &str,
    subject: &str,
    now: DateTime<Utc>,
) -> AuthResult<()> {
    diesel::update(user_identities::table.find((provider, subject)))
        .set(user_identities::last_login_at.eq(now))
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes up to `limit` states and one-time codes that expired before `before`; returns how many went.
pub(crate) async fn purge_expired(
    conn: &mut AsyncPgConnection,
    before: DateTime<Utc>,
    limit: i64,
) -> AuthResult<usize> {
    let states: Vec<Vec<u8>> = oidc_states::table
        .filter(oidc_states::expires_at.lt(before))
        .select(oidc_states::state_hash)
        .limit(limit)
        .load(conn)
        .await?;
    let states = diesel::delete(oidc_states::table.filter(oidc_states::state_hash.eq_any(states)))
        .execute(conn)
        .await?;
    let codes: Vec<Vec<u8>> = oidc_exchange_codes::table
        .filter(oidc_exchange_codes::expires_at.lt(before))
        .select(oidc_exchange_codes::code_hash)
        .limit(limit)
        .load(conn)
        .await?;
    let codes =
        diesel::delete(oidc_exchange_codes::table.filter(oidc_exchange_codes::code_hash.eq_any(codes)))
            .execute(conn)
            .await?;
    Ok(states + codes)
}
