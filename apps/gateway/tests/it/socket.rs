//! What real-time tests do with a socket from [`TestApp::socket`](crate::helpers::TestApp::socket): wait for
//! one event by name, skipping the others a member also receives, so a test reads as the events it expects
//! rather than as Socket.IO frames.

use crate::helpers::Ws;
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
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

/// The next text packet on `ws` that is not a ping, answering pings meanwhile; it must come within ten
/// seconds (`what` names what was awaited).
pub(crate) async fn next_packet(ws: &mut Ws, what: &str) -> String {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .unwrap_or_else(|_| panic!("{what} in time"))
            .unwrap()
            .unwrap();
        let text = frame.into_text().unwrap();
        if text.as_str() == "2" {
            ws.send(tokio_tungstenite::tungstenite::Message::text("3"))
                .await
                .unwrap();
        } else {
            return text.as_str().to_owned();
        }
    }
}

/// Emits `name` with `payload` on `ws` under ack id `id` and returns the ack's first argument, answering
/// pings and skipping other packets meanwhile.
pub(crate) async fn call(ws: &mut Ws, id: u64, name: &str, payload: Value) -> Value {
    let packet = format!("42{id}{}", json!([name, payload]));
    ws.send(tokio_tungstenite::tungstenite::Message::text(packet))
        .await
        .unwrap();
    loop {
        let text = next_packet(ws, "an ack").await;
        if let Some(body) = text.strip_prefix(&format!("43{id}")) {
            return serde_json::from_str::<Value>(body).unwrap()[0].clone();
        }
    }
}

/// Checks that an ack refuses the call as invalid, naming `field` first in its message.
pub(crate) fn assert_invalid_ack(ack: &Value, field: &str) {
    assert_eq!(ack["ok"], false, "{ack}");
    assert_eq!(ack["error"]["code"], "validation_failed");
    assert!(
        ack["error"]["message"].as_str().unwrap().starts_with(field),
        "{ack}"
    );
}

/// The names of the events `ws` receives before the next `name` event, and that event's payload (answering
/// pings meanwhile): what a socket was sent, and was not, up to a point every socket of the test reaches.
pub(crate) async fn events_before(ws: &mut Ws, name: &str) -> (Vec<String>, Value) {
    let mut before = Vec::new();
    loop {
        let text = next_packet(ws, name).await;
        let Some(event) = text.strip_prefix("42") else {
            continue;
        };
        let Ok(Value::Array(mut event)) = serde_json::from_str::<Value>(event) else {
            continue;
        };
        let Some(received) = event.first().and_then(Value::as_str).map(str::to_owned) else {
            continue;
        };
        if received == name {
            return (
                before,
                if event.len() > 1 {
                    event.swap_remove(1)
                } else {
                    Value::Null
                },
            );
        }
        before.push(received);
    }
}
