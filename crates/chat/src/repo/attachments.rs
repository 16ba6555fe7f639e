//! `message_attachments`: uploaded files, unattached until a message claims them.

use crate::error::ChatResult;
use chrono::{DateTime, Utc};
use diesel::{
    ExpressionMethods as _, Insertable, OptionalExtension as _, QueryDsl as _, Queryable, Selectable,
    SelectableHelper as _,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use epop_core::{AttachmentId, MessageId, UserId};
use epop_storage::schema::{message_attachments, messages};

/// A row of `message_attachments`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = message_attachments, check_for_backend(diesel::pg::Pg))]
pub(crate) struct AttachmentRow {
    pub(crate) id: AttachmentId,
    /// Who uploaded it.
    pub(crate) uploader_id: UserId,
    /// The message it belongs to, once attached.
    pub(crate) message_id: Option<MessageId>,
    /// Where the bytes live in the object store.
    pub(crate) object_key: String,
    /// Name given by the uploader.
    pub(crate) file_name: String,
    pub(crate) content_type: String,
    /// Declared size (checked against the stored object when it is attached).
    pub(crate) file_size: i64,
    /// When the upload slot was reserved (its upload URL works for the upload TTL from then).
    pub(crate) created_at: DateTime<Utc>,
    /// The stored object's ETag when it was attached.
    pub(crate) object_etag: Option<String>,
}

/// A new, unattached upload.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = message_attachments)]
pub(crate) struct NewAttachmentRow {
    pub(crate) id: AttachmentId,
    /// Who uploads it.
    pub(crate) uploader_id: UserId,
    /// Where the bytes will live in the object store.
    pub(crate) object_key: String,
    /// Name given by the uploader.
    pub(crate) file_name: String,
    pub(crate) content_type: String,
    /// Declared size.
    pub(crate) file_size: i64,
}

/// What one uploader holds in uploads not attached to any message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel::QueryableByName)]
pub(crate) struct Unattached {
    /// How many.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub(crate) count: i64,
    /// Their declared sizes, summed.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub(crate) bytes: i64,
    /// When the oldest of them was reserved.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
    pub(crate) oldest: Option<DateTime<Utc>>,
}

/// Serialises the upload reservations of `uploader` until the transaction ends (a transaction-scoped advisory
/// lock), so that concurrent reservations cannot both pass the per-user caps.
pub(crate) async fn lock_reservations_of(conn: &mut AsyncPgConnection, uploader: UserId) -> ChatResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended('epop:uploads:' || $1::text, 0))")
        .bind::<diesel::sql_types::Uuid, _>(uploader)
        .execute(conn)
        .await?;
    Ok(())
}

/// How many uploads `uploader` has not attached, how many bytes they declared, and the oldest one's age.
pub(crate) async fn unattached_of(conn: &mut AsyncPgConnection, uploader: UserId) -> ChatResult<Unattached> {
    Ok(diesel::sql_query(
        "SELECT count(*) AS count, coalesce(sum(file_size), 0)::bigint AS bytes, min(created_at) AS oldest \
         FROM message_attachments WHERE uploader_id = $1 AND message_id IS NULL",
    )
    .bind::<diesel::sql_types::Uuid, _>(uploader)
    .get_result(conn)
    .await?)
}

/// The upload stored (or to be stored) at `object_key`.
pub(crate) async fn find_by_key(
    conn: &mut AsyncPgConnection,
    object_key: &str,
) -> ChatResult<Option<AttachmentRow>> {
    Ok(message_attachments::table
        .filter(message_attachments::object_key.eq(object_key))
        .select(AttachmentRow::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Stores a new, unattached upload.
pub(crate) async fn insert(conn: &mut AsyncPgConnection, row: &NewAttachmentRow) -> ChatResult<()> {
    diesel::insert_into(message_attachments::table)
        .values(row)
        .execute(conn)
        .await?;
    Ok(())
}

/// An upload by id.
pub(crate) async fn find(
    conn: &mut AsyncPgConnection,
    id: AttachmentId,
) -> ChatResult<Option<AttachmentRow>> {
    Ok(message_attachments::table
        .find(id)
        .select(AttachmentRow::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Uploads by id.
pub(crate) async fn find_many(
    conn: &mut AsyncPgConnection,
    ids: &[AttachmentId],
) -> ChatResult<Vec<AttachmentRow>> {
    Ok(message_attachments::table
        .filter(message_attachments::id.eq_any(ids))
        .select(AttachmentRow::as_select())
        .load(conn)
        .await?)
}

/// The attachments of the given messages, in upload order.
pub(crate) async fn of_messages(
    mut conn: &AsyncPgConnection,
    message_ids: &[MessageId],
) -> ChatResult<Vec<AttachmentRow>> {
    Ok(message_attachments::table
        .filter(message_attachments::message_id.eq_any(message_ids))
        .order_by(message_attachments::id.asc())
        .select(AttachmentRow::as_select())
        .load(&mut conn)
        .await?)
}

/// Binds still-unattached uploads of `uploader` to `message`, each with the ETag its object had when it was
/// checked; returns how many were bound.
pub(crate) async fn attach(
    conn: &mut AsyncPgConnection,
    files: &[(AttachmentId, Option<String>)],
    uploader: UserId,
    message: MessageId,
) -> ChatResult<usize> {
    let mut bound = 0;
    // At most 20 files per message: one statement each.
    for (id, etag) in files {
        bound += diesel::update(
            message_attachments::table
                .find(id)
                .filter(message_attachments::uploader_id.eq(uploader))
                .filter(message_attachments::message_id.is_null()),
        )
        .set((
            message_attachments::message_id.eq(message),
            message_attachments::attached_at.eq(diesel::dsl::now),
            message_attachments::object_etag.eq(etag.as_deref()),
        ))
        .execute(conn)
        .await?;
    }
    Ok(bound)
}

/// Locks those of `ids` that `uploader` uploaded and that are still unattached, for this transaction (so that
/// attaching them later in it cannot fail); returns how many.
pub(crate) async fn lock_unattached(
    conn: &mut AsyncPgConnection,
    ids: &[AttachmentId],
    uploader: UserId,
) -> ChatResult<usize> {
    let locked: Vec<AttachmentId> = message_attachments::table
        .filter(message_attachments::id.eq_any(ids))
        .filter(message_attachments::uploader_id.eq(uploader))
        .filter(message_attachments::message_id.is_null())
        .select(message_attachments::id)
        .for_update()
        .load(conn)
        .await?;
    Ok(locked.len())
}

/// Uploads to remove: never attached and older than `cutoff`, or attached to a deleted message and reserved
/// before `closed_before` (their upload URL no longer works, so nothing can be stored at their key again).
pub(crate) async fn sweepable(
    conn: &mut AsyncPgConnection,
    cutoff: DateTime<Utc>,
    closed_before: DateTime<Utc>,
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
        .filter(message_attachments::created_at.lt(closed_before))
        .limit(limit)
        .select(AttachmentRow::as_select())
        .load(conn)
        .await?;
    Ok(stale.into_iter().chain(of_deleted).collect())
}

/// Deletes upload rows.
pub(crate) async fn delete(conn: &mut AsyncPgConnection, ids: &[AttachmentId]) -> ChatResult<usize> {
    Ok(
        diesel::delete(message_attachments::table.filter(message_attachments::id.eq_any(ids)))
            .execute(conn)
            .await?,
    )
}
