//! docs/api.md, Audit log: security-relevant actions leave a row written with the action itself, admins read
//! them with filters and pages (`GET /api/admin/audit-log`), rows are never changed, old ones go after the
//! retention, and the command line exports them as JSON lines.

use crate::admin::global_admin;
use crate::helpers::{PASSWORD, TestApp, TestUser};
use reqwest::StatusCode;
use serde_json::{Value, json};

pub(crate) async fn log(app: &TestApp, admin: &TestUser, query: &str) -> Vec<Value> {
    app.every_page(admin, &format!("/api/admin/audit-log?{query}"))
        .await
        .iter()
        .flat_map(|page| page["items"].as_array().unwrap().clone())
        .collect()
}

pub(crate) fn actions(rows: &[Value]) -> Vec<&str> {
    rows.iter().map(|row| row["action"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn sign_ins_account_changes_sessions_administration_and_projects_are_logged() {
    let (app, [ann, bob]) = TestApp::with_users(["Ann", "Bob"]).await;
    let root = global_admin(&app).await;
    // Sign-ins and their failures (an unknown address too).
    app.sign_in_again("ann@example.com").await;
    app.sign_in("ann@example.com", "not her password")
        .await
        .problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    app.sign_in("nobody@example.com", PASSWORD)
        .await
        .problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    // A password change.
    app.as_user(&ann)
        .put_ok(
            "/api/users/me",
            json!({"password": "another passphrase", "current_password": PASSWORD}),
        )
        .await;
    // A project deleted, a member removed.
    let project = app
        .as_user(&bob)
        .post_created("/api/projects", json!({"name": "Apollo"}))
        .await;
    let project_id = project["id"].as_str().unwrap();
    app.as_user(&bob)
        .post(
            format!("/api/projects/{project_id}/members"),
            json!({"user_id": ann.id, "role": "member"}),
        )
        .await
        .json(StatusCode::CREATED);
    app.as_user(&bob)
        .delete_ok(format!("/api/projects/{project_id}/members/{}", ann.id))
        .await;
    app.as_user(&bob)
        .delete_ok(format!("/api/projects/{project_id}"))
        .await;
    // Administration.
    app.as_user(&root)
        .post_ok(format!("/api/admin/users/{}/deactivate", bob.id), json!({}))
        .await;

    let rows = log(&app, &root, "").await;
    let seen = actions(&rows);
    for action in [
        "auth.login",
        "auth.login_failed",
        "auth.password_changed",
        "project.member_removed",
        "project.deleted",
        "admin.user_deactivated",
    ] {
        assert!(seen.contains(&action), "{action} missing from {seen:?}");
    }
    // Newest first.
    assert_eq!(seen[0], "admin.user_deactivated");
    let ids: Vec<&str> = rows.iter().map(|row| row["id"].as_str().unwrap()).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(ids, sorted);

    let deactivation = &rows[0];
    assert_eq!(deactivation["actor_id"], root_id(&app, &root).await);
    assert_eq!(deactivation["target_type"], "user");
    assert_eq!(deactivation["target_id"], bob.id.as_str());
    assert_eq!(deactivation["ip"], "127.0.0.1");
    let failures = log(&app, &root, "action=auth.login_failed").await;
    assert_eq!(failures.len(), 2);
    // Whoever tried is unknown: no actor; the account, when there is one, is the target.
    assert!(failures.iter().all(|row| row["actor_id"].is_null()));
    assert!(failures.iter().any(|row| row["target_id"] == ann.id.as_str()));
    assert!(
        failures
            .iter()
            .any(|row| row["details"]["email"] == "nobody@example.com")
    );
    // Never a secret.
    let text = serde_json::to_string(&rows).unwrap();
    assert!(!text.contains(PASSWORD) && !text.contains("not her password"));
    let deleted = log(&app, &root, &format!("target={project_id}")).await;
    assert_eq!(actions(&deleted), ["project.deleted", "project.member_removed"]);
    assert_eq!(deleted[0]["details"]["name"], "Apollo");
    // With the client's address, as the sign-ins.
    assert!(deleted.iter().all(|row| row["ip"] == "127.0.0.1"), "{deleted:?}");
}

async fn root_id(app: &TestApp, root: &TestUser) -> Value {
    app.as_user(root).get_ok("/api/users/me").await["id"].clone()
}

#[tokio::test]
async fn the_log_filters_by_actor_action_target_and_time_and_refuses_bad_filters() {
    let (app, [ann, bob]) = TestApp::with_users(["Ann", "Bob"]).await;
    let root = global_admin(&app).await;
    let before = chrono::Utc::now();
    app.as_user(&ann)
        .send(reqwest::Method::POST, "/api/auth/logout-all", None)
        .await
        .empty(StatusCode::NO_CONTENT);
    app.as_user(&bob)
        .send(reqwest::Method::POST, "/api/auth/logout-all", None)
        .await
        .empty(StatusCode::NO_CONTENT);

    let by_ann = log(&app, &root, &format!("actor={}", ann.id)).await;
    assert_eq!(actions(&by_ann), ["auth.logout_all"]);
    let to_bob = log(&app, &root, &format!("target={}&action=auth.logout_all", bob.id)).await;
    assert_eq!(to_bob.len(), 1);
    assert_eq!(to_bob[0]["actor_id"], bob.id.as_str());
    let from = before.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let since = log(
        &app,
        &root,
        &format!("action=auth.logout_all&from={}", urlencode(&from)),
    )
    .await;
    assert_eq!(since.len(), 2);
    let until = log(
        &app,
        &root,
        &format!("action=auth.logout_all&to={}", urlencode(&from)),
    )
    .await;
    assert!(until.is_empty());
    // Pages of one, each row once.
    let pages = app
        .every_page(&root, "/api/admin/audit-log?action=auth.logout_all&limit=1")
        .await;
    assert_eq!(pages.len(), 2, "{pages:?}");
    assert_ne!(pages[0]["items"][0]["id"], pages[1]["items"][0]["id"]);

    for (query, field) in [
        ("action=auth.nothing", "action"),
        (&*format!("action={}", "a".repeat(65)), "action"),
        ("actor=not-a-uuid", "actor"),
        ("target=42", "target"),
        ("from=yesterday", "from"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
    ] {
        app.as_user(&root)
            .get(format!("/api/admin/audit-log?{query}"))
            .await
            .invalid_fields(&[field]);
    }
    // An empty range selects nothing.
    let empty = app
        .as_user(&root)
        .get_ok(format!("/api/admin/audit-log?from={0}&to={0}", urlencode(&from)))
        .await;
    assert_eq!(empty["items"], json!([]));
    app.as_user(&root)
        .get("/api/admin/audit-log?cursor=garbage")
        .await
        .problem(StatusCode::BAD_REQUEST, "bad_request");
}

fn urlencode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[tokio::test]
async fn audit_rows_cannot_be_changed_and_a_refused_action_leaves_none() {
    use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
    let (app, [_ann]) = TestApp::with_users(["Ann"]).await;
    let root = global_admin(&app).await;
    let me = root_id(&app, &root).await;
    // Refused (the last admin): no row.
    app.as_user(&root)
        .post(
            format!("/api/admin/users/{}/deactivate", me.as_str().unwrap()),
            json!({}),
        )
        .await
        .conflict();
    assert_eq!(
        app.count("SELECT count(*) AS n FROM audit_log WHERE action = 'admin.user_deactivated'")
            .await,
        0
    );
    let mut conn = AsyncPgConnection::establish(&app.db.url).await.unwrap();
    let changed = diesel::sql_query("UPDATE audit_log SET action = 'auth.logout_all'")
        .execute(&mut conn)
        .await;
    assert!(changed.is_err(), "the audit log is append-only");
}

#[tokio::test]
async fn rows_past_the_retention_are_purged_and_the_cli_exports_json_lines() {
    let (app, [_ann]) = TestApp::with_users(["Ann"]).await;
    app.sign_in_again("ann@example.com").await;
    app.sign_in_again("ann@example.com").await;
    // A row from long ago (its id made from its instant, as the log makes them).
    app.sql(
        "INSERT INTO audit_log (id, at, action) VALUES \
         ('01000000-0000-7000-8000-000000000000', '2020-01-01T00:00:00Z', 'auth.login')",
    )
    .await;
    let total = app.count("SELECT count(*) AS n FROM audit_log").await;
    let purged = app
        .state
        .auth
        .purge_audit_log(chrono::Duration::days(365), 2)
        .await
        .unwrap();
    assert_eq!(purged, 1);
    assert_eq!(app.count("SELECT count(*) AS n FROM audit_log").await, total - 1);

    let output = export_audit_log(&app, "auth.login");
    crate::helpers::assert_succeeded(&output);
    let lines: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines.iter().all(|row| row["action"] == "auth.login"));
    assert!(lines[0]["id"].as_str() < lines[1]["id"].as_str(), "oldest first");

    let output = export_audit_log(&app, "auth.nothing");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("auth.nothing"));
}

/// Runs `epop-gateway admin export-audit-log --action <action>` against the test database.
fn export_audit_log(app: &TestApp, action: &str) -> std::process::Output {
    crate::helpers::gateway_command(&["admin", "export-audit-log", "--action", action])
        .env("DATABASE_URL", &app.db.url)
        .output()
        .unwrap()
}
