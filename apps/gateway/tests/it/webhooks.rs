//! docs/api.md, Webhooks: outgoing webhooks against a real receiver process (`tests/clients/python/
//! webhook_receiver.py`) that verifies every delivery with the Standard Webhooks reference library (PyPI
//! `standardwebhooks`): signed deliveries of domain events, event filters, secret rotation, retries, `Retry-After`,
//! `410 Gone`, redelivery, pings, the attempt log, secrets sealed at rest, the SSRF rules, who may manage which
//! webhooks, and a worker process killed mid-delivery.

use crate::admin::global_admin;
use crate::helpers::{
    JWT_SECRET, TestApp, TestUser, assert_paging_checked, assert_succeeded, elements, eventually,
    failing_fields, gateway_command,
};
use crate::projects::{add_member, create_task};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::AsyncBufReadExt as _;

/// How long a test waits for a delivery.
const DELIVERY_WAIT: Duration = Duration::from_secs(20);

/// The receiver process: it verifies, records and answers as planned.
struct Receiver {
    _child: tokio::process::Child,
    base: String,
    client: reqwest::Client,
}

impl Receiver {
    async fn start() -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let python =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients/python/.venv/bin/python");
        assert!(
            python.exists(),
            "run ./scripts/test.sh, which creates the test virtualenv with standardwebhooks"
        );
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients/python/webhook_receiver.py");
        let mut child = tokio::process::Command::new(python)
            .arg("-u")
            .arg(script)
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        tokio::time::timeout(
            Duration::from_secs(20),
            tokio::io::BufReader::new(stdout).read_line(&mut line),
        )
        .await
        .expect("the receiver starts")
        .unwrap();
        let port = serde_json::from_str::<Value>(&line).unwrap()["port"]
            .as_u64()
            .unwrap();
        Self {
            _child: child,
            base: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
        }
    }

    /// The URL of hook `name`.
    fn url(&self, name: &str) -> String {
        format!("{}/hooks/{name}", self.base)
    }

    async fn control(&self, path: &str, body: Value) {
        let answer = self
            .client
            .post(format!("{}/_control/{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::NO_CONTENT);
    }

    /// Deliveries to `name` are verified with each of `secrets`.
    async fn verify_with(&self, name: &str, secrets: &[&str]) {
        self.control(&format!("secrets/{name}"), json!({"secrets": secrets}))
            .await;
    }

    /// The next deliveries to `name` are answered with `responses`, in order.
    async fn plan(&self, name: &str, responses: Value) {
        self.control(&format!("plan/{name}"), json!({"responses": responses}))
            .await;
    }

    /// Every delivery to `name` so far, in arrival order.
    async fn received(&self, name: &str) -> Vec<Value> {
        let all: Vec<Value> = self
            .client
            .get(format!("{}/_control/received", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        all.into_iter().filter(|r| r["name"] == name).collect()
    }

    /// The deliveries to `name`, once there are at least `count`.
    async fn wait_for(&self, name: &str, count: usize) -> Vec<Value> {
        eventually(DELIVERY_WAIT, || async {
            let seen = self.received(name).await;
            if seen.len() >= count {
                Ok(seen)
            } else {
                Err(format!(
                    "{} of {count} deliveries to {name} arrived: {seen:?}",
                    seen.len()
                ))
            }
        })
        .await
    }
}

/// The parsed body of a recorded delivery.
fn body_of(record: &Value) -> Value {
    serde_json::from_str(record["body"].as_str().unwrap()).unwrap()
}

/// A gateway that may deliver to the receiver on 127.0.0.1.
async fn app_with(settings: &[(&str, &str)]) -> TestApp {
    TestApp::spawn_with(|vars| {
        vars.insert("EPOP_WEBHOOKS_ALLOW_LOOPBACK_FOR_TESTS".into(), "true".into());
        for (name, value) in settings {
            vars.insert((*name).to_owned(), (*value).to_owned());
        }
    })
    .await
}

/// `by` creates a webhook at `collection` (`/api/.../webhooks`) for `url` and `event_types`: the answer, with
/// its secret.
async fn create_hook(app: &TestApp, by: &TestUser, collection: &str, url: &str, event_types: Value) -> Value {
    let answer = app
        .as_user(by)
        .post(collection, json!({"url": url, "event_types": event_types}))
        .await;
    let created = answer.json(StatusCode::CREATED);
    assert_eq!(
        answer.header("location"),
        Some(format!("/api/webhooks/{}", created["id"].as_str().unwrap()).as_str())
    );
    created
}

/// The delivery log of webhook `hook`, once its item `id` satisfies `done`.
async fn delivery_when(
    app: &TestApp,
    by: &TestUser,
    hook: &str,
    id: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    eventually(DELIVERY_WAIT, || async {
        let page = app
            .as_user(by)
            .get_ok(format!("/api/webhooks/{hook}/deliveries"))
            .await;
        match elements(&page["items"]).find(|d| d["id"] == id) {
            Some(found) if done(found) => Ok(found.clone()),
            other => Err(format!("delivery {id} is not there yet: {other:?}")),
        }
    })
    .await
}

fn id(value: &Value) -> &str {
    value["id"].as_str().unwrap()
}

#[tokio::test]
async fn events_are_delivered_signed_and_the_reference_library_verifies_them() {
    let receiver = Receiver::start().await;
    let app = app_with(&[]).await;
    let [ann, bob] = app.users(["Ann", "Bob"]).await;
    let root = global_admin(&app).await;
    let group = app.group(&ann, "Release", &[&bob]).await;
    let collection = format!("/api/conversations/{group}/webhooks");
    let all = create_hook(&app, &ann, &collection, &receiver.url("all"), json!([])).await;
    assert!(all["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_eq!(all["scope"], "conversation");
    assert_eq!(all["conversation_id"], group.as_str());
    assert_eq!(all["enabled"], true);
    let deleted_only = create_hook(
        &app,
        &bob,
        &collection,
        &receiver.url("deleted"),
        json!(["message.deleted"]),
    )
    .await;
    let project = app
        .as_user(&ann)
        .post_created("/api/projects", json!({"name": "Launch"}))
        .await;
    let project_id = id(&project);
    let tasks = create_hook(
        &app,
        &ann,
        &format!("/api/projects/{project_id}/webhooks"),
        &receiver.url("tasks"),
        json!(["task.updated"]),
    )
    .await;
    let global = create_hook(&app, &root, "/api/webhooks", &receiver.url("global"), json!([])).await;
    for (name, hook) in [
        ("all", &all),
        ("deleted", &deleted_only),
        ("tasks", &tasks),
        ("global", &global),
    ] {
        receiver
            .verify_with(name, &[hook["secret"].as_str().unwrap()])
            .await;
    }
    // What reads a webhook never shows its secret.
    let read = app
        .as_user(&bob)
        .get_ok(format!("/api/webhooks/{}", id(&all)))
        .await;
    assert!(read.get("secret").is_none());
    let listed = app.as_user(&bob).get_ok(&collection).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);
    assert!(elements(&listed["items"]).all(|w| w.get("secret").is_none()));

    let message = app.message(&ann, &group, "hello receivers").await;
    let arrived = receiver.wait_for("all", 1).await;
    let first = &arrived[0];
    assert_eq!(first["verified"], json!([true]), "{first}");
    let body = body_of(first);
    assert_eq!(body["type"], "message.created");
    assert!(body["timestamp"].is_string());
    assert_eq!(body["data"]["conversation_id"], group.as_str());
    assert_eq!(body["data"]["message"]["id"], message["id"]);
    assert_eq!(body["data"]["message"]["content"], "hello receivers");
    // The webhook-id is the delivery's id in the log, which records the attempt.
    let delivery = delivery_when(&app, &ann, id(&all), first["webhook_id"].as_str().unwrap(), |d| {
        d["status"] == "succeeded"
    })
    .await;
    assert_eq!(delivery["event_type"], "message.created");
    assert_eq!(delivery["attempts"], 1);
    assert_eq!(delivery["status_code"], 200);
    assert!(delivery["duration_ms"].is_number());
    assert!(delivery["next_attempt_at"].is_null());

    app.as_user(&ann)
        .delete(format!("/api/messages/{}", id(&message)))
        .await
        .empty(StatusCode::NO_CONTENT);
    let deleted = receiver.wait_for("deleted", 1).await;
    assert_eq!(deleted.len(), 1, "only the event type it asked for");
    assert_eq!(body_of(&deleted[0])["type"], "message.deleted");
    assert_eq!(deleted[0]["verified"], json!([true]));
    let everything = receiver.wait_for("all", 2).await;
    assert_eq!(body_of(&everything[1])["type"], "message.deleted");

    create_task(&app, project_id, &ann, json!({"title": "Ship it"})).await;
    let task = receiver.wait_for("tasks", 1).await;
    assert_eq!(body_of(&task[0])["type"], "task.updated");
    assert_eq!(body_of(&task[0])["data"]["task"]["title"], "Ship it");
    // The global webhook sees the conversation's and the project's events.
    let seen = receiver.wait_for("global", 3).await;
    let types: Vec<Value> = seen.iter().map(|r| body_of(r)["type"].clone()).collect();
    for expected in ["message.created", "message.deleted", "task.updated"] {
        assert!(types.contains(&json!(expected)), "{expected} in {types:?}");
    }
    assert!(seen.iter().all(|r| r["verified"] == json!([true])));
    assert_paging_checked(
        &app,
        &ann,
        &format!("/api/webhooks/{}/deliveries", id(&all)),
        "%%%",
        &["0"],
    )
    .await;
}

#[tokio::test]
async fn a_rotated_secret_goes_on_signing_beside_the_new_one_during_the_overlap() {
    let receiver = Receiver::start().await;
    let app = app_with(&[]).await;
    let [ann] = app.users(["Ann"]).await;
    let direct_peer = app.register("Peer", "peer@example.com").await;
    let conversation = app.direct(&ann, &direct_peer).await;
    let hook = create_hook(
        &app,
        &ann,
        &format!("/api/conversations/{conversation}/webhooks"),
        &receiver.url("r"),
        json!([]),
    )
    .await;
    let first = hook["secret"].as_str().unwrap().to_owned();
    let rotated = app
        .as_user(&ann)
        .post_ok(format!("/api/webhooks/{}/rotate-secret", id(&hook)), json!({}))
        .await;
    let second = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(first, second);
    assert!(rotated["previous_secret_expires_at"].is_string());
    receiver.verify_with("r", &[&first, &second]).await;
    ping(&app, &ann, id(&hook)).await;
    let pinged = &receiver.wait_for("r", 1).await[0];
    assert_eq!(body_of(pinged)["type"], "webhook.ping");
    assert_eq!(pinged["signatures"].as_array().unwrap().len(), 2);
    assert_eq!(pinged["verified"], json!([true, true]), "both secrets verify");

    // Rotating again without an overlap: only the newest signs.
    let third = app
        .as_user(&ann)
        .post_ok(
            format!("/api/webhooks/{}/rotate-secret", id(&hook)),
            json!({"overlap_seconds": 0}),
        )
        .await;
    assert!(third["previous_secret_expires_at"].is_null());
    let third = third["secret"].as_str().unwrap().to_owned();
    receiver.verify_with("r", &[&first, &second, &third]).await;
    ping(&app, &ann, id(&hook)).await;
    let pinged = &receiver.wait_for("r", 2).await[1];
    assert_eq!(pinged["signatures"].as_array().unwrap().len(), 1);
    assert_eq!(pinged["verified"], json!([false, false, true]));

    let too_long = app
        .as_user(&ann)
        .post(
            format!("/api/webhooks/{}/rotate-secret", id(&hook)),
            json!({"overlap_seconds": 604_801}),
        )
        .await;
    too_long.invalid_fields(&["overlap_seconds"]);
}

#[tokio::test]
async fn failures_are_retried_on_the_schedule_retry_after_is_honoured_and_410_turns_the_webhook_off() {
    let receiver = Receiver::start().await;
    let app = app_with(&[("EPOP_WEBHOOK_MAX_RETRY_AFTER", "600")]).await;
    let [ann, bob] = app.users(["Ann", "Bob"]).await;
    let root = global_admin(&app).await;
    let group = app.group(&ann, "Ops", &[&bob]).await;
    let hook = create_hook(
        &app,
        &ann,
        &format!("/api/conversations/{group}/webhooks"),
        &receiver.url("flaky"),
        json!([]),
    )
    .await;
    let hook_id = id(&hook).to_owned();
    receiver
        .verify_with("flaky", &[hook["secret"].as_str().unwrap()])
        .await;

    // A 500, then the retry 5 seconds later succeeds, with the same webhook-id and body.
    receiver.plan("flaky", json!([{"status": 500}])).await;
    let queued = ping(&app, &ann, &hook_id).await;
    assert_eq!(queued["status"], "pending");
    let failed_once = delivery_when(&app, &ann, &hook_id, id(&queued), |d| d["attempts"] == 1).await;
    assert_eq!(failed_once["status"], "pending");
    assert_eq!(failed_once["status_code"], 500);
    assert!(failed_once["error"].as_str().unwrap().contains("500"));
    let wait = seconds_between(&failed_once["last_attempt_at"], &failed_once["next_attempt_at"]);
    assert!(
        (4.0..=6.0).contains(&wait),
        "the second attempt is due 5 s later, not {wait}"
    );
    let both = receiver.wait_for("flaky", 2).await;
    assert_eq!(both[0]["webhook_id"], both[1]["webhook_id"]);
    assert_eq!(both[0]["body"], both[1]["body"]);
    assert!(both.iter().all(|r| r["verified"] == json!([true])));
    let done = delivery_when(&app, &ann, &hook_id, id(&queued), |d| d["status"] == "succeeded").await;
    assert_eq!(done["attempts"], 2);

    // Retry-After asks for longer than the schedule: honoured, up to EPOP_WEBHOOK_MAX_RETRY_AFTER.
    for (asked, expected) in [("120", 120.0), ("999999", 600.0)] {
        receiver
            .plan("flaky", json!([{"status": 429, "retry_after": asked}]))
            .await;
        let queued = ping(&app, &ann, &hook_id).await;
        let limited = delivery_when(&app, &ann, &hook_id, id(&queued), |d| d["attempts"] == 1).await;
        assert_eq!(limited["status"], "pending");
        assert_eq!(limited["status_code"], 429);
        let wait = seconds_between(&limited["last_attempt_at"], &limited["next_attempt_at"]);
        assert!(
            (expected - 1.0..=expected + 1.0).contains(&wait),
            "Retry-After {asked}: {wait}"
        );
    }

    // 410 Gone: the webhook is turned off, audited, and nothing more is sent until it is turned on.
    receiver.plan("flaky", json!([{"status": 410}])).await;
    let gone = ping(&app, &ann, &hook_id).await;
    let ended = delivery_when(&app, &ann, &hook_id, id(&gone), |d| d["status"] == "failed").await;
    assert_eq!(ended["status_code"], 410);
    let off = app.as_user(&ann).get_ok(format!("/api/webhooks/{hook_id}")).await;
    assert_eq!(off["enabled"], false);
    assert_eq!(off["disabled_reason"], "gone");
    let audit = app
        .as_user(&root)
        .get_ok(format!(
            "/api/admin/audit-log?action=webhook.disabled&target={hook_id}"
        ))
        .await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 1);
    let sent_before = receiver.received("flaky").await.len();
    let refused = ping(&app, &ann, &hook_id).await;
    let not_sent = delivery_when(&app, &ann, &hook_id, id(&refused), |d| d["status"] == "failed").await;
    assert_eq!(not_sent["attempts"], 0);
    assert_eq!(receiver.received("flaky").await.len(), sent_before);
    let on = app
        .as_user(&ann)
        .send(
            reqwest::Method::PATCH,
            format!("/api/webhooks/{hook_id}"),
            Some(json!({"enabled": true})),
        )
        .await
        .json(StatusCode::OK);
    assert_eq!(on["enabled"], true);
    assert!(on["disabled_reason"].is_null());
    ping(&app, &ann, &hook_id).await;
    receiver.wait_for("flaky", sent_before + 1).await;
}

/// `by` pings webhook `hook`: the queued delivery.
async fn ping(app: &TestApp, by: &TestUser, hook: &str) -> Value {
    app.as_user(by)
        .post(format!("/api/webhooks/{hook}/ping"), json!({}))
        .await
        .json(StatusCode::ACCEPTED)
}

/// Seconds from the RFC 3339 time `from` to `to`.
fn seconds_between(from: &Value, to: &Value) -> f64 {
    let at = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    (at(to) - at(from)).as_seconds_f64()
}

#[tokio::test]
async fn deliveries_are_sent_again_on_request_with_the_same_webhook_id() {
    let receiver = Receiver::start().await;
    let app = app_with(&[]).await;
    let [ann, bob] = app.users(["Ann", "Bob"]).await;
    let group = app.group(&ann, "Again", &[&bob]).await;
    let collection = format!("/api/conversations/{group}/webhooks");
    let hook = create_hook(&app, &ann, &collection, &receiver.url("again"), json!([])).await;
    let other = create_hook(&app, &ann, &collection, &receiver.url("other"), json!([])).await;
    receiver
        .verify_with("again", &[hook["secret"].as_str().unwrap()])
        .await;
    app.message(&ann, &group, "once more").await;
    let first = receiver.wait_for("again", 1).await.remove(0);
    let delivery = first["webhook_id"].as_str().unwrap().to_owned();
    delivery_when(&app, &ann, id(&hook), &delivery, |d| d["status"] == "succeeded").await;

    let queued = app
        .as_user(&bob)
        .post(
            format!("/api/webhooks/{}/deliveries/{delivery}/redeliver", id(&hook)),
            json!({}),
        )
        .await
        .json(StatusCode::ACCEPTED);
    assert_eq!(queued["id"], delivery.as_str());
    assert_eq!(queued["status"], "pending");
    let again = receiver.wait_for("again", 2).await.remove(1);
    assert_eq!(again["webhook_id"], first["webhook_id"]);
    assert_eq!(again["body"], first["body"]);
    assert_eq!(again["verified"], json!([true]));
    let log = delivery_when(&app, &ann, id(&hook), &delivery, |d| {
        d["status"] == "succeeded" && d["attempts"] == 2
    })
    .await;
    assert_eq!(log["event_type"], "message.created");

    // A delivery of another webhook, or none at all, is not found.
    for path in [
        format!("/api/webhooks/{}/deliveries/{delivery}/redeliver", id(&other)),
        format!(
            "/api/webhooks/{}/deliveries/{}/redeliver",
            id(&hook),
            uuid::Uuid::now_v7()
        ),
    ] {
        app.as_user(&ann)
            .post(path, json!({}))
            .await
            .problem(StatusCode::NOT_FOUND, "not_found");
    }
}

#[tokio::test]
async fn webhook_urls_must_be_public_https_and_bad_input_changes_nothing() {
    let app = TestApp::spawn().await;
    let [ann, bob] = app.users(["Ann", "Bob"]).await;
    let group = app.group(&ann, "Safe", &[&bob]).await;
    let collection = format!("/api/conversations/{group}/webhooks");
    for url in [
        "http://hooks.example.com/x",
        "ftp://hooks.example.com/x",
        "not a url",
        "https://user:secret@hooks.example.com/x",
        "https://localhost/x",
        "https://api.localhost/x",
        "https://127.0.0.1/x",
        "https://10.0.0.8/x",
        "https://192.168.1.1/x",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/x",
        "https://[fd00:ec2::254]/x",
        "https://2130706433/x",
        "https://0x7f.1/x",
    ] {
        let answer = app.as_user(&ann).post(&collection, json!({"url": url})).await;
        let problem = answer.invalid_fields(&["url"]);
        assert_eq!(problem.fields(), vec!["url"], "{url}");
    }
    let missing = app.as_user(&ann).post(&collection, json!({})).await;
    missing.invalid_fields(&["url"]);
    let types = app
        .as_user(&ann)
        .post(
            &collection,
            json!({"url": "https://hooks.example.com/x", "event_types": ["message.created", "task.updated", "nope"]}),
        )
        .await;
    let problem = types.json(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(failing_fields(&problem), vec!["event_types[1]", "event_types[2]"]);
    let long = app
        .as_user(&ann)
        .post(
            &collection,
            json!({"url": "https://hooks.example.com/x", "description": "d".repeat(501)}),
        )
        .await;
    long.invalid_fields(&["description"]);
    assert_eq!(app.as_user(&ann).get_ok(&collection).await["items"], json!([]));

    // A public name is accepted (it is checked again at every delivery); a change to a bad URL is refused.
    let hook = create_hook(
        &app,
        &ann,
        &collection,
        "https://hooks.example.com/epop",
        json!([]),
    )
    .await;
    let path = format!("/api/webhooks/{}", id(&hook));
    let refused = app
        .as_user(&ann)
        .send(
            reqwest::Method::PATCH,
            &path,
            Some(json!({"url": "https://127.0.0.1/x"})),
        )
        .await;
    refused.invalid_fields(&["url"]);
    assert_eq!(
        app.as_user(&ann).get_ok(&path).await["url"],
        "https://hooks.example.com/epop"
    );

    // The test switch is off here: loopback over plain http is refused too.
    let loopback = app
        .as_user(&ann)
        .post(&collection, json!({"url": "http://127.0.0.1:9/hooks/x"}))
        .await;
    loopback.invalid_fields(&["url"]);
}

#[tokio::test]
async fn only_those_who_manage_a_scope_see_its_webhooks() {
    let app = TestApp::with_settings([("EPOP_WEBHOOKS_MAX_PER_SCOPE", "2")]).await;
    let [ann, bob, carl, vera] = app.users(["Ann", "Bob", "Carl", "Vera"]).await;
    let root = global_admin(&app).await;
    let group = app.group(&ann, "Members", &[&bob]).await;
    let conversation_hooks = format!("/api/conversations/{group}/webhooks");
    let url = "https://hooks.example.com/epop";
    let hook = create_hook(&app, &ann, &conversation_hooks, url, json!([])).await;
    let hook_id = id(&hook).to_owned();
    // Any member manages a conversation's webhooks.
    app.as_user(&bob).get_ok(format!("/api/webhooks/{hook_id}")).await;
    // Outsiders, and global admins who are not members, find nothing.
    for outsider in [&carl, &root] {
        for (method, path, body) in item_routes(&hook_id) {
            app.as_user(outsider)
                .send(method.clone(), &path, body)
                .await
                .problem(StatusCode::NOT_FOUND, "not_found");
        }
        app.as_user(outsider)
            .get(&conversation_hooks)
            .await
            .problem(StatusCode::NOT_FOUND, "not_found");
        app.as_user(outsider)
            .post(&conversation_hooks, json!({"url": url}))
            .await
            .problem(StatusCode::NOT_FOUND, "not_found");
    }

    // A project's webhooks: its owners and admins; members and viewers see the project, so its list is 403,
    // but a webhook itself is 404 to them.
    let project = app
        .as_user(&ann)
        .post_created("/api/projects", json!({"name": "Roles"}))
        .await;
    let project_id = id(&project);
    add_member(&app, project_id, &ann, &bob, "admin").await;
    add_member(&app, project_id, &ann, &carl, "member").await;
    add_member(&app, project_id, &ann, &vera, "viewer").await;
    let project_hooks = format!("/api/projects/{project_id}/webhooks");
    let by_admin = create_hook(&app, &bob, &project_hooks, url, json!(["task.updated"])).await;
    for member in [&carl, &vera] {
        app.as_user(member)
            .get(&project_hooks)
            .await
            .problem(StatusCode::FORBIDDEN, "forbidden");
        app.as_user(member)
            .post(&project_hooks, json!({"url": url}))
            .await
            .problem(StatusCode::FORBIDDEN, "forbidden");
        for (method, path, body) in item_routes(id(&by_admin)) {
            app.as_user(member)
                .send(method, &path, body)
                .await
                .problem(StatusCode::NOT_FOUND, "not_found");
        }
    }
    let stranger = app.register("Stranger", "stranger@example.com").await;
    app.as_user(&stranger)
        .get(&project_hooks)
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    // A global admin acts as owner on every project.
    app.as_user(&root)
        .get_ok(format!("/api/webhooks/{}", id(&by_admin)))
        .await;

    // Global webhooks: global admins only.
    for user in [&ann, &bob] {
        app.as_user(user)
            .get("/api/webhooks")
            .await
            .problem(StatusCode::NOT_FOUND, "not_found");
        app.as_user(user)
            .post("/api/webhooks", json!({"url": url}))
            .await
            .problem(StatusCode::NOT_FOUND, "not_found");
    }
    let global = create_hook(
        &app,
        &root,
        "/api/webhooks",
        url,
        json!(["task.updated", "message.created"]),
    )
    .await;
    assert_eq!(global["scope"], "global");
    for (method, path, body) in item_routes(id(&global)) {
        app.as_user(&ann)
            .send(method, &path, body)
            .await
            .problem(StatusCode::NOT_FOUND, "not_found");
    }

    // At most EPOP_WEBHOOKS_MAX_PER_SCOPE per scope.
    create_hook(&app, &bob, &conversation_hooks, url, json!([])).await;
    app.as_user(&ann)
        .post(&conversation_hooks, json!({"url": url}))
        .await
        .problem(StatusCode::CONFLICT, "conflict");

    // Changes are audited; a deleted webhook is gone.
    app.as_user(&bob)
        .send(
            reqwest::Method::PATCH,
            format!("/api/webhooks/{hook_id}"),
            Some(json!({"description": "CI"})),
        )
        .await
        .json(StatusCode::OK);
    app.as_user(&bob)
        .post_ok(format!("/api/webhooks/{hook_id}/rotate-secret"), json!({}))
        .await;
    app.as_user(&bob)
        .delete(format!("/api/webhooks/{hook_id}"))
        .await
        .empty(StatusCode::NO_CONTENT);
    app.as_user(&ann)
        .get(format!("/api/webhooks/{hook_id}"))
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    let audit = app
        .as_user(&root)
        .get_ok(format!("/api/admin/audit-log?target={hook_id}"))
        .await;
    let actions: Vec<&str> = elements(&audit["items"])
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "webhook.deleted",
            "webhook.secret_rotated",
            "webhook.updated",
            "webhook.created"
        ]
    );
    let created = elements(&audit["items"]).last().unwrap();
    assert_eq!(created["actor_id"], ann.id.as_str());
    assert!(
        !created.to_string().contains("whsec_"),
        "secrets never reach the audit log"
    );
}

/// Every route of one webhook, with a body where it takes one.
fn item_routes(hook: &str) -> Vec<(reqwest::Method, String, Option<Value>)> {
    use reqwest::Method;
    vec![
        (Method::GET, format!("/api/webhooks/{hook}"), None),
        (
            Method::PATCH,
            format!("/api/webhooks/{hook}"),
            Some(json!({"enabled": false})),
        ),
        (Method::DELETE, format!("/api/webhooks/{hook}"), None),
        (
            Method::POST,
            format!("/api/webhooks/{hook}/rotate-secret"),
            Some(json!({})),
        ),
        (Method::GET, format!("/api/webhooks/{hook}/deliveries"), None),
        (
            Method::GET,
            format!(
                "/api/webhooks/{hook}/deliveries/{}/attempts",
                uuid::Uuid::now_v7()
            ),
            None,
        ),
        (
            Method::POST,
            format!("/api/webhooks/{hook}/ping"),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!(
                "/api/webhooks/{hook}/deliveries/{}/redeliver",
                uuid::Uuid::now_v7()
            ),
            Some(json!({})),
        ),
    ]
}

/// `epop-gateway worker` (the outbox relay and the job worker, no HTTP) for `app`'s database.
fn start_worker(app: &TestApp) -> std::process::Child {
    let mut command = gateway_command(&["worker"]);
    for (name, value) in &app.vars {
        command.env(name, value);
    }
    command
        .env("EPOP_JWT_SECRET", JWT_SECRET)
        .env("EPOP_WEBHOOK_TIMEOUT", "5")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the gateway binary runs")
}

#[tokio::test]
async fn a_worker_killed_mid_delivery_loses_nothing_and_never_reuses_a_webhook_id() {
    let receiver = Receiver::start().await;
    // The API in this process; the relay and the deliveries in a worker process the test kills.
    let app = TestApp::serving_only(|vars| {
        vars.insert("EPOP_WEBHOOKS_ALLOW_LOOPBACK_FOR_TESTS".into(), "true".into());
    })
    .await;
    let [ann, bob] = app.users(["Ann", "Bob"]).await;
    let group = app.group(&ann, "Crash", &[&bob]).await;
    let hook = create_hook(
        &app,
        &ann,
        &format!("/api/conversations/{group}/webhooks"),
        &receiver.url("crash"),
        json!(["message.created"]),
    )
    .await;
    receiver
        .verify_with("crash", &[hook["secret"].as_str().unwrap()])
        .await;
    // The first delivery hangs: the worker is mid-delivery when it is killed.
    receiver.plan("crash", json!([{"hang": 120}])).await;
    let mut worker = start_worker(&app);
    let mut sent = Vec::new();
    for n in 0..4 {
        sent.push(app.message(&ann, &group, &format!("before {n}")).await);
    }
    receiver.wait_for("crash", 1).await;
    worker.kill().expect("kill -9 of the worker");
    worker.wait().unwrap();
    // Posted while no worker runs: they wait in the outbox.
    for n in 0..3 {
        sent.push(app.message(&bob, &group, &format!("while down {n}")).await);
    }
    let mut worker = start_worker(&app);

    let message_ids: Vec<Value> = sent.iter().map(|m| m["id"].clone()).collect();
    let records = eventually(Duration::from_secs(90), || async {
        let seen = receiver.received("crash").await;
        let delivered: Vec<Value> = seen
            .iter()
            .filter(|r| !r["hung"].as_bool().unwrap_or(false))
            .map(|r| body_of(r)["data"]["message"]["id"].clone())
            .collect();
        let missing: Vec<&Value> = message_ids.iter().filter(|m| !delivered.contains(m)).collect();
        if missing.is_empty() {
            Ok(seen)
        } else {
            Err(format!("not delivered (answered) yet: {missing:?}"))
        }
    })
    .await;
    worker.kill().unwrap();
    worker.wait().unwrap();

    // Every attempt verifies; one webhook-id is always the same event (and body), and each event has one id.
    let mut bodies: HashMap<String, String> = HashMap::new();
    let mut ids_of_message: HashMap<String, String> = HashMap::new();
    for record in &records {
        assert_eq!(record["verified"], json!([true]), "{record}");
        let webhook_id = record["webhook_id"].as_str().unwrap().to_owned();
        let body = record["body"].as_str().unwrap().to_owned();
        let message = body_of(record)["data"]["message"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        if let Some(earlier) = bodies.insert(webhook_id.clone(), body.clone()) {
            assert_eq!(
                earlier, body,
                "webhook-id {webhook_id} arrived as two different events"
            );
        }
        if let Some(earlier) = ids_of_message.insert(message.clone(), webhook_id.clone()) {
            assert_eq!(
                earlier, webhook_id,
                "message {message} arrived under two webhook-ids"
            );
        }
    }
    assert_eq!(ids_of_message.len(), sent.len());
    // The delivery that hung was made again after the restart, under the same webhook-id.
    let hung = records.iter().find(|r| r["hung"] == true).unwrap();
    assert!(
        records
            .iter()
            .filter(|r| r["webhook_id"] == hung["webhook_id"])
            .count()
            >= 2
    );
}

/// The attempt log of delivery `delivery` of webhook `hook`, as `by` reads it (one page).
async fn attempts_of(app: &TestApp, by: &TestUser, hook: &str, delivery: &str) -> Vec<Value> {
    let page = app
        .as_user(by)
        .get_ok(format!("/api/webhooks/{hook}/deliveries/{delivery}/attempts"))
        .await;
    elements(&page["items"]).cloned().collect()
}

#[tokio::test]
async fn every_attempt_of_a_delivery_is_logged_newest_first_and_the_log_is_bounded() {
    let receiver = Receiver::start().await;
    let app = app_with(&[("EPOP_WEBHOOK_ATTEMPTS_KEPT", "2")]).await;
    let [ann, bob, carl] = app.users(["Ann", "Bob", "Carl"]).await;
    let group = app.group(&ann, "Log", &[&bob]).await;
    let collection = format!("/api/conversations/{group}/webhooks");
    let hook = create_hook(&app, &ann, &collection, &receiver.url("log"), json!([])).await;
    let other = create_hook(&app, &ann, &collection, &receiver.url("other"), json!([])).await;
    let hook_id = id(&hook).to_owned();

    // The receiver fails the first attempt and accepts the retry: two attempts, newest first.
    receiver.plan("log", json!([{"status": 500}])).await;
    let queued = ping(&app, &ann, &hook_id).await;
    let delivery = id(&queued).to_owned();
    delivery_when(&app, &ann, &hook_id, &delivery, |d| d["status"] == "succeeded").await;
    let attempts = attempts_of(&app, &bob, &hook_id, &delivery).await;
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    let (second, first) = (&attempts[0], &attempts[1]);
    assert_eq!(first["delivery_id"], delivery.as_str());
    assert_eq!(first["succeeded"], false);
    assert_eq!(first["status_code"], 500);
    assert!(first["error"].as_str().unwrap().contains("500"), "{first}");
    assert!(first["duration_ms"].is_number());
    assert_eq!(second["succeeded"], true);
    assert_eq!(second["status_code"], 200);
    assert!(second["error"].is_null());
    assert!(second["duration_ms"].is_number());
    let wait = seconds_between(&first["attempted_at"], &second["attempted_at"]);
    assert!((4.0..=30.0).contains(&wait), "the retry came {wait} s later");

    // Cursor pages that neither repeat nor skip.
    let pages = app
        .every_page(
            &ann,
            &format!("/api/webhooks/{hook_id}/deliveries/{delivery}/attempts?limit=1"),
        )
        .await;
    let paged: Vec<Value> = pages
        .iter()
        .flat_map(|p| elements(&p["items"]).cloned())
        .collect();
    assert_eq!(paged, attempts);
    assert_paging_checked(
        &app,
        &ann,
        &format!("/api/webhooks/{hook_id}/deliveries/{delivery}/attempts"),
        "%%%",
        &["0", "101"],
    )
    .await;

    // A redelivery adds its attempt; only the newest EPOP_WEBHOOK_ATTEMPTS_KEPT stay.
    app.as_user(&ann)
        .post(
            format!("/api/webhooks/{hook_id}/deliveries/{delivery}/redeliver"),
            json!({}),
        )
        .await
        .json(StatusCode::ACCEPTED);
    delivery_when(&app, &ann, &hook_id, &delivery, |d| {
        d["status"] == "succeeded" && d["attempts"] == 3
    })
    .await;
    let kept = attempts_of(&app, &ann, &hook_id, &delivery).await;
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(
        kept.iter().all(|a| a["status_code"] == 200),
        "the 500 was the oldest: {kept:?}"
    );
    assert_eq!(kept[1]["id"], second["id"]);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM webhook_delivery_attempts WHERE delivery_id = '{delivery}'"
        ))
        .await,
        2
    );

    // Another webhook's delivery, an unknown one, and a caller who may not manage the webhook: 404.
    for (by, path) in [
        (
            &ann,
            format!("/api/webhooks/{}/deliveries/{delivery}/attempts", id(&other)),
        ),
        (
            &ann,
            format!(
                "/api/webhooks/{hook_id}/deliveries/{}/attempts",
                uuid::Uuid::now_v7()
            ),
        ),
        (
            &carl,
            format!("/api/webhooks/{hook_id}/deliveries/{delivery}/attempts"),
        ),
    ] {
        app.as_user(by)
            .get(path)
            .await
            .problem(StatusCode::NOT_FOUND, "not_found");
    }
}

/// Rows of `webhook_endpoints` matching `condition`.
async fn endpoints_where(app: &TestApp, condition: &str) -> i64 {
    app.count(&format!(
        "SELECT count(*) AS n FROM webhook_endpoints WHERE {condition}"
    ))
    .await
}

/// Rows whose sealed secrets contain `secret` as text anywhere, or whose clear columns hold it.
fn holding(secret: &str) -> String {
    format!(
        "position(convert_to('{secret}', 'UTF8') IN coalesce(secret_sealed, '') || coalesce(previous_secret_sealed, '')) > 0 \
         OR secret = '{secret}' OR previous_secret = '{secret}'"
    )
}

#[tokio::test]
async fn signing_secrets_are_sealed_at_rest_and_deliveries_still_verify() {
    let receiver = Receiver::start().await;
    let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let app = app_with(&[("EPOP_WEBHOOK_KEY", key)]).await;
    let [ann, bob] = app.users(["Ann", "Bob"]).await;
    let group = app.group(&ann, "Sealed", &[&bob]).await;
    let hook = create_hook(
        &app,
        &ann,
        &format!("/api/conversations/{group}/webhooks"),
        &receiver.url("sealed"),
        json!([]),
    )
    .await;
    let hook_id = id(&hook).to_owned();
    let first = hook["secret"].as_str().unwrap().to_owned();
    // What is stored is not the secret, nor its key bytes: only the sealed form.
    assert_eq!(
        endpoints_where(&app, "secret IS NULL AND secret_sealed IS NOT NULL").await,
        1
    );
    assert_eq!(endpoints_where(&app, &holding(&first)).await, 0);
    let key_bytes = signature_key_hex(&first);
    assert_eq!(
        endpoints_where(
            &app,
            &format!("position(decode('{key_bytes}', 'hex') IN secret_sealed) > 0")
        )
        .await,
        0
    );
    receiver.verify_with("sealed", &[&first]).await;
    ping(&app, &ann, &hook_id).await;
    assert_eq!(receiver.wait_for("sealed", 1).await[0]["verified"], json!([true]));

    // Rotated with an overlap: both secrets sealed, both sign.
    let rotated = app
        .as_user(&ann)
        .post_ok(format!("/api/webhooks/{hook_id}/rotate-secret"), json!({}))
        .await;
    let second = rotated["secret"].as_str().unwrap().to_owned();
    assert_eq!(
        endpoints_where(
            &app,
            "secret IS NULL AND previous_secret IS NULL AND previous_secret_sealed IS NOT NULL"
        )
        .await,
        1
    );
    assert_eq!(endpoints_where(&app, &holding(&first)).await, 0);
    assert_eq!(endpoints_where(&app, &holding(&second)).await, 0);
    receiver.verify_with("sealed", &[&first, &second]).await;
    ping(&app, &ann, &hook_id).await;
    assert_eq!(
        receiver.wait_for("sealed", 2).await[1]["verified"],
        json!([true, true])
    );

    // A sealed secret moved to another webhook does not open there: its deliveries fail unsent.
    let moved = create_hook(
        &app,
        &ann,
        &format!("/api/conversations/{group}/webhooks"),
        &receiver.url("moved"),
        json!([]),
    )
    .await;
    app.sql(&format!(
        "UPDATE webhook_endpoints SET secret_sealed = (SELECT secret_sealed FROM webhook_endpoints \
         WHERE id = '{hook_id}') WHERE id = '{}'",
        id(&moved)
    ))
    .await;
    let refused = ping(&app, &ann, id(&moved)).await;
    let failed = delivery_when(&app, &ann, id(&moved), id(&refused), |d| d["attempts"] == 1).await;
    assert!(
        failed["error"].as_str().unwrap().contains("does not decrypt"),
        "{failed}"
    );
    assert!(receiver.received("moved").await.is_empty());
    app.as_user(&ann)
        .delete(format!("/api/webhooks/{}", id(&moved)))
        .await
        .empty(StatusCode::NO_CONTENT);

    // `admin unseal-webhook-secrets` writes them back in clear (before a downgrade) ...
    let mut command = gateway_command(&["admin", "unseal-webhook-secrets"]);
    for (name, value) in &app.vars {
        command.env(name, value);
    }
    assert_succeeded(&command.output().expect("the gateway binary runs"));
    assert_eq!(
        endpoints_where(
            &app,
            &format!(
                "secret = '{second}' AND previous_secret = '{first}' AND secret_sealed IS NULL \
                 AND previous_secret_sealed IS NULL"
            )
        )
        .await,
        1
    );
    // ... such rows (as rows made before sealing) go on signing, and the next gateway to start seals them.
    ping(&app, &ann, &hook_id).await;
    assert_eq!(
        receiver.wait_for("sealed", 3).await[2]["verified"],
        json!([true, true])
    );
    let _peer = app.spawn_peer().await;
    assert_eq!(
        endpoints_where(&app, "secret IS NULL AND previous_secret IS NULL").await,
        1
    );
    assert_eq!(endpoints_where(&app, &holding(&first)).await, 0);
    assert_eq!(endpoints_where(&app, &holding(&second)).await, 0);
    ping(&app, &ann, &hook_id).await;
    assert_eq!(
        receiver.wait_for("sealed", 4).await[3]["verified"],
        json!([true, true])
    );
}

/// The hex of the key bytes of a `whsec_` secret.
fn signature_key_hex(secret: &str) -> String {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .unwrap();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
