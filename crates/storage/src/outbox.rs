//! The transactional outbox: a domain event is inserted in the same transaction as the change that caused it,
//! so a crash between commit and publish loses nothing. A relay publishes unpublished rows after commit.

use crate::StorageResult;
use crate::schema::outbox;
use diesel::{ExpressionMethods as _, QueryDsl as _};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use epop_core::DomainEvent;

/// Appends `event` to the outbox on `conn` (call it inside the transaction that makes the change) and returns
/// the outbox row id.
pub async fn append(conn: &mut AsyncPgConnection, event: &DomainEvent) -> StorageResult<i64> {
    let payload = serde_json::to_value(event)?;
    let id = diesel::insert_into(outbox::table)
        .values((
            outbox::event_type.eq(event.event_type()),
            outbox::payload.eq(payload),
        ))
        .returning(outbox::id)
        .get_result(conn)
        .await?;
    Ok(id)
}

/// Published events with an id above `after`, oldest first, at most `limit` (for replaying what a reconnecting
/// client missed).
pub async fn published_after(
    conn: &mut AsyncPgConnection,
    after: i64,
    limit: i64,
) -> StorageResult<Vec<(i64, DomainEvent)>> {
    let rows: Vec<(i64, serde_json::Value)> = outbox::table
        .filter(outbox::id.gt(after))
        .filter(outbox::published_at.is_not_null())
        .order_by(outbox::id.asc())
        .limit(limit)
        .select((outbox::id, outbox::payload))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, payload)| serde_json::from_value(payload).ok().map(|event| (id, event)))
        .collect())
}
