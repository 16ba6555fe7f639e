//! Labels of a project (name and colour), assigned to its tasks, and the board: columns by status, ordered by
//! rank ([`crate::rank`]), where moving a task writes that task only.
//!
//! Design notes:
//! - Labels belong to a project; a task carries labels of its own project only (`label_ids`, replaced as a
//!   whole). Names are unique per project whatever their case (a unique index on `lower(name)`), colours are
//!   `#rrggbb` stored in lower case. Deleting a label takes it off every task.
//! - A task's rank is given when it is created (the end of its column), when a `PUT` changes its status (the
//!   end of the new column) and when it is moved (between its new neighbours). Rank changes of one project
//!   take a transaction-level advisory lock, so two tasks placed at the same spot at once get distinct ranks.

use crate::access::Action;
use crate::error::{ProjectsError, ProjectsResult};
use crate::model::{Actor, IfMatch, Label, Task, TaskMove, TaskStatus};
use crate::repo::activity as repo_activity;
use crate::repo::labels::{self as repo_labels, LabelRow};
use crate::repo::tasks as repo_tasks;
use crate::service::{ProjectsService, decode, overfetch};
use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection as _, AsyncPgConnection};
use epop_core::{LabelId, Page, PageRequest, ProjectId, TaskId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Position in a project's labels.
#[derive(Debug, Serialize, Deserialize)]
struct LabelCursor {
    c: DateTime<Utc>,
    i: LabelId,
}

/// Position in a board column.
#[derive(Debug, Serialize, Deserialize)]
struct BoardCursor {
    p: String,
    i: TaskId,
}

fn label_from_row(row: LabelRow) -> Label {
    Label {
        id: row.id,
        project_id: row.project_id,
        name: row.name,
        colour: row.colour,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

/// A colour as stored: `#rrggbb` in lower case.
fn colour(value: &str) -> ProjectsResult<String> {
    let valid =
        value.len() == 7 && value.starts_with('#') && value[1..].bytes().all(|b| b.is_ascii_hexdigit());
    if valid {
        Ok(value.to_ascii_lowercase())
    } else {
        Err(ProjectsError::invalid("colour", "must be #rrggbb (hexadecimal)"))
    }
}

/// A name as stored: trimmed, 1..=50 characters.
fn name(value: &str) -> ProjectsResult<&str> {
    let trimmed = value.trim();
    if trimmed.is_empty() || trimmed.chars().count() > 50 {
        return Err(ProjectsError::invalid(
            "name",
            "must be 1..=50 characters, not only spaces",
        ));
    }
    Ok(trimmed)
}

impl ProjectsService {
    /// `ids` as a task's labels: distinct, in id order, labels of `project`, at most the bound (`Invalid` on
    /// `label_ids` otherwise).
    pub(crate) async fn check_labels(
        &self,
        conn: &mut AsyncPgConnection,
        project: ProjectId,
        ids: &[LabelId],
    ) -> ProjectsResult<Vec<LabelId>> {
        let mut labels = ids.to_vec();
        labels.sort_unstable();
        labels.dedup();
        let limit = self.settings.max_labels_per_task;
        if u64::try_from(labels.len()).unwrap_or(u64::MAX) > limit {
            return Err(ProjectsError::invalid(
                "label_ids",
                format!("a task carries at most {limit} labels"),
            ));
        }
        if repo_labels::of_project(conn, project, &labels).await?.len() != labels.len() {
            return Err(ProjectsError::invalid(
                "label_ids",
                "must be labels of the task's project",
            ));
        }
        Ok(labels)
    }

    /// Creates a label (not `viewer`s).
    #[tracing::instrument(skip(self))]
    pub async fn create_label(
        &self,
        actor: Actor,
        project: ProjectId,
        label_name: &str,
        label_colour: &str,
    ) -> ProjectsResult<Label> {
        let label_name = name(label_name)?;
        let label_colour = colour(label_colour)?;
        let limit = self.settings.max_labels_per_project;
        let mut conn = self.pool.get().await?;
        conn.transaction::<_, ProjectsError, _>(async |conn| {
            crate::repo::projects::lock(conn, project)
                .await?
                .ok_or(ProjectsError::NotFound)?;
            Self::authorize(conn, actor, project, Action::EditTasks).await?;
            if u64::try_from(repo_labels::count(conn, project).await?).unwrap_or(u64::MAX) >= limit {
                return Err(ProjectsError::LimitReached {
                    what: "labels of one project",
                    limit,
                });
            }
            repo_labels::insert(conn, project, label_name, &label_colour)
                .await?
                .map(label_from_row)
                .ok_or(ProjectsError::LabelNameTaken)
        })
        .await
    }

    /// A project's labels, oldest first.
    pub async fn labels(
        &self,
        actor: Actor,
        project: ProjectId,
        page: &PageRequest,
    ) -> ProjectsResult<Page<Label>> {
        let after = decode::<LabelCursor>(page)?;
        let mut conn = self.pool.get().await?;
        Self::authorize(&mut conn, actor, project, Action::View).await?;
        let rows = repo_labels::page(&mut conn, project, after.map(|c| (c.c, c.i)), overfetch(page)).await?;
        Ok(Page::from_overfetch(rows, page.limit, |row| LabelCursor {
            c: row.created_at,
            i: row.id,
        })
        .map(label_from_row))
    }

    /// Renames or recolours a label (not `viewer`s).
    #[tracing::instrument(skip(self))]
    pub async fn update_label(
        &self,
        actor: Actor,
        project: ProjectId,
        id: LabelId,
        new_name: Option<&str>,
        new_colour: Option<&str>,
    ) -> ProjectsResult<Label> {
        let new_name = new_name.map(name).transpose();
        let new_colour = new_colour.map(colour).transpose();
        let (new_name, new_colour) = match (new_name, new_colour) {
            (Ok(n), Ok(c)) => (n, c),
            (Err(ProjectsError::Invalid(mut a)), Err(ProjectsError::Invalid(b))) => {
                a.extend(b);
                return Err(ProjectsError::Invalid(a));
            }
            (Err(e), _) | (_, Err(e)) => return Err(e),
        };
        let mut conn = self.pool.get().await?;
        Self::authorize(&mut conn, actor, project, Action::EditTasks).await?;
        repo_labels::find(&mut conn, project, id)
            .await?
            .ok_or(ProjectsError::NotFound)?;
        repo_labels::update(&mut conn, id, new_name, new_colour.as_deref())
            .await?
            .map(label_from_row)
            .ok_or(ProjectsError::LabelNameTaken)
    }

    /// Deletes a label (not `viewer`s); it leaves every task.
    #[tracing::instrument(skip(self))]
    pub async fn delete_label(&self, actor: Actor, project: ProjectId, id: LabelId) -> ProjectsResult<()> {
        let mut conn = self.pool.get().await?;
        Self::authorize(&mut conn, actor, project, Action::EditTasks).await?;
        repo_labels::find(&mut conn, project, id)
            .await?
            .ok_or(ProjectsError::NotFound)?;
        repo_labels::delete(&mut conn, id).await?;
        Ok(())
    }

    /// One column of a project's board, by rank then id.
    pub async fn board(
        &self,
        actor: Actor,
        project: ProjectId,
        status: TaskStatus,
        page: &PageRequest,
    ) -> ProjectsResult<Page<Task>> {
        let after = decode::<BoardCursor>(page)?;
        let mut conn = self.pool.get().await?;
        Self::authorize(&mut conn, actor, project, Action::View).await?;
        let rows = repo_tasks::page_board(
            &mut conn,
            project,
            status.as_str(),
            after.map(|c| (c.p, c.i)),
            overfetch(page),
        )
        .await?;
        let rows = Page::from_overfetch(rows, page.limit, |row| BoardCursor {
            p: row.position.clone(),
            i: row.id,
        });
        Ok(Page {
            items: Self::tasks_out(&mut conn, rows.items).await?,
            next_cursor: rows.next_cursor,
        })
    }

    /// The rank of a neighbour named in a move: a task of the same project in the target column, not the moved
    /// task itself (`Invalid` on `field` otherwise).
    async fn neighbour_rank(
        conn: &mut AsyncPgConnection,
        project: ProjectId,
        status: TaskStatus,
        moved: TaskId,
        neighbour: TaskId,
        field: &str,
    ) -> ProjectsResult<(String, TaskId)> {
        match repo_tasks::find(conn, neighbour).await? {
            Some(row) if row.project_id == project && row.status == status.as_str() && row.id != moved => {
                Ok((row.position, row.id))
            }
            _ => Err(ProjectsError::invalid(
                field,
                "must be another task of the same project in the target column",
            )),
        }
    }

    /// Moves a task on the board (not `viewer`s): into the column `status` (its own by default), right after
    /// `after_id` and/or right before `before_id` (neither: the end of the column). Only the moved task
    /// changes; with `if_match`, its version must be one of those. Recorded in its activity.
    #[tracing::instrument(skip(self))]
    pub async fn move_task(
        &self,
        actor: Actor,
        id: TaskId,
        to: &TaskMove,
        if_match: Option<&IfMatch>,
    ) -> ProjectsResult<Task> {
        let mut conn = self.pool.get().await?;
        let task = conn
            .transaction::<_, ProjectsError, _>(async |conn| {
                let current = Self::task_for(conn, actor, id, Action::EditTasks, true).await?;
                if let Some(IfMatch(versions)) = if_match
                    && !versions.contains(&current.version)
                {
                    return Err(ProjectsError::VersionMismatch {
                        current: current.version,
                    });
                }
                let project = current.project_id;
                let status = match to.status {
                    Some(status) => status,
                    None => current.status.parse().unwrap_or(TaskStatus::Todo),
                };
                repo_tasks::lock_board(conn, project).await?;
                let after = match to.after_id {
                    Some(n) => Some(Self::neighbour_rank(conn, project, status, id, n, "after_id").await?),
                    None => None,
                };
                let before = match to.before_id {
                    Some(n) => Some(Self::neighbour_rank(conn, project, status, id, n, "before_id").await?),
                    None => None,
                };
                let (low, high) = match (after, before) {
                    (Some(a), Some(b)) => {
                        if (a.0.as_str(), a.1) >= (b.0.as_str(), b.1) {
                            return Err(ProjectsError::invalid("before_id", "must come after after_id"));
                        }
                        let next = repo_tasks::neighbour(
                            conn,
                            project,
                            status.as_str(),
                            Some((&a.0, a.1)),
                            false,
                            id,
                        )
                        .await?;
                        if next.as_deref() != Some(b.0.as_str()) {
                            return Err(ProjectsError::invalid(
                                "before_id",
                                "must be the task right after after_id",
                            ));
                        }
                        (Some(a.0), Some(b.0))
                    }
                    (Some(a), None) => {
                        let next = repo_tasks::neighbour(
                            conn,
                            project,
                            status.as_str(),
                            Some((&a.0, a.1)),
                            false,
                            id,
                        )
                        .await?;
                        (Some(a.0), next)
                    }
                    (None, Some(b)) => {
                        let previous = repo_tasks::neighbour(
                            conn,
                            project,
                            status.as_str(),
                            Some((&b.0, b.1)),
                            true,
                            id,
                        )
                        .await?;
                        (previous, Some(b.0))
                    }
                    (None, None) => (
                        repo_tasks::neighbour(conn, project, status.as_str(), None, false, id).await?,
                        None,
                    ),
                };
                let field = if to.before_id.is_some() {
                    "before_id"
                } else {
                    "after_id"
                };
                let position = crate::service::rank_between(low.as_deref(), high.as_deref(), field)?;
                let row = repo_tasks::update(
                    conn,
                    id,
                    &repo_tasks::TaskChangeset {
                        status: Some(status.as_str()),
                        position: Some(&position),
                        ..Default::default()
                    },
                )
                .await?;
                let mut changes = Vec::new();
                if row.status != current.status {
                    changes.push((
                        "status",
                        Value::from(current.status.clone()),
                        Value::from(row.status.clone()),
                    ));
                }
                if row.position != current.position {
                    changes.push((
                        "position",
                        Value::from(current.position.clone()),
                        Value::from(row.position.clone()),
                    ));
                }
                repo_activity::record(conn, id, actor.id, &changes).await?;
                self.recur(conn, actor, &current, &row).await?;
                self.refresh_due_reminders(conn, &[&row], Utc::now()).await?;
                let task = Self::task_out(conn, row).await?;
                Self::announce_task(conn, project, id, Some(&task)).await?;
                Ok(task)
            })
            .await?;
        self.notifier.notify();
        Ok(task)
    }
}
