//! Listing and reading notifications.

use crate::error::{NotificationsError, NotificationsResult};
use crate::model::Notification;
use crate::repo;
use chrono::{DateTime, Utc};
use epop_core::{Cursor, NotificationId, Page, PageRequest, UserId};
use epop_storage::DbPool;
use serde::{Deserialize, Serialize};

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

    /// Marks all of `me`'s notifications read.
    pub async fn read_all(&self, me: UserId) -> NotificationsResult<()> {
        let mut conn = self.pool.get().await?;
        repo::mark_all_read(&mut conn, me).await?;
        Ok(())
    }
}
