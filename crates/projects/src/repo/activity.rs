//! `task_activity`: what changed on a task, written in the transaction of the change.

use crate::error::ProjectsResult;
use chrono::{DateTime, Utc};
use diesel::{ExpressionMethods as _, QueryDsl as _, SelectableHelper as _};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use epop_core::{TaskId, UserId};
use epop_storage::schema::task_activity;
use serde_json::Value;

/// A row of `task_activity`.
#[derive(Debug, Clone, diesel::Queryable, diesel::Selectable)]
#[diesel(table_name = task_activity, check_for_backend(diesel::pg::Pg))]
pub(crate) struct ActivityRow {
    pub(crate) id: i64,
    pub(crate) task_id: TaskId,
    pub(crate) actor_id: Option<UserId>,
    pub(crate) field: String,
    pub(crate) old_value: Option<Value>,
    pub(crate) new_value: Option<Value>,
    pub(crate) created_at: DateTime<Utc>,
}

/// A change to record: `(field, old, new)`.
pub(crate) type Change = (&'static str, Value, Value);

/// Records the changes `actor` made to `task`, in one statement.
pub(crate) async fn record(
    conn: &mut AsyncPgConnection,
    task: TaskId,
    actor: UserId,
    changes: &[Change],
) -> ProjectsResult<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = changes
        .iter()
        .map(|(field, old, new)| {
            (
                task_activity::task_id.eq(task),
                task_activity::actor_id.eq(Some(actor)),
                task_activity::field.eq(*field),
                task_activity::old_value.eq(Some(old)),
                task_activity::new_value.eq(Some(new)),
            )
        })
        .collect();
    diesel::insert_into(task_activity::table)
        .values(rows)
        .execute(conn)
        .await?;
    Ok(())
}

/// One page of a task's activity, oldest first.
pub(crate) async fn page(
    conn: &mut AsyncPgConnection,
    task: TaskId,
    after: Option<i64>,
    limit: i64,
) -> ProjectsResult<Vec<ActivityRow>> {
    let mut query = task_activity::table
        .filter(task_activity::task_id.eq(task))
        .select(ActivityRow::as_select())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(task_activity::id.gt(after));
    }
    Ok(query
        .order(task_activity::id.asc())
        .limit(limit)
        .load(conn)
        .await?)
}
