//! docs/api.md, Event reminders: per event and user, minutes before every instance's start; one queued job per
//! (event or series, user) for the next one, moved by every change, chained when it fires, announced once as a
//! `calendar_reminder` notification.

use crate::helpers::{JOB_WAIT, TestApp, TestUser, count_of_kind, eventually, notifications_of_kind};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

const EVENTS: &str = "/api/calendar-events";

fn reminders(id: &str) -> String {
    format!("{EVENTS}/{id}/reminders")
}

/// `user`'s reminders of `id` now.
async fn next_of(app: &TestApp, user: &TestUser, id: &str) -> Value {
    app.as_user(user).get_ok(reminders(id)).await["next_reminder_at"].clone()
}

/// How many `calendar-reminders` jobs are queued for `event` (and `user`, when given).
async fn queued(app: &TestApp, event: &str, user: Option<&TestUser>) -> i64 {
    let user = user.map_or(String::new(), |u| {
        format!(" AND payload->>'user_id' = '{}'", u.id)
    });
    app.count(&format!(
        "SELECT count(*) AS n FROM jobs WHERE queue = 'calendar-reminders' AND status = 'queued' \
         AND payload->>'event_id' = '{event}'{user}"
    ))
    .await
}

/// Setting reminders through the id of an instance that does not exist is `404`.
async fn refused_for_no_instance(app: &TestApp, user: &TestUser, instance: &str) {
    app.as_user(user)
        .put(reminders(instance), json!({"minutes": [5]}))
        .await
        .not_found();
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[tokio::test]
async fn reminders_are_per_user_and_every_bad_input_is_refused() {
    let (app, [ann, bob, eve]) = TestApp::with_users(["Ann", "Bob", "Eve"]).await;
    let event = app
        .as_user(&ann)
        .post_created(
            EVENTS,
            json!({"title": "Review", "start_time": "2030-05-06T09:00:00Z", "end_time": "2030-05-06T10:00:00Z",
                   "attendees": [bob.id]}),
        )
        .await;
    let id = event["id"].as_str().unwrap();
    assert_eq!(
        app.as_user(&ann).get_ok(reminders(id)).await,
        json!({"event_id": id, "minutes": [], "next_reminder_at": null})
    );
    let set = app
        .as_user(&ann)
        .put_ok(reminders(id), json!({"minutes": [60, 10, 60]}))
        .await;
    assert_eq!(
        set,
        json!({"event_id": id, "minutes": [10, 60], "next_reminder_at": "2030-05-06T08:00:00Z"}),
        "sorted, without duplicates; the first due is an hour before"
    );
    let bobs = app
        .as_user(&bob)
        .put_ok(reminders(id), json!({"minutes": [0]}))
        .await;
    assert_eq!(
        bobs["next_reminder_at"], "2030-05-06T09:00:00Z",
        "the attendee's own"
    );
    assert_eq!(next_of(&app, &ann, id).await, "2030-05-06T08:00:00Z");
    assert_eq!(queued(&app, id, None).await, 2, "one job per user");

    // Bad input changes nothing.
    let ann_put = |body: Value| {
        let app = &app;
        let ann = &ann;
        async move { app.as_user(ann).put(reminders(id), body).await }
    };
    ann_put(json!({})).await.invalid_fields(&["minutes"]);
    ann_put(json!({"minutes": "ten"}))
        .await
        .invalid_fields(&["minutes"]);
    ann_put(json!({"minutes": [1, 2, 3, 4, 5, 6]}))
        .await
        .invalid_fields(&["minutes"]);
    ann_put(json!({"minutes": [5, -1, 40321]}))
        .await
        .invalid_fields(&["minutes[1]", "minutes[2]"]);
    assert_eq!(
        app.as_user(&ann).get_ok(reminders(id)).await["minutes"],
        json!([10, 60])
    );
    // Someone who does not see the event, and ids of nothing.
    app.as_user(&eve).get(reminders(id)).await.not_found();
    app.as_user(&eve)
        .put(reminders(id), json!({"minutes": [5]}))
        .await
        .not_found();
    app.as_user(&ann).get(reminders("nope")).await.not_found();
    refused_for_no_instance(&app, &ann, &format!("{id}_20300506T090000Z")).await;

    // Moving the event moves both jobs; still one each.
    app.as_user(&ann)
        .put_ok(
            format!("{EVENTS}/{id}"),
            json!({"start_time": "2030-05-07T09:00:00Z", "end_time": "2030-05-07T10:00:00Z"}),
        )
        .await;
    assert_eq!(next_of(&app, &ann, id).await, "2030-05-07T08:00:00Z");
    assert_eq!(next_of(&app, &bob, id).await, "2030-05-07T09:00:00Z");
    assert_eq!(queued(&app, id, None).await, 2);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM jobs WHERE queue = 'calendar-reminders' AND status = 'queued' \
             AND payload->>'event_id' = '{id}' AND run_at IN ('2030-05-07T08:00:00Z', '2030-05-07T09:00:00Z')"
        ))
        .await,
        2,
        "the jobs run when the reminders are due"
    );

    // An empty list removes the caller's; removing an attendee removes theirs.
    let cleared = app
        .as_user(&ann)
        .put_ok(reminders(id), json!({"minutes": []}))
        .await;
    assert_eq!(cleared["next_reminder_at"], Value::Null);
    assert_eq!(queued(&app, id, Some(&ann)).await, 0);
    app.as_user(&ann)
        .put_ok(format!("{EVENTS}/{id}"), json!({"attendees": []}))
        .await;
    assert_eq!(queued(&app, id, None).await, 0);
    app.as_user(&bob).get(reminders(id)).await.not_found();

    // A past event has nothing ahead; deleting an event cancels its jobs.
    let past = app
        .as_user(&ann)
        .post_created(
            EVENTS,
            json!({"title": "Past", "start_time": "2020-05-06T09:00:00Z", "end_time": "2020-05-06T10:00:00Z"}),
        )
        .await;
    let past = past["id"].as_str().unwrap();
    let set = app
        .as_user(&ann)
        .put_ok(reminders(past), json!({"minutes": [5]}))
        .await;
    assert_eq!(set["next_reminder_at"], Value::Null);
    assert_eq!(queued(&app, past, None).await, 0);
    app.as_user(&ann)
        .put_ok(reminders(id), json!({"minutes": [5]}))
        .await;
    assert_eq!(queued(&app, id, None).await, 1);
    app.as_user(&ann).delete_ok(format!("{EVENTS}/{id}")).await;
    assert_eq!(queued(&app, id, None).await, 0);
}

#[tokio::test]
async fn series_reminders_follow_daylight_saving_overrides_cancellations_and_splits() {
    let (app, [ann]) = TestApp::with_users(["Ann"]).await;
    // 09:00 London every day from Friday 29 March 2030; BST begins on Sunday 31 March.
    let series = app
        .as_user(&ann)
        .post_created(
            EVENTS,
            json!({"title": "Stand-up", "start_time": "2030-03-29T09:00:00Z", "end_time": "2030-03-29T09:15:00Z",
                   "rrule": "FREQ=DAILY;COUNT=6", "time_zone": "Europe/London"}),
        )
        .await;
    let sid = series["id"].as_str().unwrap().to_owned();
    refused_for_no_instance(&app, &ann, &format!("{sid}_20290101T000000Z")).await;
    let set = app
        .as_user(&ann)
        .put_ok(reminders(&sid), json!({"minutes": [15]}))
        .await;
    assert_eq!(
        set["next_reminder_at"], "2030-03-29T08:45:00Z",
        "15 minutes before 09:00 GMT"
    );

    // Cancelling the two instances before the change: the next is 09:00 BST, 08:00Z.
    for day in ["20300329T090000Z", "20300330T090000Z"] {
        app.as_user(&ann).delete_ok(format!("{EVENTS}/{sid}_{day}")).await;
    }
    assert_eq!(next_of(&app, &ann, &sid).await, "2030-03-31T07:45:00Z");
    // Moving that instance moves its reminder; cancelling it skips to the next day's.
    app.as_user(&ann)
        .put_ok(
            format!("{EVENTS}/{sid}_20300331T080000Z"),
            json!({"start_time": "2030-03-31T11:00:00Z", "end_time": "2030-03-31T11:15:00Z"}),
        )
        .await;
    assert_eq!(next_of(&app, &ann, &sid).await, "2030-03-31T10:45:00Z");
    app.as_user(&ann)
        .delete_ok(format!("{EVENTS}/{sid}_20300331T080000Z"))
        .await;
    assert_eq!(next_of(&app, &ann, &sid).await, "2030-04-01T07:45:00Z");
    assert_eq!(queued(&app, &sid, None).await, 1, "one job, moved each time");

    // This and following from 2 April: the new series has the same reminders.
    let tail = app
        .as_user(&ann)
        .put_ok(
            format!("{EVENTS}/{sid}_20300402T080000Z?scope=following"),
            json!({"title": "Stand-up (new room)"}),
        )
        .await;
    let tid = tail["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.as_user(&ann).get_ok(reminders(&tid)).await,
        json!({"event_id": tid, "minutes": [15], "next_reminder_at": "2030-04-02T07:45:00Z"})
    );
    assert_eq!(next_of(&app, &ann, &sid).await, "2030-04-01T07:45:00Z");
    // Cancelling the rest of the old series leaves it nothing ahead: its job goes.
    app.as_user(&ann)
        .delete_ok(format!("{EVENTS}/{sid}_20300401T080000Z?scope=following"))
        .await;
    assert_eq!(next_of(&app, &ann, &sid).await, Value::Null);
    assert_eq!(queued(&app, &sid, None).await, 0);
    assert_eq!(queued(&app, &tid, None).await, 1);
}

#[tokio::test]
async fn a_reminder_fires_once_and_chains_to_the_next_instance() {
    let (app, [ann, bob]) = TestApp::with_users(["Ann", "Bob"]).await;
    // A daily series whose first instance starts a few seconds from now, reminded at the start.
    let start = Utc::now() + Duration::seconds(4);
    let start = DateTime::<Utc>::from_timestamp(start.timestamp(), 0).unwrap();
    let series = app
        .as_user(&ann)
        .post_created(
            EVENTS,
            json!({"title": "Daily", "start_time": rfc3339(start), "end_time": rfc3339(start + Duration::minutes(15)),
                   "rrule": "FREQ=DAILY;COUNT=3", "attendees": [bob.id]}),
        )
        .await;
    let sid = series["id"].as_str().unwrap().to_owned();
    let set = app
        .as_user(&bob)
        .put_ok(reminders(&sid), json!({"minutes": [0]}))
        .await;
    assert_eq!(set["next_reminder_at"], rfc3339(start));

    let within = JOB_WAIT + std::time::Duration::from_secs(5);
    let found = notifications_of_kind(&app, &bob, "/api/notifications", "calendar_reminder", 1, within).await;
    let payload = &found[0]["payload"];
    assert_eq!(
        payload["event_id"],
        format!("{sid}_{}", start.format("%Y%m%dT%H%M%SZ"))
    );
    assert_eq!(payload["calendar_event_id"], sid.as_str());
    assert_eq!(payload["title"], "Daily");
    assert_eq!(payload["start_time"], rfc3339(start));
    // Chained to the next instance, with one job queued for it.
    let next = rfc3339(start + Duration::days(1));
    eventually(within, || async {
        let now = next_of(&app, &bob, &sid).await;
        if now == next.as_str() {
            Ok(())
        } else {
            Err(format!("the next reminder is {now}, not {next}"))
        }
    })
    .await;
    assert_eq!(queued(&app, &sid, Some(&bob)).await, 1);
    assert_eq!(
        count_of_kind(&app, &bob, "calendar_reminder").await,
        1,
        "announced once"
    );
    // Ann set none: she has none.
    assert_eq!(count_of_kind(&app, &ann, "calendar_reminder").await, 0);
    assert_eq!(
        app.as_user(&ann).get(reminders(&sid)).await.status(),
        StatusCode::OK
    );
}
