//! E-mail delivery of notifications through the durable job queue, against a real local SMTP server
//! (`aiosmtpd`, from the test virtualenv), including a delivery retried after the server was down.

use crate::helpers::TestApp;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt as _;

struct SmtpServer {
    child: tokio::process::Child,
    port: u16,
}

impl SmtpServer {
    async fn start(port: u16) -> Self {
        let python =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients/python/.venv/bin/python");
        assert!(
            python.exists(),
            "run ./scripts/test.sh, which creates the test virtualenv with aiosmtpd"
        );
        let child = tokio::process::Command::new(python)
            .args([
                "-u",
                "-m",
                "aiosmtpd",
                "-n",
                "-c",
                "aiosmtpd.handlers.Debugging",
                "stdout",
                "-l",
            ])
            .arg(format!("127.0.0.1:{port}"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the SMTP server did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self { child, port }
    }

    /// Everything the server printed (the messages it received) until `needle` shows up.
    async fn wait_for(&mut self, needle: &str) -> String {
        let stdout = self.child.stdout.as_mut().unwrap();
        let mut seen = Vec::new();
        let started = Instant::now();
        loop {
            let mut chunk = [0u8; 4096];
            let read = tokio::time::timeout(Duration::from_secs(1), stdout.read(&mut chunk)).await;
            if let Ok(Ok(n)) = read {
                seen.extend_from_slice(&chunk[..n]);
            }
            let text = String::from_utf8_lossy(&seen).into_owned();
            if text.contains(needle) {
                return text;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "no e-mail with {needle:?}; the server saw:\n{text}"
            );
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn a_notification_is_e_mailed_and_a_failed_delivery_is_retried() {
    let port = free_port();
    let app = TestApp::spawn_with(|vars| {
        vars.insert("EPOP_SMTP_URL".into(), format!("smtp://127.0.0.1:{port}"));
        vars.insert("EPOP_SMTP_FROM".into(), "EPOP <no-reply@epop.test>".into());
    })
    .await;
    let [ann, bob] = app.users(["Ann", "Bob"]).await;
    let group = app.group(&ann, "G", &[&bob]).await;

    // The SMTP server is down: the delivery fails and is kept for a retry.
    app.message(&ann, &group, "are you there?").await;
    let started = Instant::now();
    while app.count("SELECT count(*) AS n FROM jobs WHERE queue = 'email' AND attempts >= 1 AND status = 'queued' AND last_error IS NOT NULL").await == 0 {
        assert!(started.elapsed() < Duration::from_secs(10), "the e-mail job was not attempted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The server comes up; the retry (made due now instead of after its backoff) delivers it.
    let mut smtp = SmtpServer::start(port).await;
    app.sql("UPDATE jobs SET run_at = now() WHERE queue = 'email'")
        .await;
    let mail = smtp.wait_for("are you there?").await;
    assert!(mail.contains("bob@example.com"), "{mail}");
    assert!(mail.contains("Subject: New message"), "{mail}");
    assert!(mail.contains("no-reply@epop.test"), "{mail}");
    let started = Instant::now();
    while app
        .count("SELECT count(*) AS n FROM jobs WHERE queue = 'email' AND status = 'done'")
        .await
        != 1
    {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the job was not marked done"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(r#"jobs_processed_total{outcome="done",queue="email"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"jobs_processed_total{outcome="retry",queue="email"} 1"#),
        "{metrics}"
    );
    let _ = smtp.port;
}
