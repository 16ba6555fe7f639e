//! Notification control for e-mail and Web Push (`docs/api.md`, Notification control): a user's do-not-disturb
//! settings (`notification_settings`), and the gate every e-mail and push job passes when it runs.
//!
//! The gate runs in the delivery job, not in the projector: creating notifications stays one set-based
//! statement per conversation, and the rules are applied when the delivery is due, with what is true then.
//! - A notification the user has read, or whose message they have read on any device (their read position in
//!   the conversation is at or past it), is dropped.
//! - While the user is in do-not-disturb, the job is put back on the queue for the instant it ends
//!   (`jobs::enqueue_at`), where the gate is asked again.

use crate::dnd::{DndWindow, DoNotDisturb};
use chrono::{DateTime, Utc};
use diesel::{ExpressionMethods as _, OptionalExtension as _, QueryDsl as _};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use epop_core::{ConversationId, NotificationId, UserId};
use epop_storage::schema::{conversation_members, notification_settings, notifications};
use epop_storage::{DbPool, jobs};
use serde_json::Value;
use std::str::FromStr as _;

/// A user's stored do-not-disturb settings.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StoredSettings {
    pub(crate) time_zone: String,
    pub(crate) windows: Vec<DndWindow>,
    pub(crate) until: Option<DateTime<Utc>>,
}

impl StoredSettings {
    /// The settings of a user without a row: no do-not-disturb, times in UTC.
    pub(crate) fn none() -> Self {
        Self {
            time_zone: "UTC".to_owned(),
            windows: Vec::new(),
            until: None,
        }
    }

    /// The rules of these settings (an unknown stored time zone reads as UTC).
    pub(crate) fn rules(&self) -> DoNotDisturb {
        DoNotDisturb {
            time_zone: chrono_tz::Tz::from_str(&self.time_zone).unwrap_or(chrono_tz::UTC),
            windows: self.windows.clone(),
            until: self.until,
        }
    }
}

/// A user's do-not-disturb settings (those of no row when they never set any).
pub(crate) async fn load(
    conn: &mut AsyncPgConnection,
    user: UserId,
) -> Result<StoredSettings, diesel::result::Error> {
    let row: Option<(String, Value, Option<DateTime<Utc>>)> = notification_settings::table
        .find(user)
        .select((
            notification_settings::time_zone,
            notification_settings::dnd_schedule,
            notification_settings::dnd_until,
        ))
        .first(conn)
        .await
        .optional()?;
    Ok(
        row.map_or_else(StoredSettings::none, |(time_zone, schedule, until)| {
            StoredSettings {
                time_zone,
                windows: serde_json::from_value(schedule).unwrap_or_default(),
                until,
            }
        }),
    )
}

/// Replaces a user's do-not-disturb settings.
pub(crate) async fn store(
    conn: &mut AsyncPgConnection,
    user: UserId,
    settings: &StoredSettings,
) -> Result<(), diesel::result::Error> {
    let schedule = serde_json::to_value(&settings.windows).unwrap_or(Value::Array(Vec::new()));
    diesel::insert_into(notification_settings::table)
        .values((
            notification_settings::user_id.eq(user),
            notification_settings::time_zone.eq(&settings.time_zone),
            notification_settings::dnd_schedule.eq(&schedule),
            notification_settings::dnd_until.eq(settings.until),
        ))
        .on_conflict(notification_settings::user_id)
        .do_update()
        .set((
            notification_settings::time_zone.eq(&settings.time_zone),
            notification_settings::dnd_schedule.eq(&schedule),
            notification_settings::dnd_until.eq(settings.until),
            notification_settings::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// What to do with an e-mail or push delivery that is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gate {
    /// Deliver it now.
    Send,
    /// The user has read it (or its message): never deliver it.
    Drop,
    /// The user is in do-not-disturb until then: ask again at that instant.
    DeferUntil(DateTime<Utc>),
}

/// The gate of a delivery of `notification` (a notification as its owner sees it) to `user` at `now`.
pub(crate) async fn gate(
    conn: &mut AsyncPgConnection,
    user: UserId,
    notification: &Value,
    now: DateTime<Utc>,
) -> Result<Gate, diesel::result::Error> {
    let id = notification
        .get("id")
        .and_then(Value::as_str)
        .and_then(|id| id.parse::<NotificationId>().ok());
    if let Some(id) = id {
        let read: Option<bool> = notifications::table
            .find(id)
            .select(notifications::is_read)
            .first(conn)
            .await
            .optional()?;
        // Read, or gone (the account was deleted): nothing to deliver.
        if read != Some(false) {
            return Ok(Gate::Drop);
        }
    }
    let payload = notification.get("payload").unwrap_or(&Value::Null);
    let conversation = payload
        .get("conversation_id")
        .and_then(Value::as_str)
        .and_then(|id| id.parse::<ConversationId>().ok());
    let seq = payload.get("seq").and_then(Value::as_i64);
    // A thread reply is read in its thread, not by the conversation's read position.
    let in_thread = payload.get("thread_root_id").is_some_and(|root| !root.is_null());
    if let (Some(conversation), Some(seq), false) = (conversation, seq, in_thread) {
        let position: Option<i64> = conversation_members::table
            .filter(conversation_members::conversation_id.eq(conversation))
            .filter(conversation_members::user_id.eq(user))
            .select(conversation_members::last_read_seq)
            .first(conn)
            .await
            .optional()?;
        match position {
            // No longer a member, or read on some device since.
            None => return Ok(Gate::Drop),
            Some(position) if position >= seq => return Ok(Gate::Drop),
            Some(_) => {}
        }
    }
    Ok(match load(conn, user).await?.rules().ends_after(now) {
        Some(end) => Gate::DeferUntil(end),
        None => Gate::Send,
    })
}

/// Runs the gate for a delivery job of `queue` with `payload`: `true` when it is to be sent now; otherwise it
/// was dropped, or put back on the queue (the same payload) for when do-not-disturb ends.
pub(crate) async fn admit(pool: &DbPool, queue: &str, user: UserId, payload: &Value) -> Result<bool, String> {
    let notification = payload.get("notification").unwrap_or(&Value::Null);
    let mut conn = pool.get().await.map_err(|e| e.to_string())?;
    match gate(&mut conn, user, notification, Utc::now())
        .await
        .map_err(|e| e.to_string())?
    {
        Gate::Send => Ok(true),
        Gate::Drop => Ok(false),
        Gate::DeferUntil(end) => {
            jobs::enqueue_at(&mut conn, queue, payload, end)
                .await
                .map_err(|e| e.to_string())?;
            Ok(false)
        }
    }
}
