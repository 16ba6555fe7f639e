//! `projects` and `project_members`.

use crate::error::ProjectsResult;
use chrono::{DateTime, Utc};
use diesel::{
    BoolExpressionMethods as _, ExpressionMethods as _, OptionalExtension as _, QueryDsl as _,
    SelectableHelper as _,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use epop_core::model::ProjectRole;
use epop_core::{ProjectId, UserId};
use epop_storage::schema::{project_members, projects, users};

/// A row of `projects`.
#[derive(Debug, Clone, diesel::Queryable, diesel::Selectable)]
#[diesel(table_name = projects, check_for_backend(diesel::pg::Pg))]
pub(crate) struct ProjectRow {
    pub(crate) id: ProjectId,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) owner_id: UserId,
    /// `active`, `on_hold`, `completed` or `archived`.
    pub(crate) status: String,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
}

/// A new row of `projects`.
#[derive(Debug, diesel::Insertable)]
#[diesel(table_name = projects)]
pub(crate) struct NewProjectRow<'a> {
    pub(crate) id: ProjectId,
    pub(crate) name: &'a str,
    pub(crate) description: &'a str,
    /// The creator, who is its first owner.
    pub(crate) owner_id: UserId,
    pub(crate) status: &'a str,
}

/// A partial update of `projects` (`None` leaves the column alone).
#[derive(Debug, Default, diesel::AsChangeset)]
#[diesel(table_name = projects)]
pub(crate) struct ProjectChangeset<'a> {
    pub(crate) name: Option<&'a str>,
    pub(crate) description: Option<&'a str>,
    pub(crate) status: Option<&'a str>,
}

/// Inserts a project.
pub(crate) async fn insert(
    conn: &mut AsyncPgConnection,
    row: &NewProjectRow<'_>,
) -> ProjectsResult<ProjectRow> {
    Ok(diesel::insert_into(projects::table)
        .values(row)
        .returning(ProjectRow::as_returning())
        .get_result(conn)
        .await?)
}

/// The project, if it exists.
pub(crate) async fn find(conn: &mut AsyncPgConnection, id: ProjectId) -> ProjectsResult<Option<ProjectRow>> {
    Ok(projects::table
        .find(id)
        .select(ProjectRow::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// The project, row-locked until the transaction ends (serializes membership changes).
pub(crate) async fn lock(conn: &mut AsyncPgConnection, id: ProjectId) -> ProjectsResult<Option<ProjectRow>> {
    Ok(projects::table
        .find(id)
        .select(ProjectRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?)
}

/// Applies `changes` and bumps `updated_at`.
pub(crate) async fn update(
    conn: &mut AsyncPgConnection,
    id: ProjectId,
    changes: &ProjectChangeset<'_>,
) -> ProjectsResult<Option<ProjectRow>> {
    Ok(diesel::update(projects::table.find(id))
        .set((changes, projects::updated_at.eq(diesel::dsl::now)))
        .returning(ProjectRow::as_returning())
        .get_result(conn)
        .await
        .optional()?)
}

/// Deletes the project (members and tasks go with it); returns whether it existed.
pub(crate) async fn delete(conn: &mut AsyncPgConnection, id: ProjectId) -> ProjectsResult<bool> {
    Ok(diesel::delete(projects::table.find(id)).execute(conn).await? == 1)
}

/// Points `owner_id` at the earliest remaining owner when it names `former`, who is no longer one.
pub(crate) async fn replace_owner_id(
    conn: &mut AsyncPgConnection,
    id: ProjectId,
    former: UserId,
) -> ProjectsResult<()> {
    let next: Option<UserId> = project_members::table
        .filter(project_members::project_id.eq(id))
        .filter(project_members::role.eq(ProjectRole::Owner))
        .filter(project_members::user_id.ne(former))
        .order((project_members::created_at.asc(), project_members::user_id.asc()))
        .select(project_members::user_id)
        .first(conn)
        .await
        .optional()?;
    if let Some(next) = next {
        diesel::update(projects::table.find(id).filter(projects::owner_id.eq(former)))
            .set(projects::owner_id.eq(next))
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// One page of projects by `(created_at, id)`, oldest first: those `member` belongs to, or every project
/// when `member` is `None`.
pub(crate) async fn page(
    conn: &mut AsyncPgConnection,
    member: Option<UserId>,
    status: Option<&str>,
    after: Option<(DateTime<Utc>, ProjectId)>,
    limit: i64,
) -> ProjectsResult<Vec<ProjectRow>> {
    let mut query = projects::table.select(ProjectRow::as_select()).into_boxed();
    if let Some(member) = member {
        query = query.filter(
            projects::id.eq_any(
                project_members::table
                    .filter(project_members::user_id.eq(member))
                    .select(project_members::project_id),
            ),
        );
    }
    if let Some(status) = status {
        query = query.filter(projects::status.eq(status.to_owned()));
    }
    if let Some((created_at, id)) = after {
        query = query.filter(
            projects::created_at
                .gt(created_at)
                .or(projects::created_at.eq(created_at).and(projects::id.gt(id))),
        );
    }
    Ok(query
        .order((projects::created_at.asc(), projects::id.asc()))
        .limit(limit)
        .load(conn)
        .await?)
}

/// `user`'s role in the project, if they are a member.
pub(crate) async fn role_of(
    conn: &mut AsyncPgConnection,
    project: ProjectId,
    user: UserId,
) -> ProjectsResult<Option<ProjectRole>> {
    Ok(project_members::table
        .find((project, user))
        .select(project_members::role)
        .first(conn)
        .await
        .optional()?)
}

/// The members of `projects` as `(project, user, role)`, in the order they joined.
pub(crate) async fn members_of(
    conn: &mut AsyncPgConnection,
    ids: &[ProjectId],
) -> ProjectsResult<Vec<(ProjectId, UserId, ProjectRole)>> {
    Ok(project_members::table
        .filter(project_members::project_id.eq_any(ids))
        .order((
            project_members::project_id,
            project_members::created_at.asc(),
            project_members::user_id.asc(),
        ))
        .select((
            project_members::project_id,
            project_members::user_id,
            project_members::role,
        ))
        .load(conn)
        .await?)
}

/// Adds a member unless they are one already; returns whether they were added.
pub(crate) async fn add_member(
    conn: &mut AsyncPgConnection,
    project: ProjectId,
    user: UserId,
    role: ProjectRole,
) -> ProjectsResult<bool> {
    let added = diesel::insert_into(project_members::table)
        .values((
            project_members::project_id.eq(project),
            project_members::user_id.eq(user),
            project_members::role.eq(role),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(added == 1)
}

/// Changes a member's role; returns whether they are a member.
pub(crate) async fn set_role(
    conn: &mut AsyncPgConnection,
    project: ProjectId,
    user: UserId,
    role: ProjectRole,
) -> ProjectsResult<bool> {
    let changed = diesel::update(project_members::table.find((project, user)))
        .set(project_members::role.eq(role))
        .execute(conn)
        .await?;
    Ok(changed == 1)
}

/// Removes a member; returns whether they were one.
pub(crate) async fn remove_member(
    conn: &mut AsyncPgConnection,
    project: ProjectId,
    user: UserId,
) -> ProjectsResult<bool> {
    let removed = diesel::delete(project_members::table.find((project, user)))
        .execute(conn)
        .await?;
    Ok(removed == 1)
}

/// How many owners the project has.
pub(crate) async fn count_owners(conn: &mut AsyncPgConnection, project: ProjectId) -> ProjectsResult<i64> {
    Ok(project_members::table
        .filter(project_members::project_id.eq(project))
        .filter(project_members::role.eq(ProjectRole::Owner))
        .count()
        .get_result(conn)
        .await?)
}

/// Whether a user with this id exists.
pub(crate) async fn user_exists(conn: &mut AsyncPgConnection, user: UserId) -> ProjectsResult<bool> {
    let found: Option<UserId> = users::table
        .find(user)
        .select(users::id)
        .first(conn)
        .await
        .optional()?;
    Ok(found.is_some())
}

/// Every member of the project.
pub(crate) async fn member_ids(
    conn: &mut AsyncPgConnection,
    project: ProjectId,
) -> ProjectsResult<Vec<UserId>> {
    Ok(project_members::table
        .filter(project_members::project_id.eq(project))
        .select(project_members::user_id)
        .order(project_members::user_id)
        .load(conn)
        .await?)
}

/// Those of `users` who are members of the project.
pub(crate) async fn members_among(
    conn: &mut AsyncPgConnection,
    project: ProjectId,
    users: &[UserId],
) -> ProjectsResult<Vec<UserId>> {
    if users.is_empty() {
        return Ok(Vec::new());
    }
    Ok(project_members::table
        .filter(project_members::project_id.eq(project))
        .filter(project_members::user_id.eq_any(users))
        .select(project_members::user_id)
        .load(conn)
        .await?)
}
