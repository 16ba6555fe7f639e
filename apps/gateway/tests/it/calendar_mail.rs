//! docs/api.md, Invitations (e-mail) and Calendar feed: invitation, change and cancellation e-mails carry an
//! iTIP `.ics` (`METHOD:REQUEST` / `METHOD:CANCEL`), read back from a real SMTP server and parsed with Python's
//! `icalendar`; the feed serves the owner's tasks with due dates as `VTODO`s.

use crate::accounts::app_with_mail;
use crate::calendar_series::{python_json, wait_for_kinds};
use crate::projects::{add_member, create_task, id};
use serde_json::{Value, json};

const EVENTS: &str = "/api/calendar-events";
/// Bob's address (the test users' are their lower-case names at example.com).
const BOB: &str = "bob@example.com";

/// The `text/calendar` parts of a received e-mail (as the SMTP server printed it), parsed with `icalendar`.
fn calendar_parts(mail: &str) -> Vec<Value> {
    let script = r#"
import ast, email, json, sys
from icalendar import Calendar
raw = sys.stdin.read()
marker = "MESSAGE FOLLOWS ----------"
if marker in raw:
    raw = raw.split(marker, 1)[1]
lines = []
for line in raw.strip("\r\n").splitlines():
    if line.startswith(("b'", 'b"')):
        line = ast.literal_eval(line).decode("utf-8", "replace")
    lines.append(line)
message = email.message_from_string("\n".join(lines))
out = []
for part in message.walk():
    if part.get_content_type() != "text/calendar":
        continue
    cal = Calendar.from_ical(part.get_payload(decode=True))
    ev = next(iter(cal.walk("VEVENT")))
    rid = ev.get("RECURRENCE-ID")
    out.append({
        "method": str(cal.get("METHOD")),
        "content_method": part.get_param("method"),
        "filename": part.get_filename(),
        "uid": str(ev.get("UID")),
        "summary": str(ev.get("SUMMARY")),
        "dtstart": ev.get("DTSTART").dt.isoformat(),
        "rrule": ev.get("RRULE").to_ical().decode() if ev.get("RRULE") is not None else None,
        "recurrence_id": rid.dt.isoformat() if rid is not None else None,
        "status": str(ev.get("STATUS")) if ev.get("STATUS") is not None else None,
        "sequence": int(ev.get("SEQUENCE", 0)),
        "organizer": {"address": str(ev.get("ORGANIZER")), "cn": ev.get("ORGANIZER").params.get("CN")},
        "attendees": [{"address": str(a), "cn": a.params.get("CN"), "partstat": a.params.get("PARTSTAT")}
                      for a in (ev.get("ATTENDEE") if isinstance(ev.get("ATTENDEE"), list) else [ev.get("ATTENDEE")] if ev.get("ATTENDEE") else [])],
    })
print(json.dumps(out))
"#;
    python_json(script, mail).as_array().unwrap().clone()
}

#[tokio::test]
async fn invitation_change_and_cancellation_e_mails_carry_an_ics_an_independent_parser_reads() {
    let (mut smtp, app) = app_with_mail(&[]).await;
    let [ann, bob] = app.users(["Ann", "Bob"]).await;
    app.sql("UPDATE users SET email_verified = true").await;
    let series = app
        .as_user(&ann)
        .post_created(
            EVENTS,
            json!({"title": "Planning", "start_time": "2030-05-06T09:00:00Z", "end_time": "2030-05-06T10:00:00Z",
                   "rrule": "FREQ=WEEKLY;COUNT=4", "time_zone": "Europe/London", "attendees": [bob.id]}),
        )
        .await;
    let sid = series["id"].as_str().unwrap().to_owned();
    let uid = format!("{sid}@epop");

    let invite = calendar_parts(&smtp.next_mail_to(BOB, "Invitation: Planning").await);
    assert_eq!(invite.len(), 1, "one calendar part");
    let invite = &invite[0];
    assert_eq!(invite["method"], "REQUEST");
    assert_eq!(invite["content_method"], "REQUEST");
    assert_eq!(invite["filename"], "invite.ics");
    assert_eq!(invite["uid"], uid.as_str());
    assert_eq!(invite["summary"], "Planning");
    assert_eq!(
        invite["dtstart"], "2030-05-06T10:00:00+01:00",
        "local time in its zone"
    );
    assert_eq!(invite["rrule"], "FREQ=WEEKLY;COUNT=4");
    assert_eq!(
        invite["organizer"],
        json!({"address": "mailto:ann@example.com", "cn": "Ann"}),
        "calendar apps need the organiser's address to send answers to"
    );
    assert_eq!(
        invite["attendees"],
        json!([{"address": "mailto:bob@example.com", "cn": "Bob", "partstat": "NEEDS-ACTION"}])
    );

    // Bob accepts: later messages carry his answer.
    app.as_user(&bob)
        .post_ok(format!("{EVENTS}/{sid}/response"), json!({"status": "accepted"}))
        .await;

    // One instance moved: a REQUEST about that instance, with a higher SEQUENCE.
    app.as_user(&ann)
        .put_ok(
            format!("{EVENTS}/{sid}_20300513T090000Z"),
            json!({"start_time": "2030-05-13T13:00:00Z", "end_time": "2030-05-13T14:00:00Z"}),
        )
        .await;
    let change = calendar_parts(&smtp.next_mail_to(BOB, "Updated: Planning").await);
    assert_eq!(change[0]["method"], "REQUEST");
    assert_eq!(change[0]["uid"], uid.as_str());
    assert_eq!(change[0]["recurrence_id"], "2030-05-13T10:00:00+01:00");
    assert_eq!(change[0]["dtstart"], "2030-05-13T13:00:00+00:00");
    assert!(change[0]["sequence"].as_i64().unwrap() >= invite["sequence"].as_i64().unwrap());
    assert_eq!(change[0]["attendees"][0]["partstat"], "ACCEPTED");

    // The series is deleted: a CANCEL.
    app.as_user(&ann).delete_ok(format!("{EVENTS}/{sid}")).await;
    let cancel = calendar_parts(&smtp.next_mail_to(BOB, "Cancelled: Planning").await);
    assert_eq!(cancel[0]["method"], "CANCEL");
    assert_eq!(cancel[0]["content_method"], "CANCEL");
    assert_eq!(cancel[0]["filename"], "cancel.ics");
    assert_eq!(cancel[0]["uid"], uid.as_str());
    assert_eq!(cancel[0]["status"], "CANCELLED");
}

#[tokio::test]
async fn a_split_series_is_announced_to_the_original_attendees_as_both_halves() {
    let (mut smtp, app) = app_with_mail(&[]).await;
    let [ann, bob] = app.users(["Ann", "Bob"]).await;
    app.sql("UPDATE users SET email_verified = true").await;
    let series = app
        .as_user(&ann)
        .post_created(
            EVENTS,
            json!({"title": "Planning", "start_time": "2030-05-06T09:00:00Z", "end_time": "2030-05-06T10:00:00Z",
                   "rrule": "FREQ=WEEKLY;COUNT=6", "time_zone": "Europe/London", "attendees": [bob.id]}),
        )
        .await;
    let sid = series["id"].as_str().unwrap().to_owned();
    smtp.next_mail_to(BOB, "Invitation: Planning").await;

    // This and following from the third instance, moved to the afternoon and renamed.
    let tail = app
        .as_user(&ann)
        .put_ok(
            format!("{EVENTS}/{sid}_20300520T090000Z?scope=following"),
            json!({"title": "Planning, later", "start_time": "2030-05-20T13:00:00Z", "end_time": "2030-05-20T14:00:00Z"}),
        )
        .await;
    let tail_id = tail["id"].as_str().unwrap().to_owned();

    // Two REQUESTs reach Bob, whichever comes first: the original series (same UID), now ending before the
    // 20th, and the new series from the 20th on.
    let mut parts = Vec::new();
    for _ in 0..2 {
        parts.extend(calendar_parts(&smtp.next_mail_to(BOB, "Updated: Planning").await));
    }
    parts.sort_by_key(|p| p["summary"].as_str().unwrap().to_owned());
    let [head, rest] = [&parts[0], &parts[1]];
    assert_eq!(head["method"], "REQUEST");
    assert_eq!(head["uid"], format!("{sid}@epop").as_str());
    assert_eq!(head["summary"], "Planning");
    assert_eq!(head["recurrence_id"], Value::Null, "the whole series");
    assert_eq!(head["dtstart"], "2030-05-06T10:00:00+01:00");
    assert_eq!(head["rrule"], "FREQ=WEEKLY;UNTIL=20300520T085959Z");
    assert_eq!(rest["method"], "REQUEST");
    assert_eq!(rest["uid"], format!("{tail_id}@epop").as_str());
    assert_eq!(rest["summary"], "Planning, later");
    assert_eq!(rest["dtstart"], "2030-05-20T14:00:00+01:00");
    assert_eq!(rest["rrule"], "FREQ=WEEKLY;COUNT=4");
    for part in [head, rest] {
        assert_eq!(
            part["attendees"],
            json!([{"address": "mailto:bob@example.com", "cn": "Bob", "partstat": "NEEDS-ACTION"}])
        );
    }

    // In the app too: one `calendar_updated` per half.
    let notes = wait_for_kinds(&app, &bob, &["calendar_updated"]).await;
    let mut updated: Vec<&str> = notes
        .iter()
        .filter(|n| n["type"] == "calendar_updated")
        .map(|n| n["payload"]["event_id"].as_str().unwrap())
        .collect();
    updated.sort_unstable();
    let mut expected = vec![sid.as_str(), tail_id.as_str()];
    expected.sort_unstable();
    assert_eq!(updated, expected);
}

#[tokio::test]
async fn the_feed_serves_the_owners_tasks_with_due_dates_as_todos() {
    let (_smtp, app) = app_with_mail(&[]).await;
    let [ann, bob] = app.users(["Ann", "Bob"]).await;
    let project = id(&app
        .as_user(&ann)
        .post_created("/api/projects", json!({"name": "Apollo"}))
        .await);
    add_member(&app, &project, &ann, &bob, "member").await;
    let due = id(&create_task(
        &app,
        &project,
        &ann,
        json!({"title": "Report", "description": "Q2", "assigned_to": bob.id, "due_date": "2030-05-06T17:00:00Z",
               "status": "in_progress"}),
    )
    .await);
    // Not Bob's, or without a due date: not in his feed.
    create_task(
        &app,
        &project,
        &ann,
        json!({"title": "Undated", "assigned_to": bob.id}),
    )
    .await;
    create_task(
        &app,
        &project,
        &ann,
        json!({"title": "Ann's", "assigned_to": ann.id, "due_date": "2030-05-06T17:00:00Z"}),
    )
    .await;
    app.as_user(&bob)
        .post_created(
            EVENTS,
            json!({"title": "Review", "start_time": "2030-05-06T09:00:00Z", "end_time": "2030-05-06T10:00:00Z"}),
        )
        .await;
    let feed = app
        .as_user(&bob)
        .post_created("/api/calendar-feed", json!({}))
        .await;
    let path = format!("/api/calendar-feed/{}", feed["token"].as_str().unwrap());
    let answer = app.anonymous().get(&path).await;
    let text = answer.ok_text("text/calendar").to_owned();
    let etag = answer.header("etag").unwrap().to_owned();
    let script = r#"
import json, sys
from icalendar import Calendar
cal = Calendar.from_ical(sys.stdin.read())
print(json.dumps({
    "events": [str(e.get("SUMMARY")) for e in cal.walk("VEVENT")],
    "todos": [{"uid": str(t.get("UID")), "summary": str(t.get("SUMMARY")), "description": str(t.get("DESCRIPTION")),
               "due": t.get("DUE").dt.isoformat(), "status": str(t.get("STATUS"))} for t in cal.walk("VTODO")],
}))
"#;
    let parsed = python_json(script, &text);
    assert_eq!(parsed["events"], json!(["Review"]));
    assert_eq!(
        parsed["todos"],
        json!([{"uid": format!("{due}@epop"), "summary": "Report", "description": "Q2",
                "due": "2030-05-06T17:00:00+00:00", "status": "IN-PROCESS"}])
    );
    // Completing the task changes the feed (a new ETag), and it shows as completed.
    app.as_user(&bob)
        .put_ok(format!("/api/tasks/{due}"), json!({"status": "done"}))
        .await;
    let after = app.anonymous().get(&path).await;
    assert_ne!(after.header("etag").unwrap(), etag);
    let parsed = python_json(script, after.ok_text("text/calendar"));
    assert_eq!(parsed["todos"][0]["status"], "COMPLETED");
}
