//! The `users` table.

use super::lower;
use crate::error::{AuthError, AuthResult};
use crate::model::{Role, User, UserSummary};
use chrono::{DateTime, Utc};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::{
    BoolExpressionMethods as _, ExpressionMethods as _, Insertable, NullableExpressionMethods as _,
    OptionalExtension as _, QueryDsl as _, Queryable, Selectable, SelectableHelper as _,
    TextExpressionMethods as _,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use epop_core::UserId;
use epop_storage::schema::users;

/// A row of `users`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub(crate) struct UserRow {
    pub(crate) id: UserId,
    pub(crate) name: String,
    /// E-mail as typed.
    pub(crate) email: String,
    /// Argon2id PHC string.
    pub(crate) password_hash: String,
    /// `admin` or `member`.
    pub(crate) role: String,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
    /// Whether the owner proved control of `email`.
    pub(crate) email_verified: bool,
    /// When an admin deactivated the account (it cannot sign in); `None` while active.
    pub(crate) deactivated_at: Option<DateTime<Utc>>,
    /// A bot: no password, acts through access tokens only.
    pub(crate) is_bot: bool,
}

impl UserRow {
    /// The domain view of the row (without the hash).
    pub(crate) fn into_user(self) -> AuthResult<User> {
        let role = self
            .role
            .parse::<Role>()
            .map_err(|e| AuthError::Crypto(e.to_string()))?;
        Ok(User {
            id: self.id,
            name: self.name,
            email: self.email,
            role,
            email_verified: self.email_verified,
            is_bot: self.is_bot,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// A new row of `users`.
#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub(crate) struct NewUserRow<'a> {
    pub(crate) id: UserId,
    pub(crate) name: &'a str,
    /// E-mail as typed.
    pub(crate) email: &'a str,
    /// Argon2id PHC string.
    pub(crate) password_hash: &'a str,
    /// `admin` or `member`.
    pub(crate) role: &'a str,
    /// Whether the address counts as verified from the start (accounts an operator creates).
    pub(crate) email_verified: bool,
    /// A bot (no password).
    pub(crate) is_bot: bool,
}

fn email_taken(error: DieselError) -> AuthError {
    match error {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => AuthError::EmailTaken,
        other => other.into(),
    }
}

/// Inserts a user; a duplicate e-mail (case-insensitively) is [`AuthError::EmailTaken`].
pub(crate) async fn insert(conn: &mut AsyncPgConnection, row: NewUserRow<'_>) -> AuthResult<UserRow> {
    diesel::insert_into(users::table)
        .values(&row)
        .returning(UserRow::as_returning())
        .get_result(conn)
        .await
        .map_err(email_taken)
}

/// Inserts a user unless the e-mail is taken; returns whether a row was inserted.
pub(crate) async fn insert_if_email_free(
    conn: &mut AsyncPgConnection,
    row: NewUserRow<'_>,
) -> AuthResult<bool> {
    let inserted = diesel::insert_into(users::table)
        .values(&row)
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(inserted == 1)
}

/// Finds a user by e-mail, case-insensitively.
pub(crate) async fn find_by_email(conn: &mut AsyncPgConnection, email: &str) -> AuthResult<Option<UserRow>> {
    Ok(users::table
        .filter(lower(users::email).eq(lower(email)))
        .select(UserRow::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Finds a user by id.
pub(crate) async fn find(conn: &mut AsyncPgConnection, id: UserId) -> AuthResult<Option<UserRow>> {
    Ok(users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Finds a user by id and takes a share lock on the row for the rest of the transaction: sessions are issued
/// under it, so they cannot interleave with a revocation ([`lock_for_revocation`]), while several sign-ins of
/// one user still run side by side.
pub(crate) async fn lock_for_session(
    conn: &mut AsyncPgConnection,
    id: UserId,
) -> AuthResult<Option<UserRow>> {
    Ok(users::table
        .find(id)
        .select(UserRow::as_select())
        .for_share()
        .first(conn)
        .await
        .optional()?)
}

/// Locks a user's row against sessions being issued ([`lock_for_session`]) until the transaction ends
/// (`FOR NO KEY UPDATE`: rows referencing the user can still be written meanwhile). Returns whether it exists.
pub(crate) async fn lock_for_revocation(conn: &mut AsyncPgConnection, id: UserId) -> AuthResult<bool> {
    let found: Option<UserId> = users::table
        .find(id)
        .select(users::id)
        .for_no_key_update()
        .first(conn)
        .await
        .optional()?;
    Ok(found.is_some())
}

/// PostgreSQL's current time (`clock_timestamp()`, which advances within a transaction): the one clock
/// sessions are issued and revoked by, so their order is the order of the locks taken.
pub(crate) async fn database_now(conn: &mut AsyncPgConnection) -> AuthResult<DateTime<Utc>> {
    Ok(diesel::select(diesel::dsl::sql::<diesel::sql_types::Timestamptz>(
        "clock_timestamp()",
    ))
    .get_result(conn)
    .await?)
}

/// Refuses every session of the user issued up to now (call under [`lock_for_revocation`]); returns the
/// instant.
pub(crate) async fn revoke_sessions(conn: &mut AsyncPgConnection, id: UserId) -> AuthResult<DateTime<Utc>> {
    diesel::update(users::table.find(id))
        .set(users::sessions_valid_after.eq(diesel::dsl::sql::<
            diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
        >("clock_timestamp()")))
        .returning(users::sessions_valid_after)
        .get_result::<Option<DateTime<Utc>>>(conn)
        .await?
        .ok_or(AuthError::UserNotFound)
}

/// The instant up to which the user's sessions are refused: `Ok(None)` when never, `Err(UserNotFound)` for
/// no such user.
pub(crate) async fn sessions_valid_after(
    conn: &mut AsyncPgConnection,
    id: UserId,
) -> AuthResult<Option<DateTime<Utc>>> {
    users::table
        .find(id)
        .select(users::sessions_valid_after)
        .first(conn)
        .await
        .optional()?
        .ok_or(AuthError::UserNotFound)
}

/// The users whose cutoff is younger than `window` by PostgreSQL's clock, by id after `after`, at most `limit`.
pub(crate) async fn recent_session_cutoffs(
    conn: &mut AsyncPgConnection,
    window: chrono::Duration,
    after: Option<UserId>,
    limit: i64,
) -> AuthResult<Vec<(UserId, DateTime<Utc>)>> {
    let since = database_now(conn).await? - window;
    let mut query = users::table
        .filter(users::sessions_valid_after.gt(since))
        .select((users::id, users::sessions_valid_after.assume_not_null()))
        .order(users::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(users::id.gt(after));
    }
    Ok(query.load(conn).await?)
}

/// The fields of a profile update; `None` leaves a column as it is.
#[derive(Debug, Default, diesel::AsChangeset)]
#[diesel(table_name = users)]
pub(crate) struct UserChangeset<'a> {
    pub(crate) name: Option<&'a str>,
    pub(crate) email: Option<&'a str>,
    pub(crate) password_hash: Option<&'a str>,
    /// Whether the (new) address is verified.
    pub(crate) email_verified: Option<bool>,
    pub(crate) updated_at: Option<DateTime<Utc>>,
}

/// Applies `changes` to the user and returns the new row.
pub(crate) async fn update(
    conn: &mut AsyncPgConnection,
    id: UserId,
    changes: UserChangeset<'_>,
) -> AuthResult<UserRow> {
    diesel::update(users::table.find(id))
        .set(&changes)
        .returning(UserRow::as_returning())
        .get_result(conn)
        .await
        .map_err(email_taken)
}

/// Deletes the user `id` if it is a bot.
pub(crate) async fn delete_bot(conn: &mut AsyncPgConnection, id: UserId) -> AuthResult<()> {
    diesel::delete(users::table.find(id).filter(users::is_bot))
        .execute(conn)
        .await?;
    Ok(())
}

/// The password hash of an account whose password an admin made its owner reset: no password matches it.
pub(crate) const UNUSABLE_PASSWORD: &str = "!reset-required";

/// Serialises changes of who is an active global admin (a role change, a deactivation), so that two admins
/// demoting each other at once cannot leave none. Held until the transaction ends.
pub(crate) async fn lock_admin_changes(conn: &mut AsyncPgConnection) -> AuthResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(7461346, 1)")
        .execute(conn)
        .await?;
    Ok(())
}

/// How many active global admins there are besides `except`.
pub(crate) async fn other_active_admins(conn: &mut AsyncPgConnection, except: UserId) -> AuthResult<i64> {
    Ok(users::table
        .filter(users::role.eq(Role::Admin.as_str()))
        .filter(users::deactivated_at.is_null())
        .filter(users::id.ne(except))
        .count()
        .get_result(conn)
        .await?)
}

/// The admin's changes of an account; `None` leaves a column as it is.
#[derive(Debug, Default, diesel::AsChangeset)]
#[diesel(table_name = users)]
pub(crate) struct AdminChangeset<'a> {
    pub(crate) role: Option<&'a str>,
    /// `Some(None)` reactivates.
    pub(crate) deactivated_at: Option<Option<DateTime<Utc>>>,
    pub(crate) password_hash: Option<&'a str>,
    pub(crate) updated_at: Option<DateTime<Utc>>,
}

/// Applies an admin's `changes` to the user and returns the new row.
pub(crate) async fn admin_update(
    conn: &mut AsyncPgConnection,
    id: UserId,
    changes: AdminChangeset<'_>,
) -> AuthResult<UserRow> {
    Ok(diesel::update(users::table.find(id))
        .set(&changes)
        .returning(UserRow::as_returning())
        .get_result(conn)
        .await?)
}

/// One page of every account for admins, ordered and filtered as [`directory_page`], each with whether its
/// second factor is on. Returns `(lower(name), row, mfa_enabled)`.
pub(crate) async fn admin_page(
    conn: &mut AsyncPgConnection,
    prefix: Option<&str>,
    after: Option<&DirectoryCursor>,
    as_of: DateTime<Utc>,
    limit: i64,
) -> AuthResult<Vec<(String, UserRow, bool)>> {
    use epop_storage::schema::user_totp;
    let mfa_on = diesel::dsl::exists(
        user_totp::table
            .filter(user_totp::user_id.eq(users::id))
            .filter(user_totp::enabled_at.is_not_null()),
    );
    let mut query = users::table
        .select((lower(users::name), UserRow::as_select(), mfa_on))
        .filter(users::created_at.le(as_of))
        .order_by((lower(users::name).asc(), users::id.asc()))
        .limit(limit + 1)
        .into_boxed();
    if let Some(prefix) = prefix {
        let pattern = format!("{}%", escape_like(&prefix.to_lowercase()));
        query = query.filter(
            lower(users::name)
                .like(pattern.clone())
                .or(lower(users::email).like(pattern)),
        );
    }
    if let Some(after) = after {
        query = query.filter(
            lower(users::name).gt(after.name.clone()).or(lower(users::name)
                .eq(after.name.clone())
                .and(users::id.gt(after.id))),
        );
    }
    Ok(query.load(conn).await?)
}

/// Position in the people directory: lower-cased name, then id.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct DirectoryCursor {
    /// Lower-cased name of the last user seen.
    pub(crate) name: String,
    /// Id of the last user seen.
    pub(crate) id: UserId,
    /// Users created after the first page was read are left out, so pages do not shift.
    pub(crate) as_of: DateTime<Utc>,
}

/// One page of the people directory ordered by lower-cased name then id, optionally filtered by a
/// case-insensitive prefix of the name or e-mail. Fetches `limit + 1` rows so the caller can tell whether
/// another page exists. Returns `(lower(name), summary)` pairs.
pub(crate) async fn directory_page(
    conn: &mut AsyncPgConnection,
    prefix: Option<&str>,
    after: Option<&DirectoryCursor>,
    as_of: DateTime<Utc>,
    limit: i64,
) -> AuthResult<Vec<(String, UserSummary)>> {
    let mut query = users::table
        .select((lower(users::name), users::id, users::name, users::email))
        .filter(users::created_at.le(as_of))
        .order_by((lower(users::name).asc(), users::id.asc()))
        .limit(limit + 1)
        .into_boxed();
    if let Some(prefix) = prefix {
        let pattern = format!("{}%", escape_like(&prefix.to_lowercase()));
        query = query.filter(
            lower(users::name)
                .like(pattern.clone())
                .or(lower(users::email).like(pattern)),
        );
    }
    if let Some(after) = after {
        query = query.filter(
            lower(users::name).gt(after.name.clone()).or(lower(users::name)
                .eq(after.name.clone())
                .and(users::id.gt(after.id))),
        );
    }
    let rows: Vec<(String, UserId, String, String)> = query.load(conn).await?;
    Ok(rows
        .into_iter()
        .map(|(key, id, name, email)| (key, UserSummary { id, name, email }))
        .collect())
}

/// Escapes `%`, `_` and `\` so user input matches literally in `LIKE`.
fn escape_like(input: &str) -> String {
    let mut escaped = String::with_capacity(input.len());
    for c in input.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::escape_like;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(escape_like("a%b_c\\d"), "a\\%b\\_c\\\\d");
        assert_eq!(escape_like("ann"), "ann");
    }
}
