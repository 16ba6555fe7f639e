//! Projects and tasks (docs/api.md, Projects and tasks): every route, the whole role matrix (owner, admin,
//! member, viewer, non-member, global admin), ETags, partial updates, the last-owner rules, unassignment,
//! cascades, list orders and paging, and the domain events.

use crate::client::{Answer, Call};
use crate::helpers::{TestApp, TestUser, elements, json_of, next_event, problem};
use epop_core::DomainEvent;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A global admin (role changed in the database, then signed in again).
async fn global_admin(app: &TestApp) -> TestUser {
    let root = app.register("Root", "root@example.com").await;
    app.sql(&format!(
        "UPDATE users SET role = 'admin' WHERE id = '{}'",
        root.id
    ))
    .await;
    let root = app.sign_in_again("root@example.com").await;
    assert_eq!(app.as_user(&root).get_ok("/api/users/me").await["role"], "admin");
    root
}

async fn create_project(app: &TestApp, owner: &TestUser, name: &str) -> Value {
    app.as_user(owner)
        .post_created("/api/projects", json!({"name": name}))
        .await
}

/// `by` adds `user` to `project` with `role`.
pub(crate) async fn add_member(app: &TestApp, project: &str, by: &TestUser, user: &TestUser, role: &str) {
    let response = app
        .as_user(by)
        .post(
            format!("/api/projects/{project}/members"),
            json!({"user_id": user.id, "role": role}),
        )
        .await;
    json_of(response, StatusCode::CREATED).await;
}

/// `by` creates a task in `project` from `body`.
pub(crate) async fn create_task(app: &TestApp, project: &str, by: &TestUser, body: Value) -> Value {
    app.as_user(by)
        .post_created(format!("/api/projects/{project}/tasks"), body)
        .await
}

async fn get_task(app: &TestApp, task: &str, by: &TestUser) -> Value {
    app.as_user(by).get_ok(format!("/api/tasks/{task}")).await
}

pub(crate) fn id(value: &Value) -> String {
    value["id"].as_str().unwrap().to_owned()
}

pub(crate) fn ids(page: &Value) -> Vec<String> {
    elements(&page["items"]).map(id).collect()
}

/// Every page of a list, following `next_cursor`.
async fn all_pages(app: &TestApp, path: &str, by: &TestUser) -> Vec<Vec<String>> {
    app.every_page(by, path).await.iter().map(ids).collect()
}

/// Asserts that `GET path?query` is `422` naming exactly the query's one parameter.
async fn assert_query_names_its_field(app: &TestApp, by: &TestUser, path: &str, query: &str) {
    let problem = app.as_user(by).get(format!("{path}?{query}")).await.invalid();
    assert_eq!(
        problem.fields(),
        vec![query.split('=').next().unwrap()],
        "{query}"
    );
}

/// A project with an owner, an admin, a member and a viewer, plus an outsider and a global admin.
struct Team {
    project: String,
    owner: TestUser,
    admin: TestUser,
    member: TestUser,
    viewer: TestUser,
    outsider: TestUser,
    root: TestUser,
}

impl Team {
    /// A gateway with a team on it.
    async fn start() -> (TestApp, Self) {
        let app = TestApp::spawn().await;
        let team = Self::new(&app).await;
        (app, team)
    }

    async fn new(app: &TestApp) -> Self {
        let [owner, admin, member, viewer, outsider] = app.users(["Ann", "Bob", "Cat", "Dan", "Eve"]).await;
        let root = global_admin(app).await;
        let project = id(&create_project(app, &owner, "Apollo").await);
        add_member(app, &project, &owner, &admin, "admin").await;
        add_member(app, &project, &owner, &member, "member").await;
        add_member(app, &project, &owner, &viewer, "viewer").await;
        Self {
            project,
            owner,
            admin,
            member,
            viewer,
            outsider,
            root,
        }
    }

    /// The six callers with their names.
    fn everyone(&self) -> [(&'static str, &TestUser); 6] {
        [
            ("owner", &self.owner),
            ("admin", &self.admin),
            ("member", &self.member),
            ("viewer", &self.viewer),
            ("outsider", &self.outsider),
            ("global admin", &self.root),
        ]
    }
}

/// Expected statuses in the order of [`Team::everyone`].
fn expect(response: &Answer, who: &str, expected: StatusCode, what: &str) {
    assert_eq!(response.status(), expected, "{who}: {what}");
}

#[tokio::test]
async fn projects_are_created_read_updated_and_deleted() {
    let (app, [ann]) = TestApp::with_users(["Ann"]).await;
    let response = app
        .as_user(&ann)
        .post(
            "/api/projects",
            json!({"name": "Apollo", "description": "to the moon", "status": "on_hold"}),
        )
        .await;
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let project = json_of(response, StatusCode::CREATED).await;
    let project_id = id(&project);
    assert_eq!(location, format!("/api/projects/{project_id}"));
    assert_eq!(project["name"], "Apollo");
    assert_eq!(project["description"], "to the moon");
    assert_eq!(project["status"], "on_hold");
    assert_eq!(project["owner_id"], ann.id.as_str());
    assert_eq!(project["members"], json!([{"user_id": ann.id, "role": "owner"}]));
    for field in ["created_at", "updated_at"] {
        assert!(project[field].is_string(), "{field}");
    }

    let defaults = create_project(&app, &ann, "Plain").await;
    assert_eq!(
        (defaults["description"].as_str(), defaults["status"].as_str()),
        (Some(""), Some("active"))
    );

    assert_eq!(app.as_user(&ann).get_ok(&location).await, project);

    // Partial update: only the fields given change.
    let updated = app
        .as_user(&ann)
        .put_ok(&location, json!({"status": "completed"}))
        .await;
    assert_eq!(
        (updated["name"].as_str(), updated["status"].as_str()),
        (Some("Apollo"), Some("completed"))
    );
    assert_eq!(updated["description"], "to the moon");

    app.as_user(&ann)
        .post("/api/projects", json!({"status": "paused"}))
        .await
        .invalid_fields(&["name", "status"]);
    app.as_user(&ann)
        .put(&location, json!({"name": ""}))
        .await
        .invalid_fields(&["name"]);

    app.as_user(&ann).delete_ok(&location).await;
    app.as_user(&ann)
        .all_not_found([Call::get(&location), Call::get("/api/projects/not-a-uuid")])
        .await;
}

#[tokio::test]
async fn every_project_route_follows_the_role_matrix() {
    let (app, team) = Team::start().await;
    let project = team.project.clone();
    let path = format!("/api/projects/{project}");
    const OK: StatusCode = StatusCode::OK;
    const CREATED: StatusCode = StatusCode::CREATED;
    const GONE: StatusCode = StatusCode::NO_CONTENT;
    const NO: StatusCode = StatusCode::FORBIDDEN;
    const HIDDEN: StatusCode = StatusCode::NOT_FOUND;

    // Reading the project and its tasks: every member and the global admin; the outsider sees nothing.
    let read = [OK, OK, OK, OK, HIDDEN, OK];
    for ((who, user), expected) in team.everyone().into_iter().zip(read) {
        expect(&app.as_user(user).get(&path).await, who, expected, "GET project");
        expect(
            &app.as_user(user).get(format!("{path}/tasks")).await,
            who,
            expected,
            "GET project tasks",
        );
    }

    // Updating the project: owner, admin and the global admin.
    let update = [OK, OK, NO, NO, HIDDEN, OK];
    for ((who, user), expected) in team.everyone().into_iter().zip(update) {
        let response = app.as_user(user).put(&path, json!({"description": who})).await;
        expect(&response, who, expected, "PUT project");
        if expected == NO {
            problem(response, NO, "forbidden").await;
        } else if expected == HIDDEN {
            problem(response, HIDDEN, "not_found").await;
        }
    }

    // Adding, re-roling and removing members: owner, admin and the global admin.
    let manage = [true, true, false, false, false, true];
    for (i, ((who, user), may)) in team.everyone().into_iter().zip(manage).enumerate() {
        let newcomer = app.register("New", &format!("new{i}@example.com")).await;
        let denied = if who == "outsider" { HIDDEN } else { NO };
        let add = app
            .as_user(user)
            .post(
                format!("{path}/members"),
                json!({"user_id": newcomer.id, "role": "member"}),
            )
            .await;
        expect(&add, who, if may { CREATED } else { denied }, "POST member");
        if may {
            assert_eq!(add.headers()["location"].to_str().unwrap(), path);
        } else {
            add_member(&app, &project, &team.owner, &newcomer, "member").await;
        }
        let member_path = format!("{path}/members/{}", newcomer.id);
        let role = app
            .as_user(user)
            .put(&member_path, json!({"role": "viewer"}))
            .await;
        expect(&role, who, if may { OK } else { denied }, "PUT member role");
        let remove = app.as_user(user).delete(&member_path).await;
        expect(&remove, who, if may { GONE } else { denied }, "DELETE member");
    }

    // Every member may leave; the outsider cannot "leave" a project they cannot see.
    for (i, (who, user)) in team.everyone().into_iter().enumerate() {
        if who == "owner" {
            continue;
        }
        let other = id(&create_project(&app, &team.owner, &format!("Leave {i}")).await);
        if who != "outsider" && who != "global admin" {
            add_member(&app, &other, &team.owner, user, who).await;
        }
        let leave = app
            .as_user(user)
            .delete(format!("/api/projects/{other}/members/{}", user.id))
            .await;
        // The global admin is no member, so there is no membership to end.
        let expected = if who == "outsider" || who == "global admin" {
            HIDDEN
        } else {
            GONE
        };
        expect(&leave, who, expected, "leave");
    }

    // Deleting a project: the owner and the global admin only.
    let delete = [GONE, NO, NO, NO, HIDDEN, GONE];
    for ((who, user), expected) in team.everyone().into_iter().zip(delete) {
        let doomed = id(&create_project(&app, &team.owner, "Doomed").await);
        for (role, member) in [
            ("admin", &team.admin),
            ("member", &team.member),
            ("viewer", &team.viewer),
        ] {
            add_member(&app, &doomed, &team.owner, member, role).await;
        }
        let response = app.as_user(user).delete(format!("/api/projects/{doomed}")).await;
        expect(&response, who, expected, "DELETE project");
    }

    // The list: members see the project; the outsider does not; the global admin sees every project.
    for (who, user) in team.everyone() {
        let page = app.as_user(user).get("/api/projects?limit=100").await.json(OK);
        assert_eq!(
            ids(&page).contains(&project),
            who != "outsider",
            "{who}: GET /api/projects"
        );
    }
    let all = app.count("SELECT count(*) AS n FROM projects").await;
    let page = app
        .as_user(&team.root)
        .get("/api/projects?limit=100")
        .await
        .json(OK);
    assert_eq!(ids(&page).len() as i64, all);
}

#[tokio::test]
async fn every_task_route_follows_the_role_matrix() {
    let (app, team) = Team::start().await;
    let project = team.project.clone();
    let task = id(&create_task(&app, &project, &team.owner, json!({"title": "shared"})).await);
    const HIDDEN: StatusCode = StatusCode::NOT_FOUND;
    const NO: StatusCode = StatusCode::FORBIDDEN;

    let may_edit = [true, true, true, false, false, true];
    for ((who, user), may) in team.everyone().into_iter().zip(may_edit) {
        let denied = if who == "outsider" { HIDDEN } else { NO };
        let read = if who == "outsider" { HIDDEN } else { StatusCode::OK };
        let allowed = |status: StatusCode| if may { status } else { denied };
        let caller = app.as_user(user);
        expect(
            &caller.clone().get(format!("/api/tasks/{task}")).await,
            who,
            read,
            "GET task",
        );
        let created = caller
            .clone()
            .post(
                format!("/api/projects/{project}/tasks"),
                json!({"title": format!("by {who}")}),
            )
            .await;
        expect(&created, who, allowed(StatusCode::CREATED), "POST task");
        if !may {
            let code = if who == "outsider" {
                "not_found"
            } else {
                "forbidden"
            };
            problem(created, denied, code).await;
        }
        let own = id(&create_task(&app, &project, &team.owner, json!({"title": "t"})).await);
        let own = format!("/api/tasks/{own}");
        let updated = caller.clone().put(&own, json!({"status": "done"})).await;
        expect(&updated, who, allowed(StatusCode::OK), "PUT task");
        let deleted = caller.delete(&own).await;
        expect(&deleted, who, allowed(StatusCode::NO_CONTENT), "DELETE task");
    }
    // The outsider's GET /api/tasks never shows the project's tasks; the global admin's shows them all.
    let outsider = app.as_user(&team.outsider).get_ok("/api/tasks").await;
    assert!(ids(&outsider).is_empty());
    let everything = app.as_user(&team.root).get_ok("/api/tasks?limit=100").await;
    assert_eq!(
        ids(&everything).len() as i64,
        app.count("SELECT count(*) AS n FROM tasks").await
    );
    assert!(ids(&everything).contains(&task));
}

#[tokio::test]
async fn members_owners_and_the_last_owner() {
    let (app, team) = Team::start().await;
    let path = format!("/api/projects/{}", team.project);
    let members = format!("{path}/members");

    // Adding: an unknown user is 422 naming user_id; a member already, 409; a bad role, 422.
    app.as_user(&team.owner)
        .post(
            &members,
            json!({"user_id": uuid::Uuid::now_v7(), "role": "member"}),
        )
        .await
        .invalid_fields(&["user_id"]);
    let again = app
        .as_user(&team.admin)
        .post(&members, json!({"user_id": team.member.id, "role": "viewer"}))
        .await;
    problem(again, StatusCode::CONFLICT, "conflict").await;
    app.as_user(&team.owner)
        .post(&members, json!({"user_id": team.outsider.id, "role": "boss"}))
        .await
        .invalid_fields(&["role"]);
    app.as_user(&team.owner)
        .post(&members, json!({}))
        .await
        .invalid_fields(&["role", "user_id"]);

    // Only an owner grants or takes `owner`.
    let grant = app
        .as_user(&team.admin)
        .post(&members, json!({"user_id": team.outsider.id, "role": "owner"}))
        .await;
    problem(grant, StatusCode::FORBIDDEN, "forbidden").await;
    let promote = app
        .as_user(&team.admin)
        .put(format!("{members}/{}", team.member.id), json!({"role": "owner"}))
        .await;
    problem(promote, StatusCode::FORBIDDEN, "forbidden").await;
    let owner_path = format!("{members}/{}", team.owner.id);
    app.as_user(&team.admin)
        .put(&owner_path, json!({"role": "member"}))
        .await
        .forbidden();
    app.as_user(&team.admin).delete(&owner_path).await.forbidden();
    // A non-member target is 404.
    app.as_user(&team.owner)
        .put(
            format!("{members}/{}", team.outsider.id),
            json!({"role": "member"}),
        )
        .await
        .not_found();

    // The last owner can neither be demoted, nor leave, nor be removed (even by the global admin).
    app.as_user(&team.owner)
        .put(&owner_path, json!({"role": "admin"}))
        .await
        .conflict();
    app.as_user(&team.owner).delete(&owner_path).await.conflict();
    app.as_user(&team.root).delete(&owner_path).await.conflict();

    // With a second owner, the first may leave; `owner_id` moves to the remaining owner.
    let admin_path = format!("{members}/{}", team.admin.id);
    let project = app
        .as_user(&team.owner)
        .put_ok(&admin_path, json!({"role": "owner"}))
        .await;
    assert!(
        project["members"]
            .as_array()
            .unwrap()
            .contains(&json!({"user_id": team.admin.id, "role": "owner"}))
    );
    app.as_user(&team.owner).delete_ok(&owner_path).await;
    let project = app.as_user(&team.admin).get_ok(&path).await;
    assert_eq!(project["owner_id"], team.admin.id.as_str());
    assert!(!project["members"].to_string().contains(&team.owner.id));
    app.as_user(&team.owner).get(&path).await.not_found();
    app.as_user(&team.admin)
        .put(&admin_path, json!({"role": "member"}))
        .await
        .conflict();
}

#[tokio::test]
async fn tasks_have_etags_partial_updates_and_null_clearing() {
    let (app, team) = Team::start().await;
    let tasks = format!("/api/projects/{}/tasks", team.project);

    let response = app.as_user(&team.member).post(&tasks, json!({"title": "Write", "description": "docs", "assigned_to": team.member.id, "due_date": "2026-12-24"}))
    .await;
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(response.headers()["etag"], "\"1\"");
    let task = json_of(response, StatusCode::CREATED).await;
    let task_id = id(&task);
    assert_eq!(location, format!("/api/tasks/{task_id}"));
    assert_eq!(task["project_id"], team.project.as_str());
    assert_eq!(task["status"], "todo");
    assert_eq!(task["assigned_to"], team.member.id.as_str());
    assert_eq!(task["due_date"], "2026-12-24T00:00:00Z");
    assert!(task.get("version").is_none());

    // Validation: an assignee who is not a member, a bad due date, a bad status, a missing title.
    app.as_user(&team.owner)
        .post(&tasks, json!({"title": "x", "assigned_to": team.outsider.id}))
        .await
        .invalid_fields(&["assigned_to"]);
    app.as_user(&team.owner)
        .post(&tasks, json!({"title": "x", "due_date": "24.12.2026"}))
        .await
        .invalid_fields(&["due_date"]);
    app.as_user(&team.owner)
        .post(&tasks, json!({"status": "later"}))
        .await
        .invalid_fields(&["status", "title"]);

    let got = app.as_user(&team.viewer).get(&location).await;
    assert_eq!(got.headers()["etag"], "\"1\"");
    assert_eq!(json_of(got, StatusCode::OK).await, task);

    // An update with the current ETag works and bumps it; the stale one is then refused.
    let updated = app
        .as_token(&team.admin.access_token)
        .header("if-match", "\"1\"")
        .put(
            &location,
            json!({"status": "in_progress", "due_date": "2027-01-02T03:04:05+02:00"}),
        )
        .await;
    assert_eq!(updated.headers()["etag"], "\"2\"");
    let updated = json_of(updated, StatusCode::OK).await;
    assert_eq!(updated["status"], "in_progress");
    assert_eq!(updated["due_date"], "2027-01-02T01:04:05Z");
    assert_eq!(
        (updated["title"].as_str(), updated["description"].as_str()),
        (Some("Write"), Some("docs"))
    );
    assert_eq!(updated["assigned_to"], team.member.id.as_str());
    let stale = app
        .as_token(&team.admin.access_token)
        .header("if-match", "\"1\"")
        .put(&location, json!({"title": "lost update"}))
        .await;
    problem(stale, StatusCode::PRECONDITION_FAILED, "precondition_failed").await;
    assert_eq!(get_task(&app, &task_id, &team.owner).await["title"], "Write");
    let any = app
        .as_token(&team.admin.access_token)
        .header("if-match", "*")
        .put(&location, json!({}))
        .await;
    assert_eq!(any.headers()["etag"], "\"3\"");

    // `null` clears the assignee and the due date; leaving them out keeps them.
    let kept = app
        .as_user(&team.member)
        .put_ok(&location, json!({"title": "Write more"}))
        .await;
    assert_eq!(kept["assigned_to"], team.member.id.as_str());
    assert!(kept["due_date"].is_string());
    let cleared = app
        .as_user(&team.member)
        .put(&location, json!({"assigned_to": null, "due_date": null}))
        .await;
    assert_eq!(cleared.headers()["etag"], "\"5\"");
    let cleared = json_of(cleared, StatusCode::OK).await;
    assert_eq!(
        (cleared["assigned_to"].clone(), cleared["due_date"].clone()),
        (Value::Null, Value::Null)
    );
    assert_eq!(cleared["title"], "Write more");

    // Reassigning to a non-member is 422; a wrong type names the field.
    app.as_user(&team.owner)
        .put(&location, json!({"assigned_to": team.outsider.id}))
        .await
        .invalid_fields(&["assigned_to"]);
    app.as_user(&team.owner)
        .put(&location, json!({"due_date": 5}))
        .await
        .invalid_fields(&["due_date"]);

    app.as_user(&team.member).delete_ok(&location).await;
    app.as_user(&team.owner).get(&location).await.not_found();
}

#[tokio::test]
async fn leaving_or_being_removed_unassigns_open_tasks() {
    let (app, team) = Team::start().await;
    let project = team.project.clone();
    let other = id(&create_project(&app, &team.owner, "Other").await);
    add_member(&app, &other, &team.owner, &team.member, "member").await;
    let assign =
        |user: &TestUser, status: &str| json!({"title": "t", "assigned_to": user.id, "status": status});
    let open = id(&create_task(&app, &project, &team.owner, assign(&team.member, "in_progress")).await);
    let done = id(&create_task(&app, &project, &team.owner, assign(&team.member, "done")).await);
    let elsewhere = id(&create_task(&app, &other, &team.owner, assign(&team.member, "todo")).await);
    let admins = id(&create_task(&app, &project, &team.owner, assign(&team.admin, "todo")).await);

    app.as_user(&team.member)
        .delete_ok(format!("/api/projects/{project}/members/{}", team.member.id))
        .await;
    let open_task = get_task(&app, &open, &team.owner).await;
    assert_eq!(open_task["assigned_to"], Value::Null);
    assert_eq!(
        get_task(&app, &done, &team.owner).await["assigned_to"],
        team.member.id.as_str()
    );
    assert_eq!(
        get_task(&app, &elsewhere, &team.owner).await["assigned_to"],
        team.member.id.as_str()
    );
    assert_eq!(
        get_task(&app, &admins, &team.owner).await["assigned_to"],
        team.admin.id.as_str()
    );
    app.as_user(&team.member)
        .get(format!("/api/tasks/{open}"))
        .await
        .not_found();

    // Removed by an admin: the same.
    app.as_user(&team.owner)
        .delete_ok(format!("/api/projects/{other}/members/{}", team.member.id))
        .await;
    assert_eq!(
        get_task(&app, &elsewhere, &team.owner).await["assigned_to"],
        Value::Null
    );
    // Removing someone who is not a member is 404.
    app.as_user(&team.owner)
        .delete(format!("/api/projects/{other}/members/{}", team.member.id))
        .await
        .not_found();
}

#[tokio::test]
async fn deleting_a_project_deletes_its_tasks() {
    let (app, team) = Team::start().await;
    let keep = id(&create_project(&app, &team.owner, "Keep").await);
    let kept = id(&create_task(&app, &keep, &team.owner, json!({"title": "stays"})).await);
    let mut doomed = Vec::new();
    for i in 0..3 {
        doomed.push(id(&create_task(
            &app,
            &team.project,
            &team.member,
            json!({"title": format!("t{i}")}),
        )
        .await));
    }
    app.as_user(&team.owner)
        .delete_ok(format!("/api/projects/{}", team.project))
        .await;
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM tasks WHERE project_id = '{}'",
            team.project
        ))
        .await,
        0
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM project_members WHERE project_id = '{}'",
            team.project
        ))
        .await,
        0
    );
    for task in doomed {
        app.as_user(&team.owner)
            .get(format!("/api/tasks/{task}"))
            .await
            .not_found();
    }
    get_task(&app, &kept, &team.owner).await;
}

#[tokio::test]
async fn a_projects_tasks_page_oldest_first_with_filters() {
    let (app, team) = Team::start().await;
    let tasks = format!("/api/projects/{}/tasks", team.project);
    let mut created = Vec::new();
    for i in 0..5 {
        let assignee = if i % 2 == 0 { &team.member } else { &team.admin };
        let status = if i < 2 { "done" } else { "todo" };
        created.push(id(&create_task(
            &app,
            &team.project,
            &team.owner,
            json!({"title": format!("t{i}"), "assigned_to": assignee.id, "status": status}),
        )
        .await));
    }
    let pages = all_pages(&app, &format!("{tasks}?limit=2"), &team.viewer).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), vec![2, 2, 1]);
    assert_eq!(pages.concat(), created);

    // A task added while paging comes at the end and nothing repeats.
    let first = app.as_user(&team.viewer).get_ok(format!("{tasks}?limit=2")).await;
    let late = id(&create_task(&app, &team.project, &team.owner, json!({"title": "late"})).await);
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest = app
        .as_user(&team.viewer)
        .get_ok(format!("{tasks}?limit=100&cursor={cursor}"))
        .await;
    let mut seen = ids(&first);
    seen.extend(ids(&rest));
    let mut expected = created.clone();
    expected.push(late);
    assert_eq!(seen, expected);

    let filtered = all_pages(
        &app,
        &format!("{tasks}?status=todo&assigned_to={}", team.member.id),
        &team.viewer,
    )
    .await;
    assert_eq!(filtered.concat(), vec![created[2].clone(), created[4].clone()]);
    let mine = all_pages(&app, &format!("{tasks}?assigned_to=me"), &team.admin).await;
    assert_eq!(mine.concat(), vec![created[1].clone(), created[3].clone()]);

    app.as_user(&team.owner)
        .get(format!("{tasks}?cursor=%25%25"))
        .await
        .problem(StatusCode::BAD_REQUEST, "bad_request");
    for bad in [
        "limit=0",
        "limit=101",
        "limit=abc",
        "status=later",
        "assigned_to=someone",
    ] {
        assert_query_names_its_field(&app, &team.owner, &tasks, bad).await;
    }
}

#[tokio::test]
async fn tasks_across_projects_by_due_date_then_id() {
    let (app, team) = Team::start().await;
    let second = id(&create_project(&app, &team.admin, "Second").await);
    let hidden = id(&create_project(&app, &team.outsider, "Hidden").await);
    let task = |title: &str, due: Option<&str>, user: &TestUser| {
        let mut body = json!({"title": title, "assigned_to": user.id});
        if let Some(due) = due {
            body["due_date"] = json!(due);
        }
        body
    };
    // Created in this order (ids are time-ordered): title, project, creator, due date, assignee.
    let plan = [
        ("a", &team.project, &team.owner, Some("2026-12-03"), &team.admin),
        ("b", &second, &team.admin, Some("2026-12-01"), &team.admin),
        ("c", &team.project, &team.owner, None, &team.admin),
        (
            "d",
            &second,
            &team.admin,
            Some("2026-12-02T12:00:00Z"),
            &team.admin,
        ),
        ("e", &team.project, &team.owner, Some("2026-12-01"), &team.owner),
        ("f", &second, &team.admin, None, &team.admin),
        ("g", &team.project, &team.owner, Some("2026-12-02"), &team.owner),
        ("h", &hidden, &team.outsider, Some("2026-11-30"), &team.outsider),
    ];
    let mut created = Vec::new();
    for (title, project, creator, due, assignee) in plan {
        created.push(id(&create_task(
            &app,
            project,
            creator,
            task(title, due, assignee),
        )
        .await));
    }
    let [a, b, c, d, e, f, g, _h]: [String; 8] = created.try_into().expect("eight tasks");

    // By due date, ties by id (ids are time-ordered, so b before e), tasks without a due date last.
    let mine = all_pages(&app, "/api/tasks?assigned_to=me&limit=2", &team.admin).await;
    assert_eq!(mine.iter().map(Vec::len).collect::<Vec<_>>(), vec![2, 2, 1]);
    assert_eq!(
        mine.concat(),
        vec![b.clone(), d.clone(), a.clone(), c.clone(), f.clone()]
    );
    let everything = all_pages(&app, "/api/tasks?limit=3", &team.admin).await;
    assert_eq!(
        everything.concat(),
        vec![
            b.clone(),
            e.clone(),
            g.clone(),
            d.clone(),
            a.clone(),
            c.clone(),
            f.clone()
        ]
    );
    // The owner is not in `second`: only the first project's tasks.
    let owners = all_pages(&app, "/api/tasks", &team.owner).await;
    assert_eq!(owners.concat(), vec![e.clone(), g.clone(), a.clone(), c.clone()]);
    // By user id, and `due_before` is exclusive (and leaves out tasks without a due date).
    let by_id = all_pages(
        &app,
        &format!("/api/tasks?assigned_to={}&due_before=2026-12-03", team.admin.id),
        &team.owner,
    )
    .await;
    assert_eq!(by_id.concat(), Vec::<String>::new());
    let before = all_pages(&app, "/api/tasks?due_before=2026-12-02T12:00:00Z", &team.admin).await;
    assert_eq!(before.concat(), vec![b.clone(), e.clone(), g.clone()]);
    let done = app
        .as_user(&team.admin)
        .put(format!("/api/tasks/{d}"), json!({"status": "done"}))
        .await;
    assert_eq!(done.status(), StatusCode::OK);
    let open = all_pages(&app, "/api/tasks?assigned_to=me&status=done", &team.admin).await;
    assert_eq!(open.concat(), vec![d.clone()]);
    // The global admin sees every project's tasks, the hidden one first.
    let root = all_pages(&app, "/api/tasks?limit=100", &team.root).await.concat();
    assert_eq!(root.len(), 8);
    // A task created between pages does not appear in later pages.
    let first = app
        .as_user(&team.admin)
        .get_ok("/api/tasks?assigned_to=me&limit=2")
        .await;
    create_task(&app, &second, &team.admin, task("late", None, &team.admin)).await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest = app
        .as_user(&team.admin)
        .get_ok(format!("/api/tasks?assigned_to=me&limit=100&cursor={cursor}"))
        .await;
    assert_eq!(ids(&rest), vec![a, c, f]);

    app.as_user(&team.admin)
        .get("/api/tasks?cursor=nope")
        .await
        .problem(StatusCode::BAD_REQUEST, "bad_request");
    for bad in ["limit=0", "assigned_to=you", "due_before=soon", "status=open"] {
        assert_query_names_its_field(&app, &team.admin, "/api/tasks", bad).await;
    }
}

#[tokio::test]
async fn the_project_list_filters_by_status_and_pages() {
    let (app, [ann, bob]) = TestApp::with_users(["Ann", "Bob"]).await;
    let mut mine = Vec::new();
    for i in 0..5 {
        let status = if i % 2 == 0 { "active" } else { "archived" };
        let response = app
            .as_user(&ann)
            .post(
                "/api/projects",
                json!({"name": format!("p{i}"), "status": status}),
            )
            .await;
        mine.push(id(&json_of(response, StatusCode::CREATED).await));
    }
    create_project(&app, &bob, "Bob's").await;
    let pages = all_pages(&app, "/api/projects?limit=2", &ann).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), vec![2, 2, 1]);
    assert_eq!(pages.concat(), mine);
    let archived = all_pages(&app, "/api/projects?status=archived", &ann).await;
    assert_eq!(archived.concat(), vec![mine[1].clone(), mine[3].clone()]);
    app.as_user(&ann)
        .get("/api/projects?cursor=xyz")
        .await
        .problem(StatusCode::BAD_REQUEST, "bad_request");
    for bad in ["limit=0", "status=old"] {
        assert_query_names_its_field(&app, &ann, "/api/projects", bad).await;
    }
}

#[tokio::test]
async fn assignments_and_new_members_reach_the_event_bus() {
    let app = TestApp::spawn().await;
    let mut events = app.state.events.subscribe();
    let [ann, bob] = app.users(["Ann", "Bob"]).await;
    let project = create_project(&app, &ann, "Apollo").await;
    let project_id = id(&project);
    add_member(&app, &project_id, &ann, &bob, "member").await;
    // Assigning oneself is no event; assigning someone else is, on create and on reassignment.
    create_task(
        &app,
        &project_id,
        &ann,
        json!({"title": "mine", "assigned_to": ann.id}),
    )
    .await;
    let created = id(&create_task(
        &app,
        &project_id,
        &ann,
        json!({"title": "yours", "assigned_to": bob.id}),
    )
    .await);
    let reassigned = id(&create_task(&app, &project_id, &bob, json!({"title": "later"})).await);
    let response = app
        .as_user(&bob)
        .put(format!("/api/tasks/{reassigned}"), json!({"assigned_to": ann.id}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    // The same assignee again is no new event.
    let response = app
        .as_user(&bob)
        .put(
            format!("/api/tasks/{reassigned}"),
            json!({"assigned_to": ann.id, "title": "later!"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    let mut seen = Vec::new();
    while seen.len() < 3 {
        let event = next_event(&mut events, "event").await;
        match &event.event {
            DomainEvent::ProjectMemberAdded {
                project_id: p,
                project_name,
                user_id,
                role,
                added_by,
            } => {
                assert_eq!(
                    (p.to_string(), project_name.as_str(), role.as_str()),
                    (project_id.clone(), "Apollo", "member")
                );
                assert_eq!(
                    (user_id.to_string(), added_by.to_string()),
                    (bob.id.clone(), ann.id.clone())
                );
                seen.push("member_added".to_owned());
            }
            DomainEvent::TaskAssigned {
                task_id,
                project_id: p,
                title,
                assigned_to,
                assigned_by,
            } => {
                assert_eq!(p.to_string(), project_id);
                seen.push(format!("{title}:{task_id}:{assigned_to}:{assigned_by}"));
            }
            _ => {}
        }
    }
    assert_eq!(
        seen,
        vec![
            "member_added".to_owned(),
            format!("yours:{created}:{}:{}", bob.id, ann.id),
            format!("later:{reassigned}:{}:{}", ann.id, bob.id),
        ]
    );
    // Nothing more arrives for the self-assignment or the unchanged assignee.
    let extra = tokio::time::timeout(std::time::Duration::from_millis(300), async {
        loop {
            match events.recv().await {
                Ok(event)
                    if matches!(
                        event.event,
                        DomainEvent::TaskAssigned { .. } | DomainEvent::ProjectMemberAdded { .. }
                    ) =>
                {
                    return event;
                }
                Ok(_) => {}
                Err(error) => panic!("{error}"),
            }
        }
    })
    .await;
    assert!(
        extra.is_err(),
        "unexpected event: {:?}",
        extra.map(|e| e.event.clone())
    );
}

#[tokio::test]
async fn project_routes_need_a_token_and_are_in_the_openapi_document() {
    let app = TestApp::spawn().await;
    for (method, path) in [
        (Method::GET, "/api/projects"),
        (Method::POST, "/api/projects"),
        (Method::GET, "/api/tasks"),
        (Method::GET, "/api/tasks/0190b3a0-0000-7000-8000-000000000000"),
    ] {
        let response = app.anonymous().send(method, path, None).await;
        problem(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
    let spec = app.openapi().await;
    let paths = &spec["paths"];
    for (path, methods) in [
        ("/api/projects", &["get", "post"][..]),
        ("/api/projects/{id}", &["get", "put", "delete"][..]),
        ("/api/projects/{id}/members", &["post"][..]),
        ("/api/projects/{id}/members/{user_id}", &["put", "delete"][..]),
        ("/api/projects/{id}/tasks", &["get", "post"][..]),
        ("/api/tasks", &["get"][..]),
        ("/api/tasks/{id}", &["get", "put", "delete"][..]),
    ] {
        for method in methods {
            assert_eq!(paths[path][method]["tags"][0], "projects", "{method} {path}");
        }
    }
    assert!(elements(&spec["tags"]).any(|t| t["name"] == "projects"));
}
