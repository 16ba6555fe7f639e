//! `epop-calendar` on its own: a weekly meeting across a daylight-saving change, an invitation, a range query,
//! free/busy and an iCalendar export, against a PostgreSQL database, with no HTTP server.
//!
//! ```text
//! DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/epop_example cargo run -p epop-calendar --example schedule
//! ```
//!
//! Applies EPOP's migrations, adds two people to the `users` directory, and then: Ann organises a weekly
//! Monday 09:00 (Europe/Berlin) meeting over the end of March, when Berlin moves to summer time, and invites
//! Bob; Bob sees each instance at 09:00 Berlin time (08:00 UTC before the change, 07:00 UTC after), both are
//! busy then, and the series exports as one RFC 5545 calendar.

use chrono::{DateTime, TimeZone as _, Utc};
use epop_calendar::{CalendarService, NewEvent, TimeRange};
use epop_core::clock::SystemClock;
use epop_core::id::UserId;
use epop_core::page::PageRequest;
use epop_storage::events::OutboxNotifier;
use std::sync::Arc;

fn utc(year: i32, month: u32, day: u32, hour: u32) -> anyhow::Result<DateTime<Utc>> {
    Utc.with_ymd_and_hms(year, month, day, hour, 0, 0)
        .single()
        .ok_or_else(|| anyhow::anyhow!("not a time"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = std::env::var("DATABASE_URL")
        .map_err(|_| anyhow::anyhow!("set DATABASE_URL to a PostgreSQL database the example may migrate"))?;
    epop_storage::migrate::run_pending(&url).await?;
    let pool = epop_storage::db::build_pool(&url, 4)?;
    let ann = UserId::from(epop_test_support::add_person(&pool, "Ann").await?);
    let bob = UserId::from(epop_test_support::add_person(&pool, "Bob").await?);
    let calendar = CalendarService::new(pool, Arc::new(SystemClock), OutboxNotifier::default());

    // Monday 16 March 2026, 09:00 in Berlin (08:00 UTC), weekly, four times.
    let series = calendar
        .create(
            ann,
            &NewEvent {
                title: "Weekly planning".into(),
                description: "What ships this week".into(),
                start_time: utc(2026, 3, 16, 8)?,
                end_time: utc(2026, 3, 16, 9)?,
                rrule: Some("FREQ=WEEKLY;COUNT=4".into()),
                exdates: Vec::new(),
                time_zone: Some("Europe/Berlin".into()),
                attendees: vec![bob],
            },
        )
        .await?;
    println!("series {} created", series.id);

    let march = TimeRange {
        from: Some(utc(2026, 3, 1, 0)?),
        to: Some(utc(2026, 5, 1, 0)?),
    };
    let page = calendar.events(bob, &march, &PageRequest::default()).await?;
    for instance in &page.items {
        println!(
            "  {} at {} UTC",
            instance.title,
            instance.start_time.format("%a %d %b %H:%M")
        );
    }

    let busy = calendar.free_busy(&[ann, bob], &march).await?;
    for person in &busy {
        println!("{} is busy {} times", person.user_id, person.busy.len());
    }
    let ics = calendar.export_ics(bob, &march).await?;
    println!(
        "iCalendar export: {} lines, {} event(s)",
        ics.lines().count(),
        ics.matches("BEGIN:VEVENT").count()
    );
    Ok(())
}
