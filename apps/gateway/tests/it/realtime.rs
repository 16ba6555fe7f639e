//! CONTRACT section 7 with the official clients, unmodified: the JavaScript `socket.io-client` (both
//! transports, upgrade) and `python-socketio`, driven by scripts under `tests/clients/` against a real gateway.

use crate::helpers::TestApp;
use std::path::PathBuf;

fn clients_dir(kind: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/clients")
        .join(kind)
}

async fn run(program: &str, script: &str, dir: PathBuf, app: &TestApp) {
    run_with(program, script, dir, &[app.address.as_str()], 5).await;
}

async fn run_with(program: &str, script: &str, dir: PathBuf, urls: &[&str], min_checks: usize) {
    let output = tokio::process::Command::new(program)
        .arg(script)
        .args(urls)
        .current_dir(&dir)
        .output()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "{program} could not start in {}: {e} (run ./scripts/test.sh, which installs the clients)",
                dir.display()
            )
        });
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{program} {script} failed:\n{stdout}\n{stderr}"
    );
    assert!(!stdout.contains("not ok"), "{stdout}");
    assert!(
        stdout.lines().filter(|l| l.starts_with("ok - ")).count() >= min_checks,
        "too few checks ran:\n{stdout}"
    );
}

#[tokio::test]
async fn the_official_javascript_client_works_over_both_transports() {
    let app = TestApp::spawn().await;
    let dir = clients_dir("js");
    assert!(
        dir.join("node_modules/socket.io-client").exists(),
        "run `npm ci` in {} (scripts/test.sh does)",
        dir.display()
    );
    run("node", "realtime.mjs", dir, &app).await;
}

#[tokio::test]
async fn the_official_python_client_works() {
    let app = TestApp::spawn().await;
    let dir = clients_dir("python");
    let python = dir.join(".venv/bin/python");
    assert!(
        python.exists(),
        "create {}/.venv with python-socketio (scripts/test.sh does)",
        dir.display()
    );
    run(&python.to_string_lossy(), "realtime.py", dir, &app).await;
}

#[tokio::test]
async fn two_nodes_share_events_presence_typing_and_logouts_through_redis() {
    let node_a = TestApp::spawn().await;
    let node_b = node_a.spawn_peer().await;
    let dir = clients_dir("js");
    assert!(
        dir.join("node_modules/socket.io-client").exists(),
        "run `npm ci` in {}",
        dir.display()
    );
    run_with(
        "node",
        "two-nodes.mjs",
        dir,
        &[node_a.address.as_str(), node_b.address.as_str()],
        5,
    )
    .await;
}
