//! docs/api.md, Notification control: per-conversation levels and mutes decide which in-app notifications are
//! created; a user's do-not-disturb holds back e-mail and Web Push until it ends, and what the user has read by then
//! is dropped.

use crate::email::SmtpServer;
use crate::helpers::{
    JOB_WAIT, TestApp, TestUser, elements, end_do_not_disturb, mark_read, wait_for_deferred, wait_for_none,
};
use chrono::{Duration as Span, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

async fn levels(app: &TestApp, user: &TestUser, conversation: &str) -> Value {
    app.as_user(user)
        .get_ok(format!("/api/conversations/{conversation}/notifications"))
        .await
}

async fn set_level(app: &TestApp, user: &TestUser, conversation: &str, body: Value) -> Value {
    app.as_user(user)
        .put(format!("/api/conversations/{conversation}/notifications"), body)
        .await
        .json(StatusCode::OK)
}

/// The types of the user's notifications, newest first.
async fn kinds(app: &TestApp, user: &TestUser) -> Vec<String> {
    let page = app.as_user(user).get_ok("/api/notifications").await;
    elements(&page["items"])
        .map(|n| n["type"].as_str().unwrap().to_owned())
        .collect()
}

/// Waits until `user` has a notification of type `kind`.
async fn wait_for_kind(app: &TestApp, user: &TestUser, kind: &str) {
    let started = Instant::now();
    while !kinds(app, user).await.iter().any(|k| k == kind) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no {kind} notification for {}",
            user.id
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the notification jobs are all done.
async fn jobs_done(app: &TestApp, queue: &str) {
    let query = format!("SELECT count(*) AS n FROM jobs WHERE queue = '{queue}' AND status <> 'done'");
    wait_for_none(app, &query, JOB_WAIT, &format!("{queue} jobs did not finish")).await;
}

#[tokio::test]
async fn levels_default_by_size_and_are_set_and_muted_per_member() {
    let app = TestApp::with_settings([("EPOP_NOTIFY_ALL_MAX_MEMBERS", "2")]).await;
    let [ann, bob, cat, out] = app.users(["Ann", "Bob", "Cat", "Out"]).await;
    let direct = app.direct(&ann, &bob).await;
    let pair = app.group(&ann, "Pair", &[&bob]).await;
    let trio = app.group(&ann, "Trio", &[&bob, &cat]).await;
    let defaults = json!({"level": null, "muted_until": null, "effective_level": "all"});
    assert_eq!(levels(&app, &ann, &direct).await, defaults);
    assert_eq!(levels(&app, &ann, &pair).await, defaults);
    assert_eq!(levels(&app, &ann, &trio).await["effective_level"], "mentions");

    // A member's own level; another member's is unchanged.
    let set = set_level(&app, &bob, &trio, json!({"level": "all"})).await;
    assert_eq!(
        set,
        json!({"level": "all", "muted_until": null, "effective_level": "all"})
    );
    assert_eq!(levels(&app, &bob, &trio).await, set);
    assert_eq!(levels(&app, &cat, &trio).await["effective_level"], "mentions");
    // Muted: nothing until then, the level kept.
    let until = (Utc::now() + Span::hours(1)).to_rfc3339();
    let muted = set_level(&app, &bob, &trio, json!({"level": "all", "muted_until": until})).await;
    assert_eq!(muted["level"], "all");
    assert_eq!(muted["effective_level"], "none");
    assert!(muted["muted_until"].is_string());
    // A PUT sets both: `{}` is the default, unmuted.
    let reset = set_level(&app, &bob, &trio, json!({})).await;
    assert_eq!(reset["level"], Value::Null);
    assert_eq!(reset["muted_until"], Value::Null);
    assert_eq!(reset["effective_level"], "mentions");

    // Bad input names its field and changes nothing.
    set_level(&app, &bob, &trio, json!({"level": "none"})).await;
    let past = (Utc::now() - Span::minutes(1)).to_rfc3339();
    let path = format!("/api/conversations/{trio}/notifications");
    for (body, field) in [
        (json!({"level": "loud"}), "level"),
        (json!({"level": 3}), "level"),
        (json!({"muted_until": "tomorrow"}), "muted_until"),
        (json!({"muted_until": past}), "muted_until"),
    ] {
        let problem = app
            .as_user(&bob)
            .put(&path, body.clone())
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let fields: Vec<_> = problem.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, [field], "{body}");
    }
    assert_eq!(levels(&app, &bob, &trio).await["level"], "none");
    // Not a member, no such conversation: 404.
    app.as_user(&out)
        .get(&path)
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    app.as_user(&out)
        .put(&path, json!({"level": "all"}))
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    app.as_user(&bob)
        .get(format!(
            "/api/conversations/{}/notifications",
            uuid::Uuid::now_v7()
        ))
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn in_app_notifications_follow_each_members_level() {
    let app = TestApp::with_settings([("EPOP_NOTIFY_ALL_MAX_MEMBERS", "4")]).await;
    let [ann, bob, cat, dan, eve] = app.users(["Ann", "Bob", "Cat", "Dan", "Eve"]).await;
    // Five members: over the limit, so `mentions` by default (Eve keeps it).
    let group = app.group(&ann, "G", &[&bob, &cat, &dan, &eve]).await;
    set_level(&app, &bob, &group, json!({"level": "all"})).await;
    set_level(&app, &cat, &group, json!({"level": "none"})).await;
    let until = (Utc::now() + Span::hours(1)).to_rfc3339();
    set_level(&app, &dan, &group, json!({"level": "all", "muted_until": until})).await;

    app.message(&ann, &group, "plain").await;
    let mentions = format!("<@{}> <@{}> <@{}> <@{}>", bob.id, cat.id, dan.id, eve.id);
    app.message(&ann, &group, &mentions).await;
    wait_for_kind(&app, &bob, "mention").await;
    wait_for_kind(&app, &eve, "mention").await;
    jobs_done(&app, "notifications").await;
    // Bob (`all`, offline): the messages and the mention. Eve (`mentions`): the mention only.
    let mut bob_kinds = kinds(&app, &bob).await;
    bob_kinds.sort();
    assert_eq!(bob_kinds, ["mention", "message"]);
    assert_eq!(kinds(&app, &eve).await, ["mention"]);
    // Cat (`none`) and Dan (muted): nothing.
    assert!(kinds(&app, &cat).await.is_empty());
    assert!(kinds(&app, &dan).await.is_empty());

    // Unmuted, Dan's level applies again.
    set_level(&app, &dan, &group, json!({"level": "all"})).await;
    app.message(&ann, &group, &format!("<@{}>", dan.id)).await;
    wait_for_kind(&app, &dan, "mention").await;
}

#[tokio::test]
async fn do_not_disturb_settings_are_kept_with_their_time_zone_and_checked() {
    let (app, [ann]) = TestApp::with_users(["Ann"]).await;
    let path = "/api/users/me/notification-settings";
    assert_eq!(
        app.as_user(&ann).get_ok(path).await,
        json!({"time_zone": "UTC", "dnd_schedule": [], "dnd_until": null, "dnd_active": false, "dnd_ends_at": null})
    );
    let schedule = json!([
        {"day": "mon", "start": "22:00", "end": "07:00"},
        {"day": "sat", "start": "00:00", "end": "00:00"},
    ]);
    let until = (Utc::now() + Span::hours(2)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let set = app
        .as_user(&ann)
        .put(
            path,
            json!({"time_zone": "America/New_York", "dnd_schedule": schedule, "dnd_until": until}),
        )
        .await
        .json(StatusCode::OK);
    assert_eq!(set["time_zone"], "America/New_York");
    assert_eq!(set["dnd_schedule"], schedule);
    assert_eq!(set["dnd_active"], true);
    let ends = chrono::DateTime::parse_from_rfc3339(set["dnd_ends_at"].as_str().unwrap()).unwrap();
    let manual = chrono::DateTime::parse_from_rfc3339(&until).unwrap();
    assert!(ends >= manual, "{set}");
    assert_eq!(
        app.as_user(&ann).get_ok(path).await["time_zone"],
        "America/New_York"
    );

    // Bad input names its fields and changes nothing.
    let past = (Utc::now() - Span::minutes(1)).to_rfc3339();
    let too_many: Vec<Value> = (0..29)
        .map(|_| json!({"day": "tue", "start": "01:00", "end": "02:00"}))
        .collect();
    for (body, fields) in [
        (json!({"time_zone": "Mars/Olympus"}), vec!["time_zone"]),
        (json!({"time_zone": ""}), vec!["time_zone"]),
        (json!({"dnd_until": past}), vec!["dnd_until"]),
        (json!({"dnd_until": "soon"}), vec!["dnd_until"]),
        (
            json!({"time_zone": "Nowhere", "dnd_until": past}),
            vec!["time_zone", "dnd_until"],
        ),
        (json!({"dnd_schedule": too_many}), vec!["dnd_schedule"]),
        (
            json!({"dnd_schedule": [{"day": "funday", "start": "22:00", "end": "07:00"}]}),
            vec!["dnd_schedule[0].day"],
        ),
        (
            json!({"dnd_schedule": [{"day": "mon", "start": "22:00", "end": "07:00"}, {"day": "mon", "start": "25:00", "end": "07:00"}]}),
            vec!["dnd_schedule[1].start"],
        ),
        (
            json!({"dnd_schedule": [{"day": "mon", "start": "22:00"}, {"start": "7:00", "end": "08:00"}]}),
            vec![
                "dnd_schedule[0].end",
                "dnd_schedule[1].day",
                "dnd_schedule[1].start",
            ],
        ),
        (json!({"dnd_schedule": "nights"}), vec!["dnd_schedule"]),
    ] {
        let problem = app
            .as_user(&ann)
            .put(path, body.clone())
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let found: Vec<_> = problem.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(found, fields, "{body}");
    }
    assert_eq!(app.as_user(&ann).get_ok(path).await["dnd_schedule"], schedule);
    app.anonymous()
        .get(path)
        .await
        .problem(StatusCode::UNAUTHORIZED, "unauthorized");

    // A `PUT` sets everything: `{}` turns it off.
    let off = app.as_user(&ann).put(path, json!({})).await.json(StatusCode::OK);
    assert_eq!(off["dnd_active"], false);
    assert_eq!(off["time_zone"], "UTC");
}

#[tokio::test]
async fn e_mail_waits_for_do_not_disturb_to_end_and_is_dropped_once_read() {
    let mut smtp = SmtpServer::start_any().await;
    let app = TestApp::with_settings([
        ("EPOP_SMTP_URL", smtp.url().as_str()),
        ("EPOP_SMTP_FROM", "EPOP <no-reply@epop.test>"),
    ])
    .await;
    let [ann, bob, cat] = app.users(["Ann", "Bob", "Cat"]).await;
    app.sql("UPDATE users SET email_verified = true").await;
    let group = app.group(&ann, "G", &[&bob]).await;
    let other = app.group(&ann, "H", &[&cat]).await;
    // Bob and Cat are in do-not-disturb for an hour.
    let until = (Utc::now() + Span::hours(1)).to_rfc3339();
    for user in [&bob, &cat] {
        app.as_user(user)
            .put("/api/users/me/notification-settings", json!({"dnd_until": until}))
            .await
            .json(StatusCode::OK);
    }
    app.message(&ann, &group, "for bob").await;
    app.message(&ann, &other, "for cat").await;
    wait_for_kind(&app, &bob, "message").await;
    wait_for_kind(&app, &cat, "message").await;
    // In-app notifications are there; each e-mail is put back on the queue for the end of do-not-disturb.
    wait_for_deferred(&app, "email", 2, "the e-mails were not deferred").await;

    // Bob reads the conversation meanwhile (on any device); Cat does not.
    mark_read(&app, &bob, &group).await;
    // Do-not-disturb ends (the deferred jobs made due now): Cat's e-mail goes out, Bob's is dropped.
    end_do_not_disturb(&app, &[&bob, &cat], "email").await;
    let mail = smtp.next_mail_to("cat@example.com", "New message").await;
    assert!(mail.contains("for cat"), "{mail}");
    jobs_done(&app, "email").await;
    let everything = smtp.everything_after(Duration::from_millis(300)).await;
    assert!(!everything.contains("for bob"), "{everything}");
}
