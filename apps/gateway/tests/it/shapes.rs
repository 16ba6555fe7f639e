//! Snapshots of the response shapes clients depend on (`insta`, in `snapshots/`): a field renamed, dropped or
//! added shows up as a diff to review. Ids, tokens and instants vary per run, so they are replaced by what they
//! are (`[id]`, `[token]`, `[time]`, the test server's `[public url]`) before the comparison; the field's
//! presence and its kind still count.

use crate::helpers::TestApp;
use serde_json::{Value, json};

/// Replaces the values that differ per run by placeholders naming their kind.
fn redacted(mut value: Value) -> Value {
    fn walk(key: Option<&str>, value: &mut Value) {
        match value {
            Value::Object(map) => map.iter_mut().for_each(|(k, v)| walk(Some(k), v)),
            Value::Array(items) => items.iter_mut().for_each(|v| walk(key, v)),
            Value::String(text) => {
                let key = key.unwrap_or_default();
                if uuid::Uuid::parse_str(text).is_ok() {
                    *text = "[id]".into();
                } else if let Some(anchor) = text
                    .strip_prefix("http")
                    .and_then(|t| t.find("/docs/").map(|i| &t[i..]))
                {
                    *text = format!("[public url]{anchor}");
                } else if key.ends_with("token") {
                    *text = "[token]".into();
                } else if key.ends_with("_at") || key.ends_with("_time") || key == "expires_in" {
                    *text = "[time]".into();
                } else if key == "id" || key.ends_with("_id") || key.ends_with("_ids") || key == "request_id"
                {
                    *text = "[id]".into();
                }
            }
            _ => {}
        }
    }
    walk(None, &mut value);
    value
}

#[tokio::test]
async fn users_conversations_messages_and_problems_keep_their_shape() {
    let (app, [ann, bob]) = TestApp::with_users(["Ann", "Bob"]).await;

    let me = app.as_user(&ann).get_ok("/api/users/me").await;
    insta::assert_json_snapshot!("user", redacted(me));

    let group = app
        .as_user(&ann)
        .post_created(
            "/api/conversations",
            json!({"type": "group", "name": "Launch", "member_ids": [bob.id]}),
        )
        .await;
    insta::assert_json_snapshot!("conversation", redacted(group.clone()));

    let path = format!("/api/conversations/{}/messages", group["id"].as_str().unwrap());
    let message = app
        .as_user(&bob)
        .post_created(&path, json!({"content": "hello", "client_id": "c-1"}))
        .await;
    insta::assert_json_snapshot!("message", redacted(message));

    let page = app.as_user(&ann).get_ok(&path).await;
    insta::assert_json_snapshot!("message_page", redacted(page));

    let list = app.as_user(&ann).get_ok("/api/conversations").await;
    insta::assert_json_snapshot!("conversation_page", redacted(list));

    let problem = app
        .as_user(&ann)
        .post("/api/conversations", json!({"type": "channel", "name": 5}))
        .await;
    problem.invalid();
    insta::assert_json_snapshot!("validation_problem", redacted(problem.body()));
}
