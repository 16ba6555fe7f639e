//! `message_edits`: the texts messages had before their edits.

use crate::error::ChatResult;
use chrono::{DateTime, Utc};
use diesel::{ExpressionMethods as _, QueryDsl as _, Queryable};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use epop_core::MessageId;
use epop_storage::schema::message_edits;

/// A row of `message_edits`: `(id, content, written_at, replaced_at)`.
#[derive(Debug, Clone, Queryable)]
pub(crate) struct VersionRow {
    pub(crate) id: i64,
    pub(crate) content: String,
    pub(crate) written_at: DateTime<Utc>,
    pub(crate) replaced_at: DateTime<Utc>,
}

/// Keeps the message's current text as a version, unless `new_content` is the same text; then drops the
/// versions beyond the newest `keep`. Call it in the edit's transaction, before the edit.
pub(crate) async fn keep_current(
    conn: &mut AsyncPgConnection,
    message: MessageId,
    new_content: &str,
    keep: i64,
) -> ChatResult<()> {
    diesel::sql_query(
        "INSERT INTO message_edits (message_id, content, written_at) \
         SELECT id, content, coalesce(edited_at, created_at) FROM messages \
         WHERE id = $1 AND content <> $2",
    )
    .bind::<diesel::sql_types::Uuid, _>(message)
    .bind::<diesel::sql_types::Text, _>(new_content)
    .execute(conn)
    .await?;
    diesel::sql_query(
        "DELETE FROM message_edits WHERE message_id = $1 AND id < \
         (SELECT min(id) FROM (SELECT id FROM message_edits WHERE message_id = $1 ORDER BY id DESC LIMIT $2) AS newest)",
    )
    .bind::<diesel::sql_types::Uuid, _>(message)
    .bind::<diesel::sql_types::BigInt, _>(keep)
    .execute(conn)
    .await?;
    Ok(())
}

/// Forgets a message's versions (it was deleted).
pub(crate) async fn forget(conn: &mut AsyncPgConnection, message: MessageId) -> ChatResult<()> {
    diesel::delete(message_edits::table.filter(message_edits::message_id.eq(message)))
        .execute(conn)
        .await?;
    Ok(())
}

/// One page of a message's versions, newest first, before version `before`; `limit + 1` rows.
pub(crate) async fn page(
    conn: &mut AsyncPgConnection,
    message: MessageId,
    before: Option<i64>,
    limit: i64,
) -> ChatResult<Vec<VersionRow>> {
    let mut query = message_edits::table
        .filter(message_edits::message_id.eq(message))
        .order_by(message_edits::id.desc())
        .limit(limit + 1)
        .select((
            message_edits::id,
            message_edits::content,
            message_edits::written_at,
            message_edits::replaced_at,
        ))
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(message_edits::id.lt(before));
    }
    Ok(query.load(conn).await?)
}
