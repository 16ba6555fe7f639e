//! What real-time tests do with a socket from [`TestApp::socket`](crate::helpers::TestApp::socket): wait for
//! one event by name, skipping the others a member also receives, so a test reads as the events it expects
//! rather than as Socket.IO frames.

use crate::helpers::Ws;
use futures_util::StreamExt as _;
use serde_json::Value;
use std::time::Duration;

/// How long [`Events::event`] waits: generous for a loaded machine, yet a missing event fails the test.
const EVENT_WAIT: Duration = Duration::from_secs(5);

/// Socket.IO events on a test's WebSocket.
pub(crate) trait Events {
    /// The payload of the next `name` event within `within`, skipping other packets; `None` if none came or
    /// the socket closed.
    async fn event_within(&mut self, name: &str, within: Duration) -> Option<Value>;

    /// The payload of the next `name` event, which must come within five seconds.
    async fn event(&mut self, name: &str) -> Value {
        self.event_within(name, EVENT_WAIT)
            .await
            .unwrap_or_else(|| panic!("{name} in time"))
    }
}

impl Events for Ws {
    async fn event_within(&mut self, name: &str, within: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.next()).await.ok()??.ok()?;
            let Ok(text) = frame.to_text() else { continue };
            if let Some(event) = text.strip_prefix("42")
                && let Ok(Value::Array(mut event)) = serde_json::from_str::<Value>(event)
                && event.first().and_then(Value::as_str) == Some(name)
            {
                return Some(if event.len() > 1 {
                    event.swap_remove(1)
                } else {
                    Value::Null
                });
            }
        }
    }
}
