//! Comments on tasks: posted by those who may work on the project's tasks, edited and deleted by their
//! authors only, paged oldest first.
//!
//! Design notes:
//! - **Who hears of a comment.** A task's watchers are its creator, its assignees and its commenters
//!   (`task_watchers`, added as they become one). A new comment appends one `TaskCommented` event naming
//!   every watcher who is still a member (a `task_comment` notification each) and the members the body
//!   mentions (`<@USER_ID>`, a `task_mention` notification instead); never the author. The notifications
//!   job writes them in one statement. An edit that mentions someone new notifies only them.
//! - **Live.** Posting, editing and deleting append `TaskCommentChanged` (`task:comment` to the project's
//!   connected members), in the transaction of the change.

use crate::access::Action;
use crate::error::{ProjectsError, ProjectsResult};
use crate::mentions::mentioned;
use crate::model::{Actor, DeletedTaskComment, TaskComment, TaskCommentChange};
use crate::repo::comments::{self as repo_comments, CommentRow, NewCommentRow};
use crate::repo::projects as repo_projects;
use crate::repo::tasks::TaskRow;
use crate::service::{ProjectsService, decode, overfetch};
use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection as _, AsyncPgConnection};
use epop_core::{DomainEvent, Page, PageRequest, TaskCommentId, TaskId, UserId};
use epop_storage::outbox;
use serde::{Deserialize, Serialize};

/// Characters of a comment carried by its notifications.
const PREVIEW_CHARS: usize = 140;

/// Position in a task's comments.
#[derive(Debug, Serialize, Deserialize)]
struct CommentCursor {
    c: DateTime<Utc>,
    i: TaskCommentId,
}

fn comment_from_row(row: CommentRow) -> TaskComment {
    TaskComment {
        id: row.id,
        task_id: row.task_id,
        author_id: row.author_id,
        body: row.body,
        mentions: row.mentions,
        created_at: row.created_at,
        updated_at: row.updated_at,
        edited_at: row.edited_at,
    }
}

fn check_body(body: &str) -> ProjectsResult<()> {
    if body.trim().is_empty() {
        return Err(ProjectsError::invalid("body", "must not be blank"));
    }
    Ok(())
}

impl ProjectsService {
    /// The project members `body` mentions, in order, without `author`.
    async fn mentions_in(
        conn: &mut AsyncPgConnection,
        task: &TaskRow,
        author: UserId,
        body: &str,
    ) -> ProjectsResult<Vec<UserId>> {
        let candidates: Vec<UserId> = mentioned(body).into_iter().filter(|u| *u != author).collect();
        let members = repo_projects::members_among(conn, task.project_id, &candidates).await?;
        Ok(candidates.into_iter().filter(|u| members.contains(u)).collect())
    }

    /// Appends `TaskCommentChanged` for the project's connected members.
    async fn announce_comment(
        conn: &mut AsyncPgConnection,
        task: &TaskRow,
        change: TaskCommentChange,
    ) -> ProjectsResult<()> {
        let member_ids = repo_projects::member_ids(conn, task.project_id).await?;
        outbox::append(
            conn,
            &DomainEvent::TaskCommentChanged {
                project_id: task.project_id,
                task_id: task.id,
                member_ids,
                change,
            },
        )
        .await?;
        Ok(())
    }

    /// Appends `TaskCommented` for `watchers` (`task_comment`) and `mentions` (`task_mention`), when anyone.
    async fn notify_comment(
        conn: &mut AsyncPgConnection,
        task: &TaskRow,
        comment: &CommentRow,
        watchers: Vec<UserId>,
        mentions: Vec<UserId>,
    ) -> ProjectsResult<()> {
        if watchers.is_empty() && mentions.is_empty() {
            return Ok(());
        }
        outbox::append(
            conn,
            &DomainEvent::TaskCommented {
                task_id: task.id,
                project_id: task.project_id,
                comment_id: comment.id,
                title: task.title.clone(),
                author_id: comment.author_id,
                preview: comment.body.chars().take(PREVIEW_CHARS).collect(),
                watchers,
                mentioned: mentions,
            },
        )
        .await?;
        Ok(())
    }

    /// Posts a comment (not `viewer`s); its author then watches the task.
    #[tracing::instrument(skip(self, body))]
    pub async fn create_comment(
        &self,
        actor: Actor,
        task: TaskId,
        body: &str,
    ) -> ProjectsResult<TaskComment> {
        check_body(body)?;
        let limit = self.settings.max_comments_per_task;
        let mut conn = self.pool.get().await?;
        let row = conn
            .transaction::<_, ProjectsError, _>(async |conn| {
                // The task's row lock serializes the count against the limit.
                let task = Self::task_for(conn, actor, task, Action::Comment, true).await?;
                if u64::try_from(repo_comments::count(conn, task.id).await?).unwrap_or(u64::MAX) >= limit {
                    return Err(ProjectsError::LimitReached {
                        what: "comments on one task",
                        limit,
                    });
                }
                let mentions = Self::mentions_in(conn, &task, actor.id, body).await?;
                let row = repo_comments::insert(
                    conn,
                    &NewCommentRow {
                        id: TaskCommentId::new(),
                        task_id: task.id,
                        author_id: actor.id,
                        body,
                        mentions: &mentions,
                    },
                )
                .await?;
                let mut watchers = repo_comments::watchers(conn, task.project_id, task.id).await?;
                watchers.retain(|u| *u != actor.id && !mentions.contains(u));
                if let Some(assignee) = task.assigned_to
                    && assignee != actor.id
                    && !mentions.contains(&assignee)
                    && !watchers.contains(&assignee)
                    && !repo_projects::members_among(conn, task.project_id, &[assignee])
                        .await?
                        .is_empty()
                {
                    watchers.push(assignee);
                }
                repo_comments::watch(conn, task.id, &[actor.id]).await?;
                Self::notify_comment(conn, &task, &row, watchers, mentions).await?;
                let comment = comment_from_row(row.clone());
                Self::announce_comment(conn, &task, TaskCommentChange::Created(comment)).await?;
                Ok(row)
            })
            .await?;
        self.notifier.notify();
        Ok(comment_from_row(row))
    }

    /// One page of a task's comments, oldest first.
    pub async fn comments(
        &self,
        actor: Actor,
        task: TaskId,
        page: &PageRequest,
    ) -> ProjectsResult<Page<TaskComment>> {
        let after = decode::<CommentCursor>(page)?;
        let mut conn = self.pool.get().await?;
        Self::task_for(&mut conn, actor, task, Action::View, false).await?;
        let rows = repo_comments::page(&mut conn, task, after.map(|c| (c.c, c.i)), overfetch(page)).await?;
        Ok(Page::from_overfetch(rows, page.limit, |row| CommentCursor {
            c: row.created_at,
            i: row.id,
        })
        .map(comment_from_row))
    }

    /// The comment, locked, checked to be the caller's own (`Forbidden` otherwise) on a task they may still
    /// comment on.
    async fn own_comment(
        conn: &mut AsyncPgConnection,
        actor: Actor,
        task: TaskId,
        comment: TaskCommentId,
    ) -> ProjectsResult<(TaskRow, CommentRow)> {
        let task = Self::task_for(conn, actor, task, Action::View, false).await?;
        let row = repo_comments::lock(conn, task.id, comment)
            .await?
            .ok_or(ProjectsError::NotFound)?;
        if row.author_id != actor.id {
            return Err(ProjectsError::Forbidden);
        }
        Self::authorize(conn, actor, task.project_id, Action::Comment).await?;
        Ok((task, row))
    }

    /// Edits one's own comment; members it newly mentions are notified.
    #[tracing::instrument(skip(self, body))]
    pub async fn update_comment(
        &self,
        actor: Actor,
        task: TaskId,
        comment: TaskCommentId,
        body: &str,
    ) -> ProjectsResult<TaskComment> {
        check_body(body)?;
        let mut conn = self.pool.get().await?;
        let row = conn
            .transaction::<_, ProjectsError, _>(async |conn| {
                let (task, before) = Self::own_comment(conn, actor, task, comment).await?;
                let mentions = Self::mentions_in(conn, &task, actor.id, body).await?;
                let row = repo_comments::update(conn, comment, body, &mentions).await?;
                let new: Vec<UserId> = mentions
                    .iter()
                    .copied()
                    .filter(|u| !before.mentions.contains(u))
                    .collect();
                Self::notify_comment(conn, &task, &row, Vec::new(), new).await?;
                let out = comment_from_row(row.clone());
                Self::announce_comment(conn, &task, TaskCommentChange::Updated(out)).await?;
                Ok(row)
            })
            .await?;
        self.notifier.notify();
        Ok(comment_from_row(row))
    }

    /// Deletes one's own comment.
    #[tracing::instrument(skip(self))]
    pub async fn delete_comment(
        &self,
        actor: Actor,
        task: TaskId,
        comment: TaskCommentId,
    ) -> ProjectsResult<()> {
        let mut conn = self.pool.get().await?;
        conn.transaction::<_, ProjectsError, _>(async |conn| {
            let (task, _) = Self::own_comment(conn, actor, task, comment).await?;
            repo_comments::delete(conn, comment).await?;
            Self::announce_comment(
                conn,
                &task,
                TaskCommentChange::Deleted(DeletedTaskComment { id: comment }),
            )
            .await
        })
        .await?;
        self.notifier.notify();
        Ok(())
    }
}
