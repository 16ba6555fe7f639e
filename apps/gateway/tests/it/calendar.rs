//! docs/api.md, Calendar: owners only, `end_time` after
//! `start_time` (also against stored values on a partial `PUT`), half-open ranges, paging by start time, and
//! the `.ics` export.

use crate::client::Call;
use crate::helpers::{TestApp, TestUser, failing_fields, json_of, pluck, problem};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeSet;

const EVENTS: &str = "/api/calendar-events";

/// `2026-03-02T{hh}:{mm}:00Z`.
fn at(hh: u32, mm: u32) -> String {
    format!("2026-03-02T{hh:02}:{mm:02}:00Z")
}

/// Creates an event from `start` to `end` and returns it.
async fn create_event(app: &TestApp, user: &TestUser, title: &str, start: &str, end: &str) -> Value {
    let body = json!({"title": title, "start_time": start, "end_time": end});
    app.as_user(user).post_created(EVENTS, body).await
}

fn titles(page: &Value) -> Vec<String> {
    pluck(page, "title")
}

async fn list_titles(app: &TestApp, user: &TestUser, query: &str) -> Vec<String> {
    let page = app.as_user(user).get_ok(&format!("{EVENTS}?{query}")).await;
    assert_eq!(page["next_cursor"], Value::Null);
    titles(&page)
}

/// The content lines of an iCalendar text, unfolded (RFC 5545 section 3.1), checking CRLF line ends.
fn ics_lines(text: &str) -> Vec<String> {
    assert!(text.ends_with("\r\n"), "lines end with CRLF");
    let mut lines: Vec<String> = Vec::new();
    for raw in text.split("\r\n").filter(|l| !l.is_empty()) {
        assert!(!raw.contains('\n'), "bare LF in {raw:?}");
        assert!(raw.len() <= 75, "unfolded line {raw:?}");
        match raw.strip_prefix(' ').or_else(|| raw.strip_prefix('\t')) {
            Some(rest) => lines
                .last_mut()
                .expect("continuation without a line")
                .push_str(rest),
            None => lines.push(raw.to_owned()),
        }
    }
    lines
}

/// The VEVENTs of an iCalendar text as property maps, checking the `VCALENDAR` structure.
fn vevents(text: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    let lines = ics_lines(text);
    assert_eq!(lines.first().map(String::as_str), Some("BEGIN:VCALENDAR"));
    assert_eq!(lines.last().map(String::as_str), Some("END:VCALENDAR"));
    assert!(lines.iter().any(|l| l == "VERSION:2.0"));
    assert!(lines.iter().any(|l| l.starts_with("PRODID:")));
    let mut events = Vec::new();
    let mut current: Option<std::collections::BTreeMap<String, String>> = None;
    for line in &lines[1..lines.len() - 1] {
        let (name, value) = line.split_once(':').expect("NAME:value");
        match (name, current.as_mut()) {
            ("BEGIN", None) => {
                assert_eq!(value, "VEVENT");
                current = Some(Default::default());
            }
            ("END", Some(_)) => {
                assert_eq!(value, "VEVENT");
                events.extend(current.take());
            }
            (_, Some(props)) => {
                assert!(
                    props.insert(name.to_owned(), value.to_owned()).is_none(),
                    "{name} twice"
                );
            }
            (_, None) => {}
        }
    }
    assert!(current.is_none(), "unterminated VEVENT");
    events
}

#[tokio::test]
async fn calendar_events_are_created_read_updated_and_deleted() {
    let (app, [ann]) = TestApp::with_users(["Ann"]).await;
    let body = json!({"title": "Design review", "description": "Bring the mock-ups", "start_time": at(9, 0), "end_time": "2026-03-02T11:30:00+01:00"});
    let created = app.as_user(&ann).post(EVENTS, body).await;
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let event = json_of(created, StatusCode::CREATED).await;
    let id = event["id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("{EVENTS}/{id}"));
    // The contract's fields, plus the recurrence and invitation fields added since (issue 15).
    let keys: BTreeSet<&str> = event.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            "id",
            "title",
            "description",
            "start_time",
            "end_time",
            "created_at",
            "updated_at",
            "rrule",
            "exdates",
            "time_zone",
            "series_id",
            "original_start",
            "organizer_id",
            "attendees"
        ])
    );
    assert_eq!(
        (
            &event["rrule"],
            &event["exdates"],
            &event["time_zone"],
            &event["attendees"]
        ),
        (&Value::Null, &json!([]), &json!("UTC"), &json!([]))
    );
    assert_eq!(event["title"], "Design review");
    assert_eq!(event["description"], "Bring the mock-ups");
    assert_eq!(event["start_time"], at(9, 0));
    assert_eq!(event["end_time"], at(10, 30), "stored and answered in UTC");
    assert_eq!(event["created_at"], event["updated_at"]);

    assert_eq!(app.as_user(&ann).get_ok(&location).await, event);

    // A partial update changes only what it names.
    let updated = app
        .as_user(&ann)
        .put_ok(&location, json!({"title": "Final review"}))
        .await;
    assert_eq!(updated["title"], "Final review");
    for same in ["id", "description", "start_time", "end_time", "created_at"] {
        assert_eq!(updated[same], event[same], "{same}");
    }
    let time = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    assert!(time(&updated["updated_at"]) >= time(&event["updated_at"]));
    let moved = app
        .as_user(&ann)
        .put_ok(
            &location,
            json!({"start_time": at(13, 0), "end_time": at(14, 0), "description": ""}),
        )
        .await;
    assert_eq!(
        (
            &moved["title"],
            &moved["description"],
            &moved["start_time"],
            &moved["end_time"]
        ),
        (
            &json!("Final review"),
            &json!(""),
            &json!(at(13, 0)),
            &json!(at(14, 0))
        )
    );
    assert_eq!(app.as_user(&ann).get_ok(&location).await, moved);

    // Without a description, it is empty.
    let plain = create_event(&app, &ann, "Lunch", &at(12, 0), &at(13, 0)).await;
    assert_eq!(plain["description"], "");

    app.as_user(&ann).delete_ok(&location).await;
    app.as_user(&ann)
        .all_not_found([
            Call::get(&location),
            Call::delete(&location),
            Call::put(&location, json!({"title": "x"})),
        ])
        .await;
    assert_eq!(list_titles(&app, &ann, "").await, vec!["Lunch"]);
}

#[tokio::test]
async fn end_time_must_follow_start_time_also_against_stored_values() {
    let (app, [ann]) = TestApp::with_users(["Ann"]).await;
    for end in [at(9, 0), at(8, 59)] {
        let body = json!({"title": "t", "start_time": at(9, 0), "end_time": end});
        app.as_user(&ann)
            .post(EVENTS, body)
            .await
            .invalid_fields(&["end_time"]);
    }
    // Every failing field is listed.
    let error = app
        .as_user(&ann)
        .post(EVENTS, json!({"description": "x"}))
        .await
        .invalid();
    let fields: BTreeSet<&str> = error.fields().into_iter().collect();
    assert_eq!(fields, BTreeSet::from(["title", "start_time", "end_time"]));
    let body =
        json!({"title": "", "description": "d".repeat(10_001), "start_time": at(9, 0), "end_time": at(8, 0)});
    let error = app.as_user(&ann).post(EVENTS, body).await.invalid();
    let fields: BTreeSet<&str> = error.fields().into_iter().collect();
    assert_eq!(fields, BTreeSet::from(["title", "description", "end_time"]));
    for (body, field) in [
        (
            json!({"title": "é".repeat(201), "start_time": at(9, 0), "end_time": at(10, 0)}),
            "title",
        ),
        (
            json!({"title": "t", "start_time": "tomorrow", "end_time": at(10, 0)}),
            "start_time",
        ),
        (
            json!({"title": "t", "start_time": at(9, 0), "end_time": 5}),
            "end_time",
        ),
        (
            json!({"title": "t\u{0}", "start_time": at(9, 0), "end_time": at(10, 0)}),
            "title",
        ),
        (
            json!({"title": "t", "start_time": "+10000-01-01T00:00:00Z", "end_time": "+10000-01-02T00:00:00Z"}),
            "start_time",
        ),
    ] {
        let error = problem(
            app.as_user(&ann).post(EVENTS, body.clone()).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert!(
            failing_fields(&error).contains(&field.to_owned()),
            "{body}: {error}"
        );
    }
    let longest = json!({"title": "é".repeat(200), "description": "d".repeat(10_000), "start_time": at(9, 0), "end_time": at(10, 0)});
    app.as_user(&ann).post_created(EVENTS, longest).await;

    // Partial updates are checked against the stored times.
    let stored = create_event(&app, &ann, "Stand-up", &at(9, 0), &at(10, 0)).await;
    let path = format!("{EVENTS}/{}", stored["id"].as_str().unwrap());
    for body in [
        json!({"end_time": at(9, 0)}),
        json!({"end_time": at(8, 0)}),
        json!({"start_time": at(10, 0)}),
        json!({"start_time": at(11, 0)}),
        json!({"start_time": at(12, 0), "end_time": at(11, 0)}),
    ] {
        let error = app.as_user(&ann).put(&path, body.clone()).await.invalid();
        assert_eq!(error.fields(), vec!["end_time"], "{body}");
    }
    for (body, field) in [
        (json!({"title": ""}), "title"),
        (json!({"start_time": "noon"}), "start_time"),
    ] {
        app.as_user(&ann).put(&path, body).await.invalid_fields(&[field]);
    }
    assert_eq!(app.as_user(&ann).get_ok(&path).await, stored, "unchanged");
    // Moving the end first, then the start past the old end, is fine.
    app.as_user(&ann).put(&path, json!({"end_time": at(12, 0)})).await;
    let moved = app
        .as_user(&ann)
        .put_ok(&path, json!({"start_time": at(11, 0)}))
        .await;
    assert_eq!(
        (&moved["start_time"], &moved["end_time"]),
        (&json!(at(11, 0)), &json!(at(12, 0)))
    );
    // An empty update answers the event as it is.
    let same = app.as_user(&ann).put_ok(&path, json!({})).await;
    assert_eq!(same, moved);
}

#[tokio::test]
async fn other_users_events_are_not_found_on_every_route() {
    let (app, [ann, bob]) = TestApp::with_users(["Ann", "Bob"]).await;
    let secret = create_event(&app, &ann, "Secret", &at(9, 0), &at(10, 0)).await;
    let path = format!("{EVENTS}/{}", secret["id"].as_str().unwrap());

    app.as_user(&bob).get(&path).await.not_found();
    app.as_user(&bob)
        .put(&path, json!({"title": "Mine"}))
        .await
        .not_found();
    // Even an invalid change answers 404: the event's existence is not revealed.
    app.as_user(&bob)
        .put(&path, json!({"end_time": at(0, 0)}))
        .await
        .not_found();
    app.as_user(&bob).delete(&path).await.not_found();
    assert!(list_titles(&app, &bob, "").await.is_empty());
    let ics = app.as_user(&bob).get(&format!("{EVENTS}.ics")).await.text;
    assert!(vevents(&ics).is_empty(), "{ics}");

    assert_eq!(app.as_user(&ann).get_ok(&path).await, secret);
    assert_eq!(list_titles(&app, &ann, "").await, vec!["Secret"]);

    // Malformed ids and unauthenticated callers.
    for bad in ["not-a-uuid", "123", "x.ics"] {
        app.as_user(&ann)
            .get(&format!("{EVENTS}/{bad}"))
            .await
            .not_found();
    }
    for path in [EVENTS.to_owned(), path.clone(), format!("{EVENTS}.ics")] {
        let response = app.anonymous().get(&path).await;
        problem(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
}

#[tokio::test]
async fn ranges_are_half_open_and_either_bound_is_optional() {
    let (app, [ann]) = TestApp::with_users(["Ann"]).await;
    // Created out of order; listed by start time.
    create_event(&app, &ann, "C 10-11", &at(10, 0), &at(11, 0)).await;
    create_event(&app, &ann, "A 08-09", &at(8, 0), &at(9, 0)).await;
    create_event(&app, &ann, "D 07-12", &at(7, 0), &at(12, 0)).await;
    create_event(&app, &ann, "B 09-10", &at(9, 0), &at(10, 0)).await;

    assert_eq!(
        list_titles(&app, &ann, "").await,
        vec!["D 07-12", "A 08-09", "B 09-10", "C 10-11"]
    );
    // A ends exactly at `from` and C starts exactly at `to`: both out.
    assert_eq!(
        list_titles(&app, &ann, &format!("from={}&to={}", at(9, 0), at(10, 0))).await,
        vec!["D 07-12", "B 09-10"]
    );
    assert_eq!(
        list_titles(&app, &ann, &format!("from={}", at(10, 0))).await,
        vec!["D 07-12", "C 10-11"]
    );
    assert_eq!(
        list_titles(&app, &ann, &format!("to={}", at(9, 0))).await,
        vec!["D 07-12", "A 08-09"]
    );
    assert_eq!(
        list_titles(&app, &ann, &format!("from={}&to={}", at(8, 30), at(9, 0))).await,
        vec!["D 07-12", "A 08-09"]
    );
    // One instant (`from = to`): the events running then.
    assert_eq!(
        list_titles(&app, &ann, &format!("from={}&to={}", at(9, 30), at(9, 30))).await,
        vec!["D 07-12", "B 09-10"]
    );
    assert!(
        list_titles(&app, &ann, &format!("from={}", at(12, 0)))
            .await
            .is_empty()
    );
    assert!(
        list_titles(&app, &ann, &format!("to={}", at(7, 0)))
            .await
            .is_empty()
    );
    // An offset is honoured (percent-encoded `+`).
    assert_eq!(
        list_titles(
            &app,
            &ann,
            "from=2026-03-02T12:00:00%2B02:00&to=2026-03-02T12:30:00%2B02:00"
        )
        .await,
        vec!["D 07-12", "C 10-11"]
    );

    for (query, field) in [
        ("from=yesterday".to_owned(), "from"),
        ("to=2026-03-02".to_owned(), "to"),
        (format!("from={}&to={}", at(10, 0), at(9, 0)), "to"),
        ("limit=0".to_owned(), "limit"),
        ("limit=101".to_owned(), "limit"),
        ("limit=abc".to_owned(), "limit"),
    ] {
        let error = app
            .as_user(&ann)
            .get(&format!("{EVENTS}?{query}"))
            .await
            .invalid();
        assert_eq!(error.fields(), vec![field], "{query}");
    }
}

#[tokio::test]
async fn pages_follow_start_time_without_repeats() {
    let (app, [ann]) = TestApp::with_users(["Ann"]).await;
    let mut expected = Vec::new();
    for (i, hour) in [5, 1, 3, 3, 0, 6, 3, 2].into_iter().enumerate() {
        let created = create_event(&app, &ann, &format!("e{i}"), &at(hour, 0), &at(hour, 30)).await;
        expected.push((hour, created["id"].as_str().unwrap().to_owned()));
    }
    expected.sort(); // by start, then id
    let default = app.as_user(&ann).get_ok(EVENTS).await;
    assert_eq!(default["items"].as_array().unwrap().len(), 8, "default limit 50");
    assert_eq!(default["next_cursor"], Value::Null);

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            None => format!("{EVENTS}?limit=3"),
            Some(c) => format!("{EVENTS}?limit=3&cursor={c}"),
        };
        let page = app.as_user(&ann).get_ok(&path).await;
        pages += 1;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        seen.extend(items.iter().map(|e| e["id"].as_str().unwrap().to_owned()));
        if pages == 1 {
            // Added after the first page: not part of this walk, wherever it sorts.
            create_event(&app, &ann, "late", &at(23, 0), &at(23, 30)).await;
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let expected_ids: Vec<String> = expected.into_iter().map(|(_, id)| id).collect();
    assert_eq!(seen, expected_ids, "every event once, by start then id");
    // A new walk sees the late event.
    assert_eq!(
        list_titles(&app, &ann, "").await.last().map(String::as_str),
        Some("late")
    );

    // Ranges page too.
    let page = app
        .as_user(&ann)
        .get_ok(&format!("{EVENTS}?limit=2&from={}&to={}", at(2, 0), at(4, 0)))
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let next = page["next_cursor"].as_str().unwrap();
    let rest = app
        .as_user(&ann)
        .get_ok(&format!(
            "{EVENTS}?limit=2&from={}&to={}&cursor={next}",
            at(2, 0),
            at(4, 0)
        ))
        .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 2);
    assert_eq!(rest["next_cursor"], Value::Null);

    let long = "a".repeat(4000);
    for bad in ["garbage", "eyJ4IjoxfQ", "%25%25", &long] {
        app.as_user(&ann)
            .get(&format!("{EVENTS}?cursor={bad}"))
            .await
            .problem(StatusCode::BAD_REQUEST, "bad_request");
    }
}

#[tokio::test]
async fn the_ics_export_is_rfc_5545_and_respects_the_range() {
    let (app, [ann, bob]) = TestApp::with_users(["Ann", "Bob"]).await;
    let body = json!({"title": "Review, final; v2", "description": "Line one\nline two", "start_time": at(9, 0), "end_time": "2026-03-02T11:00:00+01:00"});
    let review = app.as_user(&ann).post_created(EVENTS, body).await;
    let early = create_event(&app, &ann, "Early", &at(7, 0), &at(8, 0)).await;
    let late = create_event(&app, &ann, "Late", &at(20, 0), &at(21, 0)).await;
    create_event(&app, &bob, "Bob's", &at(9, 0), &at(10, 0)).await;

    let response = app.as_user(&ann).get(&format!("{EVENTS}.ics")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "text/calendar; charset=utf-8"
    );
    let text = response.text;
    let events = vevents(&text);
    assert_eq!(events.len(), 3, "{text}");
    let uids: Vec<&str> = events.iter().map(|e| e["UID"].as_str()).collect();
    assert_eq!(
        uids,
        [&early, &review, &late]
            .iter()
            .map(|e| format!("{}@epop", e["id"].as_str().unwrap()))
            .collect::<Vec<_>>(),
        "by start time"
    );
    let review_ics = &events[1];
    assert_eq!(review_ics["DTSTART"], "20260302T090000Z");
    assert_eq!(review_ics["DTEND"], "20260302T100000Z");
    assert_eq!(review_ics["SUMMARY"], "Review\\, final\\; v2");
    assert_eq!(review_ics["DESCRIPTION"], "Line one\\nline two");
    for event in &events {
        assert!(event["DTSTAMP"].ends_with('Z'), "{event:?}");
        assert!(event["DTSTART"].ends_with('Z') && event["DTEND"].ends_with('Z'));
        assert_eq!(event["DTSTART"].len(), "20260302T090000Z".len());
    }
    assert!(
        !events[0].contains_key("DESCRIPTION"),
        "empty descriptions are left out"
    );

    // The same range as the list: half-open.
    let ranged = app
        .as_user(&ann)
        .get(&format!("{EVENTS}.ics?from={}&to={}", at(8, 0), at(20, 0)))
        .await
        .text;
    let events = vevents(&ranged);
    assert_eq!(events.len(), 1, "{ranged}");
    assert_eq!(events[0]["SUMMARY"], "Review\\, final\\; v2");
    let only_to = vevents(
        &app.as_user(&ann)
            .get(&format!("{EVENTS}.ics?to={}", at(9, 0)))
            .await
            .text,
    );
    assert_eq!(only_to.len(), 1);
    assert_eq!(only_to[0]["SUMMARY"], "Early");

    for (query, field) in [
        ("from=soon", "from"),
        ("from=2026-03-02T10:00:00Z&to=2026-03-02T09:00:00Z", "to"),
    ] {
        app.as_user(&ann)
            .get(&format!("{EVENTS}.ics?{query}"))
            .await
            .invalid_fields(&[field]);
    }
}

#[tokio::test]
async fn calendar_routes_are_in_the_openapi_document() {
    let app = TestApp::spawn().await;
    let spec = app.openapi().await;
    for (path, methods) in [
        (EVENTS, &["get", "post"][..]),
        ("/api/calendar-events/{id}", &["get", "put", "delete"][..]),
        ("/api/calendar-events.ics", &["get"][..]),
    ] {
        for method in methods {
            assert_eq!(
                spec["paths"][path][method]["tags"][0], "calendar",
                "{method} {path}"
            );
        }
    }
}
