//! docs/api.md, Running it: the binary's subcommands, start-up errors and graceful shutdown.

use crate::helpers::{JWT_SECRET, PASSWORD, TestApp, assert_succeeded, gateway_command, json_of};
use epop_test_support::TestDatabase;
use reqwest::StatusCode;
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn missing_or_invalid_required_variables_stop_the_start_naming_the_variable() {
    let output = gateway_command(&[])
        .env("EPOP_JWT_SECRET", JWT_SECRET)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("DATABASE_URL"));

    let output = gateway_command(&[])
        .env("DATABASE_URL", "postgres://127.0.0.1/x")
        .env("EPOP_JWT_SECRET", "too-short")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("EPOP_JWT_SECRET") && stderr.contains("32"),
        "{stderr}"
    );
    assert!(!stderr.contains("too-short"), "secrets are never printed");
}

#[tokio::test]
async fn migrate_is_idempotent() {
    let db = TestDatabase::create().await.unwrap();
    for _ in 0..2 {
        let output = gateway_command(&["migrate"])
            .env("DATABASE_URL", &db.url)
            .output()
            .unwrap();
        assert_succeeded(&output);
        assert_eq!(
            String::from_utf8_lossy(&output.stdout).trim(),
            "migrations applied: 0"
        );
    }
}

fn create_user(db: &TestDatabase, email: &str, password: &str) -> std::process::Output {
    let mut child = gateway_command(&[
        "admin",
        "create-user",
        "--email",
        email,
        "--name",
        "Root",
        "--role",
        "admin",
    ])
    .env("DATABASE_URL", &db.url)
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn admin_create_user_reads_the_password_from_stdin_and_refuses_a_taken_email() {
    let app = TestApp::spawn().await;
    let output = create_user(&app.db, "root@example.com", "root password 1");
    assert_succeeded(&output);

    let login = app.sign_in("root@example.com", "root password 1").await;
    let body = json_of(login, StatusCode::OK).await;
    assert_eq!(body["user"]["role"], "admin");

    let again = create_user(&app.db, "ROOT@example.com", "another password");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let short = create_user(&app.db, "x@example.com", "short");
    assert!(!short.status.success());
}

#[tokio::test]
async fn the_admin_from_the_environment_is_created_once_and_never_changed() {
    let db = std::sync::Arc::new(TestDatabase::create().await.unwrap());
    let existing = create_user(&db, "boss@example.com", "original password");
    assert!(existing.status.success());
    let app = TestApp::with_settings([
        ("DATABASE_URL", &db.url),
        ("EPOP_ADMIN_EMAIL", "boss@example.com"),
        ("EPOP_ADMIN_PASSWORD", "a different password"),
    ])
    .await;
    let old = app.sign_in("boss@example.com", "original password").await;
    assert_eq!(
        old.status(),
        StatusCode::OK,
        "the existing user keeps their password"
    );

    let fresh = TestApp::with_settings([
        ("EPOP_ADMIN_EMAIL", "admin@example.com"),
        ("EPOP_ADMIN_PASSWORD", PASSWORD),
    ])
    .await;
    let login = fresh.sign_in("admin@example.com", PASSWORD).await;
    assert_eq!(json_of(login, StatusCode::OK).await["user"]["role"], "admin");
}

#[tokio::test]
async fn sigterm_stops_the_gateway_gracefully_with_exit_0() {
    let db = TestDatabase::create().await.unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let storage = tempdir();
    let mut child = gateway_command(&[])
        .env("DATABASE_URL", &db.url)
        .env("EPOP_JWT_SECRET", JWT_SECRET)
        .env("EPOP_LISTEN", format!("127.0.0.1:{port}"))
        .env("EPOP_STORAGE_DIR", &storage)
        .env("EPOP_SHUTDOWN_TIMEOUT", "5")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/health/live");
    let started = Instant::now();
    while client.get(&url).send().await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the gateway did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let stopping = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            stopping.elapsed() < Duration::from_secs(10),
            "no exit within the shutdown timeout"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status.code(), Some(0));
}

fn tempdir() -> String {
    let dir = std::env::temp_dir().join(format!("epop-cli-{}", uuid::Uuid::now_v7().simple()));
    dir.to_string_lossy().into_owned()
}
