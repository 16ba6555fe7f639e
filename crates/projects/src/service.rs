//! The rules of projects and tasks: every method resolves the caller's role, asks [`crate::access::allowed`],
//! and changes data in one transaction together with the events it causes.

use crate::access::{Action, allowed, effective_role};
use crate::error::{ProjectsError, ProjectsResult};
use crate::model::*;
use crate::repo::activity::{self as repo_activity, Change};
use crate::repo::comments as repo_comments;
use crate::repo::labels as repo_labels;
use crate::repo::projects::{self as repo_projects, NewProjectRow, ProjectChangeset, ProjectRow};
use crate::repo::tasks::{self as repo_tasks, DueKey, NewTaskRow, TaskChangeset, TaskRow, VisibleFilter};
use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection as _, AsyncPgConnection};
use epop_core::{Cursor, DomainEvent, LabelId, Page, PageRequest, ProjectId, TaskId, UserId};
use epop_storage::audit::{self, AuditAction, AuditEntry, AuditTarget};
use epop_storage::events::OutboxNotifier;
use epop_storage::{DbPool, outbox};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::str::FromStr as _;

/// Projects, members and tasks.
#[derive(Clone)]
pub struct ProjectsService {
    pub(crate) pool: DbPool,
    pub(crate) notifier: OutboxNotifier,
    pub(crate) settings: ProjectsSettings,
}

impl std::fmt::Debug for ProjectsService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProjectsService").finish_non_exhaustive()
    }
}

/// Position in a list ordered by `(created_at, id)`, of projects or of tasks (`I` is their id).
#[derive(Debug, Serialize, Deserialize)]
struct CreatedCursor<I> {
    c: DateTime<Utc>,
    i: I,
}

/// Position in the cross-project task list, plus the moment of its first page.
#[derive(Debug, Serialize, Deserialize)]
struct DueCursor {
    d: Option<DateTime<Utc>>,
    i: TaskId,
    a: DateTime<Utc>,
}

pub(crate) fn decode<T: serde::de::DeserializeOwned>(page: &PageRequest) -> ProjectsResult<Option<T>> {
    page.cursor
        .as_ref()
        .map(|c| Cursor::decode(c).map_err(|_| ProjectsError::BadCursor))
        .transpose()
}

pub(crate) fn overfetch(page: &PageRequest) -> i64 {
    i64::from(page.limit) + 1
}

/// Stored values are guarded by CHECK constraints; an unknown one would be a schema drift, read as the
/// default.
fn project_status(value: &str) -> ProjectStatus {
    ProjectStatus::from_str(value).unwrap_or(ProjectStatus::Active)
}

fn task_from_row(row: TaskRow, progress: Progress, label_ids: Vec<LabelId>) -> Task {
    Task {
        id: row.id,
        project_id: row.project_id,
        title: row.title,
        description: row.description,
        status: TaskStatus::from_str(&row.status).unwrap_or(TaskStatus::Todo),
        assigned_to: row.assigned_to,
        due_date: row.due_date,
        parent_id: row.parent_id,
        progress,
        label_ids,
        position: row.position,
        recurrence: recurrence_of(row.recurrence_frequency.as_deref(), row.recurrence_interval),
        recurred_from: row.recurred_from,
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

/// The fields `after` changed from `before`, with their old and new values as the task's JSON shows them.
fn task_changes(before: &TaskRow, after: &TaskRow) -> Vec<Change> {
    let mut changes: Vec<Change> = Vec::new();
    let mut field = |name: &'static str, old: Value, new: Value| {
        if old != new {
            changes.push((name, old, new));
        }
    };
    field("title", json_value(&before.title), json_value(&after.title));
    field(
        "description",
        json_value(&before.description),
        json_value(&after.description),
    );
    field("status", json_value(&before.status), json_value(&after.status));
    field(
        "assigned_to",
        json_value(&before.assigned_to),
        json_value(&after.assigned_to),
    );
    field(
        "due_date",
        json_value(&before.due_date),
        json_value(&after.due_date),
    );
    field(
        "parent_id",
        json_value(&before.parent_id),
        json_value(&after.parent_id),
    );
    field(
        "position",
        json_value(&before.position),
        json_value(&after.position),
    );
    field(
        "recurrence",
        json_value(&recurrence_of(
            before.recurrence_frequency.as_deref(),
            before.recurrence_interval,
        )),
        json_value(&recurrence_of(
            after.recurrence_frequency.as_deref(),
            after.recurrence_interval,
        )),
    );
    changes
}

/// A value as JSON (every value this crate records serializes).
fn json_value<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// A rank between two neighbours; a rank this service did not make, or past the length bound, is reported on
/// `field` (it cannot happen with ranks this service wrote).
pub(crate) fn rank_between(a: Option<&str>, b: Option<&str>, field: &str) -> ProjectsResult<String> {
    match crate::rank::between(a, b) {
        Ok(rank) if rank.len() <= crate::rank::MAX_LEN => Ok(rank),
        Ok(_) => Err(ProjectsError::invalid(
            field,
            "no room left at this place of the column: move a neighbour first",
        )),
        Err(error) => Err(ProjectsError::invalid(field, error.to_string())),
    }
}

/// The stored recurrence rule (CHECK constraints keep both columns valid together).
fn recurrence_of(frequency: Option<&str>, interval: Option<i32>) -> Option<Recurrence> {
    Some(Recurrence {
        frequency: frequency?.parse().ok()?,
        interval: u16::try_from(interval?).ok()?,
    })
}

/// `rule` as stored: `(frequency, interval)`, the interval checked to be 1..=365.
fn stored_recurrence(rule: Option<Recurrence>) -> ProjectsResult<(Option<&'static str>, Option<i32>)> {
    match rule {
        None => Ok((None, None)),
        Some(rule) if (1..=365).contains(&rule.interval) => {
            Ok((Some(rule.frequency.as_str()), Some(i32::from(rule.interval))))
        }
        Some(_) => Err(ProjectsError::invalid("recurrence.interval", "must be 1..=365")),
    }
}

fn needs_a_due_date() -> ProjectsError {
    ProjectsError::invalid("recurrence", "a recurring task needs a due_date")
}

fn not_a_member() -> ProjectsError {
    ProjectsError::invalid("assigned_to", "must be a member of the project")
}

impl ProjectsService {
    /// Builds the service.
    pub fn new(pool: DbPool, notifier: OutboxNotifier) -> Self {
        Self {
            pool,
            notifier,
            settings: ProjectsSettings::default(),
        }
    }

    /// The same service with other limits.
    pub fn with_settings(mut self, settings: ProjectsSettings) -> Self {
        self.settings = settings;
        self
    }

    /// The role `actor` acts with in `project`: `NotFound` when they may not see it (or it does not exist).
    pub(crate) async fn role_in(
        conn: &mut AsyncPgConnection,
        actor: Actor,
        project: ProjectId,
    ) -> ProjectsResult<ProjectRole> {
        let membership = repo_projects::role_of(conn, project, actor.id).await?;
        let role = effective_role(membership, actor.global_admin).ok_or(ProjectsError::NotFound)?;
        if membership.is_none() && repo_projects::find(conn, project).await?.is_none() {
            return Err(ProjectsError::NotFound);
        }
        Ok(role)
    }

    /// `Forbidden` unless `role` allows `action`.
    pub(crate) fn require(role: ProjectRole, action: Action) -> ProjectsResult<()> {
        if allowed(Some(role), action) {
            Ok(())
        } else {
            Err(ProjectsError::Forbidden)
        }
    }

    /// The caller's role in `project`, checked against `action`: `NotFound` when they may not see the
    /// project, `Forbidden` when their role does not allow the action.
    pub(crate) async fn authorize(
        conn: &mut AsyncPgConnection,
        actor: Actor,
        project: ProjectId,
        action: Action,
    ) -> ProjectsResult<ProjectRole> {
        let role = Self::role_in(conn, actor, project).await?;
        Self::require(role, action)?;
        Ok(role)
    }

    /// Checks that `actor` may do `action` in `project`, for work another crate does on the project's behalf
    /// (its webhooks): `NotFound` when they may not see the project, `Forbidden` when their role does not
    /// allow the action.
    pub async fn check_access(&self, actor: Actor, project: ProjectId, action: Action) -> ProjectsResult<()> {
        let mut conn = self.pool.get().await?;
        Self::authorize(&mut conn, actor, project, action).await?;
        Ok(())
    }

    /// Whether `user` is a member of `project` (a task's assignee must be).
    async fn is_member(
        conn: &mut AsyncPgConnection,
        project: ProjectId,
        user: UserId,
    ) -> ProjectsResult<bool> {
        Ok(repo_projects::role_of(conn, project, user).await?.is_some())
    }

    async fn assemble(conn: &mut AsyncPgConnection, rows: Vec<ProjectRow>) -> ProjectsResult<Vec<Project>> {
        let ids: Vec<ProjectId> = rows.iter().map(|row| row.id).collect();
        let mut members: HashMap<ProjectId, Vec<ProjectMember>> = HashMap::new();
        for (project, user, role) in repo_projects::members_of(conn, &ids).await? {
            members
                .entry(project)
                .or_default()
                .push(ProjectMember { user_id: user, role });
        }
        Ok(rows
            .into_iter()
            .map(|row| Project {
                id: row.id,
                members: members.remove(&row.id).unwrap_or_default(),
                name: row.name,
                description: row.description,
                owner_id: row.owner_id,
                status: project_status(&row.status),
                created_at: row.created_at,
                updated_at: row.updated_at,
            })
            .collect())
    }

    async fn load_project(conn: &mut AsyncPgConnection, id: ProjectId) -> ProjectsResult<Project> {
        let row = repo_projects::find(conn, id)
            .await?
            .ok_or(ProjectsError::NotFound)?;
        Self::assemble(conn, vec![row])
            .await?
            .pop()
            .ok_or(ProjectsError::NotFound)
    }

    // ----- projects ------------------------------------------------------------------------------------------

    /// Creates a project; the creator is its `owner`.
    #[tracing::instrument(skip(self, new))]
    pub async fn create_project(&self, actor: Actor, new: &NewProject) -> ProjectsResult<Project> {
        let mut conn = self.pool.get().await?;
        let id = ProjectId::new();
        let status = new.status.unwrap_or(ProjectStatus::Active);
        conn.transaction::<_, ProjectsError, _>(async |conn| {
            repo_projects::insert(
                conn,
                &NewProjectRow {
                    id,
                    name: &new.name,
                    description: new.description.as_deref().unwrap_or(""),
                    owner_id: actor.id,
                    status: status.as_str(),
                },
            )
            .await?;
            repo_projects::add_member(conn, id, actor.id, ProjectRole::Owner).await?;
            Ok(())
        })
        .await?;
        Self::load_project(&mut conn, id).await
    }

    /// One project the caller may see.
    pub async fn project(&self, actor: Actor, id: ProjectId) -> ProjectsResult<Project> {
        let mut conn = self.pool.get().await?;
        Self::authorize(&mut conn, actor, id, Action::View).await?;
        Self::load_project(&mut conn, id).await
    }

    /// The projects the caller is a member of (every project for a global admin), oldest first.
    pub async fn projects(
        &self,
        actor: Actor,
        status: Option<ProjectStatus>,
        page: &PageRequest,
    ) -> ProjectsResult<Page<Project>> {
        let after = decode::<CreatedCursor<ProjectId>>(page)?;
        let mut conn = self.pool.get().await?;
        let rows = repo_projects::page(
            &mut conn,
            (!actor.global_admin).then_some(actor.id),
            status.map(ProjectStatus::as_str),
            after.map(|c| (c.c, c.i)),
            overfetch(page),
        )
        .await?;
        let rows = Page::from_overfetch(rows, page.limit, |row| CreatedCursor {
            c: row.created_at,
            i: row.id,
        });
        Ok(Page {
            items: Self::assemble(&mut conn, rows.items).await?,
            next_cursor: rows.next_cursor,
        })
    }

    /// Changes a project's name, description or status (`owner` or `admin`).
    #[tracing::instrument(skip(self, changes))]
    pub async fn update_project(
        &self,
        actor: Actor,
        id: ProjectId,
        changes: &ProjectChanges,
    ) -> ProjectsResult<Project> {
        let mut conn = self.pool.get().await?;
        Self::authorize(&mut conn, actor, id, Action::UpdateProject).await?;
        repo_projects::update(
            &mut conn,
            id,
            &ProjectChangeset {
                name: changes.name.as_deref(),
                description: changes.description.as_deref(),
                status: changes.status.map(ProjectStatus::as_str),
            },
        )
        .await?
        .ok_or(ProjectsError::NotFound)?;
        Self::load_project(&mut conn, id).await
    }

    /// Deletes a project and its tasks (`owner` only); the audit row records the client's address `ip`.
    #[tracing::instrument(skip(self))]
    pub async fn delete_project(&self, actor: Actor, id: ProjectId, ip: Option<&str>) -> ProjectsResult<()> {
        let mut conn = self.pool.get().await?;
        conn.transaction::<_, ProjectsError, _>(async |conn| {
            let row = repo_projects::lock(conn, id)
                .await?
                .ok_or(ProjectsError::NotFound)?;
            Self::authorize(conn, actor, id, Action::DeleteProject).await?;
            Self::drop_project_reminders(conn, id, false).await?;
            if !repo_projects::delete(conn, id).await? {
                return Err(ProjectsError::NotFound);
            }
            audit::append(
                conn,
                &AuditEntry::new(Some(actor.id), AuditAction::ProjectDeleted, ip)
                    .on(AuditTarget::Project(id))
                    .with(serde_json::json!({"name": row.name})),
                Utc::now(),
            )
            .await?;
            Ok(())
        })
        .await
    }

    // ----- members -------------------------------------------------------------------------------------------

    /// Adds `user` with `role` (`owner` or `admin`; only an owner grants `owner`). An unknown user is
    /// `Invalid` (`user_id`); a member already, `AlreadyMember`.
    #[tracing::instrument(skip(self))]
    pub async fn add_member(
        &self,
        actor: Actor,
        id: ProjectId,
        user: UserId,
        role: ProjectRole,
    ) -> ProjectsResult<Project> {
        let project = id;
        let mut conn = self.pool.get().await?;
        conn.transaction::<_, ProjectsError, _>(async |conn| {
            let row = repo_projects::lock(conn, project)
                .await?
                .ok_or(ProjectsError::NotFound)?;
            let mine = Self::authorize(conn, actor, project, Action::ManageMembers).await?;
            if role == ProjectRole::Owner {
                Self::require(mine, Action::ManageOwners)?;
            }
            if !repo_projects::user_exists(conn, user).await? {
                return Err(ProjectsError::invalid("user_id", "no such user"));
            }
            if !repo_projects::add_member(conn, project, user, role).await? {
                return Err(ProjectsError::AlreadyMember);
            }
            outbox::append(
                conn,
                &DomainEvent::ProjectMemberAdded {
                    project_id: id,
                    project_name: row.name,
                    user_id: user,
                    role,
                    added_by: actor.id,
                },
            )
            .await?;
            Ok(())
        })
        .await?;
        self.notifier.notify();
        Self::load_project(&mut conn, project).await
    }

    /// Changes a member's role (`owner` or `admin`; only an owner grants or takes `owner`; the last owner
    /// cannot be demoted).
    #[tracing::instrument(skip(self))]
    pub async fn change_role(
        &self,
        actor: Actor,
        id: ProjectId,
        user: UserId,
        role: ProjectRole,
    ) -> ProjectsResult<Project> {
        let project = id;
        let mut conn = self.pool.get().await?;
        conn.transaction::<_, ProjectsError, _>(async |conn| {
            repo_projects::lock(conn, project)
                .await?
                .ok_or(ProjectsError::NotFound)?;
            let mine = Self::authorize(conn, actor, project, Action::ManageMembers).await?;
            let current = repo_projects::role_of(conn, project, user)
                .await?
                .ok_or(ProjectsError::NotFound)?;
            let was_owner = current == ProjectRole::Owner;
            if role == ProjectRole::Owner || was_owner {
                Self::require(mine, Action::ManageOwners)?;
            }
            if was_owner && role != ProjectRole::Owner {
                if repo_projects::count_owners(conn, project).await? <= 1 {
                    return Err(ProjectsError::LastOwner);
                }
                repo_projects::replace_owner_id(conn, project, user).await?;
            }
            repo_projects::set_role(conn, project, user, role).await?;
            Ok(())
        })
        .await?;
        Self::load_project(&mut conn, project).await
    }

    /// Removes `user` from the project: a member may leave; `owner`s and `admin`s remove others; only an
    /// owner removes an owner; the last owner stays. Their open tasks in the project are unassigned. The audit
    /// row records the client's address `ip`.
    #[tracing::instrument(skip(self))]
    pub async fn remove_member(
        &self,
        actor: Actor,
        id: ProjectId,
        user: UserId,
        ip: Option<&str>,
    ) -> ProjectsResult<()> {
        let project = id;
        let mut conn = self.pool.get().await?;
        conn.transaction::<_, ProjectsError, _>(async |conn| {
            repo_projects::lock(conn, project)
                .await?
                .ok_or(ProjectsError::NotFound)?;
            let mine = Self::role_in(conn, actor, project).await?;
            let target = repo_projects::role_of(conn, project, user)
                .await?
                .ok_or(ProjectsError::NotFound)?;
            let action = if user == actor.id {
                Action::Leave
            } else if target == ProjectRole::Owner {
                Action::ManageOwners
            } else {
                Action::ManageMembers
            };
            Self::require(mine, action)?;
            if target == ProjectRole::Owner {
                if repo_projects::count_owners(conn, project).await? <= 1 {
                    return Err(ProjectsError::LastOwner);
                }
                repo_projects::replace_owner_id(conn, project, user).await?;
            }
            repo_projects::remove_member(conn, project, user).await?;
            let unassigned = repo_tasks::unassign_open(conn, project, user, actor.id).await?;
            Self::drop_project_reminders(conn, project, true).await?;
            tracing::debug!(unassigned, "member removed");
            audit::append(
                conn,
                &AuditEntry::new(Some(actor.id), AuditAction::ProjectMemberRemoved, ip)
                    .on(AuditTarget::Project(project))
                    .with(serde_json::json!({"user_id": user, "role": target.as_str()})),
                Utc::now(),
            )
            .await?;
            Ok(())
        })
        .await
    }

    // ----- tasks ---------------------------------------------------------------------------------------------

    /// The tasks of `rows` as members see them, with their subtasks' progress and their labels (two more
    /// statements, whatever the number of tasks).
    pub(crate) async fn tasks_out(
        conn: &mut AsyncPgConnection,
        rows: Vec<TaskRow>,
    ) -> ProjectsResult<Vec<Task>> {
        let ids: Vec<TaskId> = rows.iter().map(|row| row.id).collect();
        let progress: HashMap<TaskId, Progress> = repo_tasks::progress_of(conn, &ids)
            .await?
            .into_iter()
            .map(|(id, done, total)| (id, Progress { done, total }))
            .collect();
        let mut labels: HashMap<TaskId, Vec<LabelId>> = HashMap::new();
        for (task, label) in repo_labels::of_tasks(conn, &ids).await? {
            labels.entry(task).or_default().push(label);
        }
        Ok(rows
            .into_iter()
            .map(|row| {
                let progress = progress.get(&row.id).copied().unwrap_or_default();
                let labels = labels.remove(&row.id).unwrap_or_default();
                task_from_row(row, progress, labels)
            })
            .collect())
    }

    /// When `after` is a recurring task that this change completed (it was not `done` before) and whose next
    /// occurrence does not exist yet, creates it: the same task, `todo`, due one interval later, at the end of
    /// its column. The caller holds the task's row lock, so concurrent completions create it once; the unique
    /// `recurred_from` makes sure of it.
    pub(crate) async fn recur(
        &self,
        conn: &mut AsyncPgConnection,
        actor: Actor,
        before: &TaskRow,
        after: &TaskRow,
    ) -> ProjectsResult<()> {
        let done = TaskStatus::Done.as_str();
        if before.status == done || after.status != done {
            return Ok(());
        }
        let rule = recurrence_of(after.recurrence_frequency.as_deref(), after.recurrence_interval);
        let (Some(rule), Some(due)) = (rule, after.due_date) else {
            return Ok(());
        };
        let Some(next_due) = rule.next(due) else {
            return Ok(());
        };
        if repo_tasks::has_successor(conn, after.id).await? {
            return Ok(());
        }
        let id = TaskId::new();
        repo_tasks::lock_board(conn, after.project_id).await?;
        let position = Self::end_of_column(conn, after.project_id, TaskStatus::Todo, id).await?;
        let row = repo_tasks::insert(
            conn,
            &NewTaskRow {
                id,
                project_id: after.project_id,
                title: &after.title,
                description: &after.description,
                status: TaskStatus::Todo.as_str(),
                assigned_to: after.assigned_to,
                due_date: Some(next_due),
                created_by: actor.id,
                parent_id: after.parent_id,
                position: &position,
                recurrence_frequency: after.recurrence_frequency.as_deref(),
                recurrence_interval: after.recurrence_interval,
                recurred_from: Some(after.id),
            },
        )
        .await?;
        self.refresh_due_reminders(conn, &[&row], Utc::now()).await?;
        let labels: Vec<LabelId> = repo_labels::of_tasks(conn, &[after.id])
            .await?
            .into_iter()
            .map(|(_, label)| label)
            .collect();
        repo_labels::set(conn, id, &labels).await?;
        let mut watchers = vec![actor.id];
        watchers.extend(row.assigned_to);
        repo_comments::watch(conn, id, &watchers).await?;
        repo_activity::record(
            conn,
            id,
            actor.id,
            &[("created", Value::Null, Value::String(row.title.clone()))],
        )
        .await?;
        let task = Self::task_out(conn, row).await?;
        Self::announce_task(conn, after.project_id, id, Some(&task)).await
    }

    /// The rank at the end of a column, for a task (`skip`) placed there.
    async fn end_of_column(
        conn: &mut AsyncPgConnection,
        project: ProjectId,
        status: TaskStatus,
        skip: TaskId,
    ) -> ProjectsResult<String> {
        let last = repo_tasks::neighbour(conn, project, status.as_str(), None, false, skip).await?;
        rank_between(last.as_deref(), None, "status")
    }

    pub(crate) async fn task_out(conn: &mut AsyncPgConnection, row: TaskRow) -> ProjectsResult<Task> {
        Self::tasks_out(conn, vec![row])
            .await?
            .pop()
            .ok_or(ProjectsError::NotFound)
    }

    /// Appends `TaskUpdated` (`task:updated` to the project's connected members) for `task`, or for its
    /// deletion.
    pub(crate) async fn announce_task(
        conn: &mut AsyncPgConnection,
        project: ProjectId,
        id: TaskId,
        task: Option<&Task>,
    ) -> ProjectsResult<()> {
        let member_ids = repo_projects::member_ids(conn, project).await?;
        let task = task.cloned();
        outbox::append(
            conn,
            &DomainEvent::TaskUpdated {
                project_id: project,
                task_id: id,
                member_ids,
                task,
            },
        )
        .await?;
        Ok(())
    }

    /// Checks that `parent` may become the parent of a task of `project` (`moved`, when an existing task moves):
    /// a task of the same project, no cycle, and the tree within the depth limit. Call it with the project's
    /// tree locked ([`repo_tasks::lock_tree`]).
    async fn check_parent(
        &self,
        conn: &mut AsyncPgConnection,
        project: ProjectId,
        parent: TaskId,
        moved: Option<TaskId>,
    ) -> ProjectsResult<()> {
        let max = i32::try_from(self.settings.max_task_depth)
            .unwrap_or(i32::MAX)
            .max(1);
        let same_project = repo_tasks::find(conn, parent)
            .await?
            .is_some_and(|row| row.project_id == project);
        if !same_project {
            return Err(ProjectsError::invalid(
                "parent_id",
                "must be a task of the same project",
            ));
        }
        let bound = max.saturating_add(1);
        let (depth, cycle) = repo_tasks::ancestry(conn, parent, moved, bound).await?;
        if cycle {
            return Err(ProjectsError::invalid(
                "parent_id",
                "must not be the task itself or one of its subtasks",
            ));
        }
        let height = match moved {
            Some(task) => repo_tasks::height(conn, task, bound).await?,
            None => 1,
        };
        if depth.saturating_add(height) > max {
            return Err(ProjectsError::invalid(
                "parent_id",
                format!("a task tree has at most {max} levels"),
            ));
        }
        Ok(())
    }

    /// Creates a task (not `viewer`s); the assignee must be a project member, the parent a task of the project
    /// within the depth limit. The creator and the assignee watch it.
    #[tracing::instrument(skip(self, new))]
    pub async fn create_task(&self, actor: Actor, project: ProjectId, new: &NewTask) -> ProjectsResult<Task> {
        let mut conn = self.pool.get().await?;
        let task = conn
            .transaction::<_, ProjectsError, _>(async |conn| {
                Self::authorize(conn, actor, project, Action::EditTasks).await?;
                if let Some(user) = new.assigned_to
                    && !Self::is_member(conn, project, user).await?
                {
                    return Err(not_a_member());
                }
                if let Some(parent) = new.parent_id {
                    repo_tasks::lock_tree(conn, project).await?;
                    self.check_parent(conn, project, parent, None).await?;
                }
                let labels = self.check_labels(conn, project, &new.label_ids).await?;
                let (frequency, interval) = stored_recurrence(new.recurrence)?;
                if new.recurrence.is_some() && new.due_date.is_none() {
                    return Err(needs_a_due_date());
                }
                let id = TaskId::new();
                let status = new.status.unwrap_or(TaskStatus::Todo);
                repo_tasks::lock_board(conn, project).await?;
                let position = Self::end_of_column(conn, project, status, id).await?;
                let row = repo_tasks::insert(
                    conn,
                    &NewTaskRow {
                        id,
                        project_id: project,
                        title: &new.title,
                        description: new.description.as_deref().unwrap_or(""),
                        status: status.as_str(),
                        assigned_to: new.assigned_to,
                        due_date: new.due_date,
                        created_by: actor.id,
                        parent_id: new.parent_id,
                        position: &position,
                        recurrence_frequency: frequency,
                        recurrence_interval: interval,
                        recurred_from: None,
                    },
                )
                .await?;
                self.refresh_due_reminders(conn, &[&row], Utc::now()).await?;
                repo_labels::set(conn, id, &labels).await?;
                let mut watchers = vec![actor.id];
                watchers.extend(row.assigned_to);
                repo_comments::watch(conn, row.id, &watchers).await?;
                repo_activity::record(
                    conn,
                    row.id,
                    actor.id,
                    &[("created", Value::Null, Value::String(row.title.clone()))],
                )
                .await?;
                Self::announce_assignment(conn, actor, &row, None).await?;
                let task = Self::task_out(conn, row).await?;
                Self::announce_task(conn, project, task.id, Some(&task)).await?;
                Ok(task)
            })
            .await?;
        self.notifier.notify();
        Ok(task)
    }

    /// Appends `TaskAssigned` when `row` is now assigned to someone other than `previous` and the actor.
    async fn announce_assignment(
        conn: &mut AsyncPgConnection,
        actor: Actor,
        row: &TaskRow,
        previous: Option<UserId>,
    ) -> ProjectsResult<bool> {
        let Some(assignee) = row.assigned_to else {
            return Ok(false);
        };
        if Some(assignee) == previous || assignee == actor.id {
            return Ok(false);
        }
        outbox::append(
            conn,
            &DomainEvent::TaskAssigned {
                task_id: row.id,
                project_id: row.project_id,
                title: row.title.clone(),
                assigned_to: assignee,
                assigned_by: actor.id,
            },
        )
        .await?;
        Ok(true)
    }

    /// Finds a task and checks `action` in its project.
    pub(crate) async fn task_for(
        conn: &mut AsyncPgConnection,
        actor: Actor,
        id: TaskId,
        action: Action,
        lock: bool,
    ) -> ProjectsResult<TaskRow> {
        let row = if lock {
            repo_tasks::lock(conn, id).await?
        } else {
            repo_tasks::find(conn, id).await?
        }
        .ok_or(ProjectsError::NotFound)?;
        Self::authorize(conn, actor, row.project_id, action).await?;
        Ok(row)
    }

    /// One task of a project the caller may see.
    pub async fn task(&self, actor: Actor, id: TaskId) -> ProjectsResult<Task> {
        let mut conn = self.pool.get().await?;
        let row = Self::task_for(&mut conn, actor, id, Action::View, false).await?;
        Self::task_out(&mut conn, row).await
    }

    /// Changes a task (not `viewer`s). With `if_match`, the task's current version must be one of the given
    /// ones (`VersionMismatch` otherwise). Every change increases the version and is recorded in the task's
    /// activity.
    #[tracing::instrument(skip(self, changes))]
    pub async fn update_task(
        &self,
        actor: Actor,
        id: TaskId,
        changes: &TaskChanges,
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
                if let Some(Some(user)) = changes.assigned_to
                    && !Self::is_member(conn, current.project_id, user).await?
                {
                    return Err(not_a_member());
                }
                if let Some(Some(parent)) = changes.parent_id
                    && current.parent_id != Some(parent)
                {
                    repo_tasks::lock_tree(conn, current.project_id).await?;
                    self.check_parent(conn, current.project_id, parent, Some(id))
                        .await?;
                }
                let mut activity = Vec::new();
                if let Some(wanted) = &changes.label_ids {
                    let labels = self.check_labels(conn, current.project_id, wanted).await?;
                    let before: Vec<LabelId> = repo_labels::of_tasks(conn, &[id])
                        .await?
                        .into_iter()
                        .map(|(_, label)| label)
                        .collect();
                    if before != labels {
                        repo_labels::set(conn, id, &labels).await?;
                        activity.push(("label_ids", json_value(&before), json_value(&labels)));
                    }
                }
                let recurrence = changes.recurrence.map(stored_recurrence).transpose()?;
                // A new column: the task goes to its end.
                let position = match changes.status {
                    Some(status) if status.as_str() != current.status => {
                        repo_tasks::lock_board(conn, current.project_id).await?;
                        Some(Self::end_of_column(conn, current.project_id, status, id).await?)
                    }
                    _ => None,
                };
                let row = repo_tasks::update(
                    conn,
                    id,
                    &TaskChangeset {
                        title: changes.title.as_deref(),
                        description: changes.description.as_deref(),
                        status: changes.status.map(TaskStatus::as_str),
                        assigned_to: changes.assigned_to,
                        due_date: changes.due_date,
                        parent_id: changes.parent_id,
                        position: position.as_deref(),
                        recurrence_frequency: recurrence.map(|r| r.0),
                        recurrence_interval: recurrence.map(|r| r.1),
                    },
                )
                .await?;
                if row.recurrence_frequency.is_some() && row.due_date.is_none() {
                    return Err(needs_a_due_date());
                }
                self.recur(conn, actor, &current, &row).await?;
                self.refresh_due_reminders(conn, &[&row], Utc::now()).await?;
                activity.splice(0..0, task_changes(&current, &row));
                repo_activity::record(conn, id, actor.id, &activity).await?;
                if let Some(assignee) = row.assigned_to
                    && current.assigned_to != Some(assignee)
                {
                    repo_comments::watch(conn, id, &[assignee]).await?;
                }
                Self::announce_assignment(conn, actor, &row, current.assigned_to).await?;
                let task = Self::task_out(conn, row).await?;
                Self::announce_task(conn, task.project_id, id, Some(&task)).await?;
                Ok(task)
            })
            .await?;
        self.notifier.notify();
        Ok(task)
    }

    /// Deletes a task (not `viewer`s). A task with subtasks needs `children`: `Delete` deletes its whole
    /// subtree, `Detach` makes its direct subtasks top-level (recorded in their activity); without it the
    /// answer is `HasChildren` and nothing changes.
    #[tracing::instrument(skip(self))]
    pub async fn delete_task(
        &self,
        actor: Actor,
        id: TaskId,
        children: Option<ChildrenChoice>,
    ) -> ProjectsResult<()> {
        let mut conn = self.pool.get().await?;
        conn.transaction::<_, ProjectsError, _>(async |conn| {
            let row = Self::task_for(conn, actor, id, Action::EditTasks, true).await?;
            let count = repo_tasks::children_count(conn, id).await?;
            if count > 0 {
                match children {
                    None => return Err(ProjectsError::HasChildren { count }),
                    Some(ChildrenChoice::Detach) => {
                        repo_tasks::lock_tree(conn, row.project_id).await?;
                        repo_tasks::detach_children(conn, id, actor.id).await?;
                    }
                    Some(ChildrenChoice::Delete) => {}
                }
            }
            Self::drop_due_reminders(conn, id).await?;
            if !repo_tasks::delete(conn, id).await? {
                return Err(ProjectsError::NotFound);
            }
            Self::announce_task(conn, row.project_id, id, None).await
        })
        .await?;
        self.notifier.notify();
        Ok(())
    }

    /// One page of a task's activity, oldest first.
    pub async fn task_activity(
        &self,
        actor: Actor,
        id: TaskId,
        page: &PageRequest,
    ) -> ProjectsResult<Page<TaskActivity>> {
        let after = decode::<i64>(page)?;
        let mut conn = self.pool.get().await?;
        Self::task_for(&mut conn, actor, id, Action::View, false).await?;
        let rows = repo_activity::page(&mut conn, id, after, overfetch(page)).await?;
        Ok(
            Page::from_overfetch(rows, page.limit, |row| row.id).map(|row| TaskActivity {
                id: row.id,
                task_id: row.task_id,
                actor_id: row.actor_id,
                field: row.field,
                old_value: row.old_value.unwrap_or(Value::Null),
                new_value: row.new_value.unwrap_or(Value::Null),
                created_at: row.created_at,
            }),
        )
    }

    /// A project's tasks by `created_at` then `id`, oldest first.
    pub async fn project_tasks(
        &self,
        actor: Actor,
        project: ProjectId,
        filter: &ProjectTaskFilter,
        page: &PageRequest,
    ) -> ProjectsResult<Page<Task>> {
        let after = decode::<CreatedCursor<TaskId>>(page)?;
        let mut conn = self.pool.get().await?;
        Self::authorize(&mut conn, actor, project, Action::View).await?;
        let rows = repo_tasks::page_in_project(
            &mut conn,
            project,
            repo_tasks::ProjectFilter {
                status: filter.status.map(TaskStatus::as_str),
                assigned_to: filter.assigned_to,
                label: filter.label,
                due_after: filter.due_after,
                due_before: filter.due_before,
                text: filter.text.as_deref(),
            },
            after.map(|c| (c.c, c.i)),
            overfetch(page),
        )
        .await?;
        let rows = Page::from_overfetch(rows, page.limit, |row| CreatedCursor {
            c: row.created_at,
            i: row.id,
        });
        Ok(Page {
            items: Self::tasks_out(&mut conn, rows.items).await?,
            next_cursor: rows.next_cursor,
        })
    }

    /// Tasks across every project the caller can see (every project for a global admin), by `due_date`
    /// (tasks without one last) then `id`. Later pages leave out tasks created after the first page.
    pub async fn tasks(
        &self,
        actor: Actor,
        filter: &TaskFilter,
        page: &PageRequest,
    ) -> ProjectsResult<Page<Task>> {
        let after = decode::<DueCursor>(page)?;
        let mut conn = self.pool.get().await?;
        // The database's clock, the same one that stamps `created_at`.
        let as_of = match &after {
            Some(cursor) => cursor.a,
            None => repo_tasks::now(&mut conn).await?,
        };
        let rows = repo_tasks::page_visible(
            &mut conn,
            VisibleFilter {
                member: (!actor.global_admin).then_some(actor.id),
                assigned_to: filter.assigned_to,
                status: filter.status.map(TaskStatus::as_str),
                due_before: filter.due_before,
                as_of,
            },
            after.map(|c| DueKey {
                due_date: c.d,
                id: c.i,
            }),
            overfetch(page),
        )
        .await?;
        let rows = Page::from_overfetch(rows, page.limit, |row| DueCursor {
            d: row.due_date,
            i: row.id,
            a: as_of,
        });
        Ok(Page {
            items: Self::tasks_out(&mut conn, rows.items).await?,
            next_cursor: rows.next_cursor,
        })
    }
}
