//! `message_attachments`: uploaded files, unattached until a message claims them.

use crate::error::ChatResult;
use chrono::{DateTime, Utc};
use diesel::{
    ExpressionMethods as _, Insertable, OptionalExtension as _, QueryDsl as _, Queryable, Selectable,
    SelectableHelper as _,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use epop_storage::schema::{message_attachments, messages};
use uuid::Uuid;

/// A row of `message_attachments`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = message_attachments, check_for_backend(diesel::pg::Pg))]
pub struct AttachmentRow {
    /// Primary key.
    pub id: Uuid,
    /// Who uploaded it.
    pub uploader_id: Uuid,
    /// The message it belongs to, once attached.
    pub message_id: Option<Uuid>,
    /// Where the bytes live in the object store.
    pub object_key: String,
    /// Name given by the uploader.
    pub file_name: String,
    /// MIME type.
    pub content_type: String,
    /// Declared size.
    pub file_size: i64,
}

/// Stores a new, unattached upload.
pub async fn insert(conn: &mut AsyncPgConnection, row: &AttachmentRow) -> ChatResult<()> {
    diesel::insert_into(message_attachments::table)
        .values(row)
        .execute(conn)
        .await?;
    Ok(())
}

/// An upload by id.
pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> ChatResult<Option<AttachmentRow>> {
    Ok(message_attachments::table
        .find(id)
        .select(AttachmentRow::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Uploads by id.
pub async fn find_many(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> ChatResult<Vec<AttachmentRow>> {
    Ok(message_attachments::table
        .filter(message_attachments::id.eq_any(ids))
        .select(AttachmentRow::as_select())
        .load(conn)
        .await?)
}

/// The attachments of the given messages, in upload order.
pub async fn of_messages(
    conn: &mut AsyncPgConnection,
    message_ids: &[Uuid],
) -> ChatResult<Vec<AttachmentRow>> {
    Ok(message_attachments::table
        .filter(message_attachments::message_id.eq_any(message_ids))
        .order_by(message_attachments::id.asc())
        .select(AttachmentRow::as_select())
        .load(conn)
        .await?)
}

/// Binds still-unattached uploads of `uploader` to `message`; returns how many were bound.
pub async fn attach(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
    uploader: Uuid,
    message: Uuid,
) -> ChatResult<usize> {
    Ok(diesel::update(
        message_attachments::table
            .filter(message_attachments::id.eq_any(ids))
            .filter(message_attachments::uploader_id.eq(uploader))
            .filter(message_attachments::message_id.is_null()),
    )
    .set((
        message_attachments::message_id.eq(message),
        message_attachments::attached_at.eq(diesel::dsl::now),
    ))
    .execute(conn)
    .await?)
}

/// Locks those of `ids` that `uploader` uploaded and that are still unattached, for this transaction (so that
/// attaching them later in it cannot fail); returns how many.
pub async fn lock_unattached(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
    uploader: Uuid,
) -> ChatResult<usize> {
    let locked: Vec<Uuid> = message_attachments::table
        .filter(message_attachments::id.eq_any(ids))
        .filter(message_attachments::uploader_id.eq(uploader))
        .filter(message_attachments::message_id.is_null())
        .select(message_attachments::id)
        .for_update()
        .load(conn)
        .await?;
    Ok(locked.len())
}

/// Uploads to remove: never attached and older than `cutoff`, or attached to a deleted message.
pub async fn sweepable(
    conn: &mut AsyncPgConnection,
    cutoff: DateTime<Utc>,
    limit: i64,
) -> ChatResult<Vec<AttachmentRow>> {
    let stale: Vec<AttachmentRow> = message_attachments::table
        .filter(message_attachments::message_id.is_null())
        .filter(message_attachments::created_at.lt(cutoff))
        .limit(limit)
        .select(AttachmentRow::as_select())
        .load(conn)
        .await?;
    let of_deleted: Vec<AttachmentRow> = message_attachments::table
        .inner_join(messages::table)
        .filter(messages::deleted_at.is_not_null())
        .limit(limit)
        .select(AttachmentRow::as_select())
        .load(conn)
        .await?;
    Ok(stale.into_iter().chain(of_deleted).collect())
}

/// Deletes upload rows.
pub async fn delete(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> ChatResult<usize> {
    Ok(
        diesel::delete(message_attachments::table.filter(message_attachments::id.eq_any(ids)))
            .execute(conn)
            .await?,
    )
}
