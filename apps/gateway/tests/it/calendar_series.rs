//! docs/api.md, Calendar: recurring series (RFC 5545 rules in an IANA zone, daylight-saving changes, the
//! instance bound), instance ids, overrides, cancellations and splits, the `.ics` export read back by an
//! independent parser (Python's `icalendar`), invitations and answers, notifications, free/busy and feeds.

use crate::client::Call;
use crate::helpers::{TestApp, TestUser, elements, page_when};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;

const EVENTS: &str = "/api/calendar-events";

async fn create(app: &TestApp, user: &TestUser, body: Value) -> Value {
    app.as_user(user).post_created(EVENTS, body).await
}

/// Every item of a range query, walking all pages of `limit`.
async fn all(app: &TestApp, user: &TestUser, query: &str) -> Vec<Value> {
    let pages = app.every_page(user, &format!("{EVENTS}?{query}")).await;
    pages
        .iter()
        .flat_map(|page| elements(&page["items"]).cloned())
        .collect()
}

/// A gateway where Ann has created the event `body`: `(app, ann, event)`.
async fn with_event_of_ann(body: Value) -> (TestApp, TestUser, Value) {
    let (app, [ann]) = TestApp::with_users(["Ann"]).await;
    let event = create(&app, &ann, body).await;
    (app, ann, event)
}

fn field<'a>(items: &'a [Value], name: &str) -> Vec<&'a str> {
    items.iter().map(|e| e[name].as_str().unwrap()).collect()
}

#[tokio::test]
async fn series_repeat_at_the_same_local_time_across_daylight_saving_changes() {
    // London: BST begins 29 March 2026 and ends 25 October 2026. 09:00 local every day.
    let (app, ann, london) = with_event_of_ann(
        json!({"title": "Stand-up", "start_time": "2026-03-26T09:00:00Z", "end_time": "2026-03-26T09:15:00Z",
               "rrule": "FREQ=DAILY;COUNT=7", "time_zone": "Europe/London"}),
    )
    .await;
    assert_eq!(london["rrule"], "FREQ=DAILY;COUNT=7");
    assert_eq!(london["time_zone"], "Europe/London");
    assert_eq!(london["series_id"], Value::Null);
    let series = london["id"].as_str().unwrap();
    let items = all(
        &app,
        &ann,
        "from=2026-03-20T00:00:00Z&to=2026-04-10T00:00:00Z&limit=3",
    )
    .await;
    assert_eq!(
        field(&items, "start_time"),
        [
            "2026-03-26T09:00:00Z",
            "2026-03-27T09:00:00Z",
            "2026-03-28T09:00:00Z",
            "2026-03-29T08:00:00Z",
            "2026-03-30T08:00:00Z",
            "2026-03-31T08:00:00Z",
            "2026-04-01T08:00:00Z"
        ],
        "09:00 GMT, then 09:00 BST: none skipped or doubled"
    );
    assert_eq!(items[3]["end_time"], "2026-03-29T08:15:00Z");
    assert_eq!(items[0]["id"], format!("{series}_20260326T090000Z"));
    assert_eq!(items[3]["id"], format!("{series}_20260329T080000Z"));
    for item in &items {
        assert_eq!(item["series_id"], series);
        assert_eq!(item["original_start"], item["start_time"]);
        assert_eq!(item["rrule"], "FREQ=DAILY;COUNT=7");
        assert_eq!(item["title"], "Stand-up");
    }
    let autumn = create(
        &app,
        &ann,
        json!({"title": "Autumn", "start_time": "2026-10-23T08:00:00Z", "end_time": "2026-10-23T09:00:00Z",
               "rrule": "FREQ=DAILY;UNTIL=20261027", "time_zone": "Europe/London"}),
    )
    .await;
    assert_eq!(
        autumn["rrule"], "FREQ=DAILY;UNTIL=20261027T235959Z",
        "UNTIL is stored in UTC"
    );
    let items = all(&app, &ann, "from=2026-10-20T00:00:00Z&to=2026-11-01T00:00:00Z").await;
    assert_eq!(
        field(&items, "start_time"),
        [
            "2026-10-23T08:00:00Z",
            "2026-10-24T08:00:00Z",
            "2026-10-25T09:00:00Z",
            "2026-10-26T09:00:00Z",
            "2026-10-27T09:00:00Z"
        ]
    );

    // New York: EDT from 8 March, EST from 1 November. Monday and Wednesday at 09:00.
    create(
        &app,
        &ann,
        json!({"title": "NY", "start_time": "2026-03-02T14:00:00Z", "end_time": "2026-03-02T15:00:00Z",
               "rrule": "FREQ=WEEKLY;BYDAY=MO,WE", "time_zone": "America/New_York"}),
    )
    .await;
    let ny = |items: Vec<Value>| -> Vec<String> {
        items
            .iter()
            .filter(|e| e["title"] == "NY")
            .map(|e| e["start_time"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        ny(all(&app, &ann, "from=2026-03-02T00:00:00Z&to=2026-03-12T00:00:00Z").await),
        [
            "2026-03-02T14:00:00Z",
            "2026-03-04T14:00:00Z",
            "2026-03-09T13:00:00Z",
            "2026-03-11T13:00:00Z"
        ]
    );
    assert_eq!(
        ny(all(&app, &ann, "from=2026-10-26T00:00:00Z&to=2026-11-05T00:00:00Z").await),
        [
            "2026-10-26T13:00:00Z",
            "2026-10-28T13:00:00Z",
            "2026-11-02T14:00:00Z",
            "2026-11-04T14:00:00Z"
        ]
    );
}

#[tokio::test]
async fn open_ended_series_are_bounded_and_page_with_single_events() {
    let app = TestApp::with_settings([("EPOP_CALENDAR_MAX_SERIES_INSTANCES", "30")]).await;
    let [ann] = app.users(["Ann"]).await;
    let daily = create(
        &app,
        &ann,
        json!({"title": "Daily", "start_time": "2026-01-01T09:00:00Z", "end_time": "2026-01-01T10:00:00Z",
               "rrule": "RRULE:freq=daily", "exdates": ["2026-01-03T09:00:00Z"]}),
    )
    .await;
    assert_eq!(daily["rrule"], "FREQ=DAILY");
    assert_eq!(daily["exdates"], json!(["2026-01-03T09:00:00Z"]));
    for day in [2, 15, 15] {
        create(
            &app,
            &ann,
            json!({"title": format!("Single {day}"), "start_time": format!("2026-01-{day:02}T09:00:00Z"),
                   "end_time": format!("2026-01-{day:02}T09:30:00Z")}),
        )
        .await;
    }
    let items = all(&app, &ann, "limit=4").await;
    let instances: Vec<&Value> = items.iter().filter(|e| e["series_id"].is_string()).collect();
    assert_eq!(instances.len(), 29, "30 instances, one excluded");
    assert_eq!(items.len(), 32);
    let mut ids: Vec<&str> = field(&items, "id");
    let starts: Vec<(&str, &str)> = items
        .iter()
        .map(|e| (e["start_time"].as_str().unwrap(), e["id"].as_str().unwrap()))
        .collect();
    let mut sorted = starts.clone();
    sorted.sort();
    assert_eq!(starts, sorted, "by start, then id");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 32, "no item twice across pages");
    assert_eq!(instances.last().unwrap()["start_time"], "2026-01-30T09:00:00Z");
    // A range far after the bound has nothing; one near the end of the bound ends with it (both walked from
    // near the range, not from the first instance).
    assert!(all(&app, &ann, "from=2026-02-01T00:00:00Z").await.is_empty());
    let late = all(&app, &ann, "from=2026-01-29T00:00:00Z&to=2026-03-01T00:00:00Z").await;
    assert_eq!(
        field(&late, "start_time"),
        ["2026-01-29T09:00:00Z", "2026-01-30T09:00:00Z"]
    );
    // COUNT over the bound is refused.
    app
        .as_user(&ann)
        .post(
            EVENTS,
            json!({"title": "t", "start_time": "2026-01-01T09:00:00Z", "end_time": "2026-01-01T10:00:00Z", "rrule": "FREQ=DAILY;COUNT=31"}),
        )
        .await
.invalid_fields(&["rrule"]);
}

#[tokio::test]
async fn bad_recurrence_and_invitation_input_is_refused_naming_the_field() {
    let (app, [ann]) = TestApp::with_users(["Ann"]).await;
    let base =
        json!({"title": "t", "start_time": "2026-01-01T09:00:00Z", "end_time": "2026-01-01T10:00:00Z"});
    let with = |extra: Value| {
        let mut body = base.clone();
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    for (extra, field) in [
        (json!({"rrule": "FREQ=SECONDLY"}), "rrule"),
        (json!({"rrule": "FREQ=MINUTELY;INTERVAL=15"}), "rrule"),
        (json!({"rrule": "FREQ=SOMETIMES"}), "rrule"),
        (json!({"rrule": "COUNT=3"}), "rrule"),
        (json!({"rrule": ""}), "rrule"),
        (json!({"rrule": "FREQ=DAILY;COUNT=0"}), "rrule"),
        (
            json!({"rrule": "FREQ=DAILY;COUNT=3;UNTIL=20260201T000000Z"}),
            "rrule",
        ),
        (json!({"rrule": "FREQ=DAILY;UNTIL=20251231T000000Z"}), "rrule"),
        (json!({"rrule": "FREQ=DAILY;UNTIL=soon"}), "rrule"),
        (
            json!({"rrule": "DTSTART:20260101T090000Z\nRRULE:FREQ=DAILY"}),
            "rrule",
        ),
        (json!({"rrule": "FREQ=WEEKLY;BYDAY=XX"}), "rrule"),
        (json!({"rrule": "FREQ=YEARLY;BYMONTH=13"}), "rrule"),
        (json!({"rrule": "FREQ=DAILY;".repeat(60)}), "rrule"),
        (json!({"rrule": 5}), "rrule"),
        (
            json!({"rrule": "FREQ=DAILY", "time_zone": "Mars/Olympus"}),
            "time_zone",
        ),
        (json!({"time_zone": "x".repeat(65)}), "time_zone"),
        (json!({"exdates": ["2026-01-02T09:00:00Z"]}), "exdates"),
        (json!({"rrule": "FREQ=DAILY", "exdates": ["tomorrow"]}), "exdates"),
        (
            json!({"rrule": "FREQ=DAILY", "exdates": "2026-01-02T09:00:00Z"}),
            "exdates",
        ),
        (json!({"attendees": ["not-a-uuid"]}), "attendees"),
        (
            json!({"attendees": ["019a0000-0000-7000-8000-000000000000"]}),
            "attendees",
        ),
    ] {
        let body = with(extra.clone());
        let error = app.as_user(&ann).post(EVENTS, body).await.invalid();
        // An array element that does not parse is named by its path (`attendees[0]`).
        assert!(
            error.fields().iter().any(|f| f.starts_with(field)),
            "{extra}: {:?}",
            error.fields()
        );
    }
    assert!(
        app.as_user(&ann).get_ok(EVENTS).await["items"]
            .as_array()
            .unwrap()
            .is_empty(),
        "nothing was created"
    );
}

#[tokio::test]
async fn instances_are_changed_cancelled_and_split() {
    let (app, ann, series) = with_event_of_ann(
        json!({"title": "Weekly", "start_time": "2026-03-02T09:00:00Z", "end_time": "2026-03-02T10:00:00Z",
               "rrule": "FREQ=WEEKLY;COUNT=6"}),
    )
    .await;
    let sid = series["id"].as_str().unwrap().to_owned();
    let instance = |day: u32| format!("{EVENTS}/{sid}_202603{day:02}T090000Z");
    let range = "from=2026-03-01T00:00:00Z&to=2026-05-01T00:00:00Z";

    // Read one instance; ids of no instance are 404.
    let third = app.as_user(&ann).get_ok(instance(16)).await;
    assert_eq!(third["start_time"], "2026-03-16T09:00:00Z");
    assert_eq!(third["series_id"], sid.as_str());
    let no_instance = ["20260317T090000Z", "20260413T090000Z", "garbage", ""];
    app.as_user(&ann)
        .all_not_found(no_instance.map(|at| Call::get(format!("{EVENTS}/{sid}_{at}"))))
        .await;

    // Move the third instance by two hours and rename it: an override.
    let moved = app
        .as_user(&ann)
        .put_ok(
            instance(16),
            json!({"title": "Moved", "start_time": "2026-03-16T11:00:00Z", "end_time": "2026-03-16T12:00:00Z"}),
        )
        .await;
    assert_eq!(moved["id"], third["id"], "the id stays");
    assert_eq!(moved["original_start"], "2026-03-16T09:00:00Z");
    assert_eq!(app.as_user(&ann).get_ok(instance(16)).await, moved);
    let items = all(&app, &ann, range).await;
    assert_eq!(items.len(), 6);
    assert_eq!(items[2]["title"], "Moved");
    assert_eq!(items[2]["start_time"], "2026-03-16T11:00:00Z");
    assert_eq!(items[3]["title"], "Weekly");
    // A range that holds only the moved time finds it; its old slot is empty.
    let only = all(&app, &ann, "from=2026-03-16T10:30:00Z&to=2026-03-16T11:30:00Z").await;
    assert_eq!(field(&only, "title"), ["Moved"]);
    assert!(
        all(&app, &ann, "from=2026-03-16T09:00:00Z&to=2026-03-16T10:00:00Z")
            .await
            .is_empty()
    );
    // Only per-instance fields; not before the series starts; end after start.
    for (body, field) in [
        (json!({"rrule": "FREQ=DAILY"}), "rrule"),
        (json!({"time_zone": "Europe/Paris"}), "time_zone"),
        (json!({"exdates": []}), "exdates"),
        (json!({"attendees": []}), "attendees"),
        (
            json!({"start_time": "2026-03-01T09:00:00Z", "end_time": "2026-03-01T10:00:00Z"}),
            "start_time",
        ),
        (json!({"end_time": "2026-03-16T10:00:00Z"}), "end_time"),
    ] {
        let error = app.as_user(&ann).put(instance(16), body.clone()).await.invalid();
        assert_eq!(error.fields(), vec![field], "{body}");
    }
    app.as_user(&ann)
        .put(format!("{}?scope=sometimes", instance(16)), json!({"title": "x"}))
        .await
        .invalid();

    // Cancel the second instance: it becomes an exdate.
    app.as_user(&ann).delete_ok(instance(9)).await;
    app.as_user(&ann).get(instance(9)).await.not_found();
    app.as_user(&ann).delete(instance(9)).await.not_found();
    let whole = app.as_user(&ann).get_ok(format!("{EVENTS}/{sid}")).await;
    assert_eq!(whole["exdates"], json!(["2026-03-09T09:00:00Z"]));
    assert_eq!(all(&app, &ann, range).await.len(), 5);

    // This and following from the fifth: the series ends before it; a new one starts there.
    let tail = app
        .as_user(&ann)
        .put_ok(
            format!("{}?scope=following", instance(30)),
            json!({"title": "Weekly, later", "start_time": "2026-03-30T10:00:00Z", "end_time": "2026-03-30T11:00:00Z"}),
        )
        .await;
    assert_ne!(tail["id"], sid.as_str());
    assert_eq!(tail["rrule"], "FREQ=WEEKLY;COUNT=2", "the remaining count");
    let whole = app.as_user(&ann).get_ok(format!("{EVENTS}/{sid}")).await;
    assert_eq!(whole["rrule"], "FREQ=WEEKLY;UNTIL=20260330T085959Z");
    let items = all(&app, &ann, range).await;
    assert_eq!(
        items
            .iter()
            .map(|e| (e["start_time"].as_str().unwrap(), e["title"].as_str().unwrap()))
            .collect::<Vec<_>>(),
        [
            ("2026-03-02T09:00:00Z", "Weekly"),
            ("2026-03-16T11:00:00Z", "Moved"),
            ("2026-03-23T09:00:00Z", "Weekly"),
            ("2026-03-30T10:00:00Z", "Weekly, later"),
            ("2026-04-06T10:00:00Z", "Weekly, later"),
        ]
    );
    // Walked from near a later range, the shortened series stops at its new end.
    let later = all(&app, &ann, "from=2026-03-25T00:00:00Z&to=2026-05-01T00:00:00Z").await;
    assert_eq!(field(&later, "title"), ["Weekly, later", "Weekly, later"]);
    // Delete this and following of the new series from its second instance, then a whole series.
    let tail_id = tail["id"].as_str().unwrap();
    app.as_user(&ann)
        .delete_ok(format!("{EVENTS}/{tail_id}_20260406T100000Z?scope=following"))
        .await;
    assert_eq!(all(&app, &ann, range).await.len(), 4);
    app.as_user(&ann).delete_ok(format!("{EVENTS}/{sid}")).await;
    assert_eq!(field(&all(&app, &ann, range).await, "title"), ["Weekly, later"]);
    app.as_user(&ann).get(instance(16)).await.not_found();

    // Changing a whole series' rule drops its overrides; "" makes it single.
    let other = create(
        &app,
        &ann,
        json!({"title": "O", "start_time": "2026-04-01T09:00:00Z", "end_time": "2026-04-01T10:00:00Z", "rrule": "FREQ=DAILY;COUNT=3"}),
    )
    .await;
    let oid = other["id"].as_str().unwrap();
    let single = app
        .as_user(&ann)
        .put_ok(format!("{EVENTS}/{oid}"), json!({"rrule": ""}))
        .await;
    assert_eq!(single["rrule"], Value::Null);
    assert_eq!(
        all(&app, &ann, "from=2026-04-01T00:00:00Z&to=2026-04-10T00:00:00Z")
            .await
            .len(),
        1
    );
}

/// Parses an iCalendar text with Python's `icalendar` (installed by scripts/test.sh in the tests' virtualenv)
/// and answers its VEVENTs as JSON.
fn parse_with_python(text: &str) -> Value {
    let script = r#"
import json, sys
from icalendar import Calendar
cal = Calendar.from_ical(sys.stdin.read())
def who(p):
    if p is None:
        return None
    out = {"address": str(p), "cn": p.params.get("CN")}
    if "PARTSTAT" in p.params:
        out["partstat"] = p.params.get("PARTSTAT")
    return out
out = []
for ev in cal.walk("VEVENT"):
    def dt(name):
        p = ev.get(name)
        return None if p is None else p.dt.isoformat()
    ex = []
    for e in (ev.get("EXDATE") if isinstance(ev.get("EXDATE"), list) else [ev.get("EXDATE")] if ev.get("EXDATE") else []):
        ex.extend(d.dt.isoformat() for d in e.dts)
    rrule = ev.get("RRULE")
    out.append({
        "uid": str(ev.get("UID")),
        "summary": str(ev.get("SUMMARY")),
        "dtstart": dt("DTSTART"),
        "dtend": dt("DTEND"),
        "tzid": ev.get("DTSTART").params.get("TZID"),
        "rrule": rrule.to_ical().decode() if rrule is not None else None,
        "exdates": ex,
        "recurrence_id": dt("RECURRENCE-ID"),
        "organizer": who(ev.get("ORGANIZER")),
        "attendees": [who(a) for a in (ev.get("ATTENDEE") if isinstance(ev.get("ATTENDEE"), list) else [ev.get("ATTENDEE")] if ev.get("ATTENDEE") else [])],
    })
print(json.dumps(out))
"#;
    python_json(script, text)
}

/// Runs a Python `script` of the tests' virtualenv (which has `icalendar`) with `input` on its standard input,
/// and answers the JSON it prints.
pub(crate) fn python_json(script: &str, text: &str) -> Value {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients/python/.venv/bin/python");
    assert!(
        root.exists(),
        "run ./scripts/test.sh, which creates the test virtualenv with icalendar"
    );
    let mut child = std::process::Command::new(root)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}\n{text}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test]
async fn the_ics_export_writes_rrule_exdate_and_recurrence_id_that_an_independent_parser_reads() {
    let (app, [ann, bob]) = TestApp::with_users(["Ann", "Bob"]).await;
    let series = create(
        &app,
        &ann,
        json!({"title": "Sync, weekly", "start_time": "2026-03-23T09:00:00Z", "end_time": "2026-03-23T09:30:00Z",
               "rrule": "FREQ=WEEKLY;BYDAY=MO;COUNT=4", "time_zone": "Europe/London", "attendees": [bob.id]}),
    )
    .await;
    let sid = series["id"].as_str().unwrap();
    // 30 March is after the change to BST: 09:00 local is 08:00Z.
    app.as_user(&ann)
        .delete_ok(format!("{EVENTS}/{sid}_20260330T080000Z"))
        .await;
    app.as_user(&ann)
        .put_ok(
            format!("{EVENTS}/{sid}_20260406T080000Z"),
            json!({"title": "Sync, moved", "start_time": "2026-04-06T13:00:00Z", "end_time": "2026-04-06T13:30:00Z"}),
        )
        .await;
    create(
        &app,
        &ann,
        json!({"title": "One-off", "start_time": "2026-03-24T09:00:00Z", "end_time": "2026-03-24T10:00:00Z"}),
    )
    .await;

    let text = app.as_user(&ann).get(format!("{EVENTS}.ics")).await.text;
    let events = parse_with_python(&text);
    let events = events.as_array().unwrap();
    assert_eq!(events.len(), 3, "{text}");
    let uid = format!("{sid}@epop");
    let master = events
        .iter()
        .find(|e| e["uid"] == uid.as_str() && e["recurrence_id"].is_null())
        .unwrap();
    assert_eq!(master["rrule"], "FREQ=WEEKLY;COUNT=4;BYDAY=MO");
    assert_eq!(master["tzid"], "Europe/London");
    assert_eq!(master["dtstart"], "2026-03-23T09:00:00+00:00");
    assert_eq!(
        master["exdates"],
        json!(["2026-03-30T09:00:00+01:00"]),
        "local time, in BST"
    );
    assert_eq!(
        master["organizer"],
        json!({"address": "mailto:ann@example.com", "cn": "Ann"})
    );
    assert_eq!(
        master["attendees"],
        json!([{"address": "mailto:bob@example.com", "cn": "Bob", "partstat": "NEEDS-ACTION"}])
    );
    let changed = events
        .iter()
        .find(|e| e["uid"] == uid.as_str() && !e["recurrence_id"].is_null())
        .unwrap();
    assert_eq!(changed["recurrence_id"], "2026-04-06T09:00:00+01:00");
    assert_eq!(changed["summary"], "Sync, moved");
    assert_eq!(changed["dtstart"], "2026-04-06T13:00:00+00:00");
    let single = events.iter().find(|e| e["summary"] == "One-off").unwrap();
    assert_eq!(single["rrule"], Value::Null);
    assert_eq!(single["dtstart"], "2026-03-24T09:00:00+00:00");

    assert_eq!(changed["organizer"], master["organizer"]);
    assert_eq!(changed["attendees"], master["attendees"]);
    assert_eq!(
        single["organizer"],
        json!({"address": "mailto:ann@example.com", "cn": "Ann"})
    );
    assert_eq!(single["attendees"], json!([]));

    // Bob answers (under a name an iCalendar parameter must quote); Bob, invited, exports the same series.
    app.sql(&format!(
        "UPDATE users SET name = 'Bob \"B\", Jr.' WHERE id = '{}'",
        bob.id
    ))
    .await;
    app.as_user(&bob)
        .post_ok(format!("{EVENTS}/{sid}/response"), json!({"status": "accepted"}))
        .await;
    let bobs = parse_with_python(&app.as_user(&bob).get(format!("{EVENTS}.ics")).await.text);
    let bobs = bobs.as_array().unwrap();
    assert_eq!(bobs.len(), 2);
    for event in bobs {
        assert_eq!(
            event["attendees"],
            json!([{"address": "mailto:bob@example.com", "cn": "Bob 'B', Jr.", "partstat": "ACCEPTED"}]),
            "{event}"
        );
        assert_eq!(event["organizer"]["address"], "mailto:ann@example.com");
    }
}

/// Waits until `user` has notifications of every type in `kinds` (created asynchronously from the outbox).
pub(crate) async fn wait_for_kinds(app: &TestApp, user: &TestUser, kinds: &[&str]) -> Vec<Value> {
    let what = format!("notifications {kinds:?}");
    let page = page_when(
        &app.as_user(user),
        "/api/notifications",
        Duration::from_secs(10),
        &what,
        |page| {
            kinds
                .iter()
                .all(|k| elements(&page["items"]).any(|n| n["type"] == *k))
        },
    )
    .await;
    elements(&page["items"]).cloned().collect()
}

#[tokio::test]
async fn attendees_see_answer_and_are_notified_of_invitations_changes_and_cancellations() {
    let (app, [ann, bob, cat, dan]) = TestApp::with_users(["Ann", "Bob", "Cat", "Dan"]).await;
    let event = create(
        &app,
        &ann,
        json!({"title": "Planning", "start_time": "2026-05-04T09:00:00Z", "end_time": "2026-05-04T10:00:00Z",
               "attendees": [bob.id, cat.id, bob.id, ann.id]}),
    )
    .await;
    let id = event["id"].as_str().unwrap().to_owned();
    let path = format!("{EVENTS}/{id}");
    assert_eq!(event["organizer_id"], ann.id.as_str());
    let mut invited: Vec<&str> = field(event["attendees"].as_array().unwrap(), "user_id");
    invited.sort();
    let mut expected = vec![bob.id.as_str(), cat.id.as_str()];
    expected.sort();
    assert_eq!(invited, expected, "no duplicates, not the organiser");
    assert!(elements(&event["attendees"]).all(|a| a["status"] == "needs_action"));

    let notes = wait_for_kinds(&app, &bob, &["calendar_invited"]).await;
    let note = notes.iter().find(|n| n["type"] == "calendar_invited").unwrap();
    assert_eq!(note["payload"]["event_id"], id.as_str());
    assert_eq!(note["payload"]["title"], "Planning");
    assert_eq!(note["payload"]["organizer_id"], ann.id.as_str());

    // Bob sees it in his range and can read it, but not change it; Dan sees nothing.
    let range = "from=2026-05-01T00:00:00Z&to=2026-06-01T00:00:00Z";
    assert_eq!(field(&all(&app, &bob, range).await, "id"), [id.as_str()]);
    app.as_user(&bob).get_ok(&path).await;
    app.as_user(&bob)
        .all_forbidden([Call::put(&path, json!({"title": "Mine"})), Call::delete(&path)])
        .await;
    app.as_user(&dan)
        .all_not_found([Call::get(&path), Call::put(&path, json!({"title": "x"}))])
        .await;
    assert!(all(&app, &dan, range).await.is_empty());

    // Answers.
    let answered = app
        .as_user(&bob)
        .post_ok(format!("{path}/response"), json!({"status": "accepted"}))
        .await;
    let bobs = elements(&answered["attendees"])
        .find(|a| a["user_id"] == bob.id.as_str())
        .unwrap();
    assert_eq!(bobs["status"], "accepted");
    let respond = |body: Value| Call::post(format!("{path}/response"), body);
    app.as_user(&bob)
        .all_invalid([
            respond(json!({"status": "maybe"})).invalid(&["status"]),
            respond(json!({"status": "needs_action"})).invalid(&["status"]),
            respond(json!({})).invalid(&["status"]),
        ])
        .await;
    app.as_user(&ann)
        .all_forbidden([respond(json!({"status": "accepted"}))])
        .await;
    app.as_user(&dan)
        .all_not_found([respond(json!({"status": "accepted"}))])
        .await;

    // A change notifies the attendees; removing one tells them it is cancelled for them.
    app.as_user(&ann)
        .put_ok(&path, json!({"title": "Planning v2"}))
        .await;
    wait_for_kinds(&app, &bob, &["calendar_updated"]).await;
    let after = app
        .as_user(&ann)
        .put_ok(&path, json!({"attendees": [bob.id, dan.id]}))
        .await;
    let still = elements(&after["attendees"])
        .find(|a| a["user_id"] == bob.id.as_str())
        .unwrap();
    assert_eq!(still["status"], "accepted", "answers are kept");
    wait_for_kinds(&app, &cat, &["calendar_invited", "calendar_cancelled"]).await;
    wait_for_kinds(&app, &dan, &["calendar_invited"]).await;
    assert!(all(&app, &cat, range).await.is_empty());
    app.as_user(&cat).get(&path).await.not_found();

    // Deleting the event tells everyone still invited.
    app.as_user(&ann).delete_ok(&path).await;
    wait_for_kinds(&app, &dan, &["calendar_cancelled"]).await;
    assert!(all(&app, &bob, range).await.is_empty());

    // Bad attendee lists on update.
    let other = create(
        &app,
        &ann,
        json!({"title": "x", "start_time": "2026-05-04T09:00:00Z", "end_time": "2026-05-04T10:00:00Z"}),
    )
    .await;
    let other = format!("{EVENTS}/{}", other["id"].as_str().unwrap());
    for body in [
        json!({"attendees": ["nope"]}),
        json!({"attendees": ["019a0000-0000-7000-8000-000000000000"]}),
        json!({"attendees": bob.id}),
    ] {
        let error = app.as_user(&ann).put(&other, body.clone()).await.invalid();
        assert_eq!(error.fields().len(), 1, "{body}");
        assert!(error.fields()[0].starts_with("attendees"), "{body}");
    }
}

#[tokio::test]
async fn free_busy_answers_merged_busy_intervals_without_titles() {
    let (app, [ann, bob, cat]) = TestApp::with_users(["Ann", "Bob", "Cat"]).await;
    create(
        &app,
        &ann,
        json!({"title": "Secret", "start_time": "2026-05-04T09:00:00Z", "end_time": "2026-05-04T10:00:00Z"}),
    )
    .await;
    create(
        &app,
        &ann,
        json!({"title": "Overlap", "start_time": "2026-05-04T09:30:00Z", "end_time": "2026-05-04T11:00:00Z",
               "attendees": [bob.id, cat.id]}),
    )
    .await;
    create(
        &app,
        &ann,
        json!({"title": "Daily", "start_time": "2026-05-01T15:00:00Z", "end_time": "2026-05-01T16:00:00Z",
               "rrule": "FREQ=DAILY;COUNT=10", "exdates": ["2026-05-05T15:00:00Z"]}),
    )
    .await;
    let invite = all(&app, &cat, "from=2026-05-04T00:00:00Z&to=2026-05-05T00:00:00Z").await;
    app.as_user(&cat)
        .post_ok(
            format!("{EVENTS}/{}/response", invite[0]["id"].as_str().unwrap()),
            json!({"status": "declined"}),
        )
        .await;

    let answer = app
        .as_user(&cat)
        .get_ok(format!(
            "/api/calendar/free-busy?users={},{},{}&from=2026-05-04T09:15:00Z&to=2026-05-05T18:00:00Z",
            ann.id, bob.id, cat.id
        ))
        .await;
    let text = answer.to_string();
    assert!(!text.contains("Secret") && !text.contains("Overlap"), "no titles");
    let busy =
        |user: &str| elements(&answer["users"]).find(|u| u["user_id"] == user).unwrap()["busy"].clone();
    assert_eq!(
        busy(&ann.id),
        json!([
            {"start": "2026-05-04T09:15:00Z", "end": "2026-05-04T11:00:00Z"},
            {"start": "2026-05-04T15:00:00Z", "end": "2026-05-04T16:00:00Z"}
        ]),
        "merged, clamped, the excluded day left out"
    );
    assert_eq!(
        busy(&bob.id),
        json!([{"start": "2026-05-04T09:30:00Z", "end": "2026-05-04T11:00:00Z"}])
    );
    assert_eq!(busy(&cat.id), json!([]), "declined is free");

    let many: Vec<String> = (0..21).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    for (query, field) in [
        (
            "from=2026-05-04T00:00:00Z&to=2026-05-05T00:00:00Z".to_owned(),
            "users",
        ),
        (
            "users=&from=2026-05-04T00:00:00Z&to=2026-05-05T00:00:00Z".to_owned(),
            "users",
        ),
        (
            "users=nope&from=2026-05-04T00:00:00Z&to=2026-05-05T00:00:00Z".to_owned(),
            "users",
        ),
        (
            format!(
                "users={}&from=2026-05-04T00:00:00Z&to=2026-05-05T00:00:00Z",
                many.join(",")
            ),
            "users",
        ),
        (format!("users={}&to=2026-05-05T00:00:00Z", ann.id), "from"),
        (format!("users={}&from=2026-05-04T00:00:00Z", ann.id), "to"),
        (
            format!(
                "users={}&from=2026-05-04T00:00:00Z&to=2026-05-03T00:00:00Z",
                ann.id
            ),
            "to",
        ),
        (
            format!(
                "users={}&from=2026-01-01T00:00:00Z&to=2026-05-03T00:00:00Z",
                ann.id
            ),
            "to",
        ),
        (
            format!("users={}&from=yesterday&to=2026-05-03T00:00:00Z", ann.id),
            "from",
        ),
    ] {
        let error = app
            .as_user(&ann)
            .get(format!("/api/calendar/free-busy?{query}"))
            .await
            .invalid();
        assert_eq!(error.fields(), vec![field], "{query}");
    }
    app.anonymous()
        .get(format!("/api/calendar/free-busy?users={}", ann.id))
        .await
        .unauthorized();
}

#[tokio::test]
async fn feeds_are_secret_revocable_and_answer_304_to_a_matching_etag() {
    let (app, [ann, bob]) = TestApp::with_users(["Ann", "Bob"]).await;
    create(
        &app,
        &ann,
        json!({"title": "Feed me", "start_time": "2026-05-04T09:00:00Z", "end_time": "2026-05-04T10:00:00Z",
               "rrule": "FREQ=DAILY;COUNT=2"}),
    )
    .await;
    app.as_user(&ann).delete("/api/calendar-feed").await.not_found();
    let created = app.as_user(&ann).post("/api/calendar-feed", json!({})).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let location = created.header("location").unwrap().to_owned();
    let body = created.json(StatusCode::CREATED);
    let token = body["token"].as_str().unwrap().to_owned();
    assert!(token.len() >= 43, "256 bits");
    assert!(body["url"].as_str().unwrap().ends_with(&location));
    assert_eq!(location, format!("/api/calendar-feed/{token}"));

    // No sign-in needed: the token is the credential.
    let feed = app.anonymous().get(&location).await;
    assert_eq!(feed.status(), StatusCode::OK);
    let etag = feed.header("etag").unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    let text = feed.ok_text("text/calendar").to_owned();
    let events = parse_with_python(&text);
    assert_eq!(events[0]["rrule"], "FREQ=DAILY;COUNT=2");
    let again = app
        .anonymous()
        .header("If-None-Match", etag.clone())
        .get(&location)
        .await;
    again.empty(StatusCode::NOT_MODIFIED);
    assert_eq!(again.header("etag"), Some(etag.as_str()));
    let other = app
        .anonymous()
        .header("If-None-Match", "\"stale\"")
        .get(&location)
        .await;
    assert_eq!(other.status(), StatusCode::OK);
    // A change changes the ETag.
    create(
        &app,
        &ann,
        json!({"title": "New", "start_time": "2026-05-06T09:00:00Z", "end_time": "2026-05-06T10:00:00Z"}),
    )
    .await;
    let changed = app
        .anonymous()
        .header("If-None-Match", etag.clone())
        .get(&location)
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    assert_ne!(changed.header("etag"), Some(etag.as_str()));

    // Bob's feed is his own.
    let bobs = app
        .as_user(&bob)
        .post_created("/api/calendar-feed", json!({}))
        .await;
    let bobs = app
        .anonymous()
        .get(format!("/api/calendar-feed/{}", bobs["token"].as_str().unwrap()))
        .await;
    assert!(!bobs.ok_text("text/calendar").contains("Feed me"));

    // Regenerating revokes the old URL; revoking ends it.
    let fresh = app
        .as_user(&ann)
        .post_created("/api/calendar-feed", json!({}))
        .await;
    app.anonymous().get(&location).await.not_found();
    let fresh = format!("/api/calendar-feed/{}", fresh["token"].as_str().unwrap());
    assert_eq!(app.anonymous().get(&fresh).await.status(), StatusCode::OK);
    app.as_user(&ann).delete_ok("/api/calendar-feed").await;
    app.anonymous().get(&fresh).await.not_found();
    app.anonymous().get("/api/calendar-feed/guess").await.not_found();
    app.anonymous()
        .post("/api/calendar-feed", json!({}))
        .await
        .unauthorized();
}

#[tokio::test]
async fn series_invitation_free_busy_and_feed_routes_are_in_the_openapi_document() {
    let app = TestApp::spawn().await;
    let spec = app.openapi().await;
    for (path, methods) in [
        ("/api/calendar-events/{id}/response", &["post"][..]),
        ("/api/calendar/free-busy", &["get"][..]),
        ("/api/calendar-feed", &["post", "delete"][..]),
        ("/api/calendar-feed/{token}", &["get"][..]),
    ] {
        for method in methods {
            assert_eq!(
                spec["paths"][path][method]["tags"][0], "calendar",
                "{method} {path}"
            );
        }
    }
    let create = &spec["components"]["schemas"]["CreateEventRequest"]["properties"];
    for field in ["rrule", "exdates", "time_zone", "attendees"] {
        assert!(create.get(field).is_some(), "{field}");
    }
}
