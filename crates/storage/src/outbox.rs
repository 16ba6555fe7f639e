//! The transactional outbox: a domain event is inserted in the same transaction as the change that caused it,
//! so a crash between commit and publish loses nothing. A relay publishes unpublished rows after commit.

use crate::StorageResult;
use crate::schema::outbox;
use diesel::ExpressionMethods as _;
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
