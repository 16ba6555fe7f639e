//! `epop-notifications` on its own: a person's do-not-disturb schedule in their time zone, and their
//! notifications, against a PostgreSQL database, with no HTTP server.
//!
//! ```text
//! DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/epop_example cargo run -p epop-notifications --example do_not_disturb
//! ```
//!
//! Applies EPOP's migrations, adds someone to the `users` directory, gives them quiet hours on every day of the
//! week in Asia/Tokyo (the window that holds the present moment among them), and shows that do-not-disturb is
//! on now and when it ends (the instant e-mail and Web Push wait for); a bad time zone is refused naming the
//! field; then their notifications are listed and marked read.

use chrono::{Datelike as _, Duration, NaiveTime, Timelike as _, Utc};
use epop_core::id::UserId;
use epop_core::page::PageRequest;
use epop_notifications::NotificationsError;
use epop_notifications::NotificationsService;
use epop_notifications::dnd::DndWindow;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = std::env::var("DATABASE_URL")
        .map_err(|_| anyhow::anyhow!("set DATABASE_URL to a PostgreSQL database the example may migrate"))?;
    epop_storage::migrate::run_pending(&url).await?;
    let pool = epop_storage::db::build_pool(&url, 4)?;
    let kenji = UserId::from(epop_test_support::add_person(&pool, "Kenji").await?);
    let notifications = NotificationsService::new(pool);

    // Quiet from the start of this hour in Tokyo until two hours later, every day.
    let tokyo_now = Utc::now().with_timezone(&chrono_tz::Asia::Tokyo);
    let start = NaiveTime::from_hms_opt(tokyo_now.hour(), 0, 0).unwrap_or_default();
    let end = start + Duration::hours(2);
    let today = tokyo_now.weekday();
    let week: Vec<DndWindow> = (0..7)
        .map(|n| DndWindow {
            day: (0..n).fold(today, |day, _| day.succ()),
            start,
            end,
        })
        .collect();
    let settings = notifications
        .set_settings(kenji, "Asia/Tokyo", week.clone(), None)
        .await?;
    println!(
        "quiet {start}-{end} Tokyo time: on now {}, ends at {:?} (UTC)",
        settings.dnd_active, settings.dnd_ends_at
    );

    match notifications
        .set_settings(kenji, "Mars/Olympus_Mons", week, None)
        .await
    {
        Err(NotificationsError::Invalid(errors)) => {
            for error in errors {
                println!("refused: {} {}", error.field, error.message);
            }
        }
        other => anyhow::bail!(
            "an unknown time zone was accepted: {:?}",
            other.map(|s| s.time_zone)
        ),
    }

    let (page, unread) = notifications.list(kenji, false, &PageRequest::default()).await?;
    println!("{} notification(s), {unread} unread", page.items.len());
    notifications.read_all(kenji).await?;
    Ok(())
}
