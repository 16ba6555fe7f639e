//! `calendar_feeds`: each user's secret feed token, kept only as a SHA-256 hash.

use crate::error::{CalendarError, CalendarResult};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use diesel::{ExpressionMethods as _, OptionalExtension as _, QueryDsl as _};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use epop_core::UserId;
use epop_storage::schema::calendar_feeds;
use sha2::{Digest as _, Sha256};

/// A new random token: 256 bits, URL-safe base64 (43 characters).
pub(crate) fn new_token() -> CalendarResult<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| CalendarError::Internal(format!("no randomness: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The stored form of a token.
pub(crate) fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A strong `ETag` of a feed's text: 128 bits of its SHA-256, quoted.
pub(crate) fn etag(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// Sets `user`'s token hash (replacing the old one).
pub(crate) async fn upsert(
    conn: &mut AsyncPgConnection,
    user: UserId,
    token_hash: &[u8],
    now: DateTime<Utc>,
) -> CalendarResult<()> {
    diesel::insert_into(calendar_feeds::table)
        .values((
            calendar_feeds::user_id.eq(user),
            calendar_feeds::token_hash.eq(token_hash),
            calendar_feeds::created_at.eq(now),
        ))
        .on_conflict(calendar_feeds::user_id)
        .do_update()
        .set((
            calendar_feeds::token_hash.eq(token_hash),
            calendar_feeds::created_at.eq(now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes `user`'s token; false when there was none.
pub(crate) async fn delete(conn: &mut AsyncPgConnection, user: UserId) -> CalendarResult<bool> {
    Ok(diesel::delete(calendar_feeds::table.find(user))
        .execute(conn)
        .await?
        > 0)
}

/// Whose token has this hash.
pub(crate) async fn owner(conn: &mut AsyncPgConnection, token_hash: &[u8]) -> CalendarResult<Option<UserId>> {
    Ok(calendar_feeds::table
        .filter(calendar_feeds::token_hash.eq(token_hash))
        .select(calendar_feeds::user_id)
        .first(conn)
        .await
        .optional()?)
}
