//! The restore drill (deploy/BACKUP.md): a database filled through the API is backed up with
//! `deploy/backup.sh`, restored with `deploy/restore.sh` into a fresh database, and a gateway started on the
//! restored database serves the same conversations, messages, tasks and calendar events to the same users.

use crate::helpers::{TestApp, assert_succeeded};
use epop_test_support::TestDatabase;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;

/// What a user sees of their workspace: conversations, each one's messages, projects and their tasks, and
/// calendar events (the same requests against both gateways).
async fn workspace(app: &TestApp, token: &str) -> Value {
    let get = async |path: String| app.as_token(token).get_ok(&path).await;
    let conversations = get("/api/conversations?limit=100".into()).await;
    let mut messages = Vec::new();
    for conversation in conversations["items"].as_array().unwrap() {
        let id = conversation["id"].as_str().unwrap();
        messages.push(get(format!("/api/conversations/{id}/messages?limit=100")).await);
    }
    let projects = get("/api/projects?limit=100".into()).await;
    let mut tasks = Vec::new();
    for project in projects["items"].as_array().unwrap() {
        let id = project["id"].as_str().unwrap();
        tasks.push(get(format!("/api/projects/{id}/tasks?limit=100")).await);
    }
    let events = get("/api/calendar-events?limit=100".into()).await;
    json!({
        "me": get("/api/users/me".into()).await,
        "conversations": conversations,
        "messages": messages,
        "projects": projects,
        "tasks": tasks,
        "events": events,
    })
}

#[tokio::test]
async fn a_backup_restored_into_a_fresh_database_serves_the_same_workspace() {
    let (app, [ann, bob], direct) = TestApp::with_direct().await;
    let group = app.group(&ann, "Launch", &[&bob]).await;
    for n in 0..5 {
        app.message(&ann, &direct, &format!("direct {n}: 项目 report"))
            .await;
        app.message(&bob, &group, &format!("group {n}")).await;
    }
    let project = app
        .as_user(&ann)
        .post_created(
            "/api/projects",
            json!({"name": "Backups", "description": "the drill"}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for title in ["dump", "restore", "verify"] {
        let response = app
            .as_user(&ann)
            .post(format!("/api/projects/{project}/tasks"), json!({"title": title}))
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let response = app
        .as_user(&ann)
        .post(
            "/api/calendar-events",
            json!({"title": "Restore drill", "start_time": "2026-12-08T09:00:00Z",
                    "end_time": "2026-12-08T09:30:00Z"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let before_ann = workspace(&app, &ann.access_token).await;
    let before_bob = workspace(&app, &bob.access_token).await;

    // Back up with the script the compose service runs, into a scratch directory.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = std::env::temp_dir().join(format!("epop-backup-{}", uuid::Uuid::now_v7().simple()));
    let backup = std::process::Command::new("bash")
        .arg(root.join("deploy/backup.sh"))
        .arg("--once")
        .env("DATABASE_URL", &app.db.url)
        .env("EPOP_BACKUP_DIR", &dir)
        .output()
        .unwrap();
    assert_succeeded(&backup);
    let dumps: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "dump"))
        .collect();
    assert_eq!(dumps.len(), 1, "{dumps:?}");

    // Restore into a new database; a non-empty target is refused.
    let fresh = Arc::new(TestDatabase::create_empty().await.unwrap());
    let restore = |url: &str| {
        std::process::Command::new("bash")
            .arg(root.join("deploy/restore.sh"))
            .arg(&dumps[0])
            .arg(url)
            .output()
            .unwrap()
    };
    let restored = restore(&fresh.url);
    assert!(
        restored.status.success(),
        "{}{}",
        String::from_utf8_lossy(&restored.stdout),
        String::from_utf8_lossy(&restored.stderr)
    );
    let again = restore(&fresh.url);
    assert!(!again.status.success(), "restoring over data is refused");
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));
    let _ = std::fs::remove_dir_all(&dir);

    // A gateway on the restored database, same secret: the same users, with the same tokens, see the same.
    let mut vars = app.vars.clone();
    vars.insert("DATABASE_URL".into(), fresh.url.clone());
    vars.insert("EPOP_REDIS_PREFIX".into(), epop_test_support::unique_prefix());
    let restored_app = TestApp::start(fresh, vars).await;
    assert_eq!(workspace(&restored_app, &ann.access_token).await, before_ann);
    assert_eq!(workspace(&restored_app, &bob.access_token).await, before_bob);
    // And it works on: a new message lands after the restored ones.
    let message = restored_app.message(&bob, &direct, "after the restore").await;
    assert_eq!(message["seq"], 6);
}
