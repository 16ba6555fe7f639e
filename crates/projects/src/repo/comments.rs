//! `task_comments` and `task_watchers`.

use crate::error::ProjectsResult;
use chrono::{DateTime, Utc};
use diesel::{
    BoolExpressionMethods as _, ExpressionMethods as _, JoinOnDsl as _, OptionalExtension as _,
    QueryDsl as _, SelectableHelper as _,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use epop_core::{ProjectId, TaskCommentId, TaskId, UserId};
use epop_storage::schema::{project_members, task_comments, task_watchers};

/// A row of `task_comments`.
#[derive(Debug, Clone, diesel::Queryable, diesel::Selectable)]
#[diesel(table_name = task_comments, check_for_backend(diesel::pg::Pg))]
pub(crate) struct CommentRow {
    pub(crate) id: TaskCommentId,
    pub(crate) task_id: TaskId,
    pub(crate) author_id: UserId,
    pub(crate) body: String,
    pub(crate) mentions: Vec<UserId>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
    pub(crate) edited_at: Option<DateTime<Utc>>,
}

/// A new row of `task_comments`.
#[derive(Debug, diesel::Insertable)]
#[diesel(table_name = task_comments)]
pub(crate) struct NewCommentRow<'a> {
    pub(crate) id: TaskCommentId,
    pub(crate) task_id: TaskId,
    pub(crate) author_id: UserId,
    pub(crate) body: &'a str,
    pub(crate) mentions: &'a [UserId],
}

/// Inserts a comment.
pub(crate) async fn insert(
    conn: &mut AsyncPgConnection,
    row: &NewCommentRow<'_>,
) -> ProjectsResult<CommentRow> {
    Ok(diesel::insert_into(task_comments::table)
        .values(row)
        .returning(CommentRow::as_returning())
        .get_result(conn)
        .await?)
}

/// The comment of `task`, if it exists, row-locked until the transaction ends.
pub(crate) async fn lock(
    conn: &mut AsyncPgConnection,
    task: TaskId,
    id: TaskCommentId,
) -> ProjectsResult<Option<CommentRow>> {
    Ok(task_comments::table
        .find(id)
        .filter(task_comments::task_id.eq(task))
        .select(CommentRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?)
}

/// Replaces a comment's body and mentions, stamping `edited_at`.
pub(crate) async fn update(
    conn: &mut AsyncPgConnection,
    id: TaskCommentId,
    body: &str,
    mentions: &[UserId],
) -> ProjectsResult<CommentRow> {
    Ok(diesel::update(task_comments::table.find(id))
        .set((
            task_comments::body.eq(body),
            task_comments::mentions.eq(mentions),
            task_comments::updated_at.eq(diesel::dsl::now),
            task_comments::edited_at.eq(diesel::dsl::now),
        ))
        .returning(CommentRow::as_returning())
        .get_result(conn)
        .await?)
}

/// Deletes a comment.
pub(crate) async fn delete(conn: &mut AsyncPgConnection, id: TaskCommentId) -> ProjectsResult<bool> {
    Ok(diesel::delete(task_comments::table.find(id))
        .execute(conn)
        .await?
        == 1)
}

/// How many comments `task` has.
pub(crate) async fn count(conn: &mut AsyncPgConnection, task: TaskId) -> ProjectsResult<i64> {
    Ok(task_comments::table
        .filter(task_comments::task_id.eq(task))
        .count()
        .get_result(conn)
        .await?)
}

/// One page of a task's comments by `(created_at, id)`, oldest first.
pub(crate) async fn page(
    conn: &mut AsyncPgConnection,
    task: TaskId,
    after: Option<(DateTime<Utc>, TaskCommentId)>,
    limit: i64,
) -> ProjectsResult<Vec<CommentRow>> {
    let mut query = task_comments::table
        .filter(task_comments::task_id.eq(task))
        .select(CommentRow::as_select())
        .into_boxed();
    if let Some((created_at, id)) = after {
        query = query.filter(
            task_comments::created_at
                .gt(created_at)
                .or(task_comments::created_at
                    .eq(created_at)
                    .and(task_comments::id.gt(id))),
        );
    }
    Ok(query
        .order((task_comments::created_at.asc(), task_comments::id.asc()))
        .limit(limit)
        .load(conn)
        .await?)
}

/// Adds watchers to a task (those already watching stay), in one statement.
pub(crate) async fn watch(
    conn: &mut AsyncPgConnection,
    task: TaskId,
    users: &[UserId],
) -> ProjectsResult<()> {
    if users.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = users
        .iter()
        .map(|user| (task_watchers::task_id.eq(task), task_watchers::user_id.eq(*user)))
        .collect();
    diesel::insert_into(task_watchers::table)
        .values(rows)
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(())
}

/// The watchers of a task who are still members of its project.
pub(crate) async fn watchers(
    conn: &mut AsyncPgConnection,
    project: ProjectId,
    task: TaskId,
) -> ProjectsResult<Vec<UserId>> {
    Ok(task_watchers::table
        .inner_join(
            project_members::table.on(project_members::user_id
                .eq(task_watchers::user_id)
                .and(project_members::project_id.eq(project))),
        )
        .filter(task_watchers::task_id.eq(task))
        .select(task_watchers::user_id)
        .order(task_watchers::user_id)
        .load(conn)
        .await?)
}
