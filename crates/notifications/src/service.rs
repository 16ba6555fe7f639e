//! Listing and reading notifications.

use crate::control;
use crate::dnd::{self, DndWindow};
use crate::error::{NotificationsError, NotificationsResult};
use crate::model::Notification;
use crate::repo;
use chrono::{DateTime, Utc};
use epop_core::FieldError;
use epop_core::{Cursor, NotificationId, Page, PageRequest, UserId};
use epop_storage::DbPool;
use serde::{Deserialize, Serialize};
use std::str::FromStr as _;

/// A user's notifications.
#[derive(Clone)]
pub struct NotificationsService {
    pool: DbPool,
}

impl std::fmt::Debug for NotificationsService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotificationsService").finish_non_exhaustive()
    }
}

/// A user's do-not-disturb settings (`GET`/`PUT /api/users/me/notification-settings`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NotificationSettings {
    /// The IANA time zone of the schedule's local times (default `UTC`).
    pub time_zone: String,
    /// Weekly do-not-disturb windows.
    pub dnd_schedule: Vec<DndWindow>,
    /// Manual do-not-disturb until this instant, if it is still ahead.
    pub dnd_until: Option<DateTime<Utc>>,
    /// Whether do-not-disturb is on now.
    pub dnd_active: bool,
    /// When the current do-not-disturb ends (windows that meet and the manual instant count as one); `null`
    /// when it is off.
    pub dnd_ends_at: Option<DateTime<Utc>>,
}

impl NotificationSettings {
    fn view(stored: control::StoredSettings, now: DateTime<Utc>) -> Self {
        let ends = stored.rules().ends_after(now);
        Self {
            time_zone: stored.time_zone,
            dnd_schedule: stored.windows,
            dnd_until: stored.until.filter(|until| *until > now),
            dnd_active: ends.is_some(),
            dnd_ends_at: ends,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct NotificationCursor {
    created_at: DateTime<Utc>,
    id: NotificationId,
}

impl NotificationsService {
    /// Builds the service.
    pub fn new(pool: DbPool) -> Self {
        Self { pool }
    }

    /// A page of `me`'s notifications (only unread ones with `unread_only`), newest first, and how many are
    /// unread in all.
    pub async fn list(
        &self,
        me: UserId,
        unread_only: bool,
        page: &PageRequest,
    ) -> NotificationsResult<(Page<Notification>, i64)> {
        let after = page
            .cursor
            .as_ref()
            .map(|c| Cursor::decode::<NotificationCursor>(c).map_err(|_| NotificationsError::BadCursor))
            .transpose()?;
        let mut conn = self.pool.get().await?;
        let rows = repo::page(
            &mut conn,
            me,
            unread_only,
            after.map(|c| (c.created_at, c.id)),
            i64::from(page.limit),
        )
        .await?;
        let unread = repo::unread_count(&mut conn, me).await?;
        let page = Page::from_overfetch(rows, page.limit, |row| NotificationCursor {
            created_at: row.created_at,
            id: row.id,
        });
        Ok((page.map(Notification::from), unread))
    }

    /// Marks one of `me`'s notifications read (`NotFound` for anyone else's).
    pub async fn read(&self, me: UserId, id: NotificationId) -> NotificationsResult<()> {
        let mut conn = self.pool.get().await?;
        if repo::mark_read(&mut conn, me, id).await? {
            Ok(())
        } else {
            Err(NotificationsError::NotFound)
        }
    }

    /// `me`'s do-not-disturb settings, with whether do-not-disturb is on now and until when.
    pub async fn settings(&self, me: UserId) -> NotificationsResult<NotificationSettings> {
        let mut conn = self.pool.get().await?;
        let stored = control::load(&mut conn, me).await?;
        Ok(NotificationSettings::view(stored, Utc::now()))
    }

    /// Replaces `me`'s do-not-disturb settings: `time_zone` an IANA name, at most [`dnd::MAX_WINDOWS`] weekly
    /// windows, and a manual `dnd_until` in the future (or none). Each broken rule is `Invalid` on its field.
    #[tracing::instrument(skip(self, schedule))]
    pub async fn set_settings(
        &self,
        me: UserId,
        time_zone: &str,
        schedule: Vec<DndWindow>,
        dnd_until: Option<DateTime<Utc>>,
    ) -> NotificationsResult<NotificationSettings> {
        let now = Utc::now();
        let mut errors = Vec::new();
        if chrono_tz::Tz::from_str(time_zone).is_err() {
            errors.push(FieldError::new("time_zone", "not an IANA time zone name"));
        }
        if schedule.len() > dnd::MAX_WINDOWS {
            errors.push(FieldError::new(
                "dnd_schedule",
                format!("at most {} windows", dnd::MAX_WINDOWS),
            ));
        }
        if dnd_until.is_some_and(|until| until <= now) {
            errors.push(FieldError::new("dnd_until", "must be in the future"));
        }
        if !errors.is_empty() {
            return Err(NotificationsError::Invalid(errors));
        }
        let stored = control::StoredSettings {
            time_zone: time_zone.to_owned(),
            windows: schedule,
            until: dnd_until,
        };
        let mut conn = self.pool.get().await?;
        control::store(&mut conn, me, &stored).await?;
        Ok(NotificationSettings::view(stored, now))
    }

    /// Marks all of `me`'s notifications read.
    pub async fn read_all(&self, me: UserId) -> NotificationsResult<()> {
        let mut conn = self.pool.get().await?;
        repo::mark_all_read(&mut conn, me).await?;
        Ok(())
    }
}
