//! docs/api.md, Due-date reminders: the assignee of an open task with a due date is reminded
//! `EPOP_TASK_DUE_REMINDERS` minutes before it (the day before and at the due time by default), by one queued
//! job per task that follows the due date and the assignee and goes when the task is done or deleted.

use crate::helpers::{JOB_WAIT, TestApp, TestUser, count_of_kind, notifications_of_kind};
use crate::projects::{add_member, create_task, id};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::json;

/// Ann's project with Bob as a member.
async fn project(app: &TestApp, ann: &TestUser, bob: &TestUser) -> String {
    let project = id(&app
        .as_user(ann)
        .post_created("/api/projects", json!({"name": "Apollo"}))
        .await);
    add_member(app, &project, ann, bob, "member").await;
    project
}

/// Ann gives Bob a task due on 6 May 2030 at 09:00Z; answers its id.
async fn bobs_task(app: &TestApp, project: &str, ann: &TestUser, bob: &TestUser, title: &str) -> String {
    id(&create_task(
        app,
        project,
        ann,
        json!({"title": title, "assigned_to": bob.id, "due_date": "2030-05-06T09:00:00Z"}),
    )
    .await)
}

/// When the queued reminder job of `task` runs, among the instants these tests use (none: no reminder ahead);
/// there is never more than one.
async fn reminder_runs(app: &TestApp, task: &str) -> Vec<String> {
    let queued = format!(
        "SELECT count(*) AS n FROM jobs WHERE queue = 'task-reminders' AND status = 'queued' \
         AND payload->>'task_id' = '{task}'"
    );
    let count = app.count(&queued).await;
    assert!(count <= 1, "one job per task, not {count}");
    let mut runs = Vec::new();
    for probe in ["2030-05-05T09:00:00Z", "2030-05-31T09:00:00Z"] {
        if app.count(&format!("{queued} AND run_at = '{probe}'")).await == 1 {
            runs.push(probe.to_owned());
        }
    }
    assert_eq!(runs.len() as i64, count, "the job runs at a reminder's time");
    runs
}

#[tokio::test]
async fn due_reminders_follow_the_due_date_and_the_assignee_and_go_when_done_or_deleted() {
    let (app, [ann, bob]) = TestApp::with_users(["Ann", "Bob"]).await;
    let project = project(&app, &ann, &bob).await;
    let task = bobs_task(&app, &project, &ann, &bob, "Report").await;
    let path = format!("/api/tasks/{task}");
    assert_eq!(
        reminder_runs(&app, &task).await,
        ["2030-05-05T09:00:00Z"],
        "the day before"
    );
    // A new due date moves it.
    app.as_user(&ann)
        .put_ok(&path, json!({"due_date": "2030-06-01T09:00:00Z"}))
        .await;
    assert_eq!(reminder_runs(&app, &task).await, ["2030-05-31T09:00:00Z"]);
    // No assignee, no reminder; a new one gets it.
    app.as_user(&ann)
        .put_ok(&path, json!({"assigned_to": null}))
        .await;
    assert!(reminder_runs(&app, &task).await.is_empty());
    app.as_user(&ann)
        .put_ok(&path, json!({"assigned_to": bob.id}))
        .await;
    assert_eq!(reminder_runs(&app, &task).await, ["2030-05-31T09:00:00Z"]);
    // Done: gone; reopened: back. Moving it to the done column does the same.
    app.as_user(&bob).put_ok(&path, json!({"status": "done"})).await;
    assert!(reminder_runs(&app, &task).await.is_empty());
    app.as_user(&bob).put_ok(&path, json!({"status": "todo"})).await;
    assert_eq!(reminder_runs(&app, &task).await, ["2030-05-31T09:00:00Z"]);
    app.as_user(&bob)
        .post_ok(format!("/api/tasks/{task}/move"), json!({"status": "done"}))
        .await;
    assert!(reminder_runs(&app, &task).await.is_empty());
    app.as_user(&bob)
        .post_ok(
            format!("/api/tasks/{task}/move"),
            json!({"status": "in_progress"}),
        )
        .await;
    assert_eq!(reminder_runs(&app, &task).await, ["2030-05-31T09:00:00Z"]);
    // No due date, or one in the past: nothing ahead.
    app.as_user(&ann).put_ok(&path, json!({"due_date": null})).await;
    assert!(reminder_runs(&app, &task).await.is_empty());
    app.as_user(&ann)
        .put_ok(&path, json!({"due_date": "2020-01-01T00:00:00Z"}))
        .await;
    assert!(reminder_runs(&app, &task).await.is_empty());
    // Deleted (with its subtasks), or its assignee leaves: gone.
    app.as_user(&ann)
        .put_ok(&path, json!({"due_date": "2030-05-06T09:00:00Z"}))
        .await;
    let sub = id(&create_task(
        &app,
        &project,
        &ann,
        json!({"title": "Part", "assigned_to": bob.id, "due_date": "2030-05-06T09:00:00Z", "parent_id": task}),
    )
    .await);
    assert_eq!(reminder_runs(&app, &sub).await, ["2030-05-05T09:00:00Z"]);
    app.as_user(&ann)
        .delete(format!("{path}?children=delete"))
        .await
        .empty(reqwest::StatusCode::NO_CONTENT);
    assert!(reminder_runs(&app, &task).await.is_empty());
    assert!(reminder_runs(&app, &sub).await.is_empty());
    let other = bobs_task(&app, &project, &ann, &bob, "Other").await;
    assert_eq!(reminder_runs(&app, &other).await, ["2030-05-05T09:00:00Z"]);
    app.as_user(&ann)
        .delete(format!("/api/projects/{project}/members/{}", bob.id))
        .await
        .empty(reqwest::StatusCode::NO_CONTENT);
    assert!(reminder_runs(&app, &other).await.is_empty());
}

#[tokio::test]
async fn the_assignee_is_reminded_the_day_before_and_the_next_reminder_is_queued() {
    let (app, [ann, bob]) = TestApp::with_users(["Ann", "Bob"]).await;
    let project = project(&app, &ann, &bob).await;
    // Due a day and a few seconds from now: the day-before reminder comes in a few seconds.
    let due = Utc::now() + Duration::days(1) + Duration::seconds(3);
    let due = DateTime::<Utc>::from_timestamp(due.timestamp(), 0).unwrap();
    let due_text = due.to_rfc3339_opts(SecondsFormat::Secs, true);
    let task = id(&create_task(
        &app,
        &project,
        &ann,
        json!({"title": "Ship", "assigned_to": bob.id, "due_date": due_text}),
    )
    .await);
    let within = JOB_WAIT + std::time::Duration::from_secs(5);
    let found = notifications_of_kind(&app, &bob, "/api/notifications", "task_due", 1, within).await;
    let payload = &found[0]["payload"];
    assert_eq!(payload["task_id"], task.as_str());
    assert_eq!(payload["project_id"], project.as_str());
    assert_eq!(payload["title"], "Ship");
    assert_eq!(payload["minutes_before"], 1440);
    assert_eq!(
        payload["due_date"]
            .as_str()
            .map(|d| d.parse::<DateTime<Utc>>().unwrap()),
        Some(due)
    );
    // Chained to the due time, once.
    crate::helpers::wait_for_count(
        &app,
        &format!(
            "SELECT count(*) AS n FROM jobs WHERE queue = 'task-reminders' AND status = 'queued' \
             AND payload->>'task_id' = '{task}' AND run_at = '{due_text}'"
        ),
        |n| n == 1,
        within,
        "the due-time reminder was not queued",
    )
    .await;
    assert_eq!(count_of_kind(&app, &bob, "task_due").await, 1, "announced once");
    // Ann (not the assignee) gets none.
    assert_eq!(count_of_kind(&app, &ann, "task_due").await, 0);
}
