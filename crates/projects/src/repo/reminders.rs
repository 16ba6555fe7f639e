//! `task_due_reminders`: the next due-date reminder of each task that has one ahead, with its queued job.

use crate::error::ProjectsResult;
use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, Int8, Timestamptz, Uuid as SqlUuid};
use diesel::{ExpressionMethods as _, OptionalExtension as _, QueryDsl as _};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use epop_core::{ProjectId, TaskId};
use epop_storage::schema::task_due_reminders;

/// `(task, next_at, job_id)` of the tasks of `tasks` that have a reminder ahead, row-locked until the
/// transaction ends.
pub(crate) async fn lock_of(
    conn: &mut AsyncPgConnection,
    tasks: &[TaskId],
) -> ProjectsResult<Vec<(TaskId, DateTime<Utc>, i64)>> {
    if tasks.is_empty() {
        return Ok(Vec::new());
    }
    Ok(task_due_reminders::table
        .filter(task_due_reminders::task_id.eq_any(tasks))
        .select((
            task_due_reminders::task_id,
            task_due_reminders::next_at,
            task_due_reminders::job_id,
        ))
        .order_by(task_due_reminders::task_id)
        .for_update()
        .load(conn)
        .await?)
}

/// `(next_at, job_id)` of `task`'s reminder, row-locked.
pub(crate) async fn lock(
    conn: &mut AsyncPgConnection,
    task: TaskId,
) -> ProjectsResult<Option<(DateTime<Utc>, i64)>> {
    Ok(task_due_reminders::table
        .find(task)
        .select((task_due_reminders::next_at, task_due_reminders::job_id))
        .for_update()
        .first(conn)
        .await
        .optional()?)
}

/// Writes the schedules `(task, next_at, job_id)` in one statement.
pub(crate) async fn upsert_all(
    conn: &mut AsyncPgConnection,
    rows: &[(TaskId, DateTime<Utc>, i64)],
) -> ProjectsResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let tasks: Vec<TaskId> = rows.iter().map(|r| r.0).collect();
    let next: Vec<DateTime<Utc>> = rows.iter().map(|r| r.1).collect();
    let jobs: Vec<i64> = rows.iter().map(|r| r.2).collect();
    diesel::sql_query(
        "INSERT INTO task_due_reminders (task_id, next_at, job_id) \
         SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::bigint[]) \
         ON CONFLICT (task_id) DO UPDATE SET next_at = excluded.next_at, job_id = excluded.job_id, updated_at = now()",
    )
    .bind::<Array<SqlUuid>, _>(&tasks)
    .bind::<Array<Timestamptz>, _>(&next)
    .bind::<Array<Int8>, _>(&jobs)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes the rows of `tasks`; answers their jobs.
pub(crate) async fn delete(conn: &mut AsyncPgConnection, tasks: &[TaskId]) -> ProjectsResult<Vec<i64>> {
    if tasks.is_empty() {
        return Ok(Vec::new());
    }
    Ok(
        diesel::delete(task_due_reminders::table.filter(task_due_reminders::task_id.eq_any(tasks)))
            .returning(task_due_reminders::job_id)
            .get_results(conn)
            .await?,
    )
}

/// Deletes the rows of `task` and every task under it; answers their jobs.
pub(crate) async fn delete_subtree(conn: &mut AsyncPgConnection, task: TaskId) -> ProjectsResult<Vec<i64>> {
    let jobs: Vec<JobOf> = diesel::sql_query(
        "WITH RECURSIVE tree(id) AS ( \
             SELECT $1::uuid UNION SELECT t.id FROM tasks t JOIN tree ON t.parent_id = tree.id \
         ) DELETE FROM task_due_reminders r USING tree WHERE r.task_id = tree.id RETURNING r.job_id",
    )
    .bind::<SqlUuid, _>(task)
    .load(conn)
    .await?;
    Ok(jobs.into_iter().map(|j| j.job_id).collect())
}

/// Deletes the rows of `project`'s tasks, all of them or (`unassigned_only`) those without an assignee now;
/// answers their jobs.
pub(crate) async fn delete_in_project(
    conn: &mut AsyncPgConnection,
    project: ProjectId,
    unassigned_only: bool,
) -> ProjectsResult<Vec<i64>> {
    let jobs: Vec<JobOf> = diesel::sql_query(
        "DELETE FROM task_due_reminders r USING tasks t \
         WHERE r.task_id = t.id AND t.project_id = $1 AND (NOT $2 OR t.assigned_to IS NULL) RETURNING r.job_id",
    )
    .bind::<SqlUuid, _>(project)
    .bind::<diesel::sql_types::Bool, _>(unassigned_only)
    .load(conn)
    .await?;
    Ok(jobs.into_iter().map(|j| j.job_id).collect())
}

#[derive(diesel::QueryableByName)]
struct JobOf {
    #[diesel(sql_type = Int8)]
    job_id: i64,
}
