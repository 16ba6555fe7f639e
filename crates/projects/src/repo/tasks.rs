//! `tasks`.

use crate::error::ProjectsResult;
use chrono::{DateTime, Utc};
use diesel::{
    BoolExpressionMethods as _, ExpressionMethods as _, NullableExpressionMethods as _,
    OptionalExtension as _, PgSortExpressionMethods as _, QueryDsl as _, SelectableHelper as _,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use epop_core::{LabelId, ProjectId, TaskId, UserId};
use epop_storage::schema::{project_members, task_labels, tasks};

/// A row of `tasks`.
#[derive(Debug, Clone, diesel::Queryable, diesel::Selectable)]
#[diesel(table_name = tasks, check_for_backend(diesel::pg::Pg))]
pub(crate) struct TaskRow {
    pub(crate) id: TaskId,
    pub(crate) project_id: ProjectId,
    pub(crate) title: String,
    pub(crate) description: String,
    /// `todo`, `in_progress`, `in_review` or `done`.
    pub(crate) status: String,
    pub(crate) assigned_to: Option<UserId>,
    pub(crate) due_date: Option<DateTime<Utc>>,
    /// Bumped on every change.
    pub(crate) version: i64,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
    /// The parent task, if a subtask.
    pub(crate) parent_id: Option<TaskId>,
    /// Rank in its status column.
    pub(crate) position: String,
    /// `daily`, `weekly`, `monthly` or `yearly`, with `recurrence_interval`.
    pub(crate) recurrence_frequency: Option<String>,
    pub(crate) recurrence_interval: Option<i32>,
    /// The task whose completion created this one.
    pub(crate) recurred_from: Option<TaskId>,
}

/// A new row of `tasks`.
#[derive(Debug, diesel::Insertable)]
#[diesel(table_name = tasks)]
pub(crate) struct NewTaskRow<'a> {
    pub(crate) id: TaskId,
    pub(crate) project_id: ProjectId,
    pub(crate) title: &'a str,
    pub(crate) description: &'a str,
    pub(crate) status: &'a str,
    pub(crate) assigned_to: Option<UserId>,
    pub(crate) due_date: Option<DateTime<Utc>>,
    pub(crate) created_by: UserId,
    pub(crate) parent_id: Option<TaskId>,
    pub(crate) position: &'a str,
    pub(crate) recurrence_frequency: Option<&'a str>,
    pub(crate) recurrence_interval: Option<i32>,
    pub(crate) recurred_from: Option<TaskId>,
}

/// A partial update of `tasks`: an outer `None` leaves the column alone, `Some(None)` sets it to `NULL`.
#[derive(Debug, Default, diesel::AsChangeset)]
#[diesel(table_name = tasks)]
pub(crate) struct TaskChangeset<'a> {
    pub(crate) title: Option<&'a str>,
    pub(crate) description: Option<&'a str>,
    pub(crate) status: Option<&'a str>,
    /// New assignee or none.
    pub(crate) assigned_to: Option<Option<UserId>>,
    /// New due date or none.
    pub(crate) due_date: Option<Option<DateTime<Utc>>>,
    /// New parent or none.
    pub(crate) parent_id: Option<Option<TaskId>>,
    /// New rank (with a new status, at the end of its column).
    pub(crate) position: Option<&'a str>,
    /// New recurrence (both or neither).
    pub(crate) recurrence_frequency: Option<Option<&'a str>>,
    pub(crate) recurrence_interval: Option<Option<i32>>,
}

/// Inserts a task.
pub(crate) async fn insert(conn: &mut AsyncPgConnection, row: &NewTaskRow<'_>) -> ProjectsResult<TaskRow> {
    Ok(diesel::insert_into(tasks::table)
        .values(row)
        .returning(TaskRow::as_returning())
        .get_result(conn)
        .await?)
}

/// The task, if it exists.
pub(crate) async fn find(conn: &mut AsyncPgConnection, id: TaskId) -> ProjectsResult<Option<TaskRow>> {
    Ok(tasks::table
        .find(id)
        .select(TaskRow::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// The task, row-locked until the transaction ends.
pub(crate) async fn lock(conn: &mut AsyncPgConnection, id: TaskId) -> ProjectsResult<Option<TaskRow>> {
    Ok(tasks::table
        .find(id)
        .select(TaskRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?)
}

/// Applies `changes`, bumps `version` and `updated_at`.
pub(crate) async fn update(
    conn: &mut AsyncPgConnection,
    id: TaskId,
    changes: &TaskChangeset<'_>,
) -> ProjectsResult<TaskRow> {
    Ok(diesel::update(tasks::table.find(id))
        .set((
            changes,
            tasks::version.eq(tasks::version + 1),
            tasks::updated_at.eq(diesel::dsl::now),
        ))
        .returning(TaskRow::as_returning())
        .get_result(conn)
        .await?)
}

/// Deletes a task; returns whether it existed.
pub(crate) async fn delete(conn: &mut AsyncPgConnection, id: TaskId) -> ProjectsResult<bool> {
    Ok(diesel::delete(tasks::table.find(id)).execute(conn).await? == 1)
}

/// Unassigns `user`'s open tasks (status other than `done`) in the project and records it in their activity
/// (as done by `actor`), in one statement; returns how many.
pub(crate) async fn unassign_open(
    conn: &mut AsyncPgConnection,
    project: ProjectId,
    user: UserId,
    actor: UserId,
) -> ProjectsResult<usize> {
    Ok(diesel::sql_query(
        "WITH unassigned AS ( \
             UPDATE tasks SET assigned_to = NULL, version = version + 1, updated_at = now() \
             WHERE project_id = $1 AND assigned_to = $2 AND status <> 'done' RETURNING id \
         ) INSERT INTO task_activity (task_id, actor_id, field, old_value, new_value) \
         SELECT id, $3, 'assigned_to', to_jsonb($2::text), 'null'::jsonb FROM unassigned",
    )
    .bind::<diesel::sql_types::Uuid, _>(project)
    .bind::<diesel::sql_types::Uuid, _>(user)
    .bind::<diesel::sql_types::Uuid, _>(actor)
    .execute(conn)
    .await?)
}

/// The filters of [`page_in_project`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ProjectFilter<'a> {
    pub(crate) status: Option<&'a str>,
    pub(crate) assigned_to: Option<UserId>,
    /// Only tasks with this label.
    pub(crate) label: Option<LabelId>,
    /// Due at or after.
    pub(crate) due_after: Option<DateTime<Utc>>,
    /// Due strictly before.
    pub(crate) due_before: Option<DateTime<Utc>>,
    /// Every word in the title or description (`tasks_text_idx`).
    pub(crate) text: Option<&'a str>,
}

/// One page of a project's tasks by `(created_at, id)`, oldest first.
pub(crate) async fn page_in_project(
    conn: &mut AsyncPgConnection,
    project: ProjectId,
    filter: ProjectFilter<'_>,
    after: Option<(DateTime<Utc>, TaskId)>,
    limit: i64,
) -> ProjectsResult<Vec<TaskRow>> {
    let mut query = tasks::table
        .filter(tasks::project_id.eq(project))
        .select(TaskRow::as_select())
        .into_boxed();
    if let Some(status) = filter.status {
        query = query.filter(tasks::status.eq(status.to_owned()));
    }
    if let Some(user) = filter.assigned_to {
        query = query.filter(tasks::assigned_to.eq(user));
    }
    if let Some(label) = filter.label {
        query = query.filter(
            tasks::id.eq_any(
                task_labels::table
                    .filter(task_labels::label_id.eq(label))
                    .select(task_labels::task_id),
            ),
        );
    }
    if let Some(from) = filter.due_after {
        query = query.filter(tasks::due_date.ge(from));
    }
    if let Some(before) = filter.due_before {
        query = query.filter(tasks::due_date.lt(before));
    }
    if let Some(text) = filter.text {
        query = query.filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>(
                "to_tsvector('simple', tasks.title || ' ' || tasks.description) @@ plainto_tsquery('simple', ",
            )
            .bind::<diesel::sql_types::Text, _>(text.to_owned())
            .sql(")"),
        );
    }
    if let Some((created_at, id)) = after {
        query = query.filter(
            tasks::created_at
                .gt(created_at)
                .or(tasks::created_at.eq(created_at).and(tasks::id.gt(id))),
        );
    }
    Ok(query
        .order((tasks::created_at.asc(), tasks::id.asc()))
        .limit(limit)
        .load(conn)
        .await?)
}

/// One page of a board column (a project's tasks of one status) by `(position, id)`.
pub(crate) async fn page_board(
    conn: &mut AsyncPgConnection,
    project: ProjectId,
    status: &str,
    after: Option<(String, TaskId)>,
    limit: i64,
) -> ProjectsResult<Vec<TaskRow>> {
    let mut query = tasks::table
        .filter(tasks::project_id.eq(project))
        .filter(tasks::status.eq(status.to_owned()))
        .select(TaskRow::as_select())
        .into_boxed();
    if let Some((position, id)) = after {
        query = query.filter(
            tasks::position
                .gt(position.clone())
                .or(tasks::position.eq(position).and(tasks::id.gt(id))),
        );
    }
    Ok(query
        .order((tasks::position.asc(), tasks::id.asc()))
        .limit(limit)
        .load(conn)
        .await?)
}

/// Serializes rank changes of one project's board until the transaction ends (two tasks placed at once in the
/// same spot would otherwise get the same rank).
pub(crate) async fn lock_board(conn: &mut AsyncPgConnection, project: ProjectId) -> ProjectsResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended('epop.task_board:' || $1::text, 0))")
        .bind::<diesel::sql_types::Uuid, _>(project)
        .execute(conn)
        .await?;
    Ok(())
}

/// The rank of the task next to `from` in a column (`(position, id)` after it, or before it with `before`),
/// leaving out `skip`; `from` `None` means the column's end (the last rank, or the first with `before`).
pub(crate) async fn neighbour(
    conn: &mut AsyncPgConnection,
    project: ProjectId,
    status: &str,
    from: Option<(&str, TaskId)>,
    before: bool,
    skip: TaskId,
) -> ProjectsResult<Option<String>> {
    let mut query = tasks::table
        .filter(tasks::project_id.eq(project))
        .filter(tasks::status.eq(status.to_owned()))
        .filter(tasks::id.ne(skip))
        .select(tasks::position)
        .into_boxed();
    match (from, before) {
        (Some((position, id)), false) => {
            query = query
                .filter(
                    tasks::position
                        .gt(position.to_owned())
                        .or(tasks::position.eq(position.to_owned()).and(tasks::id.gt(id))),
                )
                .order((tasks::position.asc(), tasks::id.asc()));
        }
        (Some((position, id)), true) => {
            query = query
                .filter(
                    tasks::position
                        .lt(position.to_owned())
                        .or(tasks::position.eq(position.to_owned()).and(tasks::id.lt(id))),
                )
                .order((tasks::position.desc(), tasks::id.desc()));
        }
        (None, false) => query = query.order((tasks::position.desc(), tasks::id.desc())),
        (None, true) => query = query.order((tasks::position.asc(), tasks::id.asc())),
    }
    Ok(query.first(conn).await.optional()?)
}

/// Where a page of the cross-project task list starts: after this `(due_date, id)`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DueKey {
    /// The due date of the last task seen (`None` sorts last).
    pub(crate) due_date: Option<DateTime<Utc>>,
    pub(crate) id: TaskId,
}

/// The filters of [`page_visible`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct VisibleFilter<'a> {
    /// Only projects this user is a member of; `None` for every project (a global admin).
    pub(crate) member: Option<UserId>,
    /// Only tasks assigned to this user.
    pub(crate) assigned_to: Option<UserId>,
    /// Only tasks with this status.
    pub(crate) status: Option<&'a str>,
    /// Only tasks due strictly before this.
    pub(crate) due_before: Option<DateTime<Utc>>,
    /// Only tasks created at or before this (the first page's moment).
    pub(crate) as_of: DateTime<Utc>,
}

/// One page of tasks across projects by `(due_date NULLS LAST, id)`.
pub(crate) async fn page_visible(
    conn: &mut AsyncPgConnection,
    filter: VisibleFilter<'_>,
    after: Option<DueKey>,
    limit: i64,
) -> ProjectsResult<Vec<TaskRow>> {
    let mut query = tasks::table
        .filter(tasks::created_at.le(filter.as_of))
        .select(TaskRow::as_select())
        .into_boxed();
    if let Some(member) = filter.member {
        query = query.filter(
            tasks::project_id.eq_any(
                project_members::table
                    .filter(project_members::user_id.eq(member))
                    .select(project_members::project_id),
            ),
        );
    }
    if let Some(user) = filter.assigned_to {
        query = query.filter(tasks::assigned_to.eq(user));
    }
    if let Some(status) = filter.status {
        query = query.filter(tasks::status.eq(status.to_owned()));
    }
    if let Some(before) = filter.due_before {
        query = query.filter(tasks::due_date.lt(before));
    }
    match after {
        Some(DueKey {
            due_date: Some(due),
            id,
        }) => {
            query = query.filter(
                tasks::due_date
                    .is_null()
                    .or(tasks::due_date.assume_not_null().gt(due))
                    .or(tasks::due_date.assume_not_null().eq(due).and(tasks::id.gt(id))),
            );
        }
        Some(DueKey { due_date: None, id }) => {
            query = query.filter(tasks::due_date.is_null().and(tasks::id.gt(id)));
        }
        None => {}
    }
    Ok(query
        .order((tasks::due_date.asc().nulls_last(), tasks::id.asc()))
        .limit(limit)
        .load(conn)
        .await?)
}

/// The database's current time (the clock that stamps `created_at`).
pub(crate) async fn now(conn: &mut AsyncPgConnection) -> ProjectsResult<DateTime<Utc>> {
    Ok(diesel::select(diesel::dsl::sql::<diesel::sql_types::Timestamptz>(
        "statement_timestamp()",
    ))
    .get_result(conn)
    .await?)
}

/// `(parent, done, total)` of the given tasks that have subtasks, in one statement.
pub(crate) async fn progress_of(
    conn: &mut AsyncPgConnection,
    ids: &[TaskId],
) -> ProjectsResult<Vec<(TaskId, i64, i64)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        parent_id: TaskId,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        done: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        total: i64,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT parent_id, count(*) FILTER (WHERE status = 'done') AS done, count(*) AS total \
         FROM tasks WHERE parent_id = ANY($1) GROUP BY parent_id",
    )
    .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(ids)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.parent_id, r.done, r.total)).collect())
}

/// Serializes changes to the task trees of one project until the transaction ends, so that two concurrent
/// moves cannot together make a cycle or pass the depth limit.
pub(crate) async fn lock_tree(conn: &mut AsyncPgConnection, project: ProjectId) -> ProjectsResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended('epop.task_tree:' || $1::text, 0))")
        .bind::<diesel::sql_types::Uuid, _>(project)
        .execute(conn)
        .await?;
    Ok(())
}

/// The path from `parent` up to its top-level task: how many tasks it has (`parent`'s depth, a top-level task
/// being 1) and whether `moved` is on it (making `moved` a child of `parent` would close a cycle). The walk
/// stops after `bound` steps.
pub(crate) async fn ancestry(
    conn: &mut AsyncPgConnection,
    parent: TaskId,
    moved: Option<TaskId>,
    bound: i32,
) -> ProjectsResult<(i32, bool)> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Integer>)]
        depth: Option<i32>,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Bool>)]
        cycle: Option<bool>,
    }
    let row: Row = diesel::sql_query(
        "WITH RECURSIVE up(id, parent_id, depth) AS ( \
             SELECT id, parent_id, 1 FROM tasks WHERE id = $1 \
             UNION ALL \
             SELECT t.id, t.parent_id, up.depth + 1 FROM tasks t JOIN up ON t.id = up.parent_id \
             WHERE up.depth < $3 \
         ) SELECT max(depth) AS depth, bool_or(id = $2) AS cycle FROM up",
    )
    .bind::<diesel::sql_types::Uuid, _>(parent)
    .bind::<diesel::sql_types::Nullable<diesel::sql_types::Uuid>, _>(moved)
    .bind::<diesel::sql_types::Integer, _>(bound)
    .get_result(conn)
    .await?;
    Ok((row.depth.unwrap_or(0), row.cycle.unwrap_or(false)))
}

/// How many levels the subtree of `task` has (1 without subtasks), walking at most `bound` levels.
pub(crate) async fn height(conn: &mut AsyncPgConnection, task: TaskId, bound: i32) -> ProjectsResult<i32> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Integer>)]
        height: Option<i32>,
    }
    let row: Row = diesel::sql_query(
        "WITH RECURSIVE down(id, level) AS ( \
             SELECT id, 1 FROM tasks WHERE id = $1 \
             UNION ALL \
             SELECT t.id, down.level + 1 FROM tasks t JOIN down ON t.parent_id = down.id \
             WHERE down.level < $2 \
         ) SELECT max(level) AS height FROM down",
    )
    .bind::<diesel::sql_types::Uuid, _>(task)
    .bind::<diesel::sql_types::Integer, _>(bound)
    .get_result(conn)
    .await?;
    Ok(row.height.unwrap_or(1))
}

/// How many direct subtasks `task` has.
pub(crate) async fn children_count(conn: &mut AsyncPgConnection, task: TaskId) -> ProjectsResult<i64> {
    Ok(tasks::table
        .filter(tasks::parent_id.eq(task))
        .count()
        .get_result(conn)
        .await?)
}

/// Makes the direct subtasks of `task` top-level (bumping their versions) and records it in their activity,
/// in one statement; returns how many.
pub(crate) async fn detach_children(
    conn: &mut AsyncPgConnection,
    task: TaskId,
    actor: UserId,
) -> ProjectsResult<usize> {
    Ok(diesel::sql_query(
        "WITH detached AS ( \
             UPDATE tasks SET parent_id = NULL, version = version + 1, updated_at = now() \
             WHERE parent_id = $1 RETURNING id \
         ) INSERT INTO task_activity (task_id, actor_id, field, old_value, new_value) \
         SELECT id, $2, 'parent_id', to_jsonb($1::text), 'null'::jsonb FROM detached",
    )
    .bind::<diesel::sql_types::Uuid, _>(task)
    .bind::<diesel::sql_types::Uuid, _>(actor)
    .execute(conn)
    .await?)
}

/// Whether a task already follows `task` (its next occurrence was created).
pub(crate) async fn has_successor(conn: &mut AsyncPgConnection, task: TaskId) -> ProjectsResult<bool> {
    Ok(diesel::select(diesel::dsl::exists(
        tasks::table.filter(tasks::recurred_from.eq(task)),
    ))
    .get_result(conn)
    .await?)
}
