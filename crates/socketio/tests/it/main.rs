//! Integration tests of the server over real sockets: the protocol conformance tests, and the chat example
//! driven by the official JavaScript client. One test binary, so the build links once.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers panic on unexpected failures: a panic is a failed test with its message"
)]

mod chat_example;
mod conformance;
