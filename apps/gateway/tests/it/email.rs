//! E-mail delivery of notifications through the durable job queue, against a real local SMTP server
//! (`aiosmtpd`, from the test virtualenv), including a delivery retried after the server was down.

use crate::helpers::TestApp;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt as _;

/// A real SMTP server (`aiosmtpd` with its debugging handler, which prints every message it receives).
pub(crate) struct SmtpServer {
    child: tokio::process::Child,
    pub(crate) port: u16,
    /// Everything it printed so far.
    seen: Vec<u8>,
    /// How many complete messages [`Self::next_mail`] already handed out.
    taken: usize,
}

/// The line aiosmtpd's debugging handler prints after each message.
const END_OF_MESSAGE: &str = "------------ END MESSAGE ------------";

impl SmtpServer {
    /// Starts one on a free port.
    pub(crate) async fn start_any() -> Self {
        Self::start(free_port()).await
    }

    /// The `EPOP_SMTP_URL` of this server.
    pub(crate) fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub(crate) async fn start(port: u16) -> Self {
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
        Self {
            child,
            port,
            seen: Vec::new(),
            taken: 0,
        }
    }

    /// Reads what the server printed within `wait`, if anything.
    async fn read_some(&mut self, wait: Duration) {
        let stdout = self.child.stdout.as_mut().unwrap();
        let mut chunk = [0u8; 4096];
        if let Ok(Ok(n)) = tokio::time::timeout(wait, stdout.read(&mut chunk)).await {
            self.seen.extend_from_slice(&chunk[..n]);
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.seen).into_owned()
    }

    /// Everything the server printed (the messages it received) until `needle` shows up.
    pub(crate) async fn wait_for(&mut self, needle: &str) -> String {
        let started = Instant::now();
        loop {
            let text = self.text();
            if text.contains(needle) {
                return text;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "no e-mail with {needle:?}; the server saw:\n{text}"
            );
            self.read_some(Duration::from_secs(1)).await;
        }
    }

    /// The next complete message (headers and body) received after those already handed out, waiting for it.
    pub(crate) async fn next_mail(&mut self) -> String {
        let started = Instant::now();
        loop {
            let text = self.text();
            let complete: Vec<&str> = text.split(END_OF_MESSAGE).collect();
            // The last piece is whatever follows the last complete message.
            if complete.len() - 1 > self.taken {
                let mail = complete[self.taken].to_owned();
                self.taken += 1;
                return mail;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "no new e-mail; the server saw:\n{text}"
            );
            self.read_some(Duration::from_secs(1)).await;
        }
    }

    /// The next message to `to` whose subject is `subject`, skipping others received before it.
    pub(crate) async fn next_mail_to(&mut self, to: &str, subject: &str) -> String {
        loop {
            let mail = self.next_mail().await;
            if mail.contains(&format!("<{to}>")) && mail.contains(&format!("Subject: {subject}")) {
                return mail;
            }
        }
    }

    /// Whatever the server printed, after giving it `wait` to print more.
    pub(crate) async fn everything_after(&mut self, wait: Duration) -> String {
        let started = Instant::now();
        while started.elapsed() < wait {
            self.read_some(Duration::from_millis(200)).await;
        }
        self.text()
    }
}

/// The text of a quoted-printable body as written (soft line breaks joined, `=3D` back to `=`; enough for the
/// ASCII text of EPOP's e-mails).
pub(crate) fn unquoted(mail: &str) -> String {
    mail.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=")
}

/// The code (`code: <token>` line) of an account e-mail.
pub(crate) fn code_in(mail: &str) -> String {
    mail.lines()
        .find_map(|line| line.trim().strip_prefix("code: "))
        .unwrap_or_else(|| panic!("no code in the e-mail:\n{mail}"))
        .trim()
        .to_owned()
}

pub(crate) fn free_port() -> u16 {
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
    // Notification e-mails go to verified addresses only (verification itself is tested in `accounts`).
    app.sql("UPDATE users SET email_verified = true").await;
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
