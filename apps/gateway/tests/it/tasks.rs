//! docs/api.md, Task comments, Subtasks, Task activity and live task events: comments with mentions and their
//! notifications, subtask trees (same project, no cycles, the depth limit, progress, the choice on delete),
//! the activity of every change, and `task:updated` / `task:comment` on the members' sockets.

use crate::client::Call;
use crate::helpers::{
    TestApp, TestUser, assert_paging_checked, elements, json_of, notifications_of_kind, pluck,
};
use crate::projects::{add_member, create_task, id, ids};
use crate::socket::Events as _;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

/// A project owned by Ann with Bob (member), Cat (member) and Dan (viewer); Eve is outside.
struct Team {
    project: String,
    ann: TestUser,
    bob: TestUser,
    cat: TestUser,
    dan: TestUser,
    eve: TestUser,
}

impl Team {
    async fn start() -> (TestApp, Self) {
        Self::on(TestApp::spawn().await).await
    }

    async fn on(app: TestApp) -> (TestApp, Self) {
        let [ann, bob, cat, dan, eve] = app.users(["Ann", "Bob", "Cat", "Dan", "Eve"]).await;
        let project = id(&app
            .as_user(&ann)
            .post_created("/api/projects", json!({"name": "Apollo"}))
            .await);
        add_member(&app, &project, &ann, &bob, "member").await;
        add_member(&app, &project, &ann, &cat, "member").await;
        add_member(&app, &project, &ann, &dan, "viewer").await;
        let team = Self {
            project,
            ann,
            bob,
            cat,
            dan,
            eve,
        };
        (app, team)
    }

    /// A task Ann creates in the project with `title`, and the path of its comments: `(id, comments)`.
    async fn task(&self, app: &TestApp, title: &str) -> (String, String) {
        let task = id(&create_task(app, &self.project, &self.ann, json!({"title": title})).await);
        let comments = format!("/api/tasks/{task}/comments");
        (task, comments)
    }

    /// The id of a label Ann creates in the project.
    async fn label(&self, app: &TestApp, name: &str, colour: &str) -> String {
        let labels = format!("/api/projects/{}/labels", self.project);
        id(&app
            .as_user(&self.ann)
            .post_created(labels, json!({"name": name, "colour": colour}))
            .await)
    }
}

/// The user's notifications of `kind`, waiting up to five seconds until there are `count` (they are made by
/// the outbox relay and the job worker, asynchronously).
async fn notifications_of(app: &TestApp, user: &TestUser, kind: &str, count: usize) -> Vec<Value> {
    notifications_of_kind(
        app,
        user,
        "/api/notifications?limit=100",
        kind,
        count,
        Duration::from_secs(5),
    )
    .await
}

/// `by` comments `body` on the task whose comments are at `comments`, which must be accepted.
async fn post_comment(app: &TestApp, by: &TestUser, comments: &str, body: &str) -> Value {
    app.as_user(by)
        .post_created(comments, json!({"body": body}))
        .await
}

/// The newest entry of `task`'s activity as `by` reads it: its field, old value, new value and actor.
async fn last_change(app: &TestApp, by: &TestUser, task: &str) -> [Value; 4] {
    let activity = app
        .as_user(by)
        .get_ok(format!("/api/tasks/{task}/activity"))
        .await;
    let last = activity["items"].as_array().unwrap().last().unwrap();
    ["field", "old_value", "new_value", "actor_id"].map(|key| last[key].clone())
}

/// Asserts that `task` is gone for `by` (`404`).
async fn assert_gone(app: &TestApp, by: &TestUser, task: &str) {
    app.as_user(by)
        .get(format!("/api/tasks/{task}"))
        .await
        .not_found();
}

// ----- comments -------------------------------------------------------------------------------------------

#[tokio::test]
async fn comments_are_posted_paged_and_changed_by_their_authors_only() {
    let (app, team) = Team::start().await;
    let (task, comments) = team.task(&app, "Write").await;

    let response = app
        .as_user(&team.bob)
        .post(&comments, json!({"body": "first"}))
        .await;
    let location = response.header("location").unwrap().to_owned();
    let first = json_of(response, StatusCode::CREATED).await;
    assert_eq!(location, format!("{comments}/{}", id(&first)));
    assert_eq!(first["task_id"], task.as_str());
    assert_eq!(first["author_id"], team.bob.id.as_str());
    assert_eq!(first["body"], "first");
    assert_eq!(first["mentions"], json!([]));
    assert_eq!(first["edited_at"], Value::Null);
    let second = post_comment(&app, &team.ann, &comments, "second").await;
    let third = post_comment(&app, &team.cat, &comments, "third").await;

    // Paged oldest first; a viewer reads them.
    let pages: Vec<Vec<String>> = app
        .every_page(&team.dan, &format!("{comments}?limit=2"))
        .await
        .iter()
        .map(ids)
        .collect();
    assert_eq!(pages, vec![vec![id(&first), id(&second)], vec![id(&third)]]);

    // Only the author edits or deletes; the edit is stamped.
    let mine = format!("{comments}/{}", id(&first));
    let edited = app
        .as_user(&team.bob)
        .patch_ok(&mine, json!({"body": "first, edited"}))
        .await;
    assert_eq!(edited["body"], "first, edited");
    assert!(edited["edited_at"].is_string());
    app.as_user(&team.ann)
        .all_forbidden([
            Call::patch(&mine, json!({"body": "not yours"})),
            Call::delete(&mine),
        ])
        .await;
    app.as_user(&team.cat).all_forbidden([Call::delete(&mine)]).await;
    let listed = app.as_user(&team.ann).get_ok(&comments).await;
    assert_eq!(listed["items"][0]["body"], "first, edited");
    app.as_user(&team.bob).delete_ok(&mine).await;
    assert_eq!(
        ids(&app.as_user(&team.ann).get_ok(&comments).await),
        vec![id(&second), id(&third)]
    );
    app.as_user(&team.bob).delete(&mine).await.not_found();
}

#[tokio::test]
async fn bad_comment_requests_are_refused_and_change_nothing() {
    let (app, team) = Team::start().await;
    let (_, comments) = team.task(&app, "Write").await;
    let own = post_comment(&app, &team.bob, &comments, "ok").await;
    let own_path = format!("{comments}/{}", id(&own));

    // Bad bodies name the field.
    for body in [
        json!({}),
        json!({"body": ""}),
        json!({"body": "   "}),
        json!({"body": 5}),
        json!({"body": "x".repeat(10_001)}),
    ] {
        app.as_user(&team.bob)
            .post(&comments, body.clone())
            .await
            .invalid_fields(&["body"]);
        app.as_user(&team.bob)
            .patch(&own_path, body)
            .await
            .invalid_fields(&["body"]);
    }
    // A viewer may read but not comment; an outsider sees nothing.
    app.as_user(&team.dan)
        .all_forbidden([Call::post(&comments, json!({"body": "hi"}))])
        .await;
    app.as_user(&team.dan).get_ok(&comments).await;
    app.as_user(&team.eve)
        .all_not_found([
            Call::post(&comments, json!({"body": "hi"})),
            Call::get(&comments),
            Call::patch(&own_path, json!({"body": "x"})),
            Call::delete(&own_path),
        ])
        .await;
    // Unknown tasks and comments, and a comment under another task, are 404.
    let unknown = "0190b3a0-0000-7000-8000-000000000000";
    let (other, _) = team.task(&app, "Other").await;
    app.as_user(&team.bob)
        .all_not_found([
            Call::post(format!("/api/tasks/{unknown}/comments"), json!({"body": "x"})),
            Call::delete(format!("{comments}/{unknown}")),
            Call::delete(format!("/api/tasks/{other}/comments/{}", id(&own))),
        ])
        .await;
    assert_paging_checked(&app, &team.bob, &comments, "nonsense", &["0", "101"]).await;

    let listed = app.as_user(&team.bob).get_ok(&comments).await;
    assert_eq!(ids(&listed), vec![id(&own)]);
    assert_eq!(listed["items"][0]["body"], "ok");
}

#[tokio::test]
async fn a_task_holds_at_most_the_configured_comments() {
    let (app, team) = Team::on(TestApp::with_settings([("EPOP_TASK_MAX_COMMENTS", "2")]).await).await;
    let (_, comments) = team.task(&app, "Write").await;
    let first = post_comment(&app, &team.bob, &comments, "1").await;
    post_comment(&app, &team.bob, &comments, "2").await;
    app.as_user(&team.bob)
        .post(&comments, json!({"body": "3"}))
        .await
        .conflict();
    app.as_user(&team.bob)
        .delete_ok(format!("{comments}/{}", id(&first)))
        .await;
    post_comment(&app, &team.bob, &comments, "3").await;
}

#[tokio::test]
async fn comments_notify_watchers_and_mentioned_members_only() {
    let (app, team) = Team::start().await;
    // Ann creates the task for Bob: both watch it.
    let task = create_task(
        &app,
        &team.project,
        &team.ann,
        json!({"title": "Launch", "assigned_to": team.bob.id}),
    )
    .await;
    let task_id = id(&task);
    let comments = format!("/api/tasks/{task_id}/comments");

    // Cat mentions Dan (a member, as viewer), Eve (not a member), herself and nonsense.
    let body = format!(
        "<@{}> <@{}> <@{}> <@nobody> please look",
        team.dan.id, team.eve.id, team.cat.id
    );
    let comment = app
        .as_user(&team.cat)
        .post_created(&comments, json!({"body": body}))
        .await;
    assert_eq!(comment["mentions"], json!([team.dan.id]));

    for watcher in [&team.ann, &team.bob] {
        let found = notifications_of(&app, watcher, "task_comment", 1).await;
        let payload = &found[0]["payload"];
        assert_eq!(payload["task_id"], task_id.as_str());
        assert_eq!(payload["project_id"], team.project.as_str());
        assert_eq!(payload["comment_id"], comment["id"]);
        assert_eq!(payload["author_id"], team.cat.id.as_str());
        assert_eq!(payload["title"], "Launch");
        // The first 140 characters.
        let preview = payload["preview"].as_str().unwrap();
        assert_eq!(preview, body.chars().take(140).collect::<String>());
    }
    let mention = notifications_of(&app, &team.dan, "task_mention", 1).await;
    assert_eq!(mention[0]["payload"]["comment_id"], comment["id"]);

    // Cat now watches too: Bob's comment reaches Ann and Cat, and not Bob himself.
    post_comment(&app, &team.bob, &comments, "on it").await;
    assert_eq!(
        notifications_of(&app, &team.cat, "task_comment", 1).await.len(),
        1
    );
    assert_eq!(
        notifications_of(&app, &team.ann, "task_comment", 2).await.len(),
        2
    );

    // An edit that mentions someone new notifies only them.
    let mine = format!("{comments}/{}", id(&comment));
    let edited = app
        .as_user(&team.cat)
        .patch_ok(
            &mine,
            json!({"body": format!("<@{}> and <@{}>", team.dan.id, team.ann.id)}),
        )
        .await;
    assert_eq!(edited["mentions"], json!([team.dan.id, team.ann.id]));
    assert_eq!(
        notifications_of(&app, &team.ann, "task_mention", 1).await.len(),
        1
    );

    // Exactly these, once each (the jobs have run: the last notification is there).
    let count = |user: &TestUser, kind: &str| {
        format!(
            "SELECT count(*) AS n FROM notifications WHERE user_id = '{}' AND kind = '{kind}'",
            user.id
        )
    };
    assert_eq!(app.count(&count(&team.ann, "task_comment")).await, 2);
    assert_eq!(app.count(&count(&team.bob, "task_comment")).await, 1);
    assert_eq!(app.count(&count(&team.cat, "task_comment")).await, 1);
    assert_eq!(app.count(&count(&team.dan, "task_mention")).await, 1);
    assert_eq!(app.count(&count(&team.dan, "task_comment")).await, 0);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM notifications WHERE user_id = '{}'",
            team.eve.id
        ))
        .await,
        0
    );
}

// ----- subtasks -------------------------------------------------------------------------------------------

#[tokio::test]
async fn subtasks_stay_in_their_project_without_cycles_within_the_depth_limit() {
    let (app, team) = Team::on(TestApp::with_settings([("EPOP_TASK_MAX_DEPTH", "3")]).await).await;
    let project = team.project.clone();
    let top = id(&create_task(&app, &project, &team.ann, json!({"title": "Top"})).await);
    let child = create_task(
        &app,
        &project,
        &team.bob,
        json!({"title": "Child", "parent_id": top}),
    )
    .await;
    assert_eq!(child["parent_id"], top.as_str());
    let child = id(&child);
    let done = id(&create_task(
        &app,
        &project,
        &team.bob,
        json!({"title": "Done", "parent_id": top, "status": "done"}),
    )
    .await);
    let grandchild = id(&create_task(
        &app,
        &project,
        &team.bob,
        json!({"title": "Leaf", "parent_id": child}),
    )
    .await);

    // The parent shows its direct subtasks' progress, in lists too.
    let got = app.as_user(&team.dan).get_ok(format!("/api/tasks/{top}")).await;
    assert_eq!(got["progress"], json!({"done": 1, "total": 2}));
    assert_eq!(got["parent_id"], Value::Null);
    let listed = app
        .as_user(&team.ann)
        .get_ok(format!("/api/projects/{project}/tasks"))
        .await;
    let progress: Vec<Value> = elements(&listed["items"])
        .map(|t| t["progress"].clone())
        .collect();
    assert_eq!(
        progress,
        vec![
            json!({"done": 1, "total": 2}),
            json!({"done": 0, "total": 1}),
            json!({"done": 0, "total": 0}),
            json!({"done": 0, "total": 0}),
        ]
    );
    app.as_user(&team.bob)
        .put_ok(format!("/api/tasks/{child}"), json!({"status": "done"}))
        .await;
    assert_eq!(
        app.as_user(&team.ann).get_ok(format!("/api/tasks/{top}")).await["progress"],
        json!({"done": 2, "total": 2})
    );

    let tasks = format!("/api/projects/{project}/tasks");
    // A fourth level is past the limit of three.
    // The parent must be a task of the same project; a malformed id names the field too.
    let other_project = id(&app
        .as_user(&team.ann)
        .post_created("/api/projects", json!({"name": "Other"}))
        .await);
    let elsewhere = id(&create_task(&app, &other_project, &team.ann, json!({"title": "Elsewhere"})).await);
    let unknown = "0190b3a0-0000-7000-8000-000000000000";
    let new_under =
        |parent: &str| Call::post(&tasks, json!({"title": "x", "parent_id": parent})).invalid(&["parent_id"]);
    let move_under = |task: &str, parent: &str| {
        Call::put(format!("/api/tasks/{task}"), json!({"parent_id": parent})).invalid(&["parent_id"])
    };
    app.as_user(&team.bob)
        .all_invalid([
            // A fourth level is past the limit of three.
            new_under(&grandchild),
            new_under(&elsewhere),
            move_under(&done, &elsewhere),
            new_under(unknown),
            move_under(&done, unknown),
            new_under("top"),
            // No cycles: not itself, not one of its subtasks.
            move_under(&top, &top),
            move_under(&top, &child),
            move_under(&top, &grandchild),
            // Moving a subtree under another keeps the limit: Child (two levels) under Done (level 2) would
            // make four.
            move_under(&child, &done),
        ])
        .await;
    // Nothing changed.
    let child_now = app.as_user(&team.bob).get_ok(format!("/api/tasks/{child}")).await;
    assert_eq!(child_now["parent_id"], top.as_str());
    // Detaching with `null`, then the same move fits (Child at level 2 under Done... under a top-level task).
    let detached = app
        .as_user(&team.bob)
        .put_ok(format!("/api/tasks/{done}"), json!({"parent_id": null}))
        .await;
    assert_eq!(detached["parent_id"], Value::Null);
    let moved = app
        .as_user(&team.bob)
        .put_ok(format!("/api/tasks/{child}"), json!({"parent_id": done}))
        .await;
    assert_eq!(moved["parent_id"], done.as_str());
    // A viewer may not restructure.
    app.as_user(&team.dan)
        .all_forbidden([Call::put(
            format!("/api/tasks/{child}"),
            json!({"parent_id": null}),
        )])
        .await;
}

#[tokio::test]
async fn deleting_a_task_with_subtasks_asks_what_to_do_with_them() {
    let (app, team) = Team::start().await;
    let project = team.project.clone();
    let top = id(&create_task(&app, &project, &team.ann, json!({"title": "Top"})).await);
    let a = id(&create_task(&app, &project, &team.ann, json!({"title": "A", "parent_id": top})).await);
    let a1 = id(&create_task(&app, &project, &team.ann, json!({"title": "A1", "parent_id": a})).await);
    let b = id(&create_task(&app, &project, &team.ann, json!({"title": "B", "parent_id": top})).await);

    // No choice: 409 naming the choice; a bad choice: 422 naming `children`; nothing changes.
    let refused = app
        .as_user(&team.bob)
        .delete(format!("/api/tasks/{top}"))
        .await
        .conflict();
    let detail = refused.detail.unwrap_or_default();
    assert!(detail.contains("children=delete"), "{detail}");
    app.as_user(&team.bob)
        .delete(format!("/api/tasks/{top}?children=keep"))
        .await
        .invalid_fields(&["children"]);
    app.as_user(&team.dan)
        .delete(format!("/api/tasks/{top}?children=delete"))
        .await
        .forbidden();
    app.as_user(&team.eve)
        .delete(format!("/api/tasks/{top}?children=delete"))
        .await
        .not_found();
    app.as_user(&team.ann).get_ok(format!("/api/tasks/{top}")).await;

    // Detach: the direct subtasks become top-level (their own subtasks stay with them), with activity.
    app.as_user(&team.bob)
        .delete_ok(format!("/api/tasks/{top}?children=detach"))
        .await;
    assert_gone(&app, &team.ann, &top).await;
    for task in [&a, &b] {
        let got = app.as_user(&team.ann).get_ok(format!("/api/tasks/{task}")).await;
        assert_eq!(got["parent_id"], Value::Null);
        assert_eq!(
            last_change(&app, &team.ann, task).await,
            [json!("parent_id"), json!(top), Value::Null, json!(team.bob.id)]
        );
    }
    assert_eq!(
        app.as_user(&team.ann).get_ok(format!("/api/tasks/{a1}")).await["parent_id"],
        a.as_str()
    );

    // Delete: the whole subtree goes. A task without subtasks needs no choice.
    app.as_user(&team.bob)
        .delete_ok(format!("/api/tasks/{a}?children=delete"))
        .await;
    assert_gone(&app, &team.ann, &a1).await;
    app.as_user(&team.bob).delete_ok(format!("/api/tasks/{b}")).await;
}

// ----- activity -------------------------------------------------------------------------------------------

#[tokio::test]
async fn every_change_to_a_task_is_kept_in_its_activity() {
    let (app, team) = Team::start().await;
    let task = create_task(&app, &team.project, &team.ann, json!({"title": "Write"})).await;
    let task_id = id(&task);
    let path = format!("/api/tasks/{task_id}");
    app.as_user(&team.bob)
        .put_ok(&path, json!({"title": "Write docs", "status": "in_progress"}))
        .await;
    app.as_user(&team.ann)
        .put_ok(
            &path,
            json!({"assigned_to": team.cat.id, "due_date": "2027-01-05"}),
        )
        .await;
    // A change to nothing records nothing.
    app.as_user(&team.ann)
        .put_ok(&path, json!({"title": "Write docs"}))
        .await;
    // Cat leaves: her open task is unassigned, and that is recorded too.
    app.as_user(&team.cat)
        .delete_ok(format!("/api/projects/{}/members/{}", team.project, team.cat.id))
        .await;

    let pages = app
        .every_page(&team.dan, &format!("{path}/activity?limit=2"))
        .await;
    assert_eq!(pages.len(), 3);
    let entries: Vec<(String, Value, Value, String)> = pages
        .iter()
        .flat_map(|page| page["items"].as_array().unwrap().clone())
        .map(|e| {
            assert_eq!(e["task_id"], task_id.as_str());
            assert!(e["created_at"].is_string());
            (
                e["field"].as_str().unwrap().to_owned(),
                e["old_value"].clone(),
                e["new_value"].clone(),
                e["actor_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let (ann, bob, cat) = (team.ann.id.clone(), team.bob.id.clone(), team.cat.id.clone());
    assert_eq!(
        entries,
        vec![
            ("created".into(), Value::Null, json!("Write"), ann.clone()),
            ("title".into(), json!("Write"), json!("Write docs"), bob.clone()),
            ("status".into(), json!("todo"), json!("in_progress"), bob),
            ("assigned_to".into(), Value::Null, json!(cat), ann.clone()),
            ("due_date".into(), Value::Null, json!("2027-01-05T00:00:00Z"), ann),
            ("assigned_to".into(), json!(cat), Value::Null, cat.clone()),
        ]
    );

    // Who may not see the task gets 404; bad paging is refused.
    let activity = format!("{path}/activity");
    app.as_user(&team.eve).all_not_found([Call::get(&activity)]).await;
    app.as_user(&team.ann)
        .all_not_found([Call::get(
            "/api/tasks/0190b3a0-0000-7000-8000-000000000000/activity",
        )])
        .await;
    assert_paging_checked(&app, &team.ann, &activity, "%22x%22", &["0"]).await;
}

// ----- live events ----------------------------------------------------------------------------------------

#[tokio::test]
async fn connected_members_see_task_and_comment_changes_live() {
    let (app, team) = Team::start().await;
    let mut bob = app.socket(&team.bob.access_token).await;
    let mut eve = app.socket(&team.eve.access_token).await;

    let task = create_task(&app, &team.project, &team.ann, json!({"title": "Live"})).await;
    let task_id = id(&task);
    let created = bob.event("task:updated").await;
    assert_eq!(created["project_id"], team.project.as_str());
    assert_eq!(created["task"]["title"], "Live");
    assert_eq!(created["deleted"], false);
    // The event carries the task exactly as the REST answer shows it.
    assert_eq!(created["task"], task);

    app.as_user(&team.ann)
        .put_ok(format!("/api/tasks/{task_id}"), json!({"status": "in_review"}))
        .await;
    let updated = bob.event("task:updated").await;
    assert_eq!(updated["task"]["status"], "in_review");

    let comment = app
        .as_user(&team.cat)
        .post_created(
            format!("/api/tasks/{task_id}/comments"),
            json!({"body": "looks good"}),
        )
        .await;
    let live = bob.event("task:comment").await;
    assert_eq!(live["action"], "created");
    assert_eq!(live["task_id"], task_id.as_str());
    assert_eq!(live["comment"]["id"], comment["id"]);
    assert_eq!(live["comment"]["body"], "looks good");
    assert_eq!(live["comment"], comment);
    let mut keys: Vec<&String> = live.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["action", "comment", "project_id", "task_id"]);
    app.as_user(&team.cat)
        .delete_ok(format!("/api/tasks/{task_id}/comments/{}", id(&comment)))
        .await;
    let deleted = bob.event("task:comment").await;
    assert_eq!(
        (deleted["action"].clone(), deleted["comment"]["id"].clone()),
        (json!("deleted"), comment["id"].clone())
    );
    assert_eq!(deleted["comment"], json!({"id": comment["id"]}));

    app.as_user(&team.ann)
        .delete_ok(format!("/api/tasks/{task_id}"))
        .await;
    let gone = bob.event("task:updated").await;
    assert_eq!(
        (gone["task_id"].clone(), gone["deleted"].clone()),
        (json!(task_id), json!(true))
    );

    // Someone outside the project hears nothing of it.
    assert!(
        eve.event_within("task:updated", Duration::from_millis(300))
            .await
            .is_none()
    );
}

#[tokio::test]
async fn the_new_task_routes_are_documented() {
    let app = TestApp::spawn().await;
    let spec = app.openapi().await;
    let paths = &spec["paths"];
    for (path, methods) in [
        ("/api/tasks/{id}/comments", &["get", "post"][..]),
        ("/api/tasks/{id}/comments/{comment_id}", &["patch", "delete"][..]),
        ("/api/tasks/{id}/activity", &["get"][..]),
        ("/api/tasks/{id}/move", &["post"][..]),
        ("/api/projects/{id}/labels", &["get", "post"][..]),
        ("/api/projects/{id}/labels/{label_id}", &["patch", "delete"][..]),
        ("/api/projects/{id}/board", &["get"][..]),
    ] {
        for method in methods {
            assert_eq!(paths[path][method]["tags"][0], "projects", "{method} {path}");
        }
    }
    let delete = &paths["/api/tasks/{id}"]["delete"];
    assert!(delete["responses"]["409"].is_object());
    assert!(elements(&delete["parameters"]).any(|p| p["name"] == "children"));
}

// ----- labels and filters ---------------------------------------------------------------------------------

#[tokio::test]
async fn labels_are_managed_per_project_and_assigned_to_tasks() {
    let (app, team) = Team::on(
        TestApp::with_settings([("EPOP_PROJECT_MAX_LABELS", "2"), ("EPOP_TASK_MAX_LABELS", "1")]).await,
    )
    .await;
    let labels = format!("/api/projects/{}/labels", team.project);
    let bug = app
        .as_user(&team.bob)
        .post_created(&labels, json!({"name": " Bug ", "colour": "#D73A4A"}))
        .await;
    assert_eq!(
        (bug["name"].clone(), bug["colour"].clone()),
        (json!("Bug"), json!("#d73a4a"))
    );
    assert_eq!(bug["project_id"], team.project.as_str());
    // Names are unique whatever their case; bad fields are named; the project's bound holds.
    app.as_user(&team.bob)
        .post(&labels, json!({"name": "BUG", "colour": "#000000"}))
        .await
        .conflict();
    app.as_user(&team.bob)
        .all_invalid([
            Call::post(&labels, json!({"name": "", "colour": "red"})).invalid(&["name", "colour"]),
            Call::post(&labels, json!({"name": "   ", "colour": "#00000g"})).invalid(&["name"]),
            Call::post(&labels, json!({"name": "ok", "colour": "#00000g"})).invalid(&["colour"]),
            Call::post(&labels, json!({})).invalid(&["name", "colour"]),
            Call::get(format!("{labels}?limit=0")).invalid(&["limit"]),
        ])
        .await;
    let docs = app
        .as_user(&team.bob)
        .post_created(&labels, json!({"name": "Docs", "colour": "#0e8a16"}))
        .await;
    app.as_user(&team.bob)
        .post(&labels, json!({"name": "Third", "colour": "#0e8a16"}))
        .await
        .conflict();
    // Roles: a viewer reads, an outsider sees nothing.
    app.as_user(&team.dan)
        .post(&labels, json!({"name": "x", "colour": "#000000"}))
        .await
        .forbidden();
    assert_eq!(
        ids(&app.as_user(&team.dan).get_ok(&labels).await),
        vec![id(&bug), id(&docs)]
    );
    app.as_user(&team.eve)
        .all_not_found([
            Call::get(&labels),
            Call::post(&labels, json!({"name": "x", "colour": "#000000"})),
        ])
        .await;

    // Renaming: partial, unique, validated; a label of another project is 404.
    let docs_path = format!("{labels}/{}", id(&docs));
    let renamed = app
        .as_user(&team.cat)
        .patch_ok(&docs_path, json!({"name": "Documentation"}))
        .await;
    assert_eq!(
        (renamed["name"].clone(), renamed["colour"].clone()),
        (json!("Documentation"), json!("#0e8a16"))
    );
    app.as_user(&team.cat)
        .patch(&docs_path, json!({"name": "bug"}))
        .await
        .conflict();
    app.as_user(&team.cat)
        .patch(&docs_path, json!({"name": "", "colour": "blue"}))
        .await
        .invalid_fields(&["name", "colour"]);
    app.as_user(&team.dan)
        .patch(&docs_path, json!({"name": "x"}))
        .await
        .forbidden();
    let other = id(&app
        .as_user(&team.ann)
        .post_created("/api/projects", json!({"name": "Other"}))
        .await);
    let foreign = app
        .as_user(&team.ann)
        .post_created(
            format!("/api/projects/{other}/labels"),
            json!({"name": "Bug", "colour": "#111111"}),
        )
        .await;
    app.as_user(&team.ann)
        .delete(format!("{labels}/{}", id(&foreign)))
        .await
        .not_found();

    // Assigning: labels of the task's project only, at most the task bound; recorded in the activity.
    let tasks = format!("/api/projects/{}/tasks", team.project);
    app.as_user(&team.bob)
        .all_invalid([
            Call::post(&tasks, json!({"title": "x", "label_ids": [id(&foreign)]})).invalid(&["label_ids"]),
            Call::post(&tasks, json!({"title": "x", "label_ids": [id(&bug), id(&docs)]}))
                .invalid(&["label_ids"]),
            Call::post(&tasks, json!({"title": "x", "label_ids": ["nope"]})).invalid(&["label_ids[0]"]),
        ])
        .await;
    let task = create_task(
        &app,
        &team.project,
        &team.bob,
        json!({"title": "Fix", "label_ids": [id(&bug), id(&bug)]}),
    )
    .await;
    assert_eq!(task["label_ids"], json!([id(&bug)]));
    let path = format!("/api/tasks/{}", id(&task));
    let changed = app
        .as_user(&team.bob)
        .put_ok(&path, json!({"label_ids": [id(&docs)]}))
        .await;
    assert_eq!(changed["label_ids"], json!([id(&docs)]));
    assert_eq!(
        last_change(&app, &team.bob, &id(&task)).await,
        [
            json!("label_ids"),
            json!([id(&bug)]),
            json!([id(&docs)]),
            json!(team.bob.id)
        ]
    );
    // Deleting a label takes it off its tasks.
    app.as_user(&team.cat).delete_ok(&docs_path).await;
    assert_eq!(app.as_user(&team.bob).get_ok(&path).await["label_ids"], json!([]));
    app.as_user(&team.cat).delete(&docs_path).await.not_found();
}

#[tokio::test]
async fn a_projects_tasks_filter_by_label_assignee_status_due_range_and_text() {
    let (app, team) = Team::start().await;
    let bug = team.label(&app, "Bug", "#d73a4a").await;
    let p = &team.project;
    let a = id(&create_task(&app, p, &team.ann, json!({"title": "Crash on login", "label_ids": [bug], "assigned_to": team.bob.id, "due_date": "2027-01-10"})).await);
    let b = id(&create_task(&app, p, &team.ann, json!({"title": "Write release notes", "description": "for the login page", "due_date": "2027-01-20", "status": "in_progress"})).await);
    let c = id(&create_task(
        &app,
        p,
        &team.ann,
        json!({"title": "Crash on logout", "label_ids": [bug], "due_date": "2027-02-01"}),
    )
    .await);
    let _d = id(&create_task(&app, p, &team.ann, json!({"title": "Plan"})).await);
    let list = |query: &str| format!("/api/projects/{p}/tasks?{query}");
    for (query, expected) in [
        (format!("label={bug}"), vec![a.clone(), c.clone()]),
        (
            format!("label={bug}&assigned_to={}", team.bob.id),
            vec![a.clone()],
        ),
        ("status=in_progress".to_owned(), vec![b.clone()]),
        (
            "due_after=2027-01-10&due_before=2027-02-01".to_owned(),
            vec![a.clone(), b.clone()],
        ),
        ("due_after=2027-01-11".to_owned(), vec![b.clone(), c.clone()]),
        ("q=crash".to_owned(), vec![a.clone(), c.clone()]),
        ("q=login".to_owned(), vec![a.clone(), b.clone()]),
        ("q=crash%20logout".to_owned(), vec![c.clone()]),
        (
            format!("q=crash&label={bug}&due_before=2027-01-15"),
            vec![a.clone()],
        ),
    ] {
        let pages: Vec<String> = app
            .every_page(&team.dan, &list(&format!("{query}&limit=1")))
            .await
            .iter()
            .flat_map(ids)
            .collect();
        assert_eq!(pages, expected, "{query}");
    }
    for bad in [
        "label=nope",
        "due_after=tomorrow",
        "due_before=1.1.2027",
        "q=",
        "assigned_to=x",
    ] {
        let field = bad.split('=').next().unwrap();
        app.as_user(&team.ann)
            .get(list(bad))
            .await
            .invalid_fields(&[field]);
    }
    app.as_user(&team.ann)
        .get(list(&format!("q={}", "x".repeat(201))))
        .await
        .invalid_fields(&["q"]);
    app.as_user(&team.eve).get(list("q=crash")).await.not_found();
}

// ----- board ----------------------------------------------------------------------------------------------

#[tokio::test]
async fn moving_a_task_on_the_board_changes_only_that_task() {
    let (app, team) = Team::start().await;
    let p = team.project.clone();
    let mut todo = Vec::new();
    for title in ["A", "B", "C"] {
        todo.push(create_task(&app, &p, &team.ann, json!({"title": title})).await);
    }
    let [a, b, c] = [id(&todo[0]), id(&todo[1]), id(&todo[2])];
    let column = |status: &str| format!("/api/projects/{p}/board?status={status}");
    let board = |status: &'static str| {
        let app = &app;
        let viewer = &team.dan;
        async move {
            app.every_page(viewer, &format!("{}&limit=2", column(status)))
                .await
                .iter()
                .flat_map(ids)
                .collect::<Vec<String>>()
        }
    };
    assert_eq!(board("todo").await, vec![a.clone(), b.clone(), c.clone()]);

    // C to the top: only C changes (version and position); A and B keep theirs.
    let before: Vec<Value> = [&a, &b]
        .iter()
        .map(|t| todo.iter().find(|x| id(x) == **t).unwrap().clone())
        .collect();
    let moved = app
        .as_user(&team.bob)
        .header("if-match", "\"1\"")
        .post(format!("/api/tasks/{c}/move"), json!({"before_id": a}))
        .await;
    assert_eq!(moved.header("etag"), Some("\"2\""));
    let moved = moved.json(StatusCode::OK);
    assert!(moved["position"].as_str().unwrap() < before[0]["position"].as_str().unwrap());
    assert_eq!(board("todo").await, vec![c.clone(), a.clone(), b.clone()]);
    for task in &before {
        let now = app
            .as_user(&team.ann)
            .get(format!("/api/tasks/{}", id(task)))
            .await;
        assert_eq!(now.header("etag"), Some("\"1\""));
        assert_eq!(now.json(StatusCode::OK)["position"], task["position"]);
    }
    // Between two neighbours; after the last; into another column; a stale If-Match is 412.
    app.as_user(&team.bob)
        .post_ok(
            format!("/api/tasks/{b}/move"),
            json!({"after_id": c, "before_id": a}),
        )
        .await;
    assert_eq!(board("todo").await, vec![c.clone(), b.clone(), a.clone()]);
    app.as_user(&team.bob)
        .post_ok(format!("/api/tasks/{c}/move"), json!({"after_id": a}))
        .await;
    assert_eq!(board("todo").await, vec![b.clone(), a.clone(), c.clone()]);
    let done = app
        .as_user(&team.bob)
        .post_ok(format!("/api/tasks/{a}/move"), json!({"status": "done"}))
        .await;
    assert_eq!(done["status"], "done");
    assert_eq!(board("done").await, vec![a.clone()]);
    assert_eq!(board("todo").await, vec![b.clone(), c.clone()]);
    app.as_user(&team.bob)
        .header("if-match", "\"1\"")
        .post(format!("/api/tasks/{a}/move"), json!({"status": "todo"}))
        .await
        .problem(StatusCode::PRECONDITION_FAILED, "precondition_failed");
    // A PUT to another status puts the task at the end of that column.
    app.as_user(&team.bob)
        .put_ok(format!("/api/tasks/{b}"), json!({"status": "done"}))
        .await;
    assert_eq!(board("done").await, vec![a.clone(), b.clone()]);
    let activity = app
        .as_user(&team.ann)
        .get_ok(format!("/api/tasks/{a}/activity"))
        .await;
    // The first task of an empty column has the same rank as the first of another: only the status changed.
    assert_eq!(pluck(&activity, "field"), ["created", "status"]);

    // Bad moves: a neighbour in another column, the task itself, neighbours out of order or not adjacent,
    // an unknown or foreign task, an unknown column; a viewer; an outsider.
    let move_c = format!("/api/tasks/{c}/move");
    let d = id(&create_task(&app, &p, &team.ann, json!({"title": "D"})).await);
    let unknown = "0190b3a0-0000-7000-8000-000000000000";
    app.as_user(&team.bob)
        .all_invalid([
            Call::post(&move_c, json!({"after_id": a})).invalid(&["after_id"]),
            Call::post(&move_c, json!({"before_id": c, "status": "done"})).invalid(&["before_id"]),
            Call::post(&move_c, json!({"after_id": c})).invalid(&["after_id"]),
            Call::post(&move_c, json!({"after_id": unknown})).invalid(&["after_id"]),
            Call::post(&move_c, json!({"after_id": "x"})).invalid(&["after_id"]),
            // todo is now C, D: D before C is out of order; with nothing between them the pair must be adjacent.
            Call::post(&move_c, json!({"after_id": d, "before_id": d})).invalid(&["before_id"]),
            Call::post(
                format!("/api/tasks/{a}/move"),
                json!({"status": "todo", "after_id": d, "before_id": c}),
            )
            .invalid(&["before_id"]),
            Call::post(&move_c, json!({"status": "later"})).invalid(&["status"]),
        ])
        .await;
    app.as_user(&team.dan)
        .all_forbidden([Call::post(&move_c, json!({}))])
        .await;
    app.as_user(&team.eve)
        .all_not_found([Call::post(&move_c, json!({})), Call::get(column("todo"))])
        .await;
    app.as_user(&team.ann)
        .all_invalid([
            Call::get(format!("/api/projects/{p}/board")).invalid(&["status"]),
            Call::get(column("soon")).invalid(&["status"]),
        ])
        .await;
}

// ----- recurring tasks ------------------------------------------------------------------------------------

#[tokio::test]
async fn completing_a_recurring_task_creates_the_next_once_even_when_completed_concurrently() {
    let (app, team) = Team::start().await;
    let chore = team.label(&app, "Chore", "#cccccc").await;
    let task = create_task(
        &app,
        &team.project,
        &team.ann,
        json!({"title": "Backup", "assigned_to": team.bob.id, "due_date": "2027-01-31T09:00:00Z",
               "label_ids": [chore], "recurrence": {"frequency": "monthly", "interval": 1}}),
    )
    .await;
    assert_eq!(task["recurrence"], json!({"frequency": "monthly", "interval": 1}));
    assert_eq!(task["recurred_from"], Value::Null);
    let task_id = id(&task);
    let path = format!("/api/tasks/{task_id}");

    // Eight completions at once: every one answers, one next task exists.
    let completions = (0..8).map(|_| app.as_user(&team.bob).put(&path, json!({"status": "done"})));
    for answer in futures_util::future::join_all(completions).await {
        assert_eq!(answer.status(), StatusCode::OK, "{}", answer.text);
    }
    let successors = format!("SELECT count(*) AS n FROM tasks WHERE recurred_from = '{task_id}'");
    assert_eq!(app.count(&successors).await, 1);
    let listed = app
        .as_user(&team.ann)
        .get_ok(format!("/api/projects/{}/tasks?status=todo", team.project))
        .await;
    let next = listed["items"][0].clone();
    assert_eq!(next["recurred_from"], task_id.as_str());
    assert_eq!(next["title"], "Backup");
    assert_eq!(next["due_date"], "2027-02-28T09:00:00Z");
    assert_eq!(next["assigned_to"], team.bob.id.as_str());
    assert_eq!(next["label_ids"], json!([chore]));
    assert_eq!(next["recurrence"], task["recurrence"]);

    // Reopened and done again: still one next task.
    app.as_user(&team.bob)
        .put_ok(&path, json!({"status": "todo"}))
        .await;
    app.as_user(&team.bob)
        .put_ok(&path, json!({"status": "done"}))
        .await;
    assert_eq!(app.count(&successors).await, 1);
    // Moving the next one to the done column completes it too.
    let next_id = id(&next);
    app.as_user(&team.bob)
        .post_ok(format!("/api/tasks/{next_id}/move"), json!({"status": "done"}))
        .await;
    assert_eq!(
        app.count(&format!("SELECT count(*) AS n FROM tasks WHERE recurred_from = '{next_id}' AND due_date = '2027-03-28T09:00:00Z'"))
            .await,
        1
    );
}

#[tokio::test]
async fn bad_recurrence_rules_are_refused() {
    let (app, team) = Team::start().await;
    let tasks = format!("/api/projects/{}/tasks", team.project);
    let weekly = json!({"frequency": "weekly", "interval": 2});
    let daily = |interval: u32| json!({"title": "x", "due_date": "2027-01-01", "recurrence": {"frequency": "daily", "interval": interval}});
    app.as_user(&team.bob)
        .all_invalid([
            Call::post(&tasks, json!({"title": "x", "recurrence": weekly})).invalid(&["recurrence"]),
            Call::post(&tasks, daily(0)).invalid(&["recurrence.interval"]),
            Call::post(&tasks, daily(366)).invalid(&["recurrence.interval"]),
        ])
        .await;
    app.as_user(&team.bob)
        .post(&tasks, json!({"title": "x", "due_date": "2027-01-01", "recurrence": {"frequency": "hourly", "interval": 1}}))
        .await
        .invalid();
    let task = create_task(
        &app,
        &team.project,
        &team.bob,
        json!({"title": "x", "due_date": "2027-01-01", "recurrence": weekly}),
    )
    .await;
    let path = format!("/api/tasks/{}", id(&task));
    // Clearing the due date of a recurring task is refused; stopping the recurrence then works.
    app.as_user(&team.bob)
        .put(&path, json!({"due_date": null}))
        .await
        .invalid_fields(&["recurrence"]);
    let stopped = app
        .as_user(&team.bob)
        .put_ok(&path, json!({"recurrence": null, "due_date": null}))
        .await;
    assert_eq!(
        (stopped["recurrence"].clone(), stopped["due_date"].clone()),
        (Value::Null, Value::Null)
    );
    let activity = app.as_user(&team.bob).get_ok(format!("{path}/activity")).await;
    assert!(elements(&activity["items"]).any(|e| e["field"] == "recurrence" && e["new_value"].is_null()));
    // Done without a rule: nothing follows.
    app.as_user(&team.bob)
        .put_ok(&path, json!({"status": "done"}))
        .await;
    assert_eq!(
        app.count("SELECT count(*) AS n FROM tasks WHERE recurred_from IS NOT NULL")
            .await,
        0
    );
}
