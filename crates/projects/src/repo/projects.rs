//! `projects` and `project_members`.

use crate::error::ProjectsResult;
use chrono::{DateTime, Utc};
use diesel::{
    BoolExpressionMethods as _, ExpressionMethods as _, OptionalExtension as _, QueryDsl as _,
    SelectableHelper as _,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use epop_storage::schema::{project_members, projects, users};
use uuid::Uuid;

/// A row of `projects`.
#[derive(Debug, Clone, diesel::Queryable, diesel::Selectable)]
#[diesel(table_name = projects, check_for_backend(diesel::pg::Pg))]
pub struct ProjectRow {
    /// Primary key.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// An owner.
    pub owner_id: Uuid,
    /// `active`, `on_hold`, `completed` or `archived`.
    pub status: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A new row of `projects`.
#[derive(Debug, diesel::Insertable)]
#[diesel(table_name = projects)]
pub struct NewProjectRow<'a> {
    /// Primary key.
    pub id: Uuid,
    /// Name.
    pub name: &'a str,
    /// Description.
    pub description: &'a str,
    /// The creator.
    pub owner_id: Uuid,
    /// Status.
    pub status: &'a str,
}

/// A partial update of `projects` (`None` leaves the column alone).
#[derive(Debug, Default, diesel::AsChangeset)]
#[diesel(table_name = projects)]
pub struct ProjectChangeset<'a> {
    /// New name.
    pub name: Option<&'a str>,
    /// New description.
    pub description: Option<&'a str>,
    /// New status.
    pub status: Option<&'a str>,
}

/// Inserts a project.
pub async fn insert(conn: &mut AsyncPgConnection, row: &NewProjectRow<'_>) -> ProjectsResult<ProjectRow> {
    Ok(diesel::insert_into(projects::table)
        .values(row)
        .returning(ProjectRow::as_returning())
        .get_result(conn)
        .await?)
}

/// The project, if it exists.
pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> ProjectsResult<Option<ProjectRow>> {
    Ok(projects::table
        .find(id)
        .select(ProjectRow::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// The project, row-locked until the transaction ends (serializes membership changes).
pub async fn lock(conn: &mut AsyncPgConnection, id: Uuid) -> ProjectsResult<Option<ProjectRow>> {
    Ok(projects::table
        .find(id)
        .select(ProjectRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?)
}

/// Applies `changes` and bumps `updated_at`.
pub async fn update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
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
pub async fn delete(conn: &mut AsyncPgConnection, id: Uuid) -> ProjectsResult<bool> {
    Ok(diesel::delete(projects::table.find(id)).execute(conn).await? == 1)
}

/// Points `owner_id` at the earliest remaining owner when it names `former`, who is no longer one.
pub async fn replace_owner_id(conn: &mut AsyncPgConnection, id: Uuid, former: Uuid) -> ProjectsResult<()> {
    let next: Option<Uuid> = project_members::table
        .filter(project_members::project_id.eq(id))
        .filter(project_members::role.eq("owner"))
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
pub async fn page(
    conn: &mut AsyncPgConnection,
    member: Option<Uuid>,
    status: Option<&str>,
    after: Option<(DateTime<Utc>, Uuid)>,
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
pub async fn role_of(
    conn: &mut AsyncPgConnection,
    project: Uuid,
    user: Uuid,
) -> ProjectsResult<Option<String>> {
    Ok(project_members::table
        .find((project, user))
        .select(project_members::role)
        .first(conn)
        .await
        .optional()?)
}

/// The members of `projects` as `(project, user, role)`, in the order they joined.
pub async fn members_of(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> ProjectsResult<Vec<(Uuid, Uuid, String)>> {
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
pub async fn add_member(
    conn: &mut AsyncPgConnection,
    project: Uuid,
    user: Uuid,
    role: &str,
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
pub async fn set_role(
    conn: &mut AsyncPgConnection,
    project: Uuid,
    user: Uuid,
    role: &str,
) -> ProjectsResult<bool> {
    let changed = diesel::update(project_members::table.find((project, user)))
        .set(project_members::role.eq(role))
        .execute(conn)
        .await?;
    Ok(changed == 1)
}

/// Removes a member; returns whether they were one.
pub async fn remove_member(conn: &mut AsyncPgConnection, project: Uuid, user: Uuid) -> ProjectsResult<bool> {
    let removed = diesel::delete(project_members::table.find((project, user)))
        .execute(conn)
        .await?;
    Ok(removed == 1)
}

/// How many owners the project has.
pub async fn count_owners(conn: &mut AsyncPgConnection, project: Uuid) -> ProjectsResult<i64> {
    Ok(project_members::table
        .filter(project_members::project_id.eq(project))
        .filter(project_members::role.eq("owner"))
        .count()
        .get_result(conn)
        .await?)
}

/// Whether a user with this id exists.
pub async fn user_exists(conn: &mut AsyncPgConnection, user: Uuid) -> ProjectsResult<bool> {
    let found: Option<Uuid> = users::table
        .find(user)
        .select(users::id)
        .first(conn)
        .await
        .optional()?;
    Ok(found.is_some())
}
