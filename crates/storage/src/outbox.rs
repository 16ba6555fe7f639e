//! The transactional outbox: a domain event is inserted in the same transaction as the change that caused it,
//! so a crash between commit and publish loses nothing. The relay ([`crate::events`]) gives committed rows
//! their position in publish order; readers that resume (a recovering socket, a node that missed messages)
//! read by position.

use crate::StorageResult;
use crate::schema::{outbox, outbox_positions};
use diesel::{ExpressionMethods as _, QueryDsl as _};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use epop_core::{ConversationId, DomainEvent, UserId};
use serde::{Deserialize, Serialize};

/// A domain event with its position in publish order (0 for an ephemeral event, which has none). Defined
/// here, where positioned events are read back, so that the outbox does not depend on the relay
/// ([`crate::events`] uses this module, never the other way round).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishedEvent {
    /// Position in publish order: 1, 2, 3 … across all nodes, assigned by the relay (typing and presence are
    /// live signals of the gateway and never outbox events).
    pub position: i64,
    /// The event as its service wrote it in the same transaction as the change.
    pub event: DomainEvent,
}

/// Who an event is for, stored beside it so that a replay filters in SQL: the conversation whose members see
/// it, or the one user it is addressed to.
fn audience(event: &DomainEvent) -> (Option<ConversationId>, Option<UserId>) {
    match event {
        DomainEvent::MessageCreated { conversation_id, .. }
        | DomainEvent::MessageUpdated { conversation_id, .. }
        | DomainEvent::MessageDeleted { conversation_id, .. }
        | DomainEvent::ConversationCreated { conversation_id, .. }
        | DomainEvent::ConversationMembersChanged { conversation_id, .. }
        | DomainEvent::ReadPositionMoved { conversation_id, .. }
        | DomainEvent::ThreadUpdated { conversation_id, .. }
        | DomainEvent::ReactionsChanged { conversation_id, .. }
        | DomainEvent::PinsChanged { conversation_id, .. } => (Some(*conversation_id), None),
        DomainEvent::SessionsRevoked { user_id }
        | DomainEvent::SessionEnded { user_id, .. }
        | DomainEvent::NotificationCreated { user_id, .. }
        | DomainEvent::ThreadRead { user_id, .. }
        | DomainEvent::ReadPositionMovedBack { user_id, .. }
        | DomainEvent::ScheduledMessageFailed { user_id, .. }
        | DomainEvent::ReminderDue { user_id, .. }
        | DomainEvent::ScheduledMessageChanged { user_id, .. }
        | DomainEvent::ReminderChanged { user_id, .. } => (None, Some(*user_id)),
        DomainEvent::TaskAssigned { assigned_to, .. } => (None, Some(*assigned_to)),
        DomainEvent::TaskDueSoon { user_id, .. } => (None, Some(*user_id)),
        DomainEvent::ProjectMemberAdded { user_id, .. } => (None, Some(*user_id)),
        // Calendar notices reach their users as notifications. Task events are project-wide and live only: a
        // recovering socket does not replay them (it reloads the board).
        DomainEvent::CalendarNotice { .. }
        | DomainEvent::TaskCommented { .. }
        | DomainEvent::TaskUpdated { .. }
        | DomainEvent::TaskCommentChanged { .. } => (None, None),
    }
}

/// Appends `event` to the outbox on `conn` (call it inside the transaction that makes the change) and returns
/// the outbox row id.
pub async fn append(conn: &mut AsyncPgConnection, event: &DomainEvent) -> StorageResult<i64> {
    let payload = serde_json::to_value(event)?;
    let (conversation, user) = audience(event);
    let id = diesel::insert_into(outbox::table)
        .values((
            outbox::event_type.eq(event.event_type()),
            outbox::payload.eq(payload),
            outbox::conversation_id.eq(conversation),
            outbox::user_id.eq(user),
        ))
        .returning(outbox::id)
        .get_result(conn)
        .await?;
    Ok(id)
}

/// Appends several events in one statement (set-based producers such as the notifications jobs).
pub async fn append_all(conn: &mut AsyncPgConnection, events: &[DomainEvent]) -> StorageResult<usize> {
    if events.is_empty() {
        return Ok(0);
    }
    let mut rows = Vec::with_capacity(events.len());
    for event in events {
        let (conversation, user) = audience(event);
        rows.push((
            outbox::event_type.eq(event.event_type()),
            outbox::payload.eq(serde_json::to_value(event)?),
            outbox::conversation_id.eq(conversation),
            outbox::user_id.eq(user),
        ));
    }
    Ok(diesel::insert_into(outbox::table)
        .values(rows)
        .execute(conn)
        .await?)
}

/// Gives the oldest `limit` unpublished rows (by id) the next positions and marks them published, in one
/// statement; returns `(position, payload)` in position order. Only the relay calls it, under its lock.
pub(crate) async fn assign_positions(
    conn: &mut AsyncPgConnection,
    limit: i64,
) -> StorageResult<Vec<(i64, serde_json::Value)>> {
    let mut rows: Vec<PositionedRow> = diesel::sql_query(
        "WITH batch AS ( \
             SELECT id, row_number() OVER (ORDER BY id) AS ord \
             FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1 \
         ), counter AS ( \
             UPDATE outbox_positions SET last = last + (SELECT count(*) FROM batch) \
             RETURNING last - (SELECT count(*) FROM batch) AS base \
         ) \
         UPDATE outbox o SET position = counter.base + batch.ord, published_at = now() \
         FROM batch, counter WHERE o.id = batch.id \
         RETURNING o.position, o.payload",
    )
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .load(conn)
    .await?;
    rows.sort_unstable_by_key(|row| row.position);
    Ok(rows.into_iter().map(|row| (row.position, row.payload)).collect())
}

#[derive(diesel::QueryableByName)]
struct PositionedRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    position: i64,
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    payload: serde_json::Value,
}

/// The newest position handed out (0 before the first event).
pub async fn newest_position(conn: &mut AsyncPgConnection) -> StorageResult<i64> {
    Ok(outbox_positions::table
        .select(outbox_positions::last)
        .first(conn)
        .await?)
}

fn decode(rows: Vec<(Option<i64>, serde_json::Value)>) -> Vec<PublishedEvent> {
    rows.into_iter()
        .filter_map(|(position, payload)| {
            let event = serde_json::from_value(payload).ok()?;
            Some(PublishedEvent {
                position: position?,
                event,
            })
        })
        .collect()
}

/// Published events with a position strictly between `after` and `before`, in order, at most `limit`.
pub async fn published_between(
    conn: &mut AsyncPgConnection,
    after: i64,
    before: i64,
    limit: i64,
) -> StorageResult<Vec<PublishedEvent>> {
    let rows: Vec<(Option<i64>, serde_json::Value)> = outbox::table
        .filter(outbox::position.gt(after))
        .filter(outbox::position.lt(before))
        .order_by(outbox::position.asc())
        .limit(limit)
        .select((outbox::position, outbox::payload))
        .load(conn)
        .await?;
    Ok(decode(rows))
}

/// What a user missed after `after`: published events of `conversations` or addressed to `user`, in order, at
/// most `limit` (a recovering socket's replay; the filter runs in the database).
pub async fn published_for(
    conn: &mut AsyncPgConnection,
    after: i64,
    conversations: &[ConversationId],
    user: UserId,
    limit: i64,
) -> StorageResult<Vec<PublishedEvent>> {
    use diesel::BoolExpressionMethods as _;
    let rows: Vec<(Option<i64>, serde_json::Value)> = outbox::table
        .filter(outbox::position.gt(after))
        .filter(
            outbox::conversation_id
                .eq_any(conversations)
                .or(outbox::user_id.eq(user)),
        )
        .order_by(outbox::position.asc())
        .limit(limit)
        .select((outbox::position, outbox::payload))
        .load(conn)
        .await?;
    Ok(decode(rows))
}

/// Removes rows published more than `age` ago (replays and catch-up reads never go back that far).
pub async fn purge_published_before(
    conn: &mut AsyncPgConnection,
    age: chrono::Duration,
) -> StorageResult<usize> {
    let cutoff = chrono::Utc::now() - age;
    Ok(
        diesel::delete(outbox::table.filter(outbox::published_at.lt(cutoff)))
            .execute(conn)
            .await?,
    )
}
