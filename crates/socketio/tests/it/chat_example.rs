//! `examples/chat.rs` with the official JavaScript client (`tests/clients/js/chat-example.mjs`): the example
//! must stay a working Socket.IO server, not only compile.

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Ends the example server when the test ends, whatever happens.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The example's binary: built next to this test's (`target/<profile>/examples/chat`), or built now.
fn example_binary() -> PathBuf {
    let built = std::env::current_exe()
        .ok()
        .and_then(|test| Some(test.parent()?.parent()?.join("examples").join("chat")));
    if let Some(path) = built.as_ref().filter(|path| path.exists()) {
        return path.clone();
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(cargo)
        .args(["build", "--quiet", "-p", "epop-socketio", "--example", "chat"])
        .status()
        .expect("cargo runs");
    assert!(status.success(), "the chat example builds");
    built.expect("the target directory is known")
}

#[test]
fn the_official_client_chats_through_the_example_server() {
    let clients = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients/js");
    assert!(
        clients.join("node_modules/socket.io-client").exists(),
        "install the JavaScript client first (scripts/test.sh does: npm ci in tests/clients/js)"
    );
    let mut server = Command::new(example_binary())
        .env("CHAT_LISTEN", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .spawn()
        .expect("the example starts");
    let stdout = server.stdout.take().unwrap();
    let server = Running(server);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("chat listening on ")
        .expect("the example prints its address")
        .to_owned();
    let mut client = Command::new("node")
        .arg("chat-example.mjs")
        .arg(&url)
        .current_dir(&clients)
        .spawn()
        .expect("node runs");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = client.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = client.kill();
            panic!("the client did not finish within 30 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    drop(server);
    assert!(status.success(), "the client's checks failed (see its output)");
}
