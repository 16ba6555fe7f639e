//! Due-date reminders of tasks (`docs/api.md`, Due-date reminders): the assignee of an open task with a due date
//! gets a `task_due` notification each of `EPOP_TASK_DUE_REMINDERS` minutes before it (by default the day
//! before, 1440, and at the due time, 0), from the durable job queue.
//!
//! One row of `task_due_reminders` per task with a reminder ahead, holding the one job of the `task-reminders`
//! queue queued for it. Every change that can move it (due date, assignee, status, the task's deletion, its
//! assignee leaving the project) recomputes it in its own transaction: the job is moved, replaced (when it is
//! already running) or cancelled, set-based. The job locks the row, announces the reminder due at `next_at`
//! (unless `next_at` is still ahead: another job took over) and chains the next one in one transaction, so a
//! job run twice announces once. Reminders missed by more than [`STALE_AFTER`] are skipped.

use crate::error::{ProjectsError, ProjectsResult};
use crate::model::{Task, TaskStatus};
use crate::repo::reminders as repo;
use crate::repo::tasks::{self as repo_tasks, TaskRow, VisibleFilter};
use crate::service::ProjectsService;
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use diesel_async::{AsyncConnection as _, AsyncPgConnection};
use epop_core::{DomainEvent, ProjectId, TaskId, UserId};
use epop_storage::jobs::{self, JobHandler};
use epop_storage::outbox;
use serde_json::{Value, json};
use std::collections::HashMap;

/// The job queue of due-date reminders.
pub const TASK_REMINDERS_QUEUE: &str = "task-reminders";
/// Reminders due longer ago than this when their job runs are skipped.
pub const STALE_AFTER: Duration = Duration::minutes(10);

/// The first instant after `after` that is `minutes` before `due`, for one of `minutes`.
pub(crate) fn next_due(due: DateTime<Utc>, minutes: &[i32], after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    minutes
        .iter()
        .map(|m| due - Duration::minutes(i64::from(*m)))
        .filter(|at| *at > after)
        .min()
}

/// Whether `row`'s assignee is reminded of it at all.
fn reminded(row: &TaskRow) -> bool {
    row.assigned_to.is_some() && row.due_date.is_some() && row.status != TaskStatus::Done.as_str()
}

impl ProjectsService {
    /// Recomputes the due-date reminders of `rows` (as they are now, in the caller's transaction) and moves,
    /// queues or cancels their jobs; reminders at or before `after` are not due any more.
    pub(crate) async fn refresh_due_reminders(
        &self,
        conn: &mut AsyncPgConnection,
        rows: &[&TaskRow],
        after: DateTime<Utc>,
    ) -> ProjectsResult<()> {
        let ids: Vec<TaskId> = rows.iter().map(|r| r.id).collect();
        let current: HashMap<TaskId, (DateTime<Utc>, i64)> = repo::lock_of(conn, &ids)
            .await?
            .into_iter()
            .map(|(task, next, job)| (task, (next, job)))
            .collect();
        let minutes = &self.settings.due_reminder_minutes;
        let planned: Vec<(TaskId, Option<DateTime<Utc>>)> = rows
            .iter()
            .map(|row| {
                let next = row
                    .due_date
                    .filter(|_| reminded(row))
                    .and_then(|due| next_due(due, minutes, after));
                (row.id, next)
            })
            .filter(|(task, next)| current.get(task).map(|c| c.0) != *next)
            .collect();
        if planned.is_empty() {
            return Ok(());
        }
        let gone: Vec<TaskId> = planned
            .iter()
            .filter(|(task, next)| next.is_none() && current.contains_key(task))
            .map(|(task, _)| *task)
            .collect();
        let cancelled = repo::delete(conn, &gone).await?;
        jobs::cancel_all_queued(conn, &cancelled).await?;
        let moves: Vec<(i64, DateTime<Utc>)> = planned
            .iter()
            .filter_map(|(task, next)| Some((current.get(task)?.1, (*next)?)))
            .collect();
        let moved = jobs::reschedule_all_queued(conn, &moves).await?;
        let mut schedules: Vec<(TaskId, DateTime<Utc>, i64)> = Vec::new();
        let mut fresh: Vec<(TaskId, DateTime<Utc>)> = Vec::new();
        for (task, next) in &planned {
            let Some(at) = next else { continue };
            match current.get(task) {
                Some((_, job)) if moved.contains(job) => schedules.push((*task, *at, *job)),
                _ => fresh.push((*task, *at)),
            }
        }
        let payloads: Vec<(Value, DateTime<Utc>)> = fresh
            .iter()
            .map(|(task, at)| (json!({"task_id": task}), *at))
            .collect();
        let new_ids = jobs::enqueue_all_at(conn, TASK_REMINDERS_QUEUE, &payloads).await?;
        schedules.extend(
            fresh
                .iter()
                .zip(new_ids)
                .map(|((task, at), job)| (*task, *at, job)),
        );
        repo::upsert_all(conn, &schedules).await
    }

    /// Cancels the due-date reminders of `task` and its subtasks (before they are deleted).
    pub(crate) async fn drop_due_reminders(conn: &mut AsyncPgConnection, task: TaskId) -> ProjectsResult<()> {
        let jobs = repo::delete_subtree(conn, task).await?;
        jobs::cancel_all_queued(conn, &jobs).await?;
        Ok(())
    }

    /// Cancels the due-date reminders of `project`'s tasks: all (before the project is deleted) or those left
    /// without an assignee (after a member left).
    pub(crate) async fn drop_project_reminders(
        conn: &mut AsyncPgConnection,
        project: ProjectId,
        unassigned_only: bool,
    ) -> ProjectsResult<()> {
        let jobs = repo::delete_in_project(conn, project, unassigned_only).await?;
        jobs::cancel_all_queued(conn, &jobs).await?;
        Ok(())
    }

    /// Runs a due-date reminder job: announces `task`'s reminder due at its row's `next_at` to its assignee
    /// (unless that is still ahead: another job took over), and chains the next one.
    #[tracing::instrument(skip(self))]
    pub async fn announce_due(&self, task: TaskId) -> ProjectsResult<()> {
        let now = Utc::now();
        let mut conn = self.pool.get().await?;
        let announced = conn
            .transaction::<_, ProjectsError, _>(async |conn| {
                let Some((at, _)) = repo::lock(conn, task).await? else {
                    return Ok(false);
                };
                if at > now + Duration::seconds(1) {
                    return Ok(false);
                }
                // Not locked: changes lock the task, then its reminder row; this job holds the row already.
                let Some(row) = repo_tasks::find(conn, task).await? else {
                    return Ok(false);
                };
                let mut announced = false;
                if let (Some(user), Some(due)) = (row.assigned_to, row.due_date)
                    && reminded(&row)
                    && now - at <= STALE_AFTER
                {
                    for minutes in &self.settings.due_reminder_minutes {
                        if due - Duration::minutes(i64::from(*minutes)) != at {
                            continue;
                        }
                        outbox::append(
                            conn,
                            &DomainEvent::TaskDueSoon {
                                task_id: row.id,
                                project_id: row.project_id,
                                title: row.title.clone(),
                                due_date: due,
                                user_id: user,
                                minutes_before: *minutes,
                            },
                        )
                        .await?;
                        announced = true;
                    }
                }
                self.refresh_due_reminders(conn, &[&row], at.max(now - STALE_AFTER))
                    .await?;
                Ok(announced)
            })
            .await?;
        if announced {
            self.notifier.notify();
        }
        Ok(())
    }
}

impl ProjectsService {
    /// The tasks assigned to `user` that have a due date (their calendar feed shows them), soonest first, at
    /// most `limit`.
    pub async fn due_tasks_of(&self, user: UserId, limit: i64) -> ProjectsResult<Vec<Task>> {
        let mut conn = self.pool.get().await?;
        let as_of = repo_tasks::now(&mut conn).await?;
        let rows = repo_tasks::page_visible(
            &mut conn,
            VisibleFilter {
                member: Some(user),
                assigned_to: Some(user),
                status: None,
                // Only tasks with a due date (a comparison is never true for NULL).
                due_before: DateTime::from_timestamp(253_402_300_799, 0),
                as_of,
            },
            None,
            limit,
        )
        .await?;
        Self::tasks_out(&mut conn, rows).await
    }
}

/// Runs the `task-reminders` jobs.
#[derive(Debug, Clone)]
pub struct DueReminderJobs(pub ProjectsService);

#[async_trait]
impl JobHandler for DueReminderJobs {
    fn queue(&self) -> &'static str {
        TASK_REMINDERS_QUEUE
    }

    async fn run(&self, payload: &Value) -> Result<(), String> {
        let task: TaskId = payload
            .get("task_id")
            .and_then(Value::as_str)
            .and_then(|id| id.parse().ok())
            .ok_or("the job has no task_id")?;
        self.0.announce_due(task).await.map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    #[test]
    fn the_next_reminder_is_the_first_ahead() {
        let due = Utc.with_ymd_and_hms(2030, 5, 6, 9, 0, 0).unwrap();
        let day_before = due - Duration::days(1);
        assert_eq!(
            next_due(due, &[1440, 0], due - Duration::days(2)),
            Some(day_before)
        );
        assert_eq!(next_due(due, &[0, 1440], day_before), Some(due));
        assert_eq!(next_due(due, &[1440, 0], due), None);
        assert_eq!(next_due(due, &[], day_before - Duration::days(1)), None);
    }
}
