//! `project_labels` and `task_labels`.

use crate::error::ProjectsResult;
use chrono::{DateTime, Utc};
use diesel::{
    BoolExpressionMethods as _, ExpressionMethods as _, OptionalExtension as _, QueryDsl as _,
    SelectableHelper as _,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use epop_core::{LabelId, ProjectId, TaskId};
use epop_storage::schema::{project_labels, task_labels};

/// A row of `project_labels`.
#[derive(Debug, Clone, diesel::Queryable, diesel::Selectable)]
#[diesel(table_name = project_labels, check_for_backend(diesel::pg::Pg))]
pub(crate) struct LabelRow {
    pub(crate) id: LabelId,
    pub(crate) project_id: ProjectId,
    pub(crate) name: String,
    pub(crate) colour: String,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
}

/// Inserts a label; `None` when the project has one of that name (in any case) already.
pub(crate) async fn insert(
    conn: &mut AsyncPgConnection,
    project: ProjectId,
    name: &str,
    colour: &str,
) -> ProjectsResult<Option<LabelRow>> {
    Ok(diesel::insert_into(project_labels::table)
        .values((
            project_labels::id.eq(LabelId::new()),
            project_labels::project_id.eq(project),
            project_labels::name.eq(name),
            project_labels::colour.eq(colour),
        ))
        .on_conflict_do_nothing()
        .returning(LabelRow::as_returning())
        .get_result(conn)
        .await
        .optional()?)
}

/// The label, if it is one of the project's.
pub(crate) async fn find(
    conn: &mut AsyncPgConnection,
    project: ProjectId,
    id: LabelId,
) -> ProjectsResult<Option<LabelRow>> {
    Ok(project_labels::table
        .find(id)
        .filter(project_labels::project_id.eq(project))
        .select(LabelRow::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Renames or recolours a label; `None` when the new name is taken in the project.
pub(crate) async fn update(
    conn: &mut AsyncPgConnection,
    id: LabelId,
    name: Option<&str>,
    colour: Option<&str>,
) -> ProjectsResult<Option<LabelRow>> {
    #[derive(diesel::AsChangeset)]
    #[diesel(table_name = project_labels)]
    struct Changes<'a> {
        name: Option<&'a str>,
        colour: Option<&'a str>,
    }
    let result = diesel::update(project_labels::table.find(id))
        .set((
            Changes { name, colour },
            project_labels::updated_at.eq(diesel::dsl::now),
        ))
        .returning(LabelRow::as_returning())
        .get_result(conn)
        .await;
    match result {
        Ok(row) => Ok(Some(row)),
        Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {
            Ok(None)
        }
        Err(error) => Err(error.into()),
    }
}

/// Deletes a label (it leaves every task).
pub(crate) async fn delete(conn: &mut AsyncPgConnection, id: LabelId) -> ProjectsResult<bool> {
    Ok(diesel::delete(project_labels::table.find(id))
        .execute(conn)
        .await?
        == 1)
}

/// How many labels the project has.
pub(crate) async fn count(conn: &mut AsyncPgConnection, project: ProjectId) -> ProjectsResult<i64> {
    Ok(project_labels::table
        .filter(project_labels::project_id.eq(project))
        .count()
        .get_result(conn)
        .await?)
}

/// One page of a project's labels, oldest first.
pub(crate) async fn page(
    conn: &mut AsyncPgConnection,
    project: ProjectId,
    after: Option<(DateTime<Utc>, LabelId)>,
    limit: i64,
) -> ProjectsResult<Vec<LabelRow>> {
    let mut query = project_labels::table
        .filter(project_labels::project_id.eq(project))
        .select(LabelRow::as_select())
        .into_boxed();
    if let Some((created_at, id)) = after {
        query = query.filter(
            project_labels::created_at
                .gt(created_at)
                .or(project_labels::created_at
                    .eq(created_at)
                    .and(project_labels::id.gt(id))),
        );
    }
    Ok(query
        .order((project_labels::created_at.asc(), project_labels::id.asc()))
        .limit(limit)
        .load(conn)
        .await?)
}

/// Those of `ids` that are labels of the project.
pub(crate) async fn of_project(
    conn: &mut AsyncPgConnection,
    project: ProjectId,
    ids: &[LabelId],
) -> ProjectsResult<Vec<LabelId>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(project_labels::table
        .filter(project_labels::project_id.eq(project))
        .filter(project_labels::id.eq_any(ids))
        .select(project_labels::id)
        .load(conn)
        .await?)
}

/// `(task, label)` of the given tasks, by task then label, in one statement.
pub(crate) async fn of_tasks(
    conn: &mut AsyncPgConnection,
    tasks: &[TaskId],
) -> ProjectsResult<Vec<(TaskId, LabelId)>> {
    if tasks.is_empty() {
        return Ok(Vec::new());
    }
    Ok(task_labels::table
        .filter(task_labels::task_id.eq_any(tasks))
        .select((task_labels::task_id, task_labels::label_id))
        .order((task_labels::task_id, task_labels::label_id))
        .load(conn)
        .await?)
}

/// Makes `labels` the task's labels (two statements).
pub(crate) async fn set(
    conn: &mut AsyncPgConnection,
    task: TaskId,
    labels: &[LabelId],
) -> ProjectsResult<()> {
    diesel::delete(
        task_labels::table
            .filter(task_labels::task_id.eq(task))
            .filter(task_labels::label_id.ne_all(labels)),
    )
    .execute(conn)
    .await?;
    if !labels.is_empty() {
        let rows: Vec<_> = labels
            .iter()
            .map(|label| (task_labels::task_id.eq(task), task_labels::label_id.eq(*label)))
            .collect();
        diesel::insert_into(task_labels::table)
            .values(rows)
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
    }
    Ok(())
}
